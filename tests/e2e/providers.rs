//! Provider plugins driven through `minutes providers check` / `minutes providers`: against the
//! scriptable fake (every failure a real service can produce) and, when one is running, against
//! a real local LLM server (llama.cpp's OpenAI API and the Ollama API in front of it).

use crate::common::*;
use crate::fake_llm::{End, FakeLlm, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CHAT: &str = "POST /v1/chat/completions";

/// A minutes home with one provider installed and pointed at `base_url`.
struct Setup {
    env: Env,
    id: &'static str,
    _scratch: tempfile::TempDir,
}

impl Setup {
    /// `openai-compatible`, granted `origin`, configured with `settings` (TOML lines).
    fn compatible(origin: &str, settings: &str) -> Setup {
        let env = Env::new();
        env.install(&package("openai-compatible"));
        env.ok(&["plugin", "allow", "openai-compatible", origin]);
        let s = Setup {
            env,
            id: "openai-compatible",
            _scratch: tempfile::tempdir().unwrap(),
        };
        s.configure(&format!(
            "base_url = \"{origin}/v1\"\nmodel = \"test-model\"\n{settings}"
        ));
        s
    }

    /// A fixed-origin preset whose manifest is rewritten to declare `origin` instead of its
    /// service (the component is unchanged), installed with what it asks for.
    fn preset(
        id: &'static str,
        service_origin: &str,
        origin: &str,
        base_path: &str,
        settings: &str,
    ) -> Setup {
        let env = Env::new();
        let scratch = tempfile::tempdir().unwrap();
        let pkg = copy_package(id, scratch.path());
        let manifest = pkg.join("plugin.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(
            text.contains(&format!("origins = [\"{service_origin}\"]")),
            "{id} declares {service_origin}"
        );
        std::fs::write(
            &manifest,
            text.replace(
                &format!("[\"{service_origin}\"]"),
                &format!("[\"{origin}\"]"),
            ),
        )
        .unwrap();
        env.install(&pkg);
        let s = Setup {
            env,
            id,
            _scratch: scratch,
        };
        s.configure(&format!("base_url = \"{origin}{base_path}\"\n{settings}"));
        s
    }

    fn configure(&self, settings: &str) {
        let text = format!("[plugins.{}]\nmax_retries = 1\n{settings}\n", self.id);
        std::fs::write(self.env.home.path().join("config.toml"), text).unwrap();
    }

    fn set_secret(&self, value: &str) {
        use std::io::Write;
        let mut set = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
            .args(["secret", "set", self.id, "api-key"])
            .env("MINUTES_HOME", self.env.home.path())
            .env("HOME", self.env.user.path())
            .env("MINUTES_SECRETS", "file")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        set.stdin
            .take()
            .unwrap()
            .write_all(format!("{value}\n").as_bytes())
            .unwrap();
        assert!(set.wait().unwrap().success());
    }

    /// `minutes providers check <id> --json`: the parsed result.
    fn check(&self) -> Value {
        serde_json::from_str(&self.env.ok(&["providers", "check", self.id, "--json"]))
            .expect("check --json")
    }

    /// A check that must fail: its error message.
    fn check_fails(&self) -> String {
        self.env.fails(&["providers", "check", self.id, "--json"])
    }
}

#[test]
fn a_streamed_answer_reports_model_tokens_and_text() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::openai_stream(
            "served-model",
            &["re", "ady"],
            "stop",
            (21, 2),
        )],
    );
    let s = Setup::compatible(&fake.origin(), "");
    let out = s.check();
    assert_eq!(
        (out["reply"].as_str(), out["model"].as_str()),
        (Some("ready"), Some("served-model")),
        "{out}"
    );
    assert_eq!(
        (
            out["input_tokens"].as_u64(),
            out["output_tokens"].as_u64(),
            out["truncated"].as_bool()
        ),
        (Some(21), Some(2), Some(false))
    );
    let hit = &fake.hits_on("/v1/chat/completions")[0];
    assert_eq!(hit.method, "POST");
    let body = hit.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(
        hit.header("authorization"),
        None,
        "no key is set, so none is sent"
    );
}

