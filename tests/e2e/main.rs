//! End-to-end tests: they build the real plugin packages and drive the real `minutes` binary
//! (and, where a test needs two calls in one process, the library the binary is made of).

mod app;
mod app_manage;
mod ask;
mod authoring;
mod browser;
mod common;
mod contract_v0_1;
mod docs;
mod exporters;
mod fake_llm;
mod hints;
mod hostile;
mod install;
mod mcp;
mod network;
mod outputs;
mod permissions;
mod pipes;
mod providers;
mod record;
mod sandbox;
mod server;
mod speakers;
mod store;
mod summaries;
mod terminal;
mod transcribe;
