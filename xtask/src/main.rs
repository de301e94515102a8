//! Developer tasks: `cargo xtask install` installs `minutes` and its first-party plugins,
//! `cargo xtask plugins` builds every first-party plugin into an installable package,
//! `cargo xtask bench` runs the plugin benchmark on a release build.
//!
//! xtask does not depend on the host crate: cargo would compile whisper.cpp and the ALSA bindings
//! before any of this code runs, so a machine without cmake or libasound2-dev would fail ten
//! minutes in instead of being told what to install. The tasks check the machine first, then
//! build `minutes` and let it package the plugins (`minutes plugin build`).

mod preflight;

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USAGE: &str = "usage:
  cargo xtask install                    install `minutes` (cargo install) and its first-party plugins
  cargo xtask plugins [--test-plugins]   build plugins/* into target/plugins/
                                          (--test-plugins: also tests/plugins/* into target/test-plugins/)
  cargo xtask bench                      release build + `minutes bench plugins`
  cargo xtask check                      only check that this machine can build minutes";

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn target_dir(ws: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target"))
}

/// Builds the `minutes` binary (debug or release) and returns its path.
fn build_minutes(ws: &Path, release: bool) -> anyhow::Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--package", "minutes", "--bin", "minutes"])
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"));
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("building minutes failed; the compiler's errors are above");
    }
    let profile = if release { "release" } else { "debug" };
    Ok(target_dir(ws).join(profile).join("minutes"))
}

/// The plugin crates directly inside `parent` (folders with a plugin.toml), in name order.
fn plugin_crates(parent: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .with_context(|| format!("cannot read {}", parent.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Packages every plugin crate in `crates` into `out` with `minutes plugin build` (one package
/// folder and one .tar.gz each); returns the package folders.
fn package_plugins(minutes: &Path, crates: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for dir in plugin_crates(crates)? {
        let output = Command::new(minutes)
            .args(["plugin", "build"])
            .arg(&dir)
            .arg("--out")
            .arg(out)
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run {}", minutes.display()))?;
        if !output.status.success() {
            bail!("{}: `minutes plugin build` failed", dir.display());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let folder = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("package:"))
            .map(|p| PathBuf::from(p.trim()))
            .with_context(|| {
                format!("{}: `minutes plugin build` named no package", dir.display())
            })?;
        folders.push(folder);
    }
    Ok(folders)
}

fn plugins(test_plugins: bool) -> anyhow::Result<()> {
    preflight::check()?;
    let ws = workspace();
    let target = target_dir(&ws);
    let minutes = build_minutes(&ws, false)?;
    for dir in package_plugins(&minutes, &ws.join("plugins"), &target.join("plugins"))? {
        println!("package {}", dir.display());
    }
    if test_plugins {
        let hostile = ws.join("tests").join("plugins");
        for dir in package_plugins(&minutes, &hostile, &target.join("test-plugins"))? {
            println!("test package {}", dir.display());
        }
    }
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    preflight::check()?;
    let ws = workspace();
    let target = target_dir(&ws);
    let minutes = build_minutes(&ws, true)?;
    package_plugins(&minutes, &ws.join("plugins"), &target.join("plugins"))?;
    let status = Command::new(&minutes)
        .args(["bench", "plugins", "--package"])
        .arg(target.join("plugins").join("export-markdown"))
        .status()
        .context("cannot run the release build of minutes")?;
    if !status.success() {
        bail!("benchmark failed");
    }
    Ok(())
}

/// Where `cargo install` puts binaries: --root is not used, so CARGO_INSTALL_ROOT, else
/// CARGO_HOME, else ~/.cargo (an `install.root` in a cargo config is not read; then the
/// binary on PATH is used).
fn installed_minutes() -> PathBuf {
    let root = std::env::var_os("CARGO_INSTALL_ROOT")
        .or_else(|| std::env::var_os("CARGO_HOME"))
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    root.map(|r| r.join("bin").join("minutes"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("minutes"))
}

/// Whether a package asks for network origins or secrets: such plugins are installed only
/// with the user's consent, so `install` leaves them to the user.
fn asks_for_network(package: &Path) -> anyhow::Result<bool> {
    let path = package.join("plugin.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not TOML", path.display()))?;
    let non_empty = |v: Option<&toml::Value>| {
        v.and_then(toml::Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    Ok(
        non_empty(manifest.get("network").and_then(|n| n.get("origins")))
            || non_empty(manifest.get("secrets")),
    )
}

/// `cargo install` of the binary (its one build of the host), then every first-party plugin,
/// packaged by that binary, installed into the user's home (plugins that ask for network access
/// or secrets are left for the user to grant).
fn install() -> anyhow::Result<()> {
    preflight::check()?;
    let ws = workspace();
    let status = cargo()
        .args(["install", "--locked", "--path"])
        .arg(ws.join("host"))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo install failed");
    }
    let minutes = installed_minutes();
    let target = target_dir(&ws);
    for pkg in package_plugins(&minutes, &ws.join("plugins"), &target.join("plugins"))? {
        let id = pkg.file_name().unwrap_or_default().to_string_lossy();
        if asks_for_network(&pkg)? {
            println!(
                "skipped {id} (asks for network access: install it with `minutes plugin install {}`)",
                pkg.display()
            );
            continue;
        }
        let status = Command::new(&minutes)
            .args(["plugin", "install"])
            .arg(&pkg)
            .status()
            .with_context(|| format!("cannot run {}", minutes.display()))?;
        if !status.success() {
            bail!("installing {id} failed");
        }
    }
    if Command::new("minutes")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!(
            "note: `minutes` is installed as {} but is not on your PATH; add its folder to PATH \
             (rustup's installer does this in ~/.profile: `. \"$HOME/.cargo/env\"`)",
            minutes.display()
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["plugins"] => plugins(false),
        ["plugins", "--test-plugins"] => plugins(true),
        ["bench"] => bench(),
        ["install"] => install(),
        ["check"] => {
            preflight::check()?;
            println!("this machine has what building minutes needs");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
