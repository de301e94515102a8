//! `minutes app` in a real browser: Chromium driven through chromedriver (Debian's `chromium`
//! and `chromium-driver`), started by the test itself. Without chromedriver the test is
//! skipped with a message, except under CI (CI=true), where it fails.
//!
//! The journey: open the printed address → the meetings list → search a phrase → open the
//! meeting → click a transcript line and see the player's time move there → correct a word and
//! find it with search → tick an action item off, name a speaker, and summarise again through
//! the review page and the job's streamed progress. Screenshots go to target/app-screenshots/
//! for a person to look at.

use crate::app::Server;
use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// Where the browser saves downloads, without asking.
    fn downloads(&self) -> PathBuf {
        self._profile.path().join("downloads")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a free port, or says why the test cannot run.
fn start_driver() -> Option<Driver> {
    let found = Command::new(CHROMEDRIVER)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found || !std::path::Path::new(CHROMIUM).exists() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI needs {CHROMEDRIVER} and {CHROMIUM} for the browser tests: .ci/debian-packages lists chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED: the browser test needs {CHROMEDRIVER} and {CHROMIUM} (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Driver {
        child,
        port,
        _profile: tempfile::tempdir().expect("profile"),
    })
}

async fn browser(driver: &Driver) -> Client {
    let profile = driver._profile.path().display().to_string();
    let downloads = driver.downloads();
    std::fs::create_dir_all(&downloads).expect("downloads folder");
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={profile}"),
                "--autoplay-policy=no-user-gesture-required",
                "--window-size=1200,900",
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let dir = workspace().join("target").join("app-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits until `check` holds, up to 20 s; panics with `what` otherwise.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn js(client: &Client, script: &str) -> serde_json::Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// A meeting made the way a user makes one: `minutes process` on a short recording.
fn processed_meeting(env: &Env) -> String {
    let _whisper = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let jfk = shared("corpus/real/jfk.wav");
    let out = env.ok(&[
        "process",
        jfk.to_str().expect("utf-8"),
        "--model",
        &tiny(),
        "--threads",
        "1",
        "--title",
        "Inaugural address",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    report["meeting_id"]
        .as_str()
        .expect("meeting id")
        .to_string()
}

#[test]
fn open_search_play_and_correct_in_a_real_browser() {
    let Some(driver) = start_driver() else {
        return;
    };
    let env = Env::new();
    env.install(&package("export-markdown"));
    env.install(&package("template-extractive"));
    let id = processed_meeting(&env);
    // A second meeting, so the list and the search have something to tell apart.
    let doc = env.document();
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    let show: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", &id, "--json"])).expect("json");
    let segments = show["document"]["transcript"]["segments"]
        .as_array()
        .expect("segments")
        .clone();
    assert!(!segments.is_empty(), "jfk.wav has speech: {show}");
    let server = Server::start(&env);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = browser(&driver).await;
        let result = journey(&client, &server, &id, &segments, &driver.downloads()).await;
        let _ = client.close().await;
        result
    });
}

async fn journey(
    client: &Client,
    server: &Server,
    id: &str,
    segments: &[serde_json::Value],
    downloads: &std::path::Path,
) {
    // The printed address: the token is traded for the cookie and leaves the address bar.
    client.goto(&server.address).await.expect("open the app");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/");
    assert!(
        !url.as_str().contains("token"),
        "the token left the address bar: {url}"
    );
    let list = text_of(client, "table.meetings").await;
    assert!(
        list.contains("Inaugural address") && list.contains("Atlas: weekly release sync"),
        "{list}"
    );
    screenshot(client, "1-meetings").await;

    // Search as you type: the hits replace the list without a page load.
    let search = client
        .find(Locator::Css("input[name=q]"))
        .await
        .expect("search box");
    search.send_keys("fellow americans").await.expect("type");
    eventually("search hits", || async {
        text_of(client, "#results")
            .await
            .contains("Inaugural address")
            && client.find(Locator::Css("ul.hits mark")).await.is_ok()
    })
    .await;
    let marked = text_of(client, "ul.hits mark").await.to_lowercase();
    assert_eq!(marked, "fellow americans", "the phrase is highlighted");
    assert!(!text_of(client, "#results").await.contains("Atlas"));
    screenshot(client, "2-search").await;

    // The meeting: its summary, transcript and player.
    client
        .find(Locator::Css("ul.hits a"))
        .await
        .expect("hit link")
        .click()
        .await
        .expect("open the meeting");
    eventually("the meeting page", || async {
        client.find(Locator::Css("ol.transcript")).await.is_ok()
    })
    .await;
    assert_eq!(text_of(client, "h1").await, "Inaugural address");
    let summary = text_of(client, ".summary").await;
    assert!(summary.contains("template-extractive"), "{summary}");
    assert!(summary.contains("made on this machine"), "{summary}");
    eventually("the audio's length", || async {
        js(client, "return document.getElementById('player').duration")
            .await
            .as_f64()
            .is_some_and(|d| d > 10.0)
    })
    .await;

    // Clicking a line plays from there, and that line is highlighted.
    let last = segments.last().expect("a segment");
    let start_ms = last["start_ms"].as_u64().expect("start");
    let seg_id = last["id"].as_u64().expect("id");
    client
        .find(Locator::Css(&format!("#seg-{seg_id} .text")))
        .await
        .expect("the line")
        .click()
        .await
        .expect("click the line");
    eventually("the player at the line", || async {
        let t = js(
            client,
            "return document.getElementById('player').currentTime",
        )
        .await
        .as_f64()
        .unwrap_or(-1.0);
        t >= start_ms as f64 / 1000.0 - 0.05 && t < start_ms as f64 / 1000.0 + 3.0
    })
    .await;
    eventually("the line highlighted", || async {
        js(
            client,
            &format!(
                "return document.getElementById('seg-{seg_id}').classList.contains('playing')"
            ),
        )
        .await
        .as_bool()
            == Some(true)
    })
    .await;
    js(client, "document.getElementById('player').pause()").await;
    screenshot(client, "3-meeting").await;

    // Correct a word in place: the line shows it, and search finds it at once.
    let line = client
        .find(Locator::Css(&format!("#seg-{seg_id}")))
        .await
        .expect("line");
    js(
        client,
        &format!("document.querySelector('#seg-{seg_id} .edit').click()"),
    )
    .await;
    let input = line
        .find(Locator::Css("input.editing"))
        .await
        .expect("the line's editor");
    // Ctrl+A and type over it, as a person would. WebDriver's clear() blurs the field, and the
    // editor closes 150 ms after a blur: on a loaded machine the keys came after that, into a
    // field no longer there (a stale element).
    input
        .send_keys("\u{E009}a\u{E000}ask what you can do for your zanzibar country.\u{E007}")
        .await
        .expect("type the correction");
    eventually("the corrected line", || async {
        text_of(client, &format!("#seg-{seg_id} .text"))
            .await
            .contains("zanzibar")
    })
    .await;
    assert_eq!(
        text_of(client, &format!("#seg-{seg_id} .text"))
            .await
            .trim(),
        "ask what you can do for your zanzibar country.",
        "the correction replaced the line's words"
    );
    screenshot(client, "4-corrected").await;
    client
        .goto(&format!("http://{}/", server.host()))
        .await
        .expect("list");
    client
        .find(Locator::Css("input[name=q]"))
        .await
        .expect("search box")
        .send_keys("zanzibar")
        .await
        .expect("type");
    eventually("the correction found", || async {
        text_of(client, "ul.hits")
            .await
            .contains("Inaugural address")
    })
    .await;
    assert_eq!(text_of(client, "ul.hits mark").await, "zanzibar");
    assert!(
        text_of(client, "ul.hits .where").await.contains(&format!(
            "{:02}:{:02}",
            start_ms / 60_000,
            (start_ms / 1000) % 60
        )),
        "the hit is at the corrected line's time"
    );
    screenshot(client, "5-found").await;

    // A meeting with decisions, action items and open questions.
    client
        .goto(&format!("http://{}/meetings/m-42", server.host()))
        .await
        .expect("the sample meeting");
    let summary = text_of(client, ".summary").await;
    for shown in [
        "Launch on March 17th",
        "Sam: Draft the announcement — due March 10th",
        "Pro tier price after June?",
    ] {
        assert!(summary.contains(shown), "{shown} in {summary}");
    }
    let speakers = text_of(client, "ol.transcript").await;
    assert!(speakers.contains("Maria"), "{speakers}");
    screenshot(client, "6-summary").await;

    // Tick the action item off: it stays ticked after a reload.
    js(client, "document.querySelector('input[data-tick]').click()").await;
    eventually("the item shown done", || async {
        client
            .find(Locator::Css("ul.actions li.done"))
            .await
            .is_ok()
    })
    .await;
    client.refresh().await.expect("reload");
    eventually("the tick kept", || async {
        js(
            client,
            "return document.querySelector('input[data-tick]').checked",
        )
        .await
        .as_bool()
            == Some(true)
    })
    .await;

    // Name Maria once: every line of hers shows the name.
    let field = client
        .find(Locator::Css("table.speakers input[name=name]"))
        .await
        .expect("the speaker's name field");
    field.clear().await.expect("clear");
    field
        .send_keys("Ana Lopez\u{E007}")
        .await
        .expect("type the name");
    eventually("the new name in the transcript", || async {
        text_of(client, "ol.transcript").await.contains("Ana Lopez")
    })
    .await;
    assert!(!text_of(client, "ol.transcript").await.contains("Maria"));
    screenshot(client, "7-named-and-ticked").await;

    // Summarise again: the review says nothing leaves the machine; the job page streams and
    // lands on the meeting with its new summary.
    js(
        client,
        "document.querySelector('#template').value = 'template-extractive'; \
         document.querySelector('select[name=provider]').value = 'none'; \
         document.querySelector('#template').form.submit()",
    )
    .await;
    eventually("the review", || async {
        text_of(client, ".review")
            .await
            .contains("made on this machine")
    })
    .await;
    screenshot(client, "8-review").await;
    client
        .find(Locator::Css(".allowed button"))
        .await
        .expect("Summarise now")
        .click()
        .await
        .expect("send");
    eventually("back on the meeting with the new summary", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/meetings/m-42")
            && text_of(client, ".provenance")
                .await
                .contains("template-extractive")
    })
    .await;
    screenshot(client, "9-summarised-again").await;

    // Export with export-markdown: the browser saves this meeting as a Markdown file, with the
    // speaker's new name.
    js(
        client,
        "document.querySelector('#exporter').value = 'export-markdown'; \
         document.querySelector('#exporter').form.submit()",
    )
    .await;
    let mut saved = String::new();
    eventually("the exported file in the downloads folder", || {
        let found = std::fs::read_dir(downloads)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "md"));
        if let Some(path) = found {
            saved = std::fs::read_to_string(path).unwrap_or_default();
        }
        std::future::ready(!saved.is_empty())
    })
    .await;
    assert!(saved.contains("Ana Lopez"), "the renamed speaker: {saved}");
    assert!(
        saved.contains("Atlas: weekly release sync"),
        "the meeting's title: {saved}"
    );
    assert!(
        !saved.contains("Maria"),
        "the label the speaker was renamed from: {saved}"
    );

    // The privacy and plugins pages, for the README.
    for (path, heading, name) in [
        ("/privacy", "Privacy", "10-privacy"),
        ("/plugins", "Plugins", "11-plugins"),
    ] {
        client
            .goto(&format!("http://{}{path}", server.host()))
            .await
            .expect("open the page");
        assert_eq!(text_of(client, "h1").await, heading);
        screenshot(client, name).await;
    }
    let _ = id;
}

