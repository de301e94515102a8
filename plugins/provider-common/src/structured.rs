//! Structured output: how each endpoint is asked to hold an answer to the request's
//! `response-format`, and what happens when it cannot.
//!
//! - OpenAI chat completions (OpenAI, Fireworks, Groq, OpenRouter, llama.cpp's server and other
//!   compatible servers): `response_format: {type: "json_schema", json_schema: {name, schema,
//!   strict: true}}`, or `{type: "json_object"}` for any JSON object.
//! - Ollama: `format: <the schema object>`, or `format: "json"`.
//! - Anthropic: a forced tool call whose `input_schema` is the schema; the tool's input is the
//!   answer, serialised as the completion's text.
//!
//! With `json_mode = false` (for servers that reject these fields) a schema goes into the system
//! prompt instead ([`prompt_instruction`]), and `provider-info.structured-output` says
//! `prompt-only`. Either way the template validates the answer and retries once.
//!
//! A server that rejects the schema itself (a 400 or 422 whose message is about the schema or
//! the response format; OpenAI's strict mode refuses some schemas) is asked once more with the
//! schema in the prompt, and the log says so, naming the service, the model and the schema
//! ([`schema_rejected`]): a summary should not fail because one endpoint is pickier than the
//! schema subset in the contract. Any other error, and a failure of that second request, are
//! reported as they are.

use crate::errors::Target;
use minutes_sdk::types::{
    CompletionRequest, JsonSchema, Message, PluginError, ResponseFormat, Role, SchemaSupport,
};
use serde_json::{Value, json};

/// Told in the system prompt when the endpoint does not enforce JSON.
pub const JSON_INSTRUCTION: &str = "Answer with one JSON object and nothing else.";

/// `structured-output` for `provider-info`: enforced when the plugin sends the endpoint's
/// structured-output field (`json_mode`, on by default).
pub fn support(json_mode: bool) -> SchemaSupport {
    if json_mode {
        SchemaSupport::Enforced
    } else {
        SchemaSupport::PromptOnly
    }
}

/// The schema's JSON, or an error naming it: a template that sends a schema that is not JSON
/// has a bug, and guessing would hide it.
pub fn schema_value(schema: &JsonSchema) -> Result<Value, PluginError> {
    let v: Value = serde_json::from_str(&schema.schema).map_err(|e| {
        PluginError::InvalidInput(format!(
            "the JSON schema `{}` of the request is not valid JSON ({e})",
            schema.name
        ))
    })?;
    if !v.is_object() {
        return Err(PluginError::InvalidInput(format!(
            "the JSON schema `{}` of the request must be a JSON object",
            schema.name
        )));
    }
    Ok(v)
}

/// A request body as JSON text, with the schema of `format` written as the template wrote it.
/// Parsed into a `Value`, the schema's keys come out sorted; a constrained decoder generates an
/// object's keys in the order its schema lists them, and the notes schema lists `sections`
/// first so that an answer cut off at the token limit loses list items, not the notes.
pub fn encode(body: &Value, format: &ResponseFormat) -> Result<String, PluginError> {
    let ResponseFormat::JsonSchema(s) = format else {
        return minutes_sdk::json::to_string(body);
    };
    let schema = schema_value(s)?;
    let raw = serde_json::value::RawValue::from_string(s.schema.trim().to_string())
        .map_err(|e| PluginError::InvalidInput(format!("the JSON schema `{}`: {e}", s.name)))?;
    minutes_sdk::json::to_string(&AsWritten {
        value: body,
        schema: &schema,
        raw: &raw,
    })
}

/// `value` with every copy of `schema` in it written as `raw`.
struct AsWritten<'a> {
    value: &'a Value,
    schema: &'a Value,
    raw: &'a serde_json::value::RawValue,
}

impl serde::Serialize for AsWritten<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        if self.value == self.schema {
            return self.raw.serialize(s);
        }
        let inner = |value| AsWritten { value, ..*self };
        match self.value {
            Value::Object(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, &inner(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(&inner(v))?;
                }
                q.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The schema's name as endpoints accept it (`^[a-zA-Z0-9_-]{1,64}$`).
pub fn schema_name(schema: &JsonSchema) -> String {
    let name: String = schema
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .take(64)
        .collect();
    if name.is_empty() {
        "answer".into()
    } else {
        name
    }
}

/// What to add to the system prompt when the endpoint is not asked to enforce the format:
/// the JSON instruction, with the schema when there is one.
pub fn prompt_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(JSON_INSTRUCTION.into()),
        ResponseFormat::JsonSchema(s) => Some(format!(
            "{JSON_INSTRUCTION} It must follow this JSON Schema:\n{}",
            s.schema.trim()
        )),
    }
}

