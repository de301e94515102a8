//! `minutes bench app`: the app's server over the store `minutes bench store` generates (1,000
//! one-hour meetings by default): the first page of the meetings list and search requests,
//! timed by the server itself (its Server-Timing header) and as a client sees them over
//! loopback; and the weight of a one-hour meeting's page.

use crate::plugins::Home;
use crate::store::Store;
use serde::Serialize;
use std::time::{Duration, Instant};

const TARGET_MS: f64 = 50.0;

#[derive(Serialize)]
struct Report {
    meetings: usize,
    iterations: usize,
    fill_secs: f64,
    stats: Vec<Stat>,
    /// A one-hour meeting's page: its HTML (summary and whole transcript), plus the script and
    /// stylesheet it loads.
    meeting_page_bytes: MeetingWeight,
    /// First paint in headless Chromium; `None` without chromedriver.
    paint: Option<crate::bench_paint::Paint>,
}

#[derive(Serialize)]
struct MeetingWeight {
    segments: usize,
    /// The page, with the first transcript lines.
    html: usize,
    /// The other lines, which the page loads once painted.
    rest_html: usize,
    js: usize,
    css: usize,
}

#[derive(Serialize)]
struct Stat {
    what: &'static str,
    bytes: usize,
    server_p50_ms: f64,
    server_p95_ms: f64,
    client_p50_ms: f64,
    client_p95_ms: f64,
    target_ms: f64,
}

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

pub fn run(meetings: usize, iterations: usize, json: bool) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let meetings = meetings.max(1);
    let iterations = iterations.max(5);
    let tmp = tempfile::tempdir()?;
    let home = Home::at(tmp.path());
    let t = Instant::now();
    {
        let store = Store::open(&home)?;
        eprintln!("generating {meetings} one-hour meetings…");
        crate::bench_store::fill(&store, meetings)?;
    }
    let fill_secs = t.elapsed().as_secs_f64();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = rt.block_on(measure(home, meetings, iterations, fill_secs))?;
    if json {
        return crate::cli::print_json(&report);
    }
    println!(
        "app benchmark: {} meetings (filled in {:.1} s); {} requests each; server time from its Server-Timing header",
        report.meetings, report.fill_secs, report.iterations
    );
    for s in &report.stats {
        println!(
            "  {:<44} server p50 {:>6.2} ms  p95 {:>6.2} ms   client p50 {:>6.2} ms  p95 {:>6.2} ms  {:>7} bytes  (target ≤ {:.0} ms{})",
            s.what,
            s.server_p50_ms,
            s.server_p95_ms,
            s.client_p50_ms,
            s.client_p95_ms,
            s.bytes,
            s.target_ms,
            if s.server_p95_ms <= s.target_ms {
                ", met"
            } else {
                ", MISSED"
            }
        );
    }
    let w = &report.meeting_page_bytes;
    println!(
        "  meeting page of a one-hour meeting ({} segments): HTML {} KiB + JS {} KiB + CSS {} KiB, then the other lines {} KiB",
        w.segments,
        w.html / 1024,
        w.js.div_ceil(1024),
        w.css.div_ceil(1024),
        w.rest_html / 1024
    );
    if let Some(p) = &report.paint {
        println!(
            "  headless Chromium, first contentful paint from the navigation (median of {}, stylesheet and script cached): meetings list {:.0} ms, one-hour meeting {:.0} ms (first visit {:.0} ms; whole transcript in the page at {:.0} ms) (target ≤ {:.0} ms{})",
            p.runs,
            p.list_ms,
            p.meeting_ms,
            p.meeting_first_visit_ms,
            p.meeting_complete_ms,
            p.target_ms,
            if p.meeting_ms.max(p.meeting_first_visit_ms) <= p.target_ms {
                ", met"
            } else {
                ", MISSED"
            }
        );
    }
    Ok(())
}

async fn measure(
    home: Home,
    meetings: usize,
    iterations: usize,
    fill_secs: f64,
) -> anyhow::Result<Report> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let ctx = crate::cli::Context {
        home,
        offline: true,
    };
    let app = std::sync::Arc::new(crate::app::App::new(ctx, port)?);
    let address = app.address();
    let newest = app
        .store
        .list_page(None, 0, 1)?
        .0
        .first()
        .map(|m| m.id.clone())
        .ok_or_else(|| anyhow::anyhow!("the generated store is empty"))?;
    tokio::spawn(async move { axum::serve(listener, crate::app::router(app)).await });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let first = client.get(&address).send().await?;
    let cookie = first
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("the app set no session cookie"))?
        .to_string();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: String| {
        let request = client
            .get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, &cookie);
        async move {
            let t = Instant::now();
            let response = request.send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let server_ms = response
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split("dur=").nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            let body = response.text().await?;
            Ok::<_, anyhow::Error>((server_ms, t.elapsed(), body))
        }
    };
    let requests: [(&'static str, String); 5] = [
        ("list: first page (whole page)", "/".into()),
        ("list: first page (results only)", "/results".into()),
        (
            "search: common word \"project\"",
            "/results?q=project".into(),
        ),
        (
            "search: phrase \"quarterly roadmap review\"",
            "/results?q=quarterly+roadmap+review".into(),
        ),
        (
            "search: rare word",
            format!("/results?q={}", crate::bench_store::rare_word()),
        ),
    ];
    let mut stats = Vec::new();
    for (what, path) in requests {
        let (mut server, mut client_ms, mut bytes) = (Vec::new(), Vec::new(), 0);
        for _ in 0..iterations {
            let (s, c, body): (f64, Duration, String) = get(path.clone()).await?;
            server.push(s);
            client_ms.push(c.as_secs_f64() * 1e3);
            bytes = body.len();
        }
        stats.push(Stat {
            what,
            bytes,
            server_p50_ms: percentile(&mut server, 0.5),
            server_p95_ms: percentile(&mut server, 0.95),
            client_p50_ms: percentile(&mut client_ms, 0.5),
            client_p95_ms: percentile(&mut client_ms, 0.95),
            target_ms: TARGET_MS,
        });
    }
    let (_, _, html) = get(format!("/meetings/{newest}")).await?;
    let (_, _, rest) = get(format!(
        "/meetings/{newest}/transcript?from={}",
        crate::app::FIRST_LINES
    ))
    .await?;
    let token = address
        .split("token=")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let paint = crate::bench_paint::measure(&base, &token, &newest, 9).await?;
    Ok(Report {
        meetings,
        iterations,
        fill_secs,
        stats,
        meeting_page_bytes: MeetingWeight {
            segments: html.matches("class=\"seg\"").count() + rest.matches("class=\"seg\"").count(),
            html: html.len(),
            rest_html: rest.len(),
            js: crate::app::assets::JS.len(),
            css: crate::app::assets::CSS.len(),
        },
        paint,
    })
}
