//! The SDK bundled in this binary, written out to `<home>/sdk/<version>/` for scaffolded crates.
//!
//! Layout, as the SDK's `wit_bindgen::generate!(path: "../wit/v0.2")` expects it:
//! `<root>/Cargo.toml` (a one-member workspace carrying the inherited package fields and
//! dependency versions), `<root>/sdk/`, `<root>/wit/v0.2/`.

use super::ScaffoldError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/sdk_bundle.rs"));
}

/// The SDK version this binary carries (the workspace version: host and SDK move together).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the SDK of this version lives under the minutes home.
pub fn sdk_root(home: &crate::plugins::Home) -> PathBuf {
    home.root().join("sdk").join(SDK_VERSION)
}

/// Writes the bundled SDK under `root` and returns the SDK crate's folder. Files whose content
/// is already right are left alone, so cargo does not rebuild the SDK for nothing.
pub fn write_sdk(root: &Path) -> Result<PathBuf, ScaffoldError> {
    let mut wanted: BTreeMap<PathBuf, String> = embedded::FILES
        .iter()
        .map(|(rel, text)| (root.join(rel), (*text).to_string()))
        .collect();
    wanted.insert(root.join("Cargo.toml"), wrapper_manifest()?);
    for (path, text) in &wanted {
        if std::fs::read_to_string(path).is_ok_and(|old| &old == text) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ScaffoldError::io(parent))?;
        }
        std::fs::write(path, text).map_err(ScaffoldError::io(path))?;
    }
    // A file dropped from a newer SDK of the same version must not linger and be compiled.
    for dir in [root.join("sdk/src"), root.join("wit")] {
        remove_stray(&dir, &wanted)?;
    }
    Ok(root.join("sdk"))
}

fn remove_stray(dir: &Path, wanted: &BTreeMap<PathBuf, String>) -> Result<(), ScaffoldError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            remove_stray(&p, wanted)?;
        } else if !wanted.contains_key(&p) {
            std::fs::remove_file(&p).map_err(ScaffoldError::io(&p))?;
        }
    }
    Ok(())
}

fn bundle_error(message: String) -> ScaffoldError {
    ScaffoldError::Bundle(message)
}

/// The workspace around the SDK: its `[workspace.package]` and `[workspace.dependencies]`
/// (which the SDK's Cargo.toml inherits), taken from this repository's manifest.
fn wrapper_manifest() -> Result<String, ScaffoldError> {
    let ws: toml::Table =
        toml::from_str(embedded::WORKSPACE_MANIFEST).map_err(|e| bundle_error(e.to_string()))?;
    let workspace = ws
        .get("workspace")
        .and_then(|w| w.as_table())
        .ok_or_else(|| bundle_error("no [workspace]".into()))?;
    let mut inner = toml::Table::new();
    inner.insert("resolver".into(), "2".into());
    inner.insert("members".into(), toml::Value::Array(vec!["sdk".into()]));
    for key in ["package", "dependencies"] {
        if let Some(mut t) = workspace.get(key).and_then(|v| v.as_table()).cloned() {
            t.remove("minutes-sdk");
            inner.insert(key.into(), toml::Value::Table(t));
        }
    }
    let mut top = toml::Table::new();
    top.insert("workspace".into(), toml::Value::Table(inner));
    let body = toml::to_string(&top).map_err(|e| bundle_error(e.to_string()))?;
    Ok(format!(
        "# The minutes plugin SDK {SDK_VERSION}, written by `minutes plugin new`. Do not edit: it is rewritten.\n{body}"
    ))
}

