//! The network sandbox: which origins a plugin may reach, and the host HTTP client that
//! enforces it on every request and redirect hop.

pub mod allowlist;
pub mod client;

pub use client::{
    HostResolver, NetOptions, NetShared, PluginNet, ResponseStream, SecretRule, SystemResolver,
};

use crate::plugins::bindings::host::minutes::plugin::http::HttpError;

/// One line for people and the ledger.
pub fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Denied(d) => format!("denied: {} ({})", d.origin, d.reason),
        HttpError::Timeout(m) => format!("timeout: {m}"),
        HttpError::TooLarge(n) => format!("response larger than {n} bytes"),
        HttpError::Connect(m) => format!("connect: {m}"),
        HttpError::Protocol(m) => format!("protocol: {m}"),
        HttpError::UpstreamStatus(s) => format!("upstream status {s}"),
    }
}
