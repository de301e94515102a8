use crate::plugins::manifest::{Manifest, Tristate};
use crate::plugins::package::Package;
use crate::plugins::registry::{
    CapabilityDiff, Grant, LockEntry, header_line, secret_destinations,
};
use crate::plugins::{Error, Home, Registry};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum PluginCommand {
    /// Install or update a plugin from a folder or a .tar.gz package
    #[command(
        after_help = "The package is checked before anything is installed: its manifest, the \
        component's sha256, and that the component imports only what its kind may use.\n\
        A plugin that asks for network origins or secrets is installed only with your consent \
        (asked on a terminal, or given with --yes).\n\n\
        Examples:\n  minutes plugin install ./export-obsidian-0.1.0.tar.gz\n  \
        minutes plugin install target/plugins/fireworks --grant https://api.fireworks.ai"
    )]
    Install {
        /// Package folder or .tar.gz containing plugin.toml and the component
        package: PathBuf,
        /// Grant the network origins and secrets the plugin asks for without asking
        #[arg(long, short)]
        yes: bool,
        /// Grant only this origin (repeatable) and the secrets that go only to it, without asking
        #[arg(long, value_name = "ORIGIN", conflicts_with = "yes")]
        grant: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List installed plugins
    #[command(
        after_help = "Examples:\n  minutes plugin list\n  minutes plugin list --json | jq -r '.[].id'"
    )]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's kind, version, hosts, secrets, limits, settings and data policy
    #[command(
        after_help = "Examples:\n  minutes plugin info export-markdown\n  minutes plugin info fireworks --json"
    )]
    Info {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Let a plugin reach one more origin it declares (or, for a plugin whose endpoint you
    /// configure, any origin you choose)
    #[command(after_help = "Example:\n  minutes plugin allow custom-openai http://127.0.0.1:8080")]
    Allow { id: String, origin: String },
    /// Take back an origin granted to a plugin
    #[command(after_help = "Example:\n  minutes plugin deny custom-openai http://127.0.0.1:8080")]
    Deny { id: String, origin: String },
    /// Write a new plugin crate: an exporter, template, provider or networked-exporter
    New(super::plugin_author::NewArgs),
    /// Build a plugin crate for wasm32-wasip2 and package it (sha256 filled in)
    Build(super::plugin_author::BuildArgs),
    /// Install a plugin crate in dev mode and rebuild and reload it whenever its sources change
    Dev(super::plugin_author::DevArgs),
    /// Remove an installed plugin (its files, compiled code, grants and secrets)
    #[command(after_help = "Example:\n  minutes plugin remove export-obsidian")]
    Remove {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &super::Context, cmd: PluginCommand) -> anyhow::Result<()> {
    let home = &ctx.home;
    match cmd {
        PluginCommand::Install {
            package,
            yes,
            grant,
            json,
        } => install(ctx, package, yes, grant, json),
        PluginCommand::Allow { id, origin } => {
            let mut registry = Registry::open(home.clone())?;
            let allowed = registry.allow(&id, &origin)?;
            let o = &allowed.origin;
            match allowed.newly {
                true => println!("plugin `{id}` may now reach {o}"),
                false => println!("plugin `{id}` was already allowed to reach {o}"),
            }
            // Never a secret granted silently: say which ones now go to this origin.
            let store = crate::secrets::SecretStore::new(home.secrets_dir());
            for (name, header) in &allowed.secrets {
                let state = match store.source(&id, name)? {
                    Some(_) => String::new(),
                    None => format!(" (not set yet: minutes secret set {id} {name})"),
                };
                println!(
                    "  its secret `{name}` will be sent to {o} as the header `{header}`{state}; \
                     take it back with: minutes plugin deny {id} {o}"
                );
            }
            Ok(())
        }
        PluginCommand::Deny { id, origin } => {
            let mut registry = Registry::open(home.clone())?;
            if registry.deny(&id, &origin)? {
                println!("plugin `{id}` may no longer reach {origin}");
            } else {
                println!("plugin `{id}` had not been granted {origin}; nothing changed");
            }
            Ok(())
        }
        PluginCommand::New(args) => super::plugin_author::new(ctx, args),
        PluginCommand::Build(args) => super::plugin_author::build(args),
        PluginCommand::Dev(args) => super::plugin_author::dev(ctx, args),
        PluginCommand::List { json } => list(home, json),
        PluginCommand::Info { id, json } => info(home, &id, json),
        PluginCommand::Remove { id, json } => {
            let mut registry = Registry::open(home.clone())?;
            let entry = registry.remove(None, &id)?;
            if json {
                super::print_json(&entry)?;
            } else {
                println!("removed {} {}", entry.id, entry.version);
            }
            Ok(())
        }
    }
}

fn install(
    ctx: &super::Context,
    path: PathBuf,
    yes: bool,
    origins: Vec<String>,
    json: bool,
) -> anyhow::Result<()> {
    let home = &ctx.home;
    let pkg = Package::open(&path)?;
    let mut registry = Registry::open(home.clone())?;
    let diff = registry.diff(&pkg);
    let m = &pkg.manifest;
    let grant = choose_grant(m, &diff, yes, origins)?;
    let runtime = ctx.runtime()?;
    let entry = registry.install(&runtime, &pkg, &grant)?;
    if json {
        return super::print_json(&entry);
    }
    report_install(home, m, &diff, &entry)
}

/// What to grant of what a package newly asks for: `--grant` origins, everything with `--yes`
/// or a "y" on the terminal, nothing new when it asks for nothing new; else an error saying how.
pub(crate) fn choose_grant(
    m: &Manifest,
    diff: &CapabilityDiff,
    yes: bool,
    origins: Vec<String>,
) -> anyhow::Result<Grant> {
    let request = describe_request(m, diff);
    Ok(if !origins.is_empty() {
        // --grant chooses origins; a raised limit or a configurable endpoint is not an origin
        // and still needs a yes.
        if diff.other_changes().next().is_some() {
            confirm(m, &request, false)?;
        }
        Grant::Origins(origins)
    } else if diff.needs_consent() {
        confirm(m, &request, yes)?;
        Grant::Requested
    } else {
        Grant::Nothing
    })
}

/// Asks on the terminal (unless `yes`); without a terminal, refuses with what was asked.
fn confirm(m: &Manifest, request: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::ConsentNeeded(format!(
            "{request}\nNot installed: no terminal to ask on. Re-run with --yes to grant all of this, \
             or with --grant ORIGIN for part of the network access."
        ))
        .into());
    }
    eprintln!("{}", crate::term::clean(request));
    eprint!("Grant this? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        anyhow::bail!(
            "not installed: you did not grant what plugin `{}` asks for",
            m.id
        );
    }
    Ok(())
}

