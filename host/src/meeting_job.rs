//! The steps of a meeting — decode, transcribe, store, summarise, export — sequenced once, for
//! every face of minutes: the CLI draws the [`Event`]s as progress bars and lines, `minutes app`
//! streams them to the page. Neither face holds a step the other lacks.
//!
//! A failed store write or summary is a [`Event::Warning`], not an error: the transcript and
//! the notes already written are never lost to it. Only exports that fail end in an error, and
//! it says where the meeting was kept.

use crate::cli::Context;
use crate::model::Document;
use crate::plugins::manifest::FormatDecl;
use crate::plugins::{Home, Registry};
use crate::summarize::route::Progress as SummaryProgress;
use crate::summarize::{Choice, Summarized};
use crate::transcribe::engine::Transcriber;
use crate::transcribe::pipeline::{PipelineError, PipelineOptions, Transcript};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A step of a meeting's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Transcribe,
    Store,
    Summarize,
    Export,
}

/// What a meeting's job reports while it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A step begins; `total_ms` is the audio's length when transcribing.
    StageStarted { stage: Stage, total_ms: Option<u64> },
    /// Transcription reached `position_ms` of `total_ms`; `eta_ms` once it can be estimated.
    Transcribing {
        position_ms: u64,
        total_ms: Option<u64>,
        eta_ms: Option<u64>,
    },
    /// A transcript line, as soon as it is made.
    Segment {
        start_ms: u64,
        end_ms: u64,
        speaker: Option<String>,
        text: String,
    },
    /// The summariser planned its requests.
    SummaryPlanned {
        chunks: usize,
        expected_requests: u32,
    },
    /// A request to the provider came back.
    SummaryRequest {
        done: usize,
        expected: Option<u32>,
        output_tokens: u32,
        secs: f64,
    },
    /// The summary is made; `description` says by what (template, provider, model, tokens).
    SummaryReady { description: String },
    /// A step ended.
    StageDone { stage: Stage },
    /// Something did not work, and the job goes on without it.
    Warning { message: String },
    /// An exporter wrote a file.
    Written { path: PathBuf },
    /// A model download reached `done_bytes` of `total_bytes`.
    Downloading {
        name: String,
        done_bytes: u64,
        total_bytes: Option<u64>,
    },
    /// A recording stopped with `duration_ms` of audio on disk; its transcript is finished next.
    Recorded { duration_ms: u64 },
    /// The job ended; the meeting is stored as `meeting_id` when the store took it.
    Done { meeting_id: Option<String> },
    /// The job ended without finishing.
    Failed { message: String },
}

/// Where the job's events go. Shared: the summariser calls it from its own tasks.
pub type Events = Arc<dyn Fn(Event) + Send + Sync>;

/// How a transcribed meeting is finished.
#[derive(Debug, Clone, Default)]
pub struct FinishPlan {
    pub choice: Choice,
    pub no_summary: bool,
    /// Exporter plugins to run, in order.
    pub exporters: Vec<String>,
    /// Where exports go; `None`: `[export] dir` in config.toml, else the documents folder.
    pub dir: Option<PathBuf>,
    /// Replace notes minutes wrote before.
    pub force: bool,
}

