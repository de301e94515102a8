//! The store's schema and its migrations. `PRAGMA user_version` holds the version; each step
//! runs in the same write transaction as the version bump, so a crash mid-migration leaves the
//! previous version intact and the next start simply runs the step again.

use rusqlite::{Connection, Transaction, params};

/// Version 1: meetings, labels, segments, summaries with provenance, exports.
pub(crate) const V1: &str = "
CREATE TABLE meetings (
    id            TEXT    PRIMARY KEY,
    title         TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,            -- RFC 3339, sorts as text
    duration_ms   INTEGER NOT NULL CHECK (duration_ms >= 0),
    audio_path    TEXT,
    audio_owned   INTEGER NOT NULL DEFAULT 0,  -- 1: a recording minutes made; 0: the user's file
    language      TEXT,
    channel_names TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL             -- unix ms when first stored; retention counts from it
);
CREATE INDEX meetings_started ON meetings (started_at DESC, id);
CREATE INDEX meetings_created ON meetings (created_at);

CREATE TABLE labels (
    meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE ON UPDATE CASCADE,
    label      TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (meeting_id, label)
) WITHOUT ROWID;
CREATE INDEX labels_label ON labels (label, meeting_id);

CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    meeting_id TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE ON UPDATE CASCADE,
    idx        INTEGER NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL CHECK (end_ms >= start_ms),
    channel    INTEGER NOT NULL,
    speaker    TEXT,
    text       TEXT    NOT NULL,
    UNIQUE (meeting_id, idx)
);

CREATE TABLE summaries (
    id               INTEGER PRIMARY KEY,
    meeting_id       TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE ON UPDATE CASCADE,
    created_at       INTEGER NOT NULL,
    template_id      TEXT    NOT NULL,
    template_version TEXT    NOT NULL,
    provider_id      TEXT,
    provider_version TEXT,
    model            TEXT,
    chunk_plan       TEXT    NOT NULL DEFAULT 'null',
    prompt_sha256    TEXT    NOT NULL DEFAULT '[]',
    input_tokens     INTEGER NOT NULL DEFAULT 0,
    output_tokens    INTEGER NOT NULL DEFAULT 0,
    duration_ms      INTEGER NOT NULL DEFAULT 0,
    summary          TEXT    NOT NULL           -- the WIT `summary` record as JSON
);
CREATE INDEX summaries_meeting ON summaries (meeting_id, id);

