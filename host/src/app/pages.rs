//! The app's pages, rendered with maud: every value interpolated into a page is escaped by the
//! template, nothing is marked pre-escaped. Search highlights are made by splitting a snippet
//! at its match markers and wrapping the (escaped) matched parts in `<mark>`.

use crate::model::{Citation, Document, Segment};
use crate::plugins::manifest::DataPolicyDecl;
use crate::store::{HitSource, MeetingInfo, SearchHit, StoredSummary};
use maud::{DOCTYPE, Markup, html};
use std::collections::HashMap;

/// Around each matched word in a search snippet. Control characters: a transcript correction
/// cannot contain them, so text cannot fake a highlight.
pub const MARK_START: &str = "\u{2}";
pub const MARK_END: &str = "\u{3}";

/// Meetings per page of the list.
pub const PAGE_SIZE: usize = 25;

pub(super) fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · minutes" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "minutes" }
                    span.muted { "your meetings, on this machine" }
                    nav { a href="/" { "Meetings" } a href="/record" { "Record" } a href="/import" { "Import" } a href="/plugins" { "Plugins" } a href="/privacy" { "Privacy" } a href="/settings" { "Settings" } }
                }
                main { (body) }
            }
        }
    }
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn clock(ms: u64) -> String {
    crate::cli::transcribe::clock(ms)
}

/// `2026-11-28 10:00` from an RFC 3339 time.
fn when(started_at: &str) -> String {
    started_at.get(..16).unwrap_or(started_at).replace('T', " ")
}

fn duration(ms: u64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0 => format!("{} s", ms / 1000),
        m if m < 60 => format!("{m} min"),
        m => format!("{} h {:02} min", m / 60, m % 60),
    }
}

/// One row of the list with the names of who spoke.
pub struct ListRow {
    pub info: MeetingInfo,
    pub speakers: Vec<String>,
}

/// The list page: search box, label filter, and the first results.
pub fn list_page(query: &str, label: &str, labels: &[(String, usize)], results: Markup) -> Markup {
    layout(
        "Meetings",
        html! {
            form.search method="get" action="/" {
                input type="search" name="q" value=(query) placeholder="Search transcripts and summaries…"
                    autocomplete="off" autofocus aria-label="Search";
                select name="label" aria-label="Label" {
                    option value="" { "All labels" }
                    @for (l, n) in labels {
                        option value=(l) selected[l.eq_ignore_ascii_case(label)] { (l) " (" (n) ")" }
                    }
                }
                button type="submit" { "Search" }
            }
            div #results { (results) }
        },
    )
}

/// The table of meetings, newest first, with links to the neighbouring pages.
pub fn meetings_table(rows: &[ListRow], page: usize, total: usize, label: &str) -> Markup {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let link = |p: usize| {
        let mut query = format!("/?page={p}");
        if !label.is_empty() {
            query += "&label=";
            query += &url::form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>();
        }
        query
    };
    html! {
        @if rows.is_empty() {
            div.empty.card { "No meetings yet. Make one with " code { "minutes process file.wav" } "." }
        } @else {
            table.meetings {
                thead { tr { th { "Meeting" } th { "Date" } th { "Length" } th { "Speakers" } th { "Labels" } } }
                tbody {
                    @for row in rows {
                        tr {
                            td { a href=(format!("/meetings/{}", row.info.id)) { (row.info.title) } }
                            td.num { (when(&row.info.started_at)) }
                            td.num { (duration(row.info.duration_ms)) }
                            td { @if row.speakers.is_empty() { span.muted { "—" } } @else { (row.speakers.join(", ")) } }
                            td { @for l in &row.info.labels { span.label { (l) } } }
                        }
                    }
                }
            }
            div.pager {
                span { @if page > 1 { a href=(link(page - 1)) { "← newer" } } }
                span.muted { "page " (page) " of " (pages) " · " (total) " meetings" }
                span { @if page < pages { a href=(link(page + 1)) { "older →" } } }
            }
        }
    }
}

/// Search results: where each hit is, and its snippet with the matches highlighted.
pub fn hits(query: &str, hits: &[SearchHit]) -> Markup {
    html! {
        @if hits.is_empty() {
            div.empty.card { "Nothing found for “" (query) "”." }
        } @else {
            ul.hits {
                @for hit in hits {
                    li {
                        div.where {
                            a href=(hit_link(hit)) { (hit.meeting_title) }
                            " · " (when(&hit.started_at))
                            @match hit.source {
                                HitSource::Transcript => {
                                    " · " (clock(hit.start_ms.unwrap_or(0)))
                                    @if let Some(s) = &hit.speaker { " · " (s) }
                                }
                                HitSource::Summary => " · summary",
                            }
                        }
                        div.snippet { (highlighted(&hit.snippet)) }
                    }
                }
            }
        }
    }
}

