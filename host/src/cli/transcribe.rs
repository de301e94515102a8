use crate::transcribe::engine::{EngineConfig, Transcriber, default_threads};
use crate::transcribe::models;
use crate::transcribe::pipeline::{PipelineOptions, Segment, Transcript, transcribe_file};
use anyhow::Context;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes transcribe meeting.wav\n  minutes transcribe call.m4a --language de --json --out call.json\n  \
    MINUTES_MODEL=~/models/ggml-small.en.bin minutes transcribe standup.flac\n\n\
    A 2-channel recording (channel 0 = your microphone, channel 1 = system audio) is transcribed per \
    channel and labelled with --channel-names. Ctrl-C stops and keeps what was transcribed so far."
)]
pub struct TranscribeArgs {
    /// Audio file: WAV, FLAC, MP3, Ogg/Vorbis or M4A/AAC
    file: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
    /// Translate to English
    #[arg(long)]
    translate: bool,
    /// Vocabulary hints: names and terms that appear in the meeting
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Transcribe silence too (no voice activity detection)
    #[arg(long)]
    no_vad: bool,
    /// Mix a 2-channel file to one instead of transcribing each channel
    #[arg(long)]
    mix: bool,
    /// Labels for channel 0 and channel 1 of a 2-channel recording
    #[arg(long, value_delimiter = ',', default_value = "me,others")]
    channel_names: Vec<String>,
    /// Print the transcript as JSON
    #[arg(long)]
    json: bool,
    /// Write the transcript to FILE instead of stdout (its folder is created if missing; an
    /// existing FILE is replaced)
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `[transcribe]` in config.toml: the model and language used when no flag names them (the
/// app's settings page writes them).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscribeConfig {
    pub model: Option<String>,
    pub language: Option<String>,
}

impl TranscribeConfig {
    pub fn read(home: &Path) -> anyhow::Result<TranscribeConfig> {
        let home = crate::plugins::Home::at(home);
        let Some(table) = super::config_table(&home)? else {
            return Ok(TranscribeConfig::default());
        };
        match table.get("transcribe") {
            None => Ok(TranscribeConfig::default()),
            Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
                anyhow::anyhow!(
                    "{}: [transcribe]: {} (it takes `model` and `language`)",
                    home.config_path().display(),
                    e.message()
                )
            }),
        }
    }
}

/// Which whisper model, language and threads: the same flags for every command that transcribes.
#[derive(clap::Args, Clone, Debug)]
pub struct EngineArgs {
    /// Model name (see `minutes models list`) or path to a ggml .bin file [default:
    /// `[transcribe] model` in config.toml, else the best installed model]
    #[arg(long, env = "MINUTES_MODEL")]
    pub model: Option<String>,
    /// Spoken language code (en, de, …) or `auto` [default: `[transcribe] language` in
    /// config.toml, else auto]
    #[arg(long)]
    pub language: Option<String>,
    /// The most CPU threads whisper uses [default: physical cores]; fewer for a while when
    /// other programs keep cores busy, since whisper's threads then wait on each other. With 2
    /// or more, a 2-channel file's channels are transcribed side by side, one thread each, and
    /// so are the halves of a mono file of 10 minutes or more (of a minute or more while other
    /// programs keep a core busy)
    #[arg(long, env = "MINUTES_THREADS")]
    pub threads: Option<usize>,
    /// Beam search with this many beams (whisper.cpp's command line uses 5); 1 is greedy
    /// decoding. 5 beams take about 1.5x as long and made 15 % fewer word errors on four
    /// synthetic meetings with the base model
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
    pub beam_size: u16,
    #[command(flatten)]
    pub diarize: crate::diarize::args::DiarizeArgs,
}

impl EngineArgs {
    pub fn config(&self, home: &Path) -> anyhow::Result<EngineConfig> {
        let configured = TranscribeConfig::read(home)?;
        let model = self.model.as_deref().or(configured.model.as_deref());
        let mut config = EngineConfig::new(model_path(model, home)?);
        config.threads = self.threads.unwrap_or_else(default_threads);
        let language = self
            .language
            .as_deref()
            .or(configured.language.as_deref())
            .unwrap_or("auto");
        config.language = EngineConfig::language_arg(language);
        config.beam_size = usize::from(self.beam_size);
        Ok(config)
    }
}

/// The model to use: the argument (or MINUTES_MODEL), else the best installed one.
pub(crate) fn model_path(spec: Option<&str>, home: &Path) -> anyhow::Result<PathBuf> {
    Ok(match spec {
        Some(s) => models::resolve(s, home)?,
        None => models::default_model(home)?,
    })
}

/// Ctrl-C sets the flag (the first time); work in progress is kept.
pub(crate) fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Returns only once the handler is in place: a Ctrl-C right after start is not a plain kill.
    let (ready, is_ready) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            let mut interrupts =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            drop(ready);
            #[cfg(unix)]
            let mut interrupted = async || interrupts.recv().await.is_some();
            #[cfg(not(unix))]
            let interrupted = async || tokio::signal::ctrl_c().await.is_ok();
            if interrupted().await {
                eprintln!("\nstopping — keeping what was transcribed so far (Ctrl-C again to quit at once)");
                f.store(true, Ordering::Relaxed);
                if interrupted().await {
                    std::process::exit(130);
                }
            }
        });
    });
    let _ = is_ready.recv();
    flag
}

