//! The egress ledger: a durable record of every outbound HTTP attempt a plugin makes, allowed
//! or denied, so a user can audit afterwards what left the machine and what was stopped.
//!
//! Storage is one SQLite file shared by every `minutes` process. Per-(plugin, origin) totals are
//! kept in a small aggregate table maintained by triggers, so the common audit question ("what
//! has this plugin sent, in total?") never scans the log, however long it grows.
//!
//! Beside the egress rows, the same file keeps the disclosure ledger: one row per tool call an
//! AI assistant made to `minutes mcp`, saying what it was given (see [`Disclosure`]).

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, Row, Statement, params, params_from_iter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Schema version stored in `PRAGMA user_version`; bump it with a migration step in `migrate`.
/// 2: `interrupted` rows (written before a request is sent), `attempts` (a burst of identical
/// denials is one row) and `bytes_refused` (what denied attempts would have sent; never counted
/// as sent).
/// 3: the `disclosures` table (what `minutes mcp` gave AI assistants).
const SCHEMA_VERSION: i64 = 3;

/// Long enough to ride out another process's write burst, short enough that a stuck process
/// turns into an error the user sees instead of a hang.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const DEFAULT_LIMIT: usize = 50;

/// Display paths stay readable in a terminal column; the hash keeps them correlatable.
const PATH_DISPLAY_CHARS: usize = 64;

const SCHEMA: &str = "
CREATE TABLE egress (
    id             INTEGER PRIMARY KEY,
    time_ms        INTEGER NOT NULL,
    plugin_id      TEXT    NOT NULL,
    plugin_version TEXT    NOT NULL,
    meeting_id     TEXT,
    method         TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    path_sha256    TEXT    NOT NULL,
    bytes_sent     INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL,
    status         INTEGER,
    duration_ms    INTEGER NOT NULL,
    outcome        TEXT    NOT NULL
        CHECK (outcome IN ('sent', 'denied', 'failed', 'interrupted')),
    reason         TEXT,
    attempts       INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    bytes_refused  INTEGER NOT NULL DEFAULT 0,
    -- A refused request sent nothing, whatever it tried to send.
    CHECK (outcome <> 'denied' OR bytes_sent = 0)
);
-- Serves `records` for one plugin (newest first) and, being covering, totals with a since filter.
CREATE INDEX egress_plugin_time
    ON egress (plugin_id, time_ms, origin, outcome, attempts, bytes_sent, bytes_received,
               bytes_refused);
CREATE INDEX egress_meeting_time ON egress (meeting_id, time_ms);
CREATE INDEX egress_time ON egress (time_ms);

CREATE TABLE egress_totals (
    plugin_id      TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    requests       INTEGER NOT NULL,
    denied         INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    interrupted    INTEGER NOT NULL,
    bytes_sent     INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL,
    bytes_refused  INTEGER NOT NULL,
    PRIMARY KEY (plugin_id, origin)
) WITHOUT ROWID;

-- Triggers run inside the writing statement, so the totals can never disagree with the log,
-- whichever process or code path (including bench_fill) wrote the row. Rows are updated when
-- a request completes and when a burst of denials grows, so updates are totalled too.
CREATE TRIGGER egress_totals_insert AFTER INSERT ON egress BEGIN
    INSERT INTO egress_totals
        (plugin_id, origin, requests, denied, failed, interrupted, bytes_sent, bytes_received,
         bytes_refused)
    VALUES (NEW.plugin_id, NEW.origin, NEW.attempts,
            (NEW.outcome = 'denied') * NEW.attempts, (NEW.outcome = 'failed') * NEW.attempts,
            (NEW.outcome = 'interrupted') * NEW.attempts,
            NEW.bytes_sent, NEW.bytes_received, NEW.bytes_refused)
    ON CONFLICT (plugin_id, origin) DO UPDATE SET
        requests = requests + excluded.requests,
        denied = denied + excluded.denied,
        failed = failed + excluded.failed,
        interrupted = interrupted + excluded.interrupted,
        bytes_sent = bytes_sent + excluded.bytes_sent,
        bytes_received = bytes_received + excluded.bytes_received,
        bytes_refused = bytes_refused + excluded.bytes_refused;
END;
-- Kept so that a future retention policy that prunes old rows cannot skew the totals.
CREATE TRIGGER egress_totals_delete AFTER DELETE ON egress BEGIN
    UPDATE egress_totals SET
        requests = requests - OLD.attempts,
        denied = denied - (OLD.outcome = 'denied') * OLD.attempts,
        failed = failed - (OLD.outcome = 'failed') * OLD.attempts,
        interrupted = interrupted - (OLD.outcome = 'interrupted') * OLD.attempts,
        bytes_sent = bytes_sent - OLD.bytes_sent,
        bytes_received = bytes_received - OLD.bytes_received,
        bytes_refused = bytes_refused - OLD.bytes_refused
    WHERE plugin_id = OLD.plugin_id AND origin = OLD.origin;
END;
-- The plugin and origin of a row never change, so an update only moves its own totals.
CREATE TRIGGER egress_totals_update AFTER UPDATE ON egress BEGIN
    UPDATE egress_totals SET
        requests = requests - OLD.attempts + NEW.attempts,
        denied = denied - (OLD.outcome = 'denied') * OLD.attempts
            + (NEW.outcome = 'denied') * NEW.attempts,
        failed = failed - (OLD.outcome = 'failed') * OLD.attempts
            + (NEW.outcome = 'failed') * NEW.attempts,
        interrupted = interrupted - (OLD.outcome = 'interrupted') * OLD.attempts
            + (NEW.outcome = 'interrupted') * NEW.attempts,
        bytes_sent = bytes_sent - OLD.bytes_sent + NEW.bytes_sent,
        bytes_received = bytes_received - OLD.bytes_received + NEW.bytes_received,
        bytes_refused = bytes_refused - OLD.bytes_refused + NEW.bytes_refused
    WHERE plugin_id = OLD.plugin_id AND origin = OLD.origin;
END;
";

/// Version 3: one row per MCP tool call, whatever it returned or refused. `meeting_ids` is a
/// JSON array of the meetings whose data the answer carried.
const DISCLOSURES_SCHEMA: &str = "
CREATE TABLE disclosures (
    id             INTEGER PRIMARY KEY,
    time_ms        INTEGER NOT NULL,
    client         TEXT    NOT NULL,
    tool           TEXT    NOT NULL,
    arguments      TEXT    NOT NULL,
    meeting_ids    TEXT    NOT NULL,
    bytes_returned INTEGER NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('returned', 'refused')),
    reason         TEXT,
    -- A refused call gave nothing away.
    CHECK (outcome <> 'refused' OR meeting_ids = '[]')
);
CREATE INDEX disclosures_time ON disclosures (time_ms);
";

/// From version 1: the log is copied into the new table (the totals are rebuilt by its insert
/// trigger), and the bytes that version 1 counted as sent for denied requests become refused.
const MIGRATE_FROM_V1: &str = "
DROP TRIGGER egress_totals_insert;
DROP TRIGGER egress_totals_delete;
DROP INDEX egress_plugin_time;
DROP INDEX egress_meeting_time;
DROP INDEX egress_time;
DROP TABLE egress_totals;
ALTER TABLE egress RENAME TO egress_v1;
";

