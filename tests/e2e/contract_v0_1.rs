//! Plugins built for contract v0.1, kept as released (tests/fixtures/plugins-v0.1): they still
//! install, load and work through the host's adapters — a v0.1 template through a v0.1 provider,
//! its uncited decisions shown, speakers named in the export — and a manifest that claims
//! another contract than its component speaks is refused at install.

use crate::common::*;
use crate::fake_llm::{FakeLlm, Reply};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(id: &str) -> PathBuf {
    workspace()
        .join("tests/fixtures/plugins-v0.1")
        .join(format!("{id}-0.1.0.tar.gz"))
}

/// Unpacks a fixture package into `into` and returns its folder.
fn unpack(id: &str, into: &Path) -> PathBuf {
    let status = std::process::Command::new("tar")
        .arg("xzf")
        .arg(fixture(id))
        .arg("-C")
        .arg(into)
        .status()
        .expect("tar");
    assert!(status.success());
    into.join(format!("{id}-0.1.0"))
}

const MEETING: &str = r#"{
  "metadata": {"id": "2026-11-28-atlas", "title": "Atlas weekly", "started_at": "2026-11-28T10:00:00Z",
               "duration_ms": 70000, "labels": ["atlas"], "language": "en", "channel_names": ["me", "others"]},
  "transcript": {"language": "en", "segments": [
    {"start_ms": 1000, "end_ms": 4000, "channel": 0, "speaker": "Maria", "text": "We move the launch to March 17th."},
    {"start_ms": 65000, "end_ms": 68000, "channel": 1, "speaker": "Dev Team", "text": "Agreed. I will update the landing page by Friday."}
  ]}
}"#;

const ANSWER: &str = r#"{"sections": {"overview": "The launch moves to March 17th.", "key_points": ["The landing page changes"]},
 "decisions": ["Launch on March 17th"],
 "action_items": [{"owner": "Dev Team", "task": "Update the landing page", "due": "Friday"}],
 "open_questions": ["Who writes the press kit?"]}"#;

#[test]
fn v0_1_template_provider_and_exporter_work_through_the_adapters() {
    let fake = FakeLlm::start();
    fake.on(
        "POST /v1/chat/completions",
        vec![Reply::openai_stream("served-model", &[ANSWER], "stop", (120, 60)); 3],
    );
    let env = Env::new();
    for id in ["template-standard", "openai-compatible", "export-markdown"] {
        env.install(&fixture(id));
    }
    let info = env.ok(&["plugin", "info", "template-standard"]);
    assert!(info.contains("contract:    minutes:plugin@0.1.0"), "{info}");
    env.ok(&["plugin", "allow", "openai-compatible", &fake.origin()]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[plugins.openai-compatible]\nmax_retries = 1\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\n",
            fake.origin()
        ),
    )
    .expect("config");
    let doc = env.path("meeting.json");
    std::fs::write(&doc, MEETING).expect("write");
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    env.ok(&[
        "summarize",
        "2026-11-28-atlas",
        "--provider",
        "openai-compatible",
        "--template",
        "standard",
    ]);
    // The v0.1 provider was asked for a JSON object, as a v0.1 template asks.
    let hit = &fake.hits_on("/v1/chat/completions")[0];
    assert_eq!(hit.json()["response_format"]["type"], "json_object");

    let shown: Value =
        serde_json::from_str(&env.ok(&["show", "2026-11-28-atlas", "--json"])).expect("json");
    let summary = &shown["document"]["summary"];
    assert_eq!(summary["decisions"][0]["text"], "Launch on March 17th");
    assert_eq!(summary["decisions"][0]["grounding"], "uncited");
    assert_eq!(summary["action_items"][0]["owner"], "Dev Team");
    assert_eq!(summary["action_items"][0]["grounding"], "uncited");
    let speakers = &shown["document"]["transcript"]["speakers"];
    assert_eq!(speakers[0]["name"], "Maria");
    assert_eq!(speakers[1]["id"], "dev-team");
    let text = env.ok(&["show", "2026-11-28-atlas"]);
    assert!(text.contains("Launch on March 17th"), "{text}");
    assert!(text.contains("Dev Team: Agreed."), "{text}");

    env.ok(&[
        "export",
        "2026-11-28-atlas",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
    ]);
    let written = std::fs::read_dir(env.path("notes"))
        .expect("notes")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    let md = std::fs::read_to_string(&written).expect("read");
    assert!(md.contains("Launch on March 17th"), "{md}");
    assert!(md.contains("Update the landing page"), "{md}");
    assert!(md.contains("Who writes the press kit?"), "{md}");
    assert!(md.contains("Maria") && md.contains("Dev Team"), "{md}");
}

