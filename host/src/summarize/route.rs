//! A template's `llm` calls, routed to the provider plugin the user chose and recorded for the
//! summary's provenance: the plan, a hash of every prompt, tokens and time.

use crate::model::{Completion, CompletionRequest, LlmInfo, Plan, PluginError};
use crate::plugins::LoadedPlugin;
use crate::plugins::host_api::LlmBackend;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Requests one summary may make. A template that loops on the model is stopped here.
pub const MAX_REQUESTS: usize = 256;

/// One request a template made, as recorded in the summary's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// sha256 of the request as sent to the provider (messages, model, limits).
    pub prompt_sha256: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub duration_ms: u64,
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The template's announced plan, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// (first segment, last segment, estimated tokens) of each chunk.
    pub chunks: Vec<(u32, u32, u32)>,
    pub overlap_segments: u32,
    pub expected_requests: u32,
}

/// What the route reports while a summary is made.
#[derive(Debug, Clone)]
pub enum Progress {
    Planned {
        chunks: usize,
        expected_requests: u32,
    },
    Request {
        done: usize,
        expected: Option<u32>,
        output_tokens: u32,
        secs: f64,
    },
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

#[derive(Default)]
struct Recorded {
    plan: Option<PlanRecord>,
    requests: Vec<RequestRecord>,
}

pub struct ProviderRoute {
    provider: LoadedPlugin,
    info: LlmInfo,
    recorded: Arc<Mutex<Recorded>>,
    progress: Option<ProgressFn>,
}

impl ProviderRoute {
    pub fn new(
        provider: LoadedPlugin,
        info: LlmInfo,
        progress: Option<ProgressFn>,
    ) -> Arc<ProviderRoute> {
        Arc::new(ProviderRoute {
            provider,
            info,
            recorded: Arc::default(),
            progress,
        })
    }

