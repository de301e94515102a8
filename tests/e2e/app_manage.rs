//! What the meeting page changes, over plain HTTP against the real binary, checked through the
//! CLI: ticks on action items, speaker names, title, labels, delete, export downloads, and a
//! second summary that shows the data policy before anything is sent and streams its progress.

use crate::app::{Reply, Server, add_document};
use crate::common::*;

/// A signed-in browser: the session cookie and this server's Origin on every change.
struct Page<'a> {
    app: &'a Server,
    cookie: String,
    origin: String,
}

impl<'a> Page<'a> {
    fn open(app: &'a Server) -> Page<'a> {
        Page {
            cookie: app.session(),
            origin: format!("http://{}", app.host()),
            app,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.app.get(path, &self.cookie)
    }

    fn post(&self, path: &str, form: &str) -> Reply {
        self.app.send(
            "POST",
            path,
            &[("Cookie", &self.cookie), ("Origin", &self.origin)],
            form,
        )
    }
}

fn redirected_to(r: &Reply, location: &str) {
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some(location), "{r:?}");
}

#[test]
fn ticks_names_title_labels_and_delete_from_the_page_are_what_the_cli_sees() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let app = Server::start(&env);
    let page = Page::open(&app);
    let html = page.get("/meetings/m-42").text();
    assert!(
        html.contains(r#"data-tick="/meetings/m-42/actions/1""#),
        "{html}"
    );

    // Tick the action item off: stored, shown by the CLI and on the page.
    let r = page.post("/meetings/m-42/actions/1", "done=true");
    assert_eq!(r.status, 200, "{r:?}");
    let item: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(
        (item["task"].as_str(), item["done"].as_bool()),
        (Some("Draft the announcement"), Some(true))
    );
    assert!(
        env.ok(&["show", "m-42"])
            .contains("- [x] Draft the announcement"),
        "the CLI sees the tick"
    );
    assert!(
        page.get("/meetings/m-42")
            .text()
            .contains("<li class=\"done\">")
    );
    let r = page.post("/meetings/m-42/actions/2", "done=true");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("action items 1 to 1"), "{}", r.text());
    // And from the CLI back.
    env.ok(&["done", "m-42", "1", "--undo"]);
    assert!(
        env.ok(&["show", "m-42"])
            .contains("- [ ] Draft the announcement")
    );

    // Name a speaker once for the whole meeting.
    let r = page.post("/meetings/m-42/speakers", "who=Maria&name=Ana+Lopez");
    redirected_to(&r, "/meetings/m-42#speakers");
    let speakers = env.ok(&["speakers", "list", "m-42"]);
    assert!(speakers.contains("Ana Lopez"), "{speakers}");
    assert!(
        env.ok(&["search", "ana"]).contains("m-42"),
        "searchable at once"
    );
    let r = page.post("/meetings/m-42/speakers", "who=Nobody&name=X");
    assert_eq!(r.status, 400, "{r:?}");

    // Title and labels.
    redirected_to(
        &page.post("/meetings/m-42/title", "title=Atlas%3A+launch+moves"),
        "/meetings/m-42",
    );
    redirected_to(
        &page.post("/meetings/m-42/labels", "labels=acme%2C+sales"),
        "/meetings/m-42",
    );
    let list = env.ok(&["list", "--label", "acme"]);
    assert!(list.contains("Atlas: launch moves"), "{list}");
    redirected_to(
        &page.post("/meetings/m-42/labels/remove", "labels=sales"),
        "/meetings/m-42",
    );
    let labels = env.ok(&["list", "--json"]);
    assert!(
        labels.contains("acme") && !labels.contains("sales"),
        "{labels}"
    );
    assert_eq!(
        page.post("/meetings/m-42/labels", "labels=+%2C+").status,
        400
    );

    // Delete asks first; only the confirmed POST deletes.
    let confirm = page.get("/meetings/m-42/delete").text();
    assert!(confirm.contains("cannot be undone"), "{confirm}");
    assert!(env.ok(&["list"]).contains("m-42"), "asking deleted nothing");
    let done = page.post("/meetings/m-42/delete", "");
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.text().contains("Deleted"), "{}", done.text());
    assert!(!env.ok(&["list"]).contains("m-42"));
    assert_eq!(page.get("/meetings/m-42").status, 404);
}

