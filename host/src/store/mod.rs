//! The meetings store: one SQLite file, `<home>/minutes.sqlite`, holding every meeting's
//! metadata, transcript, summaries (with how each was made) and the exports written from it,
//! with full-text search over transcripts and summaries.
//!
//! Every write is one transaction: a failure or a crash in the middle leaves the previous
//! state. Audio is not stored in the database; meetings refer to files by path, and minutes
//! deletes only the recordings it made itself (`AudioRef::owned`), never a user's own file.

mod actions;
mod edits;
mod retention;
mod schema;
mod search;
mod speakers;
#[cfg(test)]
mod tests;
mod voiceprints;

pub use edits::Correction;
pub use retention::{RetentionPolicy, RetentionReport};
pub use search::{HitSource, SearchHit, has_words};
pub use speakers::{MAX_SPEAKER_NAME_CHARS, SpeakerEntry, apply_names};
pub use voiceprints::{Enrollment, StoredVoiceprint, Voiceprint};

use crate::model::{
    Document, DocumentProvenance, MeetingMetadata, SUMMARY_FORMAT, Segment, Speaker, Summary,
    Transcript,
};
use crate::plugins::Home;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The store's file name inside the minutes home.
pub const FILE_NAME: &str = "minutes.sqlite";

/// Long enough to ride out another process's write, short enough to surface a stuck one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const MAX_ID_CHARS: usize = 80;

/// Where the store lives in a minutes home.
pub fn db_path(home: &Home) -> PathBuf {
    home.root().join(FILE_NAME)
}

/// A meeting's audio file. `owned`: a recording minutes made (deleted with the meeting and by
/// audio retention); otherwise the user's own file, which minutes only refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioRef {
    /// In JSON, a name that is not UTF-8 is shown with U+FFFD; the store keeps its bytes.
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub owned: bool,
}

fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A file path in an SQLite column: UTF-8 text when it is, else its bytes as a blob, so a file
/// whose name is not UTF-8 can still be found (and deleted) from what was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredPath(pub PathBuf);

impl rusqlite::ToSql for StoredPath {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        if let Some(text) = self.0.to_str() {
            return Ok(ToSqlOutput::Owned(Value::Text(text.to_string())));
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            Ok(ToSqlOutput::Owned(Value::Blob(
                self.0.as_os_str().as_bytes().to_vec(),
            )))
        }
        #[cfg(not(unix))]
        {
            Ok(ToSqlOutput::Owned(Value::Text(
                self.0.to_string_lossy().into_owned(),
            )))
        }
    }
}

impl rusqlite::types::FromSql for StoredPath {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        use rusqlite::types::ValueRef;
        match v {
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                #[cfg(unix)]
                {
                    use std::os::unix::ffi::OsStrExt;
                    Ok(StoredPath(PathBuf::from(std::ffi::OsStr::from_bytes(t))))
                }
                #[cfg(not(unix))]
                {
                    Ok(StoredPath(PathBuf::from(
                        String::from_utf8_lossy(t).into_owned(),
                    )))
                }
            }
            _ => Err(rusqlite::types::FromSqlError::InvalidType),
        }
    }
}

/// A plugin by id and version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PluginRef {
    pub id: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// How a summary was made, stored beside it so a user can tell later which template, provider
/// and model produced it and what it cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    pub template: PluginRef,
    #[serde(default)]
    pub provider: Option<PluginRef>,
    #[serde(default)]
    pub model: Option<String>,
    /// How the transcript was cut into chunks for the model (shape chosen by the summariser).
    #[serde(default)]
    pub chunk_plan: serde_json::Value,
    /// Hex SHA-256 of each prompt sent, in order.
    #[serde(default)]
    pub prompt_sha256: Vec<String>,
    #[serde(default)]
    pub usage: TokenUsage,
    /// Wall time of the whole summarisation.
    #[serde(default)]
    pub duration_ms: u64,
}

/// A summary as stored: the summary, its provenance, and when it was saved (unix ms).
#[derive(Debug, Clone, Serialize)]
pub struct StoredSummary {
    pub created_at_ms: i64,
    pub provenance: Provenance,
    pub summary: Summary,
}

/// One row of `minutes list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeetingInfo {
    pub id: String,
    pub title: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub labels: Vec<String>,
    pub language: Option<String>,
    pub audio: Option<AudioRef>,
    pub has_summary: bool,
    /// When the meeting was first stored (unix ms); retention counts from here.
    pub created_at_ms: i64,
}

