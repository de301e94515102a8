//! The app's routes and their handlers. Store work runs on the blocking pool: SQLite calls are
//! synchronous, and a long one must not hold up the other requests.

use super::pages::{self, ListRow, MARK_END, MARK_START, MeetingView, PAGE_SIZE};
use super::{
    App, assets, audio, forms, import, manage, plugins, privacy, record, resummarize, security,
    settings,
};
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;
use std::sync::Arc;

/// Search results per request.
const SEARCH_LIMIT: usize = 30;
/// With a label filter, hits are filtered after the search: it looks further to find enough.
const SEARCH_LIMIT_FILTERED: usize = 300;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/results", get(results))
        .route("/meetings/{id}", get(meeting))
        .route("/meetings/{id}/audio", get(audio::serve))
        .route("/meetings/{id}/transcript", get(transcript_rest))
        .route("/meetings/{id}/segments/{segment}", post(correct))
        .route("/meetings/{id}/actions/{n}", post(manage::tick))
        .route("/meetings/{id}/speakers", post(manage::rename_speaker))
        .route("/meetings/{id}/title", post(manage::rename))
        .route("/meetings/{id}/labels", post(manage::add_labels))
        .route("/meetings/{id}/labels/remove", post(manage::remove_label))
        .route(
            "/meetings/{id}/delete",
            get(manage::confirm_delete).post(manage::delete),
        )
        .route("/meetings/{id}/export", post(manage::export))
        .route(
            "/meetings/{id}/summarize",
            get(resummarize::review).post(resummarize::start),
        )
        .route("/import", get(import::page).post(import::by_path))
        .route("/import/upload", post(import::upload))
        .route("/record", get(record::page).post(record::start))
        .route("/record/stop", post(record::stop_now))
        .route("/record/status", get(record::status))
        .route("/plugins", get(plugins::page))
        .route("/plugins/upload", post(plugins::upload))
        .route("/plugins/review/{token}", get(plugins::review))
        .route("/plugins/install/{token}", post(plugins::install))
        .route("/plugins/{id}/allow", post(plugins::allow))
        .route("/plugins/{id}/deny", post(plugins::deny))
        .route("/plugins/{id}/secret", post(plugins::set_secret))
        .route("/plugins/{id}/remove", post(plugins::remove))
        .route("/settings", get(settings::page))
        .route("/settings/transcribe", post(settings::save_transcribe))
        .route("/settings/summary", post(settings::save_summary))
        .route("/settings/retention", post(settings::save_retention))
        .route("/settings/models", post(settings::pull))
        .route("/privacy", get(privacy::page))
        .route("/privacy/offline", post(privacy::switch_offline))
        .route("/jobs/{n}", get(resummarize::job_page))
        .route("/jobs/{n}/events", get(resummarize::job_events))
        .route("/assets/app.css", get(assets::css))
        .route("/assets/app.js", get(assets::js))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::guard,
        ))
        .with_state(app)
}

/// What a handler could not do, as a page or a short text for the page's script.
#[derive(Debug)]
pub enum Failure {
    NotFound(String),
    Invalid(String),
    Internal(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Failure::NotFound(e.to_string()),
            StoreError::Invalid { .. }
            | StoreError::Ambiguous { .. }
            | StoreError::NoSuchSpeaker { .. }
            | StoreError::AmbiguousSpeaker { .. } => Failure::Invalid(e.to_string()),
            e => {
                tracing::error!("app: {e}");
                Failure::Internal(e.to_string())
            }
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Failure::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            Failure::Invalid(m) => (StatusCode::BAD_REQUEST, "Not possible", m),
            Failure::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "Something failed", m),
        };
        (status, pages::problem(title, &message)).into_response()
    }
}

/// Runs store work on the blocking pool.
pub async fn with_store<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App, &Store) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || work(&app, &app.store))
        .await
        .map_err(|e| Failure::Internal(format!("the request's worker stopped: {e}")))?
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    page: Option<usize>,
}

