//! The meeting page's tools (speakers, title, labels, export, summarise again, delete) and the
//! pages they lead to. Like every page, values are escaped by maud.

use super::jobs::Job;
use super::manage::url_part;
use super::pages::{clock, layout};
use super::resummarize::Chosen;
use super::server::Failure;
use crate::meeting_job::{Event, Stage};
use crate::model::MeetingMetadata;
use crate::plugins::manifest::Tristate;
use crate::store::{Deleted, MeetingInfo, SpeakerEntry};
use crate::summarize::review::Review;
use maud::{Markup, html};

/// Installed plugins the page offers, by id.
#[derive(Debug, Default)]
pub struct Offered {
    pub exporters: Vec<String>,
    pub templates: Vec<String>,
    pub providers: Vec<String>,
}

impl Offered {
    pub fn from_registry(registry: &crate::plugins::Registry) -> Offered {
        use crate::plugins::manifest::Kind;
        let mut offered = Offered::default();
        for entry in registry.installed() {
            let list = match entry.kind {
                Kind::Exporter => &mut offered.exporters,
                Kind::Template => &mut offered.templates,
                Kind::Provider => &mut offered.providers,
                _ => continue,
            };
            list.push(entry.id.clone());
        }
        offered
    }
}

fn meeting_url(id: &str) -> String {
    format!("/meetings/{}", url_part(id))
}