/// A file an exporter wrote for a meeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRecord {
    pub plugin: String,
    pub format: String,
    pub path: PathBuf,
    pub at_ms: i64,
}

/// What `delete` removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deleted {
    pub id: String,
    pub title: String,
    /// The recording removed with the meeting (only ever one minutes made).
    pub audio_removed: Option<PathBuf>,
    /// Why an owned recording could not be removed; the meeting is gone regardless.
    pub audio_error: Option<String>,
}

/// Which meetings `list` returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub label: Option<String>,
    /// At most this many; 0 means all.
    pub limit: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create the folder for the meetings store at {path}: {source}; check its permissions"
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot open the meetings store at {path}: {source}; check that the file and its folder are writable"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the meetings store at {path} is damaged: {detail}; restore it from a backup, or move it aside and minutes starts an empty one"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "the meetings store at {path} has schema version {found}, newer than this minutes understands ({}); upgrade minutes",
        schema::VERSION
    )]
    TooNew { path: PathBuf, found: i64 },
    #[error("the meetings store at {path} stayed locked by another minutes process for {}s; retry once it finishes", BUSY_TIMEOUT.as_secs())]
    Busy { path: PathBuf },
    #[error("no meeting `{0}`; `minutes list` shows the stored meetings")]
    NotFound(String),
    #[error("`{prefix}` matches {} meetings ({}); type more of the id", candidates.len(), candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("meeting `{meeting}` has no speaker `{speaker}`; its speakers are: {}", known.join(", "))]
    NoSuchSpeaker {
        meeting: String,
        speaker: String,
        /// The meeting's speakers as shown ("Tom (was Speaker 2)").
        known: Vec<String>,
    },
    #[error("`{speaker}` names {} speakers of meeting `{meeting}` ({}); name one by its id", ids.len(), ids.join(", "))]
    AmbiguousSpeaker {
        meeting: String,
        speaker: String,
        ids: Vec<String>,
    },
    #[error(
        "a voiceprint named `{name}` exists already (enrolled from meeting `{meeting}`); add --replace to replace it, or choose another name"
    )]
    VoiceprintExists { name: String, meeting: String },
    #[error("no voiceprint named `{name}`; {}", if known.is_empty() { "nobody is enrolled".to_string() } else { format!("enrolled: {}", known.join(", ")) })]
    NoSuchVoiceprint { name: String, known: Vec<String> },
    #[error("invalid {what}: {why}")]
    Invalid { what: &'static str, why: String },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("the meetings store at {path} failed: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl StoreError {
    fn from_sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Damaged {
                path,
                detail: source.to_string(),
            },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                StoreError::Open { path, source }
            }
            _ => match source {
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..) => StoreError::Damaged {
                    path,
                    detail: source.to_string(),
                },
                source => StoreError::Sqlite { path, source },
            },
        }
    }
}

