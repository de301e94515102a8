//! Grounded summaries and `minutes ask`: the host checks every citation a template or a model
//! makes against the transcript before it is stored or shown.

use crate::common::*;
use crate::fake_llm::{FakeLlm, Reply};
use crate::summaries::setup;
use serde_json::{Value, json};

const CHAT: &str = "POST /v1/chat/completions";

/// A meeting whose segment ids are not positions, so a citation by position would be caught.
fn grounded_document(env: &Env) -> std::path::PathBuf {
    let doc = json!({
        "metadata": {"id": "m-77", "title": "Atlas pricing", "started_at": "2026-11-28T10:00:00Z",
                     "duration_ms": 181000, "labels": ["atlas"], "language": "en",
                     "channel_names": ["me", "others"]},
        "transcript": {"language": "en", "segments": [
            {"id": 10, "start_ms": 1000, "end_ms": 4000, "channel": 0, "speaker": "Maria",
             "text": "We move the launch to March 17th."},
            {"id": 11, "start_ms": 65000, "end_ms": 68000, "channel": 1, "speaker": null,
             "text": "Agreed, no soft launch."},
            {"id": 12, "start_ms": 70000, "end_ms": 75000, "channel": 0, "speaker": "Maria",
             "text": "The pro tier stays at twelve euros per seat until June."}
        ]}
    });
    let path = env.path("m-77.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    path
}

fn chat_reply(content: &Value) -> Reply {
    let body = json!({
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 60}
    });
    Reply::json(200, &body.to_string())
}

/// The model cites the right line for one decision and an unrelated line for another: the
/// first is kept as supported, the second kept but flagged, in the store and in `show`.
#[test]
fn a_wrong_citation_is_flagged_and_a_good_one_kept() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![chat_reply(&json!({
            "sections": {"overview": "Launch date and pricing.", "key_points": []},
            "decisions": [
                {"text": "Launch on March 17th", "citations": ["s10"]},
                {"text": "Raise the enterprise discount to forty percent", "citations": ["s11"]}
            ],
            "action_items": [{"owner": "Maria", "task": "Keep the pro tier price", "due": null, "citations": ["s12"]}],
            "open_questions": [{"text": "Who writes the press kit?", "citations": []}]
        }))],
    );
    let env = setup(&fake, 8192, "");
    let doc = grounded_document(&env);
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    env.ok(&["summarize", "m-77", "--provider", "openai-compatible"]);

    let show: Value = serde_json::from_str(&env.ok(&["show", "m-77", "--json"])).expect("show");
    let s = &show["summary"]["summary"];
    let decisions = s["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 2, "no item is dropped: {s}");
    assert_eq!(decisions[0]["grounding"], "supported", "{s}");
    assert_eq!(decisions[0]["citations"][0]["segment_id"], 10, "{s}");
    assert_eq!(decisions[1]["grounding"], "unsupported", "{s}");
    assert_eq!(s["action_items"][0]["grounding"], "supported", "{s}");
    assert_eq!(s["open_questions"][0]["grounding"], "uncited", "{s}");

    let text = env.ok(&["show", "m-77"]);
    let note = text
        .split("Unsupported")
        .nth(1)
        .unwrap_or_else(|| panic!("show marks no unsupported item: {text}"));
    let note = note.split("\nTranscript").next().unwrap_or("");
    assert!(note.contains("enterprise discount"), "{text}");
    assert!(!note.contains("March 17th"), "{text}");
}

// ---- minutes ask ----

/// A home with both meetings stored: m-42 (launch moved, no soft launch) and m-77 (pricing).
fn stored_meetings(env: &Env) {
    let sample = env.document();
    env.ok(&["store", "add-document", sample.to_str().expect("utf-8")]);
    let doc = grounded_document(env);
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
}

fn ask_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["ask"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&env.ok(&all)).expect("ask --json")
}

