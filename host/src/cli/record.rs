//! `minutes record` and `minutes recover`: capture the microphone and the system audio as two
//! channels of a crash-safe recording, with a live transcript; then make the meeting (summary,
//! exports, store) the way `minutes process` does.

use anyhow::Context as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::finish::FinishArgs;
use super::transcribe::EngineArgs;
use crate::audio::align::DriftConfig;
use crate::audio::live::{Live, LiveConfig, percentile};
use crate::audio::recorder::{self, Recorder, RecorderEvent, Role, clock};
use crate::audio::recording::{Phase, Recording, interrupted};
use crate::audio::source::{Capture, FileFeeder};
use crate::audio::wav::{WavWriter, repair};
use crate::model::{Document, MeetingMetadata};
use crate::transcribe::engine::EngineConfig;
use crate::transcribe::pipeline::{PipelineOptions, Segment, Transcript};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes record --title \"Weekly sync\"\n  minutes record --mic \"alsa_input.usb-Headset\" --system none\n  \
    minutes record --duration 60 --no-live          # a one-minute recording, transcribed after\n\n\
    Channel 0 is your microphone (\"me\"), channel 1 the system audio (\"others\"): on Linux the \
    monitor of the default output, on Windows its loopback. Device names: `minutes devices`.\n\
    The recording is written to <home>/recordings/<id>/audio.wav and synced twice a second: if \
    minutes is killed, `minutes recover` (or the next `minutes record`) turns it into a meeting.\n\
    Ctrl-C stops, finishes the transcript, then summarises and exports like `minutes process`."
)]
pub struct RecordArgs {
    /// Meeting title [default: "Recording <date time>"]
    #[arg(long)]
    title: Option<String>,
    /// Microphone device name [default: the default input]
    #[arg(long, value_name = "DEVICE")]
    mic: Option<String>,
    /// System audio device (a monitor source), or `none` [default: monitor of the default output]
    #[arg(long, value_name = "DEVICE|none")]
    system: Option<String>,
    /// No live transcript: transcribe the whole recording after it stops
    #[arg(long)]
    no_live: bool,
    /// Whisper model, language and threads for the live and final transcript
    #[command(flatten)]
    engine: EngineArgs,
    /// Stop after this many seconds (for scripts and tests)
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Labels for channel 0 and channel 1
    #[arg(long, value_delimiter = ',', default_value = "me,others")]
    channel_names: Vec<String>,
    #[command(flatten)]
    finish: FinishArgs,
    /// Play this WAV as the microphone instead of a device (tests, demos)
    #[arg(long, hide = true, value_name = "WAV")]
    mic_file: Option<PathBuf>,
    /// Play this WAV as the system audio instead of a device (tests, demos)
    #[arg(long, hide = true, value_name = "WAV")]
    system_file: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes recover\n  minutes recover --json --dir ~/notes\n\n\
    A recording is interrupted when minutes died while recording or transcribing it (crash, \
    kill, power loss). Its WAV is repaired (everything synced before the end is kept: at most \
    about a second is lost), transcribed and exported like `minutes process`."
)]
pub struct RecoverArgs {
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    finish: FinishArgs,
}

/// Stops on Ctrl-C (a second Ctrl-C quits at once; the audio is safe on disk either way).
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nstopping — finishing the transcript (Ctrl-C again quits; `minutes recover` finishes later)");
                f.store(true, Ordering::Relaxed);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    });
    flag
}

fn open_sources(args: &RecordArgs) -> anyhow::Result<(Option<Capture>, Option<Capture>)> {
    let file = |path: &Path| -> anyhow::Result<Capture> {
        let (feeder, capture) = FileFeeder::open(path, None, 1.0)?;
        Ok(feeder.spawn(capture))
    };
    let mic = match &args.mic_file {
        Some(p) => Some(file(p)?),
        None => match crate::audio::device::open_mic(args.mic.as_deref()) {
            Ok(c) => Some(c),
            Err(e) if args.mic.is_some() => return Err(e.into()),
            Err(e) => {
                eprintln!("warning: no microphone: {e}");
                None
            }
        },
    };
    let system = match (&args.system_file, args.system.as_deref()) {
        (Some(p), _) => Some(file(p)?),
        (None, Some("none")) => None,
        (None, name) => match crate::audio::device::open_system(name) {
            Ok(c) => Some(c),
            Err(e) if name.is_some() => return Err(e.into()),
            Err(e) => {
                eprintln!("warning: no system audio: {e}");
                None
            }
        },
    };
    if mic.is_none() && system.is_none() {
        anyhow::bail!(
            "no audio device to record from: neither a microphone nor system audio could be opened; see what minutes finds with `minutes devices`"
        );
    }
    Ok((mic, system))
}

