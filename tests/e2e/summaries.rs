//! Summaries end to end: template plugins driven by `minutes summarize`, their model calls
//! routed by the host to a provider plugin (here against the scriptable fake), the data policy
//! checked before anything is sent, and the provenance recorded.

use crate::common::*;
use crate::fake_llm::{FakeLlm, Reply};
use serde_json::{Value, json};

const CHAT: &str = "POST /v1/chat/completions";

fn corpus(rel: &str) -> String {
    workspace()
        .join("../shared/corpus")
        .join(rel)
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// A valid answer for the standard notes schema, as a non-streamed chat completion.
pub(crate) fn notes_reply() -> Reply {
    let notes = json!({
        "sections": {"overview": "The team kicked off the remote control design.", "key_points": ["Budget is 12.50 euros per unit."]},
        "decisions": ["Use a rubber case."],
        "action_items": [{"owner": "FEE041", "task": "Send the minutes", "due": null}],
        "open_questions": []
    });
    let body = json!({
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": notes.to_string()}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 700, "completion_tokens": 60}
    });
    Reply::json(200, &body.to_string())
}

/// A home with the standard template and `openai-compatible` pointed at `fake` with a small
/// context window, plus `extra_config` (TOML).
pub(crate) fn setup(fake: &FakeLlm, context_window: u32, extra_config: &str) -> Env {
    let env = Env::new();
    for p in [
        "template-standard",
        "template-extractive",
        "template-custom",
        "openai-compatible",
    ] {
        env.install(&package(p));
    }
    env.ok(&["plugin", "allow", "openai-compatible", &fake.origin()]);
    let config = format!(
        "[plugins.openai-compatible]\nbase_url = \"{}/v1\"\nmodel = \"fake-model\"\nstream = false\ncontext_window = {context_window}\nmax_output = 512\n\n{extra_config}",
        fake.origin()
    );
    std::fs::write(env.home.path().join("config.toml"), config).expect("config");
    env
}

fn summarize_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["summarize"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&env.ok(&all)).expect("summarize --json")
}

fn audit_rows(env: &Env) -> usize {
    let audit: Value = serde_json::from_str(&env.ok(&["audit", "--json"])).expect("audit");
    audit["records"].as_array().expect("records").len()
}

