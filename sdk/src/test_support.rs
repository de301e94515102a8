//! Fixtures shared by the SDK's unit tests.

use crate::notes::{NotesSpec, SectionFormat, SectionSpec};
use crate::types::{Segment, Speaker, Transcript};

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
    let segments: Vec<Segment> = doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .enumerate()
        .map(|(i, s)| Segment {
            speaker_id: s["speaker"].as_str().map(str::to_string),
            ..Segment::new(
                i as u32,
                (s["start"].as_f64().expect("start") * 1000.0) as u64,
                (s["end"].as_f64().expect("end") * 1000.0) as u64,
                s["text"].as_str().expect("text"),
            )
        })
        .collect();
    let mut speakers: Vec<Speaker> = Vec::new();
    for id in segments.iter().filter_map(|s| s.speaker_id.clone()) {
        if !speakers.iter().any(|s| s.id == id) {
            speakers.push(Speaker {
                name: id.clone(),
                id,
                channel: 0,
            });
        }
    }
    Transcript {
        segments,
        speakers,
        language: Some("en".into()),
    }
}
