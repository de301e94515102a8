//! export-markdown: a meeting as one Markdown file with YAML front matter.

use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::prompt::{speaker_of, timestamp};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError, Summary};
use std::fmt::Write;

pub struct Markdown;

impl Exporter for Markdown {
    fn info() -> ExporterInfo {
        ExporterInfo {
            id: "export-markdown".into(),
            name: "Markdown".into(),
            formats: vec![FormatInfo {
                id: "md".into(),
                description: "Markdown with YAML front matter".into(),
                media_type: "text/markdown".into(),
            }],
        }
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        if format != "md" {
            return Err(PluginError::InvalidInput(format!("export-markdown writes `md`, not `{format}`")));
        }
        let options = Options {
            include_transcript: minutes_sdk::config::boolean("include_transcript").unwrap_or(true),
            timestamps: minutes_sdk::config::boolean("timestamps").unwrap_or(true),
        };
        let name = format!("{}.md", file_stem(&doc));
        Ok(vec![OutputFile::text(name, "text/markdown", render(&doc, &options))])
    }
}

export_exporter!(Markdown);

pub struct Options {
    pub include_transcript: bool,
    pub timestamps: bool,
}

/// The whole Markdown document.
pub fn render(doc: &Document, options: &Options) -> String {
    let meta = &doc.metadata;
    let mut out = String::new();
    out.push_str("---\n");
    let _ = writeln!(out, "title: {}", yaml_string(&meta.title));
    let _ = writeln!(out, "date: {}", yaml_string(&meta.started_at));
    let _ = writeln!(out, "duration: {}", yaml_string(&duration(meta.duration_ms)));
    let _ = writeln!(out, "meeting_id: {}", yaml_string(&meta.id));
    if let Some(lang) = meta.language.as_deref().or(doc.transcript.language.as_deref()) {
        let _ = writeln!(out, "language: {}", yaml_string(lang));
    }
    yaml_list(&mut out, "participants", &participants(doc));
    yaml_list(&mut out, "tags", &meta.labels);
    out.push_str("---\n\n");

    let _ = writeln!(out, "# {}\n", one_line(&meta.title));
    if let Some(summary) = &doc.summary {
        render_summary(&mut out, summary);
    }
    if options.include_transcript {
        out.push_str("## Transcript\n\n");
        for seg in doc.transcript.segments.iter().filter(|s| !s.text.trim().is_empty()) {
            let who = known_speaker(seg, &meta.channel_names);
            let text = seg.text.trim();
            let _ = match (options.timestamps, who) {
                (true, Some(w)) => writeln!(out, "**[{}] {w}:** {text}  ", timestamp(seg.start_ms)),
                (true, None) => writeln!(out, "**[{}]** {text}  ", timestamp(seg.start_ms)),
                (false, Some(w)) => writeln!(out, "**{w}:** {text}  "),
                (false, None) => writeln!(out, "{text}  "),
            };
        }
    }
    out
}

