//! The network sandbox against real loopback servers: every attack from the issue, each
//! asserting the forbidden server was never hit and the ledger recorded the attempt.

use crate::common::*;
use crate::server::TestServer;
use futures_util::future::BoxFuture;
use minutes::ledger::{AuditFilter, EgressLedger, EgressRecord, Outcome};
use minutes::model::{CompletionRequest, Message, ResponseFormat, Role};
use minutes::plugins::net::{HostResolver, NetOptions};
use minutes::plugins::{Home, LoadedPlugin, Registry, Runtime};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resolves every name to one address: a granted name that points somewhere private.
struct StaticResolver(IpAddr);

impl HostResolver for StaticResolver {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move { Ok(vec![self.0]) })
    }
}

/// The net-probe package with its [network] and secret origins rewritten.
fn probe_package(dir: &std::path::Path, origins: &[String], secret_origins: &[String]) -> PathBuf {
    let pkg = copy_package("net-probe", dir);
    let manifest = pkg.join("plugin.toml");
    let quote = |v: &[String]| {
        v.iter()
            .map(|o| format!("\"{o}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(
            "origins = [\"https://api.example.com\"]\n\n[[secrets]]",
            &format!("origins = [{}]\n\n[[secrets]]", quote(origins)),
        )
        .replace(
            "format = \"Bearer {}\"\norigins = [\"https://api.example.com\"]",
            &format!(
                "format = \"Bearer {{}}\"\norigins = [{}]",
                quote(secret_origins)
            ),
        );
    std::fs::write(&manifest, text).unwrap();
    pkg
}

struct Probe {
    env: Env,
    _scratch: tempfile::TempDir,
}

impl Probe {
    /// Installs net-probe declaring `declared`, granting `granted` (None = all it asks for).
    fn install(
        declared: &[String],
        secret_origins: &[String],
        granted: Option<&[String]>,
    ) -> Probe {
        let env = Env::new();
        let scratch = tempfile::tempdir().unwrap();
        let pkg = probe_package(scratch.path(), declared, secret_origins);
        let mut args = vec![
            "plugin".to_string(),
            "install".into(),
            pkg.to_str().unwrap().into(),
        ];
        match granted {
            None => args.push("--yes".into()),
            Some(g) => g
                .iter()
                .for_each(|o| args.extend(["--grant".into(), o.clone()])),
        }
        env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        Probe {
            env,
            _scratch: scratch,
        }
    }

    fn home(&self) -> Home {
        Home::at(self.env.home.path())
    }

    fn load(&self, options: NetOptions) -> (Runtime, LoadedPlugin) {
        let home = self.home();
        let ledger = EgressLedger::open(&home.ledger_path()).unwrap();
        let options = NetOptions {
            ledger: Some(Arc::new(ledger)),
            ..options
        };
        let runtime = Runtime::with_network(&home.cache_dir(), options).unwrap();
        let plugin = Registry::open(home)
            .unwrap()
            .load(&runtime, "net-probe")
            .unwrap();
        (runtime, plugin)
    }

    /// Runs one scripted request and returns what the plugin saw.
    fn run(&self, script: Value) -> Value {
        self.run_with(NetOptions::default(), script)
    }

    fn run_with(&self, options: NetOptions, script: Value) -> Value {
        let (_rt, plugin) = self.load(options);
        block_on(complete(&plugin, &script))
    }

    /// Stores a secret the way a user does: `minutes secret set` reading stdin.
    fn set_secret(&self, name: &str, value: &str) {
        use std::io::Write;
        let mut set = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
            .args(["secret", "set", "net-probe", name])
            .env("MINUTES_HOME", self.env.home.path())
            .env("HOME", self.env.user.path())
            .env("MINUTES_SECRETS", "file")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        set.stdin
            .take()
            .unwrap()
            .write_all(format!("{value}\n").as_bytes())
            .unwrap();
        assert!(set.wait().unwrap().success());
    }

    fn ledger(&self) -> Vec<EgressRecord> {
        let ledger = EgressLedger::open(&self.home().ledger_path()).unwrap();
        let mut rows = ledger
            .records(&AuditFilter {
                plugin_id: Some("net-probe".into()),
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        rows.reverse();
        rows
    }
}

async fn complete(plugin: &LoadedPlugin, script: &Value) -> Value {
    let request = CompletionRequest {
        messages: vec![Message {
            role: Role::User,
            content: script.to_string(),
        }],
        model: None,
        max_tokens: None,
        temperature: None,
        response_format: ResponseFormat::Text,
    };
    let completion = plugin
        .complete(&request)
        .await
        .expect("the probe reports, it does not fail");
    serde_json::from_str(&completion.text).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn assert_denied(out: &Value, origin: &str, why: &str) {
    assert_eq!(out["denied_origin"], origin, "{out}");
    let err = out["error"].as_str().unwrap_or_default();
    assert!(err.contains(why), "denial does not say {why:?}: {out}");
}

#[test]
fn an_undeclared_host_is_never_reached() {
    let (allowed, other) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[allowed.origin()], &[allowed.origin()], None);
    let out = probe.run(json!({"url": other.url("/ok")}));
    assert_denied(&out, &other.origin(), "not granted");
    assert!(other.hits().is_empty(), "the undeclared server was reached");
    let rows = probe.ledger();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome, rows[0].origin.as_str(), rows[0].bytes_sent),
        (Outcome::Denied, other.origin().as_str(), 0)
    );

    // The allowed one works, and is recorded with its size.
    let out = probe.run(json!({"url": allowed.url("/ok")}));
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body_prefix"], "hello");
    let rows = probe.ledger();
    assert_eq!(
        (rows[1].outcome, rows[1].status, rows[1].bytes_received),
        (Outcome::Sent, Some(200), 5)
    );
}

#[test]
fn a_declared_but_ungranted_host_is_never_reached_until_allowed() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(
        &[a.origin(), b.origin()],
        &[a.origin()],
        Some(&[a.origin()]),
    );
    let out = probe.run(json!({"url": b.url("/ok")}));
    assert_denied(&out, &b.origin(), "not granted");
    assert!(b.hits().is_empty());
    assert!(
        probe.ledger()[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("not granted")
    );

    probe.env.ok(&["plugin", "allow", "net-probe", &b.origin()]);
    assert_eq!(probe.run(json!({"url": b.url("/ok")}))["status"], 200);
    probe.env.ok(&["plugin", "deny", "net-probe", &b.origin()]);
    assert_denied(
        &probe.run(json!({"url": b.url("/ok")})),
        &b.origin(),
        "not granted",
    );
    assert_eq!(b.hits().len(), 1, "reached only while allowed");

    // An origin the plugin never declared cannot be granted at all.
    let err = probe
        .env
        .fails(&["plugin", "allow", "net-probe", "https://evil.example"]);
    assert!(
        err.contains("does not declare https://evil.example"),
        "{err}"
    );
}

#[test]
fn a_redirect_to_an_unlisted_host_is_refused_at_the_hop() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let out = probe.run(
        json!({"url": a.url(&format!("/redirect?to={}", b.url("/ok"))), "follow_redirects": true}),
    );
    assert_denied(&out, &b.origin(), "not granted");
    assert!(b.hits().is_empty(), "the redirect target was reached");
    let rows = probe.ledger();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].status, rows[0].outcome),
        (Some(302), Outcome::Sent)
    );
    assert_eq!(
        (rows[1].outcome, rows[1].origin.as_str()),
        (Outcome::Denied, b.origin().as_str())
    );

    // Without follow_redirects the plugin gets the 302 itself.
    let out = probe.run(json!({"url": a.url(&format!("/redirect?to={}", b.url("/ok")))}));
    assert_eq!(out["status"], 302);
    assert!(b.hits().is_empty());
}