#[test]
fn non_streaming_mode_and_a_truncated_answer() {
    let fake = FakeLlm::start();
    let answer = json!({"model": "m2", "choices": [{"message": {"role": "assistant", "content": "rea"}, "finish_reason": "length"}],
                        "usage": {"prompt_tokens": 9, "completion_tokens": 16}});
    fake.on(CHAT, vec![Reply::json(200, &answer.to_string())]);
    let s = Setup::compatible(&fake.origin(), "stream = false");
    let out = s.check();
    assert_eq!(
        (
            out["reply"].as_str(),
            out["truncated"].as_bool(),
            out["output_tokens"].as_u64()
        ),
        (Some("rea"), Some(true), Some(16)),
        "{out}"
    );
    assert_eq!(fake.hits()[0].json()["stream"], false);
}

#[test]
fn a_rejected_key_names_the_command_that_sets_it() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::json(
            401,
            r#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#,
        )],
    );
    let s = Setup::compatible(&fake.origin(), "");
    let err = s.check_fails();
    assert!(err.contains("answered 401") || err.contains("401"), "{err}");
    assert!(err.contains("Incorrect API key provided"), "{err}");
    assert!(
        err.contains("minutes secret set openai-compatible api-key"),
        "{err}"
    );
    assert_eq!(fake.hits().len(), 1, "a bad key is not retried");
}

#[test]
fn an_unknown_model_points_at_the_model_and_base_url_settings() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::json(
            404,
            r#"{"error":{"message":"The model `test-model` does not exist"}}"#,
        )],
    );
    let s = Setup::compatible(&fake.origin(), "");
    let err = s.check_fails();
    assert!(
        err.contains("`test-model`") && err.contains(&format!("{}/v1", fake.origin())),
        "{err}"
    );
    assert!(
        err.contains("check `model` and `base_url` in [plugins.openai-compatible]"),
        "{err}"
    );
}

#[test]
fn rate_limited_then_answered_after_the_wait_the_server_asked_for() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![
            Reply::json(429, r#"{"error":{"message":"Rate limit reached"}}"#)
                .with_header("Retry-After", "2"),
            Reply::openai_stream("m", &["ready"], "stop", (5, 1)),
        ],
    );
    let s = Setup::compatible(&fake.origin(), "");
    assert_eq!(s.check()["reply"], "ready");
    let hits = fake.hits();
    assert_eq!(hits.len(), 2, "one retry");
    let waited = hits[1].at - hits[0].at;
    assert!(
        waited >= Duration::from_millis(1900),
        "retried after {waited:?}, not the 2 s Retry-After asked for"
    );
    // Server-side times; the upper bound only says it did not wait for something else (the
    // slack is for a loaded machine).
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
}

#[test]
fn a_retry_after_beyond_the_budget_is_not_waited_for() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::json(429, "{}").with_header("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT")],
    );
    // A budget far above what starting minutes takes even on a loaded machine: waiting for
    // the server, or for the budget, would take at least 60 s.
    let s = Setup::compatible(&fake.origin(), "timeout_secs = 60");
    let started = Instant::now();
    let err = s.check_fails();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it waited: {:?}",
        started.elapsed()
    );
    assert!(
        err.contains("429") && err.contains("not retried") && err.contains("timeout_secs"),
        "{err}"
    );
    assert_eq!(fake.hits().len(), 1);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::json(
            500,
            r#"{"error":{"message":"upstream crashed"}}"#,
        )],
    );
    let s = Setup::compatible(&fake.origin(), "");
    let err = s.check_fails();
    assert_eq!(fake.hits().len(), 2, "max_retries = 1: two attempts");
    assert!(
        err.contains("answered 500: upstream crashed") && err.contains("gave up after 2 attempts"),
        "{err}"
    );
    let gap = fake.hits()[1].at - fake.hits()[0].at;
    assert!(
        gap >= Duration::from_millis(900),
        "backoff of 1 s, got {gap:?}"
    );
}

#[test]
fn context_length_errors_are_typed_for_each_dialect() {
    for body in [
        r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
        r#"{"error":{"code":400,"message":"request (5030 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5030,"n_ctx":4096}}"#,
    ] {
        let fake = FakeLlm::start();
        fake.on(CHAT, vec![Reply::json(400, body)]);
        let s = Setup::compatible(&fake.origin(), "");
        let err = s.check_fails();
        assert!(
            err.contains("too long for the model's context window"),
            "{err}"
        );
        assert_eq!(fake.hits().len(), 1, "not retried");
    }
}

