//! `minutes providers`: which summary providers are installed, what each does with the data
//! (its declared policy), where the data goes (origins declared and granted), and a one-line
//! check that a key or endpoint works.

use crate::model::{CompletionRequest, Message, ResponseFormat, Role};
use crate::plugins::manifest::{DataPolicyDecl, Kind, Manifest, Tristate};
use crate::plugins::net::allowlist::{Allowlist, origin_of};
use crate::plugins::registry::LockEntry;
use crate::plugins::{Registry, Runtime};
use crate::secrets::SecretStore;
use anyhow::Context as _;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What a provider is sent, whichever it is: the host never hands a provider audio.
pub const SENDS: &str = "transcript text (never audio)";

#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  minutes providers                      # what each provider does with your transcripts\n  \
        minutes providers --json\n  minutes providers check fireworks      # is the key set and accepted?\n  \
        minutes providers check ollama --model qwen2.5:0.5b\n\n\
        Set a provider's key with `minutes secret set <id> api-key`; its settings (base_url, model, \
        context_window, max_output, stream, timeout_secs, max_retries) go under [plugins.<id>] in config.toml."
)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    command: Option<ProvidersCommand>,
    /// Print the list as JSON
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum ProvidersCommand {
    /// List installed providers: data policy, where data goes, key, default model, context window
    List {
        #[arg(long)]
        json: bool,
    },
    /// Send a one-line prompt through a provider and show model, latency and tokens
    #[command(after_help = "Examples:\n  minutes providers check fireworks\n  \
        minutes providers check openai-compatible --model qwen2.5-coder:0.5b --json\n\n\
        The prompt is one line of test text; no meeting data is sent. The request is recorded in \
        the egress ledger (`minutes audit`).")]
    Check {
        /// Provider plugin id (see `minutes providers`)
        id: String,
        /// Model to ask [default: the provider's configured model]
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &super::Context, args: ProvidersArgs) -> anyhow::Result<()> {
    match args.command {
        None => list(ctx, args.json),
        Some(ProvidersCommand::List { json }) => list(ctx, json || args.json),
        Some(ProvidersCommand::Check { id, model, json }) => check(ctx, &id, model, json),
    }
}

/// Network calls (a provider's `info` may ask a local server for its models) need tokio's I/O
/// driver as well as its timer.
fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

#[derive(Serialize)]
struct ModelRow {
    id: String,
    context_window: u32,
    max_output: u32,
}

#[derive(Serialize)]
struct SecretRow {
    name: String,
    header: String,
    granted: bool,
    /// Where the value comes from (`keyring`, `file`, `env`), or null when it is not set.
    source: Option<&'static str>,
}

#[derive(Serialize)]
struct ProviderRow {
    id: String,
    name: String,
    version: String,
    default_model: Option<String>,
    context_window: Option<u32>,
    max_output: Option<u32>,
    models: Vec<ModelRow>,
    base_url: Option<String>,
    /// Where data may go: origins declared AND granted.
    origins: Vec<String>,
    /// Declared but not granted (reached only after `minutes plugin allow`).
    not_granted: Vec<String>,
    /// The user chooses the endpoint (`network.configurable`).
    configurable: bool,
    /// Every origin it may reach is this machine.
    local: bool,
    sends: &'static str,
    secrets: Vec<SecretRow>,
    data_policy: Option<DataPolicyDecl>,
    /// Problems the user should fix (an ungranted base_url, a provider that would not start).
    warnings: Vec<String>,
}

fn effective_origins(m: &Manifest, entry: &LockEntry) -> anyhow::Result<Allowlist> {
    let mut declared = m.network.origins.clone();
    if m.network.configurable {
        declared.extend(entry.granted_origins.iter().cloned());
    }
    Ok(Allowlist::effective(&declared, &entry.granted_origins)?)
}

fn provider_row(
    registry: &Registry,
    runtime: &Runtime,
    entry: &LockEntry,
) -> anyhow::Result<ProviderRow> {
    let m = registry.manifest(&entry.id)?;
    let allow = effective_origins(&m, entry)?;
    let origins: Vec<String> = allow.entries().iter().map(|o| o.canonical()).collect();
    let not_granted = m
        .network
        .origins
        .iter()
        .filter(|o| {
            crate::plugins::net::allowlist::AllowedOrigin::parse(o)
                .is_ok_and(|p| !origins.contains(&p.canonical()))
        })
        .cloned()
        .collect();
    let store = SecretStore::new(registry.home().secrets_dir());
    let mut secrets = Vec::new();
    for s in &m.secrets {
        secrets.push(SecretRow {
            name: s.name.clone(),
            header: s.header.clone(),
            granted: entry.granted_secrets.contains(&s.name),
            source: store.source(&m.id, &s.name)?,
        });
    }
    let config = registry.effective_config(&m)?;
    let base_url = match config.get("base_url") {
        Some(crate::plugins::manifest::ConfigValue::Text(s)) if !s.trim().is_empty() => {
            Some(s.trim().to_string())
        }
        _ => None,
    };
    let mut warnings = Vec::new();
    if let Some(url) = &base_url {
        match url::Url::parse(url) {
            Ok(u) if allow.check(&u).is_err() => warnings.push(format!(
                "base_url {url} is not granted: minutes plugin allow {} {}",
                m.id,
                origin_of(&u)
            )),
            Ok(_) => {}
            Err(e) => warnings.push(format!(
                "base_url {url:?} is not a URL ({e}); fix [plugins.{}] in config.toml",
                m.id
            )),
        }
    } else if m.network.configurable && m.config.contains_key("base_url") {
        warnings.push(format!(
            "base_url is not set: set it under [plugins.{}] in config.toml",
            m.id
        ));
    }
    if origins.is_empty() {
        warnings.push(format!(
            "no origin is granted: it can reach nothing (minutes plugin allow {} <origin>)",
            m.id
        ));
    }
    // A configurable endpoint may need no key (a local server); a service's preset always does.
    for s in secrets
        .iter()
        .filter(|s| s.granted && s.source.is_none() && !m.network.configurable)
    {
        warnings.push(format!(
            "secret `{}` is not set: minutes secret set {} {}",
            s.name, m.id, s.name
        ));
    }
    let mut row = ProviderRow {
        id: m.id.clone(),
        name: m.name.clone(),
        version: m.version.clone(),
        default_model: None,
        context_window: None,
        max_output: None,
        models: Vec::new(),
        base_url,
        local: !origins.is_empty() && allow.entries().iter().all(|o| o.is_loopback()),
        origins,
        not_granted,
        configurable: m.network.configurable,
        sends: SENDS,
        secrets,
        data_policy: m.data_policy.clone(),
        warnings,
    };
    // What the host plans with: the provider's own `info` (models and context windows).
    let info = registry
        .load(runtime, &m.id)
        .map_err(anyhow::Error::from)
        .and_then(|p| block_on(p.provider_info())?.map_err(Into::into));
    match info {
        Ok(info) => {
            let default = info.models.iter().find(|x| x.id == info.default_model);
            row.context_window = default.map(|x| x.context_window);
            row.max_output = default.map(|x| x.max_output);
            row.default_model = Some(info.default_model);
            row.models = info
                .models
                .into_iter()
                .map(|x| ModelRow {
                    id: x.id,
                    context_window: x.context_window,
                    max_output: x.max_output,
                })
                .collect();
        }
        Err(e) => row
            .warnings
            .push(format!("its info could not be read: {e:#}")),
    }
    Ok(row)
}

fn list(ctx: &super::Context, json: bool) -> anyhow::Result<()> {
    let registry = Registry::open(ctx.home.clone())?;
    let providers: Vec<&LockEntry> = registry
        .installed()
        .iter()
        .filter(|e| e.kind == Kind::Provider)
        .collect();
    let runtime = ctx.runtime()?;
    let mut rows = Vec::new();
    for entry in providers {
        rows.push(
            provider_row(&registry, &runtime, entry)
                .with_context(|| format!("provider `{}`", entry.id))?,
        );
    }
    if json {
        return super::print_json(&rows);
    }
    if rows.is_empty() {
        println!(
            "No provider plugins installed: summaries use the offline `extractive` template.\n\
             Install one with `minutes plugin install <package>` (first-party packages: `cargo xtask plugins`)."
        );
        return Ok(());
    }
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print_row(r);
    }
    Ok(())
}