const COPY_FROM_V1: &str = "
INSERT INTO egress (id, time_ms, plugin_id, plugin_version, meeting_id, method, origin, path,
    path_sha256, bytes_sent, bytes_received, status, duration_ms, outcome, reason, attempts,
    bytes_refused)
SELECT id, time_ms, plugin_id, plugin_version, meeting_id, method, origin, path, path_sha256,
    CASE WHEN outcome = 'denied' THEN 0 ELSE bytes_sent END, bytes_received, status,
    duration_ms, outcome, reason, 1,
    CASE WHEN outcome = 'denied' THEN bytes_sent ELSE 0 END
FROM egress_v1;
DROP TABLE egress_v1;
";

const INSERT_SQL: &str = "INSERT INTO egress (time_ms, plugin_id, plugin_version, meeting_id, \
    method, origin, path, path_sha256, bytes_sent, bytes_received, status, duration_ms, outcome, \
    reason, attempts, bytes_refused) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const UPDATE_SQL: &str = "UPDATE egress SET bytes_sent = ?2, bytes_received = ?3, status = ?4, \
    duration_ms = ?5, outcome = ?6, reason = ?7, attempts = ?8, bytes_refused = ?9 WHERE id = ?1";

const RECORD_COLUMNS: &str = "id, time_ms, plugin_id, plugin_version, meeting_id, method, origin, \
    path, path_sha256, bytes_sent, bytes_received, status, duration_ms, outcome, reason, attempts, \
    bytes_refused";

/// What became of one outbound attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A response came back, whatever its status.
    Sent,
    /// The egress policy refused the request; nothing left the machine.
    Denied,
    /// Allowed, but it failed: name resolution, network error, timeout or a response that was
    /// too large.
    Failed,
    /// Written before the request was sent and never completed: the run ended first (the
    /// call's deadline, Ctrl-C, kill -9, a crash), or the request is still running.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        match text {
            "sent" => Some(Outcome::Sent),
            "denied" => Some(Outcome::Denied),
            "failed" => Some(Outcome::Failed),
            "interrupted" => Some(Outcome::Interrupted),
            _ => None,
        }
    }
}

/// One outbound HTTP attempt by a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EgressRecord {
    /// Row id; `None` before insert, and ignored by [`EgressLedger::record`].
    pub id: Option<i64>,
    /// Unix epoch milliseconds.
    pub time_ms: i64,
    pub plugin_id: String,
    pub plugin_version: String,
    pub meeting_id: Option<String>,
    pub method: String,
    /// Scheme, host and port only, e.g. "https://api.fireworks.ai".
    pub origin: String,
    /// At most 64 characters of the path without its query string, ending in "…" when cut.
    pub path: String,
    /// Hex SHA-256 of the full path and query, so identical requests can be correlated without
    /// storing secrets that plugins put in query strings.
    pub path_sha256: String,
    /// What went on the wire: request line (with the query), headers and body. Always 0 for
    /// denied attempts, which sent nothing.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// Why the attempt was denied, failed or interrupted.
    pub reason: Option<String>,
    /// How many attempts the row stands for: more than 1 for a burst of identical denials
    /// (same plugin, origin and reason), which is kept as one row with a count.
    #[serde(default = "one")]
    pub attempts: u64,
    /// What the denied attempts would have sent (request line, headers, body). Never sent.
    #[serde(default)]
    pub bytes_refused: u64,
}

fn one() -> u64 {
    1
}

impl EgressRecord {
    /// Fills `path` and `path_sha256` from a full path-and-query such as
    /// "/v1/chat/completions?key=abc".
    pub fn with_path(mut self, path_and_query: &str) -> Self {
        self.path = display_path(path_and_query);
        self.path_sha256 = sha256_hex(path_and_query);
        self
    }
}

fn display_path(path_and_query: &str) -> String {
    // A fragment never goes on the wire, but cut it too in case a caller passes a whole URL tail.
    let end = path_and_query
        .find(['?', '#'])
        .unwrap_or(path_and_query.len());
    let path = &path_and_query[..end];
    if path.chars().count() <= PATH_DISPLAY_CHARS {
        return path.to_owned();
    }
    let mut cut: String = path.chars().take(PATH_DISPLAY_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Which rows an audit looks at. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub plugin_id: Option<String>,
    pub meeting_id: Option<String>,
    /// Only attempts at or after this time (unix epoch milliseconds).
    pub since_ms: Option<i64>,
    /// Maximum rows returned by [`EgressLedger::records`]; 0 means 50.
    pub limit: usize,
}

impl AuditFilter {
    /// The aggregate table only knows whole-history totals per plugin and origin.
    fn fits_aggregate(&self) -> bool {
        self.meeting_id.is_none() && self.since_ms.is_none()
    }

    /// A `WHERE` clause (possibly empty) and its parameters.
    fn where_clause(&self) -> (String, Vec<Value>) {
        let mut terms = Vec::new();
        let mut values = Vec::new();
        if let Some(plugin) = &self.plugin_id {
            terms.push("plugin_id = ?");
            values.push(Value::Text(plugin.clone()));
        }
        if let Some(meeting) = &self.meeting_id {
            terms.push("meeting_id = ?");
            values.push(Value::Text(meeting.clone()));
        }
        if let Some(since) = self.since_ms {
            terms.push("time_ms >= ?");
            values.push(Value::Integer(since));
        }
        if terms.is_empty() {
            return (String::new(), values);
        }
        (format!(" WHERE {}", terms.join(" AND ")), values)
    }

    fn effective_limit(&self) -> i64 {
        let limit = if self.limit == 0 {
            DEFAULT_LIMIT
        } else {
            self.limit
        };
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

/// What one plugin exchanged with one origin. `requests` counts every attempt, including the
/// denied, failed and interrupted ones; `bytes_sent` only what left the machine, and
/// `bytes_refused` what denied attempts would have sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub plugin_id: String,
    pub origin: String,
    pub requests: u64,
    pub denied: u64,
    pub failed: u64,
    pub interrupted: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub bytes_refused: u64,
}

/// Whether an MCP tool call gave the assistant an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisclosureOutcome {
    /// An answer went back to the assistant.
    Returned,
    /// The call was refused (unknown meeting, bad arguments, transcripts not exposed, …); the
    /// answer carried no meeting data.
    Refused,
}

impl DisclosureOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DisclosureOutcome::Returned => "returned",
            DisclosureOutcome::Refused => "refused",
        }
    }
}

/// One tool call an AI assistant made to `minutes mcp`: who asked, for what, and what it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Row id; `None` before insert.
    pub id: Option<i64>,
    /// Unix epoch milliseconds.
    pub time_ms: i64,
    /// The client's name and version from the MCP handshake, e.g. "claude-ai 0.1.0", as the
    /// client gave it (clients name themselves: this is what it said, not proof).
    pub client: String,
    pub tool: String,
    /// The call's arguments as JSON, cut to a few hundred characters.
    pub arguments: String,
    /// Every meeting whose data the answer carried, in answer order.
    pub meeting_ids: Vec<String>,
    /// Size of the answer as sent (the JSON-RPC result), 0 when refused.
    pub bytes_returned: u64,
    pub outcome: DisclosureOutcome,
    /// Why a call was refused.
    pub reason: Option<String>,
}