pub(crate) fn run(ctx: &super::Context, args: RecordArgs) -> anyhow::Result<()> {
    let home = ctx.home.root().to_path_buf();
    let pending = repair_interrupted(&home);
    let names = channel_names(&args.channel_names);
    let (mic, system) = open_sources(&args)?;
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| format!("Recording {}", crate::time::utc(crate::time::now_secs())));
    let mut rec = Recording::create(
        &home,
        &title,
        mic.as_ref().map(|c| c.name.clone()),
        system.as_ref().map(|c| c.name.clone()),
        names.to_vec(),
    )?;
    let audio = rec.audio_path();
    let engine = match args.no_live {
        true => None,
        false => match live_engine_config(&args.engine, &home) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("warning: no live transcript: {e:#}");
                None
            }
        },
    };
    let active = [mic.is_some(), system.is_some()];
    let sink = WavWriter::create(&audio, 2, 16_000)
        .with_context(|| format!("cannot create {}", audio.display()))?;
    let started = Instant::now();
    let (events_tx, events) = std::sync::mpsc::channel();
    let mut recorder = Recorder::new(
        mic,
        system,
        Box::new(sink),
        audio.display().to_string(),
        DriftConfig::default(),
    )?
    .with_events(events_tx)
    .with_reopen(Box::new(reopen_default(
        args.mic_file.is_some() || args.system_file.is_some(),
    )));
    let ui = Ui::new(&names, args.finish.json);
    let live = match &engine {
        Some(engine) => {
            let config = LiveConfig {
                engine: engine.clone(),
                vad: crate::transcribe::vad::VadConfig::live(),
                channel_names: names.clone(),
                active,
            };
            let printer = ui.printer();
            let (live, blocks) = Live::start(config, started, Box::new(move |s, _lag| printer(s)))?;
            recorder = recorder.with_live(blocks);
            Some(live)
        }
        None => None,
    };
    let meters = recorder.meters();
    let stop = stop_on_ctrl_c();
    let handle = recorder::spawn(recorder, started, stop.clone())?;
    ui.started(&rec, &audio);
    while !handle.is_finished() {
        if args
            .duration
            .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
        {
            stop.store(true, Ordering::Relaxed);
        }
        for e in events.try_iter() {
            ui.event(&e);
        }
        ui.status(meters.frames.load(Ordering::Relaxed), meters.take_peaks());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (summary, result) = handle.join().map_err(|_| {
        anyhow::anyhow!(
            "the recorder thread crashed; the audio so far is in {}",
            audio.display()
        )
    })?;
    ui.stopped();
    let duration_ms = summary.frames * 1000 / 16_000;
    rec.state.duration_ms = Some(duration_ms);
    rec.state.stopped_by = result.as_ref().err().map(|e| e.to_string());
    rec.set_phase(Phase::Transcribing)?;
    if let Err(e) = &result {
        eprintln!("error: {e}");
    }
    eprintln!("recorded {} to {}", clock(duration_ms), audio.display());
    let transcript = match live {
        Some(live) => {
            let t = Instant::now();
            let r = live.finish(&audio, &summary.live_gaps);
            if let Some(e) = &r.error {
                eprintln!("warning: transcription failed: {e}");
            }
            if let (Some(p50), Some(p95)) = (percentile(&r.lags, 50.0), percentile(&r.lags, 95.0)) {
                tracing::info!(
                    p50,
                    p95,
                    live = r.live_regions,
                    after = r.deferred_regions,
                    finish_s = t.elapsed().as_secs_f64(),
                    "live transcript lag"
                );
                if !args.finish.json {
                    eprintln!(
                        "live transcript: {} regions live (lag p50 {p50:.1} s, p95 {p95:.1} s), {} after the stop",
                        r.live_regions, r.deferred_regions
                    );
                }
            }
            // Live segments carry no word times: each goes whole to its main speaker.
            let labelled = match args.engine.diarize.options(&home) {
                Some(d) if r.error.is_none() => {
                    crate::diarize::label(&audio, r.segments, Vec::new(), true, &d)
                }
                _ => crate::diarize::Labelled {
                    segments: r.segments,
                    speakers: Vec::new(),
                    fallback: None,
                },
            };
            Some(Transcript {
                segments: labelled.segments,
                language: r.language,
                duration_ms,
                transcribed_ms: 0,
                channels: 2,
                complete: r.error.is_none(),
                speakers: labelled.speakers,
                diarization_fallback: labelled.fallback,
            })
        }
        None if args.no_live => transcribe_recording(&home, &audio, &names, &args.engine)
            .map_err(|e| eprintln!("warning: {e:#}"))
            .ok(),
        None => None,
    };
    let Some(transcript) = transcript else {
        eprintln!(
            "the recording is kept without a transcript: get a model (`minutes models pull base.en-q5_1`), then `minutes recover`"
        );
        return Ok(());
    };
    let outcome = make_meeting(ctx, &mut rec, &transcript, &args.finish)?;
    report(&args.finish, &rec, &outcome)?;
    for r in pending {
        recover_one(ctx, r, &args.engine, &args.finish)?;
    }
    result.map_err(anyhow::Error::from)
}

