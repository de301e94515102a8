//! Importing audio from the app: a path on this machine (opened as `minutes process` opens it,
//! and referenced, not copied) or an upload, streamed to a file under the minutes home with a
//! size cap, never held whole in memory. Either way the meeting job transcribes, stores and
//! summarises it with the CLI's defaults, and the job's page follows it to the meeting.

use super::server::Failure;
use super::{App, pages::layout};
use crate::meeting_job::{Event, Events, FinishPlan};
use crate::model::Document;
use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use clap::Parser;
use maud::{Markup, html};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Uploads larger than this are refused: 4 GiB holds three hours of two-channel 48 kHz WAV.
/// `MINUTES_APP_MAX_UPLOAD_MB` sets another cap.
const MAX_UPLOAD_BYTES: u64 = 4 << 30;

fn max_upload() -> u64 {
    std::env::var("MINUTES_APP_MAX_UPLOAD_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(|mb| mb << 20)
        .unwrap_or(MAX_UPLOAD_BYTES)
}

pub async fn page() -> Markup {
    layout(
        "Import",
        html! {
            h1 { "Import a recording" }
            div.card {
                h2 { "A file on this machine" }
                form.inline method="post" action="/import" {
                    input type="text" name="path" required placeholder="/home/you/Recordings/standup.m4a" aria-label="Path" size="50";
                    input type="text" name="title" placeholder="title (optional)" aria-label="Title";
                    button.primary type="submit" { "Import" }
                }
                p.muted { "The file stays where it is; minutes keeps a reference to it." }
            }
            div.card #upload data-max=(max_upload()) {
                h2 { "Upload a file" }
                form.inline #upload-form {
                    input #upload-file type="file" accept="audio/*,video/mp4,.m4a,.wav,.mp3,.flac,.ogg" required aria-label="Audio file";
                    input #upload-title type="text" placeholder="title (optional)" aria-label="Title";
                    button.primary type="submit" { "Upload and import" }
                }
                progress #upload-progress hidden max="1" value="0" {}
                p #upload-message.muted {
                    "A copy is kept under the minutes home, deleted with the meeting (and by retention). Up to "
                    (max_upload() >> 20) " MB."
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct ByPath {
    path: String,
    #[serde(default)]
    title: String,
}

/// Imports a file named by its path on this machine.
pub async fn by_path(
    State(app): State<Arc<App>>,
    Form(form): Form<ByPath>,
) -> Result<Redirect, Failure> {
    let path = PathBuf::from(form.path.trim());
    let checked = path.clone();
    tokio::task::spawn_blocking(move || check_audio(&checked))
        .await
        .map_err(|e| Failure::Internal(e.to_string()))??;
    let job = start(&app, path, false, form.title);
    Ok(Redirect::to(&format!("/jobs/{}", job.id)))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: String,
    #[serde(default)]
    title: String,
}

/// Takes an upload (the request body is the file) and imports it. Answers with the job's
/// page address as JSON, for the page's script.
pub async fn upload(
    State(app): State<Arc<App>>,
    Query(query): Query<UploadQuery>,
    body: Body,
) -> Response {
    match receive(&app, &query.name, body).await {
        Ok(path) => {
            let checked = path.clone();
            let decodable = tokio::task::spawn_blocking(move || check_audio(&checked)).await;
            if let Err(e) = decodable
                .map_err(|e| Failure::Internal(e.to_string()))
                .and_then(|r| r)
            {
                let _ = std::fs::remove_file(&path);
                return refusal(StatusCode::BAD_REQUEST, e);
            }
            let job = start(&app, path, true, query.title);
            Json(serde_json::json!({ "job": format!("/jobs/{}", job.id) })).into_response()
        }
        Err((status, e)) => refusal(status, e),
    }
}

fn refusal(status: StatusCode, e: Failure) -> Response {
    let text = match e {
        Failure::NotFound(m) | Failure::Invalid(m) | Failure::Internal(m) => m,
    };
    (status, text).into_response()
}

/// Streams the body to a new file under `<home>/uploads`; a body over the cap is cut off, and
/// its partial file removed.
async fn receive(app: &App, name: &str, body: Body) -> Result<PathBuf, (StatusCode, Failure)> {
    use super::upload::ReceiveError;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let path = app
        .ctx
        .home
        .root()
        .join("uploads")
        .join(format!("{stamp}-{}", safe_name(name)));
    let cap = max_upload();
    match super::upload::receive(body, &path, cap).await {
        Ok(0) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err((
                StatusCode::BAD_REQUEST,
                Failure::Invalid("the upload is empty: choose an audio file".into()),
            ))
        }
        Ok(_) => Ok(path),
        Err(ReceiveError::Io(e)) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            Failure::Internal(format!("cannot store the upload: {e}")),
        )),
        Err(ReceiveError::Stopped(e)) => Err((
            StatusCode::BAD_REQUEST,
            Failure::Invalid(format!("the upload stopped: {e}")),
        )),
        Err(ReceiveError::TooLarge) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            Failure::Invalid(format!(
                "the file is larger than the app takes ({} MB); import it by its path instead, or run `minutes process FILE`",
                cap >> 20
            )),
        )),
    }
}

