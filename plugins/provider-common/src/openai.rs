//! OpenAI chat completions (`POST {base_url}/chat/completions`; never the Responses API, which
//! some services store by default): streaming over server-sent events or one JSON answer, JSON
//! structured output (`response_format`, see [`crate::structured`]), retries, and errors that say
//! what to fix.

use crate::budget::Budget;
use crate::errors::{self, Target};
use crate::manifest::Facts;
use crate::retry::{self, Step};
use crate::settings::Settings;
use crate::sse::SseParser;
use crate::transport::{self, next_chunk};
use minutes_sdk::http::{Request, ResponseStream};
use minutes_sdk::types::{
    Completion, CompletionRequest, ModelInfo, PluginError, ProviderInfo, Role, TokenUsage,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// How a service differs from the common dialect.
#[derive(Debug, Clone)]
pub struct Dialect {
    /// Where the answer-length limit goes: `max_tokens` (most servers) or
    /// `max_completion_tokens` (OpenAI, which deprecated `max_tokens`).
    pub max_tokens_field: &'static str,
    /// The API-key secret the manifest declares (the host adds it; the plugin never sees it).
    pub secret: Option<&'static str>,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            max_tokens_field: "max_tokens",
            secret: Some("api-key"),
        }
    }
}

// Kept here for the plugins that imported them from `openai` before `transport` existed.
pub use crate::transport::{drain, failed_status};

pub fn info(facts: &Facts) -> ProviderInfo {
    let (model, context_window, max_output) = match Settings::read("") {
        Ok(s) => (s.model, s.context_window, s.max_output),
        // info cannot fail: show what is set; `complete` reports the bad setting.
        Err(_) => (
            minutes_sdk::config::string(crate::settings::keys::MODEL)
                .unwrap_or_else(|| "unset".into()),
            minutes_sdk::config::integer(crate::settings::keys::CONTEXT_WINDOW)
                .unwrap_or(8192)
                .clamp(1, u32::MAX as i64) as u32,
            minutes_sdk::config::integer(crate::settings::keys::MAX_OUTPUT)
                .unwrap_or(1024)
                .clamp(1, u32::MAX as i64) as u32,
        ),
    };
    ProviderInfo {
        id: facts.id.clone(),
        name: facts.name.clone(),
        models: vec![ModelInfo {
            id: model.clone(),
            context_window,
            max_output,
        }],
        default_model: model,
        data_policy: facts.data_policy.clone(),
        structured_output: crate::structured::support(
            minutes_sdk::config::boolean(crate::settings::keys::JSON_MODE).unwrap_or(true),
        ),
    }
}

/// The role's name in the chat APIs (`system`, `user`, `assistant`).
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The JSON body of a chat-completions request. With `json_mode` the response format is sent as
/// `response_format`; without, it is written into the system prompt.
pub fn request_body(
    s: &Settings,
    d: &Dialect,
    model: &str,
    r: &CompletionRequest,
) -> Result<Value, PluginError> {
    let prompted;
    let r = if s.json_mode {
        r
    } else {
        prompted = crate::structured::prompted(r);
        &prompted
    };
    let messages: Vec<Value> = r
        .messages
        .iter()
        .map(|m| json!({"role": role_name(m.role), "content": m.content}))
        .collect();
    let mut body = json!({"model": model, "messages": messages, "stream": s.stream});
    body[d.max_tokens_field] = json!(r.max_tokens.unwrap_or(s.max_output));
    if let Some(t) = r.temperature {
        body["temperature"] = json!(t);
    }
    if s.stream {
        // The last event then carries the token usage.
        body["stream_options"] = json!({"include_usage": true});
    }
    if let Some(format) = crate::structured::openai_response_format(&r.response_format)? {
        body["response_format"] = format;
    }
    Ok(body)
}