/// Longest `arguments` (and `reason`) kept: enough to see the query, not a way to fill the disk.
const DISCLOSURE_ARGUMENTS_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "cannot create the folder for the egress ledger at {path}: {source}; check its permissions"
    )]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot open the egress ledger at {path}: {source}; check that the file and its folder are writable"
    )]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the egress ledger at {path} is damaged: {detail}; move it aside and minutes starts a new one"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "the egress ledger at {path} has schema version {found}, newer than this minutes understands \
         ({SCHEMA_VERSION}); upgrade minutes, or move the file aside to start a new ledger"
    )]
    TooNew { path: PathBuf, found: i64 },
    #[error(
        "the egress ledger at {path} stayed locked by another minutes process for {}s; \
         retry once it finishes, or stop it",
        BUSY_TIMEOUT.as_secs()
    )]
    Busy { path: PathBuf },
    #[error(
        "the egress ledger at {path} failed: {source}; if this persists, move the file aside and minutes starts a new one"
    )]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl LedgerError {
    /// Sorts SQLite failures into the cases a user can act on differently.
    fn from_sqlite(path: &Path, source: rusqlite::Error) -> LedgerError {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => LedgerError::Damaged {
                path,
                detail: source.to_string(),
            },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Busy { path },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                LedgerError::Open { path, source }
            }
            _ => match source {
                // A value of the wrong type means someone else wrote into the file.
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..) => LedgerError::Damaged {
                    path,
                    detail: source.to_string(),
                },
                source => LedgerError::Sqlite { path, source },
            },
        }
    }
}

/// The durable log of plugin egress. Cheap to share: put it in an `Arc`; writers serialise on
/// one connection, which is what SQLite would do anyway.
pub struct EgressLedger {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for EgressLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EgressLedger {
    /// Opens the ledger at `path`, creating the file, its folder and the schema as needed.
    pub fn open(path: &Path) -> Result<EgressLedger, LedgerError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsperm::create_private_dir(parent).map_err(|source| LedgerError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        // Private like the meetings it describes (SQLite copies the mode to -wal and -shm).
        crate::fsperm::make_sqlite_private(path);
        let mut conn = Connection::open(path).map_err(|source| LedgerError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        configure(&conn).map_err(|e| LedgerError::from_sqlite(path, e))?;
        migrate(&mut conn, path)?;
        Ok(EgressLedger {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one attempt and returns its row id. `rec.id` is ignored. A denied attempt's
    /// `bytes_sent` is stored as refused: nothing was sent.
    pub fn record(&self, rec: &EgressRecord) -> Result<i64, LedgerError> {
        let conn = self.lock();
        insert(&conn, rec).map_err(|e| self.error(e))
    }

    /// Rewrites what row `id` says happened (its outcome, sizes, status, time taken, reason,
    /// attempts): a request completing, or a burst of denials growing. Fails when no such
    /// row exists.
    pub fn update(&self, id: i64, rec: &EgressRecord) -> Result<(), LedgerError> {
        let conn = self.lock();
        let rec = rec.stored();
        let changed = conn
            .prepare_cached(UPDATE_SQL)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id,
                    to_sql_u64(rec.bytes_sent),
                    to_sql_u64(rec.bytes_received),
                    rec.status,
                    to_sql_u64(rec.duration_ms),
                    rec.outcome.as_str(),
                    rec.reason,
                    to_sql_u64(rec.attempts.max(1)),
                    to_sql_u64(rec.bytes_refused),
                ])
            })
            .map_err(|e| self.error(e))?;
        if changed == 0 {
            return Err(self.error(rusqlite::Error::QueryReturnedNoRows));
        }
        Ok(())
    }

    /// Matching attempts, newest first, at most `filter.limit` of them.
    pub fn records(&self, filter: &AuditFilter) -> Result<Vec<EgressRecord>, LedgerError> {
        let (clause, mut values) = filter.where_clause();
        values.push(Value::Integer(filter.effective_limit()));
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM egress{clause} ORDER BY time_ms DESC, id DESC LIMIT ?"
        );
        let conn = self.lock();
        query_all(&conn, &sql, values, read_record).map_err(|e| self.error(e))
    }

    /// Totals per plugin and origin over the matching attempts; `filter.limit` does not apply.
    pub fn totals(&self, filter: &AuditFilter) -> Result<Vec<Totals>, LedgerError> {
        let (sql, values) = if filter.fits_aggregate() {
            aggregate_totals_sql(filter)
        } else {
            scanned_totals_sql(filter)
        };
        let conn = self.lock();
        query_all(&conn, &sql, values, read_totals).map_err(|e| self.error(e))
    }

    /// How many attempts match, ignoring `filter.limit`.
    pub fn count(&self, filter: &AuditFilter) -> Result<u64, LedgerError> {
        let (sql, values) = if filter.fits_aggregate() {
            let (clause, values) = filter.where_clause();
            (
                format!("SELECT COALESCE(SUM(requests), 0) FROM egress_totals{clause}"),
                values,
            )
        } else {
            let (clause, values) = filter.where_clause();
            (
                format!("SELECT COALESCE(SUM(attempts), 0) FROM egress{clause}"),
                values,
            )
        };
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.error(e))?;
        stmt.query_row(params_from_iter(values), |row| get_u64(row, 0))
            .map_err(|e| self.error(e))
    }

    /// Appends one MCP tool call and returns its row id. `rec.id` is ignored.
    pub fn record_disclosure(&self, rec: &Disclosure) -> Result<i64, LedgerError> {
        let cut = |text: &str| -> String {
            if text.chars().count() <= DISCLOSURE_ARGUMENTS_CHARS {
                return text.to_owned();
            }
            let mut cut: String = text.chars().take(DISCLOSURE_ARGUMENTS_CHARS - 1).collect();
            cut.push('…');
            cut
        };
        let arguments = cut(&rec.arguments);
        let reason = rec.reason.as_deref().map(cut);
        let ids = serde_json::to_string(&rec.meeting_ids).unwrap_or_else(|_| "[]".into());
        let conn = self.lock();
        conn.prepare_cached(
            "INSERT INTO disclosures (time_ms, client, tool, arguments, meeting_ids, \
             bytes_returned, outcome, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut stmt| {
            stmt.insert(params![
                rec.time_ms,
                rec.client,
                rec.tool,
                arguments,
                ids,
                to_sql_u64(rec.bytes_returned),
                rec.outcome.as_str(),
                reason,
            ])
        })
        .map_err(|e| self.error(e))
    }

    /// MCP tool calls, newest first, at most `filter.limit` of them. `filter.meeting_id` keeps
    /// the calls whose answer carried that meeting; `filter.plugin_id` does not apply.
    pub fn disclosures(&self, filter: &AuditFilter) -> Result<Vec<Disclosure>, LedgerError> {
        let mut terms = Vec::new();
        let mut values = Vec::new();
        if let Some(meeting) = &filter.meeting_id {
            terms.push("EXISTS (SELECT 1 FROM json_each(meeting_ids) WHERE value = ?)");
            values.push(Value::Text(meeting.clone()));
        }
        if let Some(since) = filter.since_ms {
            terms.push("time_ms >= ?");
            values.push(Value::Integer(since));
        }
        let clause = match terms.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", terms.join(" AND ")),
        };
        values.push(Value::Integer(filter.effective_limit()));
        let sql = format!(
            "SELECT id, time_ms, client, tool, arguments, meeting_ids, bytes_returned, outcome, \
             reason FROM disclosures{clause} ORDER BY time_ms DESC, id DESC LIMIT ?"
        );
        let conn = self.lock();
        query_all(&conn, &sql, values, read_disclosure).map_err(|e| self.error(e))
    }

    /// For benchmarks only: appends `rows` synthetic attempts spread over `plugins` plugin ids
    /// ("bench-plugin-0", …) in one transaction, so a large ledger can be built in seconds.
    pub fn bench_fill(&self, rows: usize, plugins: usize) -> Result<(), LedgerError> {
        let mut conn = self.lock();
        fill_synthetic(&mut conn, rows, plugins.max(1)).map_err(|e| self.error(e))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere cannot leave the connection mid-statement (statements reset and
        // transactions roll back on drop), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn error(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::from_sqlite(&self.path, source)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Set first so that the journal switch below also waits for other processes.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets audits read while plugins write; NORMAL skips the fsync per commit yet loses
    // nothing if the process crashes (only an OS crash can drop the last commits).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            mode,
            "egress ledger could not switch to WAL; concurrent access will be slower"
        );
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let fail = |e| LedgerError::from_sqlite(path, e);
    let version = user_version(conn).map_err(fail)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
            path: path.to_path_buf(),
            found: version,
        });
    }
    // IMMEDIATE takes the write lock up front, so two processes opening a fresh file at once
    // cannot both create the schema; the loser re-reads the version inside the lock.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(fail)?;
    let version = user_version(&tx).map_err(fail)?;
    if version == 0 {
        tx.execute_batch(SCHEMA).map_err(fail)?;
        tx.execute_batch(DISCLOSURES_SCHEMA).map_err(fail)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
    } else if version == 1 {
        // One transaction: a crash half-way leaves the version-1 file as it was.
        tx.execute_batch(MIGRATE_FROM_V1).map_err(fail)?;
        tx.execute_batch(SCHEMA).map_err(fail)?;
        tx.execute_batch(COPY_FROM_V1).map_err(fail)?;
        tx.execute_batch(DISCLOSURES_SCHEMA).map_err(fail)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
    } else if version == 2 {
        tx.execute_batch(DISCLOSURES_SCHEMA).map_err(fail)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
    } else if version > SCHEMA_VERSION {
        return Err(LedgerError::TooNew {
            path: path.to_path_buf(),
            found: version,
        });
    }
    tx.commit().map_err(fail)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Byte counts beyond i64::MAX cannot happen in practice; saturating keeps the attempt on
