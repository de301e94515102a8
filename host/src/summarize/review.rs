//! What a summary would send, and where, before it is made: the app shows this page before the
//! user confirms. It resolves the template and provider as [`super::summarize`] does and runs
//! the same data-policy check, but sends nothing and calls no provider.

use super::{
    Choice, OFFLINE_TEMPLATE, SummarizeError, check_policy, config_err, load_template, read_config,
    route,
};
use crate::plugins::manifest::DataPolicyDecl;
use crate::plugins::{Registry, Runtime};
use serde::Serialize;

/// The provider a summary would use, as the user should see it before sending.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderReview {
    pub id: String,
    pub name: String,
    pub version: String,
    /// The model named on the command line or in config.toml; `None`: the provider's default.
    pub model: Option<String>,
    /// Retention, training, region: what the provider's manifest declares.
    pub data_policy: Option<DataPolicyDecl>,
    /// Where the transcript may go: origins declared AND granted.
    pub origins: Vec<String>,
    /// Every origin is this machine.
    pub local: bool,
}

/// The plan for one summary and the data policy's verdict on it.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The template plugin that would run.
    pub template: String,
    /// The template needs a language model (and so a provider).
    pub uses_llm: bool,
    /// `None` when nothing would leave the machine.
    pub provider: Option<ProviderReview>,
    /// Why config.toml's `[policy]` refuses this provider for this meeting; `None`: allowed.
    pub refusal: Option<String>,
    /// The rule that refuses, as written in config.toml.
    pub refused_by: Option<String>,
}

/// Reviews `choice` for a meeting with `labels`. Errors are what the summary itself would fail
/// with before sending (a template or provider that is not installed, a broken config.toml).
pub async fn review(
    runtime: &Runtime,
    registry: &Registry,
    choice: &Choice,
    labels: &[String],
) -> Result<Review, SummarizeError> {
    let (policy, config) = read_config(registry)?;
    let offline = runtime.offline();
    let provider_id = route::provider_for_run(
        offline,
        choice.provider.as_deref(),
        config.provider.as_deref(),
    )
    .map_err(config_err)?;
    let (template, _) = load_template(runtime, registry, choice, &config, provider_id.is_some())?;
    let info = template.template_info().await?;
    let mut review = Review {
        template: template.id().to_string(),
        uses_llm: info.uses_llm,
        provider: None,
        refusal: None,
        refused_by: None,
    };
    if !info.uses_llm {
        return Ok(review);
    }
    if offline {
        return Err(config_err(format!(
            "template `{}` needs a language model, which an offline run cannot reach; choose \
             `{OFFLINE_TEMPLATE}`, or run minutes without offline mode",
            info.id
        )));
    }
    let Some(id) = provider_id else {
        return Err(config_err(format!(
            "template `{}` needs a language model, and no provider is chosen: pick one, or set \
             `[summary] provider` in config.toml",
            info.id
        )));
    };
    match check_policy(registry, &policy, &id, labels) {
        Ok(()) => {}
        Err(SummarizeError::Refused(r)) => {
            review.refused_by = Some(r.rule.clone());
            review.refusal = Some(r.to_string());
        }
        Err(e) => return Err(e),
    }
    let manifest = registry.manifest(&id)?;
    let entry = registry.get(&id)?;
    let grant = registry.net_grant(&manifest, entry)?;
    let origins = grant.allowlist.entries();
    review.provider = Some(ProviderReview {
        id: id.clone(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        model: choice.model.clone().or(config.model.clone()),
        data_policy: manifest.data_policy.clone(),
        origins: origins.iter().map(|o| o.canonical()).collect(),
        local: origins
            .iter()
            .all(crate::plugins::net::allowlist::AllowedOrigin::is_loopback),
    });
    Ok(review)
}
