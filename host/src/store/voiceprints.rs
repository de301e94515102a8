//! Voiceprints (opt-in): the embedding of each enrolled person's voice, by name. They live in
//! this store only: no document, export, plugin call or search result carries them, and
//! `forget` overwrites the row in the file (secure delete) and checkpoints the write-ahead
//! log, so the vector is gone from disk, not only from the table.

use super::{Store, StoreError, now_ms, speakers, to_sql};
use crate::diarize::voiceprint;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// An enrolled voiceprint as shown: never the vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Voiceprint {
    pub name: String,
    /// The meeting it was enrolled from, and that meeting's speaker.
    pub meeting_id: String,
    pub speaker_id: String,
    /// How much speech it was made from.
    pub speech_ms: u64,
    /// When it was enrolled (unix ms).
    pub created_at_ms: i64,
}

/// A voiceprint with its vector, for matching inside this process only (not `Serialize`).
#[derive(Debug, Clone)]
pub struct StoredVoiceprint {
    pub name: String,
    pub embedding: Vec<f32>,
    /// The embedding model's identity (`onnx::Embedder::identity`).
    pub model: String,
}

/// What `enroll_voiceprint` keeps.
pub struct Enrollment<'a> {
    pub name: &'a str,
    pub embedding: &'a [f32],
    pub model: &'a str,
    pub meeting_id: &'a str,
    pub speaker_id: &'a str,
    pub speech_ms: u64,
}

const COLUMNS: &str = "name, meeting_id, speaker_id, speech_ms, created_at";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Voiceprint> {
    Ok(Voiceprint {
        name: r.get(0)?,
        meeting_id: r.get(1)?,
        speaker_id: r.get(2)?,
        speech_ms: super::get_u64(r, 3)?,
        created_at_ms: r.get(4)?,
    })
}

impl Store {
    /// Checks a name for a voiceprint: a usable speaker name that is not a diarization label
    /// ("Speaker 2" would be mistaken for an unnamed speaker). Returns it trimmed.
    pub fn voiceprint_name(name: &str) -> Result<&str, StoreError> {
        let name = speakers::checked_name(name)?;
        if speakers::is_diarized_label(name) {
            return Err(StoreError::Invalid {
                what: "speaker name",
                why: format!("`{name}` is what diarization calls an unnamed speaker"),
            });
        }
        Ok(name)
    }

