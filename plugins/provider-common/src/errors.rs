//! Turning a service's error answer into a [`PluginError`] that tells the user what to fix.

use minutes_sdk::http::HttpError;
use minutes_sdk::types::{PluginError, UpstreamError};
use serde_json::Value;

/// Who is being called, for error messages.
#[derive(Debug, Clone)]
pub struct Target {
    /// The plugin id (`minutes secret set <id> api-key`, `[plugins.<id>]`).
    pub plugin: String,
    /// The service's name as the user knows it.
    pub service: String,
    pub base_url: String,
    pub model: String,
    /// Name of the API-key secret, when the plugin declares one.
    pub secret: Option<&'static str>,
}

/// The service's own words: `error.message`, `error` (text), `message` or `detail`, else the
/// start of the body.
pub fn service_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let candidates = [
            v.pointer("/error/message"),
            v.get("error").filter(|e| e.is_string()),
            v.get("message"),
            v.get("detail"),
        ];
        for c in candidates.into_iter().flatten() {
            if let Some(s) = c.as_str().filter(|s| !s.trim().is_empty()) {
                return s.trim().to_string();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no details given".into();
    }
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// True when the error says the request does not fit the model's context (OpenAI's
/// `context_length_exceeded`, llama.cpp's `exceed_context_size_error`, Anthropic's "prompt is
/// too long", and the wordings other compatible servers use).
pub fn is_context_length(body: &[u8]) -> bool {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let codes = [
        v.pointer("/error/code"),
        v.pointer("/error/type"),
        v.get("code"),
        v.get("type"),
    ];
    if codes.iter().flatten().filter_map(|c| c.as_str()).any(|c| {
        matches!(
            c,
            "context_length_exceeded"
                | "exceed_context_size_error"
                | "context_window_exceeded"
                | "string_above_max_length"
        )
    }) {
        return true;
    }
    let text = service_message(body).to_lowercase();
    [
        "maximum context length",
        "context length",
        "context_length",
        "context window",
        "exceeds the available context size",
        "exceed context",
        "prompt is too long",
        "too many tokens",
        "exceed context limit",
        "input is too long",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The error for a final (non-retried) error status.
pub fn status_error(t: &Target, status: u16, body: &[u8]) -> PluginError {
    let said = service_message(body);
    let settings = format!("[plugins.{}] in config.toml", t.plugin);
    match status {
        401 | 403 => {
            let fix = match t.secret {
                Some(secret) => format!(
                    "check the API key: set it with `minutes secret set {} {secret}` (or {})",
                    t.plugin,
                    env_name(&t.plugin, secret)
                ),
                None => format!("check that {} accepts requests without a key", t.base_url),
            };
            let what = if status == 401 {
                "refused the API key"
            } else {
                "refused access (wrong key, or no access to this model)"
            };
            PluginError::Upstream(UpstreamError {
                status,
                message: format!("{} {what}: {said}; {fix}", t.service),
            })
        }
        404 => PluginError::Upstream(UpstreamError {
            status,
            message: format!(
                "{} has no model `{}` or no such endpoint at {}: {said}; check `model` and `base_url` in {settings}",
                t.service, t.model, t.base_url
            ),
        }),
        400 | 413 | 422 if is_context_length(body) => PluginError::ContextLengthExceeded(format!(
            "{} says the request is too long for model `{}`: {said}",
            t.service, t.model
        )),
        _ => PluginError::Upstream(UpstreamError {
            status,
            message: format!("{} answered {status}: {said}", t.service),
        }),
    }
}

/// The variable that overrides a secret, spelled as the host reads it (`secrets::env_name` in
/// the host): parts joined by `__`, one `-` as `_`, a run of n > 1 dashes as n + 1 `_`.
fn env_name(plugin: &str, secret: &str) -> String {
    let part = |slug: &str| {
        let mut out = String::new();
        let mut dashes = 0;
        for c in slug.chars().chain(std::iter::once('\0')) {
            if c == '-' {
                dashes += 1;
                continue;
            }
            match dashes {
                0 => {}
                1 => out.push('_'),
                n => out.push_str(&"_".repeat(n + 1)),
            }
            dashes = 0;
            if c != '\0' {
                out.push(c.to_ascii_uppercase());
            }
        }
        out
    };
    format!("MINUTES_SECRET_{}__{}", part(plugin), part(secret))
}

/// A failed request (no answer, or the host refused it), with the setting that bounds it.
pub fn http_error(t: &Target, e: HttpError, timeout_secs: u64) -> PluginError {
    match e {
        HttpError::Timeout(m) => PluginError::Network(format!(
            "no complete answer from {} within the time left of the plugin's {timeout_secs} s budget (setting `timeout_secs`): {m}",
            t.base_url
        )),
        HttpError::Connect(m) => PluginError::Network(format!("cannot reach {}: {m}", t.base_url)),
        other => PluginError::from(other),
    }
}

/// An answer that is not what the protocol promises.
pub fn malformed(t: &Target, what: &str, detail: &str, body: &[u8]) -> PluginError {
    let text = String::from_utf8_lossy(body);
    let start: String = text.chars().take(120).collect();
    PluginError::Other(format!(
        "{} sent malformed JSON ({what}): {detail}; the answer began with {start:?}. Is `base_url` ({}) an OpenAI-compatible API?",
        t.service, t.base_url
    ))
}

/// A `200` whose body is an error object (`{"error": ...}`) instead of an answer.
pub fn error_in_answer(t: &Target, v: &Value, raw: &[u8]) -> Option<PluginError> {
    v.get("error")?;
    Some(match is_context_length(raw) {
        true => {
            PluginError::ContextLengthExceeded(format!("{}: {}", t.service, service_message(raw)))
        }
        false => PluginError::Upstream(UpstreamError {
            status: v
                .pointer("/error/code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(200),
            message: format!("{} reported an error: {}", t.service, service_message(raw)),
        }),
    })
}

/// An answer stream that broke after `chars` characters (`why`: the transport's error).
pub fn stream_cut(t: &Target, why: &PluginError, chars: usize) -> PluginError {
    let why = match why {
        PluginError::Network(m) | PluginError::Other(m) | PluginError::Denied(m) => m.clone(),
        other => format!("{other:?}"),
    };
    PluginError::Network(format!(
        "the answer stream from {} was cut after {chars} characters ({why}); the partial answer was discarded",
        t.base_url
    ))
}

/// An answer stream that ended cleanly but before the protocol's end marker (`missing`).
pub fn stream_unfinished(t: &Target, chars: usize, missing: &str) -> PluginError {
    PluginError::Network(format!(
        "the answer stream from {} was cut after {chars} characters: it ended without {missing}; \
         the partial answer was discarded",
        t.base_url
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            plugin: "fireworks".into(),
            service: "Fireworks".into(),
            base_url: "https://api.fireworks.ai/inference/v1".into(),
            model: "m1".into(),
            secret: Some("api-key"),
        }
    }

    #[test]
    fn auth_errors_name_the_secret_command() {
        let e = status_error(
            &target(),
            401,
            br#"{"error":{"message":"Invalid API key","code":"invalid_api_key"}}"#,
        );
        let PluginError::Upstream(u) = e else {
            panic!("{e:?}")
        };
        assert_eq!(u.status, 401);
        assert!(
            u.message.contains("minutes secret set fireworks api-key"),
            "{}",
            u.message
        );
        assert!(u.message.contains("Invalid API key"), "{}", u.message);
        assert!(
            u.message.contains("MINUTES_SECRET_FIREWORKS__API_KEY"),
            "{}",
            u.message
        );
    }

    #[test]
    fn not_found_names_model_and_base_url() {
        let PluginError::Upstream(u) = status_error(&target(), 404, b"Not Found") else {
            panic!()
        };
        assert!(
            u.message.contains("`m1`") && u.message.contains("api.fireworks.ai/inference/v1"),
            "{}",
            u.message
        );
    }

    #[test]
    fn context_errors_of_each_dialect() {
        let bodies: &[&[u8]] = &[
            br#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            br#"{"error":{"code":400,"message":"request (5030 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error"}}"#,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        ];
        for body in bodies {
            assert!(
                matches!(
                    status_error(&target(), 400, body),
                    PluginError::ContextLengthExceeded(_)
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            status_error(
                &target(),
                400,
                br#"{"error":{"message":"temperature out of range"}}"#
            ),
            PluginError::Upstream(_)
        ));
    }

    #[test]
    fn broken_and_unfinished_streams_say_what_was_lost() {
        let PluginError::Network(m) =
            stream_cut(&target(), &PluginError::Network("reset".into()), 42)
        else {
            panic!()
        };
        assert!(
            m.contains("cut after 42 characters (reset)") && m.contains("api.fireworks.ai"),
            "{m}"
        );
        let PluginError::Network(m) = stream_unfinished(&target(), 7, "[DONE]") else {
            panic!()
        };
        assert!(
            m.contains("cut after 7 characters: it ended without [DONE]"),
            "{m}"
        );
    }

    #[test]
    fn service_message_falls_back_to_the_body() {
        assert_eq!(
            service_message(br#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(service_message(b"  Bad Gateway "), "Bad Gateway");
        assert_eq!(service_message(b""), "no details given");
    }
}
