//! Anthropic's Messages API (`POST {base_url}/v1/messages`, `anthropic-version: 2023-06-01`):
//! system prompts go in the top-level `system` field, answers stream as server-sent events, and
//! `stop_reason: max_tokens` marks a truncated answer. The host adds the `x-api-key` header.
//! A JSON schema is enforced through a forced tool call whose `input_schema` is the schema: the
//! tool's input is the answer, returned as the completion's text (see
//! [`provider_common::structured`]).

use minutes_sdk::http::{Request, ResponseStream};
use minutes_sdk::provider::{Provider, export_provider};
use minutes_sdk::types::{
    Completion, CompletionRequest, PluginError, ProviderInfo, Role, UpstreamError,
};
use provider_common::budget::Budget;
use provider_common::errors::{self, Target};
use provider_common::manifest::Facts;
use provider_common::openai::clamp_tokens;
use provider_common::retry::{self, Step};
use provider_common::settings::Settings;
use provider_common::sse::SseParser;
use provider_common::structured;
use provider_common::transport::{self, next_chunk};
use serde_json::{Value, json};

const MANIFEST: &str = include_str!("../plugin.toml");
const API_VERSION: &str = "2023-06-01";

struct Anthropic;

impl Provider for Anthropic {
    fn info() -> ProviderInfo {
        provider_common::openai::info(&Facts::parse(MANIFEST))
    }

    fn complete(request: CompletionRequest) -> Result<Completion, PluginError> {
        let facts = Facts::parse(MANIFEST);
        let s = Settings::read("https://api.anthropic.com")?;
        let model = s.model_for(&request);
        let t = Target {
            plugin: facts.id.clone(),
            service: facts.name.clone(),
            base_url: s.base_url.clone(),
            model: model.clone(),
            secret: Some("api-key"),
        };
        let answer = structured::send_with_fallback(
            &t,
            &request,
            s.json_mode,
            |r| send(&s, &t, &request_body(&s, &model, r)?, &r.response_format),
            minutes_sdk::log::warn,
        )?;
        answer.into_completion(&t, &request)
    }
}

/// Sends one Messages API body, with retries.
fn send(
    s: &Settings,
    t: &Target,
    body: &Value,
    format: &minutes_sdk::types::ResponseFormat,
) -> Result<Answer, PluginError> {
    let body = provider_common::structured::encode(body, format)?.into_bytes();
    let url = format!("{}/v1/messages", s.base_url);
    let budget = Budget::new(s.timeout);
    let secs = s.timeout.as_secs();
    retry::run(&budget, s.max_retries, |_| {
        let req = Request::post(&url)
            .header("content-type", "application/json")
            .header("anthropic-version", API_VERSION)
            .header("accept", transport::accept(s.stream))
            .body(body.clone())
            .timeout_ms(budget.timeout_ms());
        if s.stream {
            transport::streamed(t, &req, secs, |stream, _| read_stream(t, stream, secs))
        } else {
            transport::whole(t, &req, secs, |body| parse_whole(t, body))
        }
    })
}

export_provider!(Anthropic);