fn render_summary(out: &mut String, s: &Summary) {
    if !s.markdown.trim().is_empty() && s.sections.is_empty() {
        let _ = writeln!(out, "{}\n", s.markdown.trim());
    }
    for section in &s.sections {
        let _ = writeln!(out, "## {}\n\n{}\n", one_line(&section.title), section.body.trim());
    }
    if !s.decisions.is_empty() {
        out.push_str("## Decisions\n\n");
        for d in &s.decisions {
            let _ = writeln!(out, "- {}", one_line(d));
        }
        out.push('\n');
    }
    if !s.action_items.is_empty() {
        out.push_str("## Action items\n\n");
        for item in &s.action_items {
            let mut line = format!("- [ ] {}", one_line(&item.task));
            match (&item.owner, &item.due) {
                (Some(o), Some(d)) => line += &format!(" ({}, due {})", one_line(o), one_line(d)),
                (Some(o), None) => line += &format!(" ({})", one_line(o)),
                (None, Some(d)) => line += &format!(" (due {})", one_line(d)),
                (None, None) => {}
            }
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    if !s.open_questions.is_empty() {
        out.push_str("## Open questions\n\n");
        for q in &s.open_questions {
            let _ = writeln!(out, "- {}", one_line(q));
        }
        out.push('\n');
    }
}

/// The speaker label, else the channel's name; `None` for a mono recording with no labels.
fn known_speaker(seg: &minutes_sdk::types::Segment, channel_names: &[String]) -> Option<String> {
    let labelled = seg.speaker.as_deref().is_some_and(|s| !s.trim().is_empty());
    (labelled || channel_names.get(seg.channel as usize).is_some()).then(|| speaker_of(seg, channel_names))
}

/// Speakers in order of first appearance, falling back to channel names.
fn participants(doc: &Document) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for who in doc.transcript.segments.iter().filter_map(|s| known_speaker(s, &doc.metadata.channel_names)) {
        if !seen.contains(&who) {
            seen.push(who);
        }
    }
    if seen.is_empty() {
        seen = doc.metadata.channel_names.clone();
    }
    seen
}

/// `2026-11-28-weekly-sync`, from the start date and a slug of the title.
fn file_stem(doc: &Document) -> String {
    let date: String = doc.metadata.started_at.chars().take(10).collect();
    let mut slug = String::new();
    for c in doc.metadata.title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(60).collect();
    let slug = if slug.is_empty() { doc.metadata.id.clone() } else { slug };
    let date_ok = date.len() == 10 && date.chars().all(|c| c.is_ascii_digit() || c == '-');
    let stem = if date_ok { format!("{date}-{slug}") } else { slug };
    // The host refuses path separators anyway; never produce them.
    stem.replace(['/', '\\'], "-").trim_start_matches('.').to_string()
}

fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A double-quoted YAML scalar: safe for any text (colons, quotes, newlines, leading dashes).
fn yaml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "{key}: []");
        return;
    }
    let _ = writeln!(out, "{key}:");
    for item in items {
        let _ = writeln!(out, "  - {}", yaml_string(item));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::{ActionItem, MeetingMetadata, Segment, Transcript};

    fn doc() -> Document {
        Document {
            metadata: MeetingMetadata {
                id: "m1".into(),
                title: "Atlas: \"weekly\" sync".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 181_000,
                labels: vec!["atlas".into()],
                language: Some("en".into()),
                channel_names: vec!["me".into(), "others".into()],
            },
            transcript: Transcript {
                segments: vec![
                    Segment { start_ms: 1000, end_ms: 2000, channel: 0, speaker: None, text: " Hello.".into() },
                    Segment { start_ms: 65_000, end_ms: 66_000, channel: 1, speaker: Some("David".into()), text: "Hi.".into() },
                ],
                language: None,
            },
            summary: Some(Summary {
                markdown: String::new(),
                sections: vec![],
                action_items: vec![ActionItem { owner: Some("Sam".into()), task: "Draft post".into(), due: Some("Friday".into()) }],
                decisions: vec!["Launch on March 17th".into()],
                open_questions: vec![],
            }),
        }
    }

    #[test]
    fn front_matter_quotes_titles_and_lists_participants() {
        let md = render(&doc(), &Options { include_transcript: true, timestamps: true });
        assert!(md.starts_with("---\ntitle: \"Atlas: \\\"weekly\\\" sync\"\n"), "{md}");
        assert!(md.contains("duration: \"0:03:01\"\n"));
        assert!(md.contains("participants:\n  - \"me\"\n  - \"David\"\n"));
        assert!(md.contains("tags:\n  - \"atlas\"\n"));
        assert!(md.contains("- [ ] Draft post (Sam, due Friday)\n"));
        assert!(md.contains("**[01:05] David:** Hi."));
    }

    #[test]
    fn a_mono_recording_without_labels_gets_no_made_up_speakers() {
        let mut d = doc();
        d.metadata.channel_names.clear();
        for s in &mut d.transcript.segments {
            s.speaker = None;
        }
        let md = render(&d, &Options { include_transcript: true, timestamps: true });
        assert!(md.contains("participants: []\n"), "{md}");
        assert!(md.contains("**[00:01]** Hello.  \n"), "{md}");
        assert!(!md.contains("channel 0"), "{md}");
    }

    #[test]
    fn file_name_is_date_and_slug() {
        assert_eq!(file_stem(&doc()), "2026-11-28-atlas-weekly-sync");
    }
}
