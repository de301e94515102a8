//! The privacy page: where each plugin may send data (declared AND granted), every request
//! plugins made or attempted (the egress ledger, as `minutes audit` shows it) with a chart of
//! bytes sent per plugin and day, what AI assistants read over MCP, the data-policy rules of
//! config.toml, and the offline switch.

use super::pages::layout;
use super::server::{Failure, with_store};
use super::{App, offline};
use crate::ledger::{AuditFilter, Disclosure, EgressLedger, EgressRecord, Outcome, Totals};
use crate::summarize::policy::{Policy, Rules};
use axum::extract::{Form, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rows of the request table.
const ROWS: usize = 200;
/// Requests the chart adds up at most.
const CHART_ROWS: usize = 20_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    plugin: String,
    #[serde(default)]
    meeting: String,
    /// `24h`, `7d`, `30d`, or empty for everything.
    #[serde(default)]
    since: String,
}

/// Where one installed plugin may send data.
struct Reach {
    id: String,
    kind: &'static str,
    declared: Vec<String>,
    granted: Vec<String>,
}

struct Ledger {
    records: Vec<EgressRecord>,
    totals: Vec<Totals>,
    disclosures: Vec<Disclosure>,
    /// Bytes sent per day (days since the epoch) and plugin.
    by_day: BTreeMap<i64, BTreeMap<String, u64>>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    Query(filters): Query<Filters>,
) -> Result<Markup, Failure> {
    with_store(&app, move |app, _| {
        let home = &app.ctx.home;
        let since_ms = match filters.since.as_str() {
            "" => None,
            s => Some(crate::cli::audit::parse_since(s).map_err(Failure::Invalid)?),
        };
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let filter = AuditFilter {
            plugin_id: some(&filters.plugin),
            meeting_id: some(&filters.meeting),
            since_ms,
            limit: ROWS,
        };
        let ledger = read_ledger(&home.ledger_path(), &filter)?;
        let registry = crate::plugins::Registry::open(home.clone())
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let reach = reach(&registry);
        let policy = crate::summarize::read_config(&registry)
            .map(|(p, _)| p)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let offline = offline::state(app).map_err(|e| Failure::Internal(format!("{e:#}")))?;
        Ok(render(&filters, &ledger, &reach, &policy, offline))
    })
    .await
}

fn read_ledger(path: &std::path::Path, filter: &AuditFilter) -> Result<Ledger, Failure> {
    let mut ledger = Ledger {
        records: Vec::new(),
        totals: Vec::new(),
        disclosures: Vec::new(),
        by_day: BTreeMap::new(),
    };
    // No ledger yet: nothing was ever sent.
    if !path.exists() {
        return Ok(ledger);
    }
    let fail = |e: crate::ledger::LedgerError| Failure::Internal(e.to_string());
    let open = EgressLedger::open(path).map_err(fail)?;
    ledger.totals = open.totals(filter).map_err(fail)?;
    if filter.plugin_id.is_none() {
        ledger.disclosures = open.disclosures(filter).map_err(fail)?;
    }
    // One read, newest first: the chart adds up all of it, the table shows the newest rows.
    let mut records = open
        .records(&AuditFilter {
            limit: CHART_ROWS,
            ..filter.clone()
        })
        .map_err(fail)?;
    for r in records.iter().filter(|r| r.bytes_sent > 0) {
        *ledger
            .by_day
            .entry(r.time_ms.div_euclid(DAY_MS))
            .or_default()
            .entry(r.plugin_id.clone())
            .or_default() += r.bytes_sent;
    }
    records.truncate(filter.limit);
    ledger.records = records;
    Ok(ledger)
}

fn reach(registry: &crate::plugins::Registry) -> Vec<Reach> {
    registry
        .installed()
        .iter()
        .filter_map(|entry| {
            let manifest = registry.manifest(&entry.id).ok()?;
            if !manifest.kind.uses_network() {
                return None;
            }
            Some(Reach {
                id: entry.id.clone(),
                kind: manifest.kind.as_str(),
                declared: manifest.network.origins.clone(),
                granted: entry.granted_origins.clone(),
            })
        })
        .collect()
}

fn utc(ms: i64) -> String {
    crate::time::utc(ms.div_euclid(1000))
}

fn bytes(n: u64) -> String {
    match n {
        n if n < 10_000 => format!("{n} B"),
        n if n < 10_000_000 => format!("{} KB", n / 1000),
        n => format!("{} MB", n / 1_000_000),
    }
}

