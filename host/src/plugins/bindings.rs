//! Rust bindings of the WIT contract (`wit/v0.1`). The host interfaces are generated once;
//! each world's bindings reuse them and add only its exports.

/// Every interface the host implements, with the shared data types.
pub mod host {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        inline: "
            package minutes:host;
            world host-interfaces {
                import minutes:plugin/log@0.1.0;
                import minutes:plugin/config@0.1.0;
                import minutes:plugin/http@0.1.0;
                import minutes:plugin/llm@0.1.0;
            }
        ",
        world: "minutes:host/host-interfaces",
        imports: { default: async | trappable },
        with: {
            "minutes:plugin/http.response-stream": crate::plugins::net::ResponseStream,
        },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

pub use host::minutes::plugin::types;

macro_rules! world_bindings {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit/v0.1",
                world: $world,
                exports: { default: async },
                imports: { default: async | trappable },
                with: {
                    "minutes:plugin": crate::plugins::bindings::host::minutes::plugin,
                },
            });
        }
    };
}

world_bindings!(provider, "minutes:plugin/provider@0.1.0");
world_bindings!(template, "minutes:plugin/template@0.1.0");
world_bindings!(exporter, "minutes:plugin/exporter@0.1.0");
world_bindings!(
    networked_exporter,
    "minutes:plugin/networked-exporter@0.1.0"
);
