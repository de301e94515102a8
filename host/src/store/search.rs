//! Full-text search over transcripts and current summaries (FTS5, bm25 ranking).
//!
//! The user's words are always quoted before they reach FTS5, so its query syntax (AND, OR,
//! NEAR, column filters, stray quotes) can never make a search fail. A query of several words
//! runs twice: first as an exact phrase, then as all words anywhere in a segment; phrase hits
//! come first. A trailing `*` on a word asks for prefix matching (`launch*`).

use super::{Store, StoreError};
use rusqlite::params;
use serde::Serialize;

/// Tokens of context FTS5's `snippet()` keeps around the matches.
const SEGMENT_SNIPPET_TOKENS: i64 = 16;
const SUMMARY_SNIPPET_TOKENS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HitSource {
    Transcript,
    Summary,
}

/// One match: a transcript segment (with its time) or a meeting's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub meeting_id: String,
    pub meeting_title: String,
    pub started_at: String,
    pub source: HitSource,
    /// Where the segment starts and ends in the recording (transcript hits only).
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub speaker: Option<String>,
    /// The matching text around the hit, matches wrapped in the caller's markers.
    pub snippet: String,
    /// The words matched as the exact phrase typed.
    pub exact: bool,
    /// bm25 relevance (lower is better), comparable within one search only.
    pub rank: f64,
}

/// Whether `query` has anything to search for (a word of letters or digits).
pub fn has_words(query: &str) -> bool {
    fts_queries(query).is_some()
}

/// The user's query as FTS5 expressions: (phrase, all words). `None` when it has no words.
pub(crate) fn fts_queries(query: &str) -> Option<(String, String)> {
    let mut words = Vec::new();
    for raw in query.split_whitespace() {
        let prefix = raw.len() > 1 && raw.ends_with('*');
        let word: String = raw.chars().filter(|c| *c != '"' && *c != '*').collect();
        if word.chars().any(char::is_alphanumeric) {
            words.push((word, prefix));
        }
    }
    let last_prefix = words.last()?.1;
    let star = |p: bool| if p { "*" } else { "" };
    let all: Vec<String> = words
        .iter()
        .map(|(w, p)| format!("\"{w}\"{}", star(*p)))
        .collect();
    let phrase: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
    Some((
        format!("\"{}\"{}", phrase.join(" "), star(last_prefix)),
        all.join(" "),
    ))
}

/// A hit with the FTS row it came from, to drop duplicates between the two query tiers.
type KeyedHit = ((HitSource, i64), SearchHit);

