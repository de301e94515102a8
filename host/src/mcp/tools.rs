//! The tools `minutes mcp` offers, as plain functions over the store: each reads meetings
//! through the store's public functions and answers with this module's own serde types, filled
//! field by field, so what an assistant sees is decided here and nowhere else.
//!
//! Every tool is read-only. A meeting the `[mcp]` rules hide is treated exactly like one that
//! does not exist: not listed, not found, and asked for by id, the same "no meeting" error.

use super::config::McpConfig;
use crate::store::{HitSource, ListFilter, MeetingInfo, Store, StoreError};
use rmcp::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Words per transcript page: about ten minutes of speech, small enough that a long meeting
/// is never sent whole by one call.
pub const WORDS_PER_PAGE: usize = 1500;
pub const MAX_SEARCH_LIMIT: u32 = 50;
const DEFAULT_SEARCH_LIMIT: u32 = 10;
pub const MAX_LIST_LIMIT: u32 = 200;
const DEFAULT_LIST_LIMIT: u32 = 20;
pub const MAX_ACTION_ITEMS_LIMIT: u32 = 500;
const DEFAULT_ACTION_ITEMS_LIMIT: u32 = 100;
/// Longest query accepted: a question, not a document.
const MAX_QUERY_CHARS: usize = 500;
/// Search asks the store for more hits than it returns, since hits in hidden meetings (or
/// outside the label and date asked for) are dropped afterwards; it widens up to this many.
const MAX_SEARCH_FETCH: usize = 5000;

/// Why a call gets no answer. Each becomes a JSON-RPC error; the message is for the assistant
/// and the user reading its log.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    InvalidArguments(String),
    /// Also what a hidden meeting answers: the two must not be told apart.
    #[error("no meeting `{0}`; list_meetings or search_meetings give the ids")]
    NoMeeting(String),
    #[error(
        "transcripts are not exposed to assistants; the user can allow them with `transcripts = true` under [mcp] in minutes' config.toml"
    )]
    TranscriptsOff,
    #[error("unknown tool `{0}`; the tools are {1}")]
    UnknownTool(String, String),
    #[error("the meetings store failed: {0}")]
    Store(#[from] StoreError),
}

/// A tool's answer and the meetings whose data it carries (for the disclosure ledger).
pub struct Answer {
    pub value: serde_json::Value,
    pub meeting_ids: Vec<String>,
}

