//! Corrections a user makes to a transcript. The corrected text replaces the segment's `text`,
//! so search (its FTS trigger), summaries and exports use it at once; the transcriber's text is
//! kept in `original_text`. Processing the same recording again replaces the transcript, and
//! with it the corrections.

use super::{Store, StoreError, require};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;

/// Longer than any segment whisper makes; a bound so a pasted document is refused, not stored.
const MAX_SEGMENT_CHARS: usize = 4000;

/// A segment after a correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    pub meeting_id: String,
    pub segment_id: u32,
    pub text: String,
    /// What the transcriber wrote; `None` when the correction brought the text back to it.
    pub original_text: Option<String>,
}

impl Store {
    /// Replaces the text of segment `segment_id` of meeting `meeting_id` with `text` (trimmed,
    /// one line). The first correction keeps the transcriber's text; correcting back to it
    /// clears the record of the correction.
    pub fn correct_segment(
        &self,
        meeting_id: &str,
        segment_id: u32,
        text: &str,
    ) -> Result<Correction, StoreError> {
        let text = text.trim();
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(StoreError::Invalid {
                what: "segment text",
                why: "it must be non-empty text on one line".into(),
            });
        }
        if text.chars().count() > MAX_SEGMENT_CHARS {
            return Err(StoreError::Invalid {
                what: "segment text",
                why: format!("it is longer than {MAX_SEGMENT_CHARS} characters"),
            });
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        require(&tx, meeting_id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
        let row: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT text, original_text FROM segments WHERE meeting_id = ?1 AND segment_id = ?2",
                params![meeting_id, segment_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((current, original)) = row else {
            return Err(StoreError::Invalid {
                what: "segment",
                why: format!(
                    "meeting `{meeting_id}` has no segment {segment_id}; `minutes show {meeting_id} --json` lists the segment ids"
                ),
            });
        };
        let original = original.unwrap_or(current);
        let kept = (original != text).then_some(original);
        tx.execute(
            "UPDATE segments SET text = ?3, original_text = ?4 WHERE meeting_id = ?1 AND segment_id = ?2",
            params![meeting_id, segment_id, text, kept],
        )
        .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(Correction {
            meeting_id: meeting_id.into(),
            segment_id,
            text: text.into(),
            original_text: kept,
        })
    }

    /// The transcriber's text of each corrected segment of a meeting, by segment id.
    pub fn original_texts(&self, meeting_id: &str) -> Result<HashMap<u32, String>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<HashMap<u32, String>> {
            let mut stmt = conn.prepare_cached(
                "SELECT segment_id, original_text FROM segments WHERE meeting_id = ?1 AND original_text IS NOT NULL",
            )?;
            stmt.query_map([meeting_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        };
        run().map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Document, MeetingMetadata, NamedSegment, Transcript};

    fn store_with_meeting() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_path(&dir.path().join("m.sqlite")).expect("store");
        let segments = ["We ship on Tuesday.", "The lunch date is fixed."]
            .iter()
            .enumerate()
            .map(|(i, t)| NamedSegment {
                id: None,
                start_ms: i as u64 * 5000,
                end_ms: i as u64 * 5000 + 3000,
                channel: 0,
                speaker: Some("me".into()),
                text: (*t).into(),
                words: vec![],
            });
        let document = Document {
            metadata: MeetingMetadata {
                id: "m".into(),
                title: "Sync".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 10_000,
                ..Default::default()
            },
            transcript: Transcript::from_named(segments, Some("en".into())),
            summary: None,
            provenance: None,
        };
        let id = store.save_meeting(&document, None).expect("saved");
        (dir, store, id)
    }

    #[test]
    fn a_correction_is_searchable_at_once_and_the_old_words_are_not() {
        let (_dir, store, id) = store_with_meeting();
        store
            .correct_segment(&id, 1, "The launch date is fixed.")
            .expect("corrected");
        let hits = store.search("launch date", 5, ("[", "]")).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].start_ms, Some(5000));
        assert!(
            hits[0].snippet.contains("[launch date]"),
            "{}",
            hits[0].snippet
        );
        assert!(
            store
                .search("lunch", 5, ("[", "]"))
                .expect("search")
                .is_empty()
        );
    }

    #[test]
    fn the_document_carries_the_correction_and_the_original_is_kept() {
        let (_dir, store, id) = store_with_meeting();
        let c = store
            .correct_segment(&id, 1, "  The launch date is fixed. ")
            .expect("corrected");
        assert_eq!(c.original_text.as_deref(), Some("The lunch date is fixed."));
        // A second correction keeps the transcriber's text, not the first correction.
        store
            .correct_segment(&id, 1, "The launch day is fixed.")
            .expect("corrected again");
        let document = store.document(&id).expect("document");
        assert_eq!(
            document.transcript.segments[1].text,
            "The launch day is fixed."
        );
        assert_eq!(document.transcript.segments[0].text, "We ship on Tuesday.");
        let originals = store.original_texts(&id).expect("originals");
        assert_eq!(
            originals.get(&1).map(String::as_str),
            Some("The lunch date is fixed.")
        );
        assert_eq!(originals.len(), 1);
        // Back to the transcriber's words: nothing is recorded as corrected any more.
        let back = store
            .correct_segment(&id, 1, "The lunch date is fixed.")
            .expect("reverted");
        assert_eq!(back.original_text, None);
        assert!(store.original_texts(&id).expect("originals").is_empty());
    }

    #[test]
    fn bad_corrections_are_refused_and_change_nothing() {
        let (_dir, store, id) = store_with_meeting();
        for text in ["", "   ", "two\nlines", &"x".repeat(MAX_SEGMENT_CHARS + 1)] {
            assert!(
                matches!(
                    store.correct_segment(&id, 0, text),
                    Err(StoreError::Invalid { .. })
                ),
                "{text:?} was accepted"
            );
        }
        assert!(matches!(
            store.correct_segment(&id, 9, "text"),
            Err(StoreError::Invalid {
                what: "segment",
                ..
            })
        ));
        assert!(matches!(
            store.correct_segment("nope", 0, "text"),
            Err(StoreError::NotFound(_))
        ));
        let document = store.document(&id).expect("document");
        assert_eq!(document.transcript.segments[0].text, "We ship on Tuesday.");
    }
}