#[test]
fn an_export_downloads_the_file_the_exporter_made() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let app = Server::start(&env);
    let page = Page::open(&app);
    let html = page.get("/meetings/m-42").text();
    assert!(
        html.contains(r#"<option value="export-markdown">"#),
        "{html}"
    );
    let r = page.post("/meetings/m-42/export", "exporter=export-markdown");
    assert_eq!(r.status, 200, "{r:?}");
    let disposition = r.header("content-disposition").expect("a download");
    assert!(
        disposition.starts_with("attachment; filename=\"") && disposition.ends_with(".md\""),
        "{disposition}"
    );
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/markdown")),
        "{r:?}"
    );
    let md = r.text();
    assert!(
        md.contains("We move the launch to March 17th.") && md.contains("Draft the announcement"),
        "{md}"
    );
    let r = page.post("/meetings/m-42/export", "exporter=export-nothing");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("export-nothing"), "{}", r.text());
}

/// Reads a job's server-sent events to the end: the JSON events, in order.
/// The last event of the job a reply redirected to, which must be its failure.
fn failed_job(page: &Page<'_>, r: &Reply) -> serde_json::Value {
    let job = r.header("location").expect("the job's page").to_string();
    let events = job_events(page, &job);
    let last = events.last().expect("events").clone();
    assert_eq!(last["event"], "failed", "{events:?}");
    last
}

fn job_events(page: &Page<'_>, job: &str) -> Vec<serde_json::Value> {
    let r = page.get(&format!("{job}/events"));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream")),
        "{r:?}"
    );
    r.text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .flat_map(|batch| {
            serde_json::from_str::<Vec<serde_json::Value>>(batch).expect("a JSON array of events")
        })
        .collect()
}

#[test]
fn summarising_again_shows_where_data_goes_first_and_streams_its_progress() {
    let env = Env::new();
    env.install(&package("template-extractive"));
    env.install(&package("template-standard"));
    env.install(&package("fireworks"));
    std::fs::write(
        env.home.path().join("config.toml"),
        "[policy.labels.confidential]\nlocal_only = true\n",
    )
    .expect("config");
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    env.ok(&["label", "add", "m-42", "confidential"]);
    let app = Server::start(&env);
    let page = Page::open(&app);

    // A cloud provider for a confidential meeting: the page names the rule and offers no send.
    let review = page
        .get("/meetings/m-42/summarize?template=template-standard&provider=fireworks")
        .text();
    assert!(
        review.contains("api.fireworks.ai"),
        "where it would go: {review}"
    );
    assert!(review.contains("Retention"), "{review}");
    assert!(
        review.contains("[policy.labels.confidential]") && review.contains("local_only = true"),
        "the rule is named: {review}"
    );
    assert!(!review.contains("Summarise now"), "{review}");
    // Posting anyway is refused by the summary itself, and nothing is sent.
    let r = page.post(
        "/meetings/m-42/summarize",
        "template=template-standard&provider=fireworks",
    );
    assert_eq!(r.status, 303, "{r:?}");
    let last = failed_job(&page, &r);
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("local_only") && m.contains("nothing was sent")),
        "{last}"
    );
    let audit: serde_json::Value =
        serde_json::from_str(&env.ok(&["audit", "--json"])).expect("json");
    assert_eq!(
        audit["records"],
        serde_json::json!([]),
        "no request was made"
    );

    // Offline: the review says nothing leaves the machine; the job streams and stores.
    let review = page
        .get("/meetings/m-42/summarize?template=template-extractive&provider=none")
        .text();
    assert!(
        review.contains("nothing: the summary is made on this machine"),
        "{review}"
    );
    assert!(review.contains("Summarise now"), "{review}");
    let r = page.post(
        "/meetings/m-42/summarize",
        "template=template-extractive&provider=none",
    );
    let job = r.header("location").expect("the job's page").to_string();
    let events = job_events(&page, &job);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(
        kinds.contains(&"summary_ready") && kinds.last() == Some(&"done"),
        "{events:?}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "m-42", "--json"])).expect("json");
    assert_eq!(
        shown["summary"]["provenance"]["template"]["id"], "template-extractive",
        "the new summary is the meeting's current one"
    );
    let job_page = page.get(&job).text();
    assert!(job_page.contains("Open the meeting"), "{job_page}");

    // A provider that is down: the job says so and how to start it; the summary made before
    // stays the meeting's.
    let origin = format!("http://localhost:{}", crate::providers::closed_port());
    env.install(&package("ollama"));
    env.ok(&["plugin", "allow", "ollama", &origin]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[policy.labels.confidential]\nlocal_only = true\n\n\
             [plugins.ollama]\nbase_url = \"{origin}\"\nmodel = \"llama3.2\"\nmax_retries = 0\n"
        ),
    )
    .expect("config");
    let r = page.post(
        "/meetings/m-42/summarize",
        "template=template-standard&provider=ollama",
    );
    let last = failed_job(&page, &r);
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("ollama serve")),
        "{last}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "m-42", "--json"])).expect("json");
    assert_eq!(
        shown["summary"]["provenance"]["template"]["id"], "template-extractive",
        "the summary made before is kept"
    );
    let meeting = page.get("/meetings/m-42").text();
    assert!(meeting.contains("template-extractive"), "{meeting}");
}