fn hit_link(hit: &SearchHit) -> String {
    match hit.start_ms {
        Some(ms) => format!("/meetings/{}#t={ms}", hit.meeting_id),
        None => format!("/meetings/{}", hit.meeting_id),
    }
}

/// A snippet whose matches are between [`MARK_START`] and [`MARK_END`], with each part escaped
/// by the template and the matched ones in `<mark>`.
pub fn highlighted(snippet: &str) -> Markup {
    let mut parts: Vec<(bool, &str)> = Vec::new();
    for (i, outside) in snippet.split(MARK_START).enumerate() {
        match outside.split_once(MARK_END) {
            Some((inside, after)) if i > 0 => {
                parts.push((true, inside));
                parts.push((false, after));
            }
            _ => parts.push((false, outside)),
        }
    }
    html! {
        @for (marked, text) in parts {
            @if marked { mark { (text) } } @else { (text) }
        }
    }
}

/// What the meeting page shows.
pub struct MeetingView<'a> {
    pub document: &'a Document,
    pub info: &'a MeetingInfo,
    pub summary: Option<&'a StoredSummary>,
    /// The provider's data policy as its manifest declares it, when a provider made the summary.
    pub data_policy: Option<&'a DataPolicyDecl>,
    /// The transcriber's text of corrected segments.
    pub originals: &'a HashMap<u32, String>,
    /// Why the recording cannot be played, when it cannot.
    pub audio_problem: Option<String>,
    /// The meeting's speakers with their labels and talk time.
    pub speakers: &'a [crate::store::SpeakerEntry],
    /// Installed plugins the tools offer.
    pub offered: &'a super::forms::Offered,
}

pub fn meeting_page(v: &MeetingView<'_>) -> Markup {
    let meta = &v.document.metadata;
    let transcript = &v.document.transcript;
    html! {
        h1 { (meta.title) }
        div.meta {
            (when(&meta.started_at)) " · " (duration(meta.duration_ms))
            @if let Some(l) = &meta.language { " · " (l) }
            @if !transcript.speakers.is_empty() {
                " · "
                @for (i, s) in transcript.speakers.iter().enumerate() {
                    @if i > 0 { ", " } (s.name)
                }
            }
            " "
            @for l in &meta.labels { span.label { (l) } }
        }
        div.player {
            @match &v.audio_problem {
                None => audio #player controls preload="metadata" src=(format!("/meetings/{}/audio", meta.id)) {},
                Some(why) => p.notice { (why) },
            }
        }
        (summary(v))
        (super::forms::speakers(&meta.id, v.speakers))
        h2 { "Transcript" }
        @if transcript.segments.is_empty() {
            p.muted { "No speech was transcribed." }
        } @else {
            ol.transcript.anonymous[transcript.speakers.is_empty()] {
                (transcript_lines(v.document, v.originals, 0, FIRST_LINES))
                @if transcript.segments.len() > FIRST_LINES {
                    li.more data-rest=(format!("/meetings/{}/transcript?from={FIRST_LINES}", meta.id)) {
                        "Loading the other " (transcript.segments.len() - FIRST_LINES) " lines of the transcript…"
                    }
                }
            }
        }
        (super::forms::tools(v.info, v.offered))
    }
}

/// Transcript lines in the meeting's page itself; the rest load right after it is shown, so
/// a one-hour meeting (about 900 lines) paints as fast as a short one.
pub const FIRST_LINES: usize = 120;

/// The transcript's lines `from` on, at most `count` of them.
pub fn transcript_lines(
    document: &Document,
    originals: &HashMap<u32, String>,
    from: usize,
    count: usize,
) -> Markup {
    let t = &document.transcript;
    html! {
        @for s in t.segments.iter().skip(from).take(count) {
            (segment_line(&document.metadata.id, s, t.speaker_name(s), originals.get(&s.id)))
        }
    }
}

fn segment_line(
    meeting: &str,
    s: &Segment,
    speaker: Option<&str>,
    original: Option<&String>,
) -> Markup {
    html! {
        li.seg id=(format!("seg-{}", s.id)) data-start=(s.start_ms) data-end=(s.end_ms)
            data-edit=(format!("/meetings/{meeting}/segments/{}", s.id)) title=(format!("segment {}", s.id)) {
            span.time { (clock(s.start_ms)) }
            span.speaker { (speaker.unwrap_or("")) }
            @match original {
                Some(o) => span.text.corrected title=(format!("transcribed as: {o}")) { (s.text) },
                None => span.text { (s.text) },
            }
            button.edit type="button" title="Correct this line" { "edit" }
        }
    }
}

fn cites(citations: &[Citation]) -> Markup {
    html! {
        @for c in citations.iter().filter(|c| c.meeting_id.is_none()) {
            a.cite href=(format!("#seg-{}", c.segment_id)) data-at=(c.at_ms) { (clock(c.at_ms)) }
        }
    }
}

