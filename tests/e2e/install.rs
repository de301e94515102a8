use crate::common::*;
use std::path::PathBuf;

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

/// probe-http declaring two origins, its `token` going only to the first, edited by `edit`.
pub(crate) fn probe_variant(
    dir: &std::path::Path,
    name: &str,
    edit: impl Fn(String) -> String,
) -> PathBuf {
    let pkg = copy_package("probe-http", &dir.join(name));
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replacen(
        "origins = [\"https://api.example.com\"]\n\n[[secrets]]",
        "origins = [\"https://api.example.com\", \"https://other.example.com\"]\n\n[[secrets]]",
        1,
    );
    assert!(text.contains("https://other.example.com"), "{text}");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    std::fs::write(&manifest, edited).unwrap();
    pkg
}

pub(crate) fn version_2(text: String) -> String {
    text.replace("version = \"0.1.0\"", "version = \"0.2.0\"")
}

fn installed_version(env: &Env, id: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["plugin", "info", id, "--json"])).unwrap();
    json["installed"]["version"].as_str().unwrap().to_string()
}

/// An update that keeps every origin but asks for more in another way (its secret sent
/// elsewhere or in another header, any endpoint, higher limits) is shown and needs consent,
/// like a new origin.
#[test]
fn an_update_that_asks_for_more_in_any_way_needs_consent() {
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let v1 = probe_variant(scratch.path(), "v1", |t| t + "\n");
    env.install(&v1);
    assert_eq!(installed_version(&env, "probe-http"), "0.1.0");

    type Edit = Box<dyn Fn(String) -> String>;
    let updates: Vec<(&str, Edit, &str)> = vec![
        (
            "secret-elsewhere",
            Box::new(|t| {
                t.replace(
                    "format = \"Bearer {}\"\norigins = [\"https://api.example.com\"]",
                    "format = \"Bearer {}\"\norigins = [\"https://other.example.com\"]",
                )
            }),
            "the secret `token` is now sent to https://other.example.com (before: only to https://api.example.com)",
        ),
        (
            "configurable",
            Box::new(|t| {
                t.replace(
                    "\"https://other.example.com\"]\n\n[[secrets]]",
                    "\"https://other.example.com\"]\nconfigurable = true\n\n[[secrets]]",
                )
            }),
            "its endpoint becomes yours to choose (network.configurable)",
        ),
        (
            "limits",
            Box::new(|t| {
                t.replace(
                    "call_timeout_secs = 5",
                    "call_timeout_secs = 3600\nmemory_mib = 4096",
                )
            }),
            "a higher limit: memory_mib 4096 (before: 128)",
        ),
        (
            "header",
            Box::new(|t| t.replace("header = \"Authorization\"", "header = \"X-Debug-Echo\"")),
            "the secret `token` is now sent as the header `X-Debug-Echo: Bearer …` (before: `Authorization: Bearer …`)",
        ),
    ];
    for (name, edit, shown) in &updates {
        let v2 = probe_variant(scratch.path(), name, |t| edit(version_2(t)));
        let err = env.fails(&["plugin", "install", v2.to_str().unwrap()]);
        assert!(
            err.contains("(updating from 0.1.0) asks for more than before"),
            "{name}: {err}"
        );
        assert!(
            err.contains(shown),
            "{name}: the difference is not shown:\n{err}"
        );
        assert!(err.contains("--yes"), "{name}: {err}");
        assert_eq!(
            installed_version(&env, "probe-http"),
            "0.1.0",
            "{name}: updated without consent"
        );
        // --grant names origins; it is no consent to higher limits or any endpoint.
        if matches!(*name, "configurable" | "limits") {
            let err = env.fails(&[
                "plugin",
                "install",
                "--grant",
                "https://api.example.com",
                v2.to_str().unwrap(),
            ]);
            assert!(err.contains(shown), "{name} with --grant: {err}");
            assert_eq!(installed_version(&env, "probe-http"), "0.1.0");
        }
    }

    // Consent given: the moved secret is granted again, now for the other origin.
    let v2 = probe_variant(scratch.path(), "secret-elsewhere-yes", |t| {
        (updates[0].1)(version_2(t))
    });
    env.install(&v2);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["plugin", "info", "probe-http", "--json"])).unwrap();
    assert_eq!(json["installed"]["version"], "0.2.0");
    assert_eq!(json["installed"]["granted_secrets"][0], "token");
    assert_eq!(
        json["effective"]["secrets"]["token"],
        serde_json::json!(["https://other.example.com"])
    );

    // An update that asks for nothing more installs without a question.
    let v3 = probe_variant(scratch.path(), "v3", |t| {
        (updates[0].1)(t.replace("version = \"0.1.0\"", "version = \"0.3.0\""))
    });
    let out = env.ok(&["plugin", "install", v3.to_str().unwrap()]);
    assert!(out.contains("updated probe-http 0.2.0 → 0.3.0"), "{out}");
}