#[test]
fn the_privacy_page_shows_every_request_and_its_offline_switch_binds_the_cli_too() {
    let fake = crate::fake_llm::FakeLlm::start();
    fake.on(
        "POST /v1/chat/completions",
        vec![crate::summaries::notes_reply()],
    );
    let env = crate::summaries::setup(
        &fake,
        8192,
        "# my rules\n[policy.labels.confidential]\nlocal_only = true\n",
    );
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    env.ok(&["summarize", "m-42", "--provider", "openai-compatible"]);
    assert_eq!(fake.hits().len(), 1);
    let app = Server::start(&env);
    let page = Page::open(&app);

    let html = page.get("/privacy").text();
    let origin = fake.origin();
    for shown in [
        "openai-compatible",
        origin.as_str(),
        r#"href="/meetings/m-42""#,
        "POST",
        "/v1/chat/completions",
        "<rect",
        "only providers on this machine",
        "confidential",
        "Go offline",
    ] {
        assert!(html.contains(shown), "{shown} on the privacy page: {html}");
    }
    let none = page.get("/privacy?plugin=nobody").text();
    assert!(
        none.contains("No plugin made or attempted a request that matches."),
        "{none}"
    );
    assert_eq!(page.get("/privacy?since=soon").status, 400);

    // Offline from the page: config.toml keeps everything else, and the CLI obeys it.
    redirected_to(&page.post("/privacy/offline", "offline=true"), "/privacy");
    let config = std::fs::read_to_string(env.home.path().join("config.toml")).expect("config");
    assert!(config.contains("offline = true"), "{config}");
    assert!(
        config.contains("# my rules") && config.contains("base_url"),
        "the rest of config.toml is kept: {config}"
    );
    let err = env.fails(&["summarize", "m-42", "--provider", "openai-compatible"]);
    assert!(err.contains("offline"), "{err}");
    assert!(page.get("/privacy").text().contains("Go online"));
    let review = page
        .get("/meetings/m-42/summarize?template=template-standard&provider=openai-compatible")
        .text();
    assert!(
        review.contains("offline"),
        "the app obeys it at once: {review}"
    );
    assert_eq!(fake.hits().len(), 1, "nothing was sent while offline");

    redirected_to(&page.post("/privacy/offline", "offline=false"), "/privacy");
    env.ok(&["summarize", "m-42", "--provider", "openai-compatible"]);
    assert_eq!(fake.hits().len(), 2);
}