/// A file name that is safe as the last part of a path: letters, digits, `.-_`.
fn safe_name(name: &str) -> String {
    super::upload::safe_file_name(name, 100, "upload")
}

/// Refuses what is not a readable audio file before a job starts, with the decoder's reason.
fn check_audio(path: &Path) -> Result<(), Failure> {
    if !path.is_absolute() {
        return Err(Failure::Invalid(format!(
            "{} is not a full path: give it from the root, e.g. /home/you/call.m4a",
            path.display()
        )));
    }
    crate::audio::decode::AudioReader::open(path)
        .map(|_| ())
        .map_err(|e| Failure::Invalid(e.to_string()))
}

fn start(app: &Arc<App>, path: PathBuf, owned: bool, title: String) -> Arc<super::jobs::Job> {
    let worker = app.clone();
    let what = format!(
        "Import {}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    app.jobs.start(
        &path.display().to_string(),
        None,
        "/import",
        &what,
        move |events| {
            let title = Some(title.trim().to_string()).filter(|t| !t.is_empty());
            if let Err(message) = import(&worker, &path, owned, title, &events) {
                events(Event::Failed { message });
            }
        },
    )
}

/// The engine settings the CLI would use with no flags (MINUTES_MODEL and the other
/// variables apply).
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    engine: crate::cli::transcribe::EngineArgs,
}

/// Transcribes, stores and summarises `path` as `minutes process` does. Errors are messages
/// for the page; the job's events say how far it got.
fn import(
    app: &App,
    path: &Path,
    owned: bool,
    title: Option<String>,
    events: &Events,
) -> Result<(), String> {
    let ctx = app.context().map_err(|e| format!("{e:#}"))?;
    let home = ctx.home.root().to_path_buf();
    let defaults = Defaults::try_parse_from(["minutes"]).map_err(|e| e.to_string())?;
    let (total, channels) = {
        let audio = crate::audio::decode::AudioReader::open(path).map_err(|e| e.to_string())?;
        (audio.info().duration_ms, audio.info().channels)
    };
    let config = defaults
        .engine
        .config(&home)
        .map_err(|e| format!("{e:#}"))?;
    let mut engine =
        crate::transcribe::engine::Transcriber::load(config).map_err(|e| e.to_string())?;
    let channel_names = vec!["me".to_string(), "others".to_string()];
    let options = crate::transcribe::pipeline::PipelineOptions {
        channel_names: channel_names.clone(),
        diarize: defaults.engine.diarize.options(&home),
        ..Default::default()
    };
    let transcript = crate::meeting_job::transcribe(
        path,
        &mut engine,
        &options,
        Arc::new(AtomicBool::new(false)),
        total,
        events,
    )
    .map_err(|e| e.to_string())?;
    let mut document = Document {
        metadata: crate::cli::process::file_metadata(
            path,
            title,
            Vec::new(),
            &channel_names,
            transcript.duration_ms,
            transcript.channels.max(channels.min(2)),
            transcript.language.clone(),
        ),
        transcript: transcript.to_model(),
        summary: None,
        provenance: None,
    };
    // The summary as config.toml sets it (offline: the extractive template); no exports.
    crate::meeting_job::finish(
        &ctx,
        &mut document,
        path,
        owned,
        &FinishPlan::default(),
        events,
    )
    .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_become_one_safe_path_part() {
        for (given, expected) in [
            ("call.m4a", "call.m4a"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\me\\standup 1.wav", "standup_1.wav"),
            (".hidden.wav", "hidden.wav"),
            ("", "upload"),
        ] {
            assert_eq!(safe_name(given), expected, "{given:?}");
        }
    }
}
