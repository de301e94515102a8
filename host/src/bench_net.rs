//! `minutes bench net`: what the network sandbox costs per request, and how the egress ledger
//! answers an audit when it is large. Baselines are measured in the same run.

use crate::bench::stat;
use crate::ledger::{AuditFilter, EgressLedger};
use crate::plugins::bindings::host::minutes::plugin::http as wit;
use crate::plugins::net::allowlist::Allowlist;
use crate::plugins::net::{NetOptions, NetShared, PluginNet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A keep-alive HTTP/1.1 server on loopback answering every request with "ok".
async fn serve_ok() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if conn
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    Ok(port)
}

pub fn run(requests: usize, ledger_rows: usize, json: bool) -> anyhow::Result<()> {
    let requests = requests.max(10);
    let tmp = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let port = rt.block_on(serve_ok())?;
    let url = format!("http://127.0.0.1:{port}/v1/ping");
    let origin = format!("http://127.0.0.1:{port}");

    // Baseline: a bare reqwest client, same server, same connection reuse.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bare = reqwest::Client::builder().no_proxy().build()?;
    let mut baseline = Vec::with_capacity(requests);
    // Through the sandbox: allowlist check, address vetting, secrets, caps, ledger write.
    let ledger = Arc::new(EgressLedger::open(&tmp.path().join("egress.sqlite"))?);
    let shared = NetShared::new(NetOptions {
        ledger: Some(ledger),
        ..Default::default()
    })
    .map_err(anyhow::Error::msg)?;
    let allow = Allowlist::effective(std::slice::from_ref(&origin), std::slice::from_ref(&origin))?;
    let net = PluginNet::new(
        "bench",
        "0.0.0",
        allow,
        Vec::new(),
        1 << 20,
        Arc::new(shared),
    );
    let request = wit::Request {
        method: wit::Method::Get,
        url: url.clone(),
        headers: vec![("accept".into(), "text/plain".into())],
        body: None,
        timeout_ms: None,
        follow_redirects: false,
    };
    let mut sandboxed = Vec::with_capacity(requests);
    rt.block_on(async {
        // Interleave so that machine noise hits both the same way.
        for _ in 0..requests {
            let t = Instant::now();
            bare.get(&url).send().await?.bytes().await?;
            baseline.push(t.elapsed());
            let t = Instant::now();
            net.fetch(&request, None, Instant::now() + Duration::from_secs(30))
                .await
                .map_err(|e| anyhow::anyhow!(crate::plugins::net::describe(&e)))?;
            sandboxed.push(t.elapsed());
        }
        anyhow::Ok(())
    })?;
    let base = stat("bare reqwest GET to loopback", baseline, None);
    let sand = stat(
        "the same through the sandbox (policy + vetting + ledger write)",
        sandboxed,
        None,
    );
    let overhead = sand.median_us - base.median_us;

    // A large ledger: fill it, then time the audit query in process and as the CLI.
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home)?;
    let big = EgressLedger::open(&home.join("egress.sqlite"))?;
    let t = Instant::now();
    big.bench_fill(ledger_rows, 10)?;
    let fill = t.elapsed();
    let filter = AuditFilter {
        plugin_id: Some("bench-plugin-3".into()),
        limit: 50,
        ..Default::default()
    };
    let mut query = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        big.records(&filter)?;
        big.totals(&filter)?;
        query.push(t.elapsed());
    }
    drop(big);
    let exe = std::env::current_exe()?;
    let mut cli = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = std::process::Command::new(&exe)
            .args(["audit", "--plugin", "bench-plugin-3"])
            .env("MINUTES_HOME", &home)
            .output()?;
        cli.push(t.elapsed());
        anyhow::ensure!(
            out.status.success(),
            "audit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let query = stat(
        "ledger query: 50 newest rows + totals for one plugin",
        query,
        None,
    );
    let cli = stat(
        "`minutes audit --plugin X` (process wall time)",
        cli,
        Some(200_000.0),
    );

    if json {
        return crate::cli::print_json(&serde_json::json!({
            "requests": requests,
            "baseline": base, "sandboxed": sand, "overhead_us": overhead,
            "ledger_rows": ledger_rows, "ledger_fill_s": fill.as_secs_f64(),
            "ledger_query": query, "audit_cli": cli,
        }));
    }
    println!("network sandbox benchmark ({requests} requests each, medians)");
    for s in [&base, &sand] {
        println!(
            "  {:<66} {:>9.1} µs  p90 {:>9.1} µs",
            s.what, s.median_us, s.p90_us
        );
    }
    println!(
        "  overhead per request: {overhead:.1} µs ({:.2}x the bare call; target ≤ 100 µs{})",
        sand.median_us / base.median_us,
        if overhead <= 100.0 {
            ", met"
        } else {
            ", MISSED"
        }
    );
    println!(
        "ledger with {ledger_rows} rows (filled in {:.1} s)",
        fill.as_secs_f64()
    );
    for s in [&query, &cli] {
        let target = s.target_us.map(|t| {
            format!(
                "  (target ≤ {:.0} ms{})",
                t / 1000.0,
                if s.median_us <= t {
                    ", met"
                } else {
                    ", MISSED"
                }
            )
        });
        println!(
            "  {:<66} {:>9.1} ms{}",
            s.what,
            s.median_us / 1000.0,
            target.unwrap_or_default()
        );
    }
    Ok(())
}