/// record rather than refusing to log it.
fn to_sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn insert(conn: &Connection, rec: &EgressRecord) -> rusqlite::Result<i64> {
    let mut stmt = conn.prepare_cached(INSERT_SQL)?;
    insert_with(&mut stmt, rec)
}

impl EgressRecord {
    /// The row as stored: denied attempts sent nothing, so what they carried is refused bytes.
    fn stored(&self) -> std::borrow::Cow<'_, EgressRecord> {
        if self.outcome == Outcome::Denied && self.bytes_sent > 0 {
            let mut rec = self.clone();
            rec.bytes_refused = rec.bytes_refused.saturating_add(rec.bytes_sent);
            rec.bytes_sent = 0;
            return std::borrow::Cow::Owned(rec);
        }
        std::borrow::Cow::Borrowed(self)
    }
}

fn insert_with(stmt: &mut Statement<'_>, rec: &EgressRecord) -> rusqlite::Result<i64> {
    let rec = rec.stored();
    stmt.insert(params![
        rec.time_ms,
        rec.plugin_id,
        rec.plugin_version,
        rec.meeting_id,
        rec.method,
        rec.origin,
        rec.path,
        rec.path_sha256,
        to_sql_u64(rec.bytes_sent),
        to_sql_u64(rec.bytes_received),
        rec.status,
        to_sql_u64(rec.duration_ms),
        rec.outcome.as_str(),
        rec.reason,
        to_sql_u64(rec.attempts.max(1)),
        to_sql_u64(rec.bytes_refused),
    ])
}

fn query_all<T>(
    conn: &Connection,
    sql: &str,
    values: Vec<Value>,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(values), read)?;
    rows.collect()
}

/// SQLite integers are signed; a negative count can only come from outside tampering.
fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(idx)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, value))
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<EgressRecord> {
    let outcome_text: String = row.get(13)?;
    let outcome = Outcome::parse(&outcome_text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            13,
            rusqlite::types::Type::Text,
            format!("unknown outcome {outcome_text:?}").into(),
        )
    })?;
    Ok(EgressRecord {
        id: Some(row.get(0)?),
        time_ms: row.get(1)?,
        plugin_id: row.get(2)?,
        plugin_version: row.get(3)?,
        meeting_id: row.get(4)?,
        method: row.get(5)?,
        origin: row.get(6)?,
        path: row.get(7)?,
        path_sha256: row.get(8)?,
        bytes_sent: get_u64(row, 9)?,
        bytes_received: get_u64(row, 10)?,
        status: row.get(11)?,
        duration_ms: get_u64(row, 12)?,
        outcome,
        reason: row.get(14)?,
        attempts: get_u64(row, 15)?,
        bytes_refused: get_u64(row, 16)?,
    })
}

fn read_disclosure(row: &Row<'_>) -> rusqlite::Result<Disclosure> {
    let damaged = |idx: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, what.into())
    };
    let ids: String = row.get(5)?;
    let meeting_ids =
        serde_json::from_str(&ids).map_err(|e| damaged(5, format!("meeting ids {ids:?}: {e}")))?;
    let outcome: String = row.get(7)?;
    let outcome = match outcome.as_str() {
        "returned" => DisclosureOutcome::Returned,
        "refused" => DisclosureOutcome::Refused,
        _ => return Err(damaged(7, format!("unknown outcome {outcome:?}"))),
    };
    Ok(Disclosure {
        id: Some(row.get(0)?),
        time_ms: row.get(1)?,
        client: row.get(2)?,
        tool: row.get(3)?,
        arguments: row.get(4)?,
        meeting_ids,
        bytes_returned: get_u64(row, 6)?,
        outcome,
        reason: row.get(8)?,
    })
}

fn read_totals(row: &Row<'_>) -> rusqlite::Result<Totals> {
    Ok(Totals {
        plugin_id: row.get(0)?,
        origin: row.get(1)?,
        requests: get_u64(row, 2)?,
        denied: get_u64(row, 3)?,
        failed: get_u64(row, 4)?,
        interrupted: get_u64(row, 5)?,
        bytes_sent: get_u64(row, 6)?,
        bytes_received: get_u64(row, 7)?,
        bytes_refused: get_u64(row, 8)?,
    })
}

fn aggregate_totals_sql(filter: &AuditFilter) -> (String, Vec<Value>) {
    let (clause, values) = filter.where_clause();
    // Rows drop to zero requests only after deletions; they are history, not current totals.
    let live = if clause.is_empty() {
        " WHERE requests > 0"
    } else {
        " AND requests > 0"
    };
    let sql = format!(
        "SELECT plugin_id, origin, requests, denied, failed, interrupted, bytes_sent, \
         bytes_received, bytes_refused FROM egress_totals{clause}{live} ORDER BY plugin_id, origin"
    );
    (sql, values)
}