#[test]
fn without_a_provider_ask_lists_the_best_passages_with_times() {
    let fake = FakeLlm::start();
    let env = setup(&fake, 8192, "");
    stored_meetings(&env);
    let out = env.run(&["ask", "what is the price of the pro tier?"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("[m-77 01:10]") && stdout.contains("twelve euros per seat"),
        "the pricing passage, with its meeting and time: {stdout}"
    );
    assert!(
        stderr.contains("--provider"),
        "says how to get an answer: {stderr}"
    );
    let json = ask_json(&env, &["pro tier price"]);
    assert!(json["answer"].is_null(), "{json}");
    let first = &json["passages"][0];
    assert_eq!(first["meeting_id"], "m-77", "{json}");
    // Widened to the neighbouring segments, never the whole meeting list.
    let ids: Vec<u64> = first["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["id"].as_u64())
        .collect();
    assert!(ids.contains(&12) && ids.contains(&11), "{ids:?}");
    // --meeting narrows the search: the launch passage of m-42 is not in m-77.
    let only = ask_json(&env, &["launch", "--meeting", "m-42"]);
    assert!(
        only["passages"]
            .as_array()
            .expect("passages")
            .iter()
            .all(|p| p["meeting_id"] == "m-42"),
        "{only}"
    );
    assert!(fake.hits().is_empty(), "nothing was sent anywhere");
}

#[test]
fn a_question_matching_nothing_says_so() {
    let env = Env::new();
    stored_meetings(&env);
    let out = env.ok(&["ask", "where is the zebra xylophone?"]);
    assert!(out.contains("No stored meeting mentions"), "{out}");
    let json = ask_json(&env, &["zebra xylophone"]);
    assert_eq!(json["passages"], json!([]), "{json}");
    let err = env.fails(&["ask", "launch", "--since", "3 months"]);
    assert!(err.contains("--since") && err.contains("30d"), "{err}");
}

/// The model answers from the passages; its citation is checked and printed as
/// `[meeting mm:ss]`. A citation to a line that does not back the answer is flagged.
#[test]
fn ask_answers_through_the_provider_with_checked_citations() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![
            chat_reply(&json!({"answer": "The pro tier stays at twelve euros per seat until June.", "citations": ["m1.s12"]})),
            chat_reply(&json!({"answer": "The pro tier stays at twelve euros per seat until June.", "citations": ["m1.s11"]})),
        ],
    );
    let env = setup(&fake, 8192, "");
    stored_meetings(&env);
    let out = env.ok(&[
        "ask",
        "what is the pro tier price?",
        "--meeting",
        "m-77",
        "--provider",
        "openai-compatible",
    ]);
    assert!(out.contains("twelve euros"), "{out}");
    assert!(out.contains("[m-77 01:10]"), "{out}");
    assert!(!out.contains("Unsupported"), "{out}");
    let sent = fake.hits_on("/v1/chat/completions");
    assert_eq!(sent.len(), 1);
    let body = sent[0].json().to_string();
    assert!(
        body.contains("twelve euros per seat"),
        "the passage is sent"
    );
    assert!(
        !body.contains("March 17th"),
        "only passages are sent, not whole meetings: {body}"
    );
    let json = ask_json(
        &env,
        &[
            "pro tier price",
            "--meeting",
            "m-77",
            "--provider",
            "openai-compatible",
        ],
    );
    assert_eq!(json["answer"]["grounding"], "unsupported", "{json}");
    assert_eq!(
        json["answer"]["citations"][0]["meeting_id"], "m-77",
        "{json}"
    );
    // Recorded in the egress ledger like any summary request.
    let audit = env.ok(&["audit", "--json"]);
    assert!(audit.contains("m-77"), "{audit}");
}

/// A meeting labelled local_only never reaches a provider that can reach the internet; the
/// other meetings' passages still do, and the answer says what was withheld.
#[test]
fn a_local_only_label_is_never_sent_to_a_cloud_provider() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![chat_reply(
            &json!({"answer": "The launch moved to March 17th.", "citations": ["m1.s0"]}),
        )],
    );
    let env = setup(
        &fake,
        8192,
        "[policy.labels.confidential]\nlocal_only = true\n",
    );
    stored_meetings(&env);
    env.ok(&["label", "add", "m-77", "confidential"]);
    env.ok(&[
        "plugin",
        "allow",
        "openai-compatible",
        "https://llm.example.com",
    ]);
    // Only the confidential meeting matches: nothing is sent, the passages are listed.
    let out = env.run(&["ask", "pro tier price", "--provider", "openai-compatible"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("data policy"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("[m-77 01:10]"));
    assert!(fake.hits().is_empty(), "nothing sent");
    // Both match "launch": only m-42's passage goes out.
    let json = ask_json(&env, &["launch", "--provider", "openai-compatible"]);
    assert_eq!(json["withheld_meetings"], json!(["m-77"]), "{json}");
    for hit in fake.hits() {
        let body = hit.json().to_string();
        assert!(
            !body.contains("Atlas pricing") && !body.contains("twelve euros"),
            "a confidential passage was sent: {body}"
        );
    }
    assert_eq!(fake.hits().len(), 1);
}

/// The standard template's `ask` against the real model behind the Ollama API (../shared/llm).
#[test]
fn real_model_answers_a_question_with_citations() {
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
    stored_meetings(&env);
    let json = ask_json(&env, &["when is the launch?"]);
    let answer = &json["answer"];
    assert!(
        !answer["markdown"].as_str().unwrap_or("").trim().is_empty(),
        "{json}"
    );
    assert_eq!(json["provider"]["id"], "ollama", "{json}");
    // Whatever the model cites, the host kept only citations of segments it was sent.
    let sent: Vec<(String, u64)> = json["passages"]
        .as_array()
        .expect("passages")
        .iter()
        .flat_map(|p| {
            let m = p["meeting_id"].as_str().unwrap_or("").to_string();
            p["segments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |s| (m.clone(), s["id"].as_u64().unwrap_or(u64::MAX)))
        })
        .collect();
    for c in answer["citations"].as_array().expect("citations") {
        let key = (
            c["meeting_id"].as_str().unwrap_or("").to_string(),
            c["segment_id"].as_u64().unwrap_or(u64::MAX),
        );
        assert!(sent.contains(&key), "a citation of nothing sent: {c}");
    }
    let grounding = answer["grounding"].as_str().unwrap_or("");
    assert!(
        ["supported", "unsupported", "uncited"].contains(&grounding),
        "the host checked the answer: {json}"
    );
    eprintln!("real answer: {json}");
}