pub fn complete(
    facts: &Facts,
    dialect: &Dialect,
    request: CompletionRequest,
) -> Result<Completion, PluginError> {
    let s = Settings::read("")?;
    if request.messages.is_empty() {
        return Err(PluginError::InvalidInput(
            "a completion request needs at least one message".into(),
        ));
    }
    let model = s.model_for(&request);
    let t = Target {
        plugin: facts.id.clone(),
        service: facts.name.clone(),
        base_url: s.base_url.clone(),
        model: model.clone(),
        secret: dialect.secret,
    };
    let answer = crate::structured::send_with_fallback(
        &t,
        &request,
        s.json_mode,
        |r| {
            send(
                &s,
                &t,
                &request_body(&s, dialect, &model, r)?,
                &r.response_format,
            )
        },
        minutes_sdk::log::warn,
    )?;
    answer.into_completion(&t, &request)
}

/// Sends one chat-completions body, with retries.
fn send(
    s: &Settings,
    t: &Target,
    body: &Value,
    format: &minutes_sdk::types::ResponseFormat,
) -> Result<Answer, PluginError> {
    let body = crate::structured::encode(body, format)?.into_bytes();
    let url = format!("{}/chat/completions", s.base_url);
    let budget = Budget::new(s.timeout);
    let secs = s.timeout.as_secs();
    retry::run(&budget, s.max_retries, |_| {
        let req = Request::post(&url)
            .header("content-type", "application/json")
            .header("accept", transport::accept(s.stream))
            .body(body.clone())
            .timeout_ms(budget.timeout_ms());
        if s.stream {
            transport::streamed(t, &req, secs, |stream, headers| {
                read_stream(t, stream, headers, secs)
            })
        } else {
            transport::whole(t, &req, secs, |body| parse_whole(t, body))
        }
    })
}

fn read_stream(
    t: &Target,
    stream: &ResponseStream,
    headers: &[(String, String)],
    secs: u64,
) -> Result<Step<Answer>, PluginError> {
    let is_sse = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase().contains("text/event-stream")
    });
    if !is_sse {
        // The server ignored `stream: true` and answered in one piece.
        let mut body = Vec::new();
        while let Some(c) = next_chunk(t, stream, secs, 0)? {
            body.extend_from_slice(&c);
        }
        return parse_whole(t, &body).map(Step::Done);
    }
    let mut parser = SseParser::default();
    let mut acc = StreamAnswer::default();
    while let Some(chunk) = next_chunk(t, stream, secs, acc.text.len())? {
        for event in parser.push(&chunk) {
            acc.event(t, &event.data)?;
        }
        if acc.done {
            return acc.finish(t).map(Step::Done);
        }
    }
    if let Some(event) = parser.finish() {
        acc.event(t, &event.data)?;
    }
    acc.finish(t).map(Step::Done)
}

/// An answer before it becomes a [`Completion`].
#[derive(Debug, Default)]
pub struct Answer {
    pub text: String,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<(u32, u32)>,
}

impl Answer {
    /// The completion: `length` marks it truncated, a missing model is the one asked for, and
    /// missing usage is estimated. A `content_filter` stop is an error.
    pub fn into_completion(
        self,
        t: &Target,
        request: &CompletionRequest,
    ) -> Result<Completion, PluginError> {
        if self.finish_reason.as_deref() == Some("content_filter") {
            return Err(PluginError::Other(format!(
                "{}'s content filter stopped the answer",
                t.service
            )));
        }
        let usage = reported_usage(
            request,
            &self.text,
            self.usage.map(|u| u.0),
            self.usage.map(|u| u.1),
        );
        Ok(Completion {
            truncated: self.finish_reason.as_deref() == Some("length"),
            model: self
                .model
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| t.model.clone()),
            text: self.text,
            usage,
        })
    }
}

/// When a service reports no usage: about four characters per token, said in the log.
pub fn estimate_usage(request: &CompletionRequest, text: &str) -> TokenUsage {
    minutes_sdk::log::warn(
        "the service reported no token usage; the counts are estimated from the text length",
    );
    let input: usize = request
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    TokenUsage {
        input_tokens: (input / 4) as u32,
        output_tokens: (text.chars().count() / 4) as u32,
    }
}