#[test]
fn a_v0_1_component_whose_manifest_claims_0_2_is_refused_at_install() {
    let env = Env::new();
    let scratch = tempfile::tempdir().expect("tmp");
    let pkg = unpack("export-markdown", scratch.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    assert!(text.contains("api = \"0.1\""), "{text}");
    std::fs::write(&manifest, text.replace("api = \"0.1\"", "api = \"0.2\"")).expect("write");
    let err = env.fails(&["plugin", "install", "--yes", pkg.to_str().expect("utf-8")]);
    assert!(
        err.contains("export-markdown")
            && err.contains("claims contract minutes:plugin@0.2")
            && err.contains("speaks minutes:plugin@0.1.0")
            && err.contains("api = \"0.1\""),
        "{err}"
    );
    assert!(env.installed_ids().is_empty());
}

/// A template built for v0.2 runs beside a v0.1 provider: the host adapts its JSON-schema
/// request for the v0.1 provider, gives it segment ids and named speakers, and keeps its
/// citations. The same component claiming v0.1 is refused.
#[test]
fn a_v0_2_template_runs_through_a_v0_1_provider_and_keeps_its_citations() {
    let fake = FakeLlm::start();
    fake.on(
        "POST /v1/chat/completions",
        vec![Reply::openai_stream("served-model", &["{\"ok\": true}"], "stop", (3, 2)); 2],
    );
    let env = Env::new();
    let probe = workspace().join("tests/fixtures/probe-v0.2");
    env.install(&probe);
    env.install(&fixture("openai-compatible"));
    let info = env.ok(&["plugin", "info", "probe-v02"]);
    assert!(info.contains("contract:    minutes:plugin@0.2.0"), "{info}");
    env.ok(&["plugin", "allow", "openai-compatible", &fake.origin()]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[plugins.openai-compatible]\nmax_retries = 1\nbase_url = \"{}/v1\"\nmodel = \"test-model\"\n",
            fake.origin()
        ),
    )
    .expect("config");
    let doc = env.path("meeting.json");
    std::fs::write(&doc, MEETING).expect("write");
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    env.ok(&[
        "summarize",
        "2026-11-28-atlas",
        "--provider",
        "openai-compatible",
        "--template",
        "probe-v02",
    ]);
    let hit = &fake.hits_on("/v1/chat/completions")[0];
    assert_eq!(hit.json()["response_format"]["type"], "json_object");
    let shown: Value =
        serde_json::from_str(&env.ok(&["show", "2026-11-28-atlas", "--json"])).expect("json");
    let summary = &shown["document"]["summary"];
    assert!(
        summary["markdown"].as_str().is_some_and(
            |m| m.contains("meta speakers 2") && m.contains("Some(\"Dev Team\") (id 1)")
        ),
        "{summary}"
    );
    assert_eq!(summary["decisions"][0]["citations"][0]["segment_id"], 1);
    assert_eq!(summary["decisions"][0]["citations"][0]["at_ms"], 65000);
    assert_eq!(summary["action_items"][0]["owner_speaker_id"], "dev-team");

    let scratch = tempfile::tempdir().expect("tmp");
    let copy = scratch.path().join("probe");
    std::fs::create_dir(&copy).expect("mkdir");
    for f in ["plugin.toml", "probe_v02.wasm"] {
        std::fs::copy(probe.join(f), copy.join(f)).expect("copy");
    }
    let manifest = copy.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("api = \"0.2\"", "api = \"0.1\"")
            .replace("id = \"probe-v02\"", "id = \"probe-claims-v01\""),
    )
    .expect("write");
    let err = env.fails(&["plugin", "install", "--yes", copy.to_str().expect("utf-8")]);
    assert!(
        err.contains("probe-claims-v01") && err.contains("speaks minutes:plugin@0.2.0"),
        "{err}"
    );
}
