//! Outbound HTTP through the host. The host checks every request against the origins the user
//! granted this plugin, adds declared secrets (API keys) itself, and records the request in the
//! egress ledger; a plugin never sees a key and cannot reach anything else.
//!
//! ```no_run
//! use minutes_sdk::http::Request;
//! let reply = Request::post("https://api.example.com/v1/notes")
//!     .json(&serde_json::json!({"title": "Weekly sync"}))
//!     .unwrap()
//!     .send();
//! match reply {
//!     Ok(resp) if resp.status == 200 => {}
//!     Ok(resp) => minutes_sdk::log::warn(&format!("status {}", resp.status)),
//!     Err(e) => minutes_sdk::log::error(&format!("{}", minutes_sdk::http::describe(&e))),
//! }
//! ```

pub use crate::bindings::minutes::plugin::http::{
    Denial, HttpError, Method, Request as RawRequest, Response, ResponseStream, fetch, fetch_stream,
};
use crate::types::{PluginError, UpstreamError};

/// A request under construction.
#[derive(Debug, Clone)]
pub struct Request(pub RawRequest);

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request(RawRequest {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
            follow_redirects: false,
        })
    }
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.headers.push((name.into(), value.into()));
        self
    }
    pub fn body(mut self, bytes: Vec<u8>) -> Self {
        self.0.body = Some(bytes);
        self
    }
    /// Serialises `value` as the body and sets `content-type: application/json`.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Result<Self, PluginError> {
        let body = crate::json::to_string(value)?.into_bytes();
        Ok(self.header("content-type", "application/json").body(body))
    }
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.0.timeout_ms = Some(ms);
        self
    }
    /// Let the host follow redirects (each hop is checked against the grant).
    pub fn follow_redirects(mut self) -> Self {
        self.0.follow_redirects = true;
        self
    }
    pub fn send(&self) -> Result<Response, HttpError> {
        fetch(&self.0)
    }
    pub fn send_streaming(&self) -> Result<ResponseStream, HttpError> {
        fetch_stream(&self.0)
    }
}

/// A one-line explanation of an HTTP failure.
pub fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Denied(d) => format!("request to {} denied: {}", d.origin, d.reason),
        HttpError::Timeout(m) => format!("timed out: {m}"),
        HttpError::TooLarge(n) => format!("response larger than the limit of {n} bytes"),
        HttpError::Connect(m) => format!("cannot connect: {m}"),
        HttpError::Protocol(m) => format!("protocol error: {m}"),
        HttpError::UpstreamStatus(s) => format!("upstream answered {s}"),
    }
}

impl From<HttpError> for PluginError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Denied(_) => PluginError::Denied(describe(&e)),
            HttpError::UpstreamStatus(status) => PluginError::Upstream(UpstreamError {
                status,
                message: describe(&e),
            }),
            other => PluginError::Network(describe(&other)),
        }
    }
}

impl Response {
    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        crate::json::from_slice(&self.body)
    }
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
