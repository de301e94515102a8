//! `minutes app` over plain HTTP: the server refuses what another program or web site could
//! send it (no session, a foreign Host, a foreign Origin), sends no CORS headers and a strict
//! CSP, escapes transcript text, and serves the recording with ranges. Requests are written
//! by hand over TCP so every header is exactly what the test says.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A running `minutes app --no-open --port 0`, stopped when dropped.
pub struct Server {
    child: Child,
    /// The address it printed, token included.
    pub address: String,
    pub port: u16,
}

impl Server {
    pub fn start(env: &Env) -> Server {
        Server::start_with(env, &[])
    }

    /// Started with these environment variables set.
    pub fn start_with(env: &Env, vars: &[(&str, &str)]) -> Server {
        Server::start_args(env, &[], vars)
    }

    /// Started with these arguments after `minutes app` and these environment variables.
    pub fn start_args(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut command = env.command(&["app", "--no-open", "--port", "0"]);
        command.args(args);
        command.envs(vars.iter().copied());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start minutes app");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("minutes app: ") {
                    let _ = tx.send(address.to_string());
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("`minutes app` printed `minutes app: <address>`");
        let port = address
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("address on 127.0.0.1 with a port: {address}"));
        Server {
            child,
            address,
            port,
        }
    }

    pub fn token(&self) -> &str {
        self.address
            .split("token=")
            .nth(1)
            .expect("the address carries a token")
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The session cookie (`name=value`) the token is traded for.
    pub fn session(&self) -> String {
        let r = self.send("GET", &format!("/?token={}", self.token()), &[], "");
        assert_eq!(r.status, 303, "{r:?}");
        let cookie = r.header("set-cookie").expect("a session cookie");
        cookie.split(';').next().expect("name=value").to_string()
    }

    /// Sends one request with Host 127.0.0.1:port and `headers`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl AsRef<[u8]>,
    ) -> Reply {
        let host = self.host();
        let mut all = vec![("Host", host.as_str())];
        all.extend_from_slice(headers);
        raw(self.port, method, path, &all, body)
    }

    pub fn get(&self, path: &str, cookie: &str) -> Reply {
        self.send("GET", path, &[("Cookie", cookie)], "")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request exactly as given (the caller sets Host), read to the end.
pub fn raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> Reply {
    let body = body.as_ref();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    if !body.is_empty() {
        request += &format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    request += "\r\n";
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).expect("send");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read reply");
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let mut body = bytes[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

/// A meeting whose transcript, speaker, title and summary try to inject markup.
const HOSTILE_DOCUMENT: &str = r#"{
  "metadata": {"id": "hostile", "title": "<b>Board</b> & <i>co</i>", "started_at": "2026-11-29T09:00:00Z",
               "duration_ms": 11000, "labels": ["<label>"], "language": "en"},
  "transcript": {"language": "en", "speakers": [{"id": "x", "name": "<img src=x onerror=alert(2)>", "channel": 0}],
    "segments": [
      {"id": 0, "start_ms": 0, "end_ms": 4000, "channel": 0, "speaker_id": "x", "text": "Type <script>alert(1)</script> in the form."},
      {"id": 1, "start_ms": 4000, "end_ms": 9000, "channel": 0, "speaker_id": "x", "text": "The budget is fine."}
  ]},
  "summary": {"markdown": "", "sections": [{"title": "<h1>Overview</h1>", "body": "Said <script>steal()</script>.\n- <img src=y>\n\n| <i>who</i> | time |\n| --- | --- |\n| <b>me</b> | 1 |"}],
              "action_items": [{"owner": "<u>Sam</u>", "task": "Fix <iframe>", "due": "<b>Friday</b>"}],
              "decisions": ["Ship <style>body{}</style>"], "open_questions": []}
}"#;

pub fn add_document(env: &Env, name: &str, json: &str, audio: Option<&std::path::Path>) {
    let path = env.path(name);
    std::fs::write(&path, json).expect("write document");
    let mut args = vec![
        "store".to_string(),
        "add-document".into(),
        path.display().to_string(),
    ];
    if let Some(a) = audio {
        args.push("--audio".into());
        args.push(a.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.ok(&args);
}

pub fn jfk() -> std::path::PathBuf {
    shared("corpus/real/jfk.wav")
}

#[test]
fn the_printed_token_is_traded_for_a_strict_httponly_cookie_and_a_clean_address() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let app = Server::start(&env);
    assert_eq!(app.token().len(), 64, "{}", app.address);
    let r = app.send(
        "GET",
        &format!("/meetings/m-42?token={}", app.token()),
        &[],
        "",
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some("/meetings/m-42"));
    let cookie = r.header("set-cookie").expect("cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains(app.token()),
        "the cookie is not the URL's token: {cookie}"
    );
    let session = cookie.split(';').next().expect("pair");
    let page = app.get("/meetings/m-42", session);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Atlas: weekly release sync"));
    // A token-bearing address cannot be bent into a redirect to another site.
    let r = app.send(
        "GET",
        &format!("//evil.example/?token={}", app.token()),
        &[],
        "",
    );
    assert_eq!(r.header("location"), Some("/"), "{r:?}");
}

#[test]
fn requests_without_the_session_are_refused() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, Some(&jfk()));
    let app = Server::start(&env);
    for path in [
        "/",
        "/results?q=launch",
        "/meetings/m-42",
        "/meetings/m-42/audio",
        "/assets/app.js",
    ] {
        let r = app.send("GET", path, &[], "");
        assert_eq!(r.status, 401, "{path} without a cookie: {r:?}");
        assert!(!r.text().contains("launch"), "{path} leaked content");
        let r = app.get(path, "minutes_session=0123456789abcdef");
        assert_eq!(r.status, 401, "{path} with a guessed cookie: {r:?}");
    }
    let r = app.send("GET", "/?token=00000000", &[], "");
    assert_eq!(r.status, 401, "a wrong token: {r:?}");
    assert!(r.header("set-cookie").is_none());
    let r = app.send(
        "POST",
        "/meetings/m-42/segments/0",
        &[("Origin", &format!("http://{}", app.host()))],
        "text=hacked",
    );
    assert_eq!(r.status, 401, "a change without a cookie: {r:?}");
    assert!(!env.ok(&["show", "m-42"]).contains("hacked"));
}

#[test]
fn another_host_name_is_refused_even_with_the_session() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let app = Server::start(&env);
    let cookie = app.session();
    let port = app.port;
    // A DNS-rebinding page reaches the port under its own name.
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1".to_string(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("localhost.evil.example:{port}"),
    ] {
        let r = raw(
            port,
            "GET",
            "/",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(r.status, 403, "Host {host}: {r:?}");
        assert!(!r.text().contains("Atlas"), "Host {host} leaked content");
    }
    let r = raw(port, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(r.status, 403, "no Host at all: {r:?}");
    for host in [
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        app.host(),
    ] {
        let r = raw(
            port,
            "GET",
            "/",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(r.status, 200, "Host {host}: {r:?}");
    }
}

#[test]
fn a_change_needs_the_apps_own_origin() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let app = Server::start(&env);
    let cookie = app.session();
    let path = "/meetings/m-42/segments/0";
    for origin in [
        None,
        Some("http://evil.example".to_string()),
        Some("null".to_string()),
        Some(format!("http://127.0.0.1:{}", app.port.wrapping_add(1))),
        Some(format!("https://127.0.0.1:{}", app.port)),
    ] {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if let Some(o) = &origin {
            headers.push(("Origin", o.as_str()));
        }
        let r = app.send("POST", path, &headers, "text=We+never+launch.");
        assert_eq!(r.status, 403, "Origin {origin:?}: {r:?}");
    }
    assert!(
        env.ok(&["show", "m-42"])
            .contains("We move the launch to March 17th."),
        "a refused change changed nothing"
    );
    let origin = format!("http://{}", app.host());
    let r = app.send(
        "POST",
        path,
        &[("Cookie", &cookie), ("Origin", &origin)],
        "text=We+move+the+launch+to+March+18th.",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let saved: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(saved["original_text"], "We move the launch to March 17th.");
    let show = env.ok(&["show", "m-42"]);
    assert!(show.contains("March 18th"), "{show}");
    let hits = env.ok(&["search", "March 18th"]);
    assert!(hits.contains("m-42"), "searchable at once: {hits}");
}

#[test]
fn no_cors_headers_and_a_csp_that_allows_only_the_apps_own_scripts() {
    let env = Env::new();
    add_document(&env, "m.json", SAMPLE_DOCUMENT, Some(&jfk()));
    let app = Server::start(&env);
    let cookie = app.session();
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/meetings/m-42"),
        ("OPTIONS", "/meetings/m-42/segments/0"),
        ("GET", "/assets/app.js"),
    ] {
        let r = app.send(
            method,
            path,
            &[
                ("Cookie", &cookie),
                ("Origin", "http://evil.example"),
                ("Access-Control-Request-Method", "POST"),
            ],
            "",
        );
        assert!(
            !r.headers
                .iter()
                .any(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-")),
            "{method} {path} sent CORS headers: {r:?}"
        );
        let csp = r
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{method} {path}: no CSP"));
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        // No referrer to other sites; `no-referrer` would make form posts carry `Origin: null`.
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{r:?}");
    }
    for path in ["/", "/meetings/m-42", "/privacy", "/import", "/settings"] {
        let html = app.get(path, &cookie).text();
        // What the CSP would block must not be needed: no inline script, style or handler.
        for script in html.split("<script").skip(1) {
            assert!(
                script.starts_with(" src=\"/assets/"),
                "inline script: {script}"
            );
            assert!(script.contains("></script>"), "script with a body");
        }
        assert!(!html.contains(" style="), "inline style in {path}");
        assert!(!html.contains(" onclick="), "inline handler in {path}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path} refers elsewhere"
        );
    }
}

#[test]
fn markup_in_a_transcript_summary_or_name_is_shown_as_text() {
    let env = Env::new();
    add_document(&env, "h.json", HOSTILE_DOCUMENT, None);
    let app = Server::start(&env);
    let cookie = app.session();
    let page = app.get("/meetings/hostile", &cookie);
    assert_eq!(page.status, 200, "{page:?}");
    let html = page.text();
    for escaped in [
        "Type &lt;script&gt;alert(1)&lt;/script&gt; in the form.",
        "&lt;img src=x onerror=alert(2)&gt;",
        "&lt;b&gt;Board&lt;/b&gt; &amp; &lt;i&gt;co&lt;/i&gt;",
        "Said &lt;script&gt;steal()&lt;/script&gt;.",
        "&lt;u&gt;Sam&lt;/u&gt;",
        "Fix &lt;iframe&gt;",
        "Ship &lt;style&gt;body{}&lt;/style&gt;",
        "<li>&lt;img src=y&gt;</li>",
        "<th>&lt;i&gt;who&lt;/i&gt;</th>",
        "<td>&lt;b&gt;me&lt;/b&gt;</td>",
    ] {
        assert!(html.contains(escaped), "missing {escaped} in:\n{html}");
    }
    for raw_markup in [
        "<script>",
        "<img src=x",
        "<b>Board",
        "<iframe>",
        "<style>",
        "<u>Sam",
        "<h1>Overview",
        "<img src=y",
        "<i>who",
        "<b>me",
    ] {
        assert!(!html.contains(raw_markup), "{raw_markup} got through");
    }
    let list = app.get("/", &cookie).text();
    assert!(list.contains("&lt;b&gt;Board&lt;/b&gt;"), "{list}");
    assert!(list.contains("&lt;label&gt;"), "{list}");
    // Search snippets: the match is marked, the markup around it is still text.
    let hits = app.get("/results?q=alert", &cookie).text();
    assert!(
        hits.contains("Type &lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;"),
        "{hits}"
    );
    assert!(!hits.contains("<script>"), "{hits}");
}

#[test]
fn the_list_pages_filters_by_label_and_searches_with_highlights() {
    let env = Env::new();
    for n in 0..27 {
        let doc = SAMPLE_DOCUMENT
            .replace("\"m-42\"", &format!("\"m-{n:02}\""))
            .replace("Atlas: weekly release sync", &format!("Sync number {n:02}"))
            .replace(
                "2026-11-28T10:00:00Z",
                &format!("2026-10-{:02}T10:00:00Z", n + 1),
            )
            .replace(
                "[\"atlas\", \"release\"]",
                if n % 9 == 0 {
                    "[\"board\"]"
                } else {
                    "[\"atlas\"]"
                },
            );
        add_document(&env, &format!("m{n}.json"), &doc, None);
    }
    let app = Server::start(&env);
    let cookie = app.session();
    let first = app.get("/", &cookie).text();
    // Newest first, 25 a page, with who spoke and the labels.
    assert!(first.contains("Sync number 26"), "{first}");
    assert!(!first.contains("Sync number 01<"), "page 1 stops at 25");
    assert!(first.find("Sync number 26") < first.find("Sync number 25"));
    assert!(first.contains("Maria"), "speakers shown");
    assert!(first.contains("page 1 of 2"), "{first}");
    let second = app.get("/?page=2", &cookie).text();
    assert!(second.contains("Sync number 00") && second.contains("Sync number 01"));
    assert!(!second.contains("Sync number 26"));
    let board = app.get("/results?label=board", &cookie).text();
    let titles = board.matches("Sync number").count();
    assert_eq!(titles, 3, "label filter: {board}");
    let hits = app.get("/results?q=launch+march", &cookie).text();
    assert!(hits.contains("<mark>launch</mark>"), "{hits}");
    assert!(
        hits.contains("#t=1000"),
        "a transcript hit links to its time"
    );
    let board_hits = app.get("/results?q=launch&label=board", &cookie).text();
    let mut meetings: Vec<&str> = board_hits
        .match_indices("/meetings/")
        .map(|(i, _)| &board_hits[i + 10..i + 14])
        .collect();
    meetings.sort();
    meetings.dedup();
    assert_eq!(meetings, ["m-00", "m-09", "m-18"], "{board_hits}");
}

#[test]
fn the_recording_is_served_with_ranges_and_m4a_as_wav() {
    let env = Env::new();
    add_document(&env, "wav.json", SAMPLE_DOCUMENT, Some(&jfk()));
    let m4a = workspace().join("tests/fixtures/jfk.m4a");
    add_document(
        &env,
        "m4a.json",
        &SAMPLE_DOCUMENT.replace("\"m-42\"", "\"m-m4a\""),
        Some(&m4a),
    );
    let gone = env.path("gone.wav");
    std::fs::copy(jfk(), &gone).expect("copy");
    add_document(
        &env,
        "gone.json",
        &SAMPLE_DOCUMENT.replace("\"m-42\"", "\"m-gone\""),
        Some(&gone),
    );
    std::fs::remove_file(&gone).expect("delete the recording");
    let app = Server::start(&env);
    let cookie = app.session();
    let size = std::fs::metadata(jfk()).expect("jfk").len();
    let r = app.send(
        "GET",
        "/meetings/m-42/audio",
        &[("Cookie", &cookie), ("Range", "bytes=100-199")],
        "",
    );
    assert_eq!(r.status, 206, "{:?}", r.headers);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-199/{size}").as_str())
    );
    assert_eq!(r.body.len(), 100);
    assert_eq!(
        r.body,
        std::fs::read(jfk()).expect("jfk")[100..200].to_vec()
    );
    let whole = app.get("/meetings/m-m4a/audio", &cookie);
    assert_eq!(whole.status, 200, "{:?}", whole.headers);
    assert!(
        whole
            .header("content-type")
            .is_some_and(|t| t.contains("wav")),
        "{:?}",
        whole.headers
    );
    assert_eq!(&whole.body[..4], b"RIFF");
    assert_eq!(&whole.body[8..12], b"WAVE");
    // ~11 s of 16-bit audio at 16 kHz: the whole recording, not a stub.
    assert!(whole.body.len() > 300_000, "{}", whole.body.len());
    let part = app.send(
        "GET",
        "/meetings/m-m4a/audio",
        &[("Cookie", &cookie), ("Range", "bytes=0-43")],
        "",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, whole.body[..44].to_vec());
    // A deleted recording and an unknown meeting: a clear message, not a crash.
    let page = app.get("/meetings/m-gone", &cookie);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("is gone"), "{}", page.text());
    let audio = app.get("/meetings/m-gone/audio", &cookie);
    assert_eq!(audio.status, 404);
    let unknown = app.get("/meetings/nope", &cookie);
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("no meeting `nope`"),
        "{}",
        unknown.text()
    );
}