#[test]
fn a_redirect_to_the_metadata_address_is_refused() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let out = probe.run(json!({"url": a.url("/redirect?to=http://169.254.169.254/latest/meta-data/"), "follow_redirects": true}));
    assert_denied(&out, "http://169.254.169.254", "not granted");
    assert_eq!(
        probe.ledger().last().map(|r| r.outcome),
        Some(Outcome::Denied)
    );
}

#[test]
fn a_granted_name_that_resolves_to_a_private_address_is_refused() {
    let a = TestServer::start();
    let name = format!("https://api.internal.test:{}", a.port);
    let probe = Probe::install(
        std::slice::from_ref(&name),
        std::slice::from_ref(&name),
        None,
    );
    let options = NetOptions {
        resolver: Arc::new(StaticResolver(IpAddr::from([127, 0, 0, 1]))),
        ..Default::default()
    };
    let out = probe.run_with(options, json!({"url": format!("{name}/ok")}));
    assert_denied(&out, &name, "non-public");
    assert!(a.hits().is_empty(), "connected to the private address");
    let options = NetOptions {
        resolver: Arc::new(StaticResolver(IpAddr::from([10, 1, 2, 3]))),
        ..Default::default()
    };
    assert_denied(
        &probe.run_with(options, json!({"url": format!("{name}/ok")})),
        &name,
        "non-public",
    );
}

