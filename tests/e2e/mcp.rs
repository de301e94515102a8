//! `minutes mcp` driven by a real MCP client this project did not write: the official Rust
//! SDK's (`rmcp`) client, over the stdio of the real binary. Plus raw JSON-RPC lines for what
//! no well-behaved client sends.

use crate::common::*;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ErrorData, ServiceError, ServiceExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

const CLIENT: &str = "e2e-assistant";
const SECRET: &str = "hr-2026-11-30";
/// A word only the hidden meeting has, in its transcript and its summary.
const SECRET_WORD: &str = "zanzibar";
const LONG: &str = "atlas-planning";
/// Segments and words per segment of the long meeting: 4,000 words, three pages of 1,500.
const LONG_SEGMENTS: u64 = 400;
const LONG_WORDS: usize = 10;

fn add_document(env: &Env, name: &str, doc: &Value) -> String {
    let path = env.path(name);
    std::fs::write(&path, doc.to_string()).expect("write document");
    let out: Value = serde_json::from_str(&env.ok(&[
        "store",
        "add-document",
        path.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("json");
    out["id"].as_str().expect("id").to_string()
}

/// A home with the sample meeting (m-42), a meeting labelled `hr` (hidden by the policy below
/// unless `[mcp]` says otherwise) and a long one, plus `extra` config.
fn meetings(extra_config: &str) -> Env {
    let env = Env::new();
    let doc = env.document();
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    let secret = json!({
        "metadata": {"id": SECRET, "title": "Salary review", "started_at": "2026-11-30T15:00:00Z",
                     "duration_ms": 60000, "labels": ["HR"], "language": "en", "channel_names": ["me", "others"]},
        "transcript": {"language": "en", "segments": [
            {"start_ms": 0, "end_ms": 5000, "channel": 0, "speaker": "Dana", "text": format!("The {SECRET_WORD} offer is final, and the launch bonus too.")}
        ]},
        "summary": {"markdown": "", "sections": [{"title": "Overview", "body": format!("Dana's {SECRET_WORD} offer.")}],
                    "action_items": [{"owner": "Sam", "task": "Tell Dana about the raise", "due": null}],
                    "decisions": ["Raise approved"], "open_questions": []}
    });
    assert_eq!(add_document(&env, "secret.json", &secret), SECRET);
    let segments: Vec<Value> = (0..LONG_SEGMENTS)
        .map(|i| {
            let words: Vec<String> = (0..LONG_WORDS).map(|w| format!("w{i}x{w}")).collect();
            json!({"start_ms": i * 3000, "end_ms": i * 3000 + 2500, "channel": i % 2,
                   "speaker": null, "text": words.join(" ")})
        })
        .collect();
    let long = json!({
        "metadata": {"id": LONG, "title": "Atlas planning", "started_at": "2026-11-20T09:00:00Z",
                     "duration_ms": LONG_SEGMENTS * 3000, "labels": ["atlas"], "language": "en",
                     "channel_names": ["me", "others"]},
        "transcript": {"language": "en", "segments": segments},
        "summary": null
    });
    assert_eq!(add_document(&env, "long.json", &long), LONG);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!("[policy.labels.hr]\nlocal_only = true\n{extra_config}"),
    )
    .expect("config");
    env
}

/// `minutes mcp` with an rmcp client attached.
struct Session {
    client: RunningService<RoleClient, ClientConfig>,
    child: tokio::process::Child,
    stderr: std::path::PathBuf,
}

async fn connect(env: &Env) -> Session {
    let stderr = env.path("mcp.stderr");
    let mut cmd = tokio::process::Command::from(env.command(&["mcp"]));
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn minutes mcp");
    let out = child.stdout.take().expect("stdout");
    let inp = child.stdin.take().expect("stdin");
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new(CLIENT, "9.9"),
    );
    let client = info.serve((out, inp)).await.unwrap_or_else(|e| {
        panic!(
            "MCP session did not start: {e}\n{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        )
    });
    Session {
        client,
        child,
        stderr,
    }
}

impl Session {
    async fn call(&self, tool: &str, args: Value) -> Result<Value, ErrorData> {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        let result: Result<CallToolResult, ServiceError> = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
            .await;
        match result {
            Ok(r) => {
                assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
                Ok(r.structured_content.expect("structured content"))
            }
            Err(ServiceError::McpError(e)) => Err(e),
            Err(e) => panic!("{tool}: the session broke: {e}\n{}", self.log()),
        }
    }

    async fn ok(&self, tool: &str, args: Value) -> Value {
        self.call(tool, args)
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e:?}\n{}", self.log()))
    }

    async fn err(&self, tool: &str, args: Value) -> ErrorData {
        match self.call(tool, args).await {
            Ok(v) => panic!("{tool} should have been refused, answered {v}"),
            Err(e) => e,
        }
    }

    async fn tools(&self) -> Vec<String> {
        self.client
            .list_all_tools()
            .await
            .expect("tools/list")
            .into_iter()
            .map(|t| {
                let read_only = t.annotations.as_ref().and_then(|a| a.read_only_hint);
                assert_eq!(read_only, Some(true), "{} is read-only", t.name);
                t.name.to_string()
            })
            .collect()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Ends the session as a client does (closing stdin) and expects a clean exit.
    async fn close(self) -> String {
        let log = || std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let _ = self.client.cancel().await;
        let mut child = self.child;
        let status = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
            .await
            .expect("minutes mcp ends when its client leaves")
            .expect("wait");
        let log = log();
        assert!(status.success(), "minutes mcp exited with {status}:\n{log}");
        log
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn ids(list: &Value) -> Vec<String> {
    list["meetings"]
        .as_array()
        .expect("meetings")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect()
}

fn disclosures(env: &Env) -> Vec<Value> {
    let audit: Value =
        serde_json::from_str(&env.ok(&["audit", "--json", "--limit", "500"])).expect("audit json");
    let mut rows = audit["disclosures"]
        .as_array()
        .expect("disclosures")
        .clone();
    rows.reverse(); // oldest first, in call order
    rows
}

/// Issue 20.1–20.3 with the default rules: metadata, summaries, decisions and action items;
/// no transcripts; the `hr` meeting (local_only in [policy]) invisible; every call on record.
#[test]
fn an_assistant_reads_summaries_but_not_transcripts_or_hidden_meetings() {
    let env = meetings("");
    runtime().block_on(async {
        let s = connect(&env).await;
        assert_eq!(
            s.tools().await,
            [
                "search_meetings",
                "list_meetings",
                "get_meeting",
                "list_action_items"
            ],
            "get_transcript is not offered while transcripts are not exposed"
        );

        let list = s.ok("list_meetings", json!({})).await;
        assert_eq!(
            ids(&list),
            ["m-42", LONG],
            "newest first, hr meeting hidden"
        );
        assert_eq!(list["more"], false);
        let limited = s.ok("list_meetings", json!({"limit": 1})).await;
        assert_eq!((ids(&limited).len(), &limited["more"]), (1, &json!(true)));
        let labelled = s.ok("list_meetings", json!({"label": "hr"})).await;
        assert!(ids(&labelled).is_empty(), "{labelled}");
        let since = s.ok("list_meetings", json!({"since": "2026-11-25"})).await;
        assert_eq!(ids(&since), ["m-42"]);

        // Words only the summary has: found. Words the transcript has: not shown.
        let found = s
            .ok("search_meetings", json!({"query": "announcement"}))
            .await;
        assert_eq!(ids(&found), ["m-42"]);
        assert_eq!(found["meetings"][0]["passages"][0]["source"], "summary");
        let launch = s.ok("search_meetings", json!({"query": "launch"})).await;
        let text = launch.to_string();
        assert!(
            !text.contains("We move") && !text.contains("\"transcript\""),
            "{text}"
        );
        assert_eq!(
            ids(&launch),
            ["m-42"],
            "not the hidden meeting's launch bonus"
        );
        let hidden = s.ok("search_meetings", json!({"query": SECRET_WORD})).await;
        assert!(ids(&hidden).is_empty(), "{hidden}");

        let meeting = s.ok("get_meeting", json!({"id": "m-42"})).await;
        assert_eq!(meeting["title"], "Atlas: weekly release sync");
        // Decisions carry where they were said and how the host judged that; this document's
        // decisions were written before citations existed.
        assert_eq!(
            meeting["summary"]["decisions"],
            json!([{"text": "Launch on March 17th", "cited_at_ms": [], "grounding": "uncited"}])
        );
        assert_eq!(meeting["summary"]["action_items"][0]["owner"], "Sam");
        assert_eq!(
            meeting["summary"]["sections"][0]["body"],
            "The launch moves two weeks."
        );
        assert_eq!(meeting["transcript"]["exposed"], false);
        assert!(
            !meeting.to_string().contains("Agreed, no soft launch"),
            "{meeting}"
        );

        // Hidden and missing meetings answer alike, word for word.
        let secret = s.err("get_meeting", json!({"id": SECRET})).await;
        let missing = s.err("get_meeting", json!({"id": "no-such-meeting"})).await;
        assert_eq!(secret.code, missing.code);
        assert_eq!(
            secret.message.replace(SECRET, "ID"),
            missing.message.replace("no-such-meeting", "ID")
        );
        assert!(secret.message.contains("no meeting"), "{secret:?}");
        // Not even a prefix leads to it.
        s.err("get_meeting", json!({"id": "hr-"})).await;

        let refused = s.err("get_transcript", json!({"id": "m-42"})).await;
        assert!(
            refused.message.contains("transcripts = true"),
            "{refused:?}"
        );
        let refused = s.err("get_transcript", json!({"id": SECRET})).await;
        assert_eq!(
            refused.message.replace(SECRET, "ID"),
            missing.message.replace("no-such-meeting", "ID")
        );

        let items = s.ok("list_action_items", json!({"owner": "sam"})).await;
        let tasks: Vec<&str> = items["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["task"].as_str().expect("task"))
            .collect();
        assert_eq!(
            tasks,
            ["Draft the announcement"],
            "not the hidden meeting's item"
        );
        assert!(
            s.ok("list_action_items", json!({"owner": "nobody"})).await["items"]
                .as_array()
                .expect("items")
                .is_empty()
        );
        s.close().await;
    });

    // Every call is on record, with who asked, what went back and how much.
    let rows = disclosures(&env);
    let tools: Vec<&str> = rows
        .iter()
        .map(|r| r["tool"].as_str().expect("tool"))
        .collect();
    assert_eq!(
        tools,
        [
            "list_meetings",
            "list_meetings",
            "list_meetings",
            "list_meetings",
            "search_meetings",
            "search_meetings",
            "search_meetings",
            "get_meeting",
            "get_meeting",
            "get_meeting",
            "get_meeting",
            "get_transcript",
            "get_transcript",
            "list_action_items",
            "list_action_items",
        ]
    );
    for r in &rows {
        assert_eq!(r["client"], format!("{CLIENT} 9.9"), "{r}");
        let carried = r["meeting_ids"].as_array().expect("meeting ids");
        assert!(!carried.iter().any(|id| id == SECRET), "{r}");
    }
    assert_eq!(rows[0]["meeting_ids"], json!(["m-42", LONG]));
    assert_eq!(rows[4]["arguments"], r#"{"query":"announcement"}"#);
    assert_eq!(rows[7]["meeting_ids"], json!(["m-42"]));
    assert_eq!(rows[7]["outcome"], "returned");
    assert!(
        rows[7]["bytes_returned"].as_u64().expect("bytes") > 300,
        "{}",
        rows[7]
    );
    assert_eq!(rows[8]["outcome"], "refused");
    assert_eq!(rows[8]["meeting_ids"], json!([]));
    assert_eq!(rows[8]["bytes_returned"], 0);
    let text = env.ok(&["audit"]);
    assert!(
        text.contains("What AI assistants read over MCP")
            && text.contains(&format!("{CLIENT} 9.9"))
            && text.contains("get_meeting")
            && text.contains("m-42, atlas-planning"),
        "{text}"
    );
    let only = env.ok(&["audit", "--meeting", "m-42", "--json"]);
    let only: Value = serde_json::from_str(&only).expect("json");
    assert_eq!(
        only["disclosures"].as_array().expect("rows").len(),
        7,
        "{only}"
    );
}

/// Issue 20.1/20.2: with `transcripts = true`, a long transcript comes a bounded page at a
/// time, every segment exactly once; search shows transcript passages with their times.
#[test]
fn transcripts_come_in_bounded_pages_when_the_user_exposes_them() {
    let env = meetings("[mcp]\ntranscripts = true\n");
    runtime().block_on(async {
        let s = connect(&env).await;
        assert!(s.tools().await.contains(&"get_transcript".to_string()));
        let mut seen: Vec<u64> = Vec::new();
        let mut page = 1;
        loop {
            let p = s
                .ok("get_transcript", json!({"id": LONG, "page": page}))
                .await;
            assert_eq!(p["pages"], 3, "{p}");
            let segments = p["segments"].as_array().expect("segments");
            let words: usize = segments
                .iter()
                .map(|x| x["text"].as_str().expect("text").split_whitespace().count())
                .sum();
            assert!(words <= 1500 && words > 0, "page {page}: {words} words");
            assert_eq!(
                segments[0]["speaker"],
                if seen.len().is_multiple_of(2) {
                    "me"
                } else {
                    "others"
                }
            );
            seen.extend(
                segments
                    .iter()
                    .map(|x| x["start_ms"].as_u64().expect("start")),
            );
            match p["next_page"].as_u64() {
                Some(next) => page = next,
                None => break,
            }
        }
        let all: Vec<u64> = (0..LONG_SEGMENTS).map(|i| i * 3000).collect();
        assert_eq!(seen, all, "every segment once, in order");
        let refused = s
            .err("get_transcript", json!({"id": LONG, "page": 4}))
            .await;
        assert!(refused.message.contains("3 page"), "{refused:?}");
        s.err("get_transcript", json!({"id": LONG, "page": 0}))
            .await;

        let later = s
            .ok("get_transcript", json!({"id": LONG, "from_ms": 600_000}))
            .await;
        assert_eq!(later["segments"][0]["start_ms"], 600_000);
        assert_eq!(later["pages"], 2);

        let meeting = s.ok("get_meeting", json!({"id": LONG})).await;
        assert_eq!(meeting["transcript"], json!({"exposed": true, "pages": 3}));

        let found = s
            .ok("search_meetings", json!({"query": "soft launch"}))
            .await;
        let passage = &found["meetings"][0]["passages"][0];
        assert_eq!(
            (&passage["source"], &passage["start_ms"]),
            (&json!("transcript"), &json!(65000)),
            "{found}"
        );
        // Still hidden, transcripts or not.
        let secret = s.err("get_transcript", json!({"id": SECRET})).await;
        assert!(secret.message.contains("no meeting"), "{secret:?}");
        assert!(ids(&s.ok("search_meetings", json!({"query": SECRET_WORD})).await).is_empty());
        s.close().await;
    });
    let rows = disclosures(&env);
    let page_rows: Vec<&Value> = rows
        .iter()
        .filter(|r| r["tool"] == "get_transcript")
        .collect();
    assert!(page_rows.len() >= 5);
    assert_eq!(page_rows[0]["meeting_ids"], json!([LONG]));
    assert_eq!(
        page_rows[0]["arguments"],
        format!(r#"{{"id":"{LONG}","page":1}}"#)
    );
}

/// Issue 20.2: an allow-list exposes only its labels (an unlabelled meeting is hidden too);
/// explicit hidden labels replace the default from [policy].
#[test]
fn an_allow_list_exposes_only_its_labels() {
    let env = meetings("[mcp]\nallowed_labels = [\"release\", \"hr\"]\nhidden_labels = []\n");
    let unlabelled = json!({
        "metadata": {"id": "plain", "title": "Plain", "started_at": "2026-11-29T09:00:00Z",
                     "duration_ms": 1000, "labels": [], "language": "en", "channel_names": []},
        "transcript": {"language": "en", "segments": []}, "summary": null
    });
    add_document(&env, "plain.json", &unlabelled);
    runtime().block_on(async {
        let s = connect(&env).await;
        let list = s.ok("list_meetings", json!({})).await;
        assert_eq!(ids(&list), [SECRET, "m-42"], "{list}");
        s.err("get_meeting", json!({"id": "plain"})).await;
        s.close().await;
    });
    std::fs::write(
        env.home.path().join("config.toml"),
        "[mcp]\ntranscripts = \"yes\"\n",
    )
    .expect("config");
    let err = env.fails(&["mcp"]);
    assert!(
        err.contains("config.toml") && err.contains("mcp.transcripts must be true or false"),
        "{err}"
    );
}

/// Issue 20.1: wrong tools, wrong arguments, huge limits and unknown ids are protocol errors;
/// the server answers the next call as if nothing happened.
#[test]
fn bad_calls_get_protocol_errors_and_the_server_keeps_serving() {
    let env = meetings("");
    runtime().block_on(async {
        let s = connect(&env).await;
        let invalid_params = -32602;
        for (tool, args) in [
            ("delete_meeting", json!({"id": "m-42"})),
            ("list_meetings", json!({"limit": 1_000_000_000})),
            ("list_meetings", json!({"limit": 1u64 << 40})),
            ("list_meetings", json!({"limit": -1})),
            ("search_meetings", json!({"query": "launch", "limit": 51})),
            ("list_action_items", json!({"limit": 100_000})),
            ("list_meetings", json!({"limit": "ten"})),
            ("list_meetings", json!({"since": "last tuesday"})),
            ("list_meetings", json!({"drop": "table"})),
            ("search_meetings", json!({})),
            ("search_meetings", json!({"query": "\"*\" ( )"})),
            ("search_meetings", json!({"query": "x".repeat(100_000)})),
            ("get_meeting", json!({})),
            ("get_meeting", json!({"id": 42})),
            ("get_meeting", json!({"id": "m-4"})),
            ("get_meeting", json!({"id": "y".repeat(1_000_000)})),
        ] {
            let e = s.err(tool, args.clone()).await;
            assert_eq!(e.code.0, invalid_params, "{tool} {args}: {e:?}");
            // Still serving.
            assert_eq!(
                ids(&s.ok("list_meetings", json!({"limit": 1})).await),
                ["m-42"]
            );
        }
        let e = s.err("delete_meeting", json!({})).await;
        assert!(
            e.message.contains("unknown tool") && e.message.contains("list_meetings"),
            "{e:?}"
        );
        s.close().await;
    });
    let rows = disclosures(&env);
    assert_eq!(
        rows.iter().filter(|r| r["outcome"] == "refused").count(),
        17,
        "refused calls are on record too"
    );
    // Stored meetings are untouched: nothing in MCP writes.
    assert!(
        env.ok(&["show", "m-42"])
            .contains("Agreed, no soft launch.")
    );
}

/// Raw lines no SDK would send: broken JSON, a request of the wrong shape, an unknown method.
/// The server answers what it can, keeps going, and stdout stays pure protocol even when
/// minutes has a notice to give (a home other users could read).
#[test]
fn garbage_on_stdin_does_not_break_the_stream() {
    let env = meetings("");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.home.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let db = env.home.path().join("minutes.sqlite");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut child = env
        .command(&["mcp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut send = move |line: &str| {
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    };
    let mut read = || -> Value {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout is not protocol ({e}): {line:?}"))
    };
    send("{this is not json");
    send("\u{1b}[31m");
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-lines","version":"0"}}}"#,
    );
    let init = read();
    assert_eq!(init["id"], 1, "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "minutes", "{init}");
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":5}}"#);
    let wrong = read();
    assert_eq!(wrong["id"].as_i64().unwrap_or(2), 2, "{wrong}");
    assert!(wrong["error"]["code"].is_i64(), "{wrong}");
    send(r#"{"jsonrpc":"2.0","id":3,"method":"meetings/delete","params":{}}"#);
    let unknown = read();
    assert_eq!(
        (unknown["id"].as_i64(), unknown["error"]["code"].as_i64()),
        (Some(3), Some(-32601)),
        "{unknown}"
    );
    send(
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_meetings","arguments":{"limit":2}}}"#,
    );
    let list = read();
    assert_eq!(list["id"], 4, "{list}");
    assert_eq!(
        list["result"]["structuredContent"]["meetings"][0]["id"], "m-42",
        "{list}"
    );
    drop(send); // closes stdin: the client is gone
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("rest of stdout");
    assert!(
        rest.trim().is_empty(),
        "nothing but answers on stdout: {rest:?}"
    );
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "exit {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    #[cfg(unix)]
    assert!(
        log.contains("notice: other users"),
        "the notice went to stderr: {log}"
    );
    assert!(log.contains("minutes mcp: serving"), "{log}");
    let rows = disclosures(&env);
    assert_eq!(rows.last().expect("row")["client"], "raw-lines 0");
}

/// Issue 20.1: serving never runs the retention deletions other commands run on start.
#[test]
fn serving_never_deletes_expired_meetings() {
    let env = meetings("[retention]\ndelete_meetings_after_days = 30\n");
    let db = rusqlite::Connection::open(env.home.path().join("minutes.sqlite")).expect("db");
    db.execute(
        "UPDATE meetings SET created_at = created_at - 31 * 86400000 WHERE id = 'm-42'",
        [],
    )
    .expect("age");
    let count = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM meetings", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(count(&db), 3);
    runtime().block_on(async {
        let s = connect(&env).await;
        assert_eq!(ids(&s.ok("list_meetings", json!({})).await), ["m-42", LONG]);
        s.ok("get_meeting", json!({"id": "m-42"})).await;
        let log = s.close().await;
        assert!(!log.contains("retention"), "{log}");
    });
    assert_eq!(count(&db), 3, "minutes mcp deleted nothing");
    // The policy is live: the next ordinary command applies it.
    let out = env.run(&["list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 expired meeting"));
    assert_eq!(count(&db), 2);
}

/// Without transcripts, search looks at the summaries themselves: a word a long transcript says
/// thousands of times (each line outranking the summary) must not crowd the summary out.
#[test]
fn summaries_are_found_however_often_the_transcripts_say_the_word() {
    let env = meetings("");
    // 6,000 short lines with the word among 36,000: in the transcript index the word is rare
    // enough to rank high, in the long summary it ranks lower.
    let segments: Vec<Value> = (0..36_000u64)
        .map(|i| {
            let text = if i % 6 == 0 { "budget budget" } else { "fine" };
            json!({"start_ms": i * 1000, "end_ms": i * 1000 + 900, "channel": 0,
                   "speaker": null, "text": text})
        })
        .collect();
    let chatty = json!({
        "metadata": {"id": "budget-day", "title": "Budget day", "started_at": "2026-11-10T09:00:00Z",
                     "duration_ms": 36_000_000, "labels": [], "language": "en", "channel_names": []},
        "transcript": {"language": "en", "segments": segments},
        "summary": {"markdown": "", "sections": [{"title": "Overview", "body": "The budget for the next quarter was approved, with a long discussion of travel, hiring, hardware, offices and every other line of the plan."}],
                    "action_items": [], "decisions": [], "open_questions": []}
    });
    add_document(&env, "chatty.json", &chatty);
    runtime().block_on(async {
        let s = connect(&env).await;
        let found = s
            .ok("search_meetings", json!({"query": "budget", "limit": 1}))
            .await;
        assert_eq!(ids(&found), ["budget-day"], "{found}");
        assert_eq!(found["meetings"][0]["passages"][0]["source"], "summary");
        s.close().await;
    });
}
