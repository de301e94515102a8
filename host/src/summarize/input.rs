//! Meeting documents from JSON files: a full document (`minutes export --document` format), a
//! transcript from `minutes transcribe --json`, or a transcript with times in seconds and
//! speaker names (the form many other tools and corpora write).

use crate::model::{Document, MeetingMetadata, NamedSegment, Transcript};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is neither a meeting document ({{\"metadata\", \"transcript\"}}) nor a transcript \
         ({{\"segments\": [{{\"start_ms\", \"end_ms\", \"text\"}}]}} or {{\"segments\": [{{\"start\", \"end\", \"speaker\", \"text\"}}]}}): {why}"
    )]
    Shape { path: String, why: String },
}

/// A segment with times in seconds, as corpora and other tools write them.
#[derive(Deserialize)]
struct LooseSegment {
    start: f64,
    end: f64,
    text: String,
    #[serde(default)]
    speaker: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    channel: Option<u32>,
}

#[derive(Deserialize)]
struct LooseTranscript {
    segments: Vec<LooseSegment>,
    #[serde(default)]
    language: Option<String>,
}

pub fn load_document(path: &Path) -> Result<Document, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: shown.clone(),
        source,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| InputError::Shape {
        path: shown.clone(),
        why: e.to_string(),
    })?;
    let shape = |e: serde_json::Error| InputError::Shape {
        path: shown.clone(),
        why: e.to_string(),
    };
    if value.get("metadata").is_some() {
        return serde_json::from_value(value).map_err(shape);
    }
    let first = value.get("segments").and_then(|s| s.get(0));
    let transcript = match first {
        Some(seg) if seg.get("start").is_some() => {
            let loose: LooseTranscript = serde_json::from_value(value.clone()).map_err(shape)?;
            from_loose(loose)
        }
        _ => serde_json::from_value::<Transcript>(value.clone()).map_err(shape)?,
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "meeting".into());
    let title = value
        .get("title")
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| stem.clone());
    let duration_ms = transcript
        .segments
        .iter()
        .map(|s| s.end_ms)
        .max()
        .unwrap_or(0);
    let channels = transcript
        .segments
        .iter()
        .map(|s| s.channel)
        .max()
        .unwrap_or(0);
    let started_at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| crate::time::rfc3339(d.as_secs() as i64))
        .unwrap_or_else(|| crate::time::rfc3339(crate::time::now_secs()));
    let metadata = MeetingMetadata {
        id: stem,
        title,
        started_at,
        duration_ms,
        labels: Vec::new(),
        language: transcript.language.clone(),
        channel_names: if channels == 1 {
            vec!["me".into(), "others".into()]
        } else {
            Vec::new()
        },
    };
    Ok(Document {
        metadata,
        transcript,
        summary: None,
        provenance: None,
    })
}

fn from_loose(t: LooseTranscript) -> Transcript {
    let ms = |s: f64| (s.max(0.0) * 1000.0).round() as u64;
    let segments = t
        .segments
        .into_iter()
        .map(|s| {
            // A display name beats a speaker code ("Maria" over "A").
            let speaker = s.name.or(match s.speaker {
                Some(serde_json::Value::String(code)) => Some(code),
                Some(serde_json::Value::Number(n)) => Some(format!("speaker {n}")),
                _ => None,
            });
            NamedSegment {
                id: None,
                start_ms: ms(s.start),
                end_ms: ms(s.end),
                channel: s.channel.unwrap_or(0),
                speaker,
                text: s.text,
                words: Vec::new(),
            }
        })
        .collect::<Vec<_>>();
    Transcript::from_named(segments, t.language)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus")
            .join(rel)
    }

    #[test]
    fn reads_corpus_transcripts_with_names_and_channels() {
        let doc = load_document(&corpus("synthetic/meeting_a.json")).expect("meeting_a");
        assert_eq!(doc.metadata.title, "Atlas app - weekly release sync");
        assert!(doc.transcript.segments.len() > 10);
        let first = &doc.transcript.segments[0];
        assert_eq!(
            (first.start_ms, doc.transcript.speaker_name(first)),
            (1000, Some("Maria"))
        );
        assert!(doc.transcript.segments.iter().any(|s| s.channel == 1));
        let ami = load_document(&corpus("text/ami_ES2011a_transcript.json")).expect("ami");
        assert!(
            ami.metadata.duration_ms > 15 * 60 * 1000,
            "{}",
            ami.metadata.duration_ms
        );
        assert_eq!(
            ami.transcript.speaker_name(&ami.transcript.segments[0]),
            Some("FEE041")
        );
    }

    #[test]
    fn documents_and_host_transcripts_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("call.json");
        std::fs::write(&path, r#"{"language":"en","segments":[{"start_ms":0,"end_ms":900,"channel":0,"text":"hi","confidence":0.9}]}"#).expect("write");
        let doc = load_document(&path).expect("transcript");
        assert_eq!(
            (doc.metadata.id.as_str(), doc.metadata.duration_ms),
            ("call", 900)
        );
        let full = dir.path().join("doc.json");
        std::fs::write(&full, serde_json::to_string(&doc).expect("json")).expect("write");
        let again = load_document(&full).expect("document");
        assert_eq!(
            serde_json::to_value(&again).expect("json"),
            serde_json::to_value(&doc).expect("json")
        );
    }

    #[test]
    fn other_json_is_explained() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.json");
        std::fs::write(&path, r#"{"hello": 1}"#).expect("write");
        let err = load_document(&path)
            .expect_err("not a transcript")
            .to_string();
        assert!(err.contains("is neither a meeting document"), "{err}");
    }
}
