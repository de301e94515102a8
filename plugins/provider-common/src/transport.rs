//! One HTTP attempt as every provider makes it: send, turn an error status into a retry step or
//! the user's error, and read a streamed answer chunk by chunk, a broken stream becoming an
//! error that says how much was lost.

use crate::errors::{self, Target};
use crate::retry::{self, Step};
use minutes_sdk::http::{Request, ResponseStream};
use minutes_sdk::types::PluginError;
use std::time::SystemTime;

/// Error bodies read from a failed stream are cut here.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The `accept` header for a streamed (server-sent events) or a whole JSON answer.
pub fn accept(stream: bool) -> &'static str {
    if stream {
        "text/event-stream"
    } else {
        "application/json"
    }
}

/// Sends `req` and hands a successful body to `parse`.
pub fn whole<T>(
    t: &Target,
    req: &Request,
    secs: u64,
    parse: impl FnOnce(&[u8]) -> Result<T, PluginError>,
) -> Result<Step<T>, PluginError> {
    let resp = req.send().map_err(|e| errors::http_error(t, e, secs))?;
    if !(200..300).contains(&resp.status) {
        return failed_status(t, resp.status, &resp.headers, &resp.body);
    }
    parse(&resp.body).map(Step::Done)
}

/// Sends `req` streaming and hands a successful stream and its headers to `read`.
pub fn streamed<T>(
    t: &Target,
    req: &Request,
    secs: u64,
    read: impl FnOnce(&ResponseStream, &[(String, String)]) -> Result<Step<T>, PluginError>,
) -> Result<Step<T>, PluginError> {
    let stream = req
        .send_streaming()
        .map_err(|e| errors::http_error(t, e, secs))?;
    let (status, headers) = (stream.status(), stream.headers());
    if !(200..300).contains(&status) {
        let body = drain(&stream);
        return failed_status(t, status, &headers, &body);
    }
    read(&stream, &headers)
}

/// The next chunk of an answer stream, `None` at its end. A broken stream is an error saying
/// that the `chars` characters received so far were discarded.
pub fn next_chunk(
    t: &Target,
    stream: &ResponseStream,
    secs: u64,
    chars: usize,
) -> Result<Option<Vec<u8>>, PluginError> {
    stream
        .next_chunk()
        .map_err(|e| errors::stream_cut(t, &errors::http_error(t, e, secs), chars))
}

/// An error status: retried when worth it, else the error for the user.
pub fn failed_status<T>(
    t: &Target,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Step<T>, PluginError> {
    let error = errors::status_error(t, status, body);
    match retry::is_retryable(status) {
        true => Ok(Step::Retry {
            after: headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| retry::retry_after(v, SystemTime::now())),
            error,
        }),
        false => Err(error),
    }
}

/// Reads what is left of a stream (an error body), up to a cap.
pub fn drain(stream: &ResponseStream) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match stream.next_chunk() {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body
}
