//! export-markdown: a meeting as one Markdown file with YAML front matter.

use minutes_sdk::exporter::{Exporter, OneFormat, export_exporter};
use minutes_sdk::meeting::{known_speaker, markdown_summary, one_line, participants};
use minutes_sdk::prompt::timestamp;
use minutes_sdk::types::{ActionItem, Document, ExporterInfo, OutputFile, PluginError};
use minutes_sdk::yaml;
use std::fmt::Write;

pub struct Markdown;

const MARKDOWN: OneFormat = OneFormat {
    plugin: "export-markdown",
    name: "Markdown",
    format: "md",
    description: "Markdown with YAML front matter",
    media_type: "text/markdown",
};

impl Exporter for Markdown {
    fn info() -> ExporterInfo {
        MARKDOWN.info()
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        MARKDOWN.check(&format)?;
        let options = Options {
            include_transcript: minutes_sdk::config::boolean("include_transcript").unwrap_or(true),
            timestamps: minutes_sdk::config::boolean("timestamps").unwrap_or(true),
        };
        Ok(vec![OutputFile::text(
            MARKDOWN.file_name(&doc),
            MARKDOWN.media_type,
            render(&doc, &options),
        )])
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
    let _ = writeln!(out, "title: {}", yaml::string(&meta.title));
    let _ = writeln!(out, "date: {}", yaml::string(&meta.started_at));
    let _ = writeln!(
        out,
        "duration: {}",
        yaml::string(&duration(meta.duration_ms))
    );
    let _ = writeln!(out, "meeting_id: {}", yaml::string(&meta.id));
    if let Some(lang) = meta
        .language
        .as_deref()
        .or(doc.transcript.language.as_deref())
    {
        let _ = writeln!(out, "language: {}", yaml::string(lang));
    }
    // Unknown speakers (a mono recording without labels) are not "nobody": no key at all.
    let people = participants(doc);
    if !people.is_empty() {
        yaml::list(&mut out, "participants", &people);
    }
    yaml::list(&mut out, "tags", &meta.labels);
    out.push_str("---\n\n");

    let _ = writeln!(out, "# {}\n", one_line(&meta.title));
    if let Some(summary) = &doc.summary {
        markdown_summary(&mut out, summary, task);
    }
    if options.include_transcript {
        out.push_str("## Transcript\n\n");
        for seg in doc
            .transcript
            .segments
            .iter()
            .filter(|s| !s.text.trim().is_empty())
        {
            let who = known_speaker(&doc.transcript, seg, &meta.channel_names);
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

/// `- [ ] task (owner, due date)`.
fn task(item: &ActionItem) -> String {
    let mut line = format!("- [ ] {}", one_line(&item.task));
    match (&item.owner, &item.due) {
        (Some(o), Some(d)) => line += &format!(" ({}, due {})", one_line(o), one_line(d)),
        (Some(o), None) => line += &format!(" ({})", one_line(o)),
        (None, Some(d)) => line += &format!(" (due {})", one_line(d)),
        (None, None) => {}
    }
    line
}

/// `h:mm:ss` with unpadded hours (`0:03:01`).
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::meeting::file_stem;
    use minutes_sdk::types::{
        Citation, Decision, Grounding, MeetingMetadata, Segment, Speaker, Summary, Transcript,
    };

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
                speakers: vec![],
            },
            transcript: Transcript {
                segments: vec![
                    Segment {
                        id: 1,
                        start_ms: 1000,
                        end_ms: 2000,
                        channel: 0,
                        speaker_id: None,
                        text: " Hello.".into(),
                        words: vec![],
                    },
                    Segment {
                        id: 2,
                        start_ms: 65_000,
                        end_ms: 66_000,
                        channel: 1,
                        speaker_id: Some("speaker-2".into()),
                        text: "Hi.".into(),
                        words: vec![],
                    },
                ],
                // The transcript knows speaker 2 by the name the user gave them.
                speakers: vec![Speaker {
                    id: "speaker-2".into(),
                    name: "David".into(),
                    channel: 1,
                }],
                language: None,
            },
            provenance: None,
            summary: Some(Summary {
                markdown: String::new(),
                sections: vec![],
                action_items: vec![ActionItem {
                    owner: Some("Sam".into()),
                    due: Some("Friday".into()),
                    citations: vec![Citation {
                        segment_id: 2,
                        at_ms: 65_000,
                        meeting_id: None,
                    }],
                    grounding: Grounding::Supported,
                    ..ActionItem::new("Draft post")
                }],
                decisions: vec![Decision {
                    grounding: Grounding::Uncited,
                    ..Decision::new("Launch on March 17th", vec![])
                }],
                open_questions: vec![],
            }),
        }
    }

    #[test]
    fn front_matter_quotes_titles_and_lists_participants() {
        let md = render(
            &doc(),
            &Options {
                include_transcript: true,
                timestamps: true,
            },
        );
        assert!(
            md.starts_with("---\ntitle: \"Atlas: \\\"weekly\\\" sync\"\n"),
            "{md}"
        );
        assert!(md.contains("duration: \"0:03:01\"\n"));
        assert!(md.contains("participants:\n  - \"me\"\n  - \"David\"\n"));
        assert!(md.contains("tags:\n  - \"atlas\"\n"));
        // The time of the moment cited, as the transcript below shows it.
        assert!(
            md.contains("- [ ] Draft post (Sam, due Friday) [01:05]\n"),
            "{md}"
        );
        assert!(
            md.contains("## Decisions\n\n- Launch on March 17th\n"),
            "{md}"
        );
        assert!(md.contains("**[01:05] David:** Hi."));
    }

    #[test]
    fn a_mono_recording_without_labels_gets_no_made_up_speakers() {
        let mut d = doc();
        d.metadata.channel_names.clear();
        for s in &mut d.transcript.segments {
            s.speaker_id = None;
        }
        let md = render(
            &d,
            &Options {
                include_transcript: true,
                timestamps: true,
            },
        );
        assert!(!md.contains("participants"), "{md}");
        assert!(md.contains("**[00:01]** Hello.  \n"), "{md}");
        assert!(!md.contains("channel 0"), "{md}");
    }

    #[test]
    fn file_name_is_date_and_slug() {
        assert_eq!(file_stem(&doc()), "2026-11-28-atlas-weekly-sync");
    }
}