pub struct Finished {
    pub summarized: Option<Summarized>,
    pub written: Vec<PathBuf>,
    pub meeting_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Transcribe(#[from] PipelineError),
    /// One or more exporters failed; the message says where the meeting was kept.
    #[error("{0}")]
    Export(String),
    #[error("{0:#}")]
    Setup(anyhow::Error),
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> Self {
        JobError::Setup(e)
    }
}

/// Transcribes `audio` (of `total_ms`, when known) with `engine`, reporting progress and each
/// line as it is made.
pub fn transcribe(
    audio: &Path,
    engine: &mut Transcriber,
    options: &PipelineOptions,
    cancel: Arc<AtomicBool>,
    total_ms: Option<u64>,
    events: &Events,
) -> Result<Transcript, JobError> {
    events(Event::StageStarted {
        stage: Stage::Transcribe,
        total_ms,
    });
    let transcript = crate::transcribe::pipeline::transcribe_file(
        audio,
        engine,
        options,
        cancel,
        &mut |p| {
            let eta_ms = match (p.total_ms, p.position_ms) {
                (Some(total), pos) if pos > 0 => {
                    let rate = p.elapsed.as_secs_f64() / pos as f64;
                    Some((total.saturating_sub(pos) as f64 * rate * 1000.0) as u64)
                }
                _ => None,
            };
            events(Event::Transcribing {
                position_ms: p.position_ms,
                total_ms: p.total_ms,
                eta_ms,
            })
        },
        &mut |s| {
            events(Event::Segment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                speaker: s.speaker.clone(),
                text: s.text.clone(),
            })
        },
    )?;
    events(Event::StageDone {
        stage: Stage::Transcribe,
    });
    Ok(transcript)
}

/// Stores `document` (recorded from `audio`; `audio_owned` when minutes made the recording, so
/// retention may delete it), summarises it, exports it with the plan's exporters, and records
/// all of it in the store. The meeting is stored first so the exports carry its final id.
pub fn finish(
    ctx: &Context,
    document: &mut Document,
    audio: &Path,
    audio_owned: bool,
    plan: &FinishPlan,
    events: &Events,
) -> Result<Finished, JobError> {
    let registry = Registry::open(ctx.home.clone()).map_err(anyhow::Error::from)?;
    let runtime = ctx.runtime()?;
    let warn = |message: String| events(Event::Warning { message });
    events(Event::StageStarted {
        stage: Stage::Store,
        total_ms: None,
    });
    let not_stored = |e: &dyn std::fmt::Display| {
        warn(format!(
            "the meeting was not stored (list/search will not show it): {e:#}"
        ))
    };
    let store = crate::cli::meetings::open_store(&ctx.home)
        .map_err(|e| not_stored(&e))
        .ok();
    let path = std::fs::canonicalize(audio).unwrap_or_else(|_| audio.to_path_buf());
    let meeting_id = store.as_ref().and_then(|s| {
        s.save_meeting(
            document,
            Some(crate::store::AudioRef {
                path,
                owned: audio_owned,
            }),
        )
        .map_err(|e| not_stored(&e))
        .ok()
    });
    if let Some(id) = &meeting_id {
        document.metadata.id = id.clone();
    }
    events(Event::StageDone {
        stage: Stage::Store,
    });
    let no_speech = document.transcript.segments.is_empty();
    if no_speech && !plan.no_summary {
        warn("no speech was found, so the meeting has no summary (is the right file or channel recorded?)".into());
    }
    let summarized = match plan.no_summary || no_speech {
        true => None,
        false => summarize(&runtime, &registry, &plan.choice, document, events),
    };
    if let Some(s) = &summarized {
        document.summary = Some(s.summary.clone());
        if let (Some(store), Some(id)) = (&store, &meeting_id)
            && let Err(e) = store.save_summary(
                id,
                &s.summary,
                &crate::cli::meetings::store_provenance(&s.provenance),
            )
        {
            warn(format!("the summary was not stored: {e}"));
        }
    }
    let mut written = Vec::new();
    let mut failed = Vec::new();
    let log = crate::output::WrittenLog::in_home(&ctx.home);
    if !plan.exporters.is_empty() {
        events(Event::StageStarted {
            stage: Stage::Export,
            total_ms: None,
        });
    }
    for id in &plan.exporters {
        // One exporter failing does not stop the others; the meeting is kept either way.
        match export_one(ctx, &registry, &runtime, &log, id, document, plan) {
            Ok((format, paths)) => {
                if let (Some(store), Some(meeting)) = (&store, &meeting_id) {
                    let absolute: Vec<PathBuf> = paths
                        .iter()
                        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                        .collect();
                    if let Err(e) = store.record_export(meeting, id, &format, &absolute) {
                        warn(format!("the export by {id} was not recorded: {e}"));
                    }
                }
                written.extend(paths);
            }
            Err(e) => failed.push((id.as_str(), e)),
        }
    }
    if !failed.is_empty() {
        for path in &written {
            events(Event::Written { path: path.clone() });
        }
        let message = failed_exports(&ctx.home, &failed, meeting_id.as_deref(), document);
        events(Event::Failed {
            message: message.clone(),
        });
        return Err(JobError::Export(message));
    }
    if !plan.exporters.is_empty() {
        events(Event::StageDone {
            stage: Stage::Export,
        });
    }
    events(Event::Done {
        meeting_id: meeting_id.clone(),
    });
    Ok(Finished {
        summarized,
        written,
        meeting_id,
    })
}

