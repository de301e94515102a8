//! Error messages that point the right way: each names the thing that is wrong and a fix
//! that exists, once, where an editor finds it.

use crate::common::*;
use std::path::PathBuf;

fn jfk() -> PathBuf {
    shared("corpus/real/jfk.wav")
}

#[test]
fn a_missing_template_names_the_package_that_exists() {
    let env = Env::new();
    let doc = env.document();
    let err = env.fails(&[
        "summarize",
        doc.to_str().expect("utf-8"),
        "--template",
        "sales-call",
    ]);
    assert!(
        err.contains("template-sales-call-<version>.tar.gz"),
        "{err}"
    );
    assert!(
        !err.contains("/sales-call-"),
        "a package that does not exist: {err}"
    );
}

#[test]
fn config_toml_errors_are_about_settings_with_line_and_column() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let doc = env.document();
    let doc = doc.to_str().expect("utf-8");
    let config = env.home.path().join("config.toml");

    std::fs::write(&config, "[plugins.export-markdown]\nbogus = 1\n").expect("write");
    let err = env.fails(&["export", "--document", doc, "--to", "export-markdown"]);
    assert!(
        err.contains("config.toml") && err.contains("bogus"),
        "{err}"
    );
    assert!(
        !err.contains("manifest"),
        "config.toml is not a manifest: {err}"
    );

    std::fs::write(&config, "offline = false\n\n[summary\n").expect("write");
    let err = env.fails(&["export", "--document", doc, "--to", "export-markdown"]);
    assert!(
        err.contains("config.toml") && err.contains("line 3"),
        "{err}"
    );

    // A package's manifest: line and column, not a byte offset.
    std::fs::remove_file(&config).expect("rm");
    let pkg = copy_package("export-markdown", env.work.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(&manifest, text.replacen("version = ", "version = = ", 1)).expect("write");
    let err = env.fails(&["plugin", "install", "--yes", pkg.to_str().expect("utf-8")]);
    assert!(
        err.contains("line ") && err.contains("column ") && !err.contains("byte"),
        "{err}"
    );
}

#[test]
fn a_model_path_that_does_not_exist_is_not_an_unknown_model() {
    let env = Env::new();
    let jfk = jfk();
    let err = env.fails(&[
        "transcribe",
        jfk.to_str().expect("utf-8"),
        "--model",
        "./nope.bin",
    ]);
    assert!(err.contains("no model file at ./nope.bin"), "{err}");
    assert!(!err.contains("unknown model"), "{err}");
}

#[test]
fn audio_that_is_a_folder_or_missing_says_so_once() {
    let env = Env::new();
    let model = tiny();
    std::fs::create_dir(env.path("meetings")).expect("mkdir");
    let err = env.fails(&["transcribe", "meetings", "--model", &model]);
    assert!(err.contains("meetings is a folder"), "{err}");
    assert!(!err.contains("no known audio container"), "{err}");

    let err = env.fails(&["transcribe", "missing.wav", "--model", &model]);
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "said once: {err}"
    );
}

#[test]
fn installing_a_plugin_source_folder_says_to_build_it() {
    let env = Env::new();
    let source = workspace().join("tests/plugins/hostile-panic");
    let err = env.fails(&[
        "plugin",
        "install",
        "--yes",
        source.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("minutes plugin build"), "{err}");
    assert!(!err.contains("missing field"), "{err}");
}

#[test]
fn a_model_download_without_network_names_the_cause_and_the_other_route() {
    let env = Env::new();
    // Nothing listens on port 9 (discard) here: the connection is refused at once.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
        .args(["models", "pull", "tiny.en"])
        .env("MINUTES_HOME", env.home.path())
        .env("HOME", env.user.path())
        .env("MINUTES_MODEL_BASE_URL", "http://127.0.0.1:9/models")
        .current_dir(env.work.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(err.contains("--model PATH"), "{err}");
}

/// Every command a user runs shows how it is used.
#[test]
fn every_subcommand_help_has_examples() {
    let env = Env::new();
    let commands = [
        "process",
        "record",
        "recover",
        "transcribe",
        "summarize",
        "list",
        "show",
        "search",
        "delete",
        "rename",
        "label",
        "export",
        "devices",
        "models",
        "providers",
        "plugin",
        "secret",
        "audit",
        "bench",
    ];
    let nested = [
        "models list",
        "models pull",
        "models path",
        "plugin install",
        "plugin list",
        "plugin info",
        "plugin allow",
        "plugin deny",
        "plugin new",
        "plugin build",
        "plugin dev",
        "plugin remove",
        "secret set",
        "secret remove",
        "secret list",
        "label add",
        "label remove",
        "bench plugins",
        "bench net",
        "bench transcribe",
        "bench store",
    ];
    let missing: Vec<&str> = commands
        .iter()
        .chain(nested.iter())
        .copied()
        .filter(|c| {
            let mut args: Vec<&str> = c.split(' ').collect();
            args.push("--help");
            !env.ok(&args).contains("Example")
        })
        .collect();
    assert!(missing.is_empty(), "--help without examples: {missing:?}");
}