fn scanned_totals_sql(filter: &AuditFilter) -> (String, Vec<Value>) {
    let (clause, values) = filter.where_clause();
    let sql = format!(
        "SELECT plugin_id, origin, SUM(attempts), SUM((outcome = 'denied') * attempts), \
         SUM((outcome = 'failed') * attempts), SUM((outcome = 'interrupted') * attempts), \
         SUM(bytes_sent), SUM(bytes_received), SUM(bytes_refused) \
         FROM egress{clause} GROUP BY plugin_id, origin ORDER BY plugin_id, origin"
    );
    (sql, values)
}

const BENCH_ORIGINS: [&str; 4] = [
    "https://api.fireworks.ai",
    "https://api.openai.com",
    "https://hooks.slack.com",
    "https://example.org",
];

fn fill_synthetic(conn: &mut Connection, rows: usize, plugins: usize) -> rusqlite::Result<()> {
    let plugin_ids: Vec<String> = (0..plugins).map(|p| format!("bench-plugin-{p}")).collect();
    let template = EgressRecord {
        id: None,
        time_ms: 1_700_000_000_000,
        plugin_id: String::new(),
        plugin_version: "1.0.0".to_owned(),
        meeting_id: None,
        method: "POST".to_owned(),
        origin: String::new(),
        path: String::new(),
        path_sha256: String::new(),
        bytes_sent: 0,
        bytes_received: 0,
        status: None,
        duration_ms: 0,
        outcome: Outcome::Sent,
        reason: None,
        attempts: 1,
        bytes_refused: 0,
    }
    .with_path("/v1/chat/completions?api_key=synthetic");
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(INSERT_SQL)?;
        for i in 0..rows {
            insert_with(&mut stmt, &synthetic_record(i, &template, &plugin_ids))?;
        }
    }
    tx.commit()
}

