//! What a meeting page changes: ticks on action items, speaker names, the title, labels,
//! deletion and exports. Each goes through the same store and plugin calls as the CLI's
//! `done`, `speakers rename`, `rename`, `label`, `delete` and `export`. Forms post and are
//! redirected back (303), so reloading a page never sends a form twice.

use super::server::{Failure, with_store};
use super::{App, forms};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use maud::Markup;
use serde::Deserialize;
use std::sync::Arc;

fn back_to(id: &str, anchor: &str) -> Redirect {
    Redirect::to(&format!("/meetings/{}{anchor}", url_part(id)))
}

/// A meeting id as one URL path segment.
pub fn url_part(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct Tick {
    done: bool,
}

/// Ticks action item `n` (1-based) off, or on again; answers with the item as stored.
pub async fn tick(
    State(app): State<Arc<App>>,
    Path((id, n)): Path<(String, usize)>,
    Form(form): Form<Tick>,
) -> Response {
    let result = with_store(&app, move |_, store| {
        Ok(store.set_action_done(&id, n, form.done)?)
    })
    .await;
    match result {
        Ok(item) => Json(item).into_response(),
        Err(Failure::NotFound(m) | Failure::Invalid(m)) => {
            (StatusCode::BAD_REQUEST, m).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SpeakerName {
    who: String,
    name: String,
}

pub async fn rename_speaker(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<SpeakerName>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |_, store| {
        store.rename_speaker(&id, &form.who, &form.name)?;
        Ok(back_to(&id, "#speakers"))
    })
    .await
}

#[derive(Deserialize)]
pub struct Title {
    title: String,
}

pub async fn rename(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<Title>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |_, store| {
        store.rename(&id, &form.title)?;
        Ok(back_to(&id, ""))
    })
    .await
}

#[derive(Deserialize)]
pub struct Labels {
    /// Labels separated by commas.
    labels: String,
}

fn split_labels(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn add_labels(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<Labels>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |_, store| {
        let labels = split_labels(&form.labels);
        if labels.is_empty() {
            return Err(Failure::Invalid(
                "Type one label, or several separated by commas.".into(),
            ));
        }
        store.add_labels(&id, &labels)?;
        Ok(back_to(&id, ""))
    })
    .await
}

pub async fn remove_label(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<Labels>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |_, store| {
        store.remove_labels(&id, &split_labels(&form.labels))?;
        Ok(back_to(&id, ""))
    })
    .await
}

/// The page that asks before deleting.
pub async fn confirm_delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Markup, Failure> {
    with_store(&app, move |_, store| {
        Ok(forms::confirm_delete(&store.meeting(&id)?))
    })
    .await
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Markup, Failure> {
    with_store(&app, move |_, store| {
        Ok(forms::deleted(&store.delete(&id)?))
    })
    .await
}

#[derive(Deserialize)]
pub struct ExportForm {
    exporter: String,
}

/// Runs an exporter on the meeting. One file comes back as a download; an exporter that
/// delivers elsewhere (a webhook) and writes nothing gets a page saying it is done.
pub async fn export(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<ExportForm>,
) -> Result<Response, Failure> {
    with_store(&app, move |app, store| {
        let document = store.document(&id)?;
        let registry = crate::plugins::Registry::open(app.ctx.home.clone())
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let runtime = app
            .context()
            .and_then(|c| c.runtime())
            .map_err(|e| Failure::Internal(format!("{e:#}")))?;
        let rendered =
            crate::meeting_job::render_export(&registry, &runtime, &form.exporter, None, &document)
                .map_err(|e| Failure::Invalid(format!("{e:#}")))?;
        match rendered.files.as_slice() {
            [] => {
                store.record_export(&id, &form.exporter, &rendered.format, &[])?;
                Ok(forms::delivered(&document.metadata, &form.exporter).into_response())
            }
            [(name, bytes)] => {
                let name = download_name(name);
                // The manifest the user installed says what the exporter may produce.
                if !rendered.declared.allows(&name) {
                    return Err(Failure::Invalid(format!(
                        "exporter `{}` made a file named {name:?}, which its manifest does not allow for format `{}`; nothing was downloaded",
                        form.exporter, rendered.format
                    )));
                }
                Ok(attachment(&name, bytes.clone()))
            }
            files => Err(Failure::Invalid(format!(
                "exporter `{}` made {} files; the app downloads one. Export them into a folder with `minutes export {id} --to {}`",
                form.exporter,
                files.len(),
                form.exporter
            ))),
        }
    })
    .await
}

/// The last part of an exporter's file name, with only safe characters: it goes into a
/// header and becomes a file in the user's downloads.
fn download_name(name: &str) -> String {
    super::upload::safe_file_name(name, usize::MAX, "meeting")
}

fn attachment(name: &str, bytes: Vec<u8>) -> Response {
    let content_type = match name.rsplit('.').next().unwrap_or("") {
        "md" => "text/markdown; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "vtt" => "text/vtt; charset=utf-8",
        "srt" => "application/x-subrip; charset=utf-8",
        _ => "application/octet-stream",
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_keep_only_a_safe_last_part() {
        for (given, expected) in [
            ("notes.md", "notes.md"),
            ("../../.bashrc", "bashrc"),
            ("dir/Weekly sync.md", "Weekly_sync.md"),
            ("a\"b\r\n.md", "a_b__.md"),
            ("", "meeting"),
            ("...", "meeting"),
        ] {
            assert_eq!(download_name(given), expected, "{given:?}");
        }
    }

    #[test]
    fn labels_are_split_on_commas() {
        assert_eq!(split_labels(" acme, sales ,,"), ["acme", "sales"]);
        assert!(split_labels(" , ").is_empty());
    }
}
