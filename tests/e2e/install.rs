use crate::common::*;

#[test]
fn install_info_list_export_remove_markdown_exporter() {
    let env = Env::new();
    let out = env.ok(&[
        "plugin",
        "install",
        archive("export-markdown").to_str().unwrap(),
    ]);
    assert!(
        out.contains("installed export-markdown 0.1.0 (exporter)"),
        "{out}"
    );

    let info = env.ok(&["plugin", "info", "export-markdown"]);
    assert!(info.contains("kind:        exporter"), "{info}");
    assert!(info.contains("network:     none"), "{info}");
    assert!(
        info.contains("include_transcript (boolean, default true)"),
        "{info}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["plugin", "info", "export-markdown", "--json"])).unwrap();
    assert_eq!(json["manifest"]["kind"], "exporter");
    let lock = std::fs::read_to_string(env.home.path().join("plugins.lock")).unwrap();
    let sha = json["installed"]["sha256"].as_str().unwrap();
    assert!(
        lock.contains(sha),
        "lock file does not record the sha256:\n{lock}"
    );
    assert_eq!(env.installed_ids(), ["export-markdown"]);

    let doc = env.document();
    let written = env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "notes",
    ]);
    let md_path = env.path("notes/2026-11-28-atlas-weekly-release-sync.md");
    assert!(
        written.contains("2026-11-28-atlas-weekly-release-sync.md"),
        "{written}"
    );
    let md = std::fs::read_to_string(&md_path).expect("markdown written");
    assert!(md.starts_with("---\ntitle: \"Atlas: weekly release sync\"\ndate: \"2026-11-28T10:00:00Z\"\nduration: \"0:03:01\"\n"), "{md}");
    assert!(
        md.contains("participants:\n  - \"Maria\"\n  - \"others\"\n"),
        "{md}"
    );
    assert!(
        md.contains("tags:\n  - \"atlas\"\n  - \"release\"\n"),
        "{md}"
    );
    assert!(
        md.contains("- [ ] Draft the announcement (Sam, due March 10th)"),
        "{md}"
    );
    assert!(
        md.contains("**[01:05] others:** Agreed, no soft launch."),
        "{md}"
    );

    // Never overwrite silently.
    let err = env.fails(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "notes",
    ]);
    assert!(err.contains("already exists; pass --force"), "{err}");
    env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--force",
    ]);

    let out = env.ok(&["plugin", "remove", "export-markdown"]);
    assert!(out.contains("removed export-markdown"), "{out}");
    assert!(env.installed_ids().is_empty());
    assert!(!env.home.path().join("plugins/export-markdown").exists());
    let err = env.fails(&["plugin", "info", "export-markdown"]);
    assert!(
        err.contains("no plugin `export-markdown` is installed"),
        "{err}"
    );
}

#[test]
fn settings_from_config_file_reach_the_plugin() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.export-markdown]\ninclude_transcript = false\n",
    )
    .unwrap();
    let doc = env.document();
    env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "out",
    ]);
    let md =
        std::fs::read_to_string(env.path("out/2026-11-28-atlas-weekly-release-sync.md")).unwrap();
    assert!(
        !md.contains("## Transcript"),
        "include_transcript = false was ignored:\n{md}"
    );

    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.export-markdown]\ninclude_transcript = \"no\"\n",
    )
    .unwrap();
    let err = env.fails(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "out2",
    ]);
    assert!(
        err.contains("config.toml") && err.contains("include_transcript"),
        "{err}"
    );
}

#[test]
fn a_corrupt_document_is_a_clear_error() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    std::fs::write(env.path("bad.json"), "{\"metadata\": 3}").unwrap();
    let err = env.fails(&[
        "export",
        "--document",
        "bad.json",
        "--to",
        "export-markdown",
    ]);
    assert!(err.contains("bad.json is not a meeting document"), "{err}");
}

#[test]
fn consent_is_needed_for_network_origins_and_secrets() {
    let env = Env::new();
    let pkg = package("probe-http");
    let err = env.fails(&["plugin", "install", pkg.to_str().unwrap()]);
    assert!(
        err.contains("network access to https://api.example.com"),
        "{err}"
    );
    assert!(err.contains("the secret `token`"), "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert!(env.installed_ids().is_empty(), "installed without consent");

    env.install(&pkg);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["plugin", "info", "probe-http", "--json"])).unwrap();
    assert_eq!(
        json["installed"]["granted_origins"][0],
        "https://api.example.com"
    );
    assert_eq!(json["installed"]["granted_secrets"][0], "token");
}

#[test]
fn compiled_code_cache_is_rebuilt_and_never_trusted_blindly() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let cache = env.home.path().join("cache/components");
    let artifacts: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        artifacts.len(),
        1,
        "install should precompile once: {artifacts:?}"
    );
    let doc = env.document();

    // Garbage where the precompiled artifact was: recompiled from the checked component.
    std::fs::write(&artifacts[0], b"not a compiled component").unwrap();
    env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "a",
    ]);

    // Gone entirely: recompiled and cached again.
    std::fs::remove_dir_all(&cache).unwrap();
    env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "b",
    ]);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);

    // The installed component changed behind minutes' back: refused, not run.
    std::fs::remove_dir_all(&cache).unwrap();
    let wasm = env
        .home
        .path()
        .join("plugins/export-markdown/export_markdown.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&wasm, bytes).unwrap();
    let err = env.fails(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-markdown",
        "--dir",
        "c",
    ]);
    assert!(err.contains("does not match its manifest"), "{err}");
}