fn form_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn uploads(env: &Env) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.home.path().join("uploads"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// The meeting a finished job made, from its events.
fn made_meeting(events: &[serde_json::Value]) -> String {
    let last = events.last().expect("events");
    assert_eq!(last["event"], "done", "{events:?}");
    last["meeting_id"]
        .as_str()
        .expect("a meeting id")
        .to_string()
}

#[test]
fn an_import_by_path_or_upload_streams_its_progress_and_makes_the_meeting() {
    let _whisper = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let env = Env::new();
    env.install(&package("template-extractive"));
    let model = tiny();
    let app = Server::start_with(
        &env,
        &[
            ("MINUTES_MODEL", model.as_str()),
            ("MINUTES_THREADS", "1"),
            ("MINUTES_APP_MAX_UPLOAD_MB", "1"),
        ],
    );
    let page = Page::open(&app);
    assert!(page.get("/import").text().contains("Upload"));

    // What is not audio, or not a full path, is refused before any job starts.
    let notes = env.path("notes.txt");
    std::fs::write(&notes, "not audio").expect("write");
    let r = page.post(
        "/import",
        &format!("path={}", form_value(&notes.display().to_string())),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("notes.txt"), "{}", r.text());
    let r = page.post("/import", "path=call.wav");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("full path"), "{}", r.text());

    // By path: progress and lines stream, the meeting references the file.
    let jfk = shared("corpus/real/jfk.wav");
    let r = page.post(
        "/import",
        &format!(
            "path={}&title=Inaugural",
            form_value(&jfk.display().to_string())
        ),
    );
    assert_eq!(r.status, 303, "{r:?}");
    let events = job_events(&page, r.header("location").expect("job"));
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(
        kinds.contains(&"transcribing") && kinds.contains(&"segment"),
        "{kinds:?}"
    );
    let id = made_meeting(&events);
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", &id, "--json"])).expect("json");
    assert_eq!(shown["meeting"]["title"], "Inaugural");
    assert_eq!(shown["meeting"]["audio"]["owned"], false);
    assert!(
        shown["document"]["transcript"]["segments"][0]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{shown}"
    );

    // Uploads: too large and not audio are refused and leave no file; a real one is imported.
    let origin = format!("http://{}", app.host());
    let post = |path: &str, body: &[u8]| {
        app.send(
            "POST",
            path,
            &[
                ("Cookie", page.cookie.as_str()),
                ("Origin", origin.as_str()),
            ],
            body,
        )
    };
    let r = post("/import/upload?name=big.wav", &vec![0u8; 1_500_000]);
    assert_eq!(r.status, 413, "{r:?}");
    assert!(r.text().contains("1 MB"), "{}", r.text());
    let r = post("/import/upload?name=notes.wav", b"not audio at all");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(uploads(&env).is_empty(), "{:?}", uploads(&env));
    let bytes = std::fs::read(&jfk).expect("jfk");
    let r = post("/import/upload?name=..%2Fjfk+copy.wav", &bytes);
    assert_eq!(r.status, 200, "{r:?}");
    let reply: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let events = job_events(&page, reply["job"].as_str().expect("job"));
    let id = made_meeting(&events);
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", &id, "--json"])).expect("json");
    assert_eq!(shown["meeting"]["audio"]["owned"], true, "{shown}");
    let kept = uploads(&env);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0]
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("-jfk_copy.wav")),
        "{kept:?}"
    );
    // Deleting the meeting deletes the copy minutes made.
    env.ok(&["delete", &id, "--yes"]);
    assert!(uploads(&env).is_empty());
}

fn installed(env: &Env) -> serde_json::Value {
    serde_json::from_str(&env.ok(&["plugin", "list", "--json"])).expect("json")
}

