//! Developer tasks: `cargo xtask plugins` builds every first-party plugin into an installable
//! package; `cargo xtask bench` runs the plugin benchmark on a release build.

use anyhow::{Context, bail};
use minutes::plugins::build::{PluginCrate, build_packages};
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "usage:
  cargo xtask plugins [--test-plugins]   build plugins/* into target/plugins/
                                          (--test-plugins: also tests/plugins/* into target/test-plugins/)
  cargo xtask bench                      release build + `minutes bench plugins`";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn target_dir(ws: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| ws.join("target"))
}

fn plugins(test_plugins: bool) -> anyhow::Result<()> {
    let ws = workspace();
    let target = target_dir(&ws);
    let first_party = PluginCrate::all_in(&ws.join("plugins"))?;
    for dir in build_packages(&ws, &first_party, "plugin", &target, &target.join("plugins"))? {
        println!("package {}", dir.display());
    }
    if test_plugins {
        let hostile = PluginCrate::all_in(&ws.join("tests").join("plugins"))?;
        for dir in build_packages(&ws, &hostile, "plugin", &target, &target.join("test-plugins"))? {
            println!("test package {}", dir.display());
        }
    }
    Ok(())
}

fn bench() -> anyhow::Result<()> {
    let ws = workspace();
    let target = target_dir(&ws);
    plugins(false)?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--package", "minutes", "--manifest-path"])
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

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["plugins"] => plugins(false),
        ["plugins", "--test-plugins"] => plugins(true),
        ["bench"] => bench(),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
