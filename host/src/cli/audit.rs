use crate::ledger::{
    AuditFilter, Disclosure, DisclosureOutcome, EgressLedger, EgressRecord, Outcome, Totals,
};
use crate::plugins::Home;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes audit\n  minutes audit --plugin fireworks --since 7d\n  \
    minutes audit --meeting 2026-11-28-atlas --json"
)]
pub struct AuditArgs {
    /// Only this plugin's requests
    #[arg(long)]
    plugin: Option<String>,
    /// Only requests made for this meeting
    #[arg(long)]
    meeting: Option<String>,
    /// Only requests since then: 30m, 12h, 7d, or a date (2026-11-28)
    #[arg(long, value_parser = parse_since)]
    since: Option<i64>,
    /// Rows to show, newest first (totals always cover everything matched)
    #[arg(long, default_value_t = 50)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

pub fn run(home: &Home, args: AuditArgs) -> anyhow::Result<()> {
    let path = home.ledger_path();
    // Assistants read meetings, not origins: a plugin filter leaves them out.
    let with_disclosures = args.plugin.is_none();
    let filter = AuditFilter {
        plugin_id: args.plugin,
        meeting_id: args.meeting,
        since_ms: args.since,
        limit: args.limit,
    };
    if !path.exists() {
        if args.json {
            return super::print_json(
                &serde_json::json!({"records": [], "totals": [], "disclosures": []}),
            );
        }
        println!(
            "No plugin has made or attempted an outbound request yet, and no AI assistant has read \
             anything over MCP ({} does not exist).",
            path.display()
        );
        return Ok(());
    }
    let ledger = EgressLedger::open(&path)?;
    let records = ledger.records(&filter)?;
    let totals = ledger.totals(&filter)?;
    let disclosures = match with_disclosures {
        true => ledger.disclosures(&filter)?,
        false => Vec::new(),
    };
    if args.json {
        return super::print_json(&serde_json::json!({
            "records": records,
            "totals": totals,
            "disclosures": disclosures,
        }));
    }
    if records.is_empty() {
        println!("No outbound requests match.");
    } else {
        egress_table(&records, &totals);
    }
    if with_disclosures {
        println!();
        disclosure_table(&disclosures);
    }
    Ok(())
}

/// What AI assistants were given over MCP, newest first.
fn disclosure_table(rows: &[Disclosure]) {
    if rows.is_empty() {
        println!("No AI assistant read anything over MCP (`minutes mcp`) that matches.");
        return;
    }
    println!("What AI assistants read over MCP (`minutes mcp`):");
    println!(
        "{:<19}  {:<24}  {:<17}  {:<8}  {:>9}  MEETINGS",
        "TIME (UTC)", "CLIENT", "TOOL", "RESULT", "BYTES"
    );
    for d in rows {
        let meetings = match (d.outcome, d.meeting_ids.len()) {
            (DisclosureOutcome::Refused, _) => {
                format!("— {}", d.reason.as_deref().unwrap_or("refused"))
            }
            (_, 0) => "none".to_string(),
            (_, n) if n <= 3 => d.meeting_ids.join(", "),
            (_, n) => format!("{}, … ({n} meetings)", d.meeting_ids[..3].join(", ")),
        };
        println!(
            "{:<19}  {:<24}  {:<17}  {:<8}  {:>9}  {}",
            utc(d.time_ms),
            crate::term::clean(&d.client),
            crate::term::clean(&d.tool),
            d.outcome.as_str(),
            d.bytes_returned,
            crate::term::clean(&meetings)
        );
    }
}

fn egress_table(records: &[EgressRecord], totals: &[Totals]) {
    println!(
        "{:<19}  {:<16}  {:<7}  {:<11}  {:>9}  {:>9}  {:>7}  REQUEST",
        "TIME (UTC)", "PLUGIN", "METHOD", "RESULT", "SENT", "RECEIVED", "MS"
    );
    for r in records {
        let result = match (r.outcome, r.status) {
            (Outcome::Denied, _) if r.attempts > 1 => format!("DENIED×{}", r.attempts),
            (Outcome::Denied, _) => "DENIED".to_string(),
            (Outcome::Failed, _) => "failed".to_string(),
            (Outcome::Interrupted, _) => "interrupted".to_string(),
            (Outcome::Sent, Some(s)) => s.to_string(),
            (Outcome::Sent, None) => "sent".to_string(),
        };
        // A refused request sent nothing: its size is what it tried to send, said as such.
        let sent = match r.outcome {
            Outcome::Denied => "-".to_string(),
            _ => r.bytes_sent.to_string(),
        };
        let mut notes: Vec<String> = r.reason.iter().cloned().collect();
        if r.bytes_refused > 0 {
            notes.push(format!("{} bytes refused, not sent", r.bytes_refused));
        }
        println!(
            "{:<19}  {:<16}  {:<7}  {:<11}  {:>9}  {:>9}  {:>7}  {}{}{}",
            utc(r.time_ms),
            r.plugin_id,
            r.method,
            result,
            sent,
            r.bytes_received,
            r.duration_ms,
            r.origin,
            r.path,
            match notes.is_empty() {
                true => String::new(),
                false => format!("  — {}", notes.join("; ")),
            }
        );
    }
    println!();
    println!("Totals per plugin and origin:");
    for t in totals {
        let interrupted = match t.interrupted {
            0 => String::new(),
            n => format!(", {n} interrupted"),
        };
        let refused = match t.bytes_refused {
            0 => String::new(),
            n => format!("; {n} bytes refused (denied, never sent)"),
        };
        println!(
            "  {:<16} {:<40} {:>6} requests ({} denied, {} failed{interrupted}), {} bytes sent, {} received{refused}",
            t.plugin_id, t.origin, t.requests, t.denied, t.failed, t.bytes_sent, t.bytes_received
        );
    }
}

pub(crate) fn parse_since(s: &str) -> Result<i64, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let unit = |c: char| match c {
        'm' => Some(60_000),
        'h' => Some(3_600_000),
        'd' => Some(86_400_000),
        _ => None,
    };
    if let Some(last) = s.chars().last().filter(|c| unit(*c).is_some()) {
        let n: i64 = s[..s.len() - 1]
            .parse()
            .map_err(|_| format!("`{s}`: expected e.g. 30m, 12h, 7d or 2026-11-28"))?;
        return Ok(now - n * unit(last).unwrap_or(0));
    }
    let parts: Vec<&str> = s.split('-').collect();
    if let [y, m, d] = parts[..]
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>())
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
    {
        return Ok(crate::time::days_from_civil(y, m, d) * 86_400_000);
    }
    Err(format!("`{s}`: expected e.g. 30m, 12h, 7d or 2026-11-28"))
}

/// A ledger time (ms) for the table.
fn utc(ms: i64) -> String {
    crate::time::utc(ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let ms = crate::time::days_from_civil(2026, 11, 28) * 86_400_000
            + 16 * 3_600_000
            + 23 * 60_000
            + 5_000;
        assert_eq!(utc(ms), "2026-11-28 16:23:05");
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(
            parse_since("2024-02-29"),
            Ok(crate::time::days_from_civil(2024, 2, 29) * 86_400_000)
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("7d").is_ok_and(|t| t > 0));
    }
}
