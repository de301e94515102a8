//! What building minutes needs from the machine, checked before anything is compiled: a C++
//! compiler and cmake (whisper.cpp), pkg-config finding ALSA (cpal, on Linux) and the
//! wasm32-wasip2 target (the plugins). A miss is reported with the command that installs it.

use anyhow::bail;
use std::path::Path;
use std::process::{Command, Stdio};

const WASM_TARGET: &str = "wasm32-wasip2";

/// One thing the build needs and this machine lacks.
struct Missing {
    what: String,
    /// The Debian package that provides it, when apt-get installs it.
    debian_package: Option<&'static str>,
    /// The fix when it is not a system package.
    fix: Option<String>,
}

/// Whether `program args` starts and exits with success (its output is not shown).
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The C++ compiler cmake would pick: $CXX, else the usual names on PATH.
fn has_cxx() -> bool {
    if let Some(cxx) = std::env::var("CXX").ok().filter(|c| !c.trim().is_empty()) {
        let mut words = cxx.split_whitespace();
        let program = words.next().unwrap_or_default();
        let mut args: Vec<&str> = words.collect();
        args.push("--version");
        return succeeds(program, &args);
    }
    ["c++", "g++", "clang++"]
        .iter()
        .any(|c| succeeds(c, &["--version"]))
}

fn system_packages(missing: &mut Vec<Missing>) {
    if !has_cxx() {
        missing.push(Missing {
            what: "a C++ compiler (builds whisper.cpp)".into(),
            debian_package: Some("g++"),
            fix: None,
        });
    }
    if !succeeds("cmake", &["--version"]) {
        missing.push(Missing {
            what: "cmake (builds whisper.cpp)".into(),
            debian_package: Some("cmake"),
            fix: None,
        });
    }
    if cfg!(target_os = "linux") {
        // alsa-sys asks pkg-config, honouring $PKG_CONFIG like the pkg-config crate does.
        let pkg_config = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
        if !succeeds(&pkg_config, &["--version"]) {
            missing.push(Missing {
                what: "pkg-config (finds ALSA for audio capture)".into(),
                debian_package: Some("pkg-config"),
                fix: None,
            });
            if !Path::new("/usr/include/alsa/asoundlib.h").is_file() {
                missing.push(Missing {
                    what: "ALSA's development files (audio capture)".into(),
                    debian_package: Some("libasound2-dev"),
                    fix: None,
                });
            }
        } else if !succeeds(&pkg_config, &["--exists", "alsa"]) {
            missing.push(Missing {
                what: "ALSA's development files: `pkg-config --exists alsa` fails (audio capture)"
                    .into(),
                debian_package: Some("libasound2-dev"),
                fix: None,
            });
        }
    }
}

/// The wasm32-wasip2 target: added with rustup when rustup manages the toolchain (the README
/// promises that); otherwise looked for in the toolchain's sysroot.
fn wasm_target(missing: &mut Vec<Missing>) {
    let add = format!("rustup target add {WASM_TARGET}");
    if let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output()
    {
        if String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == WASM_TARGET)
        {
            return;
        }
        eprintln!("adding the {WASM_TARGET} target ({add})");
        if !succeeds_visibly("rustup", &["target", "add", WASM_TARGET]) {
            missing.push(Missing {
                what: format!(
                    "the {WASM_TARGET} target (the plugins are built for it): `{add}` failed \
                     (its error is above); run it again once rustup can download"
                ),
                debian_package: None,
                fix: None,
            });
        }
        return;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return; // no rustc to ask: cargo will say what is missing
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .is_dir()
    {
        missing.push(Missing {
            what: format!("the {WASM_TARGET} target in the Rust toolchain at {sysroot}"),
            debian_package: None,
            fix: Some(format!(
                "install Rust with rustup (https://rustup.rs), then `{add}`"
            )),
        });
    }
}

fn succeeds_visibly(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails, before anything is compiled, with every missing piece and the commands that
/// install them.
pub fn check() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    system_packages(&mut missing);
    wasm_target(&mut missing);
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = String::from("this machine lacks what building minutes needs:\n");
    for m in &missing {
        message.push_str(&format!("  - {}\n", m.what));
    }
    let packages: Vec<&str> = missing.iter().filter_map(|m| m.debian_package).collect();
    if !packages.is_empty() {
        if succeeds("apt-get", &["--version"]) {
            message.push_str(&format!(
                "install them with (as root, or with sudo before each apt-get):\n  \
                 apt-get update && apt-get install -y {}\n\
                 or everything the build and the tests need (the README's list):\n  \
                 apt-get update && xargs apt-get install -y < {}\n",
                packages.join(" "),
                super::workspace()
                    .join(".ci")
                    .join("debian-packages")
                    .display()
            ));
        } else {
            message.push_str(&format!(
                "install them with your system's package manager (Debian names: {})\n",
                packages.join(", ")
            ));
        }
    }
    for fix in missing.iter().filter_map(|m| m.fix.as_deref()) {
        message.push_str(&format!("then: {fix}\n"));
    }
    bail!("{}", message.trim_end())
}