#[test]
fn huge_and_gzip_bomb_responses_stop_at_the_limit() {
    crate::server::gzip_bomb();
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    for path in ["/huge", "/gzip-bomb"] {
        let out = probe.run(json!({"url": a.url(path)}));
        assert!(
            out["error"]
                .as_str()
                .unwrap_or("")
                .contains("larger than the limit of 1048576 bytes"),
            "{path}: {out}"
        );
        let row = probe.ledger().pop().unwrap();
        assert_eq!(row.outcome, Outcome::Failed, "{path}");
        assert!(
            row.bytes_received <= 1024 * 1024,
            "{path}: read {} bytes",
            row.bytes_received
        );
    }
    // Streaming is capped the same way.
    let out = probe.run(json!({"url": a.url("/gzip-bomb"), "stream": true}));
    assert!(
        out["error"]
            .as_str()
            .unwrap_or("")
            .contains("larger than the limit"),
        "{out}"
    );
}

#[test]
fn a_trickling_server_hits_the_deadline() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    // Compiling the plugin is not part of the request's time.
    let (_rt, plugin) = probe.load(NetOptions::default());
    let started = Instant::now();
    let out = block_on(complete(
        &plugin,
        &json!({"url": a.url("/trickle"), "timeout_ms": 2500}),
    ));
    let took = started.elapsed();
    assert!(
        out["error"].as_str().unwrap_or("").starts_with("timed out"),
        "{out}"
    );
    // The server trickles for 100 s; stopping anywhere near the 2.5 s deadline is the point,
    // with slack for a loaded machine.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(
        probe.ledger().pop().map(|r| r.outcome),
        Some(Outcome::Failed)
    );
}

#[test]
fn secrets_go_only_where_declared_and_the_plugin_never_sees_them() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[a.origin(), b.origin()], &[a.origin()], None);
    probe.set_secret("api-key", "s3cret-key");
    let listed = probe.env.ok(&["secret", "list"]);
    assert!(
        listed.contains("api-key: set (file)") && !listed.contains("s3cret"),
        "{listed}"
    );

    let out = probe.run(json!({"url": a.url("/echo")}));
    assert_eq!(
        out["secret_via_config"],
        Value::Null,
        "config.get revealed the secret"
    );
    assert!(!out["body_prefix"].as_str().unwrap().is_empty());
    assert_eq!(
        (a.hits()[0].method.as_str(), a.hits()[0].path.as_str()),
        ("GET", "/echo")
    );
    assert_eq!(
        a.hits()[0].header("authorization"),
        Some("Bearer s3cret-key")
    );

    // To the other granted origin: no secret, whatever the plugin sets.
    probe.run(json!({"url": b.url("/echo"), "headers": [["X-Leak", "anything"]]}));
    assert_eq!(
        b.hits()[0].header("authorization"),
        None,
        "secret sent to an origin it was not declared for"
    );
    // The plugin cannot overwrite the injected value with its own.
    probe.run(json!({"url": a.url("/echo"), "headers": [["Authorization", "Bearer forged"]]}));
    assert_eq!(
        a.hits()[1].header("authorization"),
        Some("Bearer s3cret-key")
    );
    // And a redirect from the secret's origin to another granted one does not carry it.
    probe.run(json!({"url": a.url(&format!("/redirect?to={}", b.url("/echo"))), "follow_redirects": true}));
    assert_eq!(
        b.hits().last().unwrap().header("authorization"),
        None,
        "secret followed a redirect"
    );
    // Nothing the plugin sent anywhere contains the secret except the injected header.
    for hit in a.hits().iter().chain(b.hits().iter()) {
        let body = String::from_utf8_lossy(&hit.body);
        assert!(!body.contains("s3cret"), "secret in a body: {hit:?}");
    }
}

