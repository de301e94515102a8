//! Plugins: sandboxed WebAssembly components behind the `minutes:plugin` contract.

pub mod wit;
/// The bindings of the contract version the host interfaces are implemented over.
pub use wit::since_v0_1 as bindings;
pub mod build;
pub mod capabilities;
pub mod error;
pub mod host_api;
pub mod live;
pub mod manifest;
pub mod net;
pub mod package;
pub mod registry;
pub mod runtime;
pub mod scaffold;

pub use error::Error;
pub use live::LivePlugins;
pub use manifest::{Kind, Manifest};
pub use registry::{Home, Registry};
pub use runtime::{LoadedPlugin, Runtime};