/// The record page in a real browser: two WAVs stand in for the microphone and the system
/// audio (`minutes app --mic-file/--system-file`, played in real time like devices). Start,
/// see the clock run, the levels move and the live transcript come in; close the tab and find
/// the recording still running in another, which cannot start a second one; stop, and land on
/// the meeting with its transcript.
#[test]
fn record_from_the_app_survives_the_tab_and_ends_on_the_meeting() {
    let Some(driver) = start_driver() else {
        return;
    };
    let env = Env::new();
    env.install(&package("template-extractive"));
    let meeting = shared("corpus/synthetic/meeting_a_2ch.wav");
    let (me, others) = (env.path("me.wav"), env.path("others.wav"));
    crate::record::cut(&meeting, 0, 40.0, &me);
    crate::record::cut(&meeting, 1, 40.0, &others);
    let _whisper = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let (me, others) = (me.display().to_string(), others.display().to_string());
    let server = Server::start_args(
        &env,
        &["--mic-file", &me, "--system-file", &others],
        &[("MINUTES_MODEL", &tiny()), ("MINUTES_THREADS", "2")],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let meeting_page = rt.block_on(async {
        let client = browser(&driver).await;
        let page = record_journey(&client, &server).await;
        let _ = client.close().await;
        page
    });
    // The meeting is the store's like any other: the CLI lists it.
    let list = env.ok(&["list", "--json"]);
    assert!(list.contains("Standup from the app"), "{list}");
    assert!(
        meeting_page.contains("Standup from the app"),
        "{meeting_page}"
    );
}

async fn record_journey(client: &Client, server: &Server) -> String {
    client.goto(&server.address).await.expect("open the app");
    client
        .find(Locator::LinkText("Record"))
        .await
        .expect("Record in the navigation")
        .click()
        .await
        .expect("open the record page");
    let form = text_of(client, "#record-form").await;
    assert!(
        form.contains("File me.wav") && form.contains("File others.wav"),
        "the sources offered: {form}"
    );
    screenshot(client, "8-record").await;
    client
        .find(Locator::Css("input[name=title]"))
        .await
        .expect("title field")
        .send_keys("Standup from the app")
        .await
        .expect("type a title");
    client
        .find(Locator::Css("#record-form button[type=submit]"))
        .await
        .expect("start button")
        .click()
        .await
        .expect("start");
    eventually("the recording page", || async {
        client.find(Locator::Css("#recording")).await.is_ok()
    })
    .await;
    // The clock runs and the levels move: the files have speech on both channels.
    eventually("the clock to pass 0:03", || async {
        let t = text_of(client, "#rec-elapsed").await;
        t.split(':').nth(1).and_then(|s| s.parse::<u32>().ok()) >= Some(3)
    })
    .await;
    // Each meter moves when its channel speaks (one speaker at a time: watch both a while).
    let mut loudest = [-90.0f64; 2];
    let deadline = Instant::now() + Duration::from_secs(40);
    while loudest.iter().any(|db| *db <= -40.0) {
        assert!(
            Instant::now() < deadline,
            "the level meters did not move: loudest {loudest:?} dB"
        );
        let v = js(
            client,
            "return [0, 1].map((i) => document.getElementById('level-' + i).value);",
        )
        .await;
        for (i, x) in v.as_array().into_iter().flatten().enumerate().take(2) {
            loudest[i] = loudest[i].max(x.as_f64().unwrap_or(-90.0));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Live lines arrive while it records (tiny.en on 2 cores; a minute at most).
    let deadline = Instant::now() + Duration::from_secs(60);
    while text_of(client, "#rec-transcript").await.trim().is_empty() {
        assert!(Instant::now() < deadline, "no live transcript line in 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    screenshot(client, "9-recording").await;

    // Close the tab: the recording is the app's. A new tab finds it still running.
    let first = client.window().await.expect("this tab");
    let second = client.new_window(true).await.expect("a new tab");
    client.close_window().await.expect("close the first tab");
    client
        .switch_to_window(second.handle)
        .await
        .expect("switch to the new tab");
    assert_ne!(first, client.window().await.expect("new tab"));
    client
        .goto(&format!("http://127.0.0.1:{}/record", server.port))
        .await
        .expect("record page in a new tab");
    let before = text_of(client, "#rec-elapsed").await;
    assert!(
        client.find(Locator::Css("#recording")).await.is_ok(),
        "the recording is still running after its tab closed"
    );
    // This tab cannot start a second recording.
    let second_start = js(
        client,
        "return fetch('/record', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'title=twice&mic=file&system=file'}).then((r) => r.status);",
    )
    .await;
    assert_eq!(second_start, 409, "a second recording was not refused");
    eventually("the clock to go on in the new tab", || async {
        text_of(client, "#rec-elapsed").await != before
    })
    .await;

    // Stop: the job's page finishes the meeting and leads to it.
    client
        .find(Locator::Css("#record-stop"))
        .await
        .expect("stop button")
        .click()
        .await
        .expect("stop");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let url = client.current_url().await.expect("url");
        if url.path().starts_with("/meetings/") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stop did not end on the meeting's page: {url} shows {}",
            text_of(client, "main").await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let page = text_of(client, "main").await;
    let transcript = text_of(client, ".transcript").await;
    assert!(
        transcript.split_whitespace().count() > 20,
        "the meeting's transcript: {transcript}"
    );
    screenshot(client, "10-recorded-meeting").await;
    page
}

/// A provider installed through the consent screen with one of its origins left out summarises
/// a meeting with the real LLM server (../shared/llm), the meeting shows the provenance, and the
/// privacy page lists the request; then a file imported by its path lands on its meeting.
#[test]
fn install_a_provider_summarise_with_it_see_its_requests_and_import_a_file() {
    use crate::providers::{REAL_SERVER, origin_of, real_server};
    let Some(driver) = start_driver() else {
        return;
    };
    let Some(base) = real_server("OLLAMA_BASE_URL") else {
        return;
    };
    let _slot = REAL_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let model = std::env::var("LLM_MODEL_NAME").unwrap_or_else(|_| "qwen2.5-coder:0.5b".into());
    let env = Env::new();
    env.install(&package("template-standard"));
    let doc = env.document();
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!(
            "[plugins.ollama]\nbase_url = \"{base}\"\nmodel = \"{model}\"\ncontext_window = 4096\n"
        ),
    )
    .expect("config");
    let _whisper = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let server = Server::start_with(
        &env,
        &[("MINUTES_MODEL", &tiny()), ("MINUTES_THREADS", "2")],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = browser(&driver).await;
        provider_journey(&client, &server, &origin_of(&base), &model).await;
        import_journey(&client, &server).await;
        let _ = client.close().await;
    });
    // What the page granted is what the CLI sees.
    let list = env.ok(&["plugin", "list", "--json"]);
    assert!(
        list.contains("127.0.0.1:11434") && !list.contains("localhost:11434\"]"),
        "{list}"
    );
}

async fn provider_journey(client: &Client, server: &Server, origin: &str, model: &str) {
    client.goto(&server.address).await.expect("open the app");
    client
        .goto(&format!("http://{}/plugins", server.host()))
        .await
        .expect("plugins page");
    let package = archive("ollama");
    client
        .find(Locator::Css("#package-file"))
        .await
        .expect("package field")
        .send_keys(package.to_str().expect("utf-8"))
        .await
        .expect("choose the package");
    client
        .find(Locator::Css("#package-form button[type=submit]"))
        .await
        .expect("review button")
        .click()
        .await
        .expect("review");
    eventually("the consent screen", || async {
        text_of(client, "h1").await.starts_with("Install ollama")
    })
    .await;
    let offered = text_of(client, "fieldset").await;
    assert!(
        offered.contains("http://localhost:11434") && offered.contains("http://127.0.0.1:11434"),
        "the origins asked for: {offered}"
    );
    // Leave localhost out.
    client
        .find(Locator::Css(
            "input[name=origin][value='http://localhost:11434']",
        ))
        .await
        .expect("localhost's box")
        .click()
        .await
        .expect("untick localhost");
    screenshot(client, "11-consent").await;
    client
        .find(Locator::Css("form button[type=submit].primary"))
        .await
        .expect("grant button")
        .click()
        .await
        .expect("grant and install");
    eventually("the installed plugin", || async {
        client.find(Locator::Css("#plugin-ollama")).await.is_ok()
    })
    .await;
    let card = text_of(client, "#plugin-ollama").await;
    assert!(card.contains("http://127.0.0.1:11434"), "{card}");
    if origin != "http://127.0.0.1:11434" {
        // The server listens elsewhere (not under CI): allow it on the same page.
        let field = client
            .find(Locator::Css("#plugin-ollama input[name=origin]"))
            .await
            .expect("allow field");
        field.send_keys(origin).await.expect("type the origin");
        field.send_keys("\n").await.expect("allow");
        eventually("the allowed origin", || async {
            text_of(client, "#plugin-ollama").await.contains(origin)
        })
        .await;
    }

    // Summarise a stored meeting with it: the review shows where the data goes, the job page
    // streams, the meeting shows who made the notes.
    client
        .goto(&format!("http://{}/meetings/m-42", server.host()))
        .await
        .expect("the meeting");
    js(
        client,
        "document.querySelector('#template').value = 'template-standard'; \
         document.querySelector('select[name=provider]').value = 'ollama'; \
         document.querySelector('#template').form.submit()",
    )
    .await;
    eventually("the review", || async {
        text_of(client, ".review").await.contains("127.0.0.1")
            || text_of(client, ".review").await.contains(origin)
    })
    .await;
    screenshot(client, "12-review-provider").await;
    client
        .find(Locator::Css(".allowed button"))
        .await
        .expect("Summarise now")
        .click()
        .await
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(400);
    loop {
        let url = client.current_url().await.expect("url");
        let provenance = text_of(client, ".provenance").await;
        if url.path() == "/meetings/m-42" && provenance.contains("ollama") {
            assert!(
                provenance.contains("template-standard") && provenance.contains(model),
                "{provenance}"
            );
            break;
        }
        let page = text_of(client, "main").await;
        assert!(
            !page.contains("failed:") || page.contains("malformed"),
            "the summary failed: {page}"
        );
        if page.contains("malformed twice") {
            // The 0.5B model's answer was unusable twice: that is the model, and the page says
            // so; the request still went out and is in the ledger, checked below.
            eprintln!("the small model's answers were malformed: {page}");
            break;
        }
        assert!(Instant::now() < deadline, "no summary: {url} shows {page}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    screenshot(client, "13-summarised-by-provider").await;

    // The privacy page lists the requests to the provider.
    client
        .goto(&format!("http://{}/privacy", server.host()))
        .await
        .expect("privacy page");
    let ledger = text_of(client, "table.ledger").await;
    assert!(
        ledger.contains("ollama") && ledger.contains("127.0.0.1:11434"),
        "the provider's requests in the ledger: {ledger}"
    );
    screenshot(client, "14-privacy-provider").await;
}

async fn import_journey(client: &Client, server: &Server) {
    client
        .goto(&format!("http://{}/import", server.host()))
        .await
        .expect("import page");
    let jfk = shared("corpus/real/jfk.wav");
    client
        .find(Locator::Css("input[name=path]"))
        .await
        .expect("path field")
        .send_keys(jfk.to_str().expect("utf-8"))
        .await
        .expect("type the path");
    client
        .find(Locator::Css("input[name=title]"))
        .await
        .expect("title field")
        .send_keys("Imported by path")
        .await
        .expect("type the title");
    client
        .find(Locator::Css("form[action='/import'] button"))
        .await
        .expect("import button")
        .click()
        .await
        .expect("import");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let url = client.current_url().await.expect("url");
        if url.path().starts_with("/meetings/") && text_of(client, "h1").await == "Imported by path"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the import did not land on its meeting: {url} shows {}",
            text_of(client, "main").await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let transcript = text_of(client, "ol.transcript").await.to_lowercase();
    assert!(transcript.contains("ask not"), "{transcript}");
}
