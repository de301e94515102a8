//! Retention: how long minutes keeps recordings and meetings, from `[retention]` in
//! config.toml. Ages count from when a meeting was stored, so importing an old recording does
//! not make it expire at once. Only recordings minutes made are ever deleted.

use super::{Store, StoreError, remove_recording};
use serde::Serialize;
use std::path::{Path, PathBuf};

const DAY_MS: i64 = 86_400_000;

/// `[retention]` in config.toml. `None`: keep forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `delete_audio_after_days`: recordings minutes made are deleted this many days after the
    /// meeting was stored; the transcript and summary stay.
    pub delete_audio_after_days: Option<u32>,
    /// `delete_meetings_after_days`: whole meetings (transcript, summaries, recording) are
    /// deleted this many days after they were stored.
    pub delete_meetings_after_days: Option<u32>,
}

/// What one application of the policy removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RetentionReport {
    pub meetings_deleted: Vec<String>,
    pub audio_deleted: Vec<PathBuf>,
    /// Recordings that could not be removed (the policy retries them next time).
    pub errors: Vec<String>,
}

impl RetentionReport {
    pub fn is_empty(&self) -> bool {
        self.meetings_deleted.is_empty() && self.audio_deleted.is_empty() && self.errors.is_empty()
    }
}

impl RetentionPolicy {
    pub fn is_unset(&self) -> bool {
        self.delete_audio_after_days.is_none() && self.delete_meetings_after_days.is_none()
    }

    /// Reads `[retention]` from a config.toml; a missing file or table means keep forever.
    pub fn from_config(path: &Path) -> Result<RetentionPolicy, StoreError> {
        let config = |message: String| StoreError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RetentionPolicy::default());
            }
            Err(e) => return Err(config(format!("cannot read it: {e}"))),
        };
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| config(crate::plugins::manifest::toml_message(&text, &e)))?;
        let Some(section) = table.get("retention") else {
            return Ok(RetentionPolicy::default());
        };
        let section = section
            .as_table()
            .ok_or_else(|| config("`retention` must be a table: [retention]".into()))?;
        let mut policy = RetentionPolicy::default();
        for (key, value) in section {
            let days = match value.as_integer() {
                Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => n as u32,
                _ => {
                    return Err(config(format!(
                        "retention.{key} must be a whole number of days, at least 1 (remove the key to keep forever)"
                    )));
                }
            };
            match key.as_str() {
                "delete_audio_after_days" => policy.delete_audio_after_days = Some(days),
                "delete_meetings_after_days" => policy.delete_meetings_after_days = Some(days),
                other => {
                    return Err(config(format!(
                        "unknown key retention.{other}; known keys: delete_audio_after_days, delete_meetings_after_days"
                    )));
                }
            }
        }
        Ok(policy)
    }
}

impl Store {
    /// Deletes what the policy says has expired at `now_ms` (unix ms).
    pub fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        if let Some(days) = policy.delete_meetings_after_days {
            let cutoff = now_ms - i64::from(days) * DAY_MS;
            for id in self.ids_where(
                "SELECT id FROM meetings WHERE created_at < ?1 ORDER BY created_at",
                cutoff,
            )? {
                let deleted = self.delete(&id)?;
                report.errors.extend(deleted.audio_error);
                report.meetings_deleted.push(id);
            }
        }
        if let Some(days) = policy.delete_audio_after_days {
            let cutoff = now_ms - i64::from(days) * DAY_MS;
            let sql = "SELECT id FROM meetings WHERE audio_owned = 1 AND audio_path IS NOT NULL AND created_at < ?1";
            for id in self.ids_where(sql, cutoff)? {
                let conn = self.lock();
                let path: Option<super::StoredPath> = conn
                    .query_row(
                        "SELECT audio_path FROM meetings WHERE id = ?1",
                        [&id],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.error(e))?;
                let Some(super::StoredPath(path)) = path else {
                    continue;
                };
                // The file first: a crash before the update leaves a reference to a missing
                // file, which the next run clears; never a file nobody refers to.
                match remove_recording(&path) {
                    Ok(()) => {
                        conn.execute("UPDATE meetings SET audio_path = NULL WHERE id = ?1", [&id])
                            .map_err(|e| self.error(e))?;
                        report.audio_deleted.push(path);
                    }
                    Err(e) => report.errors.push(format!("{}: {e}", path.display())),
                }
            }
        }
        Ok(report)
    }

    fn ids_where(&self, sql: &str, cutoff: i64) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<String>> {
            conn.prepare(sql)?
                .query_map([cutoff], |r| r.get(0))?
                .collect()
        };
        run().map_err(|e| self.error(e))
    }
}