#[test]
fn malformed_json_is_a_clear_error() {
    let fake = FakeLlm::start();
    fake.on(CHAT, vec![Reply::json(200, "{\"choices\": [ oops")]);
    // Streaming asked for, a plain JSON body answered: read as one answer, and it is broken.
    let s = Setup::compatible(&fake.origin(), "");
    let err = s.check_fails();
    assert!(
        err.contains("malformed JSON") && err.contains("oops"),
        "{err}"
    );

    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::sse(
            &[r#"{"choices":[{"delta":{"content":"a"}}]}"#, "{broken"],
            End::Complete,
        )],
    );
    let s = Setup::compatible(&fake.origin(), "");
    let err = s.check_fails();
    assert!(err.contains("malformed JSON (stream event 2)"), "{err}");
}

#[test]
fn a_stream_cut_in_the_middle_is_an_error_never_a_partial_answer() {
    let events = [
        r#"{"choices":[{"delta":{"content":"Half an "}}]}"#,
        r#"{"choices":[{"delta":{"content":"answer"}}]}"#,
    ];
    for end in [End::Dropped, End::Eof] {
        let fake = FakeLlm::start();
        fake.on(CHAT, vec![Reply::sse(&events, end)]);
        let s = Setup::compatible(&fake.origin(), "");
        let out = s
            .env
            .run(&["providers", "check", "openai-compatible", "--json"]);
        assert!(
            !out.status.success(),
            "{end:?}: a cut stream passed as an answer"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("network:") && err.contains("was cut after 14 characters"),
            "{end:?}: {err}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "{end:?}: printed a partial answer"
        );
    }
}

#[test]
fn a_reply_slower_than_the_deadline_times_out() {
    let fake = FakeLlm::start();
    fake.on(
        CHAT,
        vec![Reply::slow(
            Duration::from_secs(60),
            Reply::openai_stream("m", &["late"], "stop", (1, 1)),
        )],
    );
    let s = Setup::compatible(&fake.origin(), "timeout_secs = 2");
    let started = Instant::now();
    let err = s.check_fails();
    let took = started.elapsed();
    assert!(
        err.contains("no complete answer") && err.contains("timeout_secs"),
        "{err}"
    );
    // The answer comes after 60 s; the time includes starting minutes and compiling the
    // plugin, which a loaded machine makes several times slower.
    assert!(
        took < Duration::from_secs(30),
        "took {took:?} for a 2 s budget"
    );
}

#[test]
fn the_key_reaches_only_the_granted_endpoint() {
    let (granted, other) = (FakeLlm::start(), FakeLlm::start());
    for f in [&granted, &other] {
        f.on(
            CHAT,
            vec![Reply::openai_stream("m", &["ready"], "stop", (3, 1))],
        );
    }
    let s = Setup::compatible(&granted.origin(), "");
    s.set_secret("sk-test-secret");
    assert_eq!(s.check()["reply"], "ready");
    assert_eq!(
        granted.hits()[0].header("authorization"),
        Some("Bearer sk-test-secret")
    );

    // Pointed at an endpoint nobody granted: nothing is sent there, and the user is told how.
    s.configure(&format!(
        "base_url = \"{}/v1\"\nmodel = \"test-model\"",
        other.origin()
    ));
    let err = s.check_fails();
    assert!(
        err.contains(&format!(
            "minutes plugin allow openai-compatible {}",
            other.origin()
        )),
        "{err}"
    );
    assert!(other.hits().is_empty(), "an ungranted endpoint was reached");

    // A preset sends its key only to its own declared origin.
    let fw = FakeLlm::start();
    fw.on(
        "POST /inference/v1/chat/completions",
        vec![Reply::openai_stream("fw-model", &["ready"], "stop", (3, 1))],
    );
    let s = Setup::preset(
        "fireworks",
        "https://api.fireworks.ai",
        &fw.origin(),
        "/inference/v1",
        "",
    );
    s.set_secret("fw-key");
    assert_eq!(s.check()["reply"], "ready");
    let hit = &fw.hits()[0];
    assert_eq!(hit.header("authorization"), Some("Bearer fw-key"));
    assert_eq!(
        hit.json()["model"],
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "the preset's default model"
    );
    for h in granted
        .hits()
        .iter()
        .chain(other.hits().iter())
        .chain(fw.hits().iter())
    {
        let body = String::from_utf8_lossy(&h.body);
        assert!(
            !body.contains("sk-test-secret") && !body.contains("fw-key"),
            "a key in a request body: {h:?}"
        );
    }
}