fn summary(v: &MeetingView<'_>) -> Markup {
    let Some(stored) = v.summary else {
        return html! { h2 { "Summary" } p.muted { "No summary yet." } };
    };
    let s = &stored.summary;
    let p = &stored.provenance;
    html! {
        h2 { "Summary" }
        div.card.summary {
            @for section in &s.sections {
                h3 { (section.title) }
                (body(&section.body))
            }
            @if !s.decisions.is_empty() {
                h3 { "Decisions" }
                ul { @for d in &s.decisions { li { (d.text) (cites(&d.citations)) } } }
            }
            @if !s.action_items.is_empty() {
                h3 { "Action items" }
                ul.actions {
                    @for (n, a) in s.action_items.iter().enumerate() {
                        li.done[a.done] {
                            input type="checkbox" checked[a.done] aria-label="done"
                                data-tick=(format!("/meetings/{}/actions/{}", super::manage::url_part(&v.info.id), n + 1));
                            " "
                            @if let Some(o) = &a.owner { strong { (o) } ": " }
                            (a.task)
                            @if let Some(d) = &a.due { span.muted { " — due " (d) } }
                            (cites(&a.citations))
                        }
                    }
                }
            }
            @if !s.open_questions.is_empty() {
                h3 { "Open questions" }
                ul { @for q in &s.open_questions { li { (q.text) (cites(&q.citations)) } } }
            }
            @if s.sections.is_empty() && s.decisions.is_empty() && s.action_items.is_empty()
                && s.open_questions.is_empty() && !s.markdown.trim().is_empty() {
                pre { (s.markdown) }
            }
            dl.provenance {
                dt { "Template" } dd { (p.template.id) " " (p.template.version) }
                dt { "Provider" }
                dd {
                    @match &p.provider {
                        Some(pr) => { (pr.id) " " (pr.version) }
                        None => "none: made on this machine",
                    }
                }
                @if let Some(m) = &p.model { dt { "Model" } dd { (m) } }
                @if p.provider.is_some() {
                    dt { "Data policy" }
                    dd {
                        @match v.data_policy {
                            Some(d) => {
                                "retention: " (d.retention)
                                " · trains on data: " (format!("{:?}", d.trains_on_data).to_lowercase())
                                " · region: " (d.region.as_deref().unwrap_or("unknown"))
                            }
                            None => "not declared (the provider is not installed any more)",
                        }
                    }
                }
                dt { "Made" } dd { (crate::time::utc(stored.created_at_ms.div_euclid(1000))) " UTC" }
            }
        }
    }
}

/// A section's Markdown body, as far as templates use it: paragraphs, `- ` lists and pipe
/// tables. Every piece of text goes through the template's escaping; nothing else is
/// interpreted (emphasis and links stay as typed).
fn body(markdown: &str) -> Markup {
    enum Block<'a> {
        Para(Vec<&'a str>),
        List(Vec<&'a str>),
        Table(Vec<Vec<&'a str>>),
    }
    let mut blocks: Vec<Block<'_>> = Vec::new();
    for line in markdown.lines().map(str::trim) {
        if line.is_empty() {
            blocks.push(Block::Para(Vec::new()));
        } else if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            match blocks.last_mut() {
                Some(Block::List(items)) => items.push(item),
                _ => blocks.push(Block::List(vec![item])),
            }
        } else if line.starts_with('|') && line.ends_with('|') && line.len() > 1 {
            let cells: Vec<&str> = line[1..line.len() - 1].split('|').map(str::trim).collect();
            // The row under the header: dashes and colons only.
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
            {
                continue;
            }
            match blocks.last_mut() {
                Some(Block::Table(rows)) => rows.push(cells),
                _ => blocks.push(Block::Table(vec![cells])),
            }
        } else {
            match blocks.last_mut() {
                Some(Block::Para(lines)) => lines.push(line),
                _ => blocks.push(Block::Para(vec![line])),
            }
        }
    }
    html! {
        @for block in &blocks {
            @match block {
                Block::Para(lines) => @if !lines.is_empty() { p { (lines.join(" ")) } },
                Block::List(items) => ul { @for i in items { li { (i) } } },
                Block::Table(rows) => table.plain {
                    @for (n, row) in rows.iter().enumerate() {
                        tr { @for cell in row { @if n == 0 { th { (cell) } } @else { td { (cell) } } } }
                    }
                },
            }
        }
    }
}

/// A page for an error the user can act on.
pub fn problem(title: &str, message: &str) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "← all meetings" } }
        },
    )
}

pub fn meeting(v: &MeetingView<'_>) -> Markup {
    layout(&v.info.title, meeting_page(v))
}