/// The meetings store. Share it with an `Arc`; calls serialise on one connection.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating or migrating as needed) the store of a minutes home.
    pub fn open(home: &Home) -> Result<Store, StoreError> {
        Store::open_path(&db_path(home))
    }

    pub fn open_path(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsperm::create_private_dir(parent).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        // Meetings are private: the file is made 0600 before SQLite opens it, and SQLite gives
        // its -wal and -shm files the same permissions. An older, readable store is mended.
        crate::fsperm::make_sqlite_private(path);
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let fail = |e| StoreError::from_sqlite(path, e);
        configure(&conn).map_err(fail)?;
        match schema::migrate(&mut conn) {
            Ok(schema::Migrated::UpToDate) => {}
            Ok(schema::Migrated::From(v)) => tracing::info!(
                "meetings store migrated from schema version {v} to {}",
                schema::VERSION
            ),
            Err(schema::MigrateError::TooNew(found)) => {
                return Err(StoreError::TooNew {
                    path: path.to_path_buf(),
                    found,
                });
            }
            Err(schema::MigrateError::Sqlite(e)) => return Err(fail(e)),
        }
        Ok(Store {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Saves a meeting's metadata and transcript and returns its id.
    ///
    /// When a stored meeting has the document's id and the same audio file, this is the same
    /// recording processed again: its transcript and metadata are replaced (labels are merged;
    /// summaries and exports are kept). Otherwise the meeting is added under the document's id,
    /// or with `-2`, `-3`, … appended when that id is taken; an empty or unusable id is derived
    /// from the start date and title. `document.summary` is not stored: use [`Store::save_summary`],
    /// which records how the summary was made.
    pub fn save_meeting(
        &self,
        document: &Document,
        audio: Option<AudioRef>,
    ) -> Result<String, StoreError> {
        let meta = &document.metadata;
        for (i, s) in document.transcript.segments.iter().enumerate() {
            if s.end_ms < s.start_ms {
                return Err(StoreError::Invalid {
                    what: "transcript",
                    why: format!(
                        "segment {i} ends ({} ms) before it starts ({} ms)",
                        s.end_ms, s.start_ms
                    ),
                });
            }
        }
        let mut ids = std::collections::HashSet::new();
        if let Some(dup) = document
            .transcript
            .segments
            .iter()
            .find(|s| !ids.insert(s.id))
        {
            return Err(StoreError::Invalid {
                what: "transcript",
                why: format!("two segments have the id {}", dup.id),
            });
        }
        let base = usable_id(&meta.id).unwrap_or_else(|| derived_id(&meta.started_at, &meta.title));
        let audio_path = audio.as_ref().map(|a| StoredPath(a.path.clone()));
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        let run = || -> rusqlite::Result<String> {
            let existing: Option<Option<StoredPath>> = tx
                .query_row(
                    "SELECT audio_path FROM meetings WHERE id = ?1",
                    [&base],
                    |r| r.get(0),
                )
                .optional()?;
            let same_recording =
                matches!((&existing, &audio_path), (Some(Some(old)), Some(new)) if old == new);
            let id = if same_recording {
                base.clone()
            } else {
                unique_id(&tx, &base)?
            };
            let language = meta
                .language
                .clone()
                .or_else(|| document.transcript.language.clone());
            let channels =
                serde_json::to_string(&meta.channel_names).unwrap_or_else(|_| "[]".into());
            if same_recording {
                tx.execute(
                    "UPDATE meetings SET title = ?2, started_at = ?3, duration_ms = ?4, audio_owned = ?5, language = ?6, \
                     channel_names = ?7 WHERE id = ?1",
                    params![id, meta.title, meta.started_at, to_sql(meta.duration_ms), audio.as_ref().is_some_and(|a| a.owned), language, channels],
                )?;
                tx.execute("DELETE FROM segments WHERE meeting_id = ?1", [&id])?;
                // Speakers are kept: a name the user gave survives processing again.
            } else {
                tx.execute(
                    "INSERT INTO meetings (id, title, started_at, duration_ms, audio_path, audio_owned, language, channel_names, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        id,
                        meta.title,
                        meta.started_at,
                        to_sql(meta.duration_ms),
                        audio_path,
                        audio.as_ref().is_some_and(|a| a.owned),
                        language,
                        channels,
                        now_ms()
                    ],
                )?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO segments (meeting_id, idx, segment_id, start_ms, end_ms, channel, speaker_id, text, words, speaker_name) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                 coalesce((SELECT name FROM speakers WHERE meeting_id = ?1 AND id = ?7), ?7, ''))",
            )?;
            for (i, s) in document.transcript.segments.iter().enumerate() {
                let words = if s.words.is_empty() {
                    "[]".to_string()
                } else {
                    serde_json::to_string(&s.words).unwrap_or_else(|_| "[]".into())
                };
                insert.execute(params![
                    id,
                    i as i64,
                    s.id,
                    to_sql(s.start_ms),
                    to_sql(s.end_ms),
                    s.channel,
                    s.speaker_id,
                    s.text,
                    words
                ])?;
            }
            save_speakers(&tx, &id, &document.transcript)?;
            let mut label = tx.prepare_cached(
                "INSERT OR IGNORE INTO labels (meeting_id, label) VALUES (?1, ?2)",
            )?;
            for l in meta
                .labels
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
            {
                label.execute(params![id, l])?;
            }
            Ok(id)
        };
        let id = run().map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(id)
    }

    /// Stores a summary of a meeting as its current one (older ones stay, with their
    /// provenance, but only the current one is searched).
    pub fn save_summary(
        &self,
        meeting_id: &str,
        summary: &Summary,
        provenance: &Provenance,
    ) -> Result<(), StoreError> {
        let chunk_plan = provenance.chunk_plan.to_string();
        let prompts =
            serde_json::to_string(&provenance.prompt_sha256).unwrap_or_else(|_| "[]".into());
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        let run = || -> Result<(), StoreError> {
            require(&tx, meeting_id)
                .map_err(|e| self.error(e))?
                .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
            // Owners that are speakers get their ids, so a later rename reaches them.
            let mut summary = summary.clone();
            // A task the user ticked off in the summary this one replaces stays ticked.
            let done = self.done_tasks(&tx, meeting_id)?;
            for item in &mut summary.action_items {
                item.done |= done.contains(&actions::task_key(&item.task));
            }
            let speakers = speakers::entries_for(&tx, meeting_id).map_err(|e| self.error(e))?;
            apply_names(&mut summary, &speakers);
            let json = serde_json::to_string(&summary).map_err(|e| StoreError::Invalid {
                what: "summary",
                why: e.to_string(),
            })?;
            let text = summary_search_text(&summary);
            tx.execute(
                "UPDATE summaries SET search_text = '' WHERE meeting_id = ?1 AND search_text != ''",
                [meeting_id],
            )
            .map_err(|e| self.error(e))?;
            tx.execute(
                "INSERT INTO summaries (meeting_id, created_at, template_id, template_version, provider_id, provider_version, \
                 model, chunk_plan, prompt_sha256, input_tokens, output_tokens, duration_ms, summary, search_text, format) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    meeting_id,
                    now_ms(),
                    provenance.template.id,
                    provenance.template.version,
                    provenance.provider.as_ref().map(|p| &p.id),
                    provenance.provider.as_ref().map(|p| &p.version),
                    provenance.model,
                    chunk_plan,
                    prompts,
                    to_sql(provenance.usage.input_tokens),
                    to_sql(provenance.usage.output_tokens),
                    to_sql(provenance.duration_ms),
                    json,
                    text,
                    SUMMARY_FORMAT
                ],
            )
            .map_err(|e| self.error(e))?;
            Ok(())
        };
        run()?;
        tx.commit().map_err(|e| self.error(e))
    }

    /// The meeting as plugins see it: metadata, transcript and current summary.
    pub fn document(&self, id: &str) -> Result<Document, StoreError> {
        let info = self.meeting(id)?;
        let conn = self.lock();
        let segments = (|| -> rusqlite::Result<Vec<Segment>> {
            let mut stmt = conn.prepare_cached(
                "SELECT segment_id, start_ms, end_ms, channel, speaker_id, text, words FROM segments \
                 WHERE meeting_id = ?1 ORDER BY idx",
            )?;
            stmt.query_map([id], |r| {
                Ok(Segment {
                    id: r.get(0)?,
                    start_ms: get_u64(r, 1)?,
                    end_ms: get_u64(r, 2)?,
                    channel: r.get(3)?,
                    speaker_id: r.get(4)?,
                    text: r.get(5)?,
                    // Word times are a nicety: unreadable ones are left out, the text stays.
                    words: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                })
            })?
            .collect()
        })()
        .map_err(|e| self.error(e))?;
        let speakers = read_speakers(&conn, id).map_err(|e| self.error(e))?;
        let (channel_names,): (String,) = conn
            .query_row(
                "SELECT channel_names FROM meetings WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?,)),
            )
            .map_err(|e| self.error(e))?;
        drop(conn);
        let stored = self.summary(id)?;
        let provenance = stored.as_ref().map(|s| DocumentProvenance {
            template: s.provenance.template.id.clone(),
            template_version: s.provenance.template.version.clone(),
            provider: s.provenance.provider.as_ref().map(|p| p.id.clone()),
            model: s.provenance.model.clone(),
            created_at: crate::time::rfc3339(s.created_at_ms.div_euclid(1000)),
        });
        Ok(Document {
            metadata: MeetingMetadata {
                id: info.id,
                title: info.title,
                started_at: info.started_at,
                duration_ms: info.duration_ms,
                labels: info.labels,
                language: info.language.clone(),
                channel_names: serde_json::from_str(&channel_names).unwrap_or_default(),
            },
            transcript: Transcript {
                segments,
                speakers,
                language: info.language,
            },
            summary: stored.map(|s| s.summary),
            provenance,
        })
    }

    /// A meeting's speakers in order of first appearance.
    pub fn speakers(&self, id: &str) -> Result<Vec<Speaker>, StoreError> {
        let conn = self.lock();
        require(&conn, id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(id.into()))?;
        read_speakers(&conn, id).map_err(|e| self.error(e))
    }

    /// One meeting's list row.
    pub fn meeting(&self, id: &str) -> Result<MeetingInfo, StoreError> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {INFO_COLUMNS} FROM meetings m WHERE m.id = ?1"),
            [id],
            read_info,
        )
        .optional()
        .map_err(|e| self.error(e))?
        .ok_or_else(|| StoreError::NotFound(id.into()))
    }

    /// The current summary of a meeting, if it has one.
    pub fn summary(&self, id: &str) -> Result<Option<StoredSummary>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT created_at, template_id, template_version, provider_id, provider_version, model, chunk_plan, \
                 prompt_sha256, input_tokens, output_tokens, duration_ms, summary, format FROM summaries WHERE meeting_id = ?1 \
                 ORDER BY id DESC LIMIT 1",
                [id],
                |r| {
                    let provider = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<String>>(4)?) {
                        (Some(id), version) => Some(PluginRef { id, version: version.unwrap_or_default() }),
                        (None, _) => None,
                    };
                    let provenance = Provenance {
                        template: PluginRef { id: r.get(1)?, version: r.get(2)? },
                        provider,
                        model: r.get(5)?,
                        chunk_plan: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                        prompt_sha256: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                        usage: TokenUsage { input_tokens: get_u64(r, 8)?, output_tokens: get_u64(r, 9)? },
                        duration_ms: get_u64(r, 10)?,
                    };
                    Ok((r.get::<_, i64>(0)?, provenance, r.get::<_, String>(11)?, r.get::<_, i64>(12)?))
                },
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((created_at_ms, provenance, json, format)) = row else {
            return Ok(None);
        };
        let speakers = speakers::entries_for(&conn, id).map_err(|e| self.error(e))?;
        drop(conn);
        if format > SUMMARY_FORMAT {
            return Err(StoreError::Damaged {
                path: self.path.clone(),
                detail: format!(
                    "the summary of meeting `{id}` was written by a newer minutes (summary format {format}, this one reads up to {SUMMARY_FORMAT}); upgrade minutes to read it"
                ),
            });
        }
        // Format 1 (the v0.1 contract's record) reads as uncited items, like a migrated one.
        let mut summary: Summary = serde_json::from_str(&json).map_err(|e| StoreError::Damaged {
            path: self.path.clone(),
            detail: format!(
                "the summary of meeting `{id}` is not readable (summary format {format}): {e}; it is kept as it was, and `minutes summarize {id}` makes a new one"
            ),
        })?;
        // Owners and labels as the meeting's speakers are named now.
        apply_names(&mut summary, &speakers);
        Ok(Some(StoredSummary {
            created_at_ms,
            provenance,
            summary,
        }))
    }

    /// Meetings, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<MeetingInfo>, StoreError> {
        let limit = if filter.limit == 0 {
            -1
        } else {
            i64::try_from(filter.limit).unwrap_or(i64::MAX)
        };
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<MeetingInfo>> {
            match &filter.label {
                Some(label) => {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT {INFO_COLUMNS} FROM meetings m WHERE EXISTS \
                         (SELECT 1 FROM labels l WHERE l.meeting_id = m.id AND l.label = ?1) \
                         ORDER BY m.started_at DESC, m.id LIMIT ?2"
                    ))?;
                    stmt.query_map(params![label, limit], read_info)?.collect()
                }
                None => {
                    let mut stmt =
                        conn.prepare_cached(&format!("SELECT {INFO_COLUMNS} FROM meetings m ORDER BY m.started_at DESC, m.id LIMIT ?1"))?;
                    stmt.query_map([limit], read_info)?.collect()
                }
            }
        };
        run().map_err(|e| self.error(e))
    }

    /// One page of meetings, newest first (optionally those with `label`), and how many
    /// there are in all.
    pub fn list_page(
        &self,
        label: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<MeetingInfo>, usize), StoreError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        let run = || -> rusqlite::Result<(Vec<MeetingInfo>, usize)> {
            // `?1 IS NULL OR ...`: one statement for both, kept in the statement cache.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {INFO_COLUMNS} FROM meetings m WHERE ?1 IS NULL OR EXISTS \
                 (SELECT 1 FROM labels l WHERE l.meeting_id = m.id AND l.label = ?1) \
                 ORDER BY m.started_at DESC, m.id LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt
                .query_map(params![label, limit, offset], read_info)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let total: i64 = conn.query_row(
                "SELECT count(*) FROM meetings m WHERE ?1 IS NULL OR EXISTS \
                 (SELECT 1 FROM labels l WHERE l.meeting_id = m.id AND l.label = ?1)",
                [label],
                |r| r.get(0),
            )?;
            Ok((rows, usize::try_from(total).unwrap_or(0)))
        };
        run().map_err(|e| self.error(e))
    }

    /// Every label in use, with how many meetings carry it, most used first.
    pub fn labels(&self) -> Result<Vec<(String, usize)>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<(String, usize)>> {
            let mut stmt = conn.prepare_cached(
                "SELECT label, count(*) AS n FROM labels GROUP BY label ORDER BY n DESC, label",
            )?;
            stmt.query_map([], |r| {
                Ok((r.get(0)?, usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0)))
            })?
            .collect()
        };
        run().map_err(|e| self.error(e))
    }

    /// The full id of the one meeting whose id is `prefix` or starts with it.
    pub fn resolve(&self, prefix: &str) -> Result<String, StoreError> {
        let prefix = prefix.trim();
        if prefix.is_empty() {
            return Err(StoreError::Invalid {
                what: "meeting id",
                why: "it is empty; `minutes list` shows the ids".into(),
            });
        }
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<String>> {
            if conn
                .query_row("SELECT 1 FROM meetings WHERE id = ?1", [prefix], |_| Ok(()))
                .optional()?
                .is_some()
            {
                return Ok(vec![prefix.to_string()]);
            }
            // A range scan on the primary key: ids in [prefix, prefix + U+10FFFF).
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM meetings WHERE id >= ?1 AND id < ?1 || char(1114111) AND substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 6",
            )?;
            stmt.query_map([prefix], |r| r.get(0))?.collect()
        };
        let found = run().map_err(|e| self.error(e))?;
        match found.len() {
            0 => Err(StoreError::NotFound(prefix.into())),
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            _ => Err(StoreError::Ambiguous {
                prefix: prefix.into(),
                candidates: found,
            }),
        }
    }

    /// Deletes a meeting with its transcript, summaries and export records, then the
    /// recording if minutes made it.
    pub fn delete(&self, id: &str) -> Result<Deleted, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.error(e))?;
        let row: Option<(String, Option<StoredPath>, bool)> = tx
            .query_row(
                "SELECT title, audio_path, audio_owned FROM meetings WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((title, audio_path, owned)) = row else {
            return Err(StoreError::NotFound(id.into()));
        };
        tx.execute("DELETE FROM meetings WHERE id = ?1", [id])
            .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        drop(conn);
        // After the commit: a crash in between leaves an orphaned file, never a meeting whose
        // recording is gone.
        let (audio_removed, audio_error) = match audio_path.filter(|_| owned) {
            Some(StoredPath(p)) => match remove_recording(&p) {
                Ok(()) => (Some(p), None),
                Err(e) => (None, Some(format!("{}: {e}", p.display()))),
            },
            None => (None, None),
        };
        Ok(Deleted {
            id: id.into(),
            title,
            audio_removed,
            audio_error,
        })
    }

    pub fn rename(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let title = title.trim();
        if title.is_empty() || title.chars().any(char::is_control) {
            return Err(StoreError::Invalid {
                what: "title",
                why: "it must be non-empty text on one line".into(),
            });
        }
        let conn = self.lock();
        let n = conn
            .execute("UPDATE meetings SET title = ?2 WHERE id = ?1", [id, title])
            .map_err(|e| self.error(e))?;
        if n == 0 {
            return Err(StoreError::NotFound(id.into()));
        }
        Ok(())
    }

    /// Adds labels; returns those that were new (labels compare case-insensitively).
    pub fn add_labels(&self, id: &str, labels: &[String]) -> Result<Vec<String>, StoreError> {
        self.change_labels(
            id,
            labels,
            "INSERT OR IGNORE INTO labels (meeting_id, label) VALUES (?1, ?2)",
        )
    }

    /// Removes labels; returns those the meeting had.
    pub fn remove_labels(&self, id: &str, labels: &[String]) -> Result<Vec<String>, StoreError> {
        self.change_labels(
            id,
            labels,
            "DELETE FROM labels WHERE meeting_id = ?1 AND label = ?2",
        )
    }

    fn change_labels(
        &self,
        id: &str,
        labels: &[String],
        sql: &str,
    ) -> Result<Vec<String>, StoreError> {
        for l in labels {
            if l.trim().is_empty() || l.chars().any(char::is_control) {
                return Err(StoreError::Invalid {
                    what: "label",
                    why: format!("{l:?} must be non-empty text on one line"),
                });
            }
        }
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.error(e))?;
        require(&tx, id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(id.into()))?;
        let mut changed = Vec::new();
        for l in labels {
            if tx.execute(sql, [id, l.trim()]).map_err(|e| self.error(e))? > 0 {
                changed.push(l.trim().to_string());
            }
        }
        tx.commit().map_err(|e| self.error(e))?;
        Ok(changed)
    }

    /// Records the files an exporter wrote for a meeting.
    pub fn record_export(
        &self,
        meeting_id: &str,
        plugin: &str,
        format: &str,
        paths: &[PathBuf],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.error(e))?;
        require(&tx, meeting_id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
        let at = now_ms();
        for p in paths {
            tx.execute(
                "INSERT INTO exports (meeting_id, plugin, format, path, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![meeting_id, plugin, format, p.to_string_lossy(), at],
            )
            .map_err(|e| self.error(e))?;
        }
        tx.commit().map_err(|e| self.error(e))
    }

    /// The files exported from a meeting, oldest first.
    pub fn exports(&self, meeting_id: &str) -> Result<Vec<ExportRecord>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<ExportRecord>> {
            let mut stmt = conn.prepare_cached(
                "SELECT plugin, format, path, at FROM exports WHERE meeting_id = ?1 ORDER BY id",
            )?;
            stmt.query_map([meeting_id], |r| {
                Ok(ExportRecord {
                    plugin: r.get(0)?,
                    format: r.get(1)?,
                    path: PathBuf::from(r.get::<_, String>(2)?),
                    at_ms: r.get(3)?,
                })
            })?
            .collect()
        };
        run().map_err(|e| self.error(e))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Statements reset and transactions roll back on drop, so a poisoned lock is safe.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, source)
    }
}