#[test]
fn providers_lists_policy_destinations_key_and_context() {
    let env = Env::new();
    env.install(&package("fireworks"));
    env.install(&package("openai-compatible"));
    let list: Value = serde_json::from_str(&env.ok(&["providers", "--json"])).unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    let fw = rows.iter().find(|r| r["id"] == "fireworks").unwrap();
    assert_eq!(fw["origins"], json!(["https://api.fireworks.ai"]));
    assert_eq!(fw["sends"], "transcript text (never audio)");
    assert_eq!(
        fw["default_model"],
        "accounts/fireworks/models/llama-v3p1-8b-instruct"
    );
    assert_eq!(fw["context_window"], 131072);
    assert_eq!(fw["local"], false);
    assert_eq!(fw["secrets"][0]["name"], "api-key");
    assert_eq!(fw["secrets"][0]["source"], Value::Null);
    let p = &fw["data_policy"];
    assert_eq!(
        (
            p["trains_on_data"].as_str(),
            p["zero_retention_default"].as_str(),
            p["region"].as_str()
        ),
        (Some("no"), Some("yes"), Some("US"))
    );
    assert_eq!(p["last_verified"], "2026-06-29");
    let compat = rows
        .iter()
        .find(|r| r["id"] == "openai-compatible")
        .unwrap();
    assert_eq!(
        (
            compat["configurable"].as_bool(),
            compat["origins"].as_array().map(Vec::len)
        ),
        (Some(true), Some(0))
    );
    assert_eq!(compat["data_policy"]["retention"], "unknown");
    assert!(
        compat["warnings"]
            .to_string()
            .contains("base_url is not set"),
        "{compat}"
    );

    let text = env.ok(&["providers"]);
    assert!(
        text.contains("sends:           transcript text (never audio) to https://api.fireworks.ai"),
        "{text}"
    );
    assert!(
        text.contains("minutes secret set fireworks api-key")
            && text.contains("(verified 2026-06-29)"),
        "{text}"
    );
    assert!(text.contains("nowhere yet (no origin granted)"), "{text}");
    // A provider that is not one: refused with the reason.
    env.install(&package("export-markdown"));
    assert!(
        env.fails(&["providers", "check", "export-markdown"])
            .contains("not a provider")
    );
}

