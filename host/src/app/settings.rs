//! The settings page: the whisper model (list, download with progress, choose), the spoken
//! language, the default template and provider, and retention. Everything is a key in
//! config.toml that the CLI reads too (`[transcribe]`, `[summary]`, `[retention]`), edited in
//! place so the user's own lines stay.

use super::App;
use super::forms::Offered;
use super::pages::layout;
use super::server::{Failure, with_store};
use crate::config_edit::{Edit, apply};
use crate::meeting_job::Event;
use crate::transcribe::models::{self, CATALOG, Download};
use axum::extract::{Form, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;
use std::sync::Arc;

/// Languages offered in the list; any other whisper code can be typed in config.toml.
const LANGUAGES: &[(&str, &str)] = &[
    ("auto", "detect"),
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pt", "Portuguese"),
    ("pl", "Polish"),
    ("sv", "Swedish"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
];

/// What the page shows: config.toml's values as they are now.
struct Current {
    model: Option<String>,
    language: Option<String>,
    template: Option<String>,
    provider: Option<String>,
    audio_days: Option<i64>,
    meeting_days: Option<i64>,
}

fn current(app: &App) -> Result<Current, Failure> {
    let table = crate::cli::config_table(&app.ctx.home)
        .map_err(|e| Failure::Invalid(format!("{e:#}")))?
        .unwrap_or_default();
    let text = |t: &str, k: &str| {
        table
            .get(t)
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let days = |k: &str| {
        table
            .get("retention")
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_integer())
    };
    Ok(Current {
        model: text("transcribe", "model"),
        language: text("transcribe", "language"),
        template: text("summary", "template"),
        provider: text("summary", "provider"),
        audio_days: days("delete_audio_after_days"),
        meeting_days: days("delete_meetings_after_days"),
    })
}

pub async fn page(State(app): State<Arc<App>>) -> Result<Markup, Failure> {
    with_store(&app, move |app, _| {
        let now = current(app)?;
        let offered = crate::plugins::Registry::open(app.ctx.home.clone())
            .map(|r| Offered::from_registry(&r))
            .unwrap_or_default();
        let dir = models::models_dir(app.ctx.home.root());
        let installed: Vec<&str> = CATALOG
            .iter()
            .filter(|k| dir.join(k.file_name()).is_file())
            .map(|k| k.name)
            .collect();
        let automatic = models::default_model(app.ctx.home.root())
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        Ok(render(&now, &offered, &installed, automatic.as_deref()))
    })
    .await
}

fn render(now: &Current, offered: &Offered, installed: &[&str], automatic: Option<&str>) -> Markup {
    let language = now.language.as_deref().unwrap_or("auto");
    let body = html! {
        h1 { "Settings" }
        p.muted { "Saved in config.toml in the minutes home; the command line uses the same settings." }
        h2 #transcription { "Transcription" }
        form.card method="post" action="/settings/transcribe" {
            div.inline {
                label for="model" { "Model" }
                select #model name="model" {
                    option value="" selected[now.model.is_none()] {
                        "the best installed" @if let Some(a) = automatic { " (now " (a) ")" }
                    }
                    @for name in installed { option value=(name) selected[now.model.as_deref() == Some(*name)] { (name) } }
                    @if let Some(m) = now.model.as_deref().filter(|m| !installed.contains(m)) {
                        option value=(m) selected { (m) " (not installed)" }
                    }
                }
            }
            div.inline {
                label for="language" { "Language" }
                select #language name="language" {
                    @for (code, name) in LANGUAGES { option value=(code) selected[*code == language] { (name) " (" (code) ")" } }
                    @if !LANGUAGES.iter().any(|(c, _)| *c == language) { option value=(language) selected { (language) } }
                }
            }
            button type="submit" { "Save" }
        }
        table.plain.models {
            tr { th { "Whisper model" } th { "Size" } th { "Languages" } th {} }
            @for k in CATALOG {
                tr {
                    td { code { (k.name) } }
                    td.num { (k.size_mb) " MB" }
                    td { @if k.english_only { "English" } @else { "99 languages" } }
                    td {
                        @if installed.contains(&k.name) { span.local { "installed" } }
                        @else {
                            form.inline method="post" action="/settings/models" {
                                input type="hidden" name="name" value=(k.name);
                                button type="submit" { "Download" }
                            }
                        }
                    }
                }
            }
        }
        h2 #summaries { "Summaries" }
        form.card method="post" action="/settings/summary" {
            div.inline {
                label for="default-template" { "Template" }
                select #default-template name="template" {
                    option value="" selected[now.template.is_none()] { "automatic (extractive offline, standard with a provider)" }
                    @for t in &offered.templates { option value=(t) selected[now.template.as_deref() == Some(t.as_str())] { (t) } }
                }
            }
            div.inline {
                label for="default-provider" { "Provider" }
                select #default-provider name="provider" {
                    option value="" selected[now.provider.is_none()] { "none: summaries made on this machine" }
                    @for p in &offered.providers { option value=(p) selected[now.provider.as_deref() == Some(p.as_str())] { (p) } }
                }
            }
            button type="submit" { "Save" }
            p.muted { "Every summary checks your data policy (see Privacy) before anything is sent." }
        }
        h2 #retention { "Retention" }
        form.card method="post" action="/settings/retention" {
            div.inline {
                label for="audio-days" { "Recordings" }
                input #audio-days type="number" name="audio_days" min="1" max="36500" value=[now.audio_days] placeholder="keep";
                span.muted { "days, then recordings minutes made are deleted (transcripts and summaries stay)" }
            }
            div.inline {
                label for="meeting-days" { "Meetings" }
                input #meeting-days type="number" name="meeting_days" min="1" max="36500" value=[now.meeting_days] placeholder="keep";
                span.muted { "days, then whole meetings are deleted" }
            }
            button type="submit" { "Save" }
            p.muted { "Empty: kept for ever. Files you imported are never deleted. Applied whenever minutes opens its store." }
        }
    };
    layout("Settings", body)
}