#[test]
fn concurrent_requests_are_limited_per_plugin() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let (_rt, plugin) = probe.load(NetOptions::default());
    let script = json!({"url": a.url("/slow")});
    let outs = block_on(futures_util::future::join_all(
        (0..10).map(|_| complete(&plugin, &script)),
    ));
    assert!(outs.iter().all(|o| o["status"] == 200), "{outs:?}");
    assert_eq!(a.hits().len(), 10);
    let max = a.max_in_flight();
    assert!(
        (1..=minutes::plugins::net::client::MAX_CONCURRENT).contains(&max),
        "{max} requests in flight at once"
    );
}

#[test]
fn server_sent_events_stream_in_chunks() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let out = probe.run(json!({"url": a.url("/sse"), "stream": true}));
    assert_eq!(out["status"], 200);
    assert!(
        out["body_prefix"]
            .as_str()
            .unwrap()
            .contains("data: {\"n\": 5}"),
        "{out}"
    );
    let row = probe.ledger().pop().unwrap();
    assert_eq!(
        (row.outcome, row.bytes_received),
        (Outcome::Sent, out["bytes"].as_u64().unwrap())
    );
}

#[test]
fn offline_mode_sends_nothing_and_the_ledger_proves_it() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let out = probe.run_with(
        NetOptions {
            offline: true,
            ..Default::default()
        },
        json!({"url": a.url("/ok")}),
    );
    assert_denied(&out, &a.origin(), "offline");
    assert!(a.hits().is_empty());
    let rows = probe.ledger();
    assert_eq!(
        (rows[0].outcome, rows[0].bytes_sent, rows[0].bytes_received),
        (Outcome::Denied, 0, 0)
    );
}

#[test]
fn hop_by_hop_and_forged_host_headers_are_refused() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    for (name, value) in [
        ("Host", "evil.example"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "upgrade"),
        ("X-Bad", "a\r\nInjected: 1"),
    ] {
        let out = probe.run(json!({"url": a.url("/echo"), "headers": [[name, value]]}));
        assert!(
            out["error"].as_str().unwrap_or("").starts_with("protocol"),
            "{name}: {out}"
        );
    }
    assert!(a.hits().is_empty());
    for url in ["ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/ok"] {
        let out = probe.run(json!({"url": url}));
        assert!(out["error"].is_string(), "{url}: {out}");
    }
    assert!(a.hits().is_empty());
}

#[test]
fn audit_shows_real_rows_with_totals() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    probe.run(json!({"url": a.url("/ok")}));
    probe.run(json!({"url": b.url("/ok")}));
    let text = probe.env.ok(&["audit", "--plugin", "net-probe"]);
    assert!(
        text.contains("DENIED") && text.contains(&b.origin()),
        "{text}"
    );
    assert!(text.contains(&format!("{}/ok", a.origin())), "{text}");
    assert!(
        text.contains("2 requests (1 denied, 0 failed)") || text.contains("1 requests (1 denied"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&probe.env.ok(&["audit", "--json"])).unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), 2);
    let none: Value =
        serde_json::from_str(
            &probe
                .env
                .ok(&["audit", "--plugin", "someone-else", "--json"]),
        )
        .unwrap();
    assert!(none["records"].as_array().unwrap().is_empty());
}

