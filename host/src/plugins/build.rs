//! Building plugin crates into installable packages: `cargo build --target wasm32-wasip2`,
//! then the component and its manifest (sha256 filled in) as a folder and a `.tar.gz`.

use super::package::{MANIFEST_FILE, PackageError, assemble};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-wasip2";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {message}")]
    Crate { path: PathBuf, message: String },
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    #[error(
        "building the plugins failed (cargo exited with {0}). If the error mentions `core` or \
         `std` for {WASM_TARGET}, install the target with `rustup target add {WASM_TARGET}`"
    )]
    Cargo(std::process::ExitStatus),
    #[error(transparent)]
    Package(#[from] PackageError),
}

/// A plugin crate: a folder with Cargo.toml and plugin.toml.
#[derive(Debug, Clone)]
pub struct PluginCrate {
    pub dir: PathBuf,
    pub package: String,
}

impl PluginCrate {
    pub fn at(dir: &Path) -> Result<PluginCrate, BuildError> {
        let bad = |message: String| BuildError::Crate { path: dir.to_path_buf(), message };
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(bad(format!("no {MANIFEST_FILE}: not a plugin crate")));
        }
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).map_err(|e| bad(format!("Cargo.toml: {e}")))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| bad(format!("Cargo.toml: {}", e.message())))?;
        let package = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("Cargo.toml has no package.name".into()))?;
        Ok(PluginCrate { dir: dir.to_path_buf(), package: package.to_string() })
    }

    /// Every plugin crate directly inside `parent`, in name order.
    pub fn all_in(parent: &Path) -> Result<Vec<PluginCrate>, BuildError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
            .map_err(|e| BuildError::Crate { path: parent.to_path_buf(), message: e.to_string() })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST_FILE).is_file())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| PluginCrate::at(d)).collect()
    }
}

/// Builds `crates` (members of the workspace at `workspace`) with one cargo invocation and
/// assembles each into `out`. Returns the package folders.
pub fn build_packages(
    workspace: &Path,
    crates: &[PluginCrate],
    profile: &str,
    target_dir: &Path,
    out: &Path,
) -> Result<Vec<PathBuf>, BuildError> {
    if crates.is_empty() {
        return Ok(Vec::new());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["--target", WASM_TARGET, "--profile", profile])
        .env("CARGO_TARGET_DIR", target_dir);
    for c in crates {
        cmd.args(["--package", &c.package]);
    }
    let status = cmd.status().map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::Cargo(status));
    }
    std::fs::create_dir_all(out).map_err(|e| BuildError::Crate { path: out.to_path_buf(), message: e.to_string() })?;
    let wasm_dir = target_dir.join(WASM_TARGET).join(profile);
    crates
        .iter()
        .map(|c| {
            let wasm = wasm_dir.join(format!("{}.wasm", c.package.replace('-', "_")));
            Ok(assemble(&c.dir.join(MANIFEST_FILE), &wasm, out)?)
        })
        .collect()
}
