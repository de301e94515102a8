//! Ollama's native API: `POST /api/chat` streamed as NDJSON, the installed models from
//! `GET /api/tags`. The context window is the `context_window` setting, sent as
//! `options.num_ctx` so that what minutes plans with is what Ollama uses (its own default is
//! smaller, and it cuts input that does not fit without saying so). A JSON schema is enforced
//! with `format: <schema>` (Ollama 0.5 and later), see [`provider_common::structured`].

use minutes_sdk::http::{Request, ResponseStream};
use minutes_sdk::provider::{Provider, export_provider};
use minutes_sdk::types::{
    Completion, CompletionRequest, ModelInfo, PluginError, ProviderInfo, UpstreamError,
};
use provider_common::budget::Budget;
use provider_common::errors::{self, Target};
use provider_common::lines::LineBuffer;
use provider_common::manifest::Facts;
use provider_common::openai::{clamp_tokens, role_name};
use provider_common::retry::{self, Step};
use provider_common::settings::Settings;
use provider_common::transport::{self, next_chunk};
use serde_json::{Value, json};

const MANIFEST: &str = include_str!("../plugin.toml");
/// `info` asks Ollama for its models, briefly: an Ollama that is not running must not stall it.
const TAGS_TIMEOUT_MS: u32 = 3000;

struct Ollama;

impl Provider for Ollama {
    fn info() -> ProviderInfo {
        let facts = Facts::parse(MANIFEST);
        let mut info = provider_common::openai::info(&facts);
        let Ok(s) = Settings::read("") else {
            return info;
        };
        let installed = match installed_models(&s.base_url) {
            Ok(names) => names,
            Err(why) => {
                minutes_sdk::log::info(&format!(
                    "cannot list the models of Ollama at {}: {why}",
                    s.base_url
                ));
                return info;
            }
        };
        if !installed.iter().any(|m| same_model(m, &s.model)) {
            minutes_sdk::log::warn(&format!(
                "model `{}` is not installed in Ollama at {}: run `ollama pull {}` or set `model` to one of: {}",
                s.model,
                s.base_url,
                s.model,
                installed.join(", ")
            ));
        }
        // One context window for all: the plugin sends it as num_ctx with every request.
        let window = show_context_length(&s.base_url, &s.model)
            .map_or(s.context_window, |n| n.min(s.context_window));
        info.models = std::iter::once(s.model.clone())
            .chain(installed.into_iter().filter(|m| !same_model(m, &s.model)))
            .map(|id| ModelInfo {
                id,
                context_window: window,
                max_output: s.max_output.min(window / 2),
            })
            .collect();
        info
    }

    fn complete(request: CompletionRequest) -> Result<Completion, PluginError> {
        let facts = Facts::parse(MANIFEST);
        let s = Settings::read("http://localhost:11434")?;
        let model = s.model_for(&request);
        let t = Target {
            plugin: facts.id,
            service: "Ollama".into(),
            base_url: s.base_url.clone(),
            model: model.clone(),
            secret: None,
        };
        let answer = provider_common::structured::send_with_fallback(
            &t,
            &request,
            s.json_mode,
            |r| send(&s, &t, &request_body(&s, &model, r)?, &r.response_format),
            minutes_sdk::log::warn,
        )?;
        finish(&t, &s, answer, &request)
    }
}

/// Sends one `/api/chat` body, with retries.
fn send(
    s: &Settings,
    t: &Target,
    body: &Value,
    format: &minutes_sdk::types::ResponseFormat,
) -> Result<Answer, PluginError> {
    let body = provider_common::structured::encode(body, format)?.into_bytes();
    let url = format!("{}/api/chat", s.base_url);
    let budget = Budget::new(s.timeout);
    let secs = s.timeout.as_secs();
    retry::run(&budget, s.max_retries, |_| {
        let req = Request::post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .timeout_ms(budget.timeout_ms());
        let step = if s.stream {
            transport::streamed(t, &req, secs, |stream, _| read_stream(t, stream, secs))
        } else {
            transport::whole(t, &req, secs, |body| {
                let mut a = Answer::default();
                apply(t, &mut a, &String::from_utf8_lossy(body)).map(|()| a)
            })
        };
        step.map_err(|e| not_pulled(e, &t.model))
    })
}

export_provider!(Ollama);