#[test]
fn an_update_that_asks_for_more_needs_consent_again() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let scratch = tempfile::tempdir().unwrap();
    let wider = probe_package(scratch.path(), &[a.origin(), b.origin()], &[a.origin()]);
    let manifest = wider.join("plugin.toml");
    std::fs::write(
        &manifest,
        std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("version = \"0.1.0\"", "version = \"0.2.0\""),
    )
    .unwrap();
    let err = probe
        .env
        .fails(&["plugin", "install", wider.to_str().unwrap()]);
    assert!(
        err.contains("(updating from 0.1.0) asks for more than before"),
        "{err}"
    );
    assert!(
        err.contains(&format!("network access to {}", b.origin())),
        "{err}"
    );
    assert!(
        !err.contains(&format!("network access to {}\n", a.origin())),
        "already granted origin asked again: {err}"
    );
    let info: Value =
        serde_json::from_str(&probe.env.ok(&["plugin", "info", "net-probe", "--json"])).unwrap();
    assert_eq!(
        info["installed"]["version"], "0.1.0",
        "refused update replaced the plugin"
    );

    let out = probe
        .env
        .ok(&["plugin", "install", "--yes", wider.to_str().unwrap()]);
    assert!(out.contains("updated net-probe 0.1.0 → 0.2.0"), "{out}");
    let info: Value =
        serde_json::from_str(&probe.env.ok(&["plugin", "info", "net-probe", "--json"])).unwrap();
    assert_eq!(
        info["installed"]["granted_origins"],
        json!([a.origin(), b.origin()])
    );
}

#[test]
fn a_denial_tells_the_user_how_to_allow_it() {
    // probe-http reads its target from config: point it somewhere it was never granted.
    let env = Env::new();
    env.install(&package("probe-http"));
    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.probe-http]\nurl = \"https://evil.example/collect\"\n",
    )
    .unwrap();
    let doc = env.document();
    let out = env.run(&[
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "probe-http",
        "--dir",
        "out",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("plugin 'probe-http' tried to reach https://evil.example — not granted. Allow with: minutes plugin allow probe-http https://evil.example"),
        "{stderr}"
    );
}

#[test]
fn a_user_configured_endpoint_is_reachable_only_once_granted() {
    // A "custom OpenAI-compatible" style provider: it declares no origin of its own.
    let a = TestServer::start();
    let env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let pkg = copy_package("net-probe", scratch.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(
            "[network]\norigins = [\"https://api.example.com\"]",
            "[network]\nconfigurable = true",
        )
        .replace(
            "format = \"Bearer {}\"\norigins = [\"https://api.example.com\"]",
            "format = \"Bearer {}\"",
        );
    std::fs::write(&manifest, text).unwrap();
    env.ok(&["plugin", "install", "--yes", pkg.to_str().unwrap()]);
    let probe = Probe {
        env,
        _scratch: scratch,
    };
    assert_denied(
        &probe.run(json!({"url": a.url("/echo")})),
        &a.origin(),
        "not granted",
    );
    assert!(a.hits().is_empty());

    probe.env.ok(&["plugin", "allow", "net-probe", &a.origin()]);
    probe.set_secret("api-key", "endpoint-key");
    let out = probe.run(json!({"url": a.url("/echo")}));
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(
        a.hits()[0].header("authorization"),
        Some("Bearer endpoint-key"),
        "the key goes to the endpoint the user granted"
    );
}

/// Answers every lookup with 127.0.0.1 and remembers what it was asked.
#[derive(Default)]
struct RecordingResolver(std::sync::Mutex<Vec<String>>);

impl HostResolver for RecordingResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        self.0.lock().unwrap().push(host.to_string());
        Box::pin(async move { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
    }
}

/// A network with no DNS: every lookup fails.
struct NoDns;

impl HostResolver for NoDns {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no DNS server answered",
            ))
        })
    }
}