#[test]
fn plugins_install_through_a_consent_page_that_grants_part_and_secrets_are_write_only() {
    let env = Env::new();
    let app = Server::start(&env);
    let page = Page::open(&app);
    assert!(
        page.get("/plugins")
            .text()
            .contains("No plugin is installed.")
    );
    let origin = format!("http://{}", app.host());
    let upload = |body: &[u8]| {
        app.send(
            "POST",
            "/plugins/upload",
            &[
                ("Cookie", page.cookie.as_str()),
                ("Origin", origin.as_str()),
            ],
            body,
        )
    };
    let r = upload(b"not a package");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().starts_with("not installed"), "{}", r.text());

    let r = upload(&std::fs::read(archive("fireworks")).expect("package"));
    assert_eq!(r.status, 200, "{r:?}");
    let reply: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let review_url = reply["review"].as_str().expect("review").to_string();
    let review = page.get(&review_url).text();
    assert!(
        review.contains(r#"name="origin" value="https://api.fireworks.ai" checked"#),
        "{review}"
    );
    assert!(
        review.contains("api-key"),
        "the secret it asks for: {review}"
    );
    assert!(
        installed(&env).as_array().is_some_and(|a| a.is_empty()),
        "nothing installed yet"
    );

    // Untick the only origin: installed, reaching nothing.
    let install = review_url.replace("/review/", "/install/");
    redirected_to(&page.post(&install, ""), "/plugins#plugin-fireworks");
    let list = installed(&env);
    assert_eq!(list[0]["id"], "fireworks");
    assert_eq!(list[0]["granted_origins"], serde_json::json!([]), "{list}");
    assert_eq!(
        page.get(&review_url).status,
        404,
        "the staged package is gone"
    );

    // Allow and deny from the page.
    redirected_to(
        &page.post(
            "/plugins/fireworks/allow",
            "origin=https%3A%2F%2Fapi.fireworks.ai",
        ),
        "/plugins#plugin-fireworks",
    );
    assert_eq!(
        installed(&env)[0]["granted_origins"],
        serde_json::json!(["https://api.fireworks.ai"])
    );
    let r = page.post(
        "/plugins/fireworks/allow",
        "origin=https%3A%2F%2Fevil.example",
    );
    assert_eq!(r.status, 400, "an origin it does not declare: {r:?}");
    redirected_to(
        &page.post(
            "/plugins/fireworks/deny",
            "origin=https%3A%2F%2Fapi.fireworks.ai",
        ),
        "/plugins#plugin-fireworks",
    );
    assert_eq!(installed(&env)[0]["granted_origins"], serde_json::json!([]));

    // A secret is set through the page and never shown back.
    let html = page.get("/plugins").text();
    assert!(html.contains("not set"), "{html}");
    redirected_to(
        &page.post(
            "/plugins/fireworks/secret",
            "name=api-key&value=fw-secret-123",
        ),
        "/plugins#plugin-fireworks",
    );
    let html = page.get("/plugins").text();
    assert!(html.contains("set (file)"), "{html}");
    assert!(!html.contains("fw-secret-123"), "the value is never shown");
    assert!(
        page.post("/plugins/fireworks/secret", "name=other&value=x")
            .status
            == 400,
        "only declared secrets"
    );

    redirected_to(&page.post("/plugins/fireworks/remove", ""), "/plugins");
    assert!(installed(&env).as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn settings_are_saved_in_config_toml_and_the_cli_follows_them() {
    let _whisper = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let env = Env::new();
    env.install(&package("template-extractive"));
    std::fs::write(env.home.path().join("config.toml"), "# kept\n").expect("config");
    let app = Server::start_with(
        &env,
        &[("MINUTES_MODEL_BASE_URL", "http://127.0.0.1:9/models")],
    );
    let page = Page::open(&app);
    let html = page.get("/settings").text();
    assert!(
        html.contains("base.en-q5_1") && html.contains("Download"),
        "{html}"
    );

    // The model and language: config.toml's [transcribe], which `minutes transcribe` uses.
    let model = tiny();
    redirected_to(
        &page.post(
            "/settings/transcribe",
            &format!("model={}&language=en", form_value(&model)),
        ),
        "/settings#transcription",
    );
    let r = page.post("/settings/transcribe", "model=&language=english%21");
    assert_eq!(r.status, 400, "{r:?}");
    let r = page.post("/settings/transcribe", "model=no-such-model&language=en");
    assert_eq!(r.status, 400, "{r:?}");
    let config = std::fs::read_to_string(env.home.path().join("config.toml")).expect("config");
    assert!(config.starts_with("# kept"), "{config}");
    let jfk = shared("corpus/real/jfk.wav");
    let out = env.ok(&["transcribe", jfk.to_str().expect("utf-8"), "--threads", "1"]);
    assert!(
        out.to_lowercase().contains("fellow americans"),
        "transcribed with the chosen model, no --model: {out}"
    );

    // Default template and provider; retention.
    redirected_to(
        &page.post(
            "/settings/summary",
            "template=template-extractive&provider=",
        ),
        "/settings#summaries",
    );
    assert_eq!(
        page.post("/settings/summary", "template=&provider=nobody")
            .status,
        400
    );
    redirected_to(
        &page.post("/settings/retention", "audio_days=30&meeting_days="),
        "/settings#retention",
    );
    assert_eq!(
        page.post("/settings/retention", "audio_days=soon&meeting_days=")
            .status,
        400
    );
    let config: toml::Table = toml::from_str(
        &std::fs::read_to_string(env.home.path().join("config.toml")).expect("config"),
    )
    .expect("valid TOML");
    assert_eq!(config["transcribe"]["language"].as_str(), Some("en"));
    assert_eq!(
        config["summary"]["template"].as_str(),
        Some("template-extractive")
    );
    assert_eq!(
        config["retention"]["delete_audio_after_days"].as_integer(),
        Some(30)
    );
    assert!(
        config["retention"]
            .get("delete_meetings_after_days")
            .is_none()
    );
    let html = page.get("/settings").text();
    assert!(html.contains(r#"value="30""#), "{html}");

    // A download that cannot reach its server ends in a clear failure on the job's page.
    let r = page.post("/settings/models", "name=base.en-q5_1");
    let last = failed_job(&page, &r);
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("127.0.0.1:9")),
        "{last}"
    );
    assert_eq!(page.post("/settings/models", "name=huge-v9").status, 400);
}

/// The record page refuses what it cannot record from, says why on the form, and leaves
/// nothing behind: a device that does not exist, a file source the app was not given, both
/// channels off.
#[test]
fn a_recording_that_cannot_start_says_why_and_leaves_nothing() {
    let env = Env::new();
    let app = Server::start(&env);
    let page = Page::open(&app);
    let form = page.get("/record").text();
    assert!(form.contains("Start recording"), "{form}");
    let r = page.post("/record", "title=x&mic=device%3Ano-such-mic&system=none");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("no-such-mic"), "{}", r.text());
    let r = page.post("/record", "title=x&mic=file&system=none");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().contains("--mic-file"), "{}", r.text());
    let r = page.post("/record", "title=x&mic=none&system=none");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.text().contains("no audio device to record from"),
        "{}",
        r.text()
    );
    // Nothing is recording, and no recording was left for `minutes recover`.
    let status: serde_json::Value =
        serde_json::from_slice(&page.get("/record/status").body).expect("status json");
    assert_eq!(status["recording"], false, "{status}");
    assert!(env.ok(&["recover"]).contains("no interrupted recordings"));
    let recordings = env.home.path().join("recordings");
    let left = std::fs::read_dir(&recordings).map_or(0, |d| d.count());
    assert_eq!(left, 0, "recordings left in {}", recordings.display());
}