impl Store {
    /// The best `limit` matches for `query`, exact-phrase matches first, then by bm25.
    /// `mark` wraps each matched word in the snippet, e.g. ("\x1b[1m", "\x1b[0m") or ("**", "**").
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        mark: (&str, &str),
    ) -> Result<Vec<SearchHit>, StoreError> {
        self.search_sources(query, limit, mark, true)
    }

    /// Like [`Store::search`], over the summaries only, for a reader that may not see
    /// transcripts (an MCP client without `transcripts = true`): filtering transcript hits out
    /// afterwards would leave few or none when transcripts outrank the summaries.
    pub fn search_summaries(
        &self,
        query: &str,
        limit: usize,
        mark: (&str, &str),
    ) -> Result<Vec<SearchHit>, StoreError> {
        self.search_sources(query, limit, mark, false)
    }

    fn search_sources(
        &self,
        query: &str,
        limit: usize,
        mark: (&str, &str),
        transcripts: bool,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let (phrase, all) = fts_queries(query).ok_or_else(|| StoreError::Invalid {
            what: "search",
            why: format!("{query:?} has no words to look for"),
        })?;
        let limit = limit.max(1);
        let mut hits = self.search_tier(&phrase, limit, mark, true, transcripts)?;
        if all != phrase && hits.len() < limit {
            let seen: Vec<(HitSource, i64)> = hits.iter().map(|(key, _)| *key).collect();
            let more = self.search_tier(&all, limit + seen.len(), mark, false, transcripts)?;
            hits.extend(more.into_iter().filter(|(key, _)| !seen.contains(key)));
        }
        hits.truncate(limit);
        Ok(hits.into_iter().map(|(_, hit)| hit).collect())
    }

    /// One FTS expression over segments and summaries, merged by rank.
    fn search_tier(
        &self,
        expr: &str,
        limit: usize,
        mark: (&str, &str),
        exact: bool,
        transcripts: bool,
    ) -> Result<Vec<KeyedHit>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // LIMIT 0 ends the transcript query before it reads a row.
        let segment_limit = if transcripts { limit } else { 0 };
        let conn = self.lock();
        let run = || -> rusqlite::Result<Vec<KeyedHit>> {
            // The inner query lets FTS5 order by rank itself and stop at the limit, so
            // snippets are made only for the rows returned.
            let mut segments = conn.prepare_cached(
                "SELECT h.rowid, h.snip, h.score, s.meeting_id, m.title, m.started_at, s.start_ms, s.end_ms, coalesce(sp.name, s.speaker_id) \
                 FROM (SELECT rowid, snippet(segments_fts, 0, ?2, ?3, '…', ?5) AS snip, rank AS score \
                       FROM segments_fts WHERE segments_fts MATCH ?1 ORDER BY rank LIMIT ?4) h \
                 JOIN segments s ON s.id = h.rowid JOIN meetings m ON m.id = s.meeting_id \
                 LEFT JOIN speakers sp ON sp.meeting_id = s.meeting_id AND sp.id = s.speaker_id ORDER BY h.score",
            )?;
            let mut hits: Vec<KeyedHit> = segments
                .query_map(
                    params![expr, mark.0, mark.1, segment_limit, SEGMENT_SNIPPET_TOKENS],
                    |r| {
                        Ok((
                            (HitSource::Transcript, r.get(0)?),
                            SearchHit {
                                snippet: r.get(1)?,
                                rank: r.get(2)?,
                                meeting_id: r.get(3)?,
                                meeting_title: r.get(4)?,
                                started_at: r.get(5)?,
                                source: HitSource::Transcript,
                                start_ms: Some(super::get_u64(r, 6)?),
                                end_ms: Some(super::get_u64(r, 7)?),
                                speaker: r.get(8)?,
                                exact,
                            },
                        ))
                    },
                )?
                .collect::<rusqlite::Result<_>>()?;
            let mut summaries = conn.prepare_cached(
                "SELECT h.rowid, h.snip, h.score, su.meeting_id, m.title, m.started_at \
                 FROM (SELECT rowid, snippet(summaries_fts, 0, ?2, ?3, '…', ?5) AS snip, rank AS score \
                       FROM summaries_fts WHERE summaries_fts MATCH ?1 ORDER BY rank LIMIT ?4) h \
                 JOIN summaries su ON su.id = h.rowid JOIN meetings m ON m.id = su.meeting_id ORDER BY h.score",
            )?;
            let from_summaries = summaries.query_map(
                params![expr, mark.0, mark.1, limit, SUMMARY_SNIPPET_TOKENS],
                |r| {
                    Ok((
                        (HitSource::Summary, r.get(0)?),
                        SearchHit {
                            snippet: r.get(1)?,
                            rank: r.get(2)?,
                            meeting_id: r.get(3)?,
                            meeting_title: r.get(4)?,
                            started_at: r.get(5)?,
                            source: HitSource::Summary,
                            start_ms: None,
                            end_ms: None,
                            speaker: None,
                            exact,
                        },
                    ))
                },
            )?;
            for hit in from_summaries {
                hits.push(hit?);
            }
            hits.sort_by(|a, b| a.1.rank.total_cmp(&b.1.rank));
            Ok(hits)
        };
        run().map_err(|e| self.error(e))
    }
}
