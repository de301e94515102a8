//! A provider whose "prompt" is an HTTP request script; it reports what the host answered.
//! It also tries what a hostile plugin would: reading its secret through config, and sending
//! whatever it can find elsewhere.

use minutes_sdk::http::{HttpError, Method, Request};
use minutes_sdk::provider::{Provider, export_provider};
use minutes_sdk::types::{
    Completion, CompletionRequest, DataPolicy, ModelInfo, PluginError, ProviderInfo, TokenUsage,
    Tristate,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Script {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    follow_redirects: bool,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    timeout_ms: Option<u32>,
    /// Send the request this many times, as a plugin retrying in a loop would.
    #[serde(default)]
    repeat: Option<u32>,
}

#[derive(Serialize, Default)]
struct Outcome {
    status: Option<u16>,
    bytes: u64,
    chunks: u32,
    body_prefix: String,
    /// The response headers the host handed over.
    headers: Vec<(String, String)>,
    chunk_sizes: Vec<u32>,
    /// How many of the repeated requests failed.
    errors: u32,
    error: Option<String>,
    denied_origin: Option<String>,
    /// What `config.get` gave for the secret's name: must always be null.
    secret_via_config: Option<String>,
}

struct Probe;

impl Provider for Probe {
    fn info() -> ProviderInfo {
        ProviderInfo {
            id: "net-probe".into(),
            name: "Network probe".into(),
            models: vec![ModelInfo {
                id: "probe".into(),
                context_window: 4096,
                max_output: 256,
            }],
            default_model: "probe".into(),
            data_policy: DataPolicy {
                retention: "unknown".into(),
                trains_on_data: Tristate::Unknown,
                zero_retention_available: Tristate::Unknown,
                zero_retention_default: Tristate::Unknown,
                region: None,
                certifications: vec![],
                sources: vec![],
                last_verified: None,
            },
            structured_output: minutes_sdk::types::SchemaSupport::PromptOnly,
        }
    }

    fn complete(request: CompletionRequest) -> Result<Completion, PluginError> {
        let text = request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let script: Script = minutes_sdk::json::from_str(&text)?;
        let mut outcome = Outcome {
            secret_via_config: minutes_sdk::config::string("api-key"),
            ..Default::default()
        };
        let method = match script.method.as_deref().unwrap_or("GET") {
            "POST" => Method::Post,
            "PUT" => Method::Put,
            _ => Method::Get,
        };
        let mut req = Request::new(method, script.url);
        for (k, v) in script.headers {
            req = req.header(k, v);
        }
        if let Some(b) = script.body {
            req = req.body(b.into_bytes());
        }
        if script.follow_redirects {
            req = req.follow_redirects();
        }
        if let Some(ms) = script.timeout_ms {
            req = req.timeout_ms(ms);
        }
        let mut result = Ok(());
        for _ in 0..script.repeat.unwrap_or(1).max(1) {
            outcome = Outcome {
                secret_via_config: outcome.secret_via_config.take(),
                errors: outcome.errors,
                ..Default::default()
            };
            result = if script.stream {
                stream(&req, &mut outcome)
            } else {
                whole(&req, &mut outcome)
            };
            if result.is_err() {
                outcome.errors += 1;
            }
        }
        if let Err(e) = result {
            if let HttpError::Denied(d) = &e {
                outcome.denied_origin = Some(d.origin.clone());
            }
            outcome.error = Some(minutes_sdk::http::describe(&e));
        }
        Ok(Completion {
            text: minutes_sdk::json::to_string(&outcome)?,
            model: "probe".into(),
            usage: TokenUsage {
                input_tokens: 0,
                output_tokens: 0,
            },
            truncated: false,
        })
    }
}

fn whole(req: &Request, outcome: &mut Outcome) -> Result<(), HttpError> {
    let resp = req.send()?;
    outcome.status = Some(resp.status);
    outcome.headers = resp.headers.clone();
    outcome.bytes = resp.body.len() as u64;
    outcome.chunks = 1;
    outcome.body_prefix =
        String::from_utf8_lossy(&resp.body[..resp.body.len().min(2000)]).into_owned();
    Ok(())
}

fn stream(req: &Request, outcome: &mut Outcome) -> Result<(), HttpError> {
    let s = req.send_streaming()?;
    outcome.status = Some(s.status());
    outcome.headers = s.headers();
    while let Some(chunk) = s.next_chunk()? {
        outcome.bytes += chunk.len() as u64;
        outcome.chunks += 1;
        // Every chunk as the plugin got it, so a test can see how the body was cut.
        outcome.chunk_sizes.push(chunk.len() as u32);
        if outcome.body_prefix.len() < 2000 {
            outcome
                .body_prefix
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    Ok(())
}

export_provider!(Probe);