/// Issue 15.4: redirects were followed hop by hop with the secrets of each hop's origin, so a
/// granted server could collect another origin's key by redirecting the plugin there.
#[test]
fn a_redirect_from_elsewhere_does_not_collect_the_secret_of_its_target() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let probe = Probe::install(&[a.origin(), b.origin()], &[b.origin()], None);
    probe.set_secret("api-key", "b-only-key-0451");
    let out = probe.run(json!({
        "url": a.url(&format!("/redirect?to={}", b.url("/echo"))),
        "follow_redirects": true
    }));
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(b.hits().len(), 1, "the redirect was not followed");
    assert_eq!(
        b.hits()[0].header("authorization"),
        None,
        "a redirect from another origin collected the secret"
    );
    // Addressed by the plugin itself, B gets its key.
    probe.run(json!({"url": b.url("/echo")}));
    assert_eq!(
        b.hits()[1].header("authorization"),
        Some("Bearer b-only-key-0451")
    );
}

/// Issue 15.4: a server that echoes the key handed it to the plugin, which must never read it.
#[test]
fn a_server_echoing_the_secret_hands_the_plugin_only_redacted_text() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    probe.set_secret("api-key", "echo-me-not-9b1f27");
    for stream in [false, true] {
        let out = probe.run(json!({"url": a.url("/echo-auth"), "stream": stream}));
        assert_eq!(out["status"], 200, "{out}");
        let text = out.to_string();
        assert!(
            !text.contains("echo-me-not") && !text.contains("9b1f27"),
            "stream={stream}: the plugin saw (part of) the secret: {out}"
        );
        let echoed = out["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "x-echo")
            .unwrap_or_else(|| panic!("no x-echo header: {out}"));
        assert_eq!(echoed[1], "Bearer [redacted]");
        assert_eq!(
            out["body_prefix"], "you sent Bearer [redacted] to us",
            "{out}"
        );
    }
    assert!(
        a.hits()
            .iter()
            .all(|h| h.header("authorization") == Some("Bearer echo-me-not-9b1f27")),
        "the server did not get the key it echoes"
    );
}

/// Issue 15.5: `http://localhost.:P` (trailing dot) matched a localhost grant and was looked
/// up in the network's DNS, which may answer anything. Every spelling of localhost is
/// answered by the host itself, and reaches the loopback server.
#[test]
fn localhost_in_any_spelling_never_asks_dns() {
    let a = TestServer::start();
    let origin = format!("http://localhost:{}", a.port);
    let probe = Probe::install(
        std::slice::from_ref(&origin),
        std::slice::from_ref(&origin),
        None,
    );
    let resolver = Arc::new(RecordingResolver::default());
    for url in [
        format!("http://localhost.:{}/ok", a.port),
        format!("http://LocalHost:{}/ok", a.port),
        format!("http://localhost:{}/ok", a.port),
    ] {
        let out = probe.run_with(
            NetOptions {
                resolver: resolver.clone(),
                ..Default::default()
            },
            json!({ "url": url }),
        );
        assert_eq!(out["status"], 200, "{url}: {out}");
    }
    assert_eq!(a.hits().len(), 3);
    assert!(
        resolver.0.lock().unwrap().is_empty(),
        "asked DNS for {:?}",
        resolver.0.lock().unwrap()
    );
}

/// Issue 16.5: with no DNS, a granted request was reported as `denied` and recorded as
/// DENIED. A name that does not resolve is the network failing, not the policy refusing.
#[test]
fn a_name_that_does_not_resolve_is_a_failure_not_a_denial() {
    let probe = Probe::install(
        &[
            "https://api.example.com".into(),
            "https://nonexistent.invalid".into(),
        ],
        &["https://api.example.com".into()],
        None,
    );
    let no_dns = NetOptions {
        resolver: Arc::new(NoDns),
        ..Default::default()
    };
    for (options, url, name) in [
        (no_dns, "https://api.example.com/v1/ping", "api.example.com"),
        // `.invalid` never resolves, and is never asked of the network (RFC 6761).
        (
            NetOptions::default(),
            "https://nonexistent.invalid/v1",
            "nonexistent.invalid",
        ),
    ] {
        let out = probe.run_with(options, json!({ "url": url }));
        assert_eq!(out["denied_origin"], Value::Null, "{out}");
        let err = out["error"].as_str().unwrap_or_default();
        assert!(
            err.starts_with("cannot connect") && err.contains(&format!("cannot resolve {name}")),
            "{out}"
        );
        assert!(!err.contains("denied"), "{out}");
        let row = probe.ledger().pop().unwrap();
        assert_eq!(row.outcome, Outcome::Failed, "{row:?}");
        assert_eq!(row.bytes_sent, 0);
    }
}