async fn list(
    State(app): State<Arc<App>>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, Failure> {
    with_store(&app, move |_, store| {
        let labels = store.labels()?;
        let results = results_markup(store, &query)?;
        Ok(pages::list_page(&query.q, &query.label, &labels, results))
    })
    .await
}

/// The list or the search hits alone, for the page's search-as-you-type.
async fn results(
    State(app): State<Arc<App>>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, Failure> {
    with_store(&app, move |_, store| results_markup(store, &query)).await
}

fn results_markup(store: &Store, query: &ListQuery) -> Result<Markup, Failure> {
    let label = Some(query.label.trim()).filter(|l| !l.is_empty());
    if crate::store::has_words(&query.q) {
        return Ok(pages::hits(&query.q, &search(store, &query.q, label)?));
    }
    let page = query.page.unwrap_or(1).max(1);
    let (infos, total) = store.list_page(label, (page - 1) * PAGE_SIZE, PAGE_SIZE)?;
    let rows = infos
        .into_iter()
        .map(|info| {
            let speakers = store.speakers(&info.id)?.into_iter().map(|s| s.name);
            Ok(ListRow {
                speakers: speakers.collect(),
                info,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(pages::meetings_table(
        &rows,
        page,
        total,
        label.unwrap_or(""),
    ))
}

/// The store's search (the one `minutes search` and the MCP server use), limited to meetings
/// with `label` when one is chosen.
pub fn search(
    store: &Store,
    query: &str,
    label: Option<&str>,
) -> Result<Vec<crate::store::SearchHit>, Failure> {
    let Some(label) = label else {
        return Ok(store.search(query, SEARCH_LIMIT, (MARK_START, MARK_END))?);
    };
    let mut labelled = std::collections::HashMap::new();
    let mut hits = store.search(query, SEARCH_LIMIT_FILTERED, (MARK_START, MARK_END))?;
    hits.retain(|h| {
        *labelled.entry(h.meeting_id.clone()).or_insert_with(|| {
            store
                .meeting(&h.meeting_id)
                .is_ok_and(|m| m.labels.iter().any(|l| l.eq_ignore_ascii_case(label)))
        })
    });
    hits.truncate(SEARCH_LIMIT);
    Ok(hits)
}

async fn meeting(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Markup, Failure> {
    with_store(&app, move |app, store| {
        let info = store.meeting(&id)?;
        let document = store.document(&id)?;
        let summary = store.summary(&id)?;
        let originals = store.original_texts(&id)?;
        let speakers = store.speaker_table(&id)?;
        let registry = crate::plugins::Registry::open(app.ctx.home.clone());
        let offered = registry
            .as_ref()
            .map(forms::Offered::from_registry)
            .unwrap_or_default();
        let data_policy = summary
            .as_ref()
            .and_then(|s| s.provenance.provider.as_ref())
            .and_then(|p| registry.as_ref().ok()?.manifest(&p.id).ok())
            .and_then(|m| m.data_policy);
        let view = MeetingView {
            document: &document,
            info: &info,
            summary: summary.as_ref(),
            data_policy: data_policy.as_ref(),
            originals: &originals,
            audio_problem: audio::problem(&info),
            speakers: &speakers,
            offered: &offered,
        };
        Ok(pages::meeting(&view))
    })
    .await
}

#[derive(Deserialize)]
struct Rest {
    #[serde(default)]
    from: usize,
}

/// The transcript's lines from `from` on, as the meeting page's list items: the page shows the
/// first ones and asks for these once it is painted.
async fn transcript_rest(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<Rest>,
) -> Result<Markup, Failure> {
    with_store(&app, move |_, store| {
        let document = store.document(&id)?;
        let originals = store.original_texts(&id)?;
        Ok(pages::transcript_lines(
            &document,
            &originals,
            q.from,
            usize::MAX,
        ))
    })
    .await
}

#[derive(Deserialize)]
struct Correction {
    text: String,
}

/// Stores a corrected segment text; answers with the segment as stored.
async fn correct(
    State(app): State<Arc<App>>,
    Path((id, segment)): Path<(String, u32)>,
    Form(form): Form<Correction>,
) -> Response {
    let result = with_store(&app, move |_, store| {
        Ok(store.correct_segment(&id, segment, &form.text)?)
    })
    .await;
    match result {
        Ok(c) => Json(c).into_response(),
        // The page's script shows this text beside the line.
        Err(Failure::NotFound(m) | Failure::Invalid(m)) => {
            (StatusCode::BAD_REQUEST, m).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn not_found(request: Request) -> Failure {
    Failure::NotFound(format!("There is no page at {}.", request.uri().path()))
}
