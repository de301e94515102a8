//! minutes: private meeting notes. The host records and transcribes locally; everything that
//! talks to the outside world is a sandboxed WebAssembly plugin.

pub(crate) mod app;
pub mod audio;
pub mod bench;
mod bench_app;
mod bench_capture;
mod bench_load;
mod bench_mcp;
mod bench_net;
mod bench_paint;
mod bench_store;
mod bench_summarize;
mod bench_transcribe;
pub mod cli;
pub mod config_edit;
pub mod diarize;
pub mod fsperm;
pub mod ledger;
pub mod mcp;
pub(crate) mod meeting_job;
pub mod model;
pub mod output;
pub mod plugins;
pub(crate) mod record_job;
pub mod secrets;
pub mod store;
pub mod summarize;
pub mod term;
pub mod time;
pub mod transcribe;
