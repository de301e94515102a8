//! Writing plugins: `minutes plugin new`, `minutes plugin build` and `minutes plugin dev`.

use crate::plugins::build::{Built, build_crate};
use crate::plugins::manifest::Kind;
use crate::plugins::package::Package;
use crate::plugins::registry::LockEntry;
use crate::plugins::{Registry, Runtime, scaffold};
use anyhow::Context as _;
use notify::RecursiveMode;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Exporter,
    Template,
    Provider,
    NetworkedExporter,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Kind {
        match k {
            KindArg::Exporter => Kind::Exporter,
            KindArg::Template => Kind::Template,
            KindArg::Provider => Kind::Provider,
            KindArg::NetworkedExporter => Kind::NetworkedExporter,
        }
    }
}

#[derive(clap::Args)]
#[command(
    after_help = "Writes <DIR>/<NAME>/: Cargo.toml, plugin.toml (every key explained), src/lib.rs with a \
    working example and a unit test, and a README. The crate depends on the plugin SDK, which minutes writes \
    under its home (<home>/sdk/<version>/), so it builds anywhere with Rust and crates.io.\n\n\
    Examples:\n  minutes plugin new exporter my-exporter\n  minutes plugin new provider my-llm --dir ~/src\n  \
    cd my-exporter && cargo test && minutes plugin build && minutes plugin install dist/my-exporter"
)]
pub struct NewArgs {
    /// What the plugin does: exporter (meeting → files), networked-exporter (also sends it over
    /// HTTP), template (transcript → summary), provider (a language model service)
    #[arg(value_enum)]
    kind: KindArg,
    /// Plugin id and crate name: lower-case letters, digits and '-', e.g. my-exporter
    name: String,
    /// Folder to create the crate in
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(
    after_help = "Runs `cargo build --target wasm32-wasip2 --profile plugin` (release when the crate has no \
    `plugin` profile) and writes an installable package: <OUT>/<id>/ and <OUT>/<id>-<version>.tar.gz, with \
    component.sha256 filled in. plugin.toml is checked before the build.\n\n\
    Examples:\n  minutes plugin build\n  minutes plugin build ~/src/my-exporter --out /tmp/pkgs --json"
)]
pub struct BuildArgs {
    /// The plugin crate (a folder with Cargo.toml and plugin.toml)
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the package [default: <DIR>/dist]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(
    after_help = "Builds and installs the plugin, marked as dev (see `minutes plugin list`), then watches \
    src/, Cargo.toml and plugin.toml: every change is rebuilt and reinstalled, one line per reload. A failed \
    build is reported and the last good build stays installed. A running minutes uses the new version from \
    its next call; settings changed in config.toml apply the same way. Stop with Ctrl-C.\n\n\
    Examples:\n  minutes plugin dev .\n  minutes plugin dev ~/src/my-llm --grant http://127.0.0.1:11434"
)]
pub struct DevArgs {
    /// The plugin crate
    dir: PathBuf,
    /// Grant the network origins and secrets the plugin asks for without asking
    #[arg(long, short)]
    yes: bool,
    /// Grant only this origin (repeatable), without asking
    #[arg(long, value_name = "ORIGIN", conflicts_with = "yes")]
    grant: Vec<String>,
    /// Where to write the package [default: <DIR>/dist]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How long the sources must be quiet before a rebuild
    #[arg(long, value_name = "MS", default_value_t = 300)]
    debounce_ms: u64,
    /// One JSON object per line and event (installed, reloaded, unchanged, failed)
    #[arg(long)]
    json: bool,
}