/// What was consented to is the installed plugin.toml: an edit afterwards (here: the secret
/// sent to another origin, more memory) is refused until the plugin is reinstalled.
#[test]
fn a_manifest_edited_after_install_is_refused() {
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let pkg = probe_variant(scratch.path(), "v1", |t| t + "\n");
    env.install(&pkg);
    let installed = env.home.path().join("plugins/probe-http/plugin.toml");
    let text = std::fs::read_to_string(&installed).unwrap();
    let edited = text
        .replace(
            "format = \"Bearer {}\"\norigins = [\"https://api.example.com\"]",
            "format = \"Bearer {}\"\norigins = [\"https://other.example.com\"]",
        )
        .replace(
            "call_timeout_secs = 5",
            "call_timeout_secs = 5\nmemory_mib = 4096",
        );
    assert_ne!(edited, text);
    std::fs::write(&installed, edited).unwrap();

    let doc = env.document();
    for args in [
        vec!["plugin", "info", "probe-http"],
        vec![
            "export",
            "--document",
            doc.to_str().unwrap(),
            "--to",
            "probe-http",
            "--dir",
            "out",
        ],
    ] {
        let err = env.fails(&args);
        assert!(
            err.contains(&format!(
                "{} was changed after plugin `probe-http` was installed",
                installed.display()
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("Reinstall the plugin from its package"),
            "{args:?}: {err}"
        );
    }
    assert!(
        !env.path("out/result.txt").exists(),
        "the edited plugin ran"
    );
    let list = env.ok(&["plugin", "list"]);
    assert!(list.contains("changed since install: reinstall"), "{list}");

    // The fix the message names: reinstalling asks again for everything, then works.
    let err = env.fails(&["plugin", "install", pkg.to_str().unwrap()]);
    assert!(
        err.contains("network access to https://api.example.com"),
        "{err}"
    );
    env.install(&pkg);
    env.ok(&["plugin", "info", "probe-http"]);
}

/// A plugin whose endpoint the user chooses: consent and info say where its secret goes, and
/// `plugin allow` says which secret it now sends to the allowed origin.
#[test]
fn a_configurable_plugin_shows_its_effective_grants() {
    let env = Env::new();
    let pkg = package("openai-compatible");
    let err = env.fails(&["plugin", "install", pkg.to_str().unwrap()]);
    assert!(!err.contains("requests to  ("), "empty origin in: {err}");
    assert!(
        err.contains("an endpoint you choose: it reaches nothing until you allow one"),
        "{err}"
    );
    assert!(
        err.contains(
            "the secret `api-key`, which minutes adds as the header `Authorization: Bearer …` \
             on requests to the endpoints you allow with `minutes plugin allow openai-compatible` (none yet)"
        ),
        "{err}"
    );
    env.install(&pkg);
    let info = env.ok(&["plugin", "info", "openai-compatible"]);
    assert!(
        info.contains("reaches nothing yet: minutes plugin allow openai-compatible <origin>"),
        "{info}"
    );

    let out = env.ok(&[
        "plugin",
        "allow",
        "openai-compatible",
        "http://127.0.0.1:8080",
    ]);
    assert!(
        out.contains("plugin `openai-compatible` may now reach http://127.0.0.1:8080"),
        "{out}"
    );
    assert!(
        out.contains(
            "its secret `api-key` will be sent to http://127.0.0.1:8080 as the header `Authorization: Bearer …`"
        ),
        "allow granted a secret without saying so:\n{out}"
    );

    let info = env.ok(&["plugin", "info", "openai-compatible"]);
    assert!(!info.contains("cannot reach any host"), "{info}");
    assert!(info.contains("may reach http://127.0.0.1:8080"), "{info}");
    assert!(info.contains("sent on http://127.0.0.1:8080"), "{info}");
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["plugin", "info", "openai-compatible", "--json"])).unwrap();
    assert_eq!(
        json["effective"]["origins"],
        serde_json::json!(["http://127.0.0.1:8080"])
    );
    assert_eq!(
        json["effective"]["secrets"]["api-key"],
        serde_json::json!(["http://127.0.0.1:8080"])
    );

    // Taken back: reaches nothing again.
    env.ok(&[
        "plugin",
        "deny",
        "openai-compatible",
        "http://127.0.0.1:8080",
    ]);
    let info = env.ok(&["plugin", "info", "openai-compatible"]);
    assert!(info.contains("reaches nothing yet"), "{info}");
}
