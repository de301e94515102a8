//! Packages that must never be installed, and the messages that say why.

use crate::common::*;

fn assert_nothing_installed(env: &Env) {
    assert!(
        env.installed_ids().is_empty(),
        "a refused plugin was installed"
    );
    let plugins = env.home.path().join("plugins");
    let leftovers: Vec<_> = std::fs::read_dir(&plugins)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        leftovers.is_empty(),
        "refused install left files: {leftovers:?}"
    );
}

#[test]
fn a_template_that_imports_http_is_refused() {
    let env = Env::new();
    let err = env.fails(&[
        "plugin",
        "install",
        "--yes",
        package("hostile-template-http").to_str().unwrap(),
    ]);
    assert!(
        err.contains("is a template but imports `minutes:plugin/http@0.2.0`"),
        "{err}"
    );
    assert!(err.contains("through `llm`"), "{err}");
    assert_nothing_installed(&env);
}

#[test]
fn an_exporter_that_imports_sockets_is_refused() {
    let env = Env::new();
    let err = env.fails(&[
        "plugin",
        "install",
        "--yes",
        archive("hostile-sockets").to_str().unwrap(),
    ]);
    assert!(
        err.contains("is an exporter but imports `wasi:sockets/"),
        "{err}"
    );
    assert!(err.contains("bypass the host's network checks"), "{err}");
    assert_nothing_installed(&env);
}

#[test]
fn a_component_that_does_not_match_its_sha256_is_refused() {
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let pkg = copy_package("export-markdown", scratch.path());
    let wasm = pkg.join("export_markdown.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&wasm, bytes).unwrap();
    let err = env.fails(&["plugin", "install", "--yes", pkg.to_str().unwrap()]);
    assert!(
        err.contains("export_markdown.wasm` does not match its manifest"),
        "{err}"
    );
    assert!(err.contains("tampered"), "{err}");
    assert_nothing_installed(&env);
}

#[test]
fn a_kind_lie_is_refused() {
    // An exporter component declared as a template: its exports do not fit.
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let pkg = copy_package("export-markdown", scratch.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("kind = \"exporter\"", "kind = \"template\"")
        // A template declares no formats; without this the manifest check stops it first.
        .replace("[formats.md]\nextensions = [\"md\"]\nmax_files = 1\n", "");
    std::fs::write(&manifest, text).unwrap();
    let err = env.fails(&["plugin", "install", "--yes", pkg.to_str().unwrap()]);
    assert!(
        err.contains("export-markdown") && err.contains("template"),
        "{err}"
    );
    assert_nothing_installed(&env);
}

#[test]
fn malformed_and_hostile_manifests_get_clear_errors() {
    let scratch = tempfile::tempdir().unwrap();
    // (what to change in the real manifest, what the error must say)
    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|t| t + "\nsurprise = true\n"), "surprise"),
        (
            Box::new(|t| t.replace("version = \"0.1.0\"\n", "")),
            "missing field `version`",
        ),
        (
            Box::new(|t| t.replace("id = \"export-markdown\"", "id = \"../../etc\"")),
            "path separators",
        ),
        (
            Box::new(|t| t.replace("id = \"export-markdown\"", "id = \"a/b\"")),
            "path separators",
        ),
        (
            Box::new(|t| {
                t.replace(
                    "file = \"export_markdown.wasm\"",
                    "file = \"../../bin/sh.wasm\"",
                )
            }),
            "plain file name",
        ),
        (
            Box::new(|t| t.replace("api = \"0.2\"", "api = \"7\"")),
            "not supported",
        ),
        (
            Box::new(|t| t + "\n[network]\norigins = [\"https://evil.example\"]\n"),
            "cannot use the network",
        ),
        (
            Box::new(|t| t + "\n[limits]\nmemory_mib = 999999\n"),
            "memory_mib",
        ),
        (Box::new(|_| "id = [".to_string()), "plugin.toml"),
        (Box::new(|_| "\u{0}\u{1}binary".to_string()), "plugin.toml"),
    ];
    for (i, (edit, needle)) in cases.iter().enumerate() {
        let env = Env::new();
        let dir = scratch.path().join(format!("case{i}"));
        let pkg = copy_package("export-markdown", &dir);
        let manifest = pkg.join("plugin.toml");
        std::fs::write(&manifest, edit(std::fs::read_to_string(&manifest).unwrap())).unwrap();
        let err = env.fails(&["plugin", "install", "--yes", pkg.to_str().unwrap()]);
        assert!(
            err.contains(needle),
            "case {i}: error does not say {needle:?}:\n{err}"
        );
        assert!(
            err.contains(&format!("case{i}/export-markdown/plugin.toml")),
            "case {i}: error does not name the file:\n{err}"
        );
        assert!(!err.contains("panicked"), "case {i}: {err}");
        assert_nothing_installed(&env);
    }
}

#[test]
fn not_a_package_is_a_clear_error() {
    let env = Env::new();
    std::fs::write(env.path("notes.txt"), "hello").unwrap();
    let err = env.fails(&["plugin", "install", "notes.txt"]);
    assert!(err.contains("not a plugin package"), "{err}");
    std::fs::write(env.path("broken.tar.gz"), "definitely not gzip").unwrap();
    let err = env.fails(&["plugin", "install", "broken.tar.gz"]);
    assert!(err.contains("broken.tar.gz"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
