//! The `networked-exporter` kind: an exporter that may also send the document over `http`.
//! See the crate docs for a complete example.

mod world {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "minutes:plugin/networked-exporter@0.2.0",
        with: {
            "minutes:plugin/types@0.2.0": crate::bindings::minutes::plugin::types,
            "minutes:plugin/log@0.2.0": crate::bindings::minutes::plugin::log,
            "minutes:plugin/config@0.2.0": crate::bindings::minutes::plugin::config,
            "minutes:plugin/http@0.2.0": crate::bindings::minutes::plugin::http,
        },
        export_macro_name: "__export_networked_exporter_world",
        pub_export_macro: true,
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use world::*;

/// What an exporter implements: `info` (its formats) and `export` (the files for one format).
pub use world::Guest as Exporter;

/// Exports `$ty` (which implements [`Exporter`]) as this plugin's exporter.
#[macro_export]
macro_rules! export_networked_exporter {
    ($ty:ident) => {
        $crate::networked_exporter::__export_networked_exporter_world!($ty with_types_in $crate::networked_exporter);
    };
}
pub use crate::export_networked_exporter;