pub(crate) fn new(ctx: &super::Context, args: NewArgs) -> anyhow::Result<()> {
    let made = scaffold::create(&ctx.home, args.kind.into(), &args.name, &args.dir)?;
    if args.json {
        return super::print_json(&made);
    }
    println!(
        "created {} ({}) in {}",
        made.id,
        made.kind,
        made.dir.display()
    );
    println!(
        "  SDK {}: {}",
        scaffold::sdk::SDK_VERSION,
        made.sdk.display()
    );
    println!("next:");
    println!("  cd {}", made.dir.display());
    println!("  cargo test                             # its unit tests, natively");
    println!(
        "  minutes plugin build                   # dist/{0}/ and dist/{0}-0.1.0.tar.gz",
        made.id
    );
    println!("  minutes plugin install dist/{}", made.id);
    println!("  minutes plugin dev .                   # rebuild and reload on every change");
    Ok(())
}

pub(crate) fn build(args: BuildArgs) -> anyhow::Result<()> {
    let out = args.out.unwrap_or_else(|| args.dir.join("dist"));
    let built = build_crate(&args.dir, &out)?;
    if args.json {
        return super::print_json(&built);
    }
    println!(
        "built {} {} ({}, profile {}, {} KiB component)",
        built.id,
        built.version,
        built.kind,
        built.profile,
        built.component_bytes.div_ceil(1024)
    );
    println!("  package: {}", built.folder.display());
    println!("  archive: {}", built.archive.display());
    println!("  sha256:  {}", built.sha256);
    println!(
        "install with: minutes plugin install {}",
        built.folder.display()
    );
    Ok(())
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum DevEvent<'a> {
    Installed {
        id: &'a str,
        version: &'a str,
        sha256: &'a str,
        seconds: f64,
        dir: &'a Path,
    },
    Reloaded {
        id: &'a str,
        version: &'a str,
        sha256: &'a str,
        seconds: f64,
    },
    Unchanged {
        id: &'a str,
        sha256: &'a str,
    },
    Failed {
        error: String,
    },
}

struct DevSession<'a> {
    ctx: &'a super::Context,
    runtime: Runtime,
    dir: PathBuf,
    out: PathBuf,
    yes: bool,
    grant: Vec<String>,
    json: bool,
}

enum Outcome {
    Installed(LockEntry),
    Unchanged(LockEntry),
}

impl DevSession<'_> {
    /// Builds, then installs unless the same component and manifest are installed already.
    fn build_and_install(&self) -> anyhow::Result<Outcome> {
        let Built { folder, .. } = build_crate(&self.dir, &self.out)?;
        let pkg = Package::open(&folder)?;
        let mut registry = Registry::open(self.ctx.home.clone())?;
        if let Ok(entry) = registry.get(&pkg.manifest.id)
            && entry.dev.as_deref() == Some(self.dir.as_path())
            && registry
                .manifest(&pkg.manifest.id)
                .is_ok_and(|m| m == pkg.manifest)
        {
            return Ok(Outcome::Unchanged(entry.clone()));
        }
        let diff = registry.diff(&pkg);
        let grant =
            super::plugin::choose_grant(&pkg.manifest, &diff, self.yes, self.grant.clone())?;
        let entry = registry.install_with(&self.runtime, &pkg, &grant, Some(&self.dir))?;
        if !self.json && diff.needs_consent() {
            super::plugin::report_install(&self.ctx.home, &pkg.manifest, &diff, &entry)?;
        }
        Ok(Outcome::Installed(entry))
    }

    fn say(&self, event: DevEvent, human: String) {
        match self.json {
            true => match serde_json::to_string(&event) {
                Ok(line) => println!("{line}"),
                Err(e) => tracing::error!("cannot encode a dev event: {e}"),
            },
            false => println!("{human}"),
        }
    }

    /// One line per reload; a failure is reported and the session goes on.
    fn reload(&self) {
        let started = Instant::now();
        match self.build_and_install() {
            Ok(Outcome::Installed(e)) => {
                let seconds = started.elapsed().as_secs_f64();
                self.say(
                    DevEvent::Reloaded {
                        id: &e.id,
                        version: &e.version,
                        sha256: &e.sha256,
                        seconds,
                    },
                    format!(
                        "reloaded {} {} (sha256 {}) in {seconds:.1} s",
                        e.id,
                        e.version,
                        &e.sha256[..12]
                    ),
                );
            }
            Ok(Outcome::Unchanged(e)) => self.say(
                DevEvent::Unchanged {
                    id: &e.id,
                    sha256: &e.sha256,
                },
                format!(
                    "unchanged {} (the build produced the installed component)",
                    e.id
                ),
            ),
            Err(e) => {
                let error = format!("{e:#}").replace('\n', " ");
                let human = format!(
                    "build failed: {error} — the last good build stays installed; save a fix to retry"
                );
                self.say(DevEvent::Failed { error }, human);
            }
        }
    }
}