fn channel_names(names: &[String]) -> [String; 2] {
    [
        names.first().cloned().unwrap_or_else(|| "me".into()),
        names.get(1).cloned().unwrap_or_else(|| "others".into()),
    ]
}

fn live_engine_config(engine: &EngineArgs, home: &Path) -> anyhow::Result<EngineConfig> {
    // All physical cores: capture and writing take ~2.5% of one core, and the PulseAudio
    // streams buffer up to 4 s, so whisper's busy threads cannot make the recording drop audio.
    engine.config(home)
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

fn transcribe_recording(
    home: &Path,
    audio: &Path,
    names: &[String; 2],
    engine: &EngineArgs,
) -> anyhow::Result<Transcript> {
    let diarize = engine.diarize.options(home);
    let mut engine = crate::transcribe::engine::Transcriber::load(engine.config(home)?)?;
    let options = PipelineOptions {
        channel_names: names.to_vec(),
        diarize,
        ..Default::default()
    };
    let total = crate::audio::decode::AudioReader::open(audio)?
        .info()
        .duration_ms;
    Ok(crate::meeting_job::transcribe(
        audio,
        &mut engine,
        &options,
        Arc::new(AtomicBool::new(false)),
        total,
        &super::progress::terminal(false),
    )?)
}

struct Outcome {
    written: Vec<PathBuf>,
    meeting_id: Option<String>,
    segments: usize,
}

/// Summary, exports and store, as `minutes process` does them.
fn make_meeting(
    ctx: &super::Context,
    rec: &mut Recording,
    transcript: &Transcript,
    finish: &FinishArgs,
) -> anyhow::Result<Outcome> {
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
    // An exporter that is missing is skipped with a warning: the recording is already safe.
    let registry = crate::plugins::Registry::open(ctx.home.clone())?;
    let exporters: Vec<String> = finish
        .exporters(&ctx.home)?
        .into_iter()
        .filter(|id| match registry.get(id) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("warning: exporter `{id}` not run ({e}); install it with `minutes plugin install <package>`");
                false
            }
        })
        .collect();
    let done = super::finish::finish(
        ctx,
        &mut document,
        &rec.audio_path(),
        true,
        finish,
        &exporters,
    )?;
    let written = done.written;
    rec.state.exports = written.iter().map(|p| p.display().to_string()).collect();
    rec.set_phase(Phase::Done)?;
    Ok(Outcome {
        written,
        meeting_id: done.meeting_id,
        segments: transcript.segments.len(),
    })
}

