//! Errors of the plugin system, each saying what happened to which plugin and what to do.

use super::manifest::{Kind, ManifestError};
use super::package::PackageError;
use crate::model::PluginError as WitError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("plugin `{id}` is {} but imports `{import}`: {why}. Refused.", a(*.kind))]
    ForbiddenImport {
        id: String,
        kind: Kind,
        import: String,
        why: String,
    },
    #[error("plugin `{id}` does not export what {} must ({contract}): {detail}", a(*.kind))]
    BadExports {
        id: String,
        kind: Kind,
        contract: super::wit::ContractVersion,
        detail: String,
    },
    #[error(
        "plugin `{id}`: its plugin.toml claims contract minutes:plugin@{claimed} (`api = \"{claimed}\"`), \
         but its component speaks {speaks} (its import names say so). Refused: rebuild the plugin \
         against the contract it claims, or set `api = \"{}\"` in plugin.toml", .speaks.api()
    )]
    ContractMismatch {
        id: String,
        claimed: String,
        speaks: super::wit::ContractVersion,
    },
    #[error(
        "plugin `{id}`: its component mixes contract versions ({versions}) in its import names, \
         while its plugin.toml claims minutes:plugin@{claimed}. Refused: a component is built \
         against one version of the contract; rebuild it with one SDK version"
    )]
    MixedContract {
        id: String,
        claimed: String,
        versions: String,
    },
    #[error("plugin `{id}`: its component is not valid WebAssembly for this host: {detail}")]
    BadComponent { id: String, detail: String },
    #[error("plugin `{id}` did not finish within its limit of {secs} s and was stopped")]
    Timeout { id: String, secs: u32 },
    #[error("plugin `{id}` tried to use more than its memory limit of {mib} MiB and was stopped")]
    MemoryLimit { id: String, mib: u32 },
    #[error("plugin `{id}` crashed: {detail}")]
    Crashed { id: String, detail: String },
    #[error("plugin `{id}` failed: {}", describe(.error))]
    Plugin { id: String, error: WitError },
    #[error("no plugin `{0}` is installed (see `minutes plugin list`)")]
    NotInstalled(String),
    #[error("plugin `{id}` is {}, not {}", a(*.actual), a(*.expected))]
    WrongKind {
        id: String,
        actual: Kind,
        expected: Kind,
    },
    #[error("{0}")]
    ConsentNeeded(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the installed plugins are recorded in {path}, which is damaged: {message}")]
    Lock { path: String, message: String },
    #[error(
        "{path} was changed after plugin `{id}` was installed, so it is not what you consented to; \
         minutes will not use it. Reinstall the plugin from its package: minutes plugin install <package>"
    )]
    ManifestChanged { id: String, path: String },
    #[error("invalid settings in {file}: {message}")]
    Settings { file: String, message: String },
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

/// A plugin's own error, for people.
pub fn describe(e: &WitError) -> String {
    // Printed on the user's terminal wherever it ends up: no escape sequences from a plugin.
    let text = match e {
        WitError::Config(m) => format!("configuration: {m}"),
        WitError::Denied(m) => format!("denied: {m}"),
        WitError::Network(m) => format!("network: {m}"),
        WitError::Upstream { status, message } => {
            format!("the service answered {status}: {message}")
        }
        WitError::InvalidInput(m) => format!("invalid input: {m}"),
        WitError::ContextLengthExceeded(m) => {
            format!("too long for the model's context window: {m}")
        }
        WitError::Other(m) => m.clone(),
    };
    crate::term::clean(&text).into_owned()
}

/// "an exporter", "a template".
pub fn a(kind: Kind) -> String {
    let article = if kind.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}