fn render(
    filters: &Filters,
    ledger: &Ledger,
    reach: &[Reach],
    policy: &Policy,
    offline: offline::State,
) -> Markup {
    let plugins: Vec<&str> = {
        let mut ids: Vec<&str> = reach.iter().map(|r| r.id.as_str()).collect();
        ids.extend(ledger.totals.iter().map(|t| t.plugin_id.as_str()));
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let body = html! {
        h1 { "Privacy" }
        p.muted { "Everything that left this machine, and everything that may. Plugins reach the network only through minutes, which checks every request against what you granted and records it here (" code { "minutes audit" } " shows the same)." }
        (offline::switch(offline))
        h2 { "Where data may go" }
        @if reach.is_empty() {
            p.muted { "No installed plugin may use the network." }
        } @else {
            table.plain.reach {
                tr { th { "Plugin" } th { "Kind" } th { "May reach (granted)" } th { "Asked for, not granted" } }
                @for r in reach {
                    tr {
                        td { code { (r.id) } }
                        td { (r.kind) }
                        td { @if r.granted.is_empty() { span.muted { "nothing" } } @for o in &r.granted { code { (o) } " " } }
                        td { @for o in r.declared.iter().filter(|o| !r.granted.contains(o)) { code { (o) } " " } }
                    }
                }
            }
        }
        h2 { "Data policy" }
        (rules_table(policy))
        h2 #requests { "Requests" }
        form.inline method="get" action="/privacy" {
            select name="plugin" aria-label="Plugin" {
                option value="" { "all plugins" }
                @for p in &plugins { option value=(p) selected[*p == filters.plugin] { (p) } }
            }
            input type="text" name="meeting" value=(filters.meeting) placeholder="meeting id" aria-label="Meeting";
            select name="since" aria-label="Since" {
                @for (value, label) in [("", "all time"), ("24h", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days")] {
                    option value=(value) selected[value == filters.since] { (label) }
                }
            }
            button type="submit" { "Filter" }
        }
        (chart(&ledger.by_day))
        @if ledger.totals.is_empty() {
            p.empty.card { "No plugin made or attempted a request that matches." }
        } @else {
            table.plain.totals {
                tr { th { "Plugin" } th { "Origin" } th { "Requests" } th { "Denied" } th { "Failed" } th { "Sent" } th { "Received" } }
                @for t in &ledger.totals {
                    tr {
                        td { code { (t.plugin_id) } } td { (t.origin) } td.num { (t.requests) }
                        td.num { (t.denied) } td.num { (t.failed) }
                        td.num { (bytes(t.bytes_sent)) } td.num { (bytes(t.bytes_received)) }
                    }
                }
            }
            table.plain.ledger {
                tr { th { "Time (UTC)" } th { "Plugin" } th { "Meeting" } th { "Request" } th { "Sent" } th { "Received" } th { "Status" } th { "Outcome" } }
                @for r in &ledger.records {
                    tr.denied[r.outcome == Outcome::Denied] {
                        td.num { (utc(r.time_ms)) }
                        td { code { (r.plugin_id) } }
                        td { @if let Some(m) = &r.meeting_id { a href=(format!("/meetings/{}", super::manage::url_part(m))) { (m) } } }
                        td { (r.method) " " (r.origin) (r.path) }
                        td.num { (bytes(r.bytes_sent)) }
                        td.num { (bytes(r.bytes_received)) }
                        td.num { @if let Some(s) = r.status { (s) } }
                        td {
                            (r.outcome.as_str())
                            @if let Some(why) = &r.reason { br; span.muted { (why) } }
                        }
                    }
                }
            }
            @if ledger.records.len() == ROWS { p.muted { "The newest " (ROWS) " requests; the totals count all that match." } }
        }
        h2 { "Read by AI assistants (MCP)" }
        @if ledger.disclosures.is_empty() {
            p.muted { "No AI assistant read anything over " code { "minutes mcp" } "." }
        } @else {
            table.plain {
                tr { th { "Time (UTC)" } th { "Assistant" } th { "Tool" } th { "Meetings" } th { "Bytes" } th { "Outcome" } }
                @for d in &ledger.disclosures {
                    tr {
                        td.num { (utc(d.time_ms)) } td { (d.client) } td { code { (d.tool) } }
                        td { (d.meeting_ids.join(", ")) } td.num { (bytes(d.bytes_returned)) }
                        td { (d.outcome.as_str()) }
                    }
                }
            }
        }
    };
    layout("Privacy", body)
}

fn rules_table(policy: &Policy) -> Markup {
    let describe = |r: &Rules| -> Vec<&'static str> {
        let mut out = Vec::new();
        if r.no_provider {
            out.push("no provider at all: summaries are made on this machine");
        }
        if r.local_only {
            out.push("only providers on this machine");
        }
        if r.require_zero_retention {
            out.push("providers that keep nothing by default");
        }
        if r.forbid_training {
            out.push("providers that do not train on it");
        }
        out
    };
    let all = describe(&policy.rules);
    html! {
        table.plain.rules {
            tr { th { "Meetings" } th { "May be sent to" } }
            tr {
                td { "every meeting" }
                td { @if all.is_empty() { "any provider you choose" } @else { (all.join("; ")) } }
            }
            @for (label, rules) in &policy.labels {
                tr { td { "labelled " span.label { (label) } } td { (describe(rules).join("; ")) } }
            }
        }
        p.muted { "The rules are " code { "[policy]" } " and " code { "[policy.labels.<label>]" } " in config.toml; every summary checks them before anything is sent." }
    }
}

/// Bytes sent per day as stacked bars, one colour per plugin. Plain SVG: no script, and the
/// page's CSP allows it.
fn chart(by_day: &BTreeMap<i64, BTreeMap<String, u64>>) -> Markup {
    const PALETTE: [&str; 6] = [
        "#2f5fd0", "#d0782f", "#2f9d5f", "#9d2fa0", "#a09d2f", "#2fa0a0",
    ];
    let (Some(first), Some(last)) = (by_day.keys().next(), by_day.keys().next_back()) else {
        return html! {};
    };
    // At most 60 days and at least 14, ending with the last day anything was sent: one day of
    // requests is one bar among days without, not a block the width of the page.
    let first = (*first).max(last - 59).min(last - 13);
    let days: Vec<i64> = (first..=*last).collect();
    let mut plugins: Vec<&str> = by_day
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    plugins.sort_unstable();
    plugins.dedup();
    let colour = |p: &str| {
        let i = plugins.iter().position(|q| *q == p).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let max = days
        .iter()
        .map(|d| by_day.get(d).map(|m| m.values().sum::<u64>()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1);
    let (width, height, gap) = (900.0_f64, 140.0_f64, 2.0_f64);
    let bar = (width / days.len() as f64 - gap).max(1.0);
    // (x, top, height, colour, tooltip) of each stacked piece.
    let mut pieces = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let x = i as f64 * (bar + gap);
        let mut top = height;
        for (plugin, sent) in by_day.get(day).into_iter().flatten() {
            let h = (*sent as f64 / max as f64 * height).max(1.0);
            top -= h;
            let date = crate::time::utc(day * 86_400);
            let tip = format!(
                "{} · {plugin}: {} sent",
                date.get(..10).unwrap_or(&date),
                bytes(*sent)
            );
            pieces.push((x, top, h, colour(plugin), tip));
        }
    }
    let date = |day: i64| {
        let d = crate::time::utc(day * 86_400);
        d.get(..10).unwrap_or(&d).to_string()
    };
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {width} {}", height + 20.0)) width="100%" role="img"
                aria-label="Bytes sent per day, by plugin" {
                @for (x, top, h, fill, tip) in &pieces {
                    rect x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{bar:.1}"))
                        height=(format!("{h:.1}")) fill=(fill) { title { (tip) } }
                }
                text x="0" y=(format!("{}", height + 15.0)) font-size="11" fill="#5d6878" {
                    (date(first))
                }
                text x=(format!("{width}")) y=(format!("{}", height + 15.0)) font-size="11" fill="#5d6878" text-anchor="end" {
                    (date(*last))
                }
            }
            figcaption {
                "Bytes sent per day (highest day: " (bytes(max)) "): "
                @for p in &plugins {
                    span.key { svg width="10" height="10" { rect width="10" height="10" fill=(colour(p)) {} } " " (p) " " }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct Switch {
    offline: bool,
}

/// Turns offline mode on or off in config.toml.
pub async fn switch_offline(
    State(app): State<Arc<App>>,
    Form(form): Form<Switch>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        offline::set(app, form.offline).map_err(|e| Failure::Invalid(format!("{e:#}")))?;
        Ok(Redirect::to("/privacy"))
    })
    .await
}