const INFO_COLUMNS: &str = "m.id, m.title, m.started_at, m.duration_ms, m.language, m.audio_path, m.audio_owned, m.created_at, \
    (SELECT group_concat(label, char(31)) FROM labels l WHERE l.meeting_id = m.id), \
    EXISTS (SELECT 1 FROM summaries s WHERE s.meeting_id = m.id)";

fn read_info(r: &Row<'_>) -> rusqlite::Result<MeetingInfo> {
    let audio = r.get::<_, Option<StoredPath>>(5)?.map(|p| AudioRef {
        path: p.0,
        owned: false,
    });
    let owned: bool = r.get(6)?;
    Ok(MeetingInfo {
        id: r.get(0)?,
        title: r.get(1)?,
        started_at: r.get(2)?,
        duration_ms: get_u64(r, 3)?,
        language: r.get(4)?,
        audio: audio.map(|a| AudioRef { owned, ..a }),
        created_at_ms: r.get(7)?,
        labels: r
            .get::<_, Option<String>>(8)?
            .map(|s| s.split('\u{1f}').map(String::from).collect())
            .unwrap_or_default(),
        has_summary: r.get(9)?,
    })
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Cascading deletes of segments, summaries, labels and exports depend on this.
    conn.pragma_update(None, "foreign_keys", true)?;
    // WAL: readers never wait for a writer. NORMAL: no fsync per commit, and still nothing is
    // lost when the process crashes (only an OS crash can drop the last commits).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "meetings store could not switch to WAL");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Writes a transcript's speakers. A speaker the meeting already has keeps the name stored (the
/// user's rename wins over a re-run; a voiceprint's name follows the new run); a segment's speaker id missing from the table is added
/// with the id as its name, so every segment's speaker can be shown.
fn save_speakers(conn: &Connection, meeting_id: &str, t: &Transcript) -> rusqlite::Result<()> {
    let mut speakers: Vec<Speaker> = t.speakers.clone();
    for s in &t.segments {
        if let Some(sid) = &s.speaker_id
            && !speakers.iter().any(|sp| &sp.id == sid)
        {
            speakers.push(Speaker {
                id: sid.clone(),
                name: sid.clone(),
                channel: s.channel,
                voice: None,
            });
        }
    }
    let next: i64 = conn.query_row(
        "SELECT coalesce(max(ord) + 1, 0) FROM speakers WHERE meeting_id = ?1",
        [meeting_id],
        |r| r.get(0),
    )?;
    // A speaker the meeting has keeps its row, except a name that is still the label or that
    // a voiceprint gave: that follows this transcript (a voiceprint forgotten since, or a match
    // that no longer holds, gives the label back). A name the user chose stays.
    let mut insert = conn.prepare_cached(
        "INSERT INTO speakers (meeting_id, id, name, channel, ord, label, voiceprint, similarity) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (meeting_id, id) DO UPDATE SET name = excluded.name, label = excluded.label, \
         voiceprint = excluded.voiceprint, similarity = excluded.similarity \
         WHERE speakers.voiceprint IS NOT NULL OR speakers.name = speakers.label",
    )?;
    for (i, s) in speakers.iter().enumerate() {
        let label = s.voice.as_ref().map_or(&s.name, |v| &v.label);
        insert.execute(params![
            meeting_id,
            s.id,
            s.name,
            s.channel,
            next + i as i64,
            label,
            s.voice.as_ref().map(|v| &v.voiceprint),
            s.voice.as_ref().map(|v| f64::from(v.similarity)),
        ])?;
    }
    Ok(())
}

fn read_speakers(conn: &Connection, meeting_id: &str) -> rusqlite::Result<Vec<Speaker>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, channel, voiceprint, similarity, label FROM speakers WHERE meeting_id = ?1 ORDER BY ord, id",
    )?;
    stmt.query_map([meeting_id], |r| {
        let voiceprint: Option<String> = r.get(3)?;
        let similarity: Option<f64> = r.get(4)?;
        Ok(Speaker {
            id: r.get(0)?,
            name: r.get(1)?,
            channel: r.get(2)?,
            voice: match (voiceprint, similarity) {
                (Some(voiceprint), Some(similarity)) => {
                    Some(crate::diarize::voiceprint::VoiceMatch {
                        voiceprint,
                        similarity: similarity as f32,
                        label: r.get(5)?,
                    })
                }
                _ => None,
            },
        })
    })?
    .collect()
}