#[test]
fn anthropic_speaks_the_messages_api_and_streams() {
    let fake = FakeLlm::start();
    let stream = |stop: &str| {
        Reply::sse(
            &[
                r#"message_start|{"type":"message_start","message":{"id":"msg_1","model":"claude-test","usage":{"input_tokens":40,"output_tokens":1}}}"#,
                r#"content_block_start|{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                r#"ping|{"type":"ping"}"#,
                r#"content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"rea"}}"#,
                r#"content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"dy"}}"#,
                r#"content_block_stop|{"type":"content_block_stop","index":0}"#,
                &format!(
                    r#"message_delta|{{"type":"message_delta","delta":{{"stop_reason":"{stop}"}},"usage":{{"output_tokens":3}}}}"#
                ),
                r#"message_stop|{"type":"message_stop"}"#,
            ],
            End::Complete,
        )
    };
    fake.on(
        "POST /v1/messages",
        vec![stream("end_turn"), stream("max_tokens")],
    );
    let s = Setup::preset(
        "anthropic",
        "https://api.anthropic.com",
        &fake.origin(),
        "",
        "",
    );
    s.set_secret("ant-key");
    let out = s.check();
    assert_eq!(
        (
            out["reply"].as_str(),
            out["model"].as_str(),
            out["truncated"].as_bool()
        ),
        (Some("ready"), Some("claude-test"), Some(false)),
        "{out}"
    );
    assert_eq!(
        (out["input_tokens"].as_u64(), out["output_tokens"].as_u64()),
        (Some(40), Some(3))
    );
    let hit = &fake.hits()[0];
    assert_eq!(hit.header("x-api-key"), Some("ant-key"));
    assert_eq!(hit.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(hit.header("authorization"), None);
    let body = hit.json();
    assert_eq!(
        body["system"],
        "This is a connectivity check. Answer with one word."
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Reply with the single word: ready"}])
    );
    assert_eq!(
        (body["stream"].as_bool(), body["max_tokens"].as_u64()),
        (Some(true), Some(16))
    );
    assert_eq!(
        s.check()["truncated"],
        true,
        "stop_reason max_tokens marks the answer truncated"
    );

    // An overloaded error event mid-stream is retried; a stream without message_stop is cut.
    let fake = FakeLlm::start();
    fake.on(
        "POST /v1/messages",
        vec![
            Reply::sse(&[r#"error|{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#], End::Complete),
            Reply::sse(
                &[
                    r#"message_start|{"type":"message_start","message":{"model":"claude-test","usage":{"input_tokens":4,"output_tokens":1}}}"#,
                    r#"content_block_delta|{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"par"}}"#,
                ],
                End::Complete,
            ),
        ],
    );
    let s = Setup::preset(
        "anthropic",
        "https://api.anthropic.com",
        &fake.origin(),
        "",
        "",
    );
    let err = s.check_fails();
    assert_eq!(fake.hits().len(), 2, "the overloaded attempt was retried");
    assert!(
        err.contains("was cut after 3 characters") && err.contains("message_stop"),
        "{err}"
    );
}

#[test]
fn ollama_streams_ndjson_and_lists_installed_models() {
    let fake = FakeLlm::start();
    fake.on("GET /api/tags", vec![Reply::json(200, r#"{"models":[{"name":"qwen2.5:0.5b","model":"qwen2.5:0.5b"},{"name":"llama3.2:latest"}]}"#)]);
    fake.on(
        "POST /api/chat",
        vec![Reply::ndjson(
            &[
                json!({"model": "qwen2.5:0.5b", "message": {"role": "assistant", "content": "rea"}, "done": false}),
                json!({"model": "qwen2.5:0.5b", "message": {"role": "assistant", "content": "dy"}, "done": false}),
                json!({"model": "qwen2.5:0.5b", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
                       "prompt_eval_count": 30, "eval_count": 2}),
            ],
            End::Complete,
        )],
    );
    let env = Env::new();
    env.install(&package("ollama"));
    env.ok(&["plugin", "allow", "ollama", &fake.origin()]);
    let s = Setup {
        env,
        id: "ollama",
        _scratch: tempfile::tempdir().unwrap(),
    };
    s.configure(&format!(
        "base_url = \"{}\"\nmodel = \"qwen2.5:0.5b\"\ncontext_window = 4096",
        fake.origin()
    ));
    let out = s.check();
    assert_eq!(
        (
            out["reply"].as_str(),
            out["input_tokens"].as_u64(),
            out["output_tokens"].as_u64()
        ),
        (Some("ready"), Some(30), Some(2)),
        "{out}"
    );
    let body = fake.hits_on("/api/chat")[0].json();
    assert_eq!(
        (body["model"].as_str(), body["stream"].as_bool()),
        (Some("qwen2.5:0.5b"), Some(true))
    );
    assert_eq!(
        body["options"]["num_ctx"], 4096,
        "the declared window is the one Ollama uses"
    );

    let list: Value = serde_json::from_str(&s.env.ok(&["providers", "--json"])).unwrap();
    let row = &list[0];
    let models: Vec<&str> = row["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["qwen2.5:0.5b", "llama3.2:latest"]);
    assert_eq!(row["context_window"], 4096);
    assert_eq!(row["local"], true, "{row}");

    // A model Ollama does not have: the fix is named.
    fake.on(
        "POST /api/chat",
        vec![Reply::json(
            404,
            r#"{"error":"model \"nope\" not found, try pulling it first"}"#,
        )],
    );
    let err = s
        .env
        .fails(&["providers", "check", "ollama", "--model", "nope"]);
    assert!(err.contains("ollama pull nope"), "{err}");
    // A stream that ends without `done: true` is cut, not an answer.
    fake.on(
        "POST /api/chat",
        vec![Reply::ndjson(
            &[json!({"message": {"content": "par"}, "done": false})],
            End::Complete,
        )],
    );
    assert!(s.check_fails().contains("was cut after 3 characters"));
}

// ---- Against a real local LLM server (../shared/llm/setup-and-start.sh) ----

/// The server has one slot: its tests run one at a time.
pub(crate) static REAL_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The value of `var`, or `None` after saying the test was skipped; under CI a missing server
/// is a failure, not a skip.
pub(crate) fn real_server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().trim_end_matches('/').to_string()),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{var} is not set under CI: start the server with ../shared/llm/setup-and-start.sh start (see .ci/run)"
            )
        }
        _ => {
            eprintln!(
                "skipped: {var} is not set (start a real server with ../shared/llm/setup-and-start.sh start)"
            );
            None
        }
    }
}

pub(crate) fn origin_of(url: &str) -> String {
    let u = url::Url::parse(url).expect("a URL");
    format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str().expect("host"),
        u.port_or_known_default().expect("port")
    )
}

#[test]
fn real_openai_compatible_server_answers_streamed_and_whole() {
    let Some(base) = real_server("LLM_BASE_URL") else {
        return;
    };
    let _slot = REAL_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let model = std::env::var("LLM_MODEL_NAME").unwrap_or_else(|_| "local".into());
    let env = Env::new();
    env.install(&package("openai-compatible"));
    env.ok(&["plugin", "allow", "openai-compatible", &origin_of(&base)]);
    let s = Setup {
        env,
        id: "openai-compatible",
        _scratch: tempfile::tempdir().unwrap(),
    };
    for stream in [true, false] {
        s.configure(&format!(
            "base_url = \"{base}\"\nmodel = \"{model}\"\ncontext_window = 4096\nstream = {stream}"
        ));
        let out = s.check();
        assert!(
            !out["reply"].as_str().unwrap_or("").trim().is_empty(),
            "stream={stream}: empty reply {out}"
        );
        assert!(
            out["input_tokens"].as_u64().unwrap_or(0) > 10,
            "stream={stream}: real usage expected: {out}"
        );
        assert!(
            (1..=16).contains(&out["output_tokens"].as_u64().unwrap_or(0)),
            "stream={stream}: {out}"
        );
        eprintln!(
            "openai-compatible stream={stream}: {} in {} ms",
            out["model"], out["latency_ms"]
        );
    }
}

#[test]
fn real_ollama_api_answers_and_lists_the_model() {
    let Some(base) = real_server("OLLAMA_BASE_URL") else {
        return;
    };
    let _slot = REAL_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let model = std::env::var("LLM_MODEL_NAME").unwrap_or_else(|_| "qwen2.5-coder:0.5b".into());
    let env = Env::new();
    env.install(&package("ollama"));
    env.ok(&["plugin", "allow", "ollama", &origin_of(&base)]);
    let s = Setup {
        env,
        id: "ollama",
        _scratch: tempfile::tempdir().unwrap(),
    };
    s.configure(&format!(
        "base_url = \"{base}\"\nmodel = \"{model}\"\ncontext_window = 4096"
    ));
    let out = s.check();
    assert!(
        !out["reply"].as_str().unwrap_or("").trim().is_empty(),
        "{out}"
    );
    assert!(
        out["input_tokens"].as_u64().unwrap_or(0) > 10
            && out["output_tokens"].as_u64().unwrap_or(0) >= 1,
        "{out}"
    );
    let list: Value = serde_json::from_str(&s.env.ok(&["providers", "--json"])).unwrap();
    let models = list[0]["models"].to_string();
    assert!(models.contains(&model), "/api/tags lists {model}: {models}");
    let err = s.env.fails(&[
        "providers",
        "check",
        "ollama",
        "--model",
        "no-such-model:1b",
    ]);
    assert!(
        err.contains("404") && err.contains("ollama pull no-such-model:1b"),
        "{err}"
    );
}

/// A port on 127.0.0.1 where nothing listens.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Issue 16.5: with no DNS, `providers check fireworks` said `denied: … cannot resolve` and
/// the ledger marked it DENIED. The policy allowed it; the network failed.
#[test]
fn a_name_that_does_not_resolve_fails_and_is_not_called_denied() {
    // `.invalid` never resolves, whatever DNS the machine has.
    let s = Setup::preset(
        "fireworks",
        "https://api.fireworks.ai",
        "https://api.fireworks.invalid",
        "/inference/v1",
        "",
    );
    s.set_secret("fw-key");
    let err = s.check_fails();
    assert!(
        err.contains("cannot resolve api.fireworks.invalid"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("denied"), "{err}");
    let audit: Value = serde_json::from_str(&s.env.ok(&["audit", "--json"])).unwrap();
    let records = audit["records"].as_array().unwrap();
    assert!(!records.is_empty(), "{audit}");
    assert!(records.iter().all(|r| r["outcome"] == "failed"), "{audit}");
    assert_eq!(audit["totals"][0]["denied"], 0, "{audit}");
}

/// Issue 16.5: Ollama not running should say so, and how to start it.
#[test]
fn ollama_not_running_says_so_and_how_to_start_it() {
    let origin = format!("http://localhost:{}", closed_port());
    let env = Env::new();
    env.install(&package("ollama"));
    env.ok(&["plugin", "allow", "ollama", &origin]);
    let s = Setup {
        env,
        id: "ollama",
        _scratch: tempfile::tempdir().unwrap(),
    };
    s.configure(&format!("base_url = \"{origin}\"\nmodel = \"llama3.2\""));
    let err = s.check_fails();
    assert!(err.contains("Ollama is not running"), "{err}");
    assert!(err.contains("ollama serve"), "{err}");
    assert!(!err.to_lowercase().contains("denied"), "{err}");
}

/// Issue 16.2: `--offline` with a cloud provider in config.toml made no summary at all (the
/// template's request was denied). The offline template makes it, and the user is told; a
/// provider named on the same command line is refused before anything runs.
#[test]
fn offline_sets_the_configured_provider_aside_and_refuses_a_named_one() {
    let fake = FakeLlm::start();
    let env = Env::new();
    for p in [
        "template-standard",
        "template-extractive",
        "openai-compatible",
    ] {
        env.install(&package(p));
    }
    env.ok(&["plugin", "allow", "openai-compatible", &fake.origin()]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[plugins.openai-compatible]\nbase_url = \"{}/v1\"\nmodel = \"m\"\n\n\
             [summary]\nprovider = \"openai-compatible\"\n",
            fake.origin()
        ),
    )
    .unwrap();
    let doc = env.document();
    let doc = doc.to_str().unwrap();
    let out = env.run(&["--offline", "summarize", doc, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["provenance"]["template"]["id"], "template-extractive",
        "{json}"
    );
    assert_eq!(json["provenance"]["provider"], Value::Null);
    assert!(
        !json["summary"]["markdown"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{json}"
    );
    assert!(
        stderr.contains("offline: not using provider `openai-compatible`"),
        "{stderr}"
    );

    let err = env.fails(&[
        "--offline",
        "summarize",
        doc,
        "--provider",
        "openai-compatible",
    ]);
    assert!(
        err.contains("--provider openai-compatible conflicts with offline mode"),
        "{err}"
    );
    assert!(fake.hits().is_empty(), "the fake LLM was reached offline");
    let audit: Value = serde_json::from_str(&env.ok(&["audit", "--json"])).unwrap();
    assert_eq!(audit["records"], json!([]), "{audit}");
}

/// Issue 16.5: a summary through Ollama when it is not running says so, and how to start it.
#[test]
fn a_summary_through_ollama_not_running_says_how_to_start_it() {
    let origin = format!("http://localhost:{}", closed_port());
    let env = Env::new();
    for p in ["template-standard", "ollama"] {
        env.install(&package(p));
    }
    env.ok(&["plugin", "allow", "ollama", &origin]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[plugins.ollama]\nbase_url = \"{origin}\"\nmodel = \"llama3.2\"\nmax_retries = 0\n"
        ),
    )
    .unwrap();
    let doc = env.document();
    let err = env.fails(&["summarize", doc.to_str().unwrap(), "--provider", "ollama"]);
    assert!(err.contains("ollama serve"), "{err}");
    assert!(!err.to_lowercase().contains("denied"), "{err}");
}