/// What to tell the user when exporters failed, and how to export the kept meeting again.
fn failed_exports(
    home: &Home,
    failed: &[(&str, anyhow::Error)],
    meeting_id: Option<&str>,
    document: &Document,
) -> String {
    let mut message = failed
        .iter()
        .map(|(id, e)| format!("exporter `{id}` failed: {e:#}"))
        .collect::<Vec<_>>()
        .join("\n");
    let again = |source: &str| {
        let ids: Vec<&str> = failed.iter().map(|(id, _)| *id).collect();
        format!(
            "export it again with `minutes export {source} --to {} --dir <folder>`",
            ids.join(" / --to ")
        )
    };
    message += &match meeting_id {
        Some(id) => format!(
            "\nThe meeting is kept: stored as {id} (minutes show {id}); {}",
            again(id)
        ),
        None => match keep_document(home, document) {
            Ok(path) => format!(
                "\nThe meeting is kept in {}; {}",
                path.display(),
                again(&format!("--document {}", path.display()))
            ),
            Err(e) => format!("\nThe meeting could not be kept either: {e:#}"),
        },
    };
    message
}

/// The first format an exporter offers: the one it is run with after a meeting.
pub(crate) fn first_format(plugin: &crate::plugins::LoadedPlugin) -> anyhow::Result<String> {
    crate::cli::block_on(plugin.exporter_info())??
        .formats
        .first()
        .map(|f| f.id.clone())
        .ok_or_else(|| anyhow::anyhow!("plugin `{}` offers no formats", plugin.id()))
}

/// What an exporter made of a meeting, before anything is written: the CLI writes the files
/// into a folder, the app hands them to the browser.
pub struct Rendered {
    pub format: String,
    /// What the installed manifest lets the exporter write for this format.
    pub declared: FormatDecl,
    /// (file name, contents), as the exporter named them.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Runs exporter `id` on `document` in `format` (default: its first). The files are held to
/// the manifest the host installed, not to what the plugin says now; a networked exporter's
/// requests are recorded against the meeting in the ledger.
pub fn render_export(
    registry: &Registry,
    runtime: &crate::plugins::Runtime,
    id: &str,
    format: Option<&str>,
    document: &Document,
) -> anyhow::Result<Rendered> {
    registry.get(id)?;
    let manifest = registry.manifest(id)?;
    let plugin = registry
        .load(runtime, id)?
        .for_meeting(&document.metadata.id);
    let format = match format {
        Some(f) => f.to_string(),
        None => first_format(&plugin)?,
    };
    let declared = crate::cli::export::declared_format(&manifest, &format)?.clone();
    let files = crate::cli::block_on(plugin.export(&format, document))??;
    Ok(Rendered {
        format,
        declared,
        files: files.into_iter().map(|f| (f.path, f.bytes)).collect(),
    })
}

/// Runs exporter `id` on `document` and writes its files.
fn export_one(
    ctx: &Context,
    registry: &Registry,
    runtime: &crate::plugins::Runtime,
    log: &crate::output::WrittenLog,
    id: &str,
    document: &Document,
    plan: &FinishPlan,
) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let dir = crate::cli::export::output_dir(&ctx.home, plan.dir.as_deref())?;
    let r = render_export(registry, runtime, id, None, document)?;
    let paths = crate::output::write_files(id, &dir, &r.declared, &r.files, plan.force, log)?;
    Ok((r.format, paths))
}

