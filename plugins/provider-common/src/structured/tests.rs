use super::*;
use crate::openai::{Dialect, request_body};
use crate::settings::Settings;
use minutes_sdk::types::UpstreamError;
use std::time::Duration;

const SCHEMA: &str = r#"{"type":"object","properties":{"decisions":{"type":"array","items":{"type":"string"},"maxItems":10}},"required":["decisions"],"additionalProperties":false}"#;

fn schema_format() -> ResponseFormat {
    ResponseFormat::JsonSchema(JsonSchema {
        name: "meeting_notes".into(),
        schema: SCHEMA.into(),
    })
}

fn request(format: ResponseFormat) -> CompletionRequest {
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
        response_format: format,
    }
}

fn settings(json_mode: bool) -> Settings {
    Settings {
        base_url: "http://127.0.0.1:8080/v1".into(),
        model: "qwen".into(),
        stream: false,
        context_window: 8192,
        max_output: 512,
        timeout: Duration::from_secs(10),
        max_retries: 0,
        json_mode,
    }
}

fn target() -> Target {
    Target {
        plugin: "openai-compatible".into(),
        service: "llama.cpp".into(),
        base_url: "http://127.0.0.1:8080/v1".into(),
        model: "qwen".into(),
        secret: None,
    }
}

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("JSON")
}

#[test]
fn openai_compatible_endpoints_get_a_strict_json_schema_response_format() {
    let body = request_body(
        &settings(true),
        &Dialect::default(),
        "qwen",
        &request(schema_format()),
    )
    .expect("body");
    assert_eq!(
        body,
        json!({
            "model": "qwen",
            "messages": [
                {"role": "system", "content": "Write notes."},
                {"role": "user", "content": "[s1 00:01] Tom: We ship Friday."},
            ],
            "stream": false,
            "max_tokens": 300,
            "temperature": 0.2f32,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "meeting_notes", "schema": schema(), "strict": true},
            },
        })
    );
    let object = request_body(
        &settings(true),
        &Dialect::default(),
        "qwen",
        &request(ResponseFormat::JsonObject),
    )
    .expect("body");
    assert_eq!(object["response_format"], json!({"type": "json_object"}));
    let text = request_body(
        &settings(true),
        &Dialect::default(),
        "qwen",
        &request(ResponseFormat::Text),
    )
    .expect("body");
    assert!(text.get("response_format").is_none());
}

#[test]
fn without_json_mode_the_schema_goes_into_the_system_prompt() {
    let body = request_body(
        &settings(false),
        &Dialect::default(),
        "qwen",
        &request(schema_format()),
    )
    .expect("body");
    assert!(body.get("response_format").is_none(), "{body}");
    assert_eq!(
        body["messages"][0]["content"],
        format!("Write notes.\n\n{JSON_INSTRUCTION} It must follow this JSON Schema:\n{SCHEMA}")
    );
    assert_eq!(support(false), SchemaSupport::PromptOnly);
    assert_eq!(support(true), SchemaSupport::Enforced);
}

#[test]
fn ollama_gets_the_schema_object_as_format() {
    assert_eq!(ollama_format(&schema_format()).expect("ok"), Some(schema()));
    assert_eq!(
        ollama_format(&ResponseFormat::JsonObject).expect("ok"),
        Some(json!("json"))
    );
    assert_eq!(ollama_format(&ResponseFormat::Text).expect("ok"), None);
}

#[test]
fn anthropic_gets_one_forced_tool_whose_input_is_the_schema() {
    let (tools, choice) = anthropic_tool(&schema_format())
        .expect("ok")
        .expect("a tool");
    assert_eq!(
        tools,
        json!([{
            "name": "meeting_notes",
            "description": "Give the answer. Its input is the whole answer, in the required shape.",
            "input_schema": schema(),
        }])
    );
    assert_eq!(choice, json!({"type": "tool", "name": "meeting_notes"}));
    assert!(
        anthropic_tool(&ResponseFormat::JsonObject)
            .expect("ok")
            .is_none()
    );
}