/// The lines `minutes plugin install` prints after installing.
pub(crate) fn report_install(
    home: &Home,
    m: &Manifest,
    diff: &CapabilityDiff,
    entry: &LockEntry,
) -> anyhow::Result<()> {
    match &diff.previous_version {
        Some(prev) if prev != &entry.version => println!(
            "updated {} {} → {} ({})",
            entry.id, prev, entry.version, entry.kind
        ),
        Some(_) => println!(
            "reinstalled {} {} ({})",
            entry.id, entry.version, entry.kind
        ),
        None => println!("installed {} {} ({})", entry.id, entry.version, entry.kind),
    }
    println!("  network: {}", or_none(&entry.granted_origins));
    println!("  secrets: {}", or_none(&entry.granted_secrets));
    let not_granted: Vec<&String> = diff
        .new_origins
        .iter()
        .filter(|o| !entry.granted_origins.contains(o))
        .collect();
    for o in not_granted {
        println!(
            "  not granted: {o} (allow later with: minutes plugin allow {} {o})",
            entry.id
        );
    }
    for s in &m.secrets {
        if entry.granted_secrets.contains(&s.name)
            && crate::secrets::SecretStore::new(home.secrets_dir())
                .source(&m.id, &s.name)?
                .is_none()
        {
            println!(
                "  set its `{}` with: minutes secret set {} {}",
                s.name, m.id, s.name
            );
        }
    }
    Ok(())
}