/// A long transcript comes in two parts: the page holds the first lines and says how many
/// follow; the rest, asked for by the page, are every other line once, escaped like the page.
#[test]
fn a_long_transcript_is_sent_in_two_parts_that_make_the_whole() {
    let env = Env::new();
    let n = 300;
    let segments: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "start_ms": i * 2000, "end_ms": i * 2000 + 1500, "channel": i % 2,
                "text": if i == n - 1 { "the last <b>line</b>".to_string() } else { format!("line number {i}") },
            })
        })
        .collect();
    let doc = serde_json::json!({
        "metadata": {"id": "long", "title": "A long meeting", "started_at": "2026-11-28T10:00:00Z",
                     "duration_ms": n * 2000, "labels": [], "language": "en",
                     "channel_names": ["me", "others"]},
        "transcript": {"language": "en", "segments": segments},
    });
    add_document(&env, "long.json", &doc.to_string(), None);
    let app = Server::start(&env);
    let page = Page::open(&app);
    let html = page.get("/meetings/long").text();
    let first = html.matches("class=\"seg\"").count();
    assert!(first > 0 && first < n as usize, "{first} lines in the page");
    assert!(
        html.contains(&format!("Loading the other {} lines", n as usize - first)),
        "{html}"
    );
    let rest_at = format!("/meetings/long/transcript?from={first}");
    assert!(html.contains(&rest_at), "the page names where the rest is");
    let rest = page.get(&rest_at);
    assert_eq!(rest.status, 200, "{rest:?}");
    let rest = rest.text();
    assert_eq!(first + rest.matches("class=\"seg\"").count(), n as usize);
    assert!(rest.contains(&format!("line number {first}<")), "{rest}");
    assert!(!rest.contains(&format!("line number {}<", first - 1)));
    assert!(rest.contains("the last &lt;b&gt;line&lt;/b&gt;"), "escaped");
    // Not for a meeting that is not there.
    assert_eq!(page.get("/meetings/nope/transcript?from=0").status, 404);
}

