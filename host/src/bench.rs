//! `minutes bench plugins`: plugin start-up and call overhead, measured in one run.
//! Figures are medians over many iterations; the machine is shared, so compare ratios.

use crate::ledger::EgressLedger;
use crate::model::{Document, MeetingMetadata, Segment, Transcript};
use crate::plugins::net::NetOptions;
use crate::plugins::package::{MANIFEST_FILE, Package};
use crate::plugins::registry::Grant;
use crate::plugins::{Home, Registry, Runtime};
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which python3 runs the corpus generator (the e2e tests render a meeting with it too).
pub use crate::bench_transcribe::python_with_numpy;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Cold load, per-call overhead and `plugin list` time, using an exporter package
    #[command(
        after_help = "Example:\n  minutes bench plugins --package target/plugins/export-markdown\n\n\
        Build the packages first: `cargo xtask plugins` (or run `cargo xtask bench`).\n\
        The package runs in a throw-away home, offline and granted nothing: whatever origins and \
        secrets it asks for, a benchmark gives it no network and none of your secrets."
    )]
    Plugins {
        /// An exporter package (folder or .tar.gz), e.g. target/plugins/export-markdown
        #[arg(long, value_name = "PACKAGE")]
        package: PathBuf,
        /// Iterations of each measurement
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
    /// Recording: CPU of capture + writing, dropped frames under CPU load, memory over time, and
    /// (with --model) the live transcript's lag; needs PulseAudio/PipeWire and the default devices
    #[command(
        after_help = "Example (headless: a PulseAudio null sink, its monitor as system audio):\n  \
        minutes bench capture --seconds 600 --load 2 --play ../shared/corpus/synthetic/meeting_a.wav\n  \
        minutes bench capture --seconds 180 --play ../shared/corpus/synthetic/meeting_a.wav --model ../shared/models/ggml-base-q5_1.bin\n  \
        minutes bench capture --seconds 150 --mic me.monitor --play-mic me.wav --play others.wav --model ../shared/models/ggml-base-q5_1.bin   # a call: each side on its own channel"
    )]
    Capture {
        /// How long to record
        #[arg(long, default_value_t = 120.0)]
        seconds: f64,
        /// Busy-looping processes to run meanwhile (CPU load)
        #[arg(long, default_value_t = 0)]
        load: usize,
        /// Play this file in a loop into the default output (paplay) while recording
        #[arg(long)]
        play: Option<PathBuf>,
        /// Play this file in a loop into the sink whose monitor --mic records (e.g. --mic
        /// me.monitor plays into the null sink `me`): with the other side of a call in --play,
        /// each channel hears its own voices, as in a real call
        #[arg(long, requires = "mic")]
        play_mic: Option<PathBuf>,
        /// Microphone device [default: the default input]
        #[arg(long)]
        mic: Option<String>,
        /// System audio device [default: monitor of the default output]
        #[arg(long)]
        system: Option<String>,
        /// Run the live transcript with this model and report its lag
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long)]
        json: bool,
    },
    /// Transcription: the minutes pipeline against whole-file whisper on the evaluation set
    /// (wall time, real-time factor, peak memory, WER), per file and per split
    ///
    /// The set is tests/fixtures/meetings/transcribe_split.toml: scripted meetings (mono and
    /// 2-channel, rendered by the corpus generator when missing) and the corpus's real clips,
    /// in a tune split that settings may be chosen on and a held-out split that is only measured.
    #[command(
        after_help = "Examples:\n  minutes bench transcribe --model ../shared/models/ggml-base-q5_1.bin --threads 2 --language en\n  \
      minutes bench transcribe --model ../shared/models/ggml-tiny.en-q5_1.bin --threads 2 --only meeting_d\n  \
      # a 60-minute meeting with long silences, made by the corpus generator:\n  \
      python3 ../shared/corpus/synthetic/gen_meeting.py ../shared/corpus/synthetic/meeting_a_script.json /tmp/long --long 60\n  \
      minutes bench transcribe --model ../shared/models/ggml-base-q5_1.bin --threads 2 --only none --file /tmp/long/meeting_a_long60.wav\n  \
      # one core kept busy meanwhile: quiet vs loaded vs loaded with one thread\n  \
      minutes bench transcribe --model ../shared/models/ggml-tiny.en-q5_1.bin --threads 2 --language en --only meeting_a --load 1"
    )]
    Transcribe {
        /// Model file or name
        #[arg(long, env = "MINUTES_MODEL")]
        model: String,
        /// The corpus folder (with real/ and synthetic/)
        #[arg(long, default_value = "../shared/corpus")]
        corpus: PathBuf,
        /// The evaluation set: its tune and held-out files (clip names of the corpus and
        /// scripted meetings, whose scripts lie beside it)
        #[arg(long, default_value = "tests/fixtures/meetings/transcribe_split.toml")]
        split: PathBuf,
        /// Rendered scripted meetings; the missing ones are rendered here by the corpus
        /// generator (python3 with numpy, espeak-ng, sox)
        #[arg(long, default_value = "/tmp/meetings")]
        meetings: PathBuf,
        /// CPU threads for whisper, the same for every run (the figures in the README use 2);
        /// fewer for a window while other programs keep cores busy, as in `minutes transcribe`
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Always use --threads threads, however busy the machine (whisper before it adapted)
        #[arg(long)]
        fixed_threads: bool,
        /// Language of the speech for both runs (a code such as en), or `auto`: detected by
        /// whisper, which costs whole-file whisper a 30 s encoder pass and minutes a 6 s one
        #[arg(long, default_value = "auto")]
        language: String,
        /// Only the files of the split whose name contains this (`none`: only --file)
        #[arg(long)]
        only: Option<String>,
        /// Also measure this file (its reference: the .txt beside it, if there is one);
        /// may be given more than once
        #[arg(long)]
        file: Vec<PathBuf>,
        /// Busy-looping processes to run beside the pipeline (CPU load, as the call itself
        /// puts on a meeting's machine). With it, each file is transcribed by the pipeline
        /// four times: quiet, loaded, loaded with the threads fixed, and loaded with one
        /// thread; whole-file runs are skipped
        #[arg(long, default_value_t = 0)]
        load: usize,
        /// With --load: leave out the loaded run with the threads fixed, the slowest of the
        /// four (about 4x the quiet run)
        #[arg(long, requires = "load")]
        skip_fixed: bool,
        /// Pipeline settings to try instead of the defaults, as key=value,… (pack_within_ms,
        /// gap_ms, channel_gap_ms, prompt, timed_prompt, cut_to_fill, cut_pause_ms, seek_on_cut,
        /// halves, halves_pause_ms, in_turn, wait_for_window_0, min_tokens_per_s, unsure_below,
        /// unsure_beam, filters, dtw_lag_ms, fallbacks, fit_audio_ctx, vad.pre_pad_ms, vad.post_pad_ms, vad.min_silence_ms,
        /// vad.merge_gap_ms, vad.max_region_ms, parallel). Defaults per model: channel_gap_ms
        /// and dtw_lag_ms 400 and 350 for tiny models, whose word times come late, 100 and 0 for
        /// the others; timed_prompt (the words before given with their timestamps) off for tiny
        /// models, on for the others. `parallel=false` transcribes a file's channels (or a mono
        /// file's halves) one after the other on all the threads instead of side by side on one
        /// thread each; `cut_to_fill=false` starts a region that does not fit in what is left of
        /// a window in the next window whole instead of cutting it to fill this one;
        /// `cut_pause_ms=150` cuts it at the quietest 150 ms near the window's end (default 20);
        /// `in_turn=true` has two workers take the windows of a mono file of a minute or more in
        /// turn even on a quiet machine (`false`: never; default: while other programs keep a
        /// core busy), and `wait_for_window_0=false` lets the second worker start window 1
        /// before window 0 is done, without a prompt; `halves=true` transcribes such a file in
        /// two halves side by side instead (`false`: never; default: 10 minutes or more on a
        /// quiet machine), and `halves_pause_ms=300` makes them meet in the quietest 300 ms near
        /// the middle (default 20); `min_tokens_per_s=2.5` transcribes a window again in halves
        /// when whisper gave fewer text tokens a second of speech (default 1.2);
        /// `seek_on_cut=true` starts the window after a region cut to fill one where the cut
        /// window's last segment started, dropping that segment, as whole-file whisper does;
        /// `unsure_below=0.8` decodes a window again with 5 beams (`unsure_beam=N`: N) when the
        /// mean probability of its greedy tokens is under 0.8, and keeps that decoding (default:
        /// never)
        #[arg(long)]
        pipeline: Option<String>,
        /// Take the whole-file runs from this earlier `--json` report instead of measuring
        /// them again (same model, threads and language; times then come from another run)
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Print every run as JSON instead of the table (with the words it transcribed)
        #[arg(long)]
        json: bool,
    },
    /// Keeps one core busy until stdin closes (the load of `--load`)
    #[command(hide = true)]
    Spin,
    /// Summaries of the scripted meetings against their reference summaries: decision and
    /// action-item recall, acknowledgements listed as decisions, citation precision, malformed
    /// answers and time, per meeting and per split (tuned / held out)
    #[command(after_help = SUMMARIZE_HELP)]
    Summarize {
        /// Which meetings are `tune` and which `held_out`
        #[arg(long, default_value = "tests/fixtures/meetings/split.toml")]
        split: PathBuf,
        /// Folders with the rendered meetings (`<id>.json`, `<id>_summary_ref.json`), searched
        /// in order [default: /tmp/meetings, ../shared/corpus/synthetic]
        #[arg(long = "meetings", value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Only this meeting (may be given more than once)
        #[arg(long)]
        only: Vec<String>,
        /// Template id or short name (extractive, standard, …)
        #[arg(long, default_value = "extractive")]
        template: String,
        /// Provider for a template that needs a model (installed and granted in MINUTES_HOME)
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// Summaries per meeting
        #[arg(long, default_value_t = 1)]
        runs: usize,
        /// `off`: the request's JSON schema becomes plain JSON output (json_object), as
        /// templates asked before schemas existed
        #[arg(long, default_value = "on", value_parser = ["on", "off"])]
        schema: String,
        /// How the transcript knows who spoke
        #[arg(long, value_enum, default_value = "names")]
        speakers: crate::bench_summarize::Speakers,
        /// Write every summary as JSON into this folder (`<meeting>-<run>.json`)
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
        /// Every run's scores as JSON instead of the table
        #[arg(long)]
        json: bool,
    },
    /// Speaker diarization: DER (collar 0.25 s and 0), speakers found, real-time factor and
    /// peak memory on every corpus file with an .rttm reference
    #[command(
        after_help = "Examples:\n  minutes bench diarize --models ../shared/models/diarization\n  \
      minutes bench diarize --thresholds 0.5,0.6,0.7 --only synthetic\n  \
      # a 60-minute meeting made by the corpus generator, its mono mix:\n  \
      python3 ../shared/corpus/synthetic/gen_meeting.py ../shared/corpus/synthetic/meeting_a_script.json /tmp/long --long 60\n  \
      minutes bench diarize --only none --file /tmp/long/meeting_a_long60.wav\n  \
      # its system-audio channel, against a reference without the microphone's voice:\n  \
      grep -v ' Maria ' /tmp/long/meeting_a_long60.rttm > /tmp/long/meeting_a_long60_2ch.rttm\n  \
      minutes bench diarize --only none --channel 1 --file /tmp/long/meeting_a_long60_2ch.wav"
    )]
    Diarize {
        /// Folder holding segmentation-3.0.onnx and campplus.onnx
        #[arg(
            long,
            env = "MINUTES_DIARIZATION_MODELS",
            default_value = "../shared/models/diarization"
        )]
        models: PathBuf,
        /// The corpus folder (with real/, real_rttm_only/ and synthetic/)
        #[arg(long, default_value = "../shared/corpus")]
        corpus: PathBuf,
        /// Also measure this file (its reference: the .rttm beside it); may be repeated
        #[arg(long)]
        file: Vec<PathBuf>,
        /// Only files whose path contains this
        #[arg(long)]
        only: Option<String>,
        /// Clustering thresholds to score (comma-separated); the models run once per file
        #[arg(long, value_delimiter = ',')]
        thresholds: Vec<f32>,
        /// Window hop in seconds
        #[arg(long, default_value_t = 2.5)]
        step: f64,
        /// Worker threads for the models
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Give the reference's speaker count instead of estimating it
        #[arg(long)]
        oracle: bool,
        /// Diarize only this channel (default: the channels mixed)
        #[arg(long)]
        channel: Option<usize>,
        /// Write each hypothesis as RTTM into this folder
        #[arg(long)]
        rttm_out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// One measurement in a fresh process (used by `bench transcribe`)
    #[command(hide = true)]
    TranscribeOne {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        threads: usize,
        #[arg(long)]
        fixed_threads: bool,
        #[arg(long, value_enum)]
        mode: crate::bench_transcribe::Mode,
        #[arg(long, default_value = "auto")]
        language: String,
        #[arg(long)]
        reference: Option<PathBuf>,
        #[arg(long)]
        pipeline: Option<String>,
        file: PathBuf,
    },
    /// Network sandbox overhead: policy check + ledger write over a bare reqwest call to a
    /// loopback server, and `minutes audit --plugin X` over a ledger of a million rows
    #[command(
        after_help = "Examples:\n  minutes bench net\n  minutes bench net --requests 500 --json"
    )]
    Net {
        /// Requests per measurement
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Rows in the synthetic ledger
        #[arg(long, default_value_t = 1_000_000)]
        ledger_rows: usize,
        #[arg(long)]
        json: bool,
    },
    /// Meetings store: search (common word, rare word, phrase) and list over generated
    /// one-hour meetings (~900 segments each), in process and as `minutes` processes
    #[command(
        after_help = "Example:\n  cargo build --release -p minutes && target/release/minutes bench store --meetings 1000"
    )]
    Store {
        /// Meetings to generate
        #[arg(long, default_value_t = 1000)]
        meetings: usize,
        /// Runs of each measurement
        #[arg(long, default_value_t = 30)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
    /// The app (`minutes app`): first page of the meetings list and searches over the same
    /// generated store, server time p50/p95 (target ≤ 50 ms), and a one-hour meeting's page weight
    #[command(after_help = "Example:\n  minutes bench app --meetings 1000")]
    App {
        /// Meetings to generate
        #[arg(long, default_value_t = 1000)]
        meetings: usize,
        /// Requests of each kind
        #[arg(long, default_value_t = 30)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
    /// MCP: `search_meetings` over the same generated store, in process and through a
    /// `minutes mcp` process over stdio (target p95 ≤ 50 ms)
    #[command(after_help = "Example:\n  minutes bench mcp --meetings 1000")]
    Mcp {
        /// Meetings to generate
        #[arg(long, default_value_t = 1000)]
        meetings: usize,
        /// Runs of each measurement
        #[arg(long, default_value_t = 30)]
        iterations: usize,
        #[arg(long)]
        json: bool,
    },
}

const SUMMARIZE_HELP: &str = "\
Examples:
  minutes bench summarize                                   # extractive, every meeting of the split, offline
  minutes bench summarize --template standard --provider openai-compatible --runs 3 --schema off

Meetings: render the scripts first (the shared corpus has meeting_a rendered):
  for m in b c d e f g; do python3 ../shared/corpus/synthetic/gen_meeting.py tests/fixtures/meetings/meeting_${m}_script.json /tmp/meetings; done
The transcript is the generator's reference (<id>.json: scripted turns, rendered times, speaker
names), not whisper's: the figures measure the summary, not the word error rate. Templates and
providers come from MINUTES_HOME, installed, granted and configured as for `minutes summarize`.