fn report(finish: &FinishArgs, rec: &Recording, outcome: &Outcome) -> anyhow::Result<()> {
    if finish.json {
        return super::print_json(&serde_json::json!({
            "recording": rec.state,
            "audio": rec.audio_path(),
            "meeting_id": outcome.meeting_id,
            "segments": outcome.segments,
            "written": outcome.written,
        }));
    }
    if let Some(id) = &outcome.meeting_id {
        println!("stored as meeting {id} (minutes show {id})");
    }
    for p in &outcome.written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// Repairs the WAVs of interrupted recordings (cheap; makes them playable at once) and says so.
fn repair_interrupted(home: &Path) -> Vec<Recording> {
    let mut out = Vec::new();
    for r in interrupted(home) {
        match r {
            Ok(rec) => match repair(&rec.audio_path()) {
                Ok(ms) => {
                    eprintln!(
                        "found an interrupted recording, {} ({}), repaired: {}; it is transcribed after this one",
                        rec.state.title,
                        clock(ms),
                        rec.audio_path().display()
                    );
                    out.push(rec);
                }
                Err(e) => eprintln!(
                    "warning: interrupted recording {} not repaired: {e}",
                    rec.dir.display()
                ),
            },
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    out
}

fn recover_one(
    ctx: &super::Context,
    mut rec: Recording,
    engine: &EngineArgs,
    finish: &FinishArgs,
) -> anyhow::Result<serde_json::Value> {
    let audio = rec.audio_path();
    let ms = repair(&audio)?;
    rec.state.duration_ms = Some(ms);
    // This process owns it now; dying again leaves it interrupted again.
    rec.state.pid = std::process::id();
    rec.set_phase(Phase::Transcribing)?;
    if !finish.json {
        eprintln!(
            "recovering {} ({} of audio) from {}",
            rec.state.title,
            clock(ms),
            audio.display()
        );
    }
    let names = channel_names(&rec.state.channel_names);
    let transcript = transcribe_recording(ctx.home.root(), &audio, &names, engine)?;
    let outcome = make_meeting(ctx, &mut rec, &transcript, finish)?;
    if !finish.json {
        report(finish, &rec, &outcome)?;
    }
    Ok(serde_json::json!({
        "id": rec.state.id,
        "title": rec.state.title,
        "audio": audio,
        "duration_ms": ms,
        "meeting_id": outcome.meeting_id,
        "segments": outcome.segments,
        "written": outcome.written,
    }))
}

pub(crate) fn recover(ctx: &super::Context, args: RecoverArgs) -> anyhow::Result<()> {
    let mut done = Vec::new();
    let mut failed = 0;
    for r in interrupted(ctx.home.root()) {
        match r
            .map_err(anyhow::Error::from)
            .and_then(|rec| recover_one(ctx, rec, &args.engine, &args.finish))
        {
            Ok(v) => done.push(v),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    if args.finish.json {
        super::print_json(&serde_json::json!({ "recovered": done }))?;
    } else if done.is_empty() && failed == 0 {
        println!("no interrupted recordings");
    }
    if failed > 0 {
        anyhow::bail!("{failed} interrupted recording(s) could not be recovered (see above)");
    }
    Ok(())
}

/// The terminal: a status line (elapsed, level per channel) under the transcript lines on a
/// terminal; plain lines otherwise.
struct Ui {
    bar: Option<indicatif::ProgressBar>,
    names: [String; 2],
    last_plain: std::cell::Cell<u64>,
    /// stdout carries only the final JSON: everything else goes to stderr.
    json: bool,
}

impl Ui {
    fn new(names: &[String; 2], json: bool) -> Ui {
        let bar = (std::io::stdout().is_terminal() && !json).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stdout(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner:.red} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        Ui {
            bar,
            names: names.clone(),
            last_plain: std::cell::Cell::new(0),
            json,
        }
    }

    /// Prints a transcript line (from the live worker's thread).
    fn printer(&self) -> impl Fn(&Segment) + Send + 'static {
        let (bar, json) = (self.bar.clone(), self.json);
        move |s: &Segment| {
            let line = format!(
                "[{}] {}: {}",
                clock(s.start_ms),
                s.speaker.as_deref().unwrap_or("?"),
                s.text
            );
            match &bar {
                Some(b) => b.println(line),
                None if json => eprintln!("{line}"),
                None => println!("{line}"),
            }
        }
    }

    fn started(&self, rec: &Recording, audio: &Path) {
        let line = format!(
            "recording \"{}\" to {} — Ctrl-C to stop",
            rec.state.title,
            audio.display()
        );
        match &self.bar {
            Some(b) => b.println(line),
            None if self.json => eprintln!("{line}"),
            None => println!("{line}"),
        }
    }

    fn event(&self, e: &RecorderEvent) {
        let line = match e {
            RecorderEvent::DeviceLost { role, why } => format!(
                "warning: the {} device went away ({why}); the other channel keeps recording, trying the default device",
                role.label()
            ),
            RecorderEvent::DeviceBack { role, name } => {
                format!("{} recording again from {name}", role.label())
            }
        };
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn status(&self, frames: u64, peaks: [f32; 2]) {
        let ms = frames / 16;
        match &self.bar {
            Some(b) => {
                let meter = |p: f32| {
                    let db = 20.0 * p.max(1e-6).log10();
                    let n = (((db + 60.0) / 60.0).clamp(0.0, 1.0) * 12.0).round() as usize;
                    format!(
                        "{}{} {:>4.0} dB",
                        "#".repeat(n),
                        ".".repeat(12 - n),
                        db.max(-99.0)
                    )
                };
                b.set_message(format!(
                    "REC {}  {} [{}]  {} [{}]",
                    clock(ms),
                    self.names[0],
                    meter(peaks[0]),
                    self.names[1],
                    meter(peaks[1])
                ));
                b.tick();
            }
            None => {
                // A line every 30 s: enough to see it is alive in a log.
                if ms / 30_000 > self.last_plain.get() {
                    self.last_plain.set(ms / 30_000);
                    eprintln!("recording {}", clock(ms));
                }
            }
        }
    }

    fn stopped(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