    /// The voiceprint named `name` (letter case ignored), if any.
    pub fn voiceprint(&self, name: &str) -> Result<Option<Voiceprint>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM voiceprints WHERE name = ?1"),
            [name.trim()],
            read,
        )
        .optional()
        .map_err(|e| self.error(e))
    }

    /// Keeps a voiceprint. A name enrolled already is refused unless `replace`.
    pub fn enroll_voiceprint(
        &self,
        e: &Enrollment<'_>,
        replace: bool,
    ) -> Result<Voiceprint, StoreError> {
        let name = Store::voiceprint_name(e.name)?;
        if e.embedding.is_empty() || e.embedding.iter().any(|x| !x.is_finite()) {
            return Err(StoreError::Invalid {
                what: "voiceprint",
                why: "the embedding is empty or not finite".into(),
            });
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT name, meeting_id FROM voiceprints WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        if let Some((old, meeting)) = existing {
            if !replace {
                return Err(StoreError::VoiceprintExists { name: old, meeting });
            }
            secure_delete(&tx, &old).map_err(|e| self.error(e))?;
        }
        tx.execute(
            "INSERT INTO voiceprints (name, embedding, model, meeting_id, speaker_id, speech_ms, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                name,
                voiceprint::to_bytes(e.embedding),
                e.model,
                e.meeting_id,
                e.speaker_id,
                to_sql(e.speech_ms),
                now_ms()
            ],
        )
        .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        if replace {
            checkpoint(&conn).map_err(|e| self.error(e))?;
        }
        drop(conn);
        self.voiceprint(name)?
            .ok_or_else(|| StoreError::NoSuchVoiceprint {
                name: name.into(),
                known: Vec::new(),
            })
    }

    /// Every enrolled voiceprint, by name.
    pub fn voiceprints(&self) -> Result<Vec<Voiceprint>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<Voiceprint>> {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM voiceprints ORDER BY name COLLATE NOCASE"
            ))?;
            stmt.query_map([], read)?.collect()
        };
        run().map_err(|e| self.error(e))
    }

    /// Every voiceprint with its vector, for matching a newly diarized meeting. A row whose
    /// vector is unreadable is left out (and logged): it can only be enrolled again.
    pub fn voiceprint_vectors(&self) -> Result<Vec<StoredVoiceprint>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<(String, Vec<u8>, String)>> {
            let mut stmt = conn
                .prepare_cached("SELECT name, embedding, model FROM voiceprints ORDER BY name")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        };
        let rows = run().map_err(|e| self.error(e))?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(name, bytes, model)| match voiceprint::from_bytes(&bytes) {
                    Some(embedding) => Some(StoredVoiceprint {
                        name,
                        embedding,
                        model,
                    }),
                    None => {
                        tracing::warn!(name, "voiceprint unreadable, not compared; enroll again");
                        None
                    }
                },
            )
            .collect())
    }

    /// Deletes the voiceprint named `name` (letter case ignored) from the store file. Names
    /// it already gave meetings stay (they are names, not voices; `speakers rename` changes
    /// them). Returns what was deleted.
    pub fn forget_voiceprint(&self, name: &str) -> Result<Voiceprint, StoreError> {
        let found = self.voiceprint(name)?;
        let Some(found) = found else {
            return Err(StoreError::NoSuchVoiceprint {
                name: name.trim().into(),
                known: self.voiceprints()?.into_iter().map(|v| v.name).collect(),
            });
        };
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        secure_delete(&tx, &found.name).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        checkpoint(&conn).map_err(|e| self.error(e))?;
        Ok(found)
    }
}