    pub fn plan(&self) -> Option<PlanRecord> {
        self.lock().plan.clone()
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LlmBackend for ProviderRoute {
    fn info(&self) -> LlmInfo {
        self.info.clone()
    }

    fn announce_plan(&self, plan: Plan) {
        let record = PlanRecord {
            chunks: plan
                .chunks
                .iter()
                .map(|c| (c.first_segment, c.last_segment, c.estimated_tokens))
                .collect(),
            overlap_segments: plan.overlap_segments,
            expected_requests: plan.expected_requests,
        };
        tracing::debug!(
            chunks = record.chunks.len(),
            expected = record.expected_requests,
            "summary plan"
        );
        if let Some(p) = &self.progress {
            p(Progress::Planned {
                chunks: record.chunks.len(),
                expected_requests: record.expected_requests,
            });
        }
        self.lock().plan = Some(record);
    }

    fn complete(
        &self,
        mut request: CompletionRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Completion, PluginError>> + Send + 'static>,
    > {
        let provider = self.provider.clone();
        let recorded = self.recorded.clone();
        let progress = self.progress.clone();
        let info = self.info.clone();
        Box::pin(async move {
            if recorded
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .requests
                .len()
                >= MAX_REQUESTS
            {
                return Err(PluginError::Other(format!(
                    "the template made more than {MAX_REQUESTS} model requests for one summary; stopped"
                )));
            }
            request.model.get_or_insert_with(|| info.model.clone());
            if info.max_output > 0 {
                request.max_tokens = Some(
                    request
                        .max_tokens
                        .map_or(info.max_output, |m| m.min(info.max_output)),
                );
            }
            let prompt_sha256 = hex(&Sha256::digest(
                serde_json::to_vec(&request).unwrap_or_default(),
            ));
            let started = Instant::now();
            let result = provider.complete(&request).await;
            let duration = started.elapsed();
            let result = result.map_err(to_plugin_error);
            let record = RequestRecord {
                prompt_sha256,
                model: result
                    .as_ref()
                    .map(|c| c.model.clone())
                    .unwrap_or_else(|_| info.model.clone()),
                input_tokens: result.as_ref().map(|c| c.usage.input_tokens).unwrap_or(0),
                output_tokens: result.as_ref().map(|c| c.usage.output_tokens).unwrap_or(0),
                duration_ms: duration.as_millis() as u64,
                truncated: result.as_ref().is_ok_and(|c| c.truncated),
                error: result.as_ref().err().map(crate::plugins::error::describe),
            };
            let (done, expected) = {
                let mut r = recorded.lock().unwrap_or_else(|p| p.into_inner());
                r.requests.push(record.clone());
                (
                    r.requests.len(),
                    r.plan.as_ref().map(|p| p.expected_requests),
                )
            };
            if let Some(p) = &progress {
                p(Progress::Request {
                    done,
                    expected,
                    output_tokens: record.output_tokens,
                    secs: duration.as_secs_f64(),
                });
            }
            result
        })
    }
}

/// A provider failure, as the template sees it: the provider's own typed error when it gave
/// one (so a template can re-plan on `context-length-exceeded`), else what the host saw. A
/// refused connection gets how to start the server.
fn to_plugin_error(e: crate::plugins::Error) -> PluginError {
    match e {
        crate::plugins::Error::Plugin { id, error } => match error {
            PluginError::Other(m) => PluginError::Other(format!("{id}: {m}")),
            PluginError::Network(m) => match not_running_hint(&id, &m) {
                Some(hint) => PluginError::Network(format!("{m}; {hint}")),
                None => PluginError::Network(m),
            },
            other => other,
        },
        crate::plugins::Error::Timeout { id, secs } => PluginError::Network(format!(
            "provider `{id}` did not answer within {secs} s (its limits.call_timeout_secs)"
        )),
        other => PluginError::Other(other.to_string()),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A refused connection means no server listens where the provider points (a local model
/// server not started), not that anything was denied: say which server, and how to start it.
pub fn not_running_hint(id: &str, message: &str) -> Option<String> {
    if !message.contains("connection refused") {
        return None;
    }
    Some(match id {
        "ollama" => "Ollama is not running: start it with `ollama serve` (or point base_url under \
            [plugins.ollama] in config.toml at where it runs)"
            .to_string(),
        _ => format!(
            "nothing listens at the endpoint of `{id}`: start its server, or fix base_url under \
             [plugins.{id}] in config.toml"
        ),
    })
}

/// `--provider X` in an offline run: the two contradict each other (a provider sends the
/// transcript over the network), so the run is refused before any work, naming both.
pub fn refuse_offline_provider(offline: bool, named: Option<&str>) -> Result<(), String> {
    match named {
        Some(p) if offline && p != "none" => Err(format!(
            "--provider {p} conflicts with offline mode (--offline, or `offline = true` in \
             config.toml): a provider sends the transcript over the network, which this run may \
             not use. Drop --provider {p} for an offline summary, or run without offline mode"
        )),
        _ => Ok(()),
    }
}

/// The provider a summary uses in this run: the command line's, else config.toml's (`none`:
/// no provider). Offline, a provider from config.toml is set aside, and the user told so: the
/// summary is made by an offline template instead of failing at the provider's first request.
pub fn provider_for_run(
    offline: bool,
    named: Option<&str>,
    configured: Option<&str>,
) -> Result<Option<String>, String> {
    refuse_offline_provider(offline, named)?;
    match named.or(configured).filter(|p| *p != "none") {
        Some(p) if offline => {
            tracing::warn!(
                "offline: not using provider `{p}` ([summary] provider in config.toml); the summary \
                 is made offline by `{}`",
                super::OFFLINE_TEMPLATE
            );
            Ok(None)
        }
        chosen => Ok(chosen.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 16.2: offline with a cloud provider in config.toml produced no summary at all.
    #[test]
    fn offline_sets_a_configured_provider_aside_and_refuses_a_named_one() {
        assert_eq!(
            provider_for_run(true, None, Some("fireworks")),
            Ok(None),
            "offline must not use the configured provider"
        );
        assert_eq!(
            provider_for_run(false, None, Some("fireworks")),
            Ok(Some("fireworks".into()))
        );
        assert_eq!(
            provider_for_run(false, Some("groq"), Some("fireworks")),
            Ok(Some("groq".into()))
        );
        assert_eq!(
            provider_for_run(true, Some("none"), Some("fireworks")),
            Ok(None)
        );
        let err = provider_for_run(true, Some("fireworks"), None).unwrap_err();
        assert!(
            err.contains("--provider fireworks conflicts with offline mode"),
            "{err}"
        );
    }
}
