//! Recording from the app: choose the microphone and the system-audio source, start, watch the
//! levels and the live transcript, stop. The recording is a job of the app, not of the page
//! ([`crate::record_job`], as `minutes record` uses it): closing the tab does not stop it, any tab
//! opened later shows it, and only one recording runs at a time. Stopping finishes the meeting
//! (transcript, summary, store) and the job's page leads to it. If the app dies while
//! recording, `minutes recover` makes the meeting from the audio on disk.

use super::App;
use super::jobs::Job;
use super::pages::{clock, layout};
use super::server::Failure;
use crate::meeting_job::{Event, Events, FinishPlan};
use crate::record_job::{RecordJob, RecordOptions, Source};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use clap::Parser;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// WAV files the app offers as sources (`minutes app --mic-file/--system-file`: tests, demos).
#[derive(Debug, Clone, Default)]
pub struct TestSources {
    pub mic: Option<PathBuf>,
    pub system: Option<PathBuf>,
}

/// The recording the app is making, if any.
pub struct Active {
    pub job: Arc<Job>,
    pub title: String,
    pub names: [String; 2],
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<Status>>,
}

impl Active {
    /// Recording or finishing its meeting.
    fn running(&self) -> bool {
        !self.job.finished()
    }
}

/// What the record page polls while recording.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub recording: bool,
    /// The stop was asked for: the transcript and the summary are being finished.
    pub stopping: bool,
    pub recorded_ms: u64,
    /// Peak level per channel over the last tenth of a second, in dBFS (-90 for silence).
    pub levels_db: [f32; 2],
    /// The job's page, where the meeting is finished.
    pub job: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running recording as its page shows it.
struct Shown {
    job: Arc<Job>,
    title: String,
    names: [String; 2],
    status: Status,
}

/// The running recording, if there is one.
fn active(app: &App) -> Option<Shown> {
    let slot = lock(&app.recording);
    slot.as_ref().filter(|a| a.running()).map(|a| Shown {
        job: a.job.clone(),
        title: a.title.clone(),
        names: a.names.clone(),
        status: lock(&a.status).clone(),
    })
}

/// Stops the running recording (the app is shutting down, or the page asked); the meeting is
/// still finished. Returns the job that finishes it.
pub fn stop(app: &App) -> Option<Arc<Job>> {
    let slot = lock(&app.recording);
    let a = slot.as_ref().filter(|a| a.running())?;
    a.stop.store(true, Ordering::Relaxed);
    lock(&a.status).stopping = true;
    Some(a.job.clone())
}

/// The devices to choose from: (value, label) per channel, the default first.
fn choices(app: &App) -> ([Vec<(String, String)>; 2], Option<String>) {
    let mut mic = vec![("default".to_string(), "Default microphone".to_string())];
    let mut system = vec![(
        "default".to_string(),
        "Default output (what you hear)".to_string(),
    )];
    let mut problem = None;
    match crate::audio::device::list() {
        Ok(list) => {
            use crate::audio::device::DeviceKind;
            for d in &list.devices {
                let label = format!("{} ({})", d.description, d.name);
                match d.kind {
                    DeviceKind::Input => mic.push((format!("device:{}", d.name), label)),
                    DeviceKind::Monitor => system.push((format!("device:{}", d.name), label)),
                    DeviceKind::Output => {}
                }
            }
        }
        Err(e) => problem = Some(e.to_string()),
    }
    for (list, file) in [
        (&mut mic, &app.test_sources.mic),
        (&mut system, &app.test_sources.system),
    ] {
        if let Some(f) = file {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            list.insert(
                0,
                ("file".into(), format!("File {}", name.unwrap_or_default())),
            );
        }
    }
    mic.push(("none".into(), "None (no microphone)".into()));
    system.push(("none".into(), "None (no system audio)".into()));
    ([mic, system], problem)
}

pub async fn page(State(app): State<Arc<App>>) -> Markup {
    if let Some(shown) = active(&app) {
        return recording_page(&shown.job, &shown.title, &shown.names, &shown.status);
    }
    let worker = app.clone();
    let (choices, problem) = tokio::task::spawn_blocking(move || choices(&worker))
        .await
        .unwrap_or_else(|e| (Default::default(), Some(e.to_string())));
    form_page(&choices, problem.as_deref(), None)
}