#[test]
fn a_correction_from_the_command_line_is_searched_summarised_and_exported() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    env.install(&package("template-extractive"));
    add_document(&env, "m.json", SAMPLE_DOCUMENT, None);
    let out = env.ok(&[
        "transcript",
        "edit",
        "m-4",
        "0",
        "We move the launch to Zanzibar.",
    ]);
    assert!(
        out.contains("We move the launch to Zanzibar.")
            && out.contains("We move the launch to March 17th."),
        "says what changed and what was kept: {out}"
    );
    let hits = env.ok(&["search", "zanzibar"]);
    assert!(hits.contains("m-42"), "{hits}");
    assert!(!env.ok(&["search", "march 17th"]).contains("[00:01]"));
    let summary = env.ok(&["summarize", "m-42", "--json"]);
    assert!(summary.contains("Zanzibar"), "the next summary: {summary}");
    let written: serde_json::Value = serde_json::from_str(&env.ok(&[
        "export",
        "m-42",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--json",
    ]))
    .expect("json");
    let md =
        std::fs::read_to_string(env.path(written[0].as_str().expect("path"))).expect("the note");
    assert!(md.contains("We move the launch to Zanzibar."), "{md}");
    let err = env.fails(&["transcript", "edit", "m-42", "7", "text"]);
    assert!(err.contains("no segment 7"), "{err}");
    let err = env.fails(&["transcript", "edit", "m-42", "0", "   "]);
    assert!(err.contains("non-empty"), "{err}");
}

#[test]
fn a_summary_items_citations_link_to_their_moment() {
    let env = Env::new();
    let cited = SAMPLE_DOCUMENT.replace(
        r#""decisions": ["Launch on March 17th"]"#,
        r#""decisions": [{"text": "Launch on March 17th", "grounding": "supported",
                          "citations": [{"segment_id": 1, "at_ms": 65000}]}]"#,
    );
    assert_ne!(cited, SAMPLE_DOCUMENT);
    add_document(&env, "m.json", &cited, Some(&jfk()));
    let app = Server::start(&env);
    let cookie = app.session();
    let html = app.get("/meetings/m-42", &cookie).text();
    assert!(
        html.contains(r##"<a class="cite" href="#seg-1" data-at="65000">01:05</a>"##),
        "{html}"
    );
    // The line it cites is there to jump to, with its times for the player.
    assert!(
        html.contains(r#"id="seg-1" data-start="65000" data-end="68000""#),
        "{html}"
    );
}
