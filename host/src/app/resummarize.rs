//! Summarising a meeting again from its page: first a review of what would be sent where and
//! the data policy's verdict (nothing is sent yet), then, on the user's confirmation, a job
//! whose progress streams to the page. The summary is made by `meeting_job::summarize_stored`,
//! which checks the policy again before sending: the review is for the user, not the guard.

use super::server::{Failure, with_store};
use super::{App, forms, jobs};
use crate::summarize::Choice;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::Markup;
use serde::Deserialize;
use std::sync::Arc;

/// The template and provider chosen on the page; empty means config.toml's default.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Chosen {
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub provider: String,
}

impl Chosen {
    fn choice(&self) -> Choice {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Choice {
            template: some(&self.template),
            provider: some(&self.provider),
            ..Choice::default()
        }
    }

    /// What the job is called: two clicks on the same choice join one job.
    fn what(&self) -> String {
        let name = |s: &str, default: &'static str| match s.trim() {
            "" => default.to_string(),
            s => s.to_string(),
        };
        format!(
            "Summarise with {} via {}",
            name(&self.template, "the default template"),
            name(&self.provider, "the default provider")
        )
    }
}

/// The review page: the plan, the provider's data policy and the verdict.
pub async fn review(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(chosen): Query<Chosen>,
) -> Result<Markup, Failure> {
    with_store(&app, move |app, store| {
        let info = store.meeting(&id)?;
        let review = crate::plugins::Registry::open(app.ctx.home.clone())
            .map_err(|e| Failure::Internal(e.to_string()))
            .and_then(|registry| {
                let runtime = app
                    .context()
                    .and_then(|c| c.runtime())
                    .map_err(|e| Failure::Internal(format!("{e:#}")))?;
                crate::cli::block_on(crate::summarize::review::review(
                    &runtime,
                    &registry,
                    &chosen.choice(),
                    &info.labels,
                ))
                .map_err(|e| Failure::Internal(format!("{e:#}")))?
                .map_err(|e| Failure::Invalid(e.to_string()))
            });
        Ok(forms::review_page(&info, &chosen, review.as_ref()))
    })
    .await
}

/// Starts the summary and sends the browser to its progress page.
pub async fn start(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(chosen): Form<Chosen>,
) -> Result<Redirect, Failure> {
    // The meeting must exist before a job is made for it.
    let id = with_store(&app, move |_, store| Ok(store.meeting(&id)?.id)).await?;
    let worker = app.clone();
    let meeting = id.clone();
    let choice = chosen.choice();
    let back = format!("/meetings/{}#tools", super::manage::url_part(&id));
    let job = app
        .jobs
        .start(&id, Some(&id), &back, &chosen.what(), move |events| {
            let ctx = match worker.context() {
                Ok(ctx) => ctx,
                Err(e) => {
                    events(crate::meeting_job::Event::Failed {
                        message: format!("{e:#}"),
                    });
                    return;
                }
            };
            let _ = crate::meeting_job::summarize_stored(&ctx, &meeting, &choice, &events);
        });
    Ok(Redirect::to(&format!("/jobs/{}", job.id)))
}

pub async fn job_page(State(app): State<Arc<App>>, Path(n): Path<u64>) -> Result<Markup, Failure> {
    let job = app.jobs.get(n).ok_or_else(gone)?;
    let meeting = job.meeting();
    // The meeting's title, when there is a meeting yet (an import makes it at the end).
    let title = with_store(&app, move |_, store| {
        Ok(match meeting {
            Some(id) => store.meeting(&id).ok().map(|m| (id, m.title)),
            None => None,
        })
    })
    .await?;
    Ok(forms::job_page(&job, title.as_ref(), &job.events()))
}

pub async fn job_events(State(app): State<Arc<App>>, Path(n): Path<u64>) -> Response {
    match app.jobs.get(n) {
        Some(job) => jobs::stream(job).into_response(),
        None => gone().into_response(),
    }
}

fn gone() -> Failure {
    Failure::NotFound(
        "There is no such job: the app keeps jobs only while it runs. The meeting's page shows what was stored."
            .into(),
    )
}
