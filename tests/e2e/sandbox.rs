//! Plugins that misbehave while running: the host stops them, says why, and carries on.

use crate::common::*;
use minutes::model::Document;
use minutes::plugins::{Error, Home, Registry, Runtime};
use std::time::{Duration, Instant};

fn loaded(env: &Env, id: &str) -> (Runtime, minutes::plugins::LoadedPlugin) {
    env.install(&package(id));
    let home = Home::at(env.home.path());
    let registry = Registry::open(home.clone()).unwrap();
    let runtime = Runtime::new(&home.cache_dir()).unwrap();
    let plugin = registry.load(&runtime, id).unwrap();
    (runtime, plugin)
}

fn document() -> Document {
    serde_json::from_str(SAMPLE_DOCUMENT).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn an_infinite_loop_is_stopped_at_its_deadline_and_the_host_answers_the_next_call() {
    let env = Env::new();
    let (_rt, plugin) = loaded(&env, "hostile-loop");
    let doc = document();
    let started = Instant::now();
    // On a thread, so that a loop the host fails to stop fails this test instead of hanging
    // the test run.
    let (done, stopped) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = block_on(plugin.export("spin", &doc));
        let _ = done.send((plugin, doc, result));
    });
    let (plugin, doc, result) = stopped
        .recv_timeout(Duration::from_secs(60))
        .expect("the looping plugin was not stopped within 60 s");
    let err = result.expect_err("must be stopped");
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout { secs: 2, .. }), "{err}");
    // Never before its deadline; after it, a loaded machine may run the epoch ticker late
    // (CI saw everything 2.5x slower), so the bound only says it WAS stopped: the loop itself
    // never ends.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(30),
        "stopped after {took:?}"
    );
    assert!(
        err.to_string()
            .contains("did not finish within its limit of 2 s"),
        "{err}"
    );

    // Same plugin, same process: the next call is answered.
    let files = block_on(plugin.export("ok", &doc)).expect("next call works");
    assert_eq!(files[0].bytes, b"still alive");

    // And through the binary.
    let docpath = env.document();
    let err = env.fails(&[
        "export",
        "--document",
        docpath.to_str().unwrap(),
        "--to",
        "hostile-loop",
        "--format",
        "spin",
    ]);
    assert!(
        err.contains(
            "plugin `hostile-loop` did not finish within its limit of 2 s and was stopped"
        ),
        "{err}"
    );
}

#[test]
fn a_memory_bomb_traps_at_its_limit() {
    let env = Env::new();
    let (_rt, plugin) = loaded(&env, "hostile-memory");
    let doc = document();
    let err = block_on(plugin.export("ok", &doc)).expect_err("must trap");
    assert!(matches!(err, Error::MemoryLimit { mib: 32, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("more than its memory limit of 32 MiB"),
        "{err}"
    );
    // A fresh Store per call: the next call starts clean.
    let info = block_on(plugin.exporter_info()).expect("next call works");
    assert_eq!(info.id, "hostile-memory");
}

#[test]
fn a_panic_is_reported_with_its_message_and_the_plugin_name() {
    let env = Env::new();
    env.install(&package("hostile-panic"));
    let doc = env.document();
    let err = env.fails(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "hostile-panic",
    ]);
    assert!(err.contains("plugin `hostile-panic` crashed"), "{err}");
    assert!(err.contains("hostile-panic gave up on format ok"), "{err}");
    assert!(
        !err.contains("RUST_BACKTRACE"),
        "host panicked instead: {err}"
    );
}

#[test]
fn offline_flag_refuses_every_request_of_a_run() {
    let env = Env::new();
    env.install(&package("probe-http"));
    let doc = env.document();
    env.ok(&[
        "--offline",
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "probe-http",
        "--dir",
        "out",
    ]);
    let result = std::fs::read_to_string(env.path("out/result.txt")).unwrap();
    assert!(
        result.starts_with("request to https://api.example.com denied: offline mode"),
        "{result}"
    );
    let audit = env.ok(&["audit", "--plugin", "probe-http"]);
    assert!(
        audit.contains("DENIED") && audit.contains("offline mode"),
        "{audit}"
    );
}

#[test]
fn a_plugin_cannot_escape_the_output_folder() {
    // export-markdown derives its file name from the title: a hostile title must not steer it.
    let env = Env::new();
    env.install(&package("export-markdown"));
    let doc = SAMPLE_DOCUMENT.replace("Atlas: weekly release sync", "../../../../tmp/evil");
    std::fs::write(env.path("evil.json"), doc).unwrap();
    env.ok(&[
        "export",
        "--document",
        "evil.json",
        "--to",
        "export-markdown",
        "--dir",
        "out",
    ]);
    let names: Vec<String> = std::fs::read_dir(env.path("out"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["2026-11-28-tmp-evil.md"]);
}

/// `minutes bench plugins` must give a package no more than an install would: this one asks
/// for a loopback server and for its token to be sent there, and fetches from it at every
/// export. Benchmarked, it reaches nothing and gets no secret — not the real home's, not the
/// environment's.
#[test]
fn a_benchmarked_package_reaches_no_host_and_no_secret() {
    let server = crate::server::TestServer::start();
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let pkg = copy_package("probe-http", scratch.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("https://api.example.com/v1/ping", &server.url("/v1/ping"))
        .replace("https://api.example.com", &server.origin());
    assert!(text.contains(&server.url("/v1/ping")), "{text}");
    std::fs::write(&manifest, text).unwrap();

    // The package really does reach the server when installed with consent.
    env.install(&pkg);
    let doc = env.document();
    env.ok(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "probe-http",
        "--dir",
        "out",
    ]);
    assert_eq!(server.hits().len(), 1, "the probe does not fetch");
    let before = server.hits().len();

    std::fs::create_dir_all(env.home.path().join("secrets")).unwrap();
    std::fs::write(
        env.home.path().join("secrets/probe-http.toml"),
        "token = \"home-secret\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
        .args([
            "bench",
            "plugins",
            "--iterations",
            "5",
            "--json",
            "--package",
        ])
        .arg(&pkg)
        .env("MINUTES_HOME", env.home.path())
        .env("HOME", env.user.path())
        .env("MINUTES_SECRETS", "file")
        .env("MINUTES_SECRET_PROBE_HTTP__TOKEN", "env-secret")
        .env_remove("MINUTES_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits = server.hits();
    let leaked: Vec<_> = hits[before..]
        .iter()
        .map(|h| (h.path.clone(), h.header("authorization").map(str::to_owned)))
        .collect();
    assert!(
        leaked.is_empty(),
        "the benchmarked package reached the server: {leaked:?}"
    );
}