/// Issue 15.7: the ledger counted only the body as sent; the query and headers leave the
/// machine too (and can carry more than the body).
#[test]
fn bytes_sent_count_the_request_line_headers_and_body() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let query = format!("q={}", "x".repeat(3000));
    let header = "h".repeat(2000);
    probe.run(json!({
        "url": a.url(&format!("/ok?{query}")),
        "method": "POST",
        "headers": [["X-Payload", header]],
        "body": "twelve bytes"
    }));
    assert_eq!(a.hits().len(), 1);
    let row = probe.ledger().pop().unwrap();
    assert_eq!(row.outcome, Outcome::Sent);
    let at_least = (query.len() + header.len() + "twelve bytes".len()) as u64;
    assert!(
        row.bytes_sent >= at_least && row.bytes_sent < at_least + 1000,
        "{} bytes recorded, at least {at_least} sent",
        row.bytes_sent
    );
}

/// Issue 16.2: `minutes audit` showed a refused request as `2781` bytes sent, and the totals
/// as "2781 bytes sent". Nothing was sent: the size is shown as refused.
#[test]
fn refused_requests_are_never_counted_as_sent() {
    let a = TestServer::start();
    let probe = Probe::install(&[a.origin()], &[a.origin()], None);
    let body = "a transcript of 2781 bytes, more or less ".repeat(60);
    let out = probe.run_with(
        NetOptions {
            offline: true,
            ..Default::default()
        },
        json!({"url": a.url("/v1/chat"), "method": "POST", "body": body}),
    );
    assert_denied(&out, &a.origin(), "offline");
    assert_eq!(a.connections(), 0);
    let row = probe.ledger().pop().unwrap();
    assert_eq!(row.outcome, Outcome::Denied);
    assert_eq!(row.bytes_sent, 0);
    assert!(row.bytes_refused > body.len() as u64, "{row:?}");
    let text = probe.env.ok(&["audit", "--plugin", "net-probe"]);
    assert!(text.contains(", 0 bytes sent"), "{text}");
    assert!(
        text.contains(&format!("{} bytes refused", row.bytes_refused)),
        "{text}"
    );
    assert!(
        !text.contains(&format!("{} bytes sent", row.bytes_refused)),
        "{text}"
    );
}

/// probe-http installed with its [network] (and secret) origin pointed at `origin`, and its
/// config set to `url` plus `extra` TOML lines.
fn install_probe_http(env: &Env, origin: &str, url: &str, extra: &str) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    let pkg = copy_package("probe-http", scratch.path());
    let manifest = pkg.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("https://api.example.com", origin);
    std::fs::write(&manifest, text).unwrap();
    env.install(&pkg);
    std::fs::write(
        env.home.path().join("config.toml"),
        format!("[plugins.probe-http]\nurl = \"{url}\"\n{extra}\n"),
    )
    .unwrap();
    scratch
}

fn export_args(doc: &std::path::Path) -> Vec<String> {
    ["export", "--document", doc.to_str().unwrap()]
        .into_iter()
        .chain(["--to", "probe-http", "--dir", "out", "--force"])
        .map(str::to_owned)
        .collect()
}