/// Size and mtime of every file that [`triggers_rebuild`]. The watcher also reports reads
/// (cargo and the packager open these files during a build), so a batch of events rebuilds only
/// when this changed since the last build began.
fn sources_stamp(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    fn walk(path: &Path, dir: &Path, out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&e.path(), dir, out);
            }
        } else if triggers_rebuild(dir, path) {
            out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
        }
    }
    let mut out = Vec::new();
    for p in [
        dir.join("src"),
        dir.join("Cargo.toml"),
        dir.join("plugin.toml"),
    ] {
        walk(&p, dir, &mut out);
    }
    out.sort();
    out
}

/// Files whose change means a rebuild: sources under src/ (not editor backups or swap files)
/// and the two manifests. target/, dist/ and Cargo.lock change during a build and are ignored.
fn triggers_rebuild(dir: &Path, path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    if name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
    {
        return false;
    }
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.starts_with("src") || rel == Path::new("Cargo.toml") || rel == Path::new("plugin.toml")
}

pub(crate) fn dev(ctx: &super::Context, args: DevArgs) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("cannot open the plugin crate {}", args.dir.display()))?;
    let out = args.out.clone().unwrap_or_else(|| dir.join("dist"));
    let session = DevSession {
        ctx,
        runtime: ctx.runtime()?,
        dir: dir.clone(),
        out,
        yes: args.yes,
        grant: args.grant,
        json: args.json,
    };

    // The first build must work: there is nothing to fall back on yet.
    let mut built_from = sources_stamp(&dir);
    let started = Instant::now();
    let entry = match session.build_and_install()? {
        Outcome::Installed(e) | Outcome::Unchanged(e) => e,
    };
    let seconds = started.elapsed().as_secs_f64();
    session.say(
        DevEvent::Installed {
            id: &entry.id,
            version: &entry.version,
            sha256: &entry.sha256,
            seconds,
            dir: &dir,
        },
        format!(
            "installed {} {} ({}) in dev mode from {} in {seconds:.1} s",
            entry.id,
            entry.version,
            entry.kind,
            dir.display()
        ),
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let mut debouncer =
        notify_debouncer_mini::new_debouncer(Duration::from_millis(args.debounce_ms), tx)
            .context("cannot watch files on this system")?;
    let src = dir.join("src");
    debouncer
        .watcher()
        .watch(&src, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", src.display()))?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    if !args.json {
        println!(
            "watching {} (src/, Cargo.toml, plugin.toml); Ctrl-C to stop",
            dir.display()
        );
    }
    for batch in rx {
        match batch {
            Ok(events) if events.iter().any(|e| triggers_rebuild(&dir, &e.path)) => {
                let now = sources_stamp(&dir);
                if now != built_from {
                    built_from = now;
                    session.reload();
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("file watcher: {e}"),
        }
    }
    anyhow::bail!("the file watcher stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_and_manifests_trigger_a_rebuild() {
        let dir = Path::new("/w/my-exporter");
        for yes in [
            "src/lib.rs",
            "src/render/mod.rs",
            "Cargo.toml",
            "plugin.toml",
        ] {
            assert!(triggers_rebuild(dir, &dir.join(yes)), "{yes}");
        }
        for no in [
            "target/debug/x.rlib",
            "dist/my-exporter/plugin.toml",
            "Cargo.lock",
            "src/.lib.rs.swp",
            "src/lib.rs~",
            "README.md",
        ] {
            assert!(!triggers_rebuild(dir, &dir.join(no)), "{no}");
        }
    }
}