fn form_page(
    choices: &[Vec<(String, String)>; 2],
    problem: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Record",
        html! {
            h1 { "Record a meeting" }
            @if let Some(e) = error { p.notice role="alert" { (e) } }
            div.card {
                form #record-form method="post" action="/record" {
                    p { label { "Title " input type="text" name="title" placeholder="Weekly sync" size="40"; } }
                    p { label { "Microphone (channel 0, “me”) "
                        select name="mic" { @for (v, l) in &choices[0] { option value=(v) { (l) } } } } }
                    p { label { "System audio (channel 1, “others”) "
                        select name="system" { @for (v, l) in &choices[1] { option value=(v) { (l) } } } } }
                    button.primary.record type="submit" { "● Start recording" }
                }
                @if let Some(p) = problem { p.muted { "The device list is not available (" (p) "); the defaults are still tried." } }
                p.muted {
                    "The audio is written to the minutes home as it is recorded and kept safe twice a second. "
                    "You can close this tab: the recording goes on until you stop it here. "
                    "If the app stops while recording, `minutes recover` makes the meeting."
                }
            }
        },
    )
}

fn recording_page(job: &Job, title: &str, names: &[String; 2], status: &Status) -> Markup {
    layout(
        "Recording",
        html! {
            h1 { "Recording: " (title) }
            div.card #recording data-events=(format!("/jobs/{}/events", job.id))
                data-status="/record/status" data-job=(format!("/jobs/{}", job.id)) {
                p.rec-clock { span.rec-dot aria-hidden="true" { "●" } " " span #rec-elapsed { (clock(status.recorded_ms)) } }
                @for (i, name) in names.iter().enumerate() {
                    p.meter-row {
                        label for=(format!("level-{i}")) { (name) }
                        meter id=(format!("level-{i}")) min="-60" max="0" low="-20" high="-6" optimum="-30"
                            value=(status.levels_db[i].max(-60.0)) {}
                        span.muted id=(format!("level-{i}-db")) {}
                    }
                }
                form method="post" action="/record/stop" {
                    button.danger #record-stop type="submit" { "■ Stop and make the notes" }
                }
                ol #rec-warnings {}
                h2 { "Live transcript" }
                ol #rec-transcript.transcript-live {}
            }
            p.muted { "You can close this tab: the recording goes on. Open Record again to see it or stop it." }
        },
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    mic: String,
    #[serde(default)]
    system: String,
}

fn source(value: &str, file: &Option<PathBuf>) -> Result<Source, Failure> {
    Ok(match value {
        "" | "default" => Source::Default,
        "none" => Source::Off,
        "file" => Source::File(file.clone().ok_or_else(|| {
            Failure::Invalid("no file source was given to this app (minutes app --mic-file)".into())
        })?),
        v => match v.strip_prefix("device:") {
            Some(name) if !name.is_empty() => Source::Device(name.to_string()),
            _ => return Err(Failure::Invalid(format!("unknown audio source `{v}`"))),
        },
    })
}

/// The engine settings the CLI would use with no flags.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    engine: crate::cli::transcribe::EngineArgs,
}

/// Starts a recording, or shows the one that is running (a second tab cannot start another).
pub async fn start(State(app): State<Arc<App>>, Form(form): Form<StartForm>) -> Response {
    if active(&app).is_some() {
        return (
            StatusCode::CONFLICT,
            super::pages::problem(
                "Already recording",
                "A recording is already running (perhaps from another tab). Open Record to see it or stop it.",
            ),
        )
            .into_response();
    }
    let sources = (
        source(&form.mic, &app.test_sources.mic),
        source(&form.system, &app.test_sources.system),
    );
    let (mic, system) = match sources {
        (Ok(m), Ok(s)) => (m, s),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = app.clone();
    let title = form.title.trim().to_string();
    let job = app
        .jobs
        .start("recording", None, "/record", "Recording", move |events| {
            record(&worker, title, mic, system, tx, events)
        });
    match rx.await {
        Ok(Ok(active)) => {
            *lock(&app.recording) = Some(active);
            Redirect::to("/record").into_response()
        }
        Ok(Err(message)) => {
            let worker = app.clone();
            let (choices, problem) = tokio::task::spawn_blocking(move || choices(&worker))
                .await
                .unwrap_or_else(|e| (Default::default(), Some(e.to_string())));
            (
                StatusCode::BAD_REQUEST,
                form_page(&choices, problem.as_deref(), Some(&message)),
            )
                .into_response()
        }
        // The job ended before it said whether it started: its page says why.
        Err(_) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
    }
}

pub async fn stop_now(State(app): State<Arc<App>>) -> Redirect {
    match stop(&app) {
        Some(job) => Redirect::to(&format!("/jobs/{}", job.id)),
        None => Redirect::to("/record"),
    }
}

pub async fn status(State(app): State<Arc<App>>) -> Json<Status> {
    let slot = lock(&app.recording);
    Json(match slot.as_ref() {
        Some(a) => {
            let mut s = lock(&a.status).clone();
            s.job = Some(format!("/jobs/{}", a.job.id));
            s
        }
        None => Status::default(),
    })
}

fn db(peak: f32) -> f32 {
    (20.0 * peak.max(1e-6).log10()).max(-90.0)
}

/// The job: starts the recording (telling the handler how that went), keeps the levels for
/// the page until the stop, then finishes the meeting.
fn record(
    app: &Arc<App>,
    title: String,
    mic: Source,
    system: Source,
    started: tokio::sync::oneshot::Sender<Result<Active, String>>,
    events: Events,
) {
    let fail = |events: &Events, message: String| events(Event::Failed { message });
    let ctx = match app.context() {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = started.send(Err(format!("{e:#}")));
            return fail(&events, format!("{e:#}"));
        }
    };
    let home = ctx.home.root().to_path_buf();
    let defaults = match Defaults::try_parse_from(["minutes"]) {
        Ok(d) => d,
        Err(e) => {
            let _ = started.send(Err(e.to_string()));
            return fail(&events, e.to_string());
        }
    };
    let names = ["me".to_string(), "others".to_string()];
    let mut warnings = Vec::new();
    let live = match defaults.engine.config(&home) {
        Ok(config) => Some(config),
        Err(e) => {
            warnings.push(format!("no live transcript: {e:#}"));
            None
        }
    };
    let lines = events.clone();
    let options = RecordOptions {
        title: Some(title).filter(|t| !t.is_empty()),
        mic,
        system,
        channel_names: names.clone(),
        live: live.clone(),
    };
    let job = match RecordJob::start(
        &home,
        options,
        Box::new(move |s, _lag| {
            lines(Event::Segment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                speaker: s.speaker.clone(),
                text: s.text.clone(),
            })
        }),
    ) {
        Ok(job) => job,
        Err(e) => {
            let _ = started.send(Err(e.to_string()));
            return fail(&events, e.to_string());
        }
    };
    let status = Arc::new(Mutex::new(Status {
        recording: true,
        ..Status::default()
    }));
    let Some(this) = app.jobs.running("recording", "Recording") else {
        job.stop_flag().store(true, Ordering::Relaxed);
        let _ = started.send(Err("the recording's job went away".into()));
        return;
    };
    let active = Active {
        job: this,
        title: job.rec.state.title.clone(),
        names: names.clone(),
        stop: job.stop_flag(),
        status: status.clone(),
    };
    if started.send(Ok(active)).is_err() {
        // The request went away before the page could show the recording: stop, keep the audio.
        job.stop_flag().store(true, Ordering::Relaxed);
    }
    for w in warnings.iter().chain(&job.warnings) {
        events(Event::Warning { message: w.clone() });
    }
    while !job.is_finished() {
        for news in job.device_news() {
            events(Event::Warning { message: news });
        }
        let peaks = job.take_peaks();
        {
            let mut s = lock(&status);
            s.recorded_ms = job.recorded_ms();
            s.levels_db = peaks.map(db);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stopped = match job.join() {
        Ok(s) => s,
        Err(e) => return fail(&events, e.to_string()),
    };
    {
        let mut s = lock(&status);
        s.recording = false;
        s.stopping = true;
    }
    if let Some(e) = &stopped.error {
        events(Event::Warning {
            message: e.to_string(),
        });
    }
    events(Event::Recorded {
        duration_ms: stopped.duration_ms(),
    });
    let diarize = defaults.engine.diarize.options(&home);
    let transcript = match stopped.finish_live(diarize.as_ref()) {
        Some(outcome) => {
            if let Some(e) = &outcome.result.error {
                events(Event::Warning {
                    message: format!("transcription failed: {e}"),
                });
            }
            Ok(outcome.transcript)
        }
        None => match live {
            Some(config) => crate::record_job::transcribe_after(
                &stopped.rec.audio_path(),
                &names,
                config,
                diarize,
                &events,
            )
            .map_err(|e| e.to_string()),
            None => Err(format!(
                "{}; the recording is kept: get a model in Settings, then run `minutes recover`",
                warnings.join("; ")
            )),
        },
    };
    let transcript = match transcript {
        Ok(t) => t,
        Err(message) => return fail(&events, message),
    };
    let mut rec = stopped.rec;
    // The summary as config.toml sets it (offline: the extractive template); no exports. It
    // reports Done (or Failed) itself.
    let _ = crate::record_job::make_meeting(
        &ctx,
        &mut rec,
        &transcript,
        &FinishPlan::default(),
        &events,
    );
}
