//! A recording of the microphone and the system audio, for every face of minutes: `minutes
//! record` draws it on the terminal, `minutes app` on its record page. It owns the sources, the
//! crash-safe WAV, the recorder thread and the live transcript. Once stopped, its transcript is
//! finished into a meeting by [`make_meeting`] as `minutes process` finishes an imported file.
//!
//! The audio is safe on disk from the first half second: whatever happens to the face that
//! started it (a closed tab, a killed terminal), `minutes recover` makes the meeting.

use crate::audio::align::DriftConfig;
use crate::audio::live::{Live, LiveConfig, LiveResult, OnSegment};
use crate::audio::recorder::{
    self, Meters, RecordError, RecordSummary, Recorder, RecorderEvent, Role,
};
use crate::audio::recording::{Phase, Recording, RecordingError};
use crate::audio::source::{Capture, FileFeeder};
use crate::audio::wav::WavWriter;
use crate::cli::Context;
use crate::diarize::Options as DiarizeOptions;
use crate::meeting_job::{Events, FinishPlan, Finished, JobError};
use crate::model::{Document, MeetingMetadata};
use crate::transcribe::engine::EngineConfig;
use crate::transcribe::pipeline::{PipelineOptions, Transcript};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Instant;

/// Where a channel's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The default device of the channel's role; none is a warning, not an error.
    Default,
    /// A device by the name `minutes devices` shows; missing is an error.
    Device(String),
    /// A WAV played in real time as if it were the device (tests, demos).
    File(PathBuf),
    /// The channel stays silent.
    Off,
}

/// How a recording starts.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// `None`: "Recording <date time>".
    pub title: Option<String>,
    pub mic: Source,
    pub system: Source,
    /// Labels of channel 0 (the microphone) and channel 1 (the system audio).
    pub channel_names: [String; 2],
    /// The live transcript's engine; `None`: transcribed after the stop.
    pub live: Option<EngineConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordStartError {
    #[error(
        "no audio device to record from: neither a microphone nor system audio could be opened; see what minutes finds with `minutes devices`"
    )]
    NoSource,
    #[error("{0}")]
    Device(#[from] crate::audio::device::DeviceError),
    #[error("cannot play {path} as a source: {why}")]
    File { path: PathBuf, why: String },
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("cannot create {path}: {source}")]
    Wav {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start recording: {0}")]
    Start(String),
}

/// A recording in progress.
pub struct RecordJob {
    pub rec: Recording,
    /// What did not start, said once: a missing default device, no live transcript.
    pub warnings: Vec<String>,
    started: Instant,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(RecordSummary, Result<(), RecordError>)>,
    meters: Arc<Meters>,
    live: Option<Live>,
    device_events: Receiver<RecorderEvent>,
}

/// A stopped recording, its audio complete on disk.
pub struct Stopped {
    pub rec: Recording,
    pub summary: RecordSummary,
    /// Why the recorder stopped by itself (a write error); the audio before it is kept.
    pub error: Option<RecordError>,
    live: Option<Live>,
}

/// What the live transcript gave, once finished.
pub struct LiveOutcome {
    pub transcript: Transcript,
    pub result: LiveResult,
}

