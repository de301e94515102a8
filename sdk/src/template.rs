//! The `template` kind: turn a transcript into a summary, calling [`crate::llm`] when it needs a
//! model (the host routes that to the provider the user chose). A template that never calls
//! `llm` works fully offline.

mod world {
    wit_bindgen::generate!({
        path: "../wit/v0.1",
        world: "minutes:plugin/template@0.1.0",
        with: {
            "minutes:plugin/types@0.1.0": crate::bindings::minutes::plugin::types,
            "minutes:plugin/log@0.1.0": crate::bindings::minutes::plugin::log,
            "minutes:plugin/config@0.1.0": crate::bindings::minutes::plugin::config,
            "minutes:plugin/llm@0.1.0": crate::bindings::minutes::plugin::llm,
        },
        export_macro_name: "__export_template_world",
        pub_export_macro: true,
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use world::*;

/// What a template implements: `info` and `summarize`.
pub use world::Guest as Template;

/// Exports `$ty` (which implements [`Template`]) as this plugin's template.
#[macro_export]
macro_rules! export_template {
    ($ty:ident) => {
        $crate::template::__export_template_world!($ty with_types_in $crate::template);
    };
}
pub use crate::export_template;
