//! What most exporters need from a meeting document: a file name, who spoke, clock times.
//!
//! ```
//! use minutes_sdk::types::{Document, MeetingMetadata, Transcript};
//! let doc = Document {
//!     metadata: MeetingMetadata {
//!         id: "m-1".into(),
//!         title: "Atlas: weekly sync".into(),
//!         started_at: "2026-11-28T10:00:00Z".into(),
//!         duration_ms: 0,
//!         labels: vec![],
//!         language: None,
//!         channel_names: vec![],
//!         speakers: vec![],
//!     },
//!     transcript: Transcript { segments: vec![], speakers: vec![], language: None },
//!     summary: None,
//!     provenance: None,
//! };
//! assert_eq!(minutes_sdk::meeting::file_stem(&doc), "2026-11-28-atlas-weekly-sync");
//! assert_eq!(minutes_sdk::meeting::clock(3_725_000), "01:02:05");
//! ```

use crate::types::{ActionItem, Citation, Document, Grounding, Segment, Summary, Transcript};
use std::fmt::Write;

/// `YYYY-MM-DD` from the start time, when it starts with a plausible date.
pub fn date(doc: &Document) -> Option<String> {
    iso_date(&doc.metadata.started_at)
}

/// The `YYYY-MM-DD` at the start of `text` (a date or an RFC 3339 time), if it is a real-looking date.
pub fn iso_date(text: &str) -> Option<String> {
    let t = text.trim();
    let head = t.get(..10)?;
    let rest = &t[10..];
    if !(rest.is_empty() || rest.starts_with(['T', 't', ' '])) {
        return None;
    }
    let b = head.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    let month: u32 = head[5..7].parse().ok()?;
    let day: u32 = head[8..10].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| head.to_string())
}

/// A file-name-safe slug of `text`: lower-case letters and digits joined by `-`, at most 60 chars.
pub fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// `2026-11-28-weekly-sync`: the start date and a slug of the title (the meeting id when the
/// title has no letters). Never contains a path separator or starts with a dot.
pub fn file_stem(doc: &Document) -> String {
    let title = slug(&doc.metadata.title);
    let name = if title.is_empty() {
        slug(&doc.metadata.id)
    } else {
        title
    };
    let name = if name.is_empty() {
        "meeting".to_string()
    } else {
        name
    };
    match date(doc) {
        Some(d) => format!("{d}-{name}"),
        None => name,
    }
}

/// Who spoke a segment of `transcript`: its speaker's name, else its channel's name. `None` for
/// a mono recording with no speakers, so exporters do not invent speakers.
pub fn known_speaker(
    transcript: &Transcript,
    segment: &Segment,
    channel_names: &[String],
) -> Option<String> {
    if let Some(s) = transcript.speaker_name(segment) {
        return Some(s.to_string());
    }
    channel_names
        .get(segment.channel as usize)
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// Speakers in order of first appearance (segments with no words do not count); the channel
/// names when no segment names one.
pub fn participants(doc: &Document) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let spoken = doc
        .transcript
        .segments
        .iter()
        .filter(|s| !s.text.trim().is_empty());
    for who in spoken.filter_map(|s| known_speaker(&doc.transcript, s, &doc.metadata.channel_names))
    {
        if !seen.contains(&who) {
            seen.push(who);
        }
    }
    if seen.is_empty() {
        seen = doc
            .metadata
            .channel_names
            .iter()
            .filter(|n| !n.trim().is_empty())
            .cloned()
            .collect();
    }
    seen
}

/// `hh:mm:ss`, always with hours (`01:02:05`).
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Text on one line: runs of whitespace (newlines included) become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The mark after a summary item in Markdown: ` [mm:ss]` (see [`crate::prompt::timestamp`]) of
/// its earliest citation, plus ` (unsupported)` when the host found that a citation does not
/// back the item. Empty for an uncited item. A file cannot link into the recording, so the
/// time is plain text that a reader can look up.
pub fn cite_mark(citations: &[Citation], grounding: Grounding) -> String {
    let mut mark = match citations.iter().min_by_key(|c| c.at_ms) {
        Some(first) => format!(" [{}]", crate::prompt::timestamp(first.at_ms)),
        None => String::new(),
    };
    if grounding == Grounding::Unsupported {
        mark.push_str(" (unsupported: the cited moment does not say this)");
    }
    mark
}

