//! Embeds the plugin SDK (sdk/), the WIT contract (wit/) and the workspace manifest and lock
//! into the binary, so that `minutes plugin new` can write a crate that builds on a machine
//! without this repository (the SDK is not on crates.io).

use std::path::{Path, PathBuf};

fn main() {
    let host = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ws = host
        .parent()
        .expect("the host crate lives in the workspace")
        .to_path_buf();
    let mut files = Vec::new();
    files.push(ws.join("sdk/Cargo.toml"));
    collect(&ws.join("sdk/src"), "rs", &mut files);
    collect(&ws.join("wit"), "wit", &mut files);
    files.sort();

    let mut out = String::from(
        "/// (path relative to the bundle root, contents)\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let rel = f
            .strip_prefix(&ws)
            .expect("inside the workspace")
            .to_string_lossy()
            .replace('\\', "/");
        out += &format!(
            "    ({rel:?}, include_str!({:?})),\n",
            f.display().to_string()
        );
    }
    out += "];\n";
    out += &format!(
        "pub const WORKSPACE_MANIFEST: &str = include_str!({:?});\n",
        ws.join("Cargo.toml").display().to_string()
    );
    out += &format!(
        "pub const WORKSPACE_LOCK: &str = include_str!({:?});\n",
        ws.join("Cargo.lock").display().to_string()
    );

    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("sdk_bundle.rs");
    std::fs::write(&dest, out).expect("write sdk_bundle.rs");
    for p in [
        "sdk/Cargo.toml",
        "sdk/src",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", ws.join(p).display());
    }
}

fn collect(dir: &Path, ext: &str, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, ext, into);
        } else if p.extension().is_some_and(|x| x == ext) {
            into.push(p);
        }
    }
}