/// Saves `document` as a meeting document file in the minutes home, for when neither the
/// store nor the exports could keep it; `minutes export --document` reads it.
fn keep_document(home: &Home, document: &Document) -> anyhow::Result<PathBuf> {
    let stem = crate::store::derived_id(&document.metadata.started_at, &document.metadata.title);
    Ok(crate::output::keep_unsaved(
        home,
        &stem,
        "json",
        &serde_json::to_vec_pretty(document)?,
    )?)
}

/// Summarises stored meeting `meeting_id` again with `choice` and stores the summary as its
/// current one. The data policy is checked before anything is sent, as for every summary.
pub fn summarize_stored(
    ctx: &Context,
    meeting_id: &str,
    choice: &Choice,
    events: &Events,
) -> Result<Summarized, JobError> {
    let fail = |message: String| {
        events(Event::Failed {
            message: message.clone(),
        });
        JobError::Setup(anyhow::anyhow!(message))
    };
    let store = crate::cli::meetings::open_store(&ctx.home).map_err(|e| fail(format!("{e:#}")))?;
    let document = store
        .document(meeting_id)
        .map_err(|e| fail(e.to_string()))?;
    if document.transcript.segments.is_empty() {
        return Err(fail(
            "the meeting has no transcribed speech, so there is nothing to summarise".into(),
        ));
    }
    let registry = Registry::open(ctx.home.clone()).map_err(|e| fail(e.to_string()))?;
    let runtime = ctx.runtime().map_err(|e| fail(format!("{e:#}")))?;
    let summarized = try_summarize(&runtime, &registry, choice, &document, events).map_err(fail)?;
    store
        .save_summary(
            meeting_id,
            &summarized.summary,
            &crate::cli::meetings::store_provenance(&summarized.provenance),
        )
        .map_err(|e| fail(format!("the summary was made but not stored: {e}")))?;
    events(Event::Done {
        meeting_id: Some(meeting_id.to_string()),
    });
    Ok(summarized)
}

/// Summarises `document`; a failure is a warning and no summary.
fn summarize(
    runtime: &crate::plugins::Runtime,
    registry: &Registry,
    choice: &Choice,
    document: &Document,
    events: &Events,
) -> Option<Summarized> {
    match try_summarize(runtime, registry, choice, document, events) {
        Ok(s) => Some(s),
        Err(e) => {
            events(Event::Warning {
                message: format!("no summary: {e}"),
            });
            None
        }
    }
}

/// Summarises `document`, reporting progress as events.
fn try_summarize(
    runtime: &crate::plugins::Runtime,
    registry: &Registry,
    choice: &Choice,
    document: &Document,
    events: &Events,
) -> Result<Summarized, String> {
    events(Event::StageStarted {
        stage: Stage::Summarize,
        total_ms: None,
    });
    let progress_events = events.clone();
    let progress: crate::summarize::route::ProgressFn = Arc::new(move |p| match p {
        SummaryProgress::Planned {
            chunks,
            expected_requests,
        } => progress_events(Event::SummaryPlanned {
            chunks,
            expected_requests,
        }),
        SummaryProgress::Request {
            done,
            expected,
            output_tokens,
            secs,
        } => progress_events(Event::SummaryRequest {
            done,
            expected,
            output_tokens,
            secs,
        }),
    });
    let result = crate::cli::block_on(crate::summarize::summarize(
        runtime,
        registry,
        choice,
        document,
        Some(progress),
    ));
    events(Event::StageDone {
        stage: Stage::Summarize,
    });
    let summarized = result
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))?;
    events(Event::SummaryReady {
        description: crate::cli::summarize::describe(&summarized.provenance),
    });
    Ok(summarized)
}
