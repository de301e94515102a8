//! Write plugins for minutes — private meeting notes whose plugins run
//! as sandboxed WebAssembly components.
//!
//! A plugin is a `cdylib` crate built with `cargo build --target wasm32-wasip2`. It implements
//! the trait of its kind — [`exporter::Exporter`], [`networked_exporter::Exporter`],
//! [`template::Template`] or [`provider::Provider`] — and exports it with the matching macro.
//! The component then imports only the host functions it calls. Everything else (the
//! network, files, secrets) belongs to the host: a plugin gets data in and hands data back.
//!
//! # A complete exporter
//!
//! ```no_run
//! use minutes_sdk::exporter::{Exporter, export_exporter};
//! use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};
//!
//! struct Plain;
//!
//! impl Exporter for Plain {
//!     fn info() -> ExporterInfo {
//!         ExporterInfo {
//!             id: "export-plain".into(),
//!             name: "Plain text".into(),
//!             formats: vec![FormatInfo {
//!                 id: "txt".into(),
//!                 description: "One line per segment".into(),
//!                 media_type: "text/plain".into(),
//!             }],
//!         }
//!     }
//!
//!     fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
//!         if format != "txt" {
//!             return Err(PluginError::InvalidInput(format!("unknown format `{format}`")));
//!         }
//!         let text = minutes_sdk::prompt::transcript_lines(&doc.transcript, &doc.metadata.channel_names);
//!         Ok(vec![OutputFile::text(format!("{}.txt", doc.metadata.id), "text/plain", text)])
//!     }
//! }
//!
//! export_exporter!(Plain);
//! ```

// Generated code and the export macros name this crate by its path, from inside and outside.
extern crate self as minutes_sdk;

mod bindings {
    // Every host interface, generated once so that all kinds share the same Rust types.
    // A component only imports the functions it actually calls, so an exporter that never
    // touches `http` does not import it (and the host checks that at install).
    wit_bindgen::generate!({
        inline: "
            package minutes:sdk;
            world host-interfaces {
                import minutes:plugin/log@0.1.0;
                import minutes:plugin/config@0.1.0;
                import minutes:plugin/http@0.1.0;
                import minutes:plugin/llm@0.1.0;
            }
        ",
        path: "../wit/v0.1",
        world: "minutes:sdk/host-interfaces",
        generate_all,
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// The data types of the contract: transcript, metadata, summary, document, errors.
pub mod types {
    pub use crate::bindings::minutes::plugin::types::*;

    impl OutputFile {
        /// A UTF-8 text file.
        pub fn text(
            path: impl Into<String>,
            media_type: impl Into<String>,
            text: impl Into<String>,
        ) -> Self {
            OutputFile {
                path: path.into(),
                media_type: media_type.into(),
                bytes: text.into().into_bytes(),
            }
        }
    }
}

pub mod chunking;
pub mod config;
pub mod delimit;
pub mod http;
pub mod json;
pub mod log;
pub mod meeting;
pub mod notes;
pub mod notes_llm;
pub mod prompt;
pub mod subtitles;
#[cfg(test)]
mod test_support;
pub mod tokens;
pub mod yaml;

/// The language model a template may call (routed by the host to the user's provider).
pub mod llm {
    pub use crate::bindings::minutes::plugin::llm::{
        Chunk, LlmInfo, Plan, announce_plan, complete, info,
    };
}

pub mod exporter;
pub mod networked_exporter;
pub mod provider;
pub mod template;