// ---- arguments -------------------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct SearchArgs {
    /// Words to look for in summaries (and transcripts, when the user exposes them). Several
    /// words: the exact phrase ranks first; a trailing * matches word starts (launch*).
    pub query: String,
    /// Only meetings with this label.
    pub label: Option<String>,
    /// Only meetings that started on or after this date (YYYY-MM-DD) or time (RFC 3339, UTC).
    pub since: Option<String>,
    /// Most passages to return: 1 to 50, default 10.
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct ListArgs {
    /// Only meetings with this label.
    pub label: Option<String>,
    /// Only meetings that started on or after this date (YYYY-MM-DD) or time (RFC 3339, UTC).
    pub since: Option<String>,
    /// Most meetings to return, newest first: 1 to 200, default 20.
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct MeetingArgs {
    /// The meeting's full id, as list_meetings or search_meetings give it.
    pub id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct TranscriptArgs {
    /// The meeting's full id.
    pub id: String,
    /// Start at this point of the recording (milliseconds); default 0.
    pub from_ms: Option<u64>,
    /// Page to return, from 1 (the default); each answer says how many pages there are.
    pub page: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct ActionItemsArgs {
    /// Only items whose owner contains this (case-insensitive).
    pub owner: Option<String>,
    /// Only items not yet ticked off as done.
    pub open_only: Option<bool>,
    /// Only meetings that started on or after this date (YYYY-MM-DD) or time (RFC 3339, UTC).
    pub since: Option<String>,
    /// Most items to return, newest meetings first: 1 to 500, default 100.
    pub limit: Option<u32>,
}

// ---- answers ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct MeetingRow {
    pub id: String,
    pub title: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub labels: Vec<String>,
    pub has_summary: bool,
}

impl MeetingRow {
    fn from_info(m: &MeetingInfo) -> MeetingRow {
        MeetingRow {
            id: m.id.clone(),
            title: m.title.clone(),
            started_at: m.started_at.clone(),
            duration_ms: m.duration_ms,
            labels: m.labels.clone(),
            has_summary: m.has_summary,
        }
    }
}

#[derive(Debug, Serialize)]
struct ListAnswer {
    meetings: Vec<MeetingRow>,
    /// More meetings match than were returned.
    more: bool,
}

#[derive(Debug, Serialize)]
struct Passage {
    /// "summary" or "transcript".
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker: Option<String>,
    /// The matching text, matched words in **bold**.
    text: String,
}

#[derive(Debug, Serialize)]
struct SearchMeeting {
    id: String,
    title: String,
    started_at: String,
    labels: Vec<String>,
    passages: Vec<Passage>,
}

#[derive(Debug, Serialize)]
struct SearchAnswer {
    query: String,
    /// Meetings in order of their best passage.
    meetings: Vec<SearchMeeting>,
    /// Whether transcript passages were searched (the user's choice in config.toml).
    transcripts_searched: bool,
}

#[derive(Debug, Serialize)]
struct SectionOut {
    title: String,
    body: String,
}

#[derive(Debug, Serialize)]
struct ActionItemOut {
    owner: Option<String>,
    task: String,
    due: Option<String>,
    done: bool,
    /// Where in the meeting it was said (ms from the start); empty when uncited.
    cited_at_ms: Vec<u64>,
}

/// A decision or an open question with the moments of the meeting it comes from.
#[derive(Debug, Serialize)]
struct CitedOut {
    text: String,
    /// Where in the meeting it was said (ms from the start); empty when uncited.
    cited_at_ms: Vec<u64>,
    /// How the host judged the citations: supported, unsupported, uncited or unchecked.
    grounding: crate::model::Grounding,
}

fn cited_at(citations: &[crate::model::Citation]) -> Vec<u64> {
    citations.iter().map(|c| c.at_ms).collect()
}

#[derive(Debug, Serialize)]
struct MadeBy {
    template: String,
    provider: Option<String>,
    model: Option<String>,
}

#[derive(Debug, Serialize)]
struct SummaryOut {
    sections: Vec<SectionOut>,
    /// The summary as written, when it has no sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<String>,
    action_items: Vec<ActionItemOut>,
    decisions: Vec<CitedOut>,
    open_questions: Vec<CitedOut>,
    made_by: MadeBy,
}

#[derive(Debug, Serialize)]
struct TranscriptInfo {
    exposed: bool,
    /// Pages get_transcript would return (only when exposed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<usize>,
}

#[derive(Debug, Serialize)]
struct MeetingAnswer {
    id: String,
    title: String,
    started_at: String,
    duration_ms: u64,
    labels: Vec<String>,
    language: Option<String>,
    summary: Option<SummaryOut>,
    transcript: TranscriptInfo,
}

#[derive(Debug, Serialize)]
struct SegmentOut {
    start_ms: u64,
    end_ms: u64,
    speaker: Option<String>,
    text: String,
}

#[derive(Debug, Serialize)]
struct TranscriptPage {
    id: String,
    title: String,
    from_ms: u64,
    page: usize,
    pages: usize,
    words_per_page: usize,
    segments: Vec<SegmentOut>,
    /// The page to ask for next, if any.
    next_page: Option<usize>,
}

#[derive(Debug, Serialize)]
struct ActionItemRow {
    meeting_id: String,
    meeting_title: String,
    started_at: String,
    owner: Option<String>,
    task: String,
    due: Option<String>,
    done: bool,
    /// Where in the meeting it was said (ms from the start); empty when uncited.
    cited_at_ms: Vec<u64>,
}

#[derive(Debug, Serialize)]
struct ActionItemsAnswer {
    items: Vec<ActionItemRow>,
    more: bool,
}

// ---- the tools -------------------------------------------------------------------------

/// The tools over one store, under one set of disclosure rules.
pub struct Tools<'a> {
    pub store: &'a Store,
    pub config: &'a McpConfig,
}

/// Tool names with a one-line description each, in listing order.
pub fn names(config: &McpConfig) -> Vec<&'static str> {
    let mut names = vec!["search_meetings", "list_meetings", "get_meeting"];
    if config.transcripts {
        names.push("get_transcript");
    }
    names.push("list_action_items");
    names
}

