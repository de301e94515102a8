//! `minutes bench mcp`: `search_meetings` over the store `minutes bench store` generates (1,000
//! one-hour meetings by default), in process through the same path a tool call takes (rules,
//! store, answer, disclosure record) and as a real `minutes mcp` process answering JSON-RPC
//! lines on its stdin, as an assistant's client would send them.

use crate::plugins::Home;
use crate::store::Store;
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

const TARGET_MS: f64 = 50.0;
const LIMIT: u32 = 10;

#[derive(Serialize)]
struct Report {
    meetings: usize,
    iterations: usize,
    fill_secs: f64,
    stats: Vec<Stat>,
}

#[derive(Serialize)]
struct Stat {
    what: String,
    /// Meetings and passages in the answer.
    meetings: usize,
    passages: usize,
    p50_ms: f64,
    p95_ms: f64,
    target_ms: f64,
}

fn stat(what: String, mut samples: Vec<Duration>, answer: &Value) -> Stat {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    let found = answer["meetings"].as_array().cloned().unwrap_or_default();
    Stat {
        what,
        meetings: found.len(),
        passages: found
            .iter()
            .map(|m| m["passages"].as_array().map_or(0, Vec::len))
            .sum(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        target_ms: TARGET_MS,
    }
}

/// A `minutes mcp` process and its pipes, after the handshake.
struct Child {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Child {
    fn start(home: &Home) -> anyhow::Result<Child> {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("mcp")
            .env("MINUTES_HOME", home.root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        );
        let mut c = Child {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        c.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "minutes-bench", "version": env!("CARGO_PKG_VERSION")}}),
        )?;
        c.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(c)
    }

    fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        writeln!(self.stdin, "{message}")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn request(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        let mut line = String::new();
        loop {
            line.clear();
            anyhow::ensure!(
                self.stdout.read_line(&mut line)? > 0,
                "minutes mcp ended before answering {method}"
            );
            let reply: Value = serde_json::from_str(&line)?;
            if reply["id"] == id {
                anyhow::ensure!(reply["error"].is_null(), "{method}: {}", reply["error"]);
                return Ok(reply["result"].clone());
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(meetings: usize, iterations: usize, json_out: bool) -> anyhow::Result<()> {
    let meetings = meetings.max(1);
    let iterations = iterations.max(5);
    let tmp = tempfile::tempdir()?;
    let home = Home::at(tmp.path());
    eprintln!("generating {meetings} one-hour meetings (as `minutes bench store` does)…");
    let t = Instant::now();
    crate::bench_store::fill(&Store::open(&home)?, meetings)?;
    let fill_secs = t.elapsed().as_secs_f64();

    let queries = [
        ("common word", "project".to_string()),
        ("rare word", crate::bench_store::rare_word()),
        ("phrase", crate::bench_store::BENCH_PHRASE.to_string()),
        ("two words", "budget customer".to_string()),
    ];
    let configs = [
        ("default rules (summaries only)", ""),
        ("transcripts = true", "[mcp]\ntranscripts = true\n"),
    ];
    let mut stats = Vec::new();
    for (rules, config) in configs {
        std::fs::write(home.config_path(), config)?;
        let server = crate::mcp::Server::open(&home)?;
        let mut child = Child::start(&home)?;
        for (kind, query) in &queries {
            let args = json!({"query": query, "limit": LIMIT});
            let mut samples = Vec::with_capacity(iterations);
            let mut answer = Value::Null;
            for _ in 0..iterations {
                let t = Instant::now();
                let result = server
                    .answer(
                        "minutes-bench",
                        "search_meetings",
                        args.as_object().cloned(),
                    )
                    .map_err(|e| anyhow::anyhow!("search_meetings: {}", e.message))?;
                samples.push(t.elapsed());
                answer = result.structured_content.unwrap_or_default();
            }
            stats.push(stat(
                format!("in process, {rules}: {kind}"),
                samples,
                &answer,
            ));
            let mut samples = Vec::with_capacity(iterations);
            for _ in 0..iterations {
                let t = Instant::now();
                let result = child.request(
                    "tools/call",
                    json!({"name": "search_meetings", "arguments": args}),
                )?;
                samples.push(t.elapsed());
                answer = result["structuredContent"].clone();
            }
            stats.push(stat(
                format!("over stdio, {rules}: {kind}"),
                samples,
                &answer,
            ));
        }
    }

    let report = Report {
        meetings,
        iterations,
        fill_secs,
        stats,
    };
    if json_out {
        return crate::cli::print_json(&report);
    }
    println!(
        "MCP benchmark: search_meetings (limit {LIMIT}) over {} generated meetings (filled in {:.1} s), {} runs each; \
         every call also writes its disclosure row",
        report.meetings, report.fill_secs, report.iterations
    );
    for s in &report.stats {
        println!(
            "  {:<62} p50 {:>7.2} ms  p95 {:>7.2} ms  {:>2} meetings {:>2} passages  (target ≤ {:.0} ms{})",
            s.what,
            s.p50_ms,
            s.p95_ms,
            s.meetings,
            s.passages,
            s.target_ms,
            if s.p95_ms <= s.target_ms {
                ", met"
            } else {
                ", MISSED"
            }
        );
    }
    Ok(())
}
