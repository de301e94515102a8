//! First paint of the app's pages in a real browser, for `minutes bench app`: headless Chromium
//! driven through chromedriver (plain WebDriver over HTTP), each page's first contentful paint
//! read from the page's own Performance API. That figure starts at the navigation and ends when
//! the browser first paints text, so it holds the server, the HTML, the stylesheet and script,
//! and layout, but not the browser's start, which a screenshot run cannot leave out.

use serde::Serialize;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "chromedriver";
pub(crate) const PAINT_TARGET_MS: f64 = 300.0;

/// Medians over `runs` visits in one browser (stylesheet and script cached, as in use), and the
/// first visit with nothing cached.
#[derive(Serialize)]
pub(crate) struct Paint {
    pub runs: usize,
    /// First contentful paint of the meetings list.
    pub list_ms: f64,
    /// First contentful paint of a one-hour meeting, on the first visit (nothing cached).
    pub meeting_first_visit_ms: f64,
    /// The same, cached.
    pub meeting_ms: f64,
    /// When that meeting's whole transcript was in the page (the rest loads after the paint).
    pub meeting_complete_ms: f64,
    pub target_ms: f64,
}

/// chromedriver and one browser session; both end when this is dropped.
struct Driver {
    process: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The session's browser goes with its driver.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    async fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir()?;
        let mut driver = Driver {
            process,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while driver
            .http
            .get(format!("{}/status", driver.base))
            .send()
            .await
            .is_err()
        {
            anyhow::ensure!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--window-size=1200,900".into(),
            format!("--user-data-dir={}", driver._profile.path().display()),
        ];
        let created = driver
            .call(
                reqwest::Method::POST,
                "/session",
                json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"args": args}}}}),
            )
            .await?;
        driver.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("chromedriver gave no session id: {created}"))?
            .to_string();
        Ok(driver)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let bytes = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body)?)
            .send()
            .await?
            .bytes()
            .await?;
        let response: Value = serde_json::from_slice(&bytes)?;
        let value = response["value"].clone();
        if let Some(error) = value.get("error") {
            anyhow::bail!("WebDriver {path}: {error} {}", value["message"]);
        }
        Ok(value)
    }

    /// Opens `url`; WebDriver returns once the page has loaded.
    async fn open(&self, url: &str) -> anyhow::Result<()> {
        let path = format!("/session/{}/url", self.session);
        self.call(reqwest::Method::POST, &path, json!({ "url": url }))
            .await
            .map(drop)
    }

    /// The start time (ms since navigation) of the page's performance entry `name`, waiting up
    /// to 5 s for it: the paint or the mark may come after the load event.
    async fn entry(&self, name: &str) -> anyhow::Result<f64> {
        let path = format!("/session/{}/execute/sync", self.session);
        let script = "const e = performance.getEntriesByName(arguments[0])[0]; return e ? e.startTime : null;";
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let value = self
                .call(
                    reqwest::Method::POST,
                    &path,
                    json!({ "script": script, "args": [name] }),
                )
                .await?;
            if let Some(ms) = value.as_f64() {
                return Ok(ms);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the page recorded no {name} within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// [`Paint`] for the list and `meeting` of the app at `base` (with its `token`), or `None` when
/// chromedriver is not installed.
pub(crate) async fn measure(
    base: &str,
    token: &str,
    meeting: &str,
    runs: usize,
) -> anyhow::Result<Option<Paint>> {
    let driver = match Driver::start().await {
        Ok(driver) => driver,
        Err(why) => {
            eprintln!(
                "first paint skipped: no headless Chromium through {CHROMEDRIVER} ({why}); \
                 Debian's chromium and chromium-driver packages provide it"
            );
            return Ok(None);
        }
    };
    let fcp = "first-contentful-paint";
    let meeting_url = format!("{base}/meetings/{meeting}");
    // The token is traded for the session cookie on the meeting's own first visit.
    driver.open(&format!("{meeting_url}?token={token}")).await?;
    let meeting_first_visit_ms = driver.entry(fcp).await?;
    let (mut list, mut page, mut complete) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        driver.open(&format!("{base}/")).await?;
        list.push(driver.entry(fcp).await?);
        driver.open(&meeting_url).await?;
        page.push(driver.entry(fcp).await?);
        complete.push(driver.entry("transcript-complete").await?);
    }
    Ok(Some(Paint {
        runs,
        list_ms: median(list),
        meeting_first_visit_ms,
        meeting_ms: median(page),
        meeting_complete_ms: median(complete),
        target_ms: PAINT_TARGET_MS,
    }))
}
