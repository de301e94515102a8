//! Summaries: a template plugin turns a transcript into a summary, calling the provider the
//! user chose through the host. The host picks both (flags, then `[summary]` in config.toml),
//! checks the data policy before anything is sent, and records where the summary came from.

pub mod ask;
pub mod grounding;
pub mod input;
pub mod policy;
pub mod review;
pub mod route;

use crate::model::{Document, LlmInfo, Summary};
use crate::plugins::host_api::LlmHandle;
use crate::plugins::manifest::{ConfigValue, Kind};
use crate::plugins::{LoadedPlugin, Registry, Runtime};
use policy::{Policy, ProviderFacts, Refusal};
use route::{PlanRecord, ProgressFn, ProviderRoute, RequestRecord};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;

/// The template used when no provider is configured: it needs no language model.
pub const OFFLINE_TEMPLATE: &str = "template-extractive";
/// The template used with a provider when none is named.
pub const DEFAULT_LLM_TEMPLATE: &str = "template-standard";
/// The generic plugin that runs declarative template files.
pub const DECLARATIVE_TEMPLATE: &str = "template-custom";
/// Context window assumed when neither the provider nor config.toml declares one.
const FALLBACK_CONTEXT: u32 = 4096;
const FALLBACK_MAX_OUTPUT: u32 = 1024;

/// What the user asked for on the command line; unset fields come from config.toml.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// A template id, its short name (`standard` for `template-standard`), or a path to a
    /// declarative template file (.json or .toml).
    pub template: Option<String>,
    /// A provider id, or `none`.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Output language, e.g. `de`; `auto`: the transcript's.
    pub language: Option<String>,
}

/// `[summary]` in config.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryConfig {
    pub template: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub language: Option<String>,
    /// Overrides the provider's declared context window (tokens), e.g. for a local server
    /// started with a smaller context.
    pub context_window: Option<u32>,
    pub max_output: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginRef {
    pub id: String,
    pub version: String,
}

/// Where a summary came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub template: PluginRef,
    /// sha256 of the declarative template file, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_definition_sha256: Option<String>,
    pub provider: Option<PluginRef>,
    pub model: Option<String>,
    pub context_window: Option<u32>,
    pub plan: Option<PlanRecord>,
    pub requests: Vec<RequestRecord>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub duration_ms: u64,
    /// RFC 3339.
    pub created_at: String,
}

pub struct Summarized {
    pub summary: Summary,
    pub provenance: Provenance,
}

#[derive(Debug, thiserror::Error)]
pub enum SummarizeError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Plugin(#[from] crate::plugins::Error),
}

fn config_err(m: impl Into<String>) -> SummarizeError {
    SummarizeError::Config(m.into())
}

/// The `[policy]` and `[summary]` tables of config.toml.
pub fn read_config(registry: &Registry) -> Result<(Policy, SummaryConfig), SummarizeError> {
    let path = registry.home().config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(config_err(format!("cannot read {}: {e}", path.display()))),
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        config_err(format!(
            "{}: {}",
            path.display(),
            crate::plugins::manifest::toml_message(&text, &e)
        ))
    })?;
    let policy =
        Policy::from_config(&table).map_err(|e| config_err(format!("{}: {e}", path.display())))?;
    let summary = match table.get("summary") {
        None => SummaryConfig::default(),
        Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
            config_err(format!("{}: [summary]: {}", path.display(), e.message()))
        })?,
    };
    Ok((policy, summary))
}