/// A `Cargo.lock` for a new plugin crate: the versions the SDK was built and tested with, so the
/// crate builds without resolving anything anew (and offline when those crates are cached).
pub fn plugin_lock<'a>(
    package: &str,
    extra_deps: impl IntoIterator<Item = &'a str>,
) -> Result<String, ScaffoldError> {
    let lock: toml::Table =
        toml::from_str(embedded::WORKSPACE_LOCK).map_err(|e| bundle_error(e.to_string()))?;
    let packages: Vec<&toml::Table> = lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_table())
        .collect();
    let field =
        |p: &toml::Table, k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    // A dependency is written "name" or "name version" (or "name version (source)").
    let find = |spec: &str| {
        let mut parts = spec.split_whitespace();
        let (name, version) = (parts.next().unwrap_or(""), parts.next());
        packages.iter().position(|p| {
            field(p, "name") == name && version.is_none_or(|v| field(p, "version") == v)
        })
    };
    let start = find("minutes-sdk")
        .ok_or_else(|| bundle_error("the workspace lock has no minutes-sdk".into()))?;
    let mut keep = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        let deps = packages[i]
            .get("dependencies")
            .and_then(|d| d.as_array())
            .into_iter()
            .flatten();
        for dep in deps.filter_map(|d| d.as_str()) {
            let j = find(dep)
                .ok_or_else(|| bundle_error(format!("the workspace lock does not list {dep}")))?;
            if keep.insert(j) {
                queue.push_back(j);
            }
        }
    }
    let mut root_deps = vec![toml::Value::from("minutes-sdk")];
    for name in extra_deps {
        // The new crate's own dependencies must already be in the SDK's closure: nothing new to resolve.
        let versions: Vec<String> = keep
            .iter()
            .filter(|&&i| field(packages[i], "name") == name)
            .map(|&i| field(packages[i], "version"))
            .collect();
        match versions.as_slice() {
            [] => {
                return Err(bundle_error(format!(
                    "{name} is not among the SDK's locked dependencies"
                )));
            }
            [_] => root_deps.push(name.into()),
            [v, ..] => root_deps.push(format!("{name} {v}").into()),
        }
    }
    let mut root = toml::Table::new();
    root.insert("name".into(), package.into());
    root.insert("version".into(), "0.1.0".into());
    root.insert("dependencies".into(), toml::Value::Array(root_deps));
    let mut entries: Vec<toml::Table> = keep.into_iter().map(|i| packages[i].clone()).collect();
    entries.push(root);
    entries.sort_by_key(|p| (field(p, "name"), field(p, "version")));
    let mut out = toml::Table::new();
    out.insert(
        "version".into(),
        lock.get("version")
            .cloned()
            .unwrap_or(toml::Value::Integer(4)),
    );
    out.insert(
        "package".into(),
        toml::Value::Array(entries.into_iter().map(toml::Value::Table).collect()),
    );
    let body = toml::to_string(&out).map_err(|e| bundle_error(e.to_string()))?;
    Ok(format!(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_sdk_and_the_contract() {
        let names: Vec<&str> = embedded::FILES.iter().map(|(n, _)| *n).collect();
        for needed in [
            "sdk/Cargo.toml",
            "sdk/src/lib.rs",
            "sdk/src/exporter.rs",
            "wit/v0.2/worlds.wit",
            "wit/v0.2/types.wit",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
        // The SDK finds the contract beside itself.
        let lib = embedded::FILES
            .iter()
            .find(|(n, _)| *n == "sdk/src/lib.rs")
            .map(|(_, t)| *t)
            .unwrap_or("");
        assert!(
            lib.contains("path: \"../wit/v0.2\""),
            "the SDK no longer looks for ../wit/v0.2"
        );
    }

    #[test]
    fn wrapper_carries_the_inherited_fields_and_the_sdk_version() {
        let text = wrapper_manifest().expect("wrapper");
        let t: toml::Table = toml::from_str(&text).expect("valid toml");
        let ws = &t["workspace"];
        assert_eq!(ws["package"]["version"].as_str(), Some(SDK_VERSION));
        assert!(ws["dependencies"].get("wit-bindgen").is_some(), "{text}");
        assert!(ws["dependencies"].get("minutes-sdk").is_none(), "{text}");
    }

    #[test]
    fn plugin_lock_holds_only_what_the_sdk_needs() {
        let text = plugin_lock("my-exporter", ["serde_json"]).expect("lock");
        assert!(text.contains("name = \"wit-bindgen\""), "{text}");
        assert!(text.contains("name = \"my-exporter\""), "{text}");
        assert!(
            !text.contains("name = \"wasmtime\""),
            "host dependencies leaked into the plugin lock"
        );
        assert!(
            plugin_lock("x", ["wasmtime"]).is_err(),
            "a dependency outside the SDK's closure was accepted"
        );
    }

    #[test]
    fn writing_twice_leaves_files_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sdk = write_sdk(dir.path()).expect("write");
        assert!(
            sdk.join("src/lib.rs").is_file() && dir.path().join("wit/v0.2/worlds.wit").is_file()
        );
        let stray = sdk.join("src/old.rs");
        std::fs::write(&stray, "").expect("stray");
        let before = std::fs::metadata(sdk.join("src/lib.rs"))
            .and_then(|m| m.modified())
            .expect("mtime");
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_sdk(dir.path()).expect("again");
        let after = std::fs::metadata(sdk.join("src/lib.rs"))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(
            before, after,
            "an unchanged file was rewritten (cargo would rebuild the SDK)"
        );
        assert!(!stray.exists(), "a file that is not in the bundle was kept");
    }
}
