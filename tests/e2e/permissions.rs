//! Who else on the machine can read your meetings: the home, the store and the ledger are the
//! user's alone; notes exported for sharing keep ordinary permissions.
#![cfg(unix)]

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sqlite_files(db: &Path) -> Vec<std::path::PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| Path::new(&format!("{}{s}", db.display())).to_path_buf())
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn a_new_home_and_its_meetings_are_private_but_exports_are_not() {
    let env = Env::new();
    let home = env.home.path().join("fresh");
    let h = home.to_str().expect("utf-8");
    let doc = env.document();
    env.ok(&[
        "--home",
        h,
        "store",
        "add-document",
        doc.to_str().expect("utf-8"),
    ]);
    assert_eq!(mode(&home), 0o700, "the home");
    let store = sqlite_files(&home.join("minutes.sqlite"));
    assert!(!store.is_empty());
    for f in store {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }

    env.ok(&[
        "--home",
        h,
        "plugin",
        "install",
        "--yes",
        package("export-markdown").to_str().expect("utf-8"),
    ]);
    let out = env.ok(&[
        "--home",
        h,
        "export",
        "m-42",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--json",
    ]);
    let written: serde_json::Value = serde_json::from_str(&out).expect("json");
    let written = env.path(written[0].as_str().expect("path"));
    let ledger = sqlite_files(&home.join("egress.sqlite"));
    assert!(!ledger.is_empty(), "the export opened the ledger");
    for f in ledger {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    for entry in std::fs::read_dir(&home).expect("home") {
        let p = entry.expect("entry").path();
        assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
    }
    // Notes are meant to be shared: the same permissions as any file the user makes there.
    let probe = written.with_file_name("probe.txt");
    std::fs::write(&probe, "x").expect("probe");
    assert_eq!(mode(&written), mode(&probe), "{}", written.display());
}

#[test]
fn an_old_readable_home_is_made_private_with_a_notice() {
    let env = Env::new();
    let home = env.home.path().join("old");
    let h = home.to_str().expect("utf-8");
    let doc = env.document();
    env.ok(&[
        "--home",
        h,
        "store",
        "add-document",
        doc.to_str().expect("utf-8"),
    ]);
    // What minutes 0.1 left behind: everything readable by every user.
    let recording = home.join("recordings").join("2026-11-28-10-00-00");
    std::fs::create_dir_all(&recording).expect("mkdir");
    std::fs::write(recording.join("audio.wav"), b"RIFF").expect("write");
    let db = home.join("minutes.sqlite");
    for (p, m) in [
        (&home, 0o755),
        (&db, 0o644),
        (&home.join("recordings"), 0o755),
        (&recording, 0o755),
        (&recording.join("audio.wav"), 0o644),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod");
    }

    let out = env.run(&["--home", h, "list"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("notice:") && stderr.contains("private to you"),
        "{stderr}"
    );
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&recording), 0o700);
    assert_eq!(mode(&recording.join("audio.wav")), 0o600);

    // Once mended, no more notices.
    let out = env.run(&["--home", h, "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("notice:"), "{stderr}");
}