pub(crate) fn progress_bar(total_ms: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total_ms.unwrap_or(0) / 1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} s of audio  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

pub(crate) fn run(home: &crate::plugins::Home, args: TranscribeArgs) -> anyhow::Result<()> {
    // Before the model loads and the audio is transcribed: an --out that cannot be written
    // should cost a second, not the whole run.
    if let Some(out) = &args.out {
        check_out(out)?;
    }
    let mut config = args.engine.config(home.root())?;
    let model = config.model.clone();
    config.translate = args.translate;
    config.initial_prompt = args.prompt.clone();
    let mut engine = Transcriber::load(config)?;
    let options = PipelineOptions {
        vad: (!args.no_vad).then(Default::default),
        channel_names: args.channel_names.clone(),
        split_channels: !args.mix,
        diarize: args.engine.diarize.options(home.root()),
        ..Default::default()
    };
    let cancel = cancel_on_ctrl_c();
    tracing::debug!(
        "transcribing {} (Ctrl-C stops and keeps the text so far)",
        args.file.display()
    );
    let total = crate::audio::decode::AudioReader::open(&args.file)?
        .info()
        .duration_ms;
    let bar = progress_bar(total);
    let transcript = transcribe_file(
        &args.file,
        &mut engine,
        &options,
        cancel.clone(),
        &mut |p| {
            bar.set_position(p.position_ms / 1000);
            let rtf = p.elapsed.as_secs_f64() / (p.position_ms.max(1) as f64 / 1000.0);
            bar.set_message(format!("RTF {rtf:.2}"));
        },
        &mut |s: &Segment| {
            bar.println(format!(
                "[{}] {}",
                crate::cli::transcribe::clock(s.start_ms),
                s.text
            ))
        },
    )?;
    bar.finish_and_clear();
    let text = if args.json {
        json(&transcript, &model)?
    } else {
        plain(&transcript)
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = write_atomic(path, &text) {
                // Something changed during the run (the folder went away, the disk filled):
                // the transcript is kept anyway, and the error says where.
                let kept = keep_transcript(home, &args.file, &text, args.json);
                anyhow::bail!(
                    "cannot write {}: {e}\n{}",
                    path.display(),
                    match kept {
                        Ok(kept) => format!("The transcript was kept in {}", kept.display()),
                        Err(k) => format!(
                            "The transcript could not be kept either ({k}); here it is:\n{text}"
                        ),
                    }
                );
            }
        }
        None => print!("{text}"),
    }
    // Stopped before the first window was done says nothing about the file's speech.
    if transcript.segments.is_empty() && transcript.complete {
        eprintln!("warning: no speech found in {}", args.file.display());
    }
    if !transcript.complete {
        match transcript.segments.is_empty() {
            true => eprintln!(
                "stopped early: nothing was transcribed yet, so the transcript is empty \
                 (which says nothing about the speech in the file)"
            ),
            false => {
                // Two workers take a long file's halves (or a call's channels) at once, so what
                // is missing may lie in the middle, not only at the end.
                eprintln!(
                    "stopped early: the transcript holds only what was transcribed before the \
                     interruption; run it again for the whole file"
                )
            }
        }
        std::process::exit(130);
    }
    Ok(())
}

pub(crate) fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn plain(t: &Transcript) -> String {
    let mut out = String::new();
    for s in &t.segments {
        match &s.speaker {
            Some(who) => out.push_str(&format!("[{}] {who}: {}\n", clock(s.start_ms), s.text)),
            None => out.push_str(&format!("[{}] {}\n", clock(s.start_ms), s.text)),
        }
    }
    out
}

/// The contract's transcript shape, plus what only the host knows (confidence, coverage).
fn json(t: &Transcript, model: &Path) -> anyhow::Result<String> {
    let value = serde_json::json!({
        "language": t.language,
        "duration_ms": t.duration_ms,
        "transcribed_ms": t.transcribed_ms,
        "channels": t.channels,
        "complete": t.complete,
        "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        "segments": t.segments,
        "speakers": t.to_model().speakers,
    });
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}

/// Fails unless the transcript can be written to `out` at the end: not a folder, and in a
/// folder that exists (or can be made) and may be written to.
fn check_out(out: &Path) -> anyhow::Result<()> {
    if out.is_dir() {
        anyhow::bail!(
            "--out {} is a folder; name a file in it, e.g. --out {}",
            out.display(),
            out.join("transcript.txt").display()
        );
    }
    if out.as_os_str().to_string_lossy().ends_with('/') {
        anyhow::bail!(
            "--out {} names a folder (it ends in /); name a file, e.g. --out {}",
            out.display(),
            out.join("transcript.txt").display()
        );
    }
    crate::output::check_dir(parent_of(out)).with_context(|| {
        format!(
            "--out {} cannot be written; choose a file in a folder you can write to",
            out.display()
        )
    })
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Saves a transcript that could not be written where asked, in the minutes home.
fn keep_transcript(
    home: &crate::plugins::Home,
    audio: &Path,
    text: &str,
    json: bool,
) -> anyhow::Result<PathBuf> {
    let stem = audio
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "transcript".into());
    let ext = if json { "json" } else { "txt" };
    Ok(crate::output::keep_unsaved(
        home,
        &stem,
        ext,
        text.as_bytes(),
    )?)
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = parent_of(path);
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), text)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