/// A package directory as the .tar.gz the plugins page takes (`<id>-<version>/…`).
fn tarball(dir: &std::path::Path, top: &str, out: &std::path::Path) -> Vec<u8> {
    let file = std::fs::File::create(out).expect("create the archive");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    tar.append_dir_all(top, dir).expect("pack");
    tar.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
    std::fs::read(out).expect("read the archive")
}

/// An update uploaded to the app: the consent page names the version installed now, the origins
/// it keeps without asking, the new origin with a box, and what else it asks for beyond the
/// installed version; installing it grants what was ticked and nothing until then.
#[test]
fn an_update_through_the_app_shows_what_it_asks_for_beyond_the_installed_version() {
    let env = Env::new();
    let scratch = tempfile::tempdir().expect("tempdir");
    let v1 = crate::install::probe_variant(scratch.path(), "v1", |t| t + "\n");
    env.install(&v1);
    let v2 = crate::install::probe_variant(scratch.path(), "v2", |t| {
        crate::install::version_2(t)
            .replace(
                "\"https://other.example.com\"]\n\n[[secrets]]",
                "\"https://other.example.com\", \"https://third.example.com\"]\n\n[[secrets]]",
            )
            .replace(
                "format = \"Bearer {}\"\norigins = [\"https://api.example.com\"]",
                "format = \"Bearer {}\"\norigins = [\"https://other.example.com\"]",
            )
    });
    let body = tarball(
        &v2,
        "probe-http-0.2.0",
        &scratch.path().join("probe-http-0.2.0.tar.gz"),
    );

    let app = Server::start(&env);
    let page = Page::open(&app);
    let origin = format!("http://{}", app.host());
    let r = app.send(
        "POST",
        "/plugins/upload",
        &[
            ("Cookie", page.cookie.as_str()),
            ("Origin", origin.as_str()),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "{r:?}");
    let reply: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    let review_url = reply["review"].as_str().expect("review").to_string();
    let review = page.get(&review_url).text();
    for shown in [
        "probe-http</code> 0.2.0?",
        "Installed now</dt><dd>0.1.0",
        "<code>https://api.example.com</code>",
        r#"name="origin" value="https://third.example.com" checked"#,
        "is now sent to https://other.example.com (before: only to https://api.example.com)",
        "Grant and install",
    ] {
        assert!(review.contains(shown), "{shown} not on the page:\n{review}");
    }
    assert!(
        !review.contains(r#"value="https://api.example.com""#),
        "an origin granted before is kept, not asked for again: {review}"
    );
    let info = |env: &Env| -> serde_json::Value {
        serde_json::from_str(&env.ok(&["plugin", "info", "probe-http", "--json"])).expect("json")
    };
    assert_eq!(info(&env)["installed"]["version"], "0.1.0", "not yet");

    let install = review_url.replace("/review/", "/install/");
    redirected_to(
        &page.post(&install, "origin=https%3A%2F%2Fthird.example.com"),
        "/plugins#plugin-probe-http",
    );
    let after = info(&env);
    assert_eq!(after["installed"]["version"], "0.2.0", "{after}");
    let granted = after["installed"]["granted_origins"].to_string();
    assert!(granted.contains("https://third.example.com"), "{after}");
    assert!(granted.contains("https://api.example.com"), "{after}");
}
