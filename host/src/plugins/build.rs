//! Building plugin crates into installable packages: `cargo build --target wasm32-wasip2`,
//! then the component and its manifest (sha256 filled in) as a folder and a `.tar.gz`.

use super::manifest::Kind;
use super::package::{MANIFEST_FILE, PackageError, assemble, parse_source_manifest, sha256_hex};
use serde::Serialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const WASM_TARGET: &str = "wasm32-wasip2";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {message}")]
    Crate { path: PathBuf, message: String },
    #[error("cannot run cargo: {0}")]
    Spawn(std::io::Error),
    #[error(
        "cargo was not found: install Rust with rustup (https://rustup.rs), or set CARGO to the cargo binary"
    )]
    NoCargo,
    #[error(
        "the {WASM_TARGET} target is not installed for this Rust toolchain ({sysroot}); \
         add it with `rustup target add {WASM_TARGET}`"
    )]
    NoTarget { sysroot: String },
    #[error("{}: cargo build failed ({status}); the compiler's errors are above", .dir.display())]
    CrateBuild {
        dir: PathBuf,
        status: std::process::ExitStatus,
    },
    #[error("{}: cargo built no WebAssembly library; is `crate-type = [\"cdylib\"]` set under [lib] in Cargo.toml?", .0.display())]
    NoComponent(PathBuf),
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
        let bad = |message: String| BuildError::Crate {
            path: dir.to_path_buf(),
            message,
        };
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(bad(format!("no {MANIFEST_FILE}: not a plugin crate")));
        }
        let text = std::fs::read_to_string(dir.join("Cargo.toml"))
            .map_err(|e| bad(format!("Cargo.toml: {e}")))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| bad(format!("Cargo.toml: {}", e.message())))?;
        let package = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("Cargo.toml has no package.name".into()))?;
        Ok(PluginCrate {
            dir: dir.to_path_buf(),
            package: package.to_string(),
        })
    }

    /// Whether Cargo.toml defines `[profile.<name>]` (a workspace member inherits the
    /// workspace's profiles, which cargo applies anyway; only a standalone crate can lack it).
    pub fn defines_profile(&self, name: &str) -> Result<bool, BuildError> {
        let mut dir = Some(self.dir.as_path());
        while let Some(d) = dir {
            if let Ok(text) = std::fs::read_to_string(d.join("Cargo.toml")) {
                let table: toml::Table = toml::from_str(&text).map_err(|e| BuildError::Crate {
                    path: d.join("Cargo.toml"),
                    message: e.message().to_string(),
                })?;
                if table.get("profile").and_then(|p| p.get(name)).is_some() {
                    return Ok(true);
                }
                if table.contains_key("workspace") {
                    return Ok(false);
                }
            }
            dir = d.parent();
        }
        Ok(false)
    }

    /// Every plugin crate directly inside `parent`, in name order.
    pub fn all_in(parent: &Path) -> Result<Vec<PluginCrate>, BuildError> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
            .map_err(|e| BuildError::Crate {
                path: parent.to_path_buf(),
                message: e.to_string(),
            })?
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
    let mut cmd = cargo();
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
    std::fs::create_dir_all(out).map_err(|e| BuildError::Crate {
        path: out.to_path_buf(),
        message: e.to_string(),
    })?;
    let wasm_dir = target_dir.join(WASM_TARGET).join(profile);
    crates
        .iter()
        .map(|c| {
            let wasm = wasm_dir.join(format!("{}.wasm", c.package.replace('-', "_")));
            Ok(assemble(&c.dir.join(MANIFEST_FILE), &wasm, out)?)
        })
        .collect()
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A plugin crate built and packaged by [`build_crate`].
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    /// The package folder (install it, or watch it with `minutes plugin dev`).
    pub folder: PathBuf,
    /// The same package as one file, to share.
    pub archive: PathBuf,
    pub sha256: String,
    pub component_bytes: u64,
    pub profile: String,
}

/// Builds one plugin crate that lives anywhere (its own workspace, or a member of one) for
/// wasm32-wasip2 and packages it into `out`. cargo's progress and errors go to stderr.
///
/// The manifest is checked first, so a typo in plugin.toml is reported before a long build;
/// the profile is `plugin` when the crate defines it, else `release`.
pub fn build_crate(dir: &Path, out: &Path) -> Result<Built, BuildError> {
    let dir = &std::fs::canonicalize(dir).map_err(|e| BuildError::Crate {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let krate = PluginCrate::at(dir)?;
    let manifest = parse_source_manifest(&dir.join(MANIFEST_FILE))?;
    check_wasm_target(dir)?;
    let profile = if krate.defines_profile("plugin")? {
        "plugin"
    } else {
        "release"
    };
    let mut child = cargo()
        .arg("build")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .args([
            "--lib",
            "--target",
            WASM_TARGET,
            "--profile",
            profile,
            "--message-format",
            "json-render-diagnostics",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BuildError::NoCargo,
            _ => BuildError::Spawn(e),
        })?;
    // cargo names every artifact it writes; the component is the library's .wasm.
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" {
                continue;
            }
            let mut files = msg["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str());
            if let Some(f) = files.rfind(|f| f.ends_with(".wasm")) {
                wasm = Some(PathBuf::from(f));
            }
        }
    }
    let status = child.wait().map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::CrateBuild {
            dir: dir.to_path_buf(),
            status,
        });
    }
    let wasm = wasm.ok_or_else(|| BuildError::NoComponent(dir.to_path_buf()))?;
    let out_err = |e: std::io::Error| BuildError::Crate {
        path: out.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(out).map_err(out_err)?;
    let out = &std::fs::canonicalize(out).map_err(out_err)?;
    let folder = assemble(&dir.join(MANIFEST_FILE), &wasm, out)?;
    let component =
        std::fs::read(folder.join(&manifest.component.file)).map_err(|e| BuildError::Crate {
            path: folder.clone(),
            message: e.to_string(),
        })?;
    Ok(Built {
        archive: out.join(format!("{}-{}.tar.gz", manifest.id, manifest.version)),
        id: manifest.id,
        version: manifest.version,
        kind: manifest.kind,
        folder,
        sha256: sha256_hex(&component),
        component_bytes: component.len() as u64,
        profile: profile.to_string(),
    })
}

/// Fails early, with the fix, when the toolchain that would build `dir` lacks the wasm target.
/// A toolchain that cannot be asked (no rustc on PATH) is left to cargo to report.
fn check_wasm_target(dir: &Path) -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
    else {
        return Ok(());
    };
    if !out.status.success() {
        return Ok(());
    }
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .is_dir()
    {
        Ok(())
    } else {
        Err(BuildError::NoTarget { sysroot })
    }
}