Matching rule (decisions with decisions, action items with action items):
  1. content words: lower case, split at anything but letters and digits; 2,400 = 2400,
     17th = 17, number words = digits; -s/-ed/-ing endings and a final e cut; stop words,
     participants' names and words under 3 letters (numbers excepted) dropped.
  2. an item matches a reference when they share >= 2 content words and the shared words are
     >= 50 % of the shorter one's content words (overlap coefficient).
  3. one to one, as many pairs as possible (maximum matching): one item never finds two
     references.
  4. an action item counts when its task matches AND its owner names the reference owner (or,
     with --speakers channels, is the name of the channel the owner spoke on); `task only`
     ignores the owner.
  5. acks: decisions that are only acknowledgement words once names are gone (\"Agreed!\",
     \"Yes. Do it.\", \"Sounds good\").
  foreign: action-item owners that are neither a participant nor a channel (\"channel 0\", a
     file name).
Citation precision: `host` = items with citations that the host's grounding check supports
(cited segment exists, the time lies in it, one shared content word); `strict` = and every cited
segment shares two content words (rule 1) with the item (one, if the item has only one).
Malformed: answers the template rejected and asked again for (plus the second answer of a
summary that failed with both), out of all requests.";

#[derive(Serialize)]
pub(crate) struct Stat {
    pub what: &'static str,
    pub median_us: f64,
    pub p90_us: f64,
    pub target_us: Option<f64>,
}

pub(crate) fn stat(what: &'static str, mut samples: Vec<Duration>, target_us: Option<f64>) -> Stat {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    Stat {
        what,
        median_us: at(0.5),
        p90_us: at(0.9),
        target_us,
    }
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Plugins {
            package,
            iterations,
            json,
        } => plugins(package, iterations, json),
        BenchCommand::Capture {
            seconds,
            load,
            play,
            play_mic,
            mic,
            system,
            model,
            threads,
            json,
        } => crate::bench_capture::run(crate::bench_capture::CaptureBench {
            seconds,
            load,
            play,
            play_mic,
            mic,
            system,
            model,
            threads,
            json,
        }),
        BenchCommand::Net {
            requests,
            ledger_rows,
            json,
        } => crate::bench_net::run(requests, ledger_rows, json),
        BenchCommand::Store {
            meetings,
            iterations,
            json,
        } => crate::bench_store::run(meetings, iterations, json),
        BenchCommand::App {
            meetings,
            iterations,
            json,
        } => crate::bench_app::run(meetings, iterations, json),
        BenchCommand::Mcp {
            meetings,
            iterations,
            json,
        } => crate::bench_mcp::run(meetings, iterations, json),
        BenchCommand::Transcribe {
            model,
            corpus,
            split,
            meetings,
            threads,
            fixed_threads,
            language,
            only,
            file,
            load,
            skip_fixed,
            pipeline,
            baseline,
            json,
        } => {
            let home = crate::plugins::Home::from_env()?;
            let model = crate::transcribe::models::resolve(&model, home.root())?;
            let sources = crate::bench_transcribe::Sources {
                corpus: &corpus,
                split: &split,
                meetings: &meetings,
            };
            let files = crate::bench_transcribe::files(&sources, &file, only.as_deref())?;
            let baseline = match &baseline {
                Some(path) => serde_json::from_str(
                    &std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read the baseline {}", path.display()))?,
                )
                .with_context(|| {
                    format!(
                        "{} is not a `minutes bench transcribe --json` report",
                        path.display()
                    )
                })?,
                None => Vec::new(),
            };
            let settings = crate::bench_transcribe::Settings {
                model: &model,
                threads: crate::bench_transcribe::Threads {
                    max: threads,
                    fixed: fixed_threads,
                },
                language: &language,
                pipeline: pipeline.as_deref(),
                baseline,
            };
            if load > 0 {
                crate::bench_transcribe::run_loaded(&files, &settings, load, skip_fixed, json)
            } else {
                crate::bench_transcribe::run(&files, &settings, json)
            }
        }
        BenchCommand::Spin => crate::bench_load::spin(),
        BenchCommand::Summarize {
            split,
            dirs,
            only,
            template,
            provider,
            model,
            runs,
            schema,
            speakers,
            save,
            json,
        } => crate::bench_summarize::run(crate::bench_summarize::SummarizeBench {
            split,
            dirs: if dirs.is_empty() {
                crate::bench_summarize::default_dirs()
            } else {
                dirs
            },
            only,
            template,
            provider,
            model,
            runs,
            schema: schema == "on",
            speakers,
            save,
            json,
        }),
        BenchCommand::Diarize {
            models,
            corpus,
            file,
            only,
            thresholds,
            step,
            threads,
            oracle,
            channel,
            rttm_out,
            json,
        } => crate::diarize::bench::run(crate::diarize::bench::BenchArgs {
            models,
            corpus,
            files: file,
            only,
            thresholds,
            step_s: step,
            threads,
            oracle,
            channel,
            rttm_out,
            json,
        }),
        BenchCommand::TranscribeOne {
            model,
            threads,
            fixed_threads,
            mode,
            language,
            reference,
            pipeline,
            file,
        } => {
            let r = crate::bench_transcribe::run_one(
                &file,
                reference.as_deref(),
                &model,
                crate::bench_transcribe::Threads {
                    max: threads,
                    fixed: fixed_threads,
                },
                &language,
                mode,
                pipeline.as_deref(),
            )?;
            crate::cli::print_json(&r)
        }
    }
}