/// Deletes a row with SQLite's secure delete on, so its bytes are overwritten with zeros in
/// the page (not merely unlinked and left in free space).
fn secure_delete(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<()> {
    conn.pragma_update(None, "secure_delete", true)?;
    let deleted = conn.execute("DELETE FROM voiceprints WHERE name = ?1", [name]);
    conn.pragma_update(None, "secure_delete", false)?;
    deleted.map(|_| ())
}

/// Copies the write-ahead log into the file and empties it: until then the log keeps the page
/// images from before a delete, the deleted vector with them.
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diarize::voiceprint::VoiceMatch;
    use crate::model::{Document, MeetingMetadata, Segment, Speaker, Transcript};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_path(&dir.path().join("minutes.sqlite")).expect("open");
        (dir, store)
    }

    /// A vector no page of the file holds by chance: 192 distinct, odd values.
    fn embedding(seed: f32) -> Vec<f32> {
        let mut v: Vec<f32> = (0..192).map(|i| seed + (i as f32) * 0.001_37).collect();
        crate::diarize::cluster::normalise(&mut v);
        v
    }

    fn enroll(
        store: &Store,
        name: &str,
        meeting: &str,
        v: &[f32],
        replace: bool,
    ) -> Result<Voiceprint, StoreError> {
        store.enroll_voiceprint(
            &Enrollment {
                name,
                embedding: v,
                model: "sha256:test",
                meeting_id: meeting,
                speaker_id: "speaker-2",
                speech_ms: 42_000,
            },
            replace,
        )
    }

    /// The store file and its write-ahead log, as bytes.
    fn on_disk(store: &Store) -> Vec<u8> {
        let mut bytes = std::fs::read(store.path()).expect("store file");
        let mut wal = store.path().as_os_str().to_owned();
        wal.push("-wal");
        bytes.extend(std::fs::read(&wal).unwrap_or_default());
        bytes
    }

    fn holds(haystack: &[u8], v: &[f32]) -> bool {
        let needle = voiceprint::to_bytes(&v[..8]);
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn enrolled_voiceprints_are_listed_without_their_vectors_and_matched_with_them() {
        let (_dir, store) = store();
        assert!(store.voiceprints().expect("list").is_empty());
        let tom = enroll(&store, " Tom ", "standup", &embedding(0.3), false).expect("enroll");
        assert_eq!(
            (
                tom.name.as_str(),
                tom.meeting_id.as_str(),
                tom.speaker_id.as_str(),
                tom.speech_ms
            ),
            ("Tom", "standup", "speaker-2", 42_000)
        );
        enroll(&store, "Ana", "retro", &embedding(0.7), false).expect("enroll");
        let names: Vec<String> = store
            .voiceprints()
            .expect("list")
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(names, ["Ana", "Tom"]);
        let listed = serde_json::to_string(&store.voiceprints().expect("list")).expect("json");
        assert!(
            !listed.contains("embedding") && !listed.contains("0.0"),
            "{listed}"
        );
        let vectors = store.voiceprint_vectors().expect("vectors");
        let t = vectors.iter().find(|v| v.name == "Tom").expect("Tom");
        assert_eq!(t.embedding, embedding(0.3));
        assert_eq!(t.model, "sha256:test");
    }

    #[test]
    fn enrolling_a_name_twice_says_where_the_first_came_from_and_replace_replaces_it() {
        let (_dir, store) = store();
        enroll(&store, "Tom", "standup", &embedding(0.3), false).expect("enroll");
        let err = enroll(&store, "tom", "retro", &embedding(0.5), false).expect_err("exists");
        let msg = err.to_string();
        assert!(
            msg.contains("`Tom` exists") && msg.contains("standup") && msg.contains("--replace"),
            "{msg}"
        );
        assert_eq!(
            store.voiceprint_vectors().expect("v")[0].embedding,
            embedding(0.3)
        );
        let new = enroll(&store, "Tom", "retro", &embedding(0.5), true).expect("replace");
        assert_eq!(new.meeting_id, "retro");
        let vectors = store.voiceprint_vectors().expect("v");
        assert_eq!(vectors.len(), 1);
        assert_eq!(vectors[0].embedding, embedding(0.5));
        assert!(
            !holds(&on_disk(&store), &embedding(0.3)),
            "the replaced vector is gone from the file"
        );
        for bad in ["", "Speaker 2", "Tom\nfake"] {
            assert!(
                enroll(&store, bad, "m", &embedding(0.1), false).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn forget_deletes_the_vector_from_the_store_file_and_an_unknown_name_is_named() {
        let (_dir, store) = store();
        let v = embedding(0.3);
        enroll(&store, "Tom", "standup", &v, false).expect("enroll");
        enroll(&store, "Ana", "retro", &embedding(0.7), false).expect("enroll");
        assert!(
            holds(&on_disk(&store), &v),
            "the probe finds a stored vector"
        );
        let gone = store.forget_voiceprint("TOM").expect("forget");
        assert_eq!(
            (gone.name.as_str(), gone.meeting_id.as_str()),
            ("Tom", "standup")
        );
        assert!(store.voiceprint("Tom").expect("get").is_none());
        let rows: i64 = store
            .lock()
            .query_row(
                "SELECT count(*) FROM voiceprints WHERE name = 'Tom'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(rows, 0);
        assert!(
            !holds(&on_disk(&store), &v),
            "no copy of the vector is left in the file or its log"
        );
        assert!(holds(&on_disk(&store), &embedding(0.7)), "Ana's stays");
        let err = store.forget_voiceprint("Tom").expect_err("gone");
        assert!(
            err.to_string()
                .contains("no voiceprint named `Tom`; enrolled: Ana"),
            "{err}"
        );
    }

    fn document(voice: Option<VoiceMatch>, name: &str) -> Document {
        let mut tom = Speaker::diarized(2, 1);
        tom.name = name.into();
        tom.voice = voice;
        Document {
            metadata: MeetingMetadata {
                id: "standup".into(),
                title: "Standup".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 10_000,
                ..MeetingMetadata::default()
            },
            transcript: Transcript {
                segments: vec![Segment {
                    id: 0,
                    start_ms: 0,
                    end_ms: 2_000,
                    channel: 1,
                    speaker_id: Some("speaker-2".into()),
                    text: "I will send the forecast.".into(),
                    words: Vec::new(),
                }],
                speakers: vec![tom],
                language: None,
            },
            summary: None,
            provenance: None,
        }
    }

    fn matched() -> Option<VoiceMatch> {
        Some(VoiceMatch {
            voiceprint: "Tom".into(),
            similarity: 0.81,
            label: "Speaker 2".into(),
        })
    }

    #[test]
    fn a_name_a_voiceprint_gave_follows_processing_again_and_a_users_name_stays() {
        let (_dir, store) = store();
        let audio = Some(crate::store::AudioRef {
            path: "/rec/standup.wav".into(),
            owned: true,
        });
        let id = store
            .save_meeting(&document(matched(), "Tom"), audio.clone())
            .expect("save");
        let entry = store.find_speaker(&id, "speaker-2").expect("speaker");
        assert_eq!(
            (entry.name.as_str(), entry.label.as_str()),
            ("Tom", "Speaker 2")
        );
        assert_eq!(entry.voiceprint.as_deref(), Some("Tom"));
        assert!((entry.similarity.expect("similarity") - 0.81).abs() < 1e-6);
        let shown = store.document(&id).expect("document");
        assert_eq!(shown.transcript.speakers[0].voice, matched());
        assert!(store.search("Tom", 10, ("", "")).expect("search").len() == 1);
        // Processed again without the print (forgotten): the label comes back.
        store
            .save_meeting(&document(None, "Speaker 2"), audio.clone())
            .expect("again");
        let entry = store.find_speaker(&id, "speaker-2").expect("speaker");
        assert_eq!((entry.name.as_str(), entry.voiceprint), ("Speaker 2", None));
        // The user names the speaker: processing again with a match keeps the user's name.
        store
            .rename_speaker(&id, "Speaker 2", "Thomas")
            .expect("rename");
        store
            .save_meeting(&document(matched(), "Tom"), audio)
            .expect("again");
        let entry = store.find_speaker(&id, "speaker-2").expect("speaker");
        assert_eq!((entry.name.as_str(), entry.voiceprint), ("Thomas", None));
    }

    /// A store written by schema 5 (before voiceprints) opens, keeps its meetings, and takes
    /// voiceprints.
    #[test]
    fn a_schema_5_store_is_migrated_and_keeps_its_meetings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("minutes.sqlite");
        {
            let store = Store::open_path(&path).expect("open");
            store
                .save_meeting(&document(None, "Speaker 2"), None)
                .expect("save");
            store
                .rename_speaker("standup", "Speaker 2", "Tom")
                .expect("rename");
        }
        {
            // Exactly what schema 5 had: version 6's objects removed.
            let conn = rusqlite::Connection::open(&path).expect("raw");
            conn.execute_batch(
                "DROP TABLE voiceprints;
                 ALTER TABLE speakers DROP COLUMN voiceprint;
                 ALTER TABLE speakers DROP COLUMN similarity;
                 PRAGMA user_version = 5;",
            )
            .expect("back to schema 5");
        }
        let store = Store::open_path(&path).expect("the schema-5 store opens");
        assert_eq!(
            super::super::schema::user_version(&store.lock()).expect("v"),
            6
        );
        let entry = store.find_speaker("standup", "Tom").expect("kept");
        assert_eq!(
            (entry.label.as_str(), entry.voiceprint),
            ("Speaker 2", None)
        );
        assert_eq!(
            store
                .document("standup")
                .expect("doc")
                .transcript
                .segments
                .len(),
            1
        );
        enroll(&store, "Tom", "standup", &embedding(0.3), false).expect("enroll after migration");
        assert_eq!(store.voiceprints().expect("list").len(), 1);
    }
}