/// Who spoke, for how long, and a field to name each one.
pub fn speakers(meeting_id: &str, entries: &[SpeakerEntry]) -> Markup {
    let action = format!("{}/speakers", meeting_url(meeting_id));
    html! {
        @if !entries.is_empty() {
            h2 #speakers { "Speakers" }
            table.plain.speakers {
                tr { th { "Speaker" } th { "Talk time" } th { "Name" } }
                @for s in entries {
                    tr {
                        td {
                            (s.name)
                            @if s.name != s.label { span.muted { " (was " (s.label) ")" } }
                        }
                        td.num { (clock(s.talk_ms)) }
                        td {
                            form.inline method="post" action=(action) {
                                input type="hidden" name="who" value=(s.id);
                                input type="text" name="name" value=(s.name) required maxlength="100"
                                    aria-label=(format!("Name for {}", s.label));
                                button type="submit" { "Rename" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Title, labels, export, summarise again and delete.
pub fn tools(info: &MeetingInfo, offered: &Offered) -> Markup {
    let base = meeting_url(&info.id);
    html! {
        h2 #tools { "Meeting" }
        div.card.tools {
            form.inline method="post" action=(format!("{base}/title")) {
                label for="title" { "Title" }
                input #title type="text" name="title" value=(info.title) required maxlength="200";
                button type="submit" { "Rename" }
            }
            div.inline {
                span.field { "Labels" }
                @for l in &info.labels {
                    form.chip method="post" action=(format!("{base}/labels/remove")) {
                        span.label { (l) }
                        input type="hidden" name="labels" value=(l);
                        button.x type="submit" title=(format!("Remove label {l}")) aria-label=(format!("Remove label {l}")) { "×" }
                    }
                }
                form.inline method="post" action=(format!("{base}/labels")) {
                    input type="text" name="labels" placeholder="add labels, comma separated" aria-label="New labels";
                    button type="submit" { "Add" }
                }
            }
            form.inline method="post" action=(format!("{base}/export")) {
                label for="exporter" { "Export" }
                @if offered.exporters.is_empty() {
                    span.muted { "no exporter is installed (minutes plugin install …)" }
                } @else {
                    select #exporter name="exporter" {
                        @for e in &offered.exporters { option value=(e) { (e) } }
                    }
                    button type="submit" { "Download" }
                }
            }
            form.inline method="get" action=(format!("{base}/summarize")) {
                label for="template" { "Summarise" }
                select #template name="template" {
                    option value="" { "default template" }
                    @for t in &offered.templates { option value=(t) { (t) } }
                }
                select name="provider" aria-label="Provider" {
                    option value="" { "default provider" }
                    option value="none" { "none (offline)" }
                    @for p in &offered.providers { option value=(p) { (p) } }
                }
                button type="submit" { "Review…" }
            }
            p { a.danger href=(format!("{base}/delete")) { "Delete this meeting…" } }
        }
    }
}

pub fn confirm_delete(info: &MeetingInfo) -> Markup {
    let recording = match &info.audio {
        Some(a) if a.owned => Some(a.path.display().to_string()),
        _ => None,
    };
    layout(
        "Delete meeting",
        html! {
            h1 { "Delete “" (info.title) "”?" }
            div.card {
                p { "This deletes the meeting's transcript, its summaries and its export records"
                    @if let Some(r) = &recording { ", and the recording minutes made (" code { (r) } ")" }
                    ". It cannot be undone." }
                @if let Some(a) = info.audio.as_ref().filter(|a| !a.owned) {
                    p.muted { "Your audio file " code { (a.path.display().to_string()) } " is left where it is." }
                }
                form method="post" action=(format!("{}/delete", meeting_url(&info.id))) {
                    button.danger type="submit" { "Delete" }
                    " "
                    a href=(meeting_url(&info.id)) { "Cancel" }
                }
            }
        },
    )
}

pub fn deleted(d: &Deleted) -> Markup {
    layout(
        "Deleted",
        html! {
            h1 { "Deleted “" (d.title) "”" }
            @if let Some(p) = &d.audio_removed { p { "Its recording " code { (p.display().to_string()) } " is deleted too." } }
            @if let Some(e) = &d.audio_error { p.notice { "The meeting is gone, but its recording could not be deleted: " (e) } }
            p { a href="/" { "← all meetings" } }
        },
    )
}

pub fn delivered(meta: &MeetingMetadata, exporter: &str) -> Markup {
    layout(
        "Exported",
        html! {
            h1 { "Exported “" (meta.title) "”" }
            p { "Exporter " code { (exporter) } " is done; it delivered the meeting itself and wrote no file. "
                "Every request it made is in " code { "minutes audit" } "." }
            p { a href=(meeting_url(&meta.id)) { "← back to the meeting" } }
        },
    )
}

fn tristate(t: Tristate) -> &'static str {
    match t {
        Tristate::Yes => "yes",
        Tristate::No => "no",
        Tristate::Unknown => "unknown",
    }
}

/// What a summary would send where, and whether config.toml's policy allows it.
pub fn review_page(
    info: &MeetingInfo,
    chosen: &Chosen,
    review: Result<&Review, &Failure>,
) -> Markup {
    let base = meeting_url(&info.id);
    let body = html! {
        h1 { "Summarise “" (info.title) "” again" }
        @match review {
            Err(e) => {
                div.card.refused {
                    p { strong { "This summary cannot be made: " } (failure_text(e)) }
                    p { a href=(format!("{base}#tools")) { "← choose another template or provider" } }
                }
            }
            Ok(r) => {
                div.card.review {
                    dl.facts {
                        dt { "Template" } dd { code { (r.template) } }
                        @match &r.provider {
                            None => {
                                dt { "Provider" } dd { "none" }
                                dt { "Sent" } dd.local { "nothing: the summary is made on this machine" }
                            }
                            Some(p) => {
                                dt { "Provider" } dd { (p.name) " " span.muted { "(" (p.id) " " (p.version) ")" } }
                                dt { "Model" } dd { (p.model.as_deref().unwrap_or("the provider's default")) }
                                dt { "Sent" } dd { (crate::cli::providers::SENDS) }
                                dt { "Goes to" }
                                dd {
                                    @if p.origins.is_empty() { "nowhere: no origin is granted" }
                                    @for o in &p.origins { code { (o) } " " }
                                    @if p.local { span.local { "this machine only" } }
                                }
                                @match &p.data_policy {
                                    Some(d) => {
                                        dt { "Retention" } dd { (d.retention) }
                                        dt { "Trains on data" } dd { (tristate(d.trains_on_data)) }
                                        dt { "Zero retention" } dd { "available: " (tristate(d.zero_retention_available)) " · by default: " (tristate(d.zero_retention_default)) }
                                        dt { "Region" } dd { (d.region.as_deref().unwrap_or("not declared")) }
                                    }
                                    None => { dt { "Data policy" } dd { "not declared by the provider" } }
                                }
                            }
                        }
                    }
                }
                @match &r.refusal {
                    Some(why) => div.card.refused {
                        p { strong { "Your data policy refuses this. " } (why) }
                        @if let Some(rule) = &r.refused_by { p { "The rule: " code { (rule) } " in config.toml." } }
                        p { a href=(format!("{base}#tools")) { "← choose another provider" } }
                    },
                    None => div.card.allowed {
                        p { "Your data policy (" code { "[policy]" } " in config.toml) allows this." }
                        form method="post" action=(format!("{base}/summarize")) {
                            input type="hidden" name="template" value=(chosen.template);
                            input type="hidden" name="provider" value=(chosen.provider);
                            button.primary type="submit" { "Summarise now" }
                            " "
                            a href=(base) { "Cancel" }
                        }
                    },
                }
            }
        }
    };
    layout("Summarise again", body)
}

fn failure_text(f: &Failure) -> &str {
    match f {
        Failure::NotFound(m) | Failure::Invalid(m) | Failure::Internal(m) => m,
    }
}

/// One line per event, as the page's script also writes them.
fn event_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::StageStarted { stage, .. } => match stage {
            Stage::Transcribe => "Transcribing…".into(),
            Stage::Store => "Storing…".into(),
            Stage::Summarize => "Summarising…".into(),
            Stage::Export => "Exporting…".into(),
        },
        Event::SummaryPlanned {
            chunks,
            expected_requests,
        } => format!("{chunks} chunk(s), about {expected_requests} request(s) to the provider"),
        Event::SummaryRequest {
            done,
            expected,
            output_tokens,
            secs,
        } => format!(
            "request {done}{} answered: {output_tokens} tokens in {secs:.1} s",
            expected.map(|n| format!(" of {n}")).unwrap_or_default()
        ),
        Event::SummaryReady { description } => description.clone(),
        Event::Warning { message } => format!("warning: {message}"),
        Event::Failed { message } => format!("failed: {message}"),
        Event::Done { .. } => "Done.".into(),
        Event::Recorded { duration_ms } => {
            format!("Recorded {}.", super::pages::clock(*duration_ms))
        }
        Event::StageDone {
            stage: Stage::Transcribe,
        } => "Transcribed.".into(),
        _ => return None,
    })
}

pub fn job_page(job: &Job, meeting: Option<&(String, String)>, events: &[Event]) -> Markup {
    let finished = events
        .iter()
        .any(|e| matches!(e, Event::Done { .. } | Event::Failed { .. }));
    let failed = events.iter().any(|e| matches!(e, Event::Failed { .. }));
    let outcome = match (finished, failed) {
        (false, _) => "running",
        (true, false) => "done",
        (true, true) => "failed",
    };
    let back = job.back.clone();
    layout(
        &job.what,
        html! {
            h1 { (job.what) }
            @if let Some((id, title)) = meeting { p.muted { "Meeting: " a href=(meeting_url(id)) { (title) } } }
            div.card #job data-events=(format!("/jobs/{}/events", job.id))
                data-meeting=[meeting.map(|(id, _)| meeting_url(id))] data-back=(back) data-outcome=(outcome) {
                progress #job-progress max="1" value=[finished.then_some(1)] {}
                p #job-status.muted {}
                ol #job-log {
                    @for line in events.iter().filter_map(event_line) { li { (line) } }
                }
                ol #job-transcript {}
                p #job-end {
                    @match (outcome, meeting) {
                        ("done", Some((id, _))) => a href=(meeting_url(id)) { "Open the meeting →" },
                        ("failed", _) => a href=(back) { "← back" },
                        _ => {},
                    }
                }
            }
            p.muted { "You can close this tab: the work goes on, and its result is stored with the meeting." }
        },
    )
}