fn plugins(package: PathBuf, iterations: usize, json: bool) -> anyhow::Result<()> {
    let iterations = iterations.max(5);
    let tmp = tempfile::tempdir()?;
    let home = Home::at(tmp.path().join("home"));
    let pkg = Package::open(&package)?;
    let id = pkg.manifest.id.clone();
    // I/O too: a networked exporter's request must be refused by the sandbox, not panic the
    // runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // A package is measured, not trusted: it runs in a throw-away home (no secret of the real
    // one), is granted nothing it asks for, and is offline; any request it makes is refused
    // and recorded in the throw-away ledger. So a bench gives it less than an install would.
    let ledger = Arc::new(EgressLedger::open(&home.ledger_path())?);
    let offline = NetOptions {
        offline: true,
        ledger: Some(ledger),
        ..Default::default()
    };
    let t = Instant::now();
    let runtime = Runtime::with_network(&home.cache_dir(), offline)?;
    let engine_start = t.elapsed();
    let mut registry = Registry::open(home.clone())?;
    let t = Instant::now();
    registry.install(&runtime, &pkg, &Grant::Nothing)?;
    let install = t.elapsed();

    // Cold load: read the manifest, deserialize the precompiled component, pre-instantiate,
    // then instantiate in a fresh Store and make the first (smallest) call.
    let mut load_only = Vec::new();
    let mut cold = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let plugin = registry.load(&runtime, &id)?;
        load_only.push(t.elapsed());
        rt.block_on(plugin.exporter_info())?;
        cold.push(t.elapsed());
    }

    // Per call: a fresh Store + instantiate + one export of a small document.
    let plugin = registry.load(&runtime, &id)?;
    let format = rt
        .block_on(plugin.exporter_info())?
        .formats
        .first()
        .map(|f| f.id.clone())
        .context("the exporter offers no format")?;
    let doc = small_document();
    let mut info_calls = Vec::new();
    let mut export_calls = Vec::new();
    for _ in 0..iterations * 5 {
        let t = Instant::now();
        rt.block_on(plugin.exporter_info())?;
        info_calls.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(plugin.export(&format, &doc))?;
        export_calls.push(t.elapsed());
    }

    // A one-hour meeting (900 segments): in process (fresh Store + instantiate + export + write
    // the files), then as `minutes export --document` (process wall time, start-up included).
    let hour = hour_document();
    let out_dir = tmp.path().join("exports");
    let mut hour_calls = Vec::new();
    let declared = registry
        .manifest(&id)?
        .formats
        .get(&format)
        .cloned()
        .context("the exporter's manifest does not declare its first format")?;
    let log = crate::output::WrittenLog::in_home(&home);
    for _ in 0..iterations.min(50) {
        let t = Instant::now();
        let plugin = registry.load(&runtime, &id)?;
        let files = rt.block_on(plugin.export(&format, &hour))?;
        let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
        crate::output::write_files(&id, &out_dir, &declared, &files, true, &log)?;
        hour_calls.push(t.elapsed());
    }
    let doc_file = tmp.path().join("hour.json");
    std::fs::write(&doc_file, serde_json::to_vec(&hour)?)?;
    let exe = std::env::current_exe()?;
    let mut hour_cli = Vec::new();
    for _ in 0..iterations.min(30) {
        let t = Instant::now();
        let out = sandboxed(&exe, &home)
            .args(["--offline", "export", "--force", "--to", &id, "--dir"])
            .arg(&out_dir)
            .arg("--document")
            .arg(&doc_file)
            .output()?;
        hour_cli.push(t.elapsed());
        anyhow::ensure!(
            out.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // `minutes plugin list` with 10 plugins installed, as a separate process.
    for i in 1..10 {
        let copy = tmp.path().join(format!("copy{i}"));
        copy_renamed(
            &package_dir(&pkg, tmp.path())?,
            &copy,
            &id,
            &format!("{id}-copy{i}"),
        )?;
        registry.install(&runtime, &Package::open(&copy)?, &Grant::Nothing)?;
    }
    let mut list = Vec::new();
    for _ in 0..iterations.min(50) {
        let t = Instant::now();
        let out = sandboxed(&exe, &home).args(["plugin", "list"]).output()?;
        list.push(t.elapsed());
        anyhow::ensure!(
            out.status.success(),
            "plugin list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let stats = vec![
        stat(
            "load: manifest + deserialize precompiled + InstancePre",
            load_only,
            None,
        ),
        stat(
            "cold load: the above + instantiate + first call",
            cold,
            Some(2000.0),
        ),
        stat("call: fresh Store + instantiate + info()", info_calls, None),
        stat(
            "call: fresh Store + instantiate + export() of a 3-segment meeting",
            export_calls,
            Some(50.0),
        ),
        stat(
            "export of a 1-hour meeting: load + instantiate + export + write files",
            hour_calls,
            Some(20_000.0),
        ),
        stat(
            "`minutes export --document` of a 1-hour meeting (process wall time)",
            hour_cli,
            None,
        ),
        stat(
            "`minutes plugin list` with 10 plugins (process wall time)",
            list,
            Some(50_000.0),
        ),
    ];
    if json {
        #[derive(Serialize)]
        struct Report {
            engine_start_us: f64,
            install_us: f64,
            iterations: usize,
            stats: Vec<Stat>,
        }
        let report = Report {
            engine_start_us: engine_start.as_secs_f64() * 1e6,
            install_us: install.as_secs_f64() * 1e6,
            iterations,
            stats,
        };
        return crate::cli::print_json(&report);
    }
    println!("plugin benchmark ({id}, {iterations} iterations, medians)");
    println!(
        "  engine start:       {:>10.1} µs",
        engine_start.as_secs_f64() * 1e6
    );
    println!(
        "  install (compile):  {:>10.1} µs",
        install.as_secs_f64() * 1e6
    );
    for s in &stats {
        let target = s.target_us.map(|t| {
            format!(
                "  (target ≤ {t} µs{})",
                if s.median_us <= t {
                    ", met"
                } else {
                    ", MISSED"
                }
            )
        });
        println!(
            "  {:<70} {:>10.1} µs  p90 {:>10.1} µs{}",
            s.what,
            s.median_us,
            s.p90_us,
            target.unwrap_or_default()
        );
    }
    Ok(())
}

/// `minutes` in the throw-away home, with no way to the user's secrets: no keyring, no
/// `MINUTES_SECRET_*` overrides.
fn sandboxed(exe: &Path, home: &Home) -> std::process::Command {
    let mut cmd = std::process::Command::new(exe);
    cmd.env("MINUTES_HOME", home.root())
        .env("MINUTES_SECRETS", "file");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MINUTES_SECRET_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A folder form of the package (unpacking an archive if needed).
fn package_dir(pkg: &Package, tmp: &Path) -> anyhow::Result<PathBuf> {
    if pkg.source.is_dir() {
        return Ok(pkg.source.clone());
    }
    let dir = tmp.join("unpacked");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(MANIFEST_FILE), &pkg.manifest_text)?;
    std::fs::write(dir.join(&pkg.manifest.component.file), &pkg.component)?;
    Ok(dir)
}

fn copy_renamed(from: &Path, to: &Path, id: &str, new_id: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    let manifest = to.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest)?;
    std::fs::write(
        &manifest,
        text.replacen(&format!("id = \"{id}\""), &format!("id = \"{new_id}\""), 1),
    )?;
    Ok(())
}

/// One hour of alternating speech on two channels: 900 segments of 4 s with a 0.2 s pause.
fn hour_document() -> Document {
    let words = [
        "launch", "pricing", "roadmap", "customer", "budget", "review", "testing", "release",
        "feedback", "android", "crash", "rate",
    ];
    let segments = (0..900u64)
        .map(|i| Segment {
            id: i as u32,
            start_ms: i * 4000,
            end_ms: i * 4000 + 3800,
            channel: (i % 2) as u32,
            speaker_id: None,
            words: Vec::new(),
            text: (0..12)
                .map(|w| words[((i * 7 + w * 3) % words.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
                + ".",
        })
        .collect();
    let mut doc = small_document();
    doc.metadata.duration_ms = 3_600_000;
    doc.transcript.segments = segments;
    doc
}

fn small_document() -> Document {
    let seg = |id, start_ms, channel, text: &str| Segment {
        id,
        start_ms,
        end_ms: start_ms + 2000,
        channel,
        speaker_id: None,
        text: text.into(),
        words: Vec::new(),
    };
    Document {
        metadata: MeetingMetadata {
            id: "bench".into(),
            title: "Benchmark sync".into(),
            started_at: "2026-11-28T10:00:00Z".into(),
            duration_ms: 6000,
            labels: vec!["bench".into()],
            language: Some("en".into()),
            channel_names: vec!["me".into(), "others".into()],
        },
        transcript: Transcript {
            segments: vec![
                seg(0, 0, 0, "Shall we start?"),
                seg(1, 2000, 1, "Yes, the build is green."),
                seg(2, 4000, 0, "Great."),
            ],
            speakers: Vec::new(),
            language: Some("en".into()),
        },
        summary: None,
        provenance: None,
    }
}
