//! `minutes record` and `minutes recover`: capture the microphone and the system audio as two
//! channels of a crash-safe recording, with a live transcript; then make the meeting (summary,
//! exports, store) the way `minutes process` does.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::finish::FinishArgs;
use super::transcribe::EngineArgs;
use crate::audio::live::percentile;
use crate::audio::recorder::clock;
use crate::audio::recording::{Phase, Recording, interrupted};
use crate::audio::wav::repair;
use crate::record_job::{LiveOutcome, RecordJob, RecordOptions, Source, channel_names};
use crate::transcribe::pipeline::{Segment, Transcript};

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
fn stop_on_ctrl_c(flag: Arc<AtomicBool>) {
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
                flag.store(true, Ordering::Relaxed);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    });
}

fn source(file: &Option<PathBuf>, device: Option<&str>) -> Source {
    match (file, device) {
        (Some(p), _) => Source::File(p.clone()),
        (None, Some("none")) => Source::Off,
        (None, Some(name)) => Source::Device(name.to_string()),
        (None, None) => Source::Default,
    }
}

pub(crate) fn run(ctx: &super::Context, args: RecordArgs) -> anyhow::Result<()> {
    let home = ctx.home.root().to_path_buf();
    let pending = repair_interrupted(&home);
    let names = channel_names(&args.channel_names);
    let live = match args.no_live {
        true => None,
        // All physical cores: capture and writing take ~2.5% of one core, and the PulseAudio
        // streams buffer up to 4 s, so whisper's busy threads cannot make the recording drop
        // audio.
        false => match args.engine.config(&home) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("warning: no live transcript: {e:#}");
                None
            }
        },
    };
    let ui = Ui::new(&names, args.finish.json);
    let printer = ui.printer();
    let options = RecordOptions {
        title: args.title.clone(),
        mic: source(&args.mic_file, args.mic.as_deref()),
        system: source(&args.system_file, args.system.as_deref()),
        channel_names: names.clone(),
        live,
    };
    let job = RecordJob::start(&home, options, Box::new(move |s, _lag| printer(s)))?;
    for w in &job.warnings {
        eprintln!("warning: {w}");
    }
    let audio = job.rec.audio_path();
    let stop = job.stop_flag();
    stop_on_ctrl_c(stop.clone());
    ui.started(&job.rec, &audio);
    while !job.is_finished() {
        if args
            .duration
            .is_some_and(|d| job.elapsed().as_secs_f64() >= d)
        {
            stop.store(true, Ordering::Relaxed);
        }
        for news in job.device_news() {
            ui.event(&news);
        }
        ui.status(job.recorded_ms(), job.take_peaks());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut stopped = job.join()?;
    ui.stopped();
    if let Some(e) = &stopped.error {
        eprintln!("error: {e}");
    }
    eprintln!(
        "recorded {} to {}",
        clock(stopped.duration_ms()),
        audio.display()
    );
    let diarize = args.engine.diarize.options(&home);
    let transcript = match stopped.has_live() {
        true => {
            let t = Instant::now();
            let outcome = stopped.finish_live(diarize.as_ref());
            if let Some(LiveOutcome { result: r, .. }) = &outcome {
                if let Some(e) = &r.error {
                    eprintln!("warning: transcription failed: {e}");
                }
                if let (Some(p50), Some(p95)) =
                    (percentile(&r.lags, 50.0), percentile(&r.lags, 95.0))
                {
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
            }
            outcome.map(|o| o.transcript)
        }
        false if args.no_live => transcribe_recording(&home, &audio, &names, &args.engine)
            .map_err(|e| eprintln!("warning: {e:#}"))
            .ok(),
        false => None,
    };
    let Some(transcript) = transcript else {
        eprintln!(
            "the recording is kept without a transcript: get a model (`minutes models pull base.en-q5_1`), then `minutes recover`"
        );
        return Ok(());
    };
    let mut rec = stopped.rec;
    let outcome = make_meeting(ctx, &mut rec, &transcript, &args.finish)?;
    report(&args.finish, &rec, &outcome)?;
    for r in pending {
        recover_one(ctx, r, &args.engine, &args.finish)?;
    }
    match stopped.error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn transcribe_recording(
    home: &Path,
    audio: &Path,
    names: &[String; 2],
    engine: &EngineArgs,
) -> anyhow::Result<Transcript> {
    Ok(crate::record_job::transcribe_after(
        audio,
        names,
        engine.config(home)?,
        engine.diarize.options(home),
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
    let done = crate::record_job::make_meeting(
        ctx,
        rec,
        transcript,
        &finish.plan(&exporters),
        &super::progress::terminal(false),
    )?;
    Ok(Outcome {
        written: done.written,
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

    fn event(&self, news: &str) {
        match &self.bar {
            Some(b) => b.println(news),
            None => eprintln!("{news}"),
        }
    }

    fn status(&self, ms: u64, peaks: [f32; 2]) {
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
