//! Fixtures shared by the SDK's unit tests.

use crate::notes::{NotesSpec, SectionFormat, SectionSpec};
use crate::types::{Segment, Transcript};

/// A two-section spec (a paragraph `overview` and a list `key_points`) for a weekly sync.
pub fn weekly_sync_spec() -> NotesSpec {
    NotesSpec::new(
        "template-test",
        "Test",
        "d",
        "A weekly sync.",
        vec![
            SectionSpec::new(
                "overview",
                "Overview",
                SectionFormat::Paragraph,
                "What the meeting was about.",
            ),
            SectionSpec::new(
                "key_points",
                "Key points",
                SectionFormat::List,
                "The main points.",
            ),
        ],
    )
}

/// The AMI ES2011a meeting (about 20 minutes, four speakers) from the shared text corpus.
pub fn ami() -> Transcript {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/text/ami_ES2011a_transcript.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("AMI transcript is JSON");
    let segments = doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| Segment {
            start_ms: (s["start"].as_f64().expect("start") * 1000.0) as u64,
            end_ms: (s["end"].as_f64().expect("end") * 1000.0) as u64,
            channel: 0,
            speaker: s["speaker"].as_str().map(str::to_string),
            text: s["text"].as_str().expect("text").to_string(),
        })
        .collect();
    Transcript {
        segments,
        language: Some("en".into()),
    }
}
