//! Action items ticked off by the user. The state lives in the current summary's JSON (the
//! `done` field of its action items), so every face that reads the summary sees it; a new
//! summary of the same meeting keeps the ticks of the tasks it repeats.

use super::{Store, StoreError, require};
use crate::model::{ActionItem, SUMMARY_FORMAT, Summary};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;

impl Store {
    /// Marks action item `number` (1-based, in the order the summary lists them) of a meeting's
    /// current summary as done or not, and returns it as stored.
    pub fn set_action_done(
        &self,
        meeting_id: &str,
        number: usize,
        done: bool,
    ) -> Result<ActionItem, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        require(&tx, meeting_id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
        let Some((row, mut summary)) = self.current_summary(&tx, meeting_id)? else {
            return Err(StoreError::Invalid {
                what: "action item",
                why: format!(
                    "meeting `{meeting_id}` has no summary yet; make one with `minutes summarize {meeting_id}`"
                ),
            });
        };
        let count = summary.action_items.len();
        let Some(item) = number
            .checked_sub(1)
            .and_then(|i| summary.action_items.get_mut(i))
        else {
            return Err(StoreError::Invalid {
                what: "action item",
                why: match count {
                    0 => format!("the summary of meeting `{meeting_id}` has no action items"),
                    n => format!(
                        "the summary of meeting `{meeting_id}` has action items 1 to {n}, not {number} (`minutes show {meeting_id}` lists them)"
                    ),
                },
            });
        };
        item.done = done;
        let item = item.clone();
        let json = serde_json::to_string(&summary).map_err(|e| StoreError::Invalid {
            what: "summary",
            why: e.to_string(),
        })?;
        tx.execute(
            "UPDATE summaries SET summary = ?2 WHERE id = ?1",
            params![row, json],
        )
        .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(item)
    }

    /// The row id and summary of a meeting's latest summary, as written (names not applied).
    fn current_summary(
        &self,
        conn: &Connection,
        meeting_id: &str,
    ) -> Result<Option<(i64, Summary)>, StoreError> {
        let row: Option<(i64, String, i64)> = conn
            .query_row(
                "SELECT id, summary, format FROM summaries WHERE meeting_id = ?1 ORDER BY id DESC LIMIT 1",
                [meeting_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((id, json, format)) = row else {
            return Ok(None);
        };
        // Rewriting a summary this version cannot fully read would lose what it does not know.
        if format != SUMMARY_FORMAT {
            return Err(StoreError::Damaged {
                path: self.path.clone(),
                detail: format!(
                    "the summary of meeting `{meeting_id}` has format {format}, and this minutes writes {SUMMARY_FORMAT}; \
                     `minutes summarize {meeting_id}` makes a new one"
                ),
            });
        }
        let summary = serde_json::from_str(&json).map_err(|e| StoreError::Damaged {
            path: self.path.clone(),
            detail: format!("the summary of meeting `{meeting_id}` is not readable: {e}"),
        })?;
        Ok(Some((id, summary)))
    }

    /// The tasks of a meeting's current summary that the user ticked off, in comparable form.
    pub(super) fn done_tasks(
        &self,
        conn: &Connection,
        meeting_id: &str,
    ) -> Result<HashSet<String>, StoreError> {
        Ok(match self.current_summary(conn, meeting_id) {
            Ok(Some((_, s))) => s
                .action_items
                .iter()
                .filter(|a| a.done)
                .map(|a| task_key(&a.task))
                .collect(),
            // An unreadable older summary has no ticks to carry; the new one is still stored.
            Ok(None) | Err(StoreError::Damaged { .. }) => HashSet::new(),
            Err(e) => return Err(e),
        })
    }
}

/// A task as compared across summaries: letters and digits, lower case, single spaces.
pub(super) fn task_key(task: &str) -> String {
    task.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