impl RecordJob {
    /// Opens the sources, creates the recording under `home` and starts recording.
    /// `on_line` is given each live transcript line (and its lag) as it is made.
    pub fn start(
        home: &Path,
        options: RecordOptions,
        on_line: OnSegment,
    ) -> Result<RecordJob, RecordStartError> {
        let mut warnings = Vec::new();
        let files =
            matches!(options.mic, Source::File(_)) || matches!(options.system, Source::File(_));
        let mic = open_source(Role::Mic, &options.mic, &mut warnings)?;
        let system = open_source(Role::System, &options.system, &mut warnings)?;
        if mic.is_none() && system.is_none() {
            return Err(RecordStartError::NoSource);
        }
        let names = options.channel_names.clone();
        let title = options
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("Recording {}", crate::time::utc(crate::time::now_secs())));
        let rec = Recording::create(
            home,
            &title,
            mic.as_ref().map(|c| c.name.clone()),
            system.as_ref().map(|c| c.name.clone()),
            names.to_vec(),
        )?;
        let audio = rec.audio_path();
        let active = [mic.is_some(), system.is_some()];
        let sink =
            WavWriter::create(&audio, 2, 16_000).map_err(|source| RecordStartError::Wav {
                path: audio.clone(),
                source,
            })?;
        let started = Instant::now();
        let (events_tx, device_events) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(
            mic,
            system,
            Box::new(sink),
            audio.display().to_string(),
            DriftConfig::default(),
        )
        .map_err(|e| RecordStartError::Start(e.to_string()))?
        .with_events(events_tx)
        .with_reopen(Box::new(reopen_default(files)));
        let live = match options.live {
            Some(engine) => {
                let config = LiveConfig {
                    engine,
                    vad: crate::transcribe::vad::VadConfig::live(),
                    channel_names: names,
                    active,
                };
                match Live::start(config, started, on_line) {
                    Ok((live, blocks)) => {
                        recorder = recorder.with_live(blocks);
                        Some(live)
                    }
                    Err(e) => {
                        warnings.push(format!("no live transcript: {e}"));
                        None
                    }
                }
            }
            None => None,
        };
        let meters = recorder.meters();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = recorder::spawn(recorder, started, stop.clone())
            .map_err(|e| RecordStartError::Start(e.to_string()))?;
        Ok(RecordJob {
            rec,
            warnings,
            started,
            stop,
            handle,
            meters,
            live,
            device_events,
        })
    }

    /// Setting it stops the recording (Ctrl-C, the page's stop button).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// The recorder stopped: asked to, or a write error.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Audio written so far, in milliseconds.
    pub fn recorded_ms(&self) -> u64 {
        self.meters.frames.load(Ordering::Relaxed) / 16
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Peak level per channel (0..1) since the last call.
    pub fn take_peaks(&self) -> [f32; 2] {
        self.meters.take_peaks()
    }

    /// Devices lost and found since the last call, as sentences.
    pub fn device_news(&self) -> Vec<String> {
        self.device_events
            .try_iter()
            .map(|e| describe(&e))
            .collect()
    }

    /// Waits for the recorder to stop (set [`RecordJob::stop_flag`] first) and marks the
    /// recording as being transcribed: from now on a crash leaves it for `minutes recover`.
    pub fn join(self) -> Result<Stopped, RecordingError> {
        let audio = self.rec.audio_path();
        let mut rec = self.rec;
        let (summary, result) = self.handle.join().unwrap_or_else(|_| {
            let why = format!(
                "the recorder thread crashed; the audio so far is in {}",
                audio.display()
            );
            let summary = RecordSummary {
                stopped_by_error: Some(why.clone()),
                ..RecordSummary::default()
            };
            (summary, Err(RecordError::Crashed(why)))
        });
        // A crashed recorder counted no frames: the file says how much was kept.
        let frames = match summary.frames {
            0 => crate::audio::wav::repair(&audio).map_or(0, |ms| ms * 16),
            n => n,
        };
        rec.state.duration_ms = Some(frames / 16);
        rec.state.stopped_by = result.as_ref().err().map(|e| e.to_string());
        rec.set_phase(Phase::Transcribing)?;
        Ok(Stopped {
            rec,
            summary,
            error: result.err(),
            live: self.live,
        })
    }
}

impl Stopped {
    pub fn duration_ms(&self) -> u64 {
        self.rec.state.duration_ms.unwrap_or(0)
    }

    pub fn has_live(&self) -> bool {
        self.live.is_some()
    }

    /// Finishes the live transcript: what the worker could not keep up with is transcribed
    /// from the file now; then speakers on the system channel, with `diarize`. `None` when the
    /// recording had no live transcript (see [`transcribe_after`]).
    pub fn finish_live(&mut self, diarize: Option<&DiarizeOptions>) -> Option<LiveOutcome> {
        let live = self.live.take()?;
        let audio = self.rec.audio_path();
        let mut result = live.finish(&audio, &self.summary.live_gaps);
        let segments = std::mem::take(&mut result.segments);
        // Live segments carry no word times: each goes whole to its main speaker.
        let labelled = match diarize {
            Some(d) if result.error.is_none() => {
                crate::diarize::label(&audio, segments, Vec::new(), true, d)
            }
            _ => crate::diarize::Labelled {
                segments,
                speakers: Vec::new(),
                fallback: None,
            },
        };
        let transcript = Transcript {
            segments: labelled.segments,
            language: result.language.clone(),
            duration_ms: self.duration_ms(),
            transcribed_ms: 0,
            channels: 2,
            complete: result.error.is_none(),
            speakers: labelled.speakers,
            diarization_fallback: labelled.fallback,
        };
        Some(LiveOutcome { transcript, result })
    }
}