fn yes_no(t: Tristate) -> &'static str {
    match t {
        Tristate::Yes => "yes",
        Tristate::No => "no",
        Tristate::Unknown => "unknown",
    }
}

fn print_row(r: &ProviderRow) {
    println!(
        "{} {} — {}{}",
        r.id,
        r.version,
        r.name,
        if r.local { " (local)" } else { "" }
    );
    match (&r.default_model, r.context_window) {
        (Some(m), Some(c)) => println!(
            "  model:           {m} (context {c} tokens, answers up to {} tokens)",
            r.max_output.unwrap_or(0)
        ),
        (Some(m), None) => println!("  model:           {m}"),
        _ => println!("  model:           unknown"),
    }
    if r.models.len() > 1 {
        let others: Vec<&str> = r
            .models
            .iter()
            .map(|m| m.id.as_str())
            .filter(|m| Some(*m) != r.default_model.as_deref())
            .collect();
        println!("  also available:  {}", others.join(", "));
    }
    let to = if r.origins.is_empty() {
        "nowhere yet (no origin granted)".to_string()
    } else {
        r.origins.join(", ")
    };
    println!("  sends:           {} to {to}", r.sends);
    if let Some(u) = &r.base_url {
        println!("  endpoint:        {u}");
    }
    for s in &r.secrets {
        let state = match s.source {
            Some(src) => format!("set ({src})"),
            None if r.configurable => format!(
                "not set (needed only if your endpoint wants a key: minutes secret set {} {})",
                r.id, s.name
            ),
            None => format!("not set — minutes secret set {} {}", r.id, s.name),
        };
        println!("  secret:          {} {state}", s.name);
    }
    match &r.data_policy {
        Some(p) => {
            println!("  retention:       {}", p.retention);
            println!(
                "  trains on data:  {}   zero retention: available {}, default {}",
                yes_no(p.trains_on_data),
                yes_no(p.zero_retention_available),
                yes_no(p.zero_retention_default)
            );
            println!(
                "  region:          {}",
                p.region.as_deref().unwrap_or("unknown")
            );
            if !p.certifications.is_empty() {
                println!("  certifications:  {}", p.certifications.join(", "));
            }
            let verified = p
                .last_verified
                .as_deref()
                .map(|d| format!(" (verified {d})"))
                .unwrap_or_default();
            match p.sources.is_empty() {
                true => println!("  sources:         none: nothing here is verified"),
                false => println!("  sources:         {}{verified}", p.sources.join(", ")),
            }
        }
        None => println!("  data policy:     not declared"),
    }
    for w in &r.warnings {
        println!("  warning:         {w}");
    }
}

