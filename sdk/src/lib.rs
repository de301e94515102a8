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
                import minutes:plugin/log@0.2.0;
                import minutes:plugin/config@0.2.0;
                import minutes:plugin/http@0.2.0;
                import minutes:plugin/llm@0.2.0;
            }
        ",
        path: "../wit/v0.2",
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

    /// The display name of the speaker `id` names in `speakers`: the user's name for them, else
    /// the id itself (a speaker the list forgot is still someone). `None` when `id` is none or
    /// blank.
    pub fn speaker_name<'a>(speakers: &'a [Speaker], id: Option<&'a str>) -> Option<&'a str> {
        let id = id.map(str::trim).filter(|id| !id.is_empty())?;
        let named = speakers
            .iter()
            .find(|s| s.id.trim() == id)
            .map(|s| s.name.trim())
            .filter(|n| !n.is_empty());
        Some(named.unwrap_or(id))
    }

    impl Transcript {
        /// Who spoke `segment`, by name (see [`speaker_name`]); `None` when the transcript does
        /// not say. [`crate::prompt::speaker_of`] falls back to the channel's name.
        pub fn speaker_name<'a>(&'a self, segment: &'a Segment) -> Option<&'a str> {
            speaker_name(&self.speakers, segment.speaker_id.as_deref())
        }

        /// The id of the speaker called `name` (case and surrounding space ignored), for an
        /// action item's `owner-speaker-id`.
        pub fn speaker_id_named(&self, name: &str) -> Option<String> {
            let name = name.trim();
            self.speakers
                .iter()
                .find(|s| !name.is_empty() && s.name.trim().eq_ignore_ascii_case(name))
                .map(|s| s.id.clone())
        }

        /// The segment with this `id`.
        pub fn segment(&self, id: u32) -> Option<&Segment> {
            self.segments.iter().find(|s| s.id == id)
        }

        /// A citation of segment `id` at its start, or `None` when the transcript has no such
        /// segment (a model's made-up id is dropped, not passed on).
        pub fn cite(&self, id: u32) -> Option<Citation> {
            self.segment(id).map(Citation::of)
        }
    }

    impl Passage {
        /// Who spoke `segment` of this passage, by name.
        pub fn speaker_name<'a>(&'a self, segment: &'a Segment) -> Option<&'a str> {
            speaker_name(&self.speakers, segment.speaker_id.as_deref())
        }
    }

    impl Segment {
        /// A segment with no speaker and no word times.
        pub fn new(id: u32, start_ms: u64, end_ms: u64, text: impl Into<String>) -> Segment {
            Segment {
                id,
                start_ms,
                end_ms,
                channel: 0,
                speaker_id: None,
                text: text.into(),
                words: Vec::new(),
            }
        }
    }

    impl Citation {
        /// A citation of `segment` (this meeting) at its start.
        pub fn of(segment: &Segment) -> Citation {
            Citation {
                segment_id: segment.id,
                at_ms: segment.start_ms,
                meeting_id: None,
            }
        }
    }

    impl Decision {
        /// A decision citing `citations`, not yet checked by the host.
        pub fn new(text: impl Into<String>, citations: Vec<Citation>) -> Decision {
            Decision {
                text: text.into(),
                citations,
                grounding: Grounding::Unchecked,
            }
        }
    }

    impl OpenQuestion {
        /// An open question citing `citations`, not yet checked by the host.
        pub fn new(text: impl Into<String>, citations: Vec<Citation>) -> OpenQuestion {
            OpenQuestion {
                text: text.into(),
                citations,
                grounding: Grounding::Unchecked,
            }
        }
    }

    impl ActionItem {
        /// A task with no owner, due date or citation yet; fill the rest with struct update
        /// syntax: `ActionItem { owner: Some("Sam".into()), ..ActionItem::new("Book a room") }`.
        pub fn new(task: impl Into<String>) -> ActionItem {
            ActionItem {
                owner: None,
                owner_speaker_id: None,
                task: task.into(),
                due: None,
                done: false,
                citations: Vec::new(),
                grounding: Grounding::Unchecked,
            }
        }
    }
}

pub mod answer;
pub mod chunking;
pub mod config;
pub mod cues;
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