impl Tools<'_> {
    /// Runs tool `name` with its JSON arguments.
    pub fn call(
        &self,
        name: &str,
        args: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Answer, ToolError> {
        match name {
            "search_meetings" => self.search(parse(args)?),
            "list_meetings" => self.list(parse(args)?),
            "get_meeting" => self.meeting(parse(args)?),
            // Listed only when exposed; asked for anyway, it says how the user can allow it.
            "get_transcript" => self.transcript(parse(args)?),
            "list_action_items" => self.action_items(parse(args)?),
            other => Err(ToolError::UnknownTool(
                other.chars().take(100).collect(),
                names(self.config).join(", "),
            )),
        }
    }

    /// The meeting if it exists and may be shown; a hidden one is "no meeting", like a missing one.
    fn visible(&self, id: &str) -> Result<MeetingInfo, ToolError> {
        match self.store.meeting(id) {
            Ok(m) if self.config.exposes(&m.labels) => Ok(m),
            Ok(_) | Err(StoreError::NotFound(_)) => Err(ToolError::NoMeeting(shorten(id))),
            Err(e) => Err(e.into()),
        }
    }

    /// Exposed meetings, newest first, that match a label and a start date.
    fn exposed_meetings(
        &self,
        label: Option<&str>,
        since: Option<&str>,
    ) -> Result<Vec<MeetingInfo>, ToolError> {
        let all = self.store.list(&ListFilter {
            label: label.map(str::to_string),
            limit: 0,
        })?;
        Ok(all
            .into_iter()
            .filter(|m| self.config.exposes(&m.labels))
            .filter(|m| since.is_none_or(|s| m.started_at.as_str() >= s))
            .collect())
    }

    fn search(&self, args: SearchArgs) -> Result<Answer, ToolError> {
        let limit = limit(args.limit, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT)?;
        if args.query.chars().count() > MAX_QUERY_CHARS {
            return Err(ToolError::InvalidArguments(format!(
                "query is longer than {MAX_QUERY_CHARS} characters; ask with a few words"
            )));
        }
        let since = since(args.since.as_deref())?;
        let label = args.label.as_deref().map(str::to_lowercase);
        let mut infos: HashMap<String, Option<MeetingInfo>> = HashMap::new();
        // Twice the limit covers a few hidden hits; every extra row costs FTS5 a snippet.
        let mut fetch = (limit * 2).max(20);
        let hits = loop {
            let found = match self.config.transcripts {
                true => self.store.search(&args.query, fetch, ("**", "**")),
                false => self
                    .store
                    .search_summaries(&args.query, fetch, ("**", "**")),
            };
            let raw = match found {
                Ok(raw) => raw,
                Err(StoreError::Invalid { why, .. }) => {
                    return Err(ToolError::InvalidArguments(why));
                }
                Err(e) => return Err(e.into()),
            };
            let exhausted = raw.len() < fetch || fetch >= MAX_SEARCH_FETCH;
            let mut kept = Vec::new();
            for hit in raw {
                // search_summaries returns none; kept as the rule, not as a hope.
                if hit.source == HitSource::Transcript && !self.config.transcripts {
                    continue;
                }
                let info = match infos.get(&hit.meeting_id) {
                    Some(info) => info.clone(),
                    None => {
                        let info = match self.store.meeting(&hit.meeting_id) {
                            Ok(m) => Some(m),
                            Err(StoreError::NotFound(_)) => None,
                            Err(e) => return Err(e.into()),
                        };
                        infos.insert(hit.meeting_id.clone(), info.clone());
                        info
                    }
                };
                let Some(info) = info else { continue };
                let shown = self.config.exposes(&info.labels)
                    && label
                        .as_ref()
                        .is_none_or(|l| info.labels.iter().any(|x| x.to_lowercase() == *l))
                    && since.is_none_or(|s| info.started_at.as_str() >= s);
                if shown {
                    kept.push((hit, info));
                }
                if kept.len() == limit {
                    break;
                }
            }
            if kept.len() == limit || exhausted {
                break kept;
            }
            fetch = (fetch * 4).min(MAX_SEARCH_FETCH);
        };
        let mut meetings: Vec<SearchMeeting> = Vec::new();
        for (hit, info) in hits {
            let passage = Passage {
                source: match hit.source {
                    HitSource::Transcript => "transcript",
                    HitSource::Summary => "summary",
                },
                start_ms: hit.start_ms,
                end_ms: hit.end_ms,
                speaker: hit.speaker,
                text: hit.snippet,
            };
            match meetings.iter_mut().find(|m| m.id == info.id) {
                Some(m) => m.passages.push(passage),
                None => meetings.push(SearchMeeting {
                    id: info.id,
                    title: info.title,
                    started_at: info.started_at,
                    labels: info.labels,
                    passages: vec![passage],
                }),
            }
        }
        let ids = meetings.iter().map(|m| m.id.clone()).collect();
        answer(
            &SearchAnswer {
                query: args.query,
                meetings,
                transcripts_searched: self.config.transcripts,
            },
            ids,
        )
    }

    fn list(&self, args: ListArgs) -> Result<Answer, ToolError> {
        let limit = limit(args.limit, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)?;
        let since = since(args.since.as_deref())?;
        let all = self.exposed_meetings(args.label.as_deref(), since)?;
        let more = all.len() > limit;
        let meetings: Vec<MeetingRow> = all.iter().take(limit).map(MeetingRow::from_info).collect();
        let ids = meetings.iter().map(|m| m.id.clone()).collect();
        answer(&ListAnswer { meetings, more }, ids)
    }

    fn meeting(&self, args: MeetingArgs) -> Result<Answer, ToolError> {
        let info = self.visible(&args.id)?;
        let summary = self.store.summary(&info.id)?.map(|stored| {
            let s = stored.summary;
            SummaryOut {
                markdown: s.sections.is_empty().then_some(s.markdown),
                sections: s
                    .sections
                    .into_iter()
                    .map(|x| SectionOut {
                        title: x.title,
                        body: x.body,
                    })
                    .collect(),
                action_items: s
                    .action_items
                    .into_iter()
                    .map(|a| ActionItemOut {
                        cited_at_ms: cited_at(&a.citations),
                        owner: a.owner,
                        task: a.task,
                        due: a.due,
                        done: a.done,
                    })
                    .collect(),
                decisions: s
                    .decisions
                    .into_iter()
                    .map(|d| CitedOut {
                        cited_at_ms: cited_at(&d.citations),
                        text: d.text,
                        grounding: d.grounding,
                    })
                    .collect(),
                open_questions: s
                    .open_questions
                    .into_iter()
                    .map(|q| CitedOut {
                        cited_at_ms: cited_at(&q.citations),
                        text: q.text,
                        grounding: q.grounding,
                    })
                    .collect(),
                made_by: MadeBy {
                    template: stored.provenance.template.id,
                    provider: stored.provenance.provider.map(|p| p.id),
                    model: stored.provenance.model,
                },
            }
        });
        let pages = match self.config.transcripts {
            true => Some(self.pages(&info.id, 0)?.1.len().max(1)),
            false => None,
        };
        let id = info.id.clone();
        answer(
            &MeetingAnswer {
                id: info.id,
                title: info.title,
                started_at: info.started_at,
                duration_ms: info.duration_ms,
                labels: info.labels,
                language: info.language,
                summary,
                transcript: TranscriptInfo {
                    exposed: self.config.transcripts,
                    pages,
                },
            },
            vec![id],
        )
    }

    /// The transcript from `from_ms` on, cut into pages of at most [`WORDS_PER_PAGE`] words.
    fn pages(&self, id: &str, from_ms: u64) -> Result<(String, Vec<Vec<SegmentOut>>), ToolError> {
        let document = self.store.document(id)?;
        let names = document.metadata.channel_names;
        let speakers = document.transcript.speakers;
        let mut pages: Vec<Vec<SegmentOut>> = Vec::new();
        let mut page: Vec<SegmentOut> = Vec::new();
        let mut words = 0;
        for s in document
            .transcript
            .segments
            .into_iter()
            .filter(|s| s.end_ms > from_ms)
        {
            let mut text = s.text;
            let mut n = text.split_whitespace().count();
            if n > WORDS_PER_PAGE {
                // One segment longer than a page (a transcript nobody segmented) is cut, so
                // the bound holds for every answer.
                let mut cut: Vec<&str> = text.split_whitespace().take(WORDS_PER_PAGE - 1).collect();
                cut.push("…");
                text = cut.join(" ");
                n = WORDS_PER_PAGE;
            }
            if words + n > WORDS_PER_PAGE && !page.is_empty() {
                pages.push(std::mem::take(&mut page));
                words = 0;
            }
            words += n;
            let speaker = s
                .speaker_id
                .as_deref()
                .and_then(|id| speakers.iter().find(|p| p.id == id))
                .map(|p| p.name.clone())
                .or_else(|| names.get(s.channel as usize).cloned());
            page.push(SegmentOut {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                speaker,
                text,
            });
        }
        if !page.is_empty() {
            pages.push(page);
        }
        Ok((document.metadata.title, pages))
    }

    fn transcript(&self, args: TranscriptArgs) -> Result<Answer, ToolError> {
        // Hidden first: a hidden meeting must not answer "transcripts are off".
        let info = self.visible(&args.id)?;
        if !self.config.transcripts {
            return Err(ToolError::TranscriptsOff);
        }
        let from_ms = args.from_ms.unwrap_or(0);
        let page = args.page.unwrap_or(1) as usize;
        let (title, mut pages) = self.pages(&info.id, from_ms)?;
        let count = pages.len().max(1);
        if page == 0 || page > count {
            return Err(ToolError::InvalidArguments(format!(
                "page {page} does not exist: this transcript has {count} page(s) from {from_ms} ms, numbered from 1"
            )));
        }
        let segments = match pages.len() {
            0 => Vec::new(),
            _ => std::mem::take(&mut pages[page - 1]),
        };
        answer(
            &TranscriptPage {
                id: info.id.clone(),
                title,
                from_ms,
                page,
                pages: count,
                words_per_page: WORDS_PER_PAGE,
                segments,
                next_page: (page < count).then_some(page + 1),
            },
            vec![info.id],
        )
    }

    fn action_items(&self, args: ActionItemsArgs) -> Result<Answer, ToolError> {
        let limit = limit(
            args.limit,
            DEFAULT_ACTION_ITEMS_LIMIT,
            MAX_ACTION_ITEMS_LIMIT,
        )?;
        let since = since(args.since.as_deref())?;
        let owner = args.owner.as_deref().map(str::to_lowercase);
        let open_only = args.open_only.unwrap_or(false);
        let mut items = Vec::new();
        let mut more = false;
        'meetings: for m in self
            .exposed_meetings(None, since)?
            .into_iter()
            .filter(|m| m.has_summary)
        {
            let Some(stored) = self.store.summary(&m.id)? else {
                continue;
            };
            for a in stored.summary.action_items {
                if open_only && a.done {
                    continue;
                }
                let matches = owner.as_ref().is_none_or(|o| {
                    a.owner
                        .as_deref()
                        .is_some_and(|x| x.to_lowercase().contains(o.as_str()))
                });
                if !matches {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break 'meetings;
                }
                items.push(ActionItemRow {
                    meeting_id: m.id.clone(),
                    meeting_title: m.title.clone(),
                    started_at: m.started_at.clone(),
                    cited_at_ms: cited_at(&a.citations),
                    owner: a.owner,
                    task: a.task,
                    due: a.due,
                    done: a.done,
                });
            }
        }
        let mut ids: Vec<String> = Vec::new();
        for item in &items {
            if !ids.contains(&item.meeting_id) {
                ids.push(item.meeting_id.clone());
            }
        }
        answer(&ActionItemsAnswer { items, more }, ids)
    }
}

