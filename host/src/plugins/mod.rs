//! Plugins: sandboxed WebAssembly components behind the `minutes:plugin` contract.

pub mod bindings;
pub mod build;
pub mod host_api;
pub mod live;
pub mod manifest;
pub mod package;
pub mod capabilities;
pub mod net;
pub mod error;
pub mod registry;
pub mod runtime;
pub mod scaffold;

pub use error::Error;
pub use manifest::{Kind, Manifest};
pub use live::LivePlugins;
pub use registry::{Home, Registry};
pub use runtime::{LoadedPlugin, Runtime};