fn ledger_rows(env: &Env, plugin: &str) -> Vec<EgressRecord> {
    EgressLedger::open(&Home::at(env.home.path()).ledger_path())
        .unwrap()
        .records(&AuditFilter {
            plugin_id: Some(plugin.into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap()
}

/// Issue 15.7: rows were written only after a request finished, so a run killed while a
/// request hung left no trace of it. The row is written before sending.
#[test]
fn a_request_cut_short_by_kill_9_shows_as_interrupted() {
    let a = TestServer::start();
    let env = Env::new();
    let _pkg = install_probe_http(&env, &a.origin(), &a.url("/hang?meeting=notes"), "");
    let doc = env.document();
    let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
        .args(export_args(&doc))
        .env("MINUTES_HOME", env.home.path())
        .env("HOME", env.user.path())
        .env("MINUTES_SECRETS", "file")
        .current_dir(env.work.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while a.hits().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the request never arrived"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run.kill().unwrap(); // SIGKILL: no destructor, no handler runs
    run.wait().unwrap();
    let rows = ledger_rows(&env, "probe-http");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, Outcome::Interrupted, "{rows:?}");
    assert!(rows[0].bytes_sent > "/hang?meeting=notes".len() as u64);
    let text = env.ok(&["audit"]);
    assert!(text.contains("interrupted"), "{text}");
    assert!(text.contains("1 interrupted"), "{text}");
}

/// Issue 15.7: a request still waiting when the plugin's call deadline ends it is recorded as
/// interrupted (the call was cut short), not as a network failure.
#[test]
fn a_request_cut_short_by_the_call_deadline_shows_as_interrupted() {
    let a = TestServer::start();
    let env = Env::new();
    // probe-http's limits.call_timeout_secs is 5.
    let _pkg = install_probe_http(&env, &a.origin(), &a.url("/hang"), "");
    let args = export_args(&env.document());
    let started = Instant::now();
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(a.hits().len(), 1);
    let rows = ledger_rows(&env, "probe-http");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, Outcome::Interrupted, "{rows:?}");
    // Whichever ends first, the request's timeout at the deadline or the call itself, the
    // reason names the deadline.
    assert!(
        rows[0].reason.as_deref().unwrap_or("").contains("deadline"),
        "{rows:?}"
    );
}

/// Issue 15.7: when the ledger could not be written, the request went out anyway and only a
/// log line said it was not recorded. Fail closed: no row, no request.
#[test]
fn a_ledger_that_cannot_be_written_stops_the_request() {
    let a = TestServer::start();
    let env = Env::new();
    let _pkg = install_probe_http(&env, &a.origin(), &a.url("/ok"), "");
    let path = Home::at(env.home.path()).ledger_path();
    drop(EgressLedger::open(&path).unwrap());
    // A ledger that opens but refuses every new row (as a full disk or a read-only file
    // would; a trigger does it the same way for root, whom file modes do not stop).
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse_rows BEFORE INSERT ON egress \
             BEGIN SELECT RAISE(ABORT, 'disk is full'); END;",
        )
        .unwrap();
    let args = export_args(&env.document());
    let out = env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        a.connections(),
        0,
        "a request the ledger could not record was sent: {stderr}"
    );
    let result = std::fs::read_to_string(env.path("out/result.txt")).unwrap_or_default();
    assert!(
        format!("{stderr}{result}").contains("egress ledger cannot be written"),
        "{stderr}\n{result}"
    );
}

/// Issue 15.7: a plugin retrying a denied request in a loop wrote one warning line and one
/// ledger row per attempt. A burst is one line and one row, with a count.
#[test]
fn a_plugin_looping_on_denied_requests_leaves_a_few_lines_and_one_counted_row() {
    let env = Env::new();
    let _pkg = install_probe_http(
        &env,
        "https://api.example.com",
        "https://evil.example/collect",
        "repeat = 10000",
    );
    let args = export_args(&env.document());
    let out = env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.lines().count() <= 5, "{stderr}");
    assert_eq!(
        stderr
            .matches("tried to reach https://evil.example")
            .count(),
        1,
        "{stderr}"
    );
    let rows = ledger_rows(&env, "probe-http");
    assert_eq!(rows.len(), 1, "{} rows", rows.len());
    assert_eq!(
        (rows[0].outcome, rows[0].attempts, rows[0].bytes_sent),
        (Outcome::Denied, 10_000, 0),
        "{stderr}"
    );
    let text = env.ok(&["audit"]);
    assert!(text.contains("DENIED×10000"), "{text}");
    assert!(text.contains("10000 requests (10000 denied"), "{text}");
}