/// A deterministic mix: most attempts sent, every 10th denied, every 25th (not 10th) failed.
fn synthetic_record(i: usize, template: &EgressRecord, plugin_ids: &[String]) -> EgressRecord {
    let n = u64::try_from(i).unwrap_or(u64::MAX);
    let outcome = if i.is_multiple_of(10) {
        Outcome::Denied
    } else if i.is_multiple_of(25) {
        Outcome::Failed
    } else {
        Outcome::Sent
    };
    let sent = outcome == Outcome::Sent;
    EgressRecord {
        time_ms: template
            .time_ms
            .saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
        plugin_id: plugin_ids[i % plugin_ids.len()].clone(),
        meeting_id: Some(format!("meeting-{}", i / 1000)),
        origin: BENCH_ORIGINS[(i / plugin_ids.len()) % BENCH_ORIGINS.len()].to_owned(),
        bytes_sent: if outcome == Outcome::Denied {
            0
        } else {
            500 + n % 1000
        },
        bytes_received: if sent { 2000 + n % 5000 } else { 0 },
        status: sent.then_some(200),
        duration_ms: 100 + n % 900,
        outcome,
        reason: (!sent).then(|| "synthetic".to_owned()),
        ..template.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn open_temp() -> (tempfile::TempDir, EgressLedger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = EgressLedger::open(&dir.path().join("state").join("egress.sqlite")).unwrap();
        (dir, ledger)
    }

    fn sample(time_ms: i64, plugin: &str, meeting: Option<&str>, outcome: Outcome) -> EgressRecord {
        EgressRecord {
            id: None,
            time_ms,
            plugin_id: plugin.to_owned(),
            plugin_version: "0.3.1".to_owned(),
            meeting_id: meeting.map(str::to_owned),
            method: "POST".to_owned(),
            origin: "https://api.fireworks.ai".to_owned(),
            path: String::new(),
            path_sha256: String::new(),
            bytes_sent: 1200,
            bytes_received: if outcome == Outcome::Sent { 3400 } else { 0 },
            status: (outcome == Outcome::Sent).then_some(200),
            duration_ms: 250,
            outcome,
            reason: match outcome {
                Outcome::Sent => None,
                Outcome::Denied => Some("origin not in the plugin's allow list".to_owned()),
                Outcome::Failed => Some("timed out after 30 s".to_owned()),
                Outcome::Interrupted => Some("cut short".to_owned()),
            },
            attempts: 1,
            bytes_refused: 0,
        }
        .with_path("/v1/chat/completions?key=abc")
    }

    fn filter(plugin: Option<&str>, meeting: Option<&str>, since_ms: Option<i64>) -> AuditFilter {
        AuditFilter {
            plugin_id: plugin.map(str::to_owned),
            meeting_id: meeting.map(str::to_owned),
            since_ms,
            limit: 0,
        }
    }

    #[test]
    fn record_round_trips() {
        let (_dir, ledger) = open_temp();
        let rec = sample(1_000, "summarise", Some("m1"), Outcome::Sent);
        let id = ledger.record(&rec).unwrap();
        let back = ledger.records(&AuditFilter::default()).unwrap();
        assert_eq!(
            back,
            vec![EgressRecord {
                id: Some(id),
                ..rec
            }]
        );
        let denied = sample(1_001, "summarise", None, Outcome::Denied);
        let id = ledger.record(&denied).unwrap();
        assert_eq!(
            ledger.records(&AuditFilter::default()).unwrap()[0],
            EgressRecord {
                id: Some(id),
                bytes_sent: 0,
                bytes_refused: denied.bytes_sent,
                ..denied
            }
        );
    }

    /// Issue 16.2: a refused request was shown as "2781 bytes sent". Whatever a caller
    /// passes, a denied row sends nothing, and the totals say what was refused instead.
    #[test]
    fn denied_attempts_are_never_counted_as_sent() {
        let (_dir, ledger) = open_temp();
        let denied = EgressRecord {
            bytes_sent: 2781,
            ..sample(1, "fireworks", None, Outcome::Denied)
        };
        ledger.record(&denied).unwrap();
        let row = &ledger.records(&AuditFilter::default()).unwrap()[0];
        assert_eq!((row.bytes_sent, row.bytes_refused), (0, 2781));
        let totals = &ledger.totals(&AuditFilter::default()).unwrap()[0];
        assert_eq!((totals.bytes_sent, totals.bytes_refused), (0, 2781));
        let scanned = &ledger.totals(&filter(None, None, Some(i64::MIN))).unwrap()[0];
        assert_eq!((scanned.bytes_sent, scanned.bytes_refused), (0, 2781));
        // Even written straight into the file, a denied row cannot claim sent bytes.
        let conn = ledger.lock();
        let forged = conn.execute(
            "UPDATE egress SET bytes_sent = 5 WHERE outcome = 'denied'",
            [],
        );
        assert!(forged.is_err(), "a denied row accepted sent bytes");
    }

    /// A row is written before the request is sent (as interrupted) and completed after; a
    /// burst of denials grows one row. The totals follow every update.
    #[test]
    fn rows_complete_and_bursts_grow_in_place() {
        let (_dir, ledger) = open_temp();
        let pending = EgressRecord {
            bytes_received: 0,
            status: None,
            reason: Some("not finished".into()),
            ..sample(1, "p", None, Outcome::Interrupted)
        };
        let id = ledger.record(&pending).unwrap();
        let t = &ledger.totals(&AuditFilter::default()).unwrap()[0];
        assert_eq!((t.requests, t.interrupted, t.bytes_received), (1, 1, 0));
        let done = EgressRecord {
            bytes_received: 3400,
            status: Some(200),
            outcome: Outcome::Sent,
            reason: None,
            ..pending.clone()
        };
        ledger.update(id, &done).unwrap();
        let t = &ledger.totals(&AuditFilter::default()).unwrap()[0];
        assert_eq!((t.requests, t.interrupted, t.bytes_received), (1, 0, 3400));

        let burst = sample(2, "p", None, Outcome::Denied);
        let burst_id = ledger.record(&burst).unwrap();
        ledger
            .update(
                burst_id,
                &EgressRecord {
                    attempts: 10_000,
                    bytes_sent: 0,
                    bytes_refused: 10_000 * 1200,
                    ..burst
                },
            )
            .unwrap();
        assert_eq!(ledger.count(&AuditFilter::default()).unwrap(), 10_001);
        let t = &ledger.totals(&AuditFilter::default()).unwrap()[0];
        assert_eq!(
            (t.requests, t.denied, t.bytes_sent, t.bytes_refused),
            (10_001, 10_000, 1200, 12_000_000)
        );
        assert_eq!(
            ledger.totals(&filter(None, None, Some(0))).unwrap()[0],
            t.clone()
        );
        assert!(
            ledger.update(9_999, &done).is_err(),
            "updated a missing row"
        );
    }

    /// A version-1 ledger (what minutes wrote before) is migrated in place: rows kept, denied
    /// bytes moved to refused, totals rebuilt.
    #[test]
    fn a_version_1_ledger_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(V1_SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO egress (time_ms, plugin_id, plugin_version, meeting_id, method, \
                 origin, path, path_sha256, bytes_sent, bytes_received, status, duration_ms, \
                 outcome, reason) VALUES \
                 (1, 'fireworks', '0.1.0', NULL, 'POST', 'https://api.fireworks.ai', '/v1', 'h', \
                  2781, 0, NULL, 3, 'denied', 'offline mode'), \
                 (2, 'fireworks', '0.1.0', NULL, 'POST', 'https://api.fireworks.ai', '/v1', 'h', \
                  500, 900, 200, 40, 'sent', NULL);",
            )
            .unwrap();
        }
        let ledger = EgressLedger::open(&path).unwrap();
        let rows = ledger.records(&AuditFilter::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].bytes_sent, rows[1].bytes_refused), (0, 2781));
        assert_eq!((rows[0].bytes_sent, rows[0].attempts), (500, 1));
        let t = &ledger.totals(&AuditFilter::default()).unwrap()[0];
        assert_eq!(
            (t.requests, t.denied, t.bytes_sent, t.bytes_refused),
            (2, 1, 500, 2781)
        );
        drop(ledger);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    /// Issue 20.3: a ledger from before MCP keeps its egress rows and gains the disclosures.
    #[test]
    fn a_version_2_ledger_gains_the_disclosures_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        {
            // The egress part of the schema is what version 2 wrote.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            insert(&conn, &sample(5, "fireworks", Some("m1"), Outcome::Sent)).unwrap();
        }
        let ledger = EgressLedger::open(&path).unwrap();
        assert_eq!(ledger.records(&AuditFilter::default()).unwrap().len(), 1);
        ledger.record_disclosure(&disclosure(7, &["m1"])).unwrap();
        assert_eq!(
            ledger.disclosures(&AuditFilter::default()).unwrap()[0].meeting_ids,
            ["m1"]
        );
        drop(ledger);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    fn disclosure(time_ms: i64, ids: &[&str]) -> Disclosure {
        Disclosure {
            id: None,
            time_ms,
            client: "claude-ai 0.1.0".into(),
            tool: "get_meeting".into(),
            arguments: r#"{"id":"m1"}"#.into(),
            meeting_ids: ids.iter().map(|s| s.to_string()).collect(),
            bytes_returned: 1234,
            outcome: DisclosureOutcome::Returned,
            reason: None,
        }
    }

    #[test]
    fn disclosures_round_trip_newest_first_and_filter_by_meeting() {
        let (_dir, ledger) = open_temp();
        let first = disclosure(1_000, &["m1", "m2"]);
        let id = ledger.record_disclosure(&first).unwrap();
        let refused = Disclosure {
            meeting_ids: vec![],
            bytes_returned: 0,
            outcome: DisclosureOutcome::Refused,
            reason: Some("no meeting `secret`".into()),
            arguments: format!(r#"{{"query":"{}"}}"#, "x".repeat(5000)),
            ..disclosure(2_000, &[])
        };
        ledger.record_disclosure(&refused).unwrap();
        let all = ledger.disclosures(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].outcome, DisclosureOutcome::Refused);
        assert!(
            all[0].arguments.chars().count() <= DISCLOSURE_ARGUMENTS_CHARS,
            "arguments are cut"
        );
        assert_eq!(
            all[1],
            Disclosure {
                id: Some(id),
                ..first
            }
        );
        let m2 = ledger.disclosures(&filter(None, Some("m2"), None)).unwrap();
        assert_eq!(m2.len(), 1);
        assert!(
            ledger
                .disclosures(&filter(None, Some("m"), None))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ledger
                .disclosures(&filter(None, None, Some(1_500)))
                .unwrap()
                .len(),
            1
        );
        // A refused call cannot be made to look as if it carried meetings.
        let conn = ledger.lock();
        let forged = conn.execute(
            "UPDATE disclosures SET meeting_ids = '[\"m1\"]' WHERE outcome = 'refused'",
            [],
        );
        assert!(forged.is_err());
    }

    /// The schema minutes wrote as version 1, kept to test the migration.
    const V1_SCHEMA: &str = "
        CREATE TABLE egress (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,
            plugin_id TEXT NOT NULL, plugin_version TEXT NOT NULL, meeting_id TEXT,
            method TEXT NOT NULL, origin TEXT NOT NULL, path TEXT NOT NULL,
            path_sha256 TEXT NOT NULL, bytes_sent INTEGER NOT NULL,
            bytes_received INTEGER NOT NULL, status INTEGER, duration_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'denied', 'failed')), reason TEXT);
        CREATE INDEX egress_plugin_time
            ON egress (plugin_id, time_ms, origin, outcome, bytes_sent, bytes_received);
        CREATE INDEX egress_meeting_time ON egress (meeting_id, time_ms);
        CREATE INDEX egress_time ON egress (time_ms);
        CREATE TABLE egress_totals (plugin_id TEXT NOT NULL, origin TEXT NOT NULL,
            requests INTEGER NOT NULL, denied INTEGER NOT NULL, failed INTEGER NOT NULL,
            bytes_sent INTEGER NOT NULL, bytes_received INTEGER NOT NULL,
            PRIMARY KEY (plugin_id, origin)) WITHOUT ROWID;
        CREATE TRIGGER egress_totals_insert AFTER INSERT ON egress BEGIN
            INSERT INTO egress_totals VALUES (NEW.plugin_id, NEW.origin, 1,
                NEW.outcome = 'denied', NEW.outcome = 'failed', NEW.bytes_sent,
                NEW.bytes_received)
            ON CONFLICT (plugin_id, origin) DO UPDATE SET requests = requests + 1;
        END;
        CREATE TRIGGER egress_totals_delete AFTER DELETE ON egress BEGIN
            UPDATE egress_totals SET requests = requests - 1
            WHERE plugin_id = OLD.plugin_id AND origin = OLD.origin;
        END;
    ";

    #[test]
    fn records_are_newest_first_and_limited() {
        let (_dir, ledger) = open_temp();
        for t in [30, 10, 50, 20, 40] {
            ledger.record(&sample(t, "p", None, Outcome::Sent)).unwrap();
        }
        // Same millisecond: the later insert counts as newer.
        let later = ledger
            .record(&sample(50, "p", None, Outcome::Denied))
            .unwrap();
        let all = ledger.records(&AuditFilter::default()).unwrap();
        let times: Vec<i64> = all.iter().map(|r| r.time_ms).collect();
        assert_eq!(times, [50, 50, 40, 30, 20, 10]);
        assert_eq!(all[0].id, Some(later));
        let top = ledger
            .records(&AuditFilter {
                limit: 2,
                ..AuditFilter::default()
            })
            .unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(top[..], all[..2]);
    }

    #[test]
    fn default_limit_is_fifty() {
        let (_dir, ledger) = open_temp();
        ledger.bench_fill(60, 1).unwrap();
        assert_eq!(ledger.records(&AuditFilter::default()).unwrap().len(), 50);
        assert_eq!(ledger.count(&AuditFilter::default()).unwrap(), 60);
    }

    #[test]
    fn filters_by_plugin_meeting_and_since() {
        let (_dir, ledger) = open_temp();
        ledger
            .record(&sample(100, "a", Some("m1"), Outcome::Sent))
            .unwrap();
        ledger
            .record(&sample(200, "a", Some("m2"), Outcome::Denied))
            .unwrap();
        ledger
            .record(&sample(300, "b", Some("m1"), Outcome::Failed))
            .unwrap();
        ledger
            .record(&sample(400, "b", None, Outcome::Sent))
            .unwrap();
        let times = |f: AuditFilter| -> Vec<i64> {
            ledger
                .records(&f)
                .unwrap()
                .iter()
                .map(|r| r.time_ms)
                .collect()
        };
        assert_eq!(times(filter(Some("a"), None, None)), [200, 100]);
        assert_eq!(times(filter(None, Some("m1"), None)), [300, 100]);
        assert_eq!(times(filter(None, None, Some(200))), [400, 300, 200]);
        assert_eq!(times(filter(Some("b"), Some("m1"), Some(250))), [300]);
        assert_eq!(times(filter(Some("nobody"), None, None)), Vec::<i64>::new());
        assert_eq!(ledger.count(&filter(Some("a"), None, None)).unwrap(), 2);
        assert_eq!(ledger.count(&filter(None, Some("m1"), None)).unwrap(), 2);
        assert_eq!(ledger.count(&filter(None, None, Some(300))).unwrap(), 2);
        assert_eq!(ledger.count(&AuditFilter::default()).unwrap(), 4);
    }

    #[test]
    fn totals_group_by_plugin_and_origin() {
        let (_dir, ledger) = open_temp();
        ledger
            .record(&sample(1, "a", Some("m1"), Outcome::Sent))
            .unwrap();
        ledger
            .record(&sample(2, "a", Some("m1"), Outcome::Denied))
            .unwrap();
        ledger
            .record(&sample(3, "a", None, Outcome::Failed))
            .unwrap();
        let slack = EgressRecord {
            origin: "https://hooks.slack.com".to_owned(),
            ..sample(4, "a", None, Outcome::Sent)
        };
        ledger.record(&slack).unwrap();
        ledger.record(&sample(5, "b", None, Outcome::Sent)).unwrap();

        let fireworks_a = Totals {
            plugin_id: "a".to_owned(),
            origin: "https://api.fireworks.ai".to_owned(),
            requests: 3,
            denied: 1,
            failed: 1,
            interrupted: 0,
            // The denied attempt's 1200 bytes were refused, not sent.
            bytes_sent: 2400,
            bytes_received: 3400,
            bytes_refused: 1200,
        };
        let slack_a = Totals {
            origin: "https://hooks.slack.com".to_owned(),
            requests: 1,
            denied: 0,
            failed: 0,
            bytes_sent: 1200,
            bytes_refused: 0,
            ..fireworks_a.clone()
        };
        let b = Totals {
            plugin_id: "b".to_owned(),
            requests: 1,
            denied: 0,
            failed: 0,
            bytes_sent: 1200,
            bytes_refused: 0,
            ..fireworks_a.clone()
        };

        let all = ledger.totals(&AuditFilter::default()).unwrap();
        assert_eq!(all, [fireworks_a.clone(), slack_a.clone(), b.clone()]);
        // The scan path (a since filter that matches everything) must agree with the aggregate.
        assert_eq!(
            ledger.totals(&filter(None, None, Some(i64::MIN))).unwrap(),
            all
        );
        assert_eq!(
            ledger.totals(&filter(Some("a"), None, None)).unwrap(),
            [fireworks_a, slack_a.clone()]
        );
        let since = ledger.totals(&filter(Some("a"), None, Some(3))).unwrap();
        let failed_only = Totals {
            origin: "https://api.fireworks.ai".to_owned(),
            failed: 1,
            bytes_received: 0,
            ..slack_a.clone()
        };
        assert_eq!(since, [failed_only, slack_a]);
        let meeting = ledger.totals(&filter(None, Some("m1"), None)).unwrap();
        assert_eq!(
            (
                meeting[0].requests,
                meeting[0].denied,
                meeting[0].bytes_sent
            ),
            (2, 1, 1200)
        );
        assert!(
            ledger
                .totals(&filter(Some("nobody"), None, None))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn path_is_truncated_without_query_and_hashed_with_it() {
        let long = format!("/{}", "a".repeat(100));
        let rec = sample(1, "p", None, Outcome::Sent).with_path(&format!("{long}?token=secret"));
        assert_eq!(rec.path.chars().count(), 64);
        assert!(rec.path.ends_with('…'));
        assert_eq!(rec.path, format!("{}…", &long[..63]));
        assert!(!rec.path.contains("secret"));

        let short = sample(1, "p", None, Outcome::Sent).with_path("/v1/chat?key=abc");
        assert_eq!(short.path, "/v1/chat");
        assert_eq!(short.path_sha256, sha256_hex("/v1/chat?key=abc"));
        assert_eq!(short.path_sha256.len(), 64);
        let other_key = sample(1, "p", None, Outcome::Sent).with_path("/v1/chat?key=xyz");
        assert_eq!(other_key.path, short.path);
        assert_ne!(other_key.path_sha256, short.path_sha256);
        // Known vector, so the hash stays comparable with other tools (`sha256sum`).
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );

        let exact = "/".repeat(64);
        assert_eq!(
            sample(1, "p", None, Outcome::Sent).with_path(&exact).path,
            exact
        );
        let multibyte = "é".repeat(70);
        assert_eq!(
            sample(1, "p", None, Outcome::Sent)
                .with_path(&multibyte)
                .path
                .chars()
                .count(),
            64
        );

        let (_dir, ledger) = open_temp();
        ledger.record(&rec).unwrap();
        let stored = &ledger.records(&AuditFilter::default()).unwrap()[0];
        assert_eq!(stored.path, rec.path);
        assert_eq!(
            stored.path_sha256,
            sha256_hex(&format!("{long}?token=secret"))
        );
    }

    #[test]
    fn rows_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        let rec = sample(7, "p", Some("m"), Outcome::Failed);
        let id = {
            let ledger = EgressLedger::open(&path).unwrap();
            ledger.record(&rec).unwrap()
        };
        let ledger = EgressLedger::open(&path).unwrap();
        assert_eq!(ledger.path(), path);
        assert_eq!(
            ledger.records(&AuditFilter::default()).unwrap(),
            [EgressRecord {
                id: Some(id),
                ..rec
            }]
        );
        assert_eq!(ledger.totals(&AuditFilter::default()).unwrap()[0].failed, 1);
    }

    #[test]
    fn damaged_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        std::fs::write(
            &path,
            b"this is not a database, just some garbage bytes ".repeat(100),
        )
        .unwrap();
        let err = EgressLedger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::Damaged { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("move it aside"), "{message}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        drop(EgressLedger::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = EgressLedger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::TooNew { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn ledger_is_shared_across_threads() {
        let (_dir, ledger) = open_temp();
        let ledger = std::sync::Arc::new(ledger);
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let ledger = ledger.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        ledger
                            .record(&sample(i, &format!("p{t}"), None, Outcome::Sent))
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(ledger.count(&AuditFilter::default()).unwrap(), 200);
    }

    #[test]
    fn bench_fill_totals_match_a_manual_count() {
        let (_dir, ledger) = open_temp();
        ledger.bench_fill(20_000, 7).unwrap();
        assert_eq!(ledger.count(&AuditFilter::default()).unwrap(), 20_000);
        let plugin = filter(Some("bench-plugin-3"), None, None);
        let rows = ledger
            .records(&AuditFilter {
                limit: usize::MAX,
                ..plugin.clone()
            })
            .unwrap();
        let mut manual = std::collections::BTreeMap::<String, Totals>::new();
        for row in &rows {
            let t = manual.entry(row.origin.clone()).or_insert_with(|| Totals {
                plugin_id: row.plugin_id.clone(),
                origin: row.origin.clone(),
                requests: 0,
                denied: 0,
                failed: 0,
                interrupted: 0,
                bytes_sent: 0,
                bytes_received: 0,
                bytes_refused: 0,
            });
            t.requests += row.attempts;
            t.denied += u64::from(row.outcome == Outcome::Denied) * row.attempts;
            t.failed += u64::from(row.outcome == Outcome::Failed) * row.attempts;
            t.interrupted += u64::from(row.outcome == Outcome::Interrupted) * row.attempts;
            t.bytes_sent += row.bytes_sent;
            t.bytes_received += row.bytes_received;
            t.bytes_refused += row.bytes_refused;
        }
        let manual: Vec<Totals> = manual.into_values().collect();
        let totals = ledger.totals(&plugin).unwrap();
        assert_eq!(totals, manual);
        assert!(totals.iter().any(|t| t.denied > 0) && totals.iter().any(|t| t.failed > 0));
        assert_eq!(
            totals.iter().map(|t| t.requests).sum::<u64>(),
            ledger.count(&plugin).unwrap()
        );
        assert_eq!(
            ledger
                .totals(&AuditFilter {
                    since_ms: Some(0),
                    ..plugin
                })
                .unwrap(),
            manual
        );
    }

    #[test]
    fn audit_queries_use_indexes() {
        let (_dir, ledger) = open_temp();
        let conn = ledger.lock();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map(params![], |row| row.get::<_, String>(3))
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let records = plan(&format!(
            "SELECT {RECORD_COLUMNS} FROM egress WHERE plugin_id = 'p' ORDER BY time_ms DESC, id DESC LIMIT 50"
        ));
        assert!(records.contains("egress_plugin_time"), "{records}");
        let (sql, _) = scanned_totals_sql(&filter(Some("p"), None, Some(5)));
        let totals = plan(&sql.replacen('?', "'p'", 1).replacen('?', "5", 1));
        assert!(
            totals.contains("COVERING INDEX egress_plugin_time"),
            "{totals}"
        );
    }

    fn per_row_us(elapsed: std::time::Duration, rows: usize) -> f64 {
        elapsed.as_secs_f64() * 1e6 / rows as f64
    }

    #[test]
    #[ignore = "measurement: run with --release --ignored --nocapture"]
    fn single_record_writes_are_fast() {
        let (_dir, ledger) = open_temp();
        let rec = sample(1, "p", Some("m"), Outcome::Sent);
        let mut samples = Vec::with_capacity(10_000);
        let started = Instant::now();
        for i in 0..10_000 {
            let one = Instant::now();
            ledger
                .record(&EgressRecord {
                    time_ms: i,
                    ..rec.clone()
                })
                .unwrap();
            samples.push(one.elapsed());
        }
        let total = started.elapsed();
        samples.sort();
        println!(
            "10,000 single record() calls: {:.1} µs/row (median {:.1?}, p99 {:.1?}, max {:.1?})",
            per_row_us(total, 10_000),
            samples[5_000],
            samples[9_900],
            samples[9_999]
        );
    }

    #[test]
    #[ignore = "measurement: run with --release --ignored --nocapture"]
    fn million_rows_audit_is_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("egress.sqlite");
        let started = Instant::now();
        EgressLedger::open(&path)
            .unwrap()
            .bench_fill(1_000_000, 10)
            .unwrap();
        println!("bench_fill 1,000,000 rows: {:.2?}", started.elapsed());

        // A fresh connection, as `minutes audit` would have, so no page cache is warm.
        let ledger = EgressLedger::open(&path).unwrap();
        let plugin = filter(Some("bench-plugin-4"), None, None);
        let started = Instant::now();
        let records = ledger.records(&plugin).unwrap();
        let totals = ledger.totals(&plugin).unwrap();
        println!(
            "records ({}) + totals ({} origins, {} requests) for one plugin: {:.2?}",
            records.len(),
            totals.len(),
            totals.iter().map(|t| t.requests).sum::<u64>(),
            started.elapsed()
        );
        let since = AuditFilter {
            since_ms: Some(1_700_000_000_000 + 500_000),
            ..plugin.clone()
        };
        let started = Instant::now();
        let records = ledger.records(&since).unwrap();
        let totals = ledger.totals(&since).unwrap();
        println!(
            "records ({}) + totals ({} requests) for one plugin since the middle (scan path): {:.2?}",
            records.len(),
            totals.iter().map(|t| t.requests).sum::<u64>(),
            started.elapsed()
        );
        let all_since = AuditFilter {
            since_ms: Some(0),
            ..plugin
        };
        let started = Instant::now();
        let totals = ledger.totals(&all_since).unwrap();
        println!(
            "totals for one plugin with since covering all 100k rows (scan path): {:.2?} ({} requests)",
            started.elapsed(),
            totals.iter().map(|t| t.requests).sum::<u64>()
        );
        let started = Instant::now();
        let count = ledger
            .count(&AuditFilter {
                since_ms: Some(0),
                ..AuditFilter::default()
            })
            .unwrap();
        println!(
            "count with since over all {count} rows: {:.2?}",
            started.elapsed()
        );
    }
}