/// The Messages API body: system messages joined into `system`, the rest alternating turns
/// (consecutive messages of one role are merged, as the API requires). With `json_mode`, a JSON
/// schema becomes a forced tool call; any other JSON format (and every format without
/// `json_mode`) is asked for in the system prompt.
fn request_body(s: &Settings, model: &str, r: &CompletionRequest) -> Result<Value, PluginError> {
    let tool = match s.json_mode {
        true => structured::anthropic_tool(&r.response_format)?,
        false => None,
    };
    let prompted;
    let r = if tool.is_some() {
        r
    } else {
        prompted = structured::prompted(r);
        &prompted
    };
    let mut system: Vec<&str> = Vec::new();
    let mut turns: Vec<(&'static str, String)> = Vec::new();
    for m in &r.messages {
        let role = match m.role {
            Role::System => {
                system.push(&m.content);
                continue;
            }
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        match turns.last_mut() {
            Some((last, text)) if *last == role => {
                text.push_str("\n\n");
                text.push_str(&m.content);
            }
            _ => turns.push((role, m.content.clone())),
        }
    }
    if turns.first().map(|(r, _)| *r) != Some("user") {
        return Err(PluginError::InvalidInput(
            "the Messages API needs a user message first (after any system messages)".into(),
        ));
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({
        "model": model,
        "max_tokens": r.max_tokens.unwrap_or(s.max_output),
        "messages": messages,
        "stream": s.stream,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(t) = r.temperature {
        body["temperature"] = json!(t.clamp(0.0, 1.0));
    }
    if let Some((tools, choice)) = tool {
        body["tools"] = tools;
        body["tool_choice"] = choice;
    }
    Ok(body)
}

#[derive(Debug, Default)]
struct Answer {
    text: String,
    model: Option<String>,
    stop_reason: Option<String>,
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
    /// `message_stop` arrived.
    stopped: bool,
}

impl Answer {
    fn into_completion(
        self,
        t: &Target,
        request: &CompletionRequest,
    ) -> Result<Completion, PluginError> {
        if self.stop_reason.as_deref() == Some("refusal") {
            return Err(PluginError::Other(format!(
                "{} declined to answer (stop_reason: refusal)",
                t.service
            )));
        }
        provider_common::openai::Answer {
            // The OpenAI word for a truncated answer, which `into_completion` looks for.
            finish_reason: self.stop_reason.map(|r| match r.as_str() {
                "max_tokens" => "length".to_string(),
                _ => r,
            }),
            usage: self
                .input_tokens
                .map(|input| (input, self.output_tokens.unwrap_or(0))),
            text: self.text,
            model: self.model,
        }
        .into_completion(t, request)
    }
}

fn tokens(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).map(clamp_tokens)
}

/// Input tokens, counting prompt-cache reads and writes.
fn input_tokens(usage: &Value) -> Option<u32> {
    let base = tokens(usage, "input_tokens")?;
    let cached = tokens(usage, "cache_creation_input_tokens").unwrap_or(0)
        + tokens(usage, "cache_read_input_tokens").unwrap_or(0);
    Some(base.saturating_add(cached))
}

fn read_stream(
    t: &Target,
    stream: &ResponseStream,
    secs: u64,
) -> Result<Step<Answer>, PluginError> {
    let mut parser = SseParser::default();
    let mut answer = Answer::default();
    while let Some(chunk) = next_chunk(t, stream, secs, answer.text.len())? {
        for e in parser.push(&chunk) {
            if let Some(step) = event(t, &mut answer, &e.name, &e.data)? {
                return Ok(step);
            }
        }
        if answer.stopped {
            return Ok(Step::Done(answer));
        }
    }
    if let Some(e) = parser.finish()
        && let Some(step) = event(t, &mut answer, &e.name, &e.data)?
    {
        return Ok(step);
    }
    if !answer.stopped && answer.stop_reason.is_none() {
        return Err(errors::stream_unfinished(
            t,
            answer.text.len(),
            "message_stop",
        ));
    }
    Ok(Step::Done(answer))
}

/// Applies one streamed event; `Some` ends the attempt early (an error event worth a retry).
fn event(
    t: &Target,
    a: &mut Answer,
    name: &str,
    data: &str,
) -> Result<Option<Step<Answer>>, PluginError> {
    let v: Value = serde_json::from_str(data).map_err(|e| {
        errors::malformed(
            t,
            &format!("`{name}` event"),
            &e.to_string(),
            data.as_bytes(),
        )
    })?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
    match kind {
        "message_start" => {
            a.model = v
                .pointer("/message/model")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(u) = v.pointer("/message/usage") {
                a.input_tokens = input_tokens(u);
                a.output_tokens = tokens(u, "output_tokens");
            }
        }
        "content_block_delta" => {
            // Text, or the forced tool's input as JSON in pieces: either way the answer.
            let piece = v
                .pointer("/delta/text")
                .or_else(|| v.pointer("/delta/partial_json"));
            if let Some(text) = piece.and_then(Value::as_str) {
                a.text.push_str(text);
            }
        }
        "message_delta" => {
            if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                a.stop_reason = Some(r.to_string());
            }
            if let Some(u) = v.get("usage") {
                if let Some(out) = tokens(u, "output_tokens") {
                    a.output_tokens = Some(out);
                }
                if let Some(input) = input_tokens(u).filter(|n| *n > 0) {
                    a.input_tokens = Some(input);
                }
            }
        }
        "message_stop" => a.stopped = true,
        "error" => {
            let error_type = v
                .pointer("/error/type")
                .and_then(Value::as_str)
                .unwrap_or("error");
            let message = errors::service_message(data.as_bytes());
            if errors::is_context_length(data.as_bytes()) {
                return Err(PluginError::ContextLengthExceeded(format!(
                    "{}: {message}",
                    t.service
                )));
            }
            let status = match error_type {
                "overloaded_error" => 529,
                "rate_limit_error" => 429,
                "api_error" => 500,
                _ => 400,
            };
            let error = PluginError::Upstream(UpstreamError {
                status,
                message: format!(
                    "{} reported {error_type} while streaming: {message}",
                    t.service
                ),
            });
            return match retry::is_retryable(status) {
                true => Ok(Some(Step::Retry { after: None, error })),
                false => Err(error),
            };
        }
        _ => {} // ping, content_block_start/stop
    }
    Ok(None)
}

fn parse_whole(t: &Target, body: &[u8]) -> Result<Answer, PluginError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| errors::malformed(t, "message", &e.to_string(), body))?;
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| errors::malformed(t, "message", "no `content`", body))?;
    // The forced tool's input is the answer when there is one; otherwise the text blocks.
    let tool_input = content
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .and_then(|b| b.get("input"));
    let text: String = match tool_input {
        Some(input) => input.to_string(),
        None => content
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
    };
    let usage = v.get("usage").cloned().unwrap_or(Value::Null);
    Ok(Answer {
        text,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        stop_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        input_tokens: input_tokens(&usage),
        output_tokens: tokens(&usage, "output_tokens"),
        stopped: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::{JsonSchema, Message, ResponseFormat};

    const SCHEMA: &str = r#"{"type":"object","properties":{"decisions":{"type":"array","items":{"type":"string"},"maxItems":10}},"required":["decisions"],"additionalProperties":false}"#;

    fn settings(json_mode: bool, stream: bool) -> Settings {
        Settings {
            base_url: "https://api.anthropic.com".into(),
            model: "m".into(),
            stream,
            context_window: 200_000,
            max_output: 1000,
            timeout: Duration::from_secs(10),
            max_retries: 0,
            json_mode,
        }
    }

    fn schema_request() -> CompletionRequest {
        CompletionRequest {
            messages: vec![
                Message {
                    role: Role::System,
                    content: "Write notes.".into(),
                },
                Message {
                    role: Role::User,
                    content: "[s1 00:01] Tom: We ship Friday.".into(),
                },
            ],
            model: None,
            max_tokens: Some(300),
            temperature: Some(0.2),
            response_format: ResponseFormat::JsonSchema(JsonSchema {
                name: "meeting_notes".into(),
                schema: SCHEMA.into(),
            }),
        }
    }

    #[test]
    fn a_schema_is_a_forced_tool_call_whose_input_schema_is_the_schema() {
        let b = request_body(&settings(true, true), "m", &schema_request()).unwrap();
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        assert_eq!(
            b,
            json!({
                "model": "m",
                "max_tokens": 300,
                "messages": [{"role": "user", "content": "[s1 00:01] Tom: We ship Friday."}],
                "stream": true,
                "system": "Write notes.",
                "temperature": 0.2f32,
                "tools": [{
                    "name": "meeting_notes",
                    "description": "Give the answer. Its input is the whole answer, in the required shape.",
                    "input_schema": schema,
                }],
                "tool_choice": {"type": "tool", "name": "meeting_notes"},
            })
        );
        // Without json_mode: no tool, the schema in the system prompt.
        let b = request_body(&settings(false, true), "m", &schema_request()).unwrap();
        assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
        let system = b["system"].as_str().unwrap();
        assert!(
            system.starts_with("Write notes.\n\n") && system.contains(SCHEMA),
            "{system}"
        );
    }

    #[test]
    fn the_forced_tool_s_input_is_the_answer_streamed_or_whole() {
        let t = target();
        let mut a = Answer::default();
        let events = [
            (
                "message_start",
                r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":20,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"meeting_notes","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"decisions\": [\"Ship"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" Friday\"]}"}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ];
        for (name, data) in events {
            assert!(event(&t, &mut a, name, data).unwrap().is_none());
        }
        let c = a.into_completion(&t, &schema_request()).unwrap();
        assert_eq!(c.text, r#"{"decisions": ["Ship Friday"]}"#);
        assert!(!c.truncated);

        let whole = br#"{"model":"claude-x","stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":9},
            "content":[{"type":"tool_use","id":"toolu_1","name":"meeting_notes","input":{"decisions":["Ship Friday"]}}]}"#;
        let a = parse_whole(&t, whole).unwrap();
        let v: Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(v, json!({"decisions": ["Ship Friday"]}));
    }
    use std::time::Duration;

    fn target() -> Target {
        Target {
            plugin: "anthropic".into(),
            service: "Anthropic".into(),
            base_url: "https://api.anthropic.com".into(),
            model: "m".into(),
            secret: Some("api-key"),
        }
    }

    #[test]
    fn system_goes_top_level_and_turns_merge() {
        let s = Settings {
            base_url: "https://api.anthropic.com".into(),
            model: "m".into(),
            stream: true,
            context_window: 200_000,
            max_output: 1000,
            timeout: Duration::from_secs(10),
            max_retries: 0,
            json_mode: true,
        };
        let msg = |role, c: &str| Message {
            role,
            content: c.into(),
        };
        let r = CompletionRequest {
            messages: vec![
                msg(Role::System, "Summarise."),
                msg(Role::User, "a"),
                msg(Role::User, "b"),
                msg(Role::Assistant, "c"),
            ],
            model: None,
            max_tokens: None,
            temperature: None,
            response_format: ResponseFormat::JsonObject,
        };
        let b = request_body(&s, "m", &r).unwrap();
        assert_eq!(
            b["system"],
            format!("Summarise.\n\n{}", structured::JSON_INSTRUCTION)
        );
        assert!(b.get("tools").is_none(), "no tool for a plain JSON object");
        assert_eq!(
            b["messages"],
            json!([{"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "c"}])
        );
        assert_eq!(b["max_tokens"], 1000);
        let only_system = CompletionRequest {
            messages: vec![msg(Role::System, "x")],
            ..r
        };
        assert!(matches!(
            request_body(&s, "m", &only_system),
            Err(PluginError::InvalidInput(_))
        ));
    }

    #[test]
    fn streamed_events_build_the_answer() {
        let t = target();
        let mut a = Answer::default();
        let events = [
            (
                "message_start",
                r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":25,"cache_read_input_tokens":5,"output_tokens":1}}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi "}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"there"}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":7}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ];
        for (name, data) in events {
            assert!(event(&t, &mut a, name, data).unwrap().is_none());
        }
        assert!(a.stopped);
        let req = CompletionRequest {
            messages: vec![],
            model: None,
            max_tokens: None,
            temperature: None,
            response_format: ResponseFormat::Text,
        };
        let c = a.into_completion(&t, &req).unwrap();
        assert_eq!(
            (c.text.as_str(), c.model.as_str(), c.truncated),
            ("Hi there", "claude-x", true)
        );
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (30, 7));
    }

    #[test]
    fn error_events_retry_when_overloaded() {
        let t = target();
        let mut a = Answer::default();
        let overloaded =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert!(matches!(
            event(&t, &mut a, "error", overloaded),
            Ok(Some(Step::Retry { .. }))
        ));
        let bad = r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#;
        assert!(matches!(
            event(&t, &mut a, "error", bad),
            Err(PluginError::Upstream(_))
        ));
    }
}