/// The token counts the service reported (output defaults to 0), else [`estimate_usage`].
pub fn reported_usage(
    request: &CompletionRequest,
    text: &str,
    input: Option<u32>,
    output: Option<u32>,
) -> TokenUsage {
    match input {
        Some(input_tokens) => TokenUsage {
            input_tokens,
            output_tokens: output.unwrap_or(0),
        },
        None => estimate_usage(request, text),
    }
}

/// A token count as the contract holds it (saturating at `u32::MAX`).
pub fn clamp_tokens(n: u64) -> u32 {
    n.min(u32::MAX as u64) as u32
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl Usage {
    fn pair(&self) -> Option<(u32, u32)> {
        Some((
            clamp_tokens(self.prompt_tokens?),
            clamp_tokens(self.completion_tokens.unwrap_or(0)),
        ))
    }
}

#[derive(Deserialize)]
struct Whole {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<WholeChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct WholeChoice {
    #[serde(default)]
    message: Option<WholeMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WholeMessage {
    #[serde(default)]
    content: Option<String>,
}

pub fn parse_whole(t: &Target, body: &[u8]) -> Result<Answer, PluginError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| errors::malformed(t, "chat completion", &e.to_string(), body))?;
    if let Some(e) = errors::error_in_answer(t, &v, body) {
        return Err(e);
    }
    let w: Whole = serde_json::from_value(v)
        .map_err(|e| errors::malformed(t, "chat completion", &e.to_string(), body))?;
    let choice = w
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| errors::malformed(t, "chat completion", "no choices", body))?;
    Ok(Answer {
        text: choice.message.and_then(|m| m.content).unwrap_or_default(),
        model: w.model,
        finish_reason: choice.finish_reason,
        usage: w.usage.as_ref().and_then(Usage::pair),
    })
}