/// A summary as Markdown: the free-form text (only when there are no sections), one `##`
/// heading per section that has a body, then Decisions, Action items and Open questions as
/// lists, each left out when empty, each item followed by its [`cite_mark`]. `task` writes one
/// action-item line (`- [ ] …` in the exporter's style) without the mark.
pub fn markdown_summary(out: &mut String, s: &Summary, task: impl Fn(&ActionItem) -> String) {
    if s.sections.is_empty() && !s.markdown.trim().is_empty() {
        let _ = writeln!(out, "{}\n", s.markdown.trim());
    }
    // A heading over nothing reads as a bug in the notes.
    for section in s.sections.iter().filter(|s| !s.body.trim().is_empty()) {
        let _ = writeln!(
            out,
            "## {}\n\n{}\n",
            one_line(&section.title),
            section.body.trim()
        );
    }
    let list = |out: &mut String, title: &str, items: Vec<String>| {
        if !items.is_empty() {
            let _ = writeln!(out, "## {title}\n");
            for item in items {
                let _ = writeln!(out, "{item}");
            }
            out.push('\n');
        }
    };
    list(
        out,
        "Decisions",
        s.decisions
            .iter()
            .map(|d| {
                let mark = cite_mark(&d.citations, d.grounding);
                format!("- {}{mark}", one_line(&d.text))
            })
            .collect(),
    );
    list(
        out,
        "Action items",
        s.action_items
            .iter()
            .map(|a| format!("{}{}", task(a), cite_mark(&a.citations, a.grounding)))
            .collect(),
    );
    list(
        out,
        "Open questions",
        s.open_questions
            .iter()
            .map(|q| {
                let mark = cite_mark(&q.citations, q.grounding);
                format!("- {}{mark}", one_line(&q.text))
            })
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Decision, OpenQuestion};

    #[test]
    fn iso_dates_are_recognised_and_nonsense_is_not() {
        assert_eq!(iso_date("2026-03-10").as_deref(), Some("2026-03-10"));
        assert_eq!(
            iso_date("2026-03-10T09:00:00Z").as_deref(),
            Some("2026-03-10")
        );
        for bad in [
            "March 10th",
            "2026-13-01",
            "2026-03-32",
            "2026-3-10",
            "2026-03-101",
            "",
            "2026/03/10",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn slugs_have_no_separators_or_leading_dots() {
        assert_eq!(slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(slug("Ünïcode & Co."), "ünïcode-co");
        assert_eq!(slug("!!!"), "");
        assert_eq!(slug(&"a ".repeat(50)).len(), 59);
    }

    #[test]
    fn markdown_summary_lists_only_what_there_is() {
        let s = Summary {
            markdown: "Free text.".into(),
            sections: vec![],
            action_items: vec![ActionItem::new("Book\na room")],
            decisions: vec![],
            open_questions: vec![OpenQuestion::new("Price?", vec![])],
        };
        let mut out = String::new();
        markdown_summary(&mut out, &s, |a| format!("- [ ] {}", one_line(&a.task)));
        assert_eq!(
            out,
            "Free text.\n\n## Action items\n\n- [ ] Book a room\n\n## Open questions\n\n- Price?\n\n"
        );
    }

    #[test]
    fn cited_items_carry_the_time_of_their_first_citation_and_unsupported_ones_say_so() {
        let at = |segment_id, at_ms| Citation {
            segment_id,
            at_ms,
            meeting_id: None,
        };
        let mut wrong = Decision::new("Price at 10 dollars", vec![at(9, 61_000)]);
        wrong.grounding = Grounding::Unsupported;
        let s = Summary {
            markdown: String::new(),
            sections: vec![],
            action_items: vec![ActionItem {
                owner: Some("Sam".into()),
                citations: vec![at(4, 754_000)],
                grounding: Grounding::Supported,
                ..ActionItem::new("Draft the post")
            }],
            decisions: vec![
                Decision::new("Launch on March 17th", vec![at(7, 200_500), at(2, 3_000)]),
                wrong,
                Decision::new("Keep the name", vec![]),
            ],
            open_questions: vec![],
        };
        let mut out = String::new();
        markdown_summary(&mut out, &s, |a| format!("- [ ] {}", a.task));
        assert_eq!(
            out,
            "## Decisions\n\n- Launch on March 17th [00:03]\n\
             - Price at 10 dollars [01:01] (unsupported: the cited moment does not say this)\n\
             - Keep the name\n\n## Action items\n\n- [ ] Draft the post [12:34]\n\n"
        );
    }

    #[test]
    fn clock_has_hours_past_a_day() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(100 * 3600 * 1000 + 61_999), "100:01:01");
    }
}