/// Makes a summary of `doc`.
pub async fn summarize(
    runtime: &Runtime,
    registry: &Registry,
    choice: &Choice,
    doc: &Document,
    progress: Option<ProgressFn>,
) -> Result<Summarized, SummarizeError> {
    let started = Instant::now();
    let (policy, config) = read_config(registry)?;
    let offline = runtime.offline();
    let provider_id = route::provider_for_run(
        offline,
        choice.provider.as_deref(),
        config.provider.as_deref(),
    )
    .map_err(config_err)?;
    let (mut template, mut definition_sha) =
        load_template(runtime, registry, choice, &config, provider_id.is_some())?;
    let mut info = template.template_info().await?;
    if offline && info.uses_llm {
        if choice.template.is_some() {
            return Err(config_err(format!(
                "template `{}` needs a language model, which an offline run cannot reach; use \
                 --template extractive, or run without offline mode",
                info.id
            )));
        }
        tracing::warn!(
            "offline: template `{}` ([summary] template in config.toml) needs a language model; \
             the summary is made by `{OFFLINE_TEMPLATE}` instead",
            info.id
        );
        let offline_choice = Choice {
            template: Some(OFFLINE_TEMPLATE.to_string()),
            ..choice.clone()
        };
        (template, definition_sha) =
            load_template(runtime, registry, &offline_choice, &config, false)?;
        info = template.template_info().await?;
    }
    let template_ref = PluginRef {
        id: template.id().to_string(),
        version: template.version().to_string(),
    };
    let mut provenance = Provenance {
        template: template_ref,
        template_definition_sha256: definition_sha,
        provider: None,
        model: None,
        context_window: None,
        plan: None,
        requests: Vec::new(),
        input_tokens: 0,
        output_tokens: 0,
        duration_ms: 0,
        created_at: crate::time::rfc3339(crate::time::now_secs()),
    };
    let template = template.for_meeting(&doc.metadata.id);
    if !info.uses_llm {
        // Nothing leaves the machine: no provider is loaded, no policy applies.
        let mut summary = template.summarize(&doc.transcript, &doc.metadata).await?;
        grounding::ground_summary(&mut summary, &doc.transcript);
        provenance.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(Summarized {
            summary,
            provenance,
        });
    }
    let Some(provider_id) = provider_id else {
        return Err(config_err(format!(
            "template `{}` needs a language model, and no provider is configured: pass `--provider <id>` \
             (see `minutes providers`), set `[summary] provider` in config.toml, or use `--template extractive`, \
             which works offline",
            info.id
        )));
    };
    let (provider, llm_info) = load_provider(
        runtime,
        registry,
        &policy,
        &config,
        choice,
        &provider_id,
        &doc.metadata.labels,
        &doc.metadata.id,
    )
    .await?;
    provenance.provider = Some(PluginRef {
        id: provider.id().to_string(),
        version: provider.version().to_string(),
    });
    provenance.model = Some(llm_info.model.clone());
    provenance.context_window = Some(llm_info.context_window);
    let route = ProviderRoute::new(provider, llm_info, progress);
    let result = template
        .with_llm(Some(LlmHandle(route.clone())))
        .summarize(&doc.transcript, &doc.metadata)
        .await;
    provenance.plan = route.plan();
    provenance.requests = route.requests();
    provenance.input_tokens = provenance
        .requests
        .iter()
        .map(|r| u64::from(r.input_tokens))
        .sum();
    provenance.output_tokens = provenance
        .requests
        .iter()
        .map(|r| u64::from(r.output_tokens))
        .sum();
    provenance.duration_ms = started.elapsed().as_millis() as u64;
    let mut summary = result?;
    // Checked before anything stores or shows it: a model's citation is a claim, not a fact.
    grounding::ground_summary(&mut summary, &doc.transcript);
    Ok(Summarized {
        summary,
        provenance,
    })
}

/// The template plugin for `choice`, with this run's settings applied.
pub(crate) fn load_template(
    runtime: &Runtime,
    registry: &Registry,
    choice: &Choice,
    config: &SummaryConfig,
    have_provider: bool,
) -> Result<(LoadedPlugin, Option<String>), SummarizeError> {
    let named = choice.template.clone().or(config.template.clone());
    let (id, definition) = match named {
        Some(name) if looks_like_file(&name) => {
            let text = std::fs::read_to_string(&name)
                .map_err(|e| config_err(format!("cannot read the template file {name}: {e}")))?;
            (DECLARATIVE_TEMPLATE.to_string(), Some(text))
        }
        Some(name) => (resolve_id(registry, &name, "template-")?, None),
        None if have_provider => (DEFAULT_LLM_TEMPLATE.to_string(), None),
        None => (OFFLINE_TEMPLATE.to_string(), None),
    };
    let manifest = registry.manifest(&id).map_err(|_| {
        // `--template sales-call` names the plugin template-sales-call: its package is named so.
        let plugin = match id.starts_with("template-") {
            true => id.clone(),
            false => format!("template-{id}"),
        };
        config_err(format!(
            "template `{id}` is not installed: install the plugin `{plugin}` with \
             `minutes plugin install {plugin}-<version>.tar.gz` (first-party packages: \
             `cargo xtask plugins` writes them to target/plugins/)"
        ))
    })?;
    if manifest.kind != Kind::Template {
        return Err(config_err(format!(
            "`{id}` is {}, not a template",
            crate::plugins::error::a(manifest.kind)
        )));
    }
    let mut template = registry.load(runtime, &id)?;
    let mut sha = None;
    if let Some(text) = definition {
        if !manifest.config.contains_key("definition") {
            return Err(config_err(format!(
                "plugin `{id}` cannot run template files (it has no `definition` setting)"
            )));
        }
        sha = Some(route::hex(&Sha256::digest(text.as_bytes())));
        template = template.with_config("definition", ConfigValue::Text(text));
    }
    if let Some(lang) = choice.language.clone().or(config.language.clone()) {
        match manifest.config.contains_key("language") {
            true => template = template.with_config("language", ConfigValue::Text(lang)),
            false => tracing::warn!(
                "template `{id}` has no output-language setting; --language is ignored"
            ),
        }
    }
    Ok((template, sha))
}