#[test]
fn a_long_transcript_is_planned_into_chunks_and_every_segment_is_sent() {
    let fake = FakeLlm::start();
    fake.on(CHAT, vec![notes_reply()]);
    let env = setup(&fake, 2048, "");
    let ami = corpus("text/ami_ES2011a_transcript.json");
    let out = summarize_json(&env, &[&ami, "--provider", "openai-compatible"]);
    let p = &out["provenance"];
    let chunks = p["plan"]["chunks"]
        .as_array()
        .expect("a plan was announced");
    assert!(
        chunks.len() >= 3,
        "18 minutes in a 2,048-token window must take several chunks: {p}"
    );
    let requests = p["requests"].as_array().expect("requests");
    let hits = fake.hits_on("/v1/chat/completions");
    assert_eq!(
        requests.len(),
        hits.len(),
        "provenance records every request sent"
    );
    assert!(
        requests.len() > chunks.len(),
        "map over {} chunks, then reduce: {} requests",
        chunks.len(),
        requests.len()
    );
    for r in requests {
        assert_eq!(r["prompt_sha256"].as_str().expect("hash").len(), 64);
    }
    // Nothing truncated: every segment of the transcript reached the model in some request.
    let sent: String = hits
        .iter()
        .map(|h| h.json()["messages"].to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let source: Value =
        serde_json::from_str(&std::fs::read_to_string(&ami).expect("ami")).expect("json");
    let segments = source["segments"].as_array().expect("segments");
    let missing: Vec<&str> = segments
        .iter()
        .filter_map(|s| s["text"].as_str())
        .filter(|t| !t.split_whitespace().all(|w| sent.contains(w)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} segments never reached the model, e.g. {:?}",
        missing.len(),
        segments.len(),
        missing.first()
    );
    let whole = segments
        .iter()
        .filter_map(|s| s["text"].as_str())
        .filter(|t| sent.contains(&t.split_whitespace().collect::<Vec<_>>().join(" ")))
        .count();
    assert!(
        whole * 100 >= segments.len() * 95,
        "only {whole} of {} segments were sent whole",
        segments.len()
    );
    // Each request fits the declared window by the template's own estimate.
    for c in chunks {
        assert!(c[2].as_u64().expect("tokens") <= 2048, "{c}");
    }
    assert_eq!(p["provider"]["id"], "openai-compatible");
    assert_eq!(p["template"]["id"], "template-standard");
    assert_eq!(p["context_window"], 2048);
    assert_eq!(
        p["input_tokens"].as_u64(),
        Some(700 * requests.len() as u64)
    );
    let md = out["summary"]["markdown"].as_str().expect("markdown");
    assert!(md.contains("Use a rubber case"), "{md}");
    assert_eq!(
        audit_rows(&env),
        hits.len(),
        "the ledger records each request"
    );
}

#[test]
fn the_data_policy_refuses_before_anything_is_sent() {
    let fake = FakeLlm::start();
    fake.on(CHAT, vec![notes_reply()]);
    let meeting = corpus("synthetic/meeting_a.json");
    // A provider that may reach a public service, under a rule it does not meet (its policy is
    // unknown). The fake is granted too, but nothing may go anywhere.
    let env = setup(&fake, 8192, "[policy]\nrequire_zero_retention = true\n");
    env.ok(&[
        "plugin",
        "allow",
        "openai-compatible",
        "https://llm.example.com",
    ]);
    let err = env.fails(&["summarize", &meeting, "--provider", "openai-compatible"]);
    assert!(
        err.contains("[policy] require_zero_retention = true"),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(
        err.contains("https://llm.example.com") || err.contains("retention"),
        "{err}"
    );
    assert!(fake.hits().is_empty());
    assert_eq!(audit_rows(&env), 0);

    // Per-label rule: a meeting labelled `confidential` goes only to providers on this machine.
    let env = setup(
        &fake,
        8192,
        "[policy.labels.confidential]\nlocal_only = true\n",
    );
    let mut doc: Value = serde_json::from_str(&env.ok(&[
        "summarize",
        &meeting,
        "--template",
        "extractive",
        "--json",
    ]))
    .expect("json");
    assert!(doc["provenance"]["provider"].is_null());
    let dir = tempfile::tempdir().expect("tmp");
    let labelled = dir.path().join("confidential.json");
    let source = serde_json::from_str::<Value>(&std::fs::read_to_string(&meeting).expect("read"))
        .expect("json");
    doc = json!({
        "metadata": {"id": "m1", "title": "Board", "started_at": "2026-11-30T09:00:00Z", "duration_ms": 181000,
                     "labels": ["confidential"], "language": "en", "channel_names": []},
        "transcript": {"segments": source["segments"].as_array().expect("segments").iter().map(|s| json!({
            "start_ms": (s["start"].as_f64().unwrap_or(0.0) * 1000.0) as u64, "end_ms": (s["end"].as_f64().unwrap_or(0.0) * 1000.0) as u64,
            "channel": 0, "speaker": s["name"], "text": s["text"]})).collect::<Vec<_>>(), "language": "en"},
        "summary": null
    });
    std::fs::write(&labelled, doc.to_string()).expect("write");
    let labelled = labelled.to_str().expect("utf-8");
    // Loopback only: allowed.
    let ok = summarize_json(&env, &[labelled, "--provider", "openai-compatible"]);
    assert_eq!(ok["provenance"]["provider"]["id"], "openai-compatible");
    assert_eq!(fake.hits().len(), 1);
    // The same provider, once it may also reach a public host: refused, naming the label's rule.
    env.ok(&[
        "plugin",
        "allow",
        "openai-compatible",
        "https://llm.example.com",
    ]);
    let err = env.fails(&["summarize", labelled, "--provider", "openai-compatible"]);
    assert!(
        err.contains("[policy.labels.confidential]") && err.contains("local_only = true"),
        "{err}"
    );
    assert!(err.contains("labelled `confidential`"), "{err}");
    assert_eq!(fake.hits().len(), 1, "nothing more was sent");
}

#[test]
fn offline_by_default_and_llm_templates_say_what_they_need() {
    let fake = FakeLlm::start();
    let env = setup(&fake, 8192, "");
    let meeting = corpus("synthetic/meeting_a.json");
    // No provider configured: the extractive template, nothing sent.
    let out = summarize_json(&env, &[&meeting]);
    assert_eq!(out["provenance"]["template"]["id"], "template-extractive");
    assert!(out["provenance"]["provider"].is_null());
    let owners: Vec<&str> = out["summary"]["action_items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["owner"].as_str())
        .collect();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(corpus("synthetic/meeting_a_summary_ref.json")).expect("ref"),
    )
    .expect("json");
    for item in reference["action_items"]
        .as_array()
        .expect("reference items")
    {
        let owner = item["owner"].as_str().expect("owner");
        assert!(
            owners.contains(&owner),
            "reference owner {owner} missing from {owners:?}"
        );
    }
    // An LLM template without a provider: a clear error naming the offline alternative.
    let err = env.fails(&["summarize", &meeting, "--template", "standard"]);
    assert!(
        err.contains("needs a language model") && err.contains("--template extractive"),
        "{err}"
    );
    assert!(fake.hits().is_empty());
    assert_eq!(audit_rows(&env), 0);
}

#[test]
fn a_template_file_without_rust_runs_through_the_generic_template() {
    let fake = FakeLlm::start();
    let env = setup(&fake, 8192, "[summary]\nprovider = \"openai-compatible\"\n");
    let reply = json!({
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": json!({
            "sections": {"risks": ["Launch slips again"]}, "decisions": [], "action_items": [], "open_questions": []
        }).to_string()}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 20}
    });
    fake.on(CHAT, vec![Reply::json(200, &reply.to_string())]);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("risks.json");
    // Meetily's template format, as is.
    std::fs::write(&file, r#"{"name": "Risk review", "description": "Risks only",
        "sections": [{"title": "Risks", "instruction": "List every risk mentioned, with who raised it.", "format": "list"}]}"#).expect("write");
    let out = summarize_json(
        &env,
        &[
            &corpus("synthetic/meeting_a.json"),
            "--template",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out["provenance"]["template"]["id"], "template-custom");
    assert_eq!(
        out["provenance"]["template_definition_sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    let hits = fake.hits_on("/v1/chat/completions");
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0].json()["messages"]
            .to_string()
            .contains("List every risk mentioned"),
        "the file's instruction reaches the model"
    );
    assert!(
        out["summary"]["markdown"]
            .as_str()
            .expect("md")
            .contains("Launch slips again")
    );
    // A broken file names the field.
    std::fs::write(
        &file,
        r#"{"name": "x", "sections": [{"title": "T", "instruction": "i", "format": "table"}]}"#,
    )
    .expect("write");
    let err = env.fails(&[
        "summarize",
        &corpus("synthetic/meeting_a.json"),
        "--template",
        file.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("format") && err.contains("table"), "{err}");
}

#[test]
fn a_stored_meeting_is_summarised_in_place_and_its_summary_is_searchable() {
    let fake = FakeLlm::start();
    fake.on(CHAT, vec![notes_reply()]);
    let env = setup(&fake, 8192, "");
    let doc = env.document();
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    let out = summarize_json(&env, &["m-4", "--provider", "openai-compatible"]);
    assert_eq!(
        out["meeting"], "m-42",
        "a unique id prefix names the stored meeting"
    );
    let show: Value = serde_json::from_str(&env.ok(&["show", "m-42", "--json"])).expect("show");
    let shown = show.to_string();
    assert!(shown.contains("Use a rubber case"), "{shown}");
    assert!(
        shown.contains("template-standard") && shown.contains("openai-compatible"),
        "provenance is kept: {shown}"
    );
    let hits: Value =
        serde_json::from_str(&env.ok(&["search", "rubber case", "--json"])).expect("search");
    assert!(hits.to_string().contains("m-42"), "{hits}");
    let err = env.fails(&["summarize", "no-such-meeting"]);
    assert!(err.contains("no-such-meeting"), "{err}");
}

/// The standard template through a real local model (llama.cpp behind the Ollama API): the
/// notes have the template's shape and real token counts. The model is small: the test checks
/// shape and loose content, never exact text.
#[test]
fn real_model_writes_standard_notes_for_meeting_a() {
    use crate::providers::{REAL_SERVER, origin_of, real_server};
    let Some(base) = real_server("OLLAMA_BASE_URL") else {
        return;
    };
    let _slot = REAL_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let model = std::env::var("LLM_MODEL_NAME").unwrap_or_else(|_| "qwen2.5-coder:0.5b".into());
    let env = Env::new();
    for p in ["template-standard", "ollama"] {
        env.install(&package(p));
    }
    env.ok(&["plugin", "allow", "ollama", &origin_of(&base)]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!("[summary]\nprovider = \"ollama\"\n\n[plugins.ollama]\nbase_url = \"{base}\"\nmodel = \"{model}\"\ncontext_window = 4096\n"),
    )
    .expect("config");
    let started = std::time::Instant::now();
    let meeting = corpus("synthetic/meeting_a.json");
    let args = ["summarize", meeting.as_str(), "--json"];
    let mut run = env.run(&args);
    // A 0.5B model loops in a list until its token limit on both tries of a run in about one
    // run of four (more under the load of the other tests); that is the model, and the error
    // says so. Up to three runs; only the model failing all of them fails the test.
    for _ in 0..2 {
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        if run.status.success() || !stderr.contains("malformed twice") {
            break;
        }
        eprintln!("the small model's answers were malformed, running once more: {stderr}");
        run = env.run(&args);
    }
    assert!(
        run.status.success(),
        "summarize failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&run.stdout).expect("summarize --json");
    let p = &out["provenance"];
    assert_eq!(p["template"]["id"], "template-standard");
    assert_eq!(p["provider"]["id"], "ollama");
    assert!(
        p["input_tokens"].as_u64().unwrap_or(0) > 500
            && p["output_tokens"].as_u64().unwrap_or(0) > 20,
        "{p}"
    );
    let s = &out["summary"];
    let md = s["markdown"].as_str().unwrap_or("").to_lowercase();
    assert!(md.contains("## overview"), "{md}");
    let items = s["action_items"].as_array().map_or(0, Vec::len)
        + s["decisions"].as_array().map_or(0, Vec::len);
    assert!(items >= 1, "no decisions or action items: {s}");
    assert!(
        ["launch", "march", "price", "pricing", "beta"]
            .iter()
            .any(|w| md.contains(w)),
        "off topic: {md}"
    );
    eprintln!(
        "real summary of meeting_a in {:.1} s:\n{md}",
        started.elapsed().as_secs_f64()
    );
}

/// A short mono call: no sentence is long enough to rank and nobody is named. The notes say
/// neither "Key sentences" over nothing nor `participants: []` (as if nobody had been there).
#[test]
fn a_short_mono_call_gets_no_empty_headings_and_no_empty_participants() {
    let env = Env::new();
    env.install(&package("template-extractive"));
    env.install(&package("export-markdown"));
    let mut doc: Value = serde_json::from_str(SAMPLE_DOCUMENT).expect("sample");
    doc["metadata"]["channel_names"] = json!([]);
    doc["summary"] = Value::Null;
    doc["transcript"]["segments"] = json!([
        {"start_ms": 1000, "end_ms": 2000, "channel": 0, "speaker": null, "text": "Yes."},
        {"start_ms": 3000, "end_ms": 4000, "channel": 0, "speaker": null, "text": "Okay, fine."}
    ]);
    let path = env.path("mono.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let out = summarize_json(
        &env,
        &[path.to_str().expect("utf-8"), "--template", "extractive"],
    );
    let md = out["summary"]["markdown"].as_str().expect("markdown");
    assert!(!md.contains("Key sentences"), "{md}");

    doc["summary"] = out["summary"].clone();
    std::fs::write(&path, doc.to_string()).expect("write");
    env.ok(&[
        "export",
        "--document",
        path.to_str().expect("utf-8"),
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
    assert!(!md.contains("participants"), "{md}");
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    for h in &headings {
        let after = md.split(h).nth(1).expect("after heading");
        let body = after.split("\n## ").next().unwrap_or("");
        assert!(!body.trim().is_empty(), "empty heading {h}: {md}");
    }
}