/// OpenAI's `response_format` for `format`, when enforced.
pub fn openai_response_format(format: &ResponseFormat) -> Result<Option<Value>, PluginError> {
    Ok(match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(json!({"type": "json_object"})),
        ResponseFormat::JsonSchema(s) => Some(json!({
            "type": "json_schema",
            "json_schema": {"name": schema_name(s), "schema": schema_value(s)?, "strict": true},
        })),
    })
}

/// Ollama's `format` for `format`, when enforced.
pub fn ollama_format(format: &ResponseFormat) -> Result<Option<Value>, PluginError> {
    Ok(match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(json!("json")),
        ResponseFormat::JsonSchema(s) => Some(schema_value(s)?),
    })
}

/// Anthropic's `tools` and `tool_choice` for a schema: one tool the model must call, whose
/// input is the answer. `None` for other formats (they are prompted).
pub fn anthropic_tool(format: &ResponseFormat) -> Result<Option<(Value, Value)>, PluginError> {
    let ResponseFormat::JsonSchema(s) = format else {
        return Ok(None);
    };
    let name = schema_name(s);
    let tools = json!([{
        "name": name,
        "description": "Give the answer. Its input is the whole answer, in the required shape.",
        "input_schema": schema_value(s)?,
    }]);
    Ok(Some((tools, json!({"type": "tool", "name": name}))))
}

/// The request with the format moved into the system prompt: the first system message gets
/// [`prompt_instruction`] appended (one is added when there is none), and the format becomes
/// text so that nothing asks the endpoint to enforce it.
pub fn prompted(request: &CompletionRequest) -> CompletionRequest {
    let mut r = request.clone();
    if let Some(instruction) = prompt_instruction(&request.response_format) {
        match r.messages.iter_mut().find(|m| m.role == Role::System) {
            Some(m) => {
                m.content.push_str("\n\n");
                m.content.push_str(&instruction);
            }
            None => r.messages.insert(
                0,
                Message {
                    role: Role::System,
                    content: instruction,
                },
            ),
        }
    }
    r.response_format = ResponseFormat::Text;
    r
}

/// When `error` is the endpoint refusing the request's schema or response format: the warning
/// to log before asking again with the schema in the prompt. `None` for every other error.
pub fn schema_rejected(t: &Target, format: &ResponseFormat, error: &PluginError) -> Option<String> {
    let what = match format {
        ResponseFormat::Text => return None,
        ResponseFormat::JsonObject => "JSON output mode (response format json_object)".to_string(),
        ResponseFormat::JsonSchema(s) => format!("the JSON schema `{}`", s.name),
    };
    let PluginError::Upstream(u) = error else {
        return None;
    };
    if !matches!(u.status, 400 | 422) {
        return None;
    }
    let said = u.message.to_ascii_lowercase();
    let about_format = [
        "schema",
        "response_format",
        "response format",
        "json_object",
        "format",
        "tool",
        "grammar",
    ]
    .iter()
    .any(|w| said.contains(w));
    if !about_format {
        return None;
    }
    Some(format!(
        "{} rejected {what} for model `{}` ({}); asking again with the schema in the prompt \
         instead (set `json_mode = false` in [plugins.{}] to always do that)",
        t.service, t.model, u.message, t.plugin
    ))
}

/// Sends `request` with `send`; when the endpoint was asked to `enforce` the format and
/// rejects it ([`schema_rejected`]), logs why with `warn` and sends [`prompted`] once instead.
pub fn send_with_fallback<A>(
    t: &Target,
    request: &CompletionRequest,
    enforce: bool,
    mut send: impl FnMut(&CompletionRequest) -> Result<A, PluginError>,
    warn: impl FnOnce(&str),
) -> Result<A, PluginError> {
    match send(request) {
        Err(e) if enforce => match schema_rejected(t, &request.response_format, &e) {
            Some(warning) => {
                warn(&warning);
                send(&prompted(request))
            }
            None => Err(e),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