fn require(conn: &Connection, id: &str) -> rusqlite::Result<Option<()>> {
    conn.query_row("SELECT 1 FROM meetings WHERE id = ?1", [id], |_| Ok(()))
        .optional()
}

fn unique_id(conn: &Connection, base: &str) -> rusqlite::Result<String> {
    let mut candidate = base.to_string();
    let mut n = 2;
    while require(conn, &candidate)?.is_some() {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

/// An id as given, if it is safe to use in file names and on a command line.
fn usable_id(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && !id.starts_with(['-', '.'])
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| id.to_string())
}

/// `<date>-<slug of title>`, the form `minutes process` uses.
pub fn derived_id(started_at: &str, title: &str) -> String {
    let date = started_at
        .get(..10)
        .filter(|d| d.chars().all(|c| c.is_ascii_digit() || c == '-'))
        .unwrap_or("meeting");
    let slug = slug(title);
    if slug.is_empty() {
        date.to_string()
    } else {
        format!("{date}-{slug}")
    }
}

/// Lower-case ASCII letters and digits joined by single dashes, at most 48 characters.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(48)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

/// The text search sees for a summary: its Markdown when it has one (it renders the whole
/// summary), else the structured parts.
pub(crate) fn summary_search_text(s: &Summary) -> String {
    if !s.markdown.trim().is_empty() {
        return s.markdown.clone();
    }
    let mut parts = Vec::new();
    for sec in &s.sections {
        parts.push(sec.title.clone());
        parts.push(sec.body.clone());
    }
    for a in &s.action_items {
        parts.push(
            [a.owner.as_deref(), Some(a.task.as_str()), a.due.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" — "),
        );
    }
    parts.extend(s.decisions.iter().map(|d| d.text.clone()));
    parts.extend(s.open_questions.iter().map(|q| q.text.clone()));
    parts.join("\n")
}

/// Removes a recording minutes made; only ever a regular file.
fn remove_recording(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::other("not a regular file; left in place")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(idx)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, value))
}