CREATE TABLE exports (
    id         INTEGER PRIMARY KEY,
    meeting_id TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE ON UPDATE CASCADE,
    plugin     TEXT    NOT NULL,
    format     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX exports_meeting ON exports (meeting_id, id);
";

/// Version 2: full-text search. External-content FTS5 tables (the text is stored once, in
/// `segments` and `summaries`) kept in sync by triggers, which run inside the writing
/// statement and so inside its transaction. Only a meeting's latest summary carries
/// `search_text`; older ones are kept for their provenance but are not searched.
const V2_COLUMN: &str = "ALTER TABLE summaries ADD COLUMN search_text TEXT NOT NULL DEFAULT '';";
const V2: &str = "

CREATE VIRTUAL TABLE segments_fts USING fts5(
    text, content = 'segments', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts (rowid, text) VALUES (NEW.id, NEW.text);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', OLD.id, OLD.text);
    INSERT INTO segments_fts (rowid, text) VALUES (NEW.id, NEW.text);
END;

CREATE VIRTUAL TABLE summaries_fts USING fts5(
    search_text, content = 'summaries', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER summaries_fts_insert AFTER INSERT ON summaries BEGIN
    INSERT INTO summaries_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;
CREATE TRIGGER summaries_fts_delete AFTER DELETE ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text);
END;
CREATE TRIGGER summaries_fts_update AFTER UPDATE OF search_text ON summaries BEGIN
    INSERT INTO summaries_fts (summaries_fts, rowid, search_text) VALUES ('delete', OLD.id, OLD.search_text);
    INSERT INTO summaries_fts (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;
";

/// Version 3: the host's own model instead of the v0.1 contract's types. Segments get a stable
/// id (their position when migrated), a speaker id and word times; each meeting gets a speaker
/// table (id -> name), so renaming a speaker changes one row; a summary's JSON gets its own
/// format number (`summaries.format`, see `model::SUMMARY_FORMAT`), and version-1 summaries
/// (decisions and open questions as plain strings) are rewritten as uncited items.
const V3: &str = "
CREATE TABLE speakers (
    meeting_id TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE ON UPDATE CASCADE,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    channel    INTEGER NOT NULL DEFAULT 0,
    ord        INTEGER NOT NULL,               -- order of first appearance
    PRIMARY KEY (meeting_id, id)
) WITHOUT ROWID;
ALTER TABLE segments ADD COLUMN segment_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE segments ADD COLUMN speaker_id TEXT;
ALTER TABLE segments ADD COLUMN words TEXT NOT NULL DEFAULT '[]';
ALTER TABLE summaries ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
";
/// After the rows are converted: the display name now lives in `speakers` only.
const V3_FINISH: &str = "
ALTER TABLE segments DROP COLUMN speaker;
CREATE UNIQUE INDEX segments_segment_id ON segments (meeting_id, segment_id);
";

/// Version 4: speaker names in the search index, and each speaker's original label. A renamed
/// speaker's lines are found by the new name: `segments.speaker_name` carries the name for
/// FTS5 (its external content must be columns of `segments`), and triggers on `speakers`
/// keep it in step with every rename, so the index always holds exactly what it was given
/// (FTS5 treats a 'delete' with other values as corruption). `speakers.label` keeps the name
/// the transcript gave ("Speaker 2", "others"): a rename is a per-meeting label -> name table
/// and the transcript keeps its ids.
const V4: &str = "
ALTER TABLE speakers ADD COLUMN label TEXT NOT NULL DEFAULT '';
UPDATE speakers SET label = name;
ALTER TABLE segments ADD COLUMN speaker_name TEXT NOT NULL DEFAULT '';
UPDATE segments SET speaker_name = coalesce(
    (SELECT sp.name FROM speakers sp WHERE sp.meeting_id = segments.meeting_id AND sp.id = segments.speaker_id),
    speaker_id, '');

DROP TRIGGER segments_fts_insert;
DROP TRIGGER segments_fts_delete;
DROP TRIGGER segments_fts_update;
DROP TABLE segments_fts;
CREATE VIRTUAL TABLE segments_fts USING fts5(
    text, speaker_name, content = 'segments', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts (rowid, text, speaker_name) VALUES (NEW.id, NEW.text, NEW.speaker_name);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text, speaker_name) VALUES ('delete', OLD.id, OLD.text, OLD.speaker_name);
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF text, speaker_name ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, text, speaker_name) VALUES ('delete', OLD.id, OLD.text, OLD.speaker_name);
    INSERT INTO segments_fts (rowid, text, speaker_name) VALUES (NEW.id, NEW.text, NEW.speaker_name);
END;
CREATE TRIGGER speakers_name_insert AFTER INSERT ON speakers BEGIN
    UPDATE segments SET speaker_name = NEW.name
    WHERE meeting_id = NEW.meeting_id AND speaker_id = NEW.id AND speaker_name != NEW.name;
END;
CREATE TRIGGER speakers_name_update AFTER UPDATE OF name ON speakers BEGIN
    UPDATE segments SET speaker_name = NEW.name
    WHERE meeting_id = NEW.meeting_id AND speaker_id = NEW.id AND speaker_name != NEW.name;
END;
INSERT INTO segments_fts (segments_fts) VALUES ('rebuild');
";

/// Version 5: a segment's text can be corrected by the user; `original_text` keeps what the
/// transcriber wrote (NULL while the text was never corrected). `text` stays the searched,
/// summarised and exported text, so a correction needs no other reader to change.
const V5: &str = "ALTER TABLE segments ADD COLUMN original_text TEXT;";

/// Version 6: voiceprints (opt-in, issue 18 part 4). `voiceprints` holds one embedding per
/// enrolled name, with the embedding model's identity (prints of another model are never
/// compared) and where it came from; nothing else in the store holds a voice. A speaker that a
/// voiceprint named records which (`speakers.voiceprint`, by name, not a foreign key: forgetting
/// the print keeps the names meetings already show) and how similar it was; a rename by the
/// user clears both, and only such names are replaced when the meeting is processed again.
const V6: &str = "
CREATE TABLE voiceprints (
    name       TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    embedding  BLOB    NOT NULL,               -- little-endian f32: the mean of normalised embeddings
    model      TEXT    NOT NULL,               -- sha256 of the embedding model file
    meeting_id TEXT    NOT NULL,               -- enrolled from this meeting (it may be deleted since)
    speaker_id TEXT    NOT NULL,
    speech_ms  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
ALTER TABLE speakers ADD COLUMN voiceprint TEXT;
ALTER TABLE speakers ADD COLUMN similarity REAL;
";

/// The version this code writes.
pub(crate) const VERSION: i64 = 6;

pub(crate) enum Migrated {
    UpToDate,
    From(i64),
}

/// Brings the database to [`VERSION`]. Returns the version found, or `Err(found)` wrapped by
/// the caller when the file is newer than this code.
pub(crate) fn migrate(conn: &mut Connection) -> Result<Migrated, MigrateError> {
    let found = user_version(conn)?;
    if found == VERSION {
        return Ok(Migrated::UpToDate);
    }
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    // IMMEDIATE takes the write lock first: two processes opening an old file at once cannot
    // both migrate it; the second re-reads the version inside the lock and finds nothing to do.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    if found < 1 {
        tx.execute_batch(V1)?;
    }
    if found < 2 {
        tx.execute_batch(V2_COLUMN)?;
        backfill_search(&tx)?;
        tx.execute_batch(V2)?;
        // Index what the version-1 tables hold. The triggers must not see these rows first:
        // FTS5 counts a 'delete' of a row it never indexed as corruption.
        tx.execute_batch(
            "INSERT INTO segments_fts (segments_fts) VALUES ('rebuild'); INSERT INTO summaries_fts (summaries_fts) VALUES ('rebuild');",
        )?;
    }
    if found < 3 {
        tx.execute_batch(V3)?;
        speakers_from_names(&tx)?;
        summaries_to_current(&tx)?;
        tx.execute_batch(V3_FINISH)?;
    }
    if found < 4 {
        tx.execute_batch(V4)?;
    }
    if found < 5 {
        tx.execute_batch(V5)?;
    }
    if found < 6 {
        tx.execute_batch(V6)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(if found == 0 {
        Migrated::UpToDate
    } else {
        Migrated::From(found)
    })
}

#[derive(Debug)]
pub(crate) enum MigrateError {
    TooNew(i64),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// Derives the search text of each meeting's latest summary from its JSON.
fn backfill_search(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let latest: Vec<(i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, summary FROM summaries s WHERE id = (SELECT max(id) FROM summaries WHERE meeting_id = s.meeting_id)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut update = tx.prepare("UPDATE summaries SET search_text = ?2 WHERE id = ?1")?;
    for (id, json) in latest {
        match serde_json::from_str(&json) {
            Ok(summary) => {
                update.execute(params![id, super::summary_search_text(&summary)])?;
            }
            // Unreadable JSON stays stored (and shown as an error on `show`), just unsearchable.
            Err(e) => tracing::warn!(summary = id, "summary JSON unreadable, not indexed: {e}"),
        }
    }
    Ok(())
}

/// Gives every meeting a speaker table from the display names its segments carried, and each
/// segment its id (its position) and speaker id: "me" and "others" keep those as ids.
fn speakers_from_names(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let meetings: Vec<String> = {
        let mut stmt = tx.prepare("SELECT id FROM meetings")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut segments = tx.prepare(
        "SELECT id, idx, channel, speaker FROM segments WHERE meeting_id = ?1 ORDER BY idx",
    )?;
    let mut update =
        tx.prepare("UPDATE segments SET segment_id = ?2, speaker_id = ?3 WHERE id = ?1")?;
    let mut insert = tx.prepare(
        "INSERT INTO speakers (meeting_id, id, name, channel, ord) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for meeting in meetings {
        let rows: Vec<(i64, i64, u32, Option<String>)> = segments
            .query_map([&meeting], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut speakers: Vec<crate::model::Speaker> = Vec::new();
        for (rowid, idx, channel, name) in rows {
            let speaker_id = name.map(|name| match speakers.iter().find(|s| s.name == name) {
                Some(s) => s.id.clone(),
                None => {
                    let id = crate::model::speaker_id_for(&name, &speakers);
                    speakers.push(crate::model::Speaker {
                        id: id.clone(),
                        name,
                        channel,
                        voice: None,
                    });
                    id
                }
            });
            update.execute(params![rowid, idx, speaker_id])?;
        }
        for (ord, s) in speakers.iter().enumerate() {
            insert.execute(params![meeting, s.id, s.name, s.channel, ord as i64])?;
        }
    }
    Ok(())
}

/// Rewrites format-1 summaries in the current format. One that cannot be read is left as it
/// was, format 1, so nothing is lost; showing it names the store file and the meeting.
fn summaries_to_current(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String)> = {
        let mut stmt = tx.prepare("SELECT id, summary FROM summaries WHERE format = 1")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut update = tx.prepare("UPDATE summaries SET summary = ?2, format = ?3 WHERE id = ?1")?;
    for (id, json) in rows {
        let converted = serde_json::from_str::<crate::model::Summary>(&json)
            .and_then(|s| serde_json::to_string(&s));
        match converted {
            Ok(current) => {
                update.execute(params![id, current, crate::model::SUMMARY_FORMAT])?;
            }
            Err(e) => tracing::warn!(summary = id, "summary JSON unreadable, kept as it was: {e}"),
        }
    }
    Ok(())
}

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}