#[test]
fn a_schema_that_is_not_json_is_the_template_s_bug_named() {
    let bad = ResponseFormat::JsonSchema(JsonSchema {
        name: "notes".into(),
        schema: "{not json".into(),
    });
    let err = openai_response_format(&bad).expect_err("not JSON");
    assert!(
        matches!(&err, PluginError::InvalidInput(m) if m.contains("JSON schema `notes`")),
        "{err:?}"
    );
    let name = schema_name(&JsonSchema {
        name: "../notes v2!".into(),
        schema: "{}".into(),
    });
    assert_eq!(name, "notesv2");
}

/// What a server says when it refuses a schema (OpenAI's strict mode, in its words).
fn rejected() -> PluginError {
    PluginError::Upstream(UpstreamError {
        status: 400,
        message: "llama.cpp answered 400: Invalid schema for response_format 'meeting_notes': \
                  'maxItems' is not permitted"
            .into(),
    })
}

#[test]
fn a_rejected_schema_is_asked_again_in_the_prompt_and_the_log_names_service_model_and_schema() {
    let mut sent: Vec<CompletionRequest> = Vec::new();
    let mut warnings = Vec::new();
    let answer = send_with_fallback(
        &target(),
        &request(schema_format()),
        true,
        |r| {
            sent.push(r.clone());
            if sent.len() == 1 {
                Err(rejected())
            } else {
                Ok("{\"decisions\":[]}".to_string())
            }
        },
        |w| warnings.push(w.to_string()),
    )
    .expect("the prompted retry answers");
    assert_eq!(answer, "{\"decisions\":[]}");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].response_format, schema_format());
    assert_eq!(sent[1].response_format, ResponseFormat::Text);
    assert!(sent[1].messages[0].content.contains(SCHEMA));
    let [warning] = &warnings[..] else {
        panic!("one warning: {warnings:?}")
    };
    assert!(
        warning.contains("llama.cpp rejected the JSON schema `meeting_notes` for model `qwen`")
            && warning.contains("'maxItems' is not permitted")
            && warning.contains("json_mode = false"),
        "{warning}"
    );
}

#[test]
fn other_errors_and_a_second_failure_are_reported_as_they_are() {
    let mut calls = 0;
    let err = send_with_fallback(
        &target(),
        &request(schema_format()),
        true,
        |_| -> Result<(), PluginError> {
            calls += 1;
            Err(PluginError::Upstream(UpstreamError {
                status: 500,
                message: "llama.cpp answered 500: schema engine crashed".into(),
            }))
        },
        |_| panic!("no fallback for a server error"),
    )
    .expect_err("fails");
    assert_eq!(calls, 1);
    assert!(matches!(err, PluginError::Upstream(u) if u.status == 500));

    let mut calls = 0;
    let err = send_with_fallback(
        &target(),
        &request(schema_format()),
        true,
        |_| -> Result<(), PluginError> {
            calls += 1;
            Err(rejected())
        },
        |_| {},
    )
    .expect_err("fails twice");
    assert_eq!(calls, 2, "one fallback, no loop");
    assert!(matches!(err, PluginError::Upstream(u) if u.status == 400));

    // Not enforced: nothing to fall back from.
    let mut calls = 0;
    let _ = send_with_fallback(
        &target(),
        &request(schema_format()),
        false,
        |_| -> Result<(), PluginError> {
            calls += 1;
            Err(rejected())
        },
        |_| panic!("no fallback"),
    );
    assert_eq!(calls, 1);
}

#[test]
fn a_schema_keeps_the_order_its_template_wrote() {
    let schema = r#"{"type":"object","properties":{"sections":{"type":"string"},"decisions":{"type":"array","items":{"type":"string"}}},"required":["sections","decisions"],"additionalProperties":false}"#;
    let s = JsonSchema {
        name: "notes".into(),
        schema: schema.into(),
    };
    let body = json!({"model": "m", "format": schema_value(&s).expect("schema"),
        "messages": [{"role": "user", "content": "hi"}]});
    let format = ResponseFormat::JsonSchema(s);
    let text = encode(&body, &format).expect("encode");
    assert!(text.contains(schema), "{text}");
    assert!(
        text.find("\"sections\"") < text.find("\"decisions\""),
        "sections before decisions: {text}"
    );
    let back: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(back, body, "the same request; only the key order differs");
    assert_eq!(
        encode(&body, &ResponseFormat::Text).expect("plain"),
        serde_json::to_string(&body).expect("json")
    );
}