fn looks_like_file(name: &str) -> bool {
    let p = Path::new(name);
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("json" | "toml")
    ) || name.contains(std::path::MAIN_SEPARATOR)
}

/// `standard` → `template-standard` when only the latter is installed.
fn resolve_id(registry: &Registry, name: &str, prefix: &str) -> Result<String, SummarizeError> {
    if registry.get(name).is_ok() {
        return Ok(name.to_string());
    }
    let prefixed = format!("{prefix}{name}");
    if registry.get(&prefixed).is_ok() {
        return Ok(prefixed);
    }
    Ok(name.to_string())
}

/// Whether the data policy lets provider `id` see a meeting with `labels` (and that `id` is an
/// installed provider).
pub(crate) fn check_policy(
    registry: &Registry,
    policy: &Policy,
    id: &str,
    labels: &[String],
) -> Result<(), SummarizeError> {
    let entry = registry.get(id).map_err(|_| {
        config_err(format!("provider `{id}` is not installed (see `minutes providers` and `minutes plugin install`)"))
    })?;
    let manifest = registry.manifest(id)?;
    if manifest.kind != Kind::Provider {
        return Err(config_err(format!(
            "`{id}` is {}, not a provider",
            crate::plugins::error::a(manifest.kind)
        )));
    }
    let grant = registry.net_grant(&manifest, entry)?;
    let facts = ProviderFacts {
        id,
        policy: manifest.data_policy.as_ref(),
        origins: grant.allowlist.entries(),
    };
    policy.check(labels, &facts)?;
    Ok(())
}

/// The provider plugin, after the data policy allowed it for a meeting with `labels`, and what
/// the template is told about its model. `ledger_meeting` is what the egress ledger records.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn load_provider(
    runtime: &Runtime,
    registry: &Registry,
    policy: &Policy,
    config: &SummaryConfig,
    choice: &Choice,
    id: &str,
    labels: &[String],
    ledger_meeting: &str,
) -> Result<(LoadedPlugin, LlmInfo), SummarizeError> {
    check_policy(registry, policy, id, labels)?;
    let provider = registry.load(runtime, id)?.for_meeting(ledger_meeting);
    let info = provider.provider_info().await?;
    let model = choice
        .model
        .clone()
        .or(config.model.clone())
        .unwrap_or_else(|| info.default_model.clone());
    let declared = info
        .models
        .iter()
        .find(|m| m.id == model)
        .or_else(|| info.models.iter().find(|m| m.id == info.default_model));
    let context_window = config.context_window.or(declared.map(|m| m.context_window)).filter(|&c| c > 0).unwrap_or_else(|| {
        tracing::warn!("provider `{id}` declares no context window for `{model}`; assuming {FALLBACK_CONTEXT} tokens ([summary] context_window sets it)");
        FALLBACK_CONTEXT
    });
    let max_output = config
        .max_output
        .or(declared.map(|m| m.max_output))
        .filter(|&m| m > 0)
        .unwrap_or(FALLBACK_MAX_OUTPUT);
    Ok((
        provider,
        LlmInfo {
            provider: id.to_string(),
            model,
            context_window,
            max_output: max_output.min(context_window / 2),
        },
    ))
}
