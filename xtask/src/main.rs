//! Developer tasks: `cargo xtask plugins` builds every first-party plugin into an installable
//! package; `cargo xtask bench` runs the plugin benchmark on a release build.

use anyhow::{Context, bail};
use minutes::plugins::build::{PluginCrate, build_packages};
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage:
  cargo xtask install                    install `minutes` (cargo install) and its first-party plugins
  cargo xtask plugins [--test-plugins]   build plugins/* into target/plugins/
                                          (--test-plugins: also tests/plugins/* into target/test-plugins/)
  cargo xtask bench                      release build + `minutes bench plugins`";

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Adds the wasm32-wasip2 target when rustup manages the toolchain and it is missing.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(()); // not a rustup toolchain: cargo will say what is missing
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    eprintln!("adding the wasm32-wasip2 target (rustup target add wasm32-wasip2)");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2` failed; plugins cannot be built without it");
    }
    Ok(())
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

fn plugins(test_plugins: bool) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let ws = workspace();
    let target = target_dir(&ws);
    let first_party = PluginCrate::all_in(&ws.join("plugins"))?;
    for dir in build_packages(
        &ws,
        &first_party,
        "plugin",
        &target,
        &target.join("plugins"),
    )? {
        println!("package {}", dir.display());
    }
    if test_plugins {
        let hostile = PluginCrate::all_in(&ws.join("tests").join("plugins"))?;
        for dir in build_packages(
            &ws,
            &hostile,
            "plugin",
            &target,
            &target.join("test-plugins"),
        )? {
            println!("test package {}", dir.display());
        }
    }
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    let ws = workspace();
    let target = target_dir(&ws);
    plugins(false)?;
    let status = cargo()
        .args([
            "build",
            "--release",
            "--package",
            "minutes",
            "--manifest-path",
        ])
        .arg(ws.join("Cargo.toml"))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("release build failed");
    }
    let status = Command::new(target.join("release").join("minutes"))
        .args(["bench", "plugins", "--package"])
        .arg(target.join("plugins").join("export-markdown"))
        .status()
        .context("cannot run the release build of minutes")?;
    if !status.success() {
        bail!("benchmark failed");
    }
    Ok(())
}

/// `cargo install` of the binary, then every first-party plugin installed into the user's home
/// (plugins that ask for network access or secrets are left for the user to grant).
fn install() -> anyhow::Result<()> {
    let ws = workspace();
    plugins(false)?;
    let status = cargo()
        .args(["install", "--locked", "--path"])
        .arg(ws.join("host"))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo install failed");
    }
    let target = target_dir(&ws);
    let mut packages: Vec<PathBuf> = std::fs::read_dir(target.join("plugins"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    packages.sort();
    for pkg in packages {
        let manifest = minutes::plugins::package::Package::open(&pkg)?.manifest;
        if !manifest.network.origins.is_empty() || !manifest.secrets.is_empty() {
            println!(
                "skipped {} (asks for network access: install it with `minutes plugin install {}`)",
                manifest.id,
                pkg.display()
            );
            continue;
        }
        let status = Command::new("minutes")
            .args(["plugin", "install"])
            .arg(&pkg)
            .status()
            .context("cannot run the installed `minutes`: is ~/.cargo/bin on your PATH?")?;
        if !status.success() {
            bail!("installing {} failed", manifest.id);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
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
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