pub(crate) fn describe_request(m: &Manifest, diff: &CapabilityDiff) -> String {
    let mut s = match &diff.previous_version {
        Some(prev) => format!(
            "Plugin `{}` {} (updating from {prev}) asks for more than before:\n",
            m.id, m.version
        ),
        None => format!("Plugin `{}` {} ({}) asks for:\n", m.id, m.version, m.kind),
    };
    if m.network.configurable && diff.previous_version.is_none() {
        s += &format!(
            "  - an endpoint you choose: it reaches nothing until you allow one \
             (minutes plugin allow {} ORIGIN)\n",
            m.id
        );
    }
    for o in &diff.new_origins {
        s += &format!("  - network access to {o}\n");
    }
    for change in &diff.changes {
        s += &format!("  - {}\n", change.describe());
    }
    for name in &diff.new_secrets {
        if let Some(decl) = m.secrets.iter().find(|d| &d.name == name) {
            let to = match decl.origins.is_empty() {
                true => format!(
                    "the endpoints you allow with `minutes plugin allow {}`{}",
                    m.id,
                    match diff.kept_origins.is_empty() {
                        true => " (none yet)".to_string(),
                        false => format!(" (now: {})", diff.kept_origins.join(", ")),
                    }
                ),
                false => decl.origins.join(", "),
            };
            s += &format!(
                "  - the secret `{name}`, which minutes adds as the header `{}` on requests to {to} \
                 (the plugin never sees it)\n",
                header_line(decl)
            );
        }
    }
    s.trim_end().to_string()
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

#[derive(Serialize)]
struct ListRow<'a> {
    id: &'a str,
    version: &'a str,
    kind: String,
    name: Option<String>,
    granted_origins: &'a [String],
    sha256: &'a str,
    /// The crate a `minutes plugin dev` install is rebuilt from.
    dev: Option<&'a std::path::Path>,
}

/// A line of text that quotes a plugin's manifest or answers: printed without terminal controls.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", crate::term::clean(&format!($($arg)*)))
    };
}

