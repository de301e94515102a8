//! export-json: the whole meeting document as JSON, in the shape `minutes export --document`
//! reads back (the `document` record of wit/v0.2/types.wit, snake_case field names).

use minutes_sdk::exporter::{Exporter, OneFormat, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, OutputFile, PluginError};

pub struct Json;

const JSON: OneFormat = OneFormat {
    plugin: "export-json",
    name: "JSON",
    format: "json",
    description: "The full meeting document (metadata, transcript, summary) as JSON",
    media_type: "application/json",
};

impl Exporter for Json {
    fn info() -> ExporterInfo {
        JSON.info()
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        JSON.check(&format)?;
        let pretty = minutes_sdk::config::boolean("pretty").unwrap_or(true);
        Ok(vec![render(&doc, pretty)?])
    }
}

export_exporter!(Json);

/// `<date>-<slug>.json` holding the document.
pub fn render(doc: &Document, pretty: bool) -> Result<OutputFile, PluginError> {
    let mut text = if pretty {
        minutes_sdk::json::to_string_pretty(doc)?
    } else {
        minutes_sdk::json::to_string(doc)?
    };
    text.push('\n');
    Ok(OutputFile::text(JSON.file_name(doc), JSON.media_type, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::{
        ActionItem, Citation, Decision, MeetingMetadata, Provenance, Section, Segment, Speaker,
        Summary, Transcript,
    };

    fn doc(summary: Option<Summary>) -> Document {
        Document {
            metadata: MeetingMetadata {
                id: "m-7".into(),
                title: "Q3 \"planning\" / budget".into(),
                started_at: "2026-07-01T09:30:00+02:00".into(),
                duration_ms: 3_600_000,
                labels: vec!["finance".into()],
                language: None,
                channel_names: vec!["me".into(), "others".into()],
                speakers: vec![],
            },
            transcript: Transcript {
                segments: vec![Segment {
                    channel: 1,
                    speaker_id: Some("speaker-1".into()),
                    ..Segment::new(4, 0, 1_500, "Zahlen: 3 € \u{1F4B8}\n")
                }],
                speakers: vec![Speaker {
                    id: "speaker-1".into(),
                    name: "Ana".into(),
                    channel: 1,
                }],
                language: Some("de".into()),
            },
            provenance: summary.as_ref().map(|_| Provenance {
                template: "template-standard".into(),
                template_version: "0.1.0".into(),
                provider: Some("ollama".into()),
                model: Some("qwen2.5:0.5b".into()),
                created_at: "2026-07-01T10:31:00+02:00".into(),
            }),
            summary,
        }
    }

    fn summary() -> Summary {
        Summary {
            markdown: "## Budget\n\nFlat.".into(),
            sections: vec![Section {
                title: "Budget".into(),
                body: "Flat.".into(),
            }],
            action_items: vec![ActionItem {
                due: Some("2026-07-05".into()),
                ..ActionItem::new("Send sheet")
            }],
            decisions: vec![Decision::new(
                "Keep it flat",
                vec![Citation {
                    segment_id: 4,
                    at_ms: 0,
                    meeting_id: None,
                }],
            )],
            open_questions: vec![],
        }
    }

    #[test]
    fn the_document_survives_a_round_trip_with_and_without_a_summary() {
        for d in [doc(Some(summary())), doc(None)] {
            let file = render(&d, true).unwrap();
            let text = String::from_utf8(file.bytes).unwrap();
            let back: Document = minutes_sdk::json::from_str(&text).unwrap();
            assert_eq!(back, d);
        }
    }

    #[test]
    fn field_names_are_the_ones_minutes_export_reads() {
        let text = String::from_utf8(render(&doc(Some(summary())), false).unwrap().bytes).unwrap();
        for key in [
            "\"started_at\":",
            "\"duration_ms\":",
            "\"channel_names\":",
            "\"start_ms\":",
            "\"end_ms\":",
            "\"action_items\":",
            "\"open_questions\":",
            "\"speaker_id\":",
            "\"citations\":",
            "\"provenance\":",
        ] {
            assert!(text.contains(key), "missing {key} in {text}");
        }
        assert!(
            text.ends_with("}\n") && text.lines().count() == 1,
            "compact output is one line: {text}"
        );
        let pretty = String::from_utf8(render(&doc(None), true).unwrap().bytes).unwrap();
        assert!(
            pretty.contains("\n  \"metadata\": {\n") && pretty.contains("\"summary\": null"),
            "{pretty}"
        );
    }

    #[test]
    fn the_file_is_named_after_date_and_title() {
        let file = render(&doc(None), true).unwrap();
        assert_eq!(
            (file.path.as_str(), file.media_type.as_str()),
            ("2026-07-01-q3-planning-budget.json", "application/json")
        );
    }
}
