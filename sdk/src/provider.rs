//! The `provider` kind: answer completion requests through a model service reached with
//! [`crate::http`]. Declare the service's origin and the API-key secret in `plugin.toml`; the
//! host adds the key to matching requests, so the plugin never handles it.

// The generated export glue takes one argument per field of a completion request.
#[allow(clippy::too_many_arguments)]
mod world {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "minutes:plugin/provider@0.2.0",
        with: {
            "minutes:plugin/types@0.2.0": crate::bindings::minutes::plugin::types,
            "minutes:plugin/log@0.2.0": crate::bindings::minutes::plugin::log,
            "minutes:plugin/config@0.2.0": crate::bindings::minutes::plugin::config,
            "minutes:plugin/http@0.2.0": crate::bindings::minutes::plugin::http,
        },
        export_macro_name: "__export_provider_world",
        pub_export_macro: true,
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use world::*;

/// What a provider implements: `info` and `complete`.
pub use world::Guest as Provider;

/// Exports `$ty` (which implements [`Provider`]) as this plugin's provider.
#[macro_export]
macro_rules! export_provider {
    ($ty:ident) => {
        $crate::provider::__export_provider_world!($ty with_types_in $crate::provider);
    };
}
pub use crate::export_provider;