fn list(home: &Home, json: bool) -> anyhow::Result<()> {
    let registry = Registry::open(home.clone())?;
    let rows: Vec<ListRow> = registry
        .installed()
        .iter()
        .map(|e| ListRow {
            id: &e.id,
            version: &e.version,
            kind: e.kind.to_string(),
            name: registry.manifest(&e.id).ok().map(|m| m.name),
            granted_origins: &e.granted_origins,
            sha256: &e.sha256,
            dev: e.dev.as_deref(),
        })
        .collect();
    if json {
        return super::print_json(&rows);
    }
    if rows.is_empty() {
        println!(
            "No plugins installed. Install one with `minutes plugin install <folder|package.tar.gz>`."
        );
        return Ok(());
    }
    let w = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    println!("{:<w$}  {:<9}  {:<18}  NETWORK", "ID", "VERSION", "KIND");
    for r in &rows {
        let name = match &r.name {
            Some(n) => n.clone(),
            None => "(files missing or changed since install: reinstall)".into(),
        };
        let dev = r
            .dev
            .map(|d| format!(" [dev: {}]", d.display()))
            .unwrap_or_default();
        say!(
            "{:<w$}  {:<9}  {:<18}  {}  — {name}{dev}",
            r.id,
            r.version,
            r.kind,
            or_none(r.granted_origins)
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct InfoJson<'a> {
    installed: &'a LockEntry,
    manifest: &'a Manifest,
    location: PathBuf,
    /// What the plugin may do now: reachable origins, and where each granted secret goes.
    effective: Effective,
}

#[derive(Serialize)]
struct Effective {
    origins: Vec<String>,
    secrets: std::collections::BTreeMap<String, Vec<String>>,
}

fn info(home: &Home, id: &str, json: bool) -> anyhow::Result<()> {
    let registry = Registry::open(home.clone())?;
    let entry = registry.get(id)?;
    let m = registry.manifest(id)?;
    let reachable = registry.reachable(&m, entry)?;
    let origins: Vec<String> = reachable.entries().iter().map(|o| o.canonical()).collect();
    let secrets = m
        .secrets
        .iter()
        .filter(|s| entry.granted_secrets.contains(&s.name))
        .map(|s| {
            let to = secret_destinations(s, &reachable);
            (s.name.clone(), to.iter().map(|o| o.canonical()).collect())
        })
        .collect();
    let effective = Effective { origins, secrets };
    if json {
        return super::print_json(&InfoJson {
            installed: entry,
            manifest: &m,
            location: home.plugin_dir(id),
            effective,
        });
    }
    say!("{} {} — {}", m.id, m.version, m.name);
    if let Some(d) = &m.description {
        say!("{d}");
    }
    println!();
    say!("kind:        {}", m.kind);
    // The claim was checked against the component's own import names at install.
    match crate::plugins::wit::ContractVersion::from_api(&m.api) {
        Some(v) => say!("contract:    {v}"),
        None => say!(
            "contract:    minutes:plugin@{} (not one this minutes runs)",
            m.api
        ),
    }
    say!(
        "component:   {} (sha256 {})",
        m.component.file,
        m.component.sha256
    );
    say!("location:    {}", home.plugin_dir(id).display());
    let declared = &m.network.origins;
    if m.network.configurable {
        say!("network:     an endpoint you choose (network.configurable)");
        match effective.origins.is_empty() {
            true => {
                say!("             reaches nothing yet: minutes plugin allow {id} <origin>")
            }
            false => say!("             may reach {}", effective.origins.join(", ")),
        }
    } else if declared.is_empty() {
        say!("network:     none (this plugin cannot reach any host)");
    } else {
        say!("network:     declares {}", declared.join(", "));
        say!("             granted  {}", or_none(&entry.granted_origins));
    }
    if m.secrets.is_empty() {
        say!("secrets:     none");
    } else {
        for s in &m.secrets {
            let store = crate::secrets::SecretStore::new(home.secrets_dir());
            let state = match store.source(&m.id, &s.name)? {
                Some(src) => format!("set, from {src}"),
                None => format!("not set: minutes secret set {} {}", m.id, s.name),
            };
            let to = match effective.secrets.get(&s.name) {
                Some(to) if !to.is_empty() => format!("sent on {}", to.join(", ")),
                Some(_) if s.origins.is_empty() => {
                    "sent to the endpoints you allow (none yet)".to_string()
                }
                Some(_) => format!("granted for {} (not reachable now)", s.origins.join(", ")),
                None if s.origins.is_empty() => {
                    "not granted (would go to the endpoints you allow)".to_string()
                }
                None => format!("not granted (would go to {})", s.origins.join(", ")),
            };
            say!(
                "secret:      {} → `{}`: {to} ({state})",
                s.name,
                header_line(s)
            );
        }
    }
    let l = &m.limits;
    say!(
        "limits:      memory {} MiB, {} s per call, responses up to {} MiB",
        l.memory_mib,
        l.call_timeout_secs,
        l.max_response_mib
    );
    for (key, f) in &m.config {
        let default = f
            .default
            .as_ref()
            .map(|d| format!(", default {d}"))
            .unwrap_or_default();
        let about = f
            .description
            .as_deref()
            .map(|d| format!(" — {d}"))
            .unwrap_or_default();
        say!(
            "setting:     {key} ({}{default}){about}",
            format!("{:?}", f.ty).to_lowercase()
        );
    }
    if let Some(p) = &m.data_policy {
        let t = |t: Tristate| match t {
            Tristate::Yes => "yes",
            Tristate::No => "no",
            Tristate::Unknown => "unknown",
        };
        say!("data policy:");
        say!("  retention:               {}", p.retention);
        say!("  trains on your data:     {}", t(p.trains_on_data));
        say!(
            "  zero retention:          available {}, default {}",
            t(p.zero_retention_available),
            t(p.zero_retention_default)
        );
        say!(
            "  region:                  {}",
            p.region.as_deref().unwrap_or("unknown")
        );
        say!("  certifications:          {}", or_none(&p.certifications));
        say!("  sources:                 {}", or_none(&p.sources));
        say!(
            "  last verified:           {}",
            p.last_verified.as_deref().unwrap_or("never")
        );
    }
    Ok(())
}
