//! `cargo xtask install` on a machine that lacks the build's system packages stops at once,
//! before compiling anything, and prints the command that installs them.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `name` on this machine's PATH.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[test]
fn a_machine_without_cmake_a_cpp_compiler_or_alsa_is_told_what_to_install_before_any_build() {
    // A PATH with Rust and pkg-config but no cmake and no C++ compiler; a pkg-config that
    // finds no ALSA.
    let bin = tempfile_dir();
    for tool in ["rustup", "cargo", "rustc", "pkg-config", "apt-get"] {
        if let Some(path) = which(tool) {
            std::os::unix::fs::symlink(path, bin.join(tool)).expect("symlink");
        }
    }
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("install")
        .env("PATH", &bin)
        .env("PKG_CONFIG_LIBDIR", bin.join("no-pkg-config-files"))
        .env_remove("CXX")
        .env_remove("PKG_CONFIG")
        // Were anything built, it would go here, not into the workspace's target.
        .env("CARGO_TARGET_DIR", bin.join("target"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xtask");
    // The old xtask compiled the host (whisper.cpp, ALSA bindings) for minutes first.
    while child.try_wait().expect("poll xtask").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("xtask install was still running after 60 s instead of stopping at once");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("xtask output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "xtask install succeeded:\n{stderr}");
    for missing in ["C++ compiler", "cmake", "ALSA"] {
        assert!(stderr.contains(missing), "{missing} not named:\n{stderr}");
    }
    if which("apt-get").is_some() {
        assert!(
            stderr.contains("apt-get update && apt-get install -y g++ cmake libasound2-dev"),
            "no command to copy:\n{stderr}"
        );
    }
    assert!(
        !bin.join("target").exists(),
        "something was compiled before the check:\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(&bin);
}

/// A fresh folder under the system's temp dir (xtask has no tempfile dependency).
fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("xtask-preflight-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
