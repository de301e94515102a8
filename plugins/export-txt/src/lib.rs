//! export-txt: a meeting as plain text — a short header, the summary when there is one, then
//! one `[hh:mm:ss] speaker: text` line per segment.

use minutes_sdk::exporter::{Exporter, OneFormat, export_exporter};
use minutes_sdk::meeting::{cite_mark, clock, known_speaker, one_line, participants};
use minutes_sdk::types::{Document, ExporterInfo, OutputFile, PluginError, Summary};
use std::fmt::Write;

pub struct Text;

const TXT: OneFormat = OneFormat {
    plugin: "export-txt",
    name: "Plain text",
    format: "txt",
    description: "Summary, then one `[hh:mm:ss] speaker: text` line per segment",
    media_type: "text/plain",
};

impl Exporter for Text {
    fn info() -> ExporterInfo {
        TXT.info()
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        TXT.check(&format)?;
        let include_summary = minutes_sdk::config::boolean("include_summary").unwrap_or(true);
        Ok(vec![OutputFile::text(
            TXT.file_name(&doc),
            "text/plain; charset=utf-8",
            render(&doc, include_summary),
        )])
    }
}

export_exporter!(Text);

pub fn render(doc: &Document, include_summary: bool) -> String {
    let meta = &doc.metadata;
    let mut out = String::new();
    let _ = writeln!(out, "{}", one_line(&meta.title));
    let mut facts =
        vec![minutes_sdk::meeting::date(doc).unwrap_or_else(|| one_line(&meta.started_at))];
    facts.push(clock(meta.duration_ms));
    let people = participants(doc);
    if !people.is_empty() {
        facts.push(people.join(", "));
    }
    let _ = writeln!(
        out,
        "{}\n",
        facts
            .into_iter()
            .filter(|f| !f.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    );

    if let Some(summary) = doc.summary.as_ref().filter(|_| include_summary) {
        render_summary(&mut out, summary);
    }
    heading(&mut out, "Transcript");
    for seg in &doc.transcript.segments {
        let text = one_line(&seg.text);
        if text.is_empty() {
            continue;
        }
        let _ = match known_speaker(&doc.transcript, seg, &meta.channel_names) {
            Some(who) => writeln!(out, "[{}] {who}: {text}", clock(seg.start_ms)),
            None => writeln!(out, "[{}] {text}", clock(seg.start_ms)),
        };
    }
    out
}

fn heading(out: &mut String, title: &str) {
    let title = one_line(title);
    let _ = writeln!(out, "{title}\n{}", "-".repeat(title.chars().count().max(3)));
}

fn render_summary(out: &mut String, s: &Summary) {
    if s.sections.is_empty() && !s.markdown.trim().is_empty() {
        heading(out, "Summary");
        let _ = writeln!(out, "{}\n", s.markdown.trim());
    }
    for section in s.sections.iter().filter(|s| !s.body.trim().is_empty()) {
        heading(out, &section.title);
        let _ = writeln!(out, "{}\n", section.body.trim());
    }
    let list = |out: &mut String, title: &str, items: Vec<String>| {
        if !items.is_empty() {
            heading(out, title);
            for item in items {
                let _ = writeln!(out, "- {item}");
            }
            out.push('\n');
        }
    };
    list(
        out,
        "Decisions",
        s.decisions
            .iter()
            .map(|d| one_line(&d.text) + &cite_mark(&d.citations, d.grounding))
            .collect(),
    );
    let actions = s
        .action_items
        .iter()
        .map(|a| {
            let mut line = format!("[ ] {}", one_line(&a.task));
            let owner = a.owner.as_deref().map(one_line).filter(|o| !o.is_empty());
            let due = a
                .due
                .as_deref()
                .map(one_line)
                .filter(|d| !d.is_empty())
                .map(|d| format!("due {d}"));
            let extra: Vec<String> = owner.into_iter().chain(due).collect();
            if !extra.is_empty() {
                line += &format!(" ({})", extra.join(", "));
            }
            line + &cite_mark(&a.citations, a.grounding)
        })
        .collect();
    list(out, "Action items", actions);
    list(
        out,
        "Open questions",
        s.open_questions
            .iter()
            .map(|q| one_line(&q.text) + &cite_mark(&q.citations, q.grounding))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::{ActionItem, Decision, MeetingMetadata, Section, Segment, Transcript};

    fn doc() -> Document {
        Document {
            metadata: MeetingMetadata {
                id: "m1".into(),
                title: "Atlas\nsync".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 3_725_000,
                labels: vec![],
                language: None,
                channel_names: vec!["me".into(), "others".into()],
                speakers: vec![],
            },
            transcript: Transcript {
                segments: vec![
                    Segment {
                        id: 1,
                        start_ms: 1_000,
                        end_ms: 2_000,
                        channel: 0,
                        speaker_id: None,
                        text: " Hello,\n all.".into(),
                        words: vec![],
                    },
                    Segment {
                        id: 2,
                        start_ms: 2_000,
                        end_ms: 2_500,
                        channel: 1,
                        speaker_id: None,
                        text: "   ".into(),
                        words: vec![],
                    },
                    Segment {
                        id: 3,
                        start_ms: 3_661_000,
                        end_ms: 3_662_000,
                        channel: 1,
                        speaker_id: Some("David".into()),
                        text: "Bye.".into(),
                        words: vec![],
                    },
                ],
                speakers: vec![],
                language: None,
            },
            provenance: None,
            summary: Some(Summary {
                markdown: "ignored when there are sections".into(),
                sections: vec![Section {
                    title: "Overview".into(),
                    body: "Short.\n".into(),
                }],
                action_items: vec![ActionItem {
                    owner: Some("Sam".into()),
                    due: Some("Friday".into()),
                    ..ActionItem::new("Draft post")
                }],
                decisions: vec![Decision::new("Ship it", vec![])],
                open_questions: vec![],
            }),
        }
    }

    #[test]
    fn summary_comes_first_then_timed_transcript_lines() {
        let text = render(&doc(), true);
        assert!(
            text.starts_with(
                "Atlas sync\n2026-11-28 · 01:02:05 · me, David\n\nOverview\n--------\nShort.\n\n"
            ),
            "{text}"
        );
        assert!(text.contains("Decisions\n---------\n- Ship it\n"), "{text}");
        assert!(
            text.contains("- [ ] Draft post (Sam, due Friday)\n"),
            "{text}"
        );
        assert!(!text.contains("ignored when there are sections"));
        let transcript = text
            .split("Transcript\n----------\n")
            .nth(1)
            .expect("transcript heading");
        assert_eq!(
            transcript,
            "[00:00:01] me: Hello, all.\n[01:01:01] David: Bye.\n"
        );
        assert!(text.find("Overview").unwrap() < text.find("Transcript").unwrap());
    }

    #[test]
    fn without_summary_or_speakers_nothing_is_invented() {
        let mut d = doc();
        d.summary = None;
        d.metadata.channel_names.clear();
        d.transcript
            .segments
            .iter_mut()
            .for_each(|s| s.speaker_id = None);
        let text = render(&d, true);
        assert!(
            text.starts_with("Atlas sync\n2026-11-28 · 01:02:05\n\nTranscript\n"),
            "{text}"
        );
        assert!(
            text.contains("[00:00:01] Hello, all.\n[01:01:01] Bye.\n"),
            "{text}"
        );
        assert!(
            !render(&doc(), false).contains("Overview"),
            "include_summary = false still wrote the summary"
        );
    }
}