/// Transcribes a recording's WAV after the fact (no live transcript, or `minutes recover`).
pub fn transcribe_after(
    audio: &Path,
    channel_names: &[String; 2],
    engine: EngineConfig,
    diarize: Option<DiarizeOptions>,
    events: &Events,
) -> Result<Transcript, JobError> {
    let mut engine = crate::transcribe::engine::Transcriber::load(engine)
        .map_err(|e| JobError::Setup(anyhow::Error::from(e)))?;
    let options = PipelineOptions {
        channel_names: channel_names.to_vec(),
        diarize,
        ..Default::default()
    };
    let total = crate::audio::decode::AudioReader::open(audio)
        .map_err(|e| JobError::Setup(anyhow::Error::from(e)))?
        .info()
        .duration_ms;
    crate::meeting_job::transcribe(
        audio,
        &mut engine,
        &options,
        Arc::new(AtomicBool::new(false)),
        total,
        events,
    )
}

/// Stores, summarises and exports a recording's `transcript` as `minutes process` does, and
/// marks the recording done (so `minutes recover` leaves it alone).
pub fn make_meeting(
    ctx: &Context,
    rec: &mut Recording,
    transcript: &Transcript,
    plan: &FinishPlan,
    events: &Events,
) -> Result<Finished, JobError> {
    let started_at = rec.state.started_at.clone();
    let mut document = Document {
        metadata: MeetingMetadata {
            id: crate::store::derived_id(&started_at, &rec.state.title),
            title: rec.state.title.clone(),
            started_at,
            duration_ms: transcript.duration_ms,
            labels: Vec::new(),
            language: transcript.language.clone(),
            channel_names: rec.state.channel_names.clone(),
        },
        transcript: transcript.to_model(),
        summary: None,
        provenance: None,
    };
    let done =
        crate::meeting_job::finish(ctx, &mut document, &rec.audio_path(), true, plan, events)?;
    rec.state.exports = done
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    rec.set_phase(Phase::Done)
        .map_err(|e| JobError::Setup(anyhow::Error::from(e)))?;
    Ok(done)
}

fn open_source(
    role: Role,
    source: &Source,
    warnings: &mut Vec<String>,
) -> Result<Option<Capture>, RecordStartError> {
    let open = |name: Option<&str>| match role {
        Role::Mic => crate::audio::device::open_mic(name),
        Role::System => crate::audio::device::open_system(name),
    };
    match source {
        Source::Off => Ok(None),
        Source::File(path) => {
            let (feeder, capture) =
                FileFeeder::open(path, None, 1.0).map_err(|e| RecordStartError::File {
                    path: path.clone(),
                    why: e.to_string(),
                })?;
            Ok(Some(feeder.spawn(capture)))
        }
        Source::Device(name) => Ok(Some(open(Some(name))?)),
        Source::Default => match open(None) {
            Ok(c) => Ok(Some(c)),
            Err(e) => {
                let what = match role {
                    Role::Mic => "no microphone",
                    Role::System => "no system audio",
                };
                warnings.push(format!("{what}: {e}"));
                Ok(None)
            }
        },
    }
}

/// Replaces a lost device with the current default of its role (not for file sources).
fn reopen_default(files: bool) -> impl FnMut(Role) -> Option<Capture> + Send {
    move |role| {
        if files {
            return None;
        }
        match role {
            Role::Mic => crate::audio::device::open_mic(None).ok(),
            Role::System => crate::audio::device::open_system(None).ok(),
        }
    }
}

/// A device event as a sentence for the terminal or the page.
pub fn describe(e: &RecorderEvent) -> String {
    match e {
        RecorderEvent::DeviceLost { role, why } => format!(
            "warning: the {} device went away ({why}); the other channel keeps recording, trying the default device",
            role.label()
        ),
        RecorderEvent::DeviceBack { role, name } => {
            format!("{} recording again from {name}", role.label())
        }
    }
}

/// Channel labels from a list that may be short.
pub fn channel_names(names: &[String]) -> [String; 2] {
    [
        names.first().cloned().unwrap_or_else(|| "me".into()),
        names.get(1).cloned().unwrap_or_else(|| "others".into()),
    ]
}