/// An id as quoted back in an error: a megabyte of id is not echoed.
fn shorten(id: &str) -> String {
    match id.chars().count() > 100 {
        true => format!("{}…", id.chars().take(99).collect::<String>()),
        false => id.to_string(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    args: serde_json::Map<String, serde_json::Value>,
) -> Result<T, ToolError> {
    serde_json::from_value(serde_json::Value::Object(args))
        .map_err(|e| ToolError::InvalidArguments(format!("invalid arguments: {e}")))
}

fn answer<T: Serialize>(value: &T, meeting_ids: Vec<String>) -> Result<Answer, ToolError> {
    let value = serde_json::to_value(value)
        .map_err(|e| ToolError::InvalidArguments(format!("cannot encode the answer: {e}")))?;
    Ok(Answer { value, meeting_ids })
}

/// A limit within 1..=max: a huge one is refused, not clamped, so the caller learns the bound.
fn limit(given: Option<u32>, default: u32, max: u32) -> Result<usize, ToolError> {
    match given.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n as usize),
        n => Err(ToolError::InvalidArguments(format!(
            "limit {n} is out of range: 1 to {max}"
        ))),
    }
}

/// `since` as a prefix comparable with stored start times (RFC 3339, UTC).
fn since(given: Option<&str>) -> Result<Option<&str>, ToolError> {
    let Some(s) = given else { return Ok(None) };
    let bad = || {
        ToolError::InvalidArguments(format!(
            "since {s:?} is not a date: use YYYY-MM-DD or an RFC 3339 time such as 2026-11-28T09:00:00Z"
        ))
    };
    let date = s.get(..10).ok_or_else(bad)?;
    let parts: Vec<&str> = date.split('-').collect();
    let valid = matches!(parts[..], [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && y.parse::<u32>().is_ok()
        && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && d.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d)));
    let rest_ok = s.len() == 10 || (s.as_bytes()[10] == b'T' && s.len() <= 40 && s.is_ascii());
    if !valid || !rest_ok {
        return Err(bad());
    }
    Ok(Some(s))
}

/// JSON schemas of each tool's arguments.
pub fn input_schema(name: &str) -> std::sync::Arc<rmcp::model::JsonObject> {
    use rmcp::handler::server::common::schema_for_type;
    match name {
        "search_meetings" => schema_for_type::<SearchArgs>(),
        "list_meetings" => schema_for_type::<ListArgs>(),
        "get_meeting" => schema_for_type::<MeetingArgs>(),
        "get_transcript" => schema_for_type::<TranscriptArgs>(),
        _ => schema_for_type::<ActionItemsArgs>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_and_times_only() {
        assert_eq!(since(Some("2026-11-28")).ok().flatten(), Some("2026-11-28"));
        assert!(since(Some("2026-11-28T09:00:00Z")).is_ok());
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-1-1",
            "20261128",
            "2026-11-28 09:00",
            "2026-11-2é",
        ] {
            assert!(since(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_refused_not_clamped() {
        assert_eq!(limit(None, 10, 50).ok(), Some(10));
        assert!(limit(Some(0), 10, 50).is_err());
        assert!(limit(Some(51), 10, 50).is_err());
        assert_eq!(limit(Some(50), 10, 50).ok(), Some(50));
    }
}