fn save(app: &App, edits: &[Edit<'_>]) -> Result<(), Failure> {
    apply(&app.ctx.home, edits).map_err(|e| Failure::Invalid(e.to_string()))
}

/// `Some(text)` for a non-empty field.
fn field(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

fn set_or_remove<'a>(table: &'a str, key: &'a str, value: Option<&str>) -> Edit<'a> {
    match value {
        Some(v) => Edit::set(Some(table), key, v),
        None => Edit::remove(Some(table), key),
    }
}

#[derive(Deserialize)]
pub struct TranscribeForm {
    #[serde(default)]
    model: String,
    #[serde(default)]
    language: String,
}

pub async fn save_transcribe(
    State(app): State<Arc<App>>,
    Form(form): Form<TranscribeForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let model = field(&form.model);
        if let Some(m) = model {
            models::resolve(m, app.ctx.home.root()).map_err(|e| Failure::Invalid(e.to_string()))?;
        }
        let language = field(&form.language).filter(|l| *l != "auto");
        if let Some(l) = language
            && !(l.len() <= 3 && l.chars().all(|c| c.is_ascii_lowercase()))
        {
            return Err(Failure::Invalid(format!(
                "`{l}` is not a language code (en, de, fr, …)"
            )));
        }
        save(
            app,
            &[
                set_or_remove("transcribe", "model", model),
                set_or_remove("transcribe", "language", language),
            ],
        )?;
        Ok(Redirect::to("/settings#transcription"))
    })
    .await
}

#[derive(Deserialize)]
pub struct SummaryForm {
    #[serde(default)]
    template: String,
    #[serde(default)]
    provider: String,
}

pub async fn save_summary(
    State(app): State<Arc<App>>,
    Form(form): Form<SummaryForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let registry = crate::plugins::Registry::open(app.ctx.home.clone())
            .map_err(|e| Failure::Internal(e.to_string()))?;
        for id in [field(&form.template), field(&form.provider)]
            .into_iter()
            .flatten()
        {
            registry
                .get(id)
                .map_err(|e| Failure::Invalid(e.to_string()))?;
        }
        save(
            app,
            &[
                set_or_remove("summary", "template", field(&form.template)),
                set_or_remove("summary", "provider", field(&form.provider)),
            ],
        )?;
        Ok(Redirect::to("/settings#summaries"))
    })
    .await
}

#[derive(Deserialize)]
pub struct RetentionForm {
    #[serde(default)]
    audio_days: String,
    #[serde(default)]
    meeting_days: String,
}

pub async fn save_retention(
    State(app): State<Arc<App>>,
    Form(form): Form<RetentionForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let days = |what: &str, s: &str| -> Result<Option<i64>, Failure> {
            match field(s) {
                None => Ok(None),
                Some(t) => match t.parse::<i64>() {
                    Ok(n) if (1..=36_500).contains(&n) => Ok(Some(n)),
                    _ => Err(Failure::Invalid(format!(
                        "{what}: `{t}` is not a number of days from 1 to 36500 (leave it empty to keep them)"
                    ))),
                },
            }
        };
        let edit = |key, value: Option<i64>| match value {
            Some(n) => Edit::set(Some("retention"), key, n),
            None => Edit::remove(Some("retention"), key),
        };
        let audio = days("recordings", &form.audio_days)?;
        let meetings = days("meetings", &form.meeting_days)?;
        save(
            app,
            &[
                edit("delete_audio_after_days", audio),
                edit("delete_meetings_after_days", meetings),
            ],
        )?;
        Ok(Redirect::to("/settings#retention"))
    })
    .await
}

#[derive(Deserialize)]
pub struct PullForm {
    name: String,
}

/// Downloads a whisper model as a job whose progress the job page shows.
pub async fn pull(
    State(app): State<Arc<App>>,
    Form(form): Form<PullForm>,
) -> Result<Redirect, Failure> {
    let known = models::find(&form.name).ok_or_else(|| {
        Failure::Invalid(models::ModelError::Unknown(form.name.clone()).to_string())
    })?;
    let dest = models::models_dir(app.ctx.home.root()).join(known.file_name());
    let home = app.ctx.home.clone();
    let job = app.jobs.start(
        known.name,
        None,
        "/settings#transcription",
        &format!("Download the {} model", known.name),
        move |events| {
            let name = known.name.to_string();
            let progress = |done: u64, total: Option<u64>| {
                events(Event::Downloading {
                    name: name.clone(),
                    done_bytes: done,
                    total_bytes: total,
                })
            };
            let result = crate::fsperm::create_private_dir(home.root())
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    crate::cli::block_on(models::pull(
                        &Download::for_model(known),
                        &dest,
                        &progress,
                    ))
                    .map_err(|e| format!("{e:#}"))
                })
                .and_then(|r| r.map_err(|e| e.to_string()));
            events(match result {
                Ok(_) => Event::Done { meeting_id: None },
                Err(message) => Event::Failed { message },
            });
        },
    );
    Ok(Redirect::to(&format!("/jobs/{}", job.id)))
}