/// The answer assembled from `chat.completion.chunk` events.
#[derive(Debug, Default)]
pub struct StreamAnswer {
    pub text: String,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Option<(u32, u32)>,
    /// `[DONE]` arrived.
    pub done: bool,
    events: usize,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<WholeMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

impl StreamAnswer {
    pub fn event(&mut self, t: &Target, data: &str) -> Result<(), PluginError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        self.events += 1;
        let v: Value = serde_json::from_str(data).map_err(|e| {
            errors::malformed(
                t,
                &format!("stream event {}", self.events),
                &e.to_string(),
                data.as_bytes(),
            )
        })?;
        if let Some(e) = errors::error_in_answer(t, &v, data.as_bytes()) {
            return Err(e);
        }
        let c: Chunk = serde_json::from_value(v).map_err(|e| {
            errors::malformed(
                t,
                &format!("stream event {}", self.events),
                &e.to_string(),
                data.as_bytes(),
            )
        })?;
        if c.model.is_some() {
            self.model = c.model;
        }
        if let Some(u) = c.usage.as_ref().and_then(Usage::pair) {
            self.usage = Some(u);
        }
        if let Some(choice) = c.choices.into_iter().next() {
            if let Some(text) = choice.delta.and_then(|d| d.content) {
                self.text.push_str(&text);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(())
    }

    /// The answer, or an error when the stream ended before the service said it was complete.
    pub fn finish(self, t: &Target) -> Result<Answer, PluginError> {
        if !self.done && self.finish_reason.is_none() {
            return Err(errors::stream_unfinished(
                t,
                self.text.len(),
                "a finish reason or [DONE]",
            ));
        }
        Ok(Answer {
            text: self.text,
            model: self.model,
            finish_reason: self.finish_reason,
            usage: self.usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::Message;
    use std::time::Duration;

    fn target() -> Target {
        Target {
            plugin: "openai-compatible".into(),
            service: "X".into(),
            base_url: "http://h/v1".into(),
            model: "m".into(),
            secret: Some("api-key"),
        }
    }

    fn settings(stream: bool) -> Settings {
        Settings {
            base_url: "http://h/v1".into(),
            model: "m".into(),
            stream,
            context_window: 8192,
            max_output: 512,
            timeout: Duration::from_secs(10),
            max_retries: 1,
            json_mode: true,
        }
    }

    fn request(json_output: bool) -> CompletionRequest {
        CompletionRequest {
            messages: vec![
                Message {
                    role: Role::System,
                    content: "Be brief.".into(),
                },
                Message {
                    role: Role::User,
                    content: "Hi".into(),
                },
            ],
            model: None,
            max_tokens: None,
            temperature: Some(0.0),
            response_format: if json_output {
                minutes_sdk::types::ResponseFormat::JsonObject
            } else {
                minutes_sdk::types::ResponseFormat::Text
            },
        }
    }

    #[test]
    fn body_for_streaming_json_mode() {
        let b = request_body(&settings(true), &Dialect::default(), "m", &request(true)).unwrap();
        assert_eq!(b["stream"], true);
        assert_eq!(b["stream_options"]["include_usage"], true);
        assert_eq!(b["response_format"]["type"], "json_object");
        assert_eq!(b["max_tokens"], 512);
        assert_eq!(b["messages"][0]["role"], "system");
        assert_eq!(b["messages"][1]["content"], "Hi");
        let openai = Dialect {
            max_tokens_field: "max_completion_tokens",
            secret: Some("api-key"),
        };
        let b = request_body(&settings(false), &openai, "m", &request(false)).unwrap();
        assert_eq!(b["max_completion_tokens"], 512);
        assert!(
            b.get("max_tokens").is_none()
                && b.get("stream_options").is_none()
                && b.get("response_format").is_none()
        );
    }

    #[test]
    fn stream_with_usage_and_done() {
        let t = target();
        let mut s = StreamAnswer::default();
        for data in [
            r#"{"model":"real-m","choices":[{"delta":{"role":"assistant","content":null},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"lo"},"finish_reason":"length"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":2}}"#,
            "[DONE]",
        ] {
            s.event(&t, data).unwrap();
        }
        let a = s.finish(&t).unwrap();
        assert_eq!(
            (a.text.as_str(), a.model.as_deref(), a.usage),
            ("Hello", Some("real-m"), Some((31, 2)))
        );
        let c = a.into_completion(&t, &request(false)).unwrap();
        assert!(c.truncated);
    }

    #[test]
    fn a_stream_without_an_end_is_an_error_not_a_short_answer() {
        let t = target();
        let mut s = StreamAnswer::default();
        s.event(&t, r#"{"choices":[{"delta":{"content":"Half an ans"}}]}"#)
            .unwrap();
        let PluginError::Network(m) = s.finish(&t).unwrap_err() else {
            panic!()
        };
        assert!(m.contains("cut after 11 characters"), "{m}");
    }

    #[test]
    fn errors_inside_answers() {
        let t = target();
        let mut s = StreamAnswer::default();
        let e = s.event(&t, r#"{"error":{"message":"maximum context length is 10","code":"context_length_exceeded"}}"#).unwrap_err();
        assert!(matches!(e, PluginError::ContextLengthExceeded(_)), "{e:?}");
        let e = s.event(&t, "{not json").unwrap_err();
        let PluginError::Other(m) = e else {
            panic!("{e:?}")
        };
        assert!(m.contains("malformed JSON"), "{m}");
        let e = parse_whole(&t, b"<html>502</html>").unwrap_err();
        assert!(
            matches!(e, PluginError::Other(ref m) if m.contains("malformed JSON") && m.contains("<html>")),
            "{e:?}"
        );
        let a = parse_whole(&t, br#"{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#).unwrap();
        assert_eq!((a.text.as_str(), a.usage), ("ok", Some((3, 1))));
    }
}