/// `llama3.2` and `llama3.2:latest` are one model.
fn same_model(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        if s.contains(':') {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    norm(a) == norm(b)
}

fn installed_models(base_url: &str) -> Result<Vec<String>, String> {
    let resp = Request::get(format!("{base_url}/api/tags"))
        .timeout_ms(TAGS_TIMEOUT_MS)
        .send()
        .map_err(|e| minutes_sdk::http::describe(&e))?;
    if resp.status != 200 {
        return Err(format!("/api/tags answered {}", resp.status));
    }
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| format!("/api/tags: malformed JSON: {e}"))?;
    Ok(v.get("models")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    m.get("name")
                        .or(m.get("model"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The model's trained context length from `/api/show` (`<arch>.context_length`), if it says.
fn show_context_length(base_url: &str, model: &str) -> Option<u32> {
    let resp = Request::post(format!("{base_url}/api/show"))
        .header("content-type", "application/json")
        .body(json!({"model": model}).to_string().into_bytes())
        .timeout_ms(TAGS_TIMEOUT_MS)
        .send()
        .ok()?;
    let v: Value = serde_json::from_slice(&resp.body)
        .ok()
        .filter(|_| resp.status == 200)?;
    let info = v.get("model_info")?.as_object()?;
    let arch = info.get("general.architecture")?.as_str()?;
    let n = info.get(&format!("{arch}.context_length"))?.as_u64()?;
    u32::try_from(n).ok()
}

/// The `/api/chat` body. With `json_mode` the response format is Ollama's `format` (the schema
/// object, or `"json"`); without, it is written into the system prompt.
fn request_body(s: &Settings, model: &str, r: &CompletionRequest) -> Result<Value, PluginError> {
    let prompted;
    let r = if s.json_mode {
        r
    } else {
        prompted = provider_common::structured::prompted(r);
        &prompted
    };
    let messages: Vec<Value> = r
        .messages
        .iter()
        .map(|m| json!({"role": role_name(m.role), "content": m.content}))
        .collect();
    let mut options =
        json!({"num_ctx": s.context_window, "num_predict": r.max_tokens.unwrap_or(s.max_output)});
    if let Some(t) = r.temperature {
        options["temperature"] = json!(t);
    }
    let mut body =
        json!({"model": model, "messages": messages, "stream": s.stream, "options": options});
    if let Some(format) = provider_common::structured::ollama_format(&r.response_format)? {
        body["format"] = format;
    }
    Ok(body)
}

/// A 404 from Ollama means the model is not pulled: say how to get it.
fn not_pulled(e: PluginError, model: &str) -> PluginError {
    match e {
        PluginError::Upstream(UpstreamError {
            status: 404,
            message,
        }) => PluginError::Upstream(UpstreamError {
            status: 404,
            message: format!("{message} (if the model is missing: `ollama pull {model}`)"),
        }),
        other => other,
    }
}

#[derive(Debug, Default)]
struct Answer {
    text: String,
    model: Option<String>,
    done: bool,
    done_reason: Option<String>,
    prompt_tokens: Option<u32>,
    output_tokens: Option<u32>,
}

/// Applies one NDJSON object (a streamed piece, or the whole answer).
fn apply(t: &Target, a: &mut Answer, line: &str) -> Result<(), PluginError> {
    let v: Value = serde_json::from_str(line)
        .map_err(|e| errors::malformed(t, "chat answer", &e.to_string(), line.as_bytes()))?;
    if let Some(e) = errors::error_in_answer(t, &v, line.as_bytes()) {
        return Err(e);
    }
    if let Some(text) = v.pointer("/message/content").and_then(Value::as_str) {
        a.text.push_str(text);
    }
    if let Some(m) = v.get("model").and_then(Value::as_str) {
        a.model = Some(m.to_string());
    }
    if v.get("done").and_then(Value::as_bool) == Some(true) {
        a.done = true;
        a.done_reason = v
            .get("done_reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let count = |k: &str| v.get(k).and_then(Value::as_u64).map(clamp_tokens);
        a.prompt_tokens = count("prompt_eval_count");
        a.output_tokens = count("eval_count");
    }
    Ok(())
}

fn read_stream(
    t: &Target,
    stream: &ResponseStream,
    secs: u64,
) -> Result<Step<Answer>, PluginError> {
    let mut a = Answer::default();
    let mut lines = LineBuffer::default();
    while !a.done {
        let Some(chunk) = next_chunk(t, stream, secs, a.text.len())? else {
            if let Some(line) = lines.finish() {
                apply(t, &mut a, &line)?;
            }
            break;
        };
        for line in lines.push(&chunk).iter().filter(|l| !l.trim().is_empty()) {
            apply(t, &mut a, line)?;
        }
    }
    Ok(Step::Done(a))
}

fn finish(
    t: &Target,
    s: &Settings,
    a: Answer,
    request: &CompletionRequest,
) -> Result<Completion, PluginError> {
    if !a.done {
        return Err(errors::stream_unfinished(t, a.text.len(), "`done: true`"));
    }
    let output = a.output_tokens.unwrap_or(0);
    // Ollama drops the start of a prompt that does not fit num_ctx and answers anyway; a prompt
    // that filled the window was most likely cut, and a summary of part of a transcript is
    // worse than an error.
    if let Some(prompt) = a.prompt_tokens
        && prompt.saturating_add(output) >= s.context_window
    {
        return Err(PluginError::ContextLengthExceeded(format!(
            "the prompt ({prompt} tokens) and answer ({output} tokens) filled Ollama's whole context window (num_ctx {}); \
             Ollama cuts input silently at that point. Send less, or raise `context_window` if the model supports more",
            s.context_window
        )));
    }
    provider_common::openai::Answer {
        usage: a.prompt_tokens.map(|prompt| (prompt, output)),
        text: a.text,
        model: a.model,
        finish_reason: a.done_reason,
    }
    .into_completion(t, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            plugin: "ollama".into(),
            service: "Ollama".into(),
            base_url: "http://localhost:11434".into(),
            model: "m".into(),
            secret: None,
        }
    }

    #[test]
    fn ndjson_pieces_and_the_final_counts() {
        let t = target();
        let mut a = Answer::default();
        for line in [
            r#"{"model":"qwen","message":{"role":"assistant","content":"Hel"},"done":false}"#,
            r#"{"model":"qwen","message":{"role":"assistant","content":"lo"},"done":false}"#,
            r#"{"model":"qwen","message":{"role":"assistant","content":""},"done_reason":"length","done":true,"prompt_eval_count":31,"eval_count":5}"#,
        ] {
            apply(&t, &mut a, line).unwrap();
        }
        assert_eq!(
            (a.text.as_str(), a.done, a.prompt_tokens, a.output_tokens),
            ("Hello", true, Some(31), Some(5))
        );
        let e = apply(
            &t,
            &mut Answer::default(),
            r#"{"error":"model runner has unexpectedly stopped"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, PluginError::Upstream(ref u) if u.message.contains("unexpectedly stopped")),
            "{e:?}"
        );
    }

    #[test]
    fn a_schema_is_sent_as_format_and_without_json_mode_in_the_prompt() {
        use minutes_sdk::types::{JsonSchema, Message, ResponseFormat, Role};
        let schema = r#"{"type":"object","properties":{"decisions":{"type":"array","items":{"type":"string"},"maxItems":10}},"required":["decisions"],"additionalProperties":false}"#;
        let mut s = Settings {
            base_url: "http://localhost:11434".into(),
            model: "qwen".into(),
            stream: true,
            context_window: 8192,
            max_output: 512,
            timeout: std::time::Duration::from_secs(10),
            max_retries: 0,
            json_mode: true,
        };
        let r = CompletionRequest {
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
                schema: schema.into(),
            }),
        };
        let b = request_body(&s, "qwen", &r).unwrap();
        assert_eq!(
            b,
            json!({
                "model": "qwen",
                "messages": [
                    {"role": "system", "content": "Write notes."},
                    {"role": "user", "content": "[s1 00:01] Tom: We ship Friday."},
                ],
                "stream": true,
                "options": {"num_ctx": 8192, "num_predict": 300, "temperature": 0.2f32},
                "format": serde_json::from_str::<Value>(schema).unwrap(),
            })
        );
        s.json_mode = false;
        let b = request_body(&s, "qwen", &r).unwrap();
        assert!(b.get("format").is_none(), "{b}");
        assert!(
            b["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains(schema)
        );
    }

    #[test]
    fn model_names_match_with_and_without_tag() {
        assert!(same_model("llama3.2", "llama3.2:latest"));
        assert!(!same_model("llama3.2", "llama3.2:1b"));
    }
}