#[derive(Serialize)]
struct CheckResult {
    provider: String,
    version: String,
    model: String,
    latency_ms: u64,
    input_tokens: u32,
    output_tokens: u32,
    truncated: bool,
    reply: String,
}

fn check(ctx: &super::Context, id: &str, model: Option<String>, json: bool) -> anyhow::Result<()> {
    let registry = Registry::open(ctx.home.clone())?;
    let m = registry.manifest(id)?;
    if m.kind != Kind::Provider {
        anyhow::bail!(
            "`{id}` is {}, not a provider (see `minutes providers`)",
            crate::plugins::error::a(m.kind)
        );
    }
    let runtime = ctx.runtime()?;
    let plugin = registry.load(&runtime, id)?;
    let request = CompletionRequest {
        messages: vec![
            Message {
                role: Role::System,
                content: "This is a connectivity check. Answer with one word.".into(),
            },
            Message {
                role: Role::User,
                content: "Reply with the single word: ready".into(),
            },
        ],
        model: model.clone(),
        max_tokens: Some(16),
        temperature: Some(0.0),
        response_format: ResponseFormat::Text,
    };
    let spinner = spinner(&format!(
        "asking {id}{}…",
        model
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default()
    ));
    let started = Instant::now();
    let result = block_on(plugin.complete(&request))?;
    let latency = started.elapsed();
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let completion = match result {
        Ok(c) => c,
        Err(e) => {
            let message = format!("provider `{id}` did not pass the check: {e}");
            return Err(
                match crate::summarize::route::not_running_hint(id, &message) {
                    Some(hint) => anyhow::anyhow!("{message}\n  {hint}"),
                    None => anyhow::anyhow!(message),
                },
            );
        }
    };
    let out = CheckResult {
        provider: id.to_string(),
        version: m.version.clone(),
        model: completion.model,
        latency_ms: latency.as_millis() as u64,
        input_tokens: completion.usage.input_tokens,
        output_tokens: completion.usage.output_tokens,
        truncated: completion.truncated,
        reply: completion.text,
    };
    if json {
        return super::print_json(&out);
    }
    println!(
        "ok: {} answered with model {} in {} ms",
        out.provider, out.model, out.latency_ms
    );
    println!(
        "  tokens: {} in, {} out{}",
        out.input_tokens,
        out.output_tokens,
        if out.truncated {
            " (stopped at the limit)"
        } else {
            ""
        }
    );
    println!("  reply:  {}", out.reply.trim());
    Ok(())
}

/// A spinner on stderr while waiting for the service, when stderr is a terminal.
fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
