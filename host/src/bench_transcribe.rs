//! `minutes bench transcribe`: the minutes pipeline (VAD, packed windows, channels) against
//! whole-file whisper with default parameters, on the corpus, in one run. Each measurement runs
//! in its own process so its peak memory is its own.

use crate::transcribe::engine::{EngineConfig, Transcriber};
use crate::transcribe::pipeline::{PipelineOptions, transcribe_file, transcribe_whole};
use crate::transcribe::wer;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum Mode {
    /// whisper.cpp on the whole file, mixed to mono, default parameters, greedy decoding like
    /// the pipeline's (the baseline)
    Whole,
    /// the same with whisper.cpp's command-line default decoding: beam search, 5 beams
    WholeBeam,
    /// the minutes pipeline: VAD, packed windows, channels transcribed separately
    Pipeline,
    /// the same with beam search, 5 beams (`minutes transcribe --beam-size 5`); measured by
    /// `transcribe-one`, not in the table
    PipelineBeam,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub file: String,
    pub mode: Mode,
    pub audio_s: f64,
    pub wall_s: f64,
    pub rtf: f64,
    pub peak_rss_mb: f64,
    pub wer: Option<f64>,
    pub errors: Option<wer::WerStats>,
    pub transcribed_fraction: f64,
    /// Filled in by the parent from the evaluation set.
    #[serde(default)]
    pub split: Option<String>,
    #[serde(default)]
    pub speech: Option<f64>,
    /// `pauses` or `dense` (see [`BenchFile::kind`]).
    #[serde(default)]
    pub kind: String,
    /// What the run transcribed (the words scored), to see where two runs differ.
    #[serde(default)]
    pub text: String,
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// How many threads whisper gets: at most `max`, fewer while other programs keep cores busy
/// unless `fixed` (as before the threads adapted).
#[derive(Debug, Clone, Copy)]
pub struct Threads {
    pub max: usize,
    pub fixed: bool,
}

/// One measurement, in this process (called by the child).
pub fn run_one(
    file: &Path,
    reference: Option<&Path>,
    model: &Path,
    threads: Threads,
    language: &str,
    mode: Mode,
    pipeline: Option<&str>,
) -> anyhow::Result<RunResult> {
    let mut config = EngineConfig::new(model);
    config.threads = threads.max;
    config.adaptive_threads = !threads.fixed;
    config.language = EngineConfig::language_arg(language);
    if matches!(mode, Mode::WholeBeam | Mode::PipelineBeam) {
        config.beam_size = 5;
    }
    let mut options = PipelineOptions::default();
    if let Some(spec) = pipeline {
        options
            .tune(spec)
            .map_err(|e| anyhow::anyhow!("--pipeline: {e}"))?;
    }
    let mut engine = Transcriber::load(config)?;
    let started = Instant::now();
    let transcript = match mode {
        Mode::Whole | Mode::WholeBeam => transcribe_whole(file, &mut engine)?,
        Mode::Pipeline | Mode::PipelineBeam => transcribe_file(
            file,
            &mut engine,
            &options,
            Arc::new(AtomicBool::new(false)),
            &mut |_| {},
            &mut |_| {},
        )?,
    };
    let wall_s = started.elapsed().as_secs_f64();
    let audio_s = transcript.duration_ms as f64 / 1000.0;
    let text = transcript.text(None);
    let errors = match reference {
        Some(r) => Some(wer::score(&std::fs::read_to_string(r)?, &text)),
        None => None,
    };
    Ok(RunResult {
        file: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        mode,
        audio_s,
        wall_s,
        rtf: wall_s / audio_s.max(0.001),
        peak_rss_mb: peak_rss_mb(),
        wer: errors.map(|e| e.wer()),
        errors,
        transcribed_fraction: transcript.transcribed_ms as f64
            / (transcript.duration_ms.max(1) as f64 * transcript.channels.clamp(1, 2) as f64),
        split: None,
        speech: None,
        kind: String::new(),
        text,
    })
}

/// What every run of one benchmark shares.
pub struct Settings<'a> {
    pub model: &'a Path,
    pub threads: Threads,
    pub language: &'a str,
    /// Pipeline settings other than the defaults (`PipelineOptions::tune`).
    pub pipeline: Option<&'a str>,
    /// Whole-file runs of an earlier `--json` report, used instead of measuring them again.
    pub baseline: Vec<RunResult>,
}

/// Speech under this share of a meeting makes it one "with real pauses" (issue 19).
const PAUSES_BELOW: f64 = 0.75;

/// An audio file, its word reference if it has one, and where it stands in the evaluation set.
#[derive(Debug, Clone)]
pub struct BenchFile {
    pub audio: PathBuf,
    pub reference: Option<PathBuf>,
    /// `tune` or `held_out` in the split file; `None` for a file given with `--file`.
    pub split: Option<String>,
    /// The share of the audio covered by reference speech, when the reference has exact times.
    pub speech: Option<f64>,
}

impl BenchFile {
    fn new(audio: PathBuf, reference: Option<PathBuf>, split: Option<&str>) -> Self {
        // `<id>.json` beside the reference holds the speech times (the generator's and the
        // real clips' alike); a 2-channel file shares its mono file's.
        let speech = reference
            .as_ref()
            .and_then(|r| speech_share(&r.with_extension("json")));
        BenchFile {
            audio,
            reference,
            split: split.map(str::to_string),
            speech,
        }
    }

    /// `pauses` (under 75 % speech) or `dense`; a clip without exact times is read speech.
    pub fn kind(&self) -> &'static str {
        match self.speech {
            Some(s) if s < PAUSES_BELOW => "pauses",
            _ => "dense",
        }
    }
}

/// The union of the reference's speech segments over its duration, or `None` when its times
/// are not exact (a real clip transcribed as one segment).
fn speech_share(json: &Path) -> Option<f64> {
    #[derive(Deserialize)]
    struct Reference {
        duration: f64,
        segments: Vec<Span>,
    }
    #[derive(Deserialize)]
    struct Span {
        start: f64,
        end: f64,
        #[serde(default = "exact")]
        times_exact: bool,
    }
    fn exact() -> bool {
        true
    }
    let r: Reference = serde_json::from_str(&std::fs::read_to_string(json).ok()?).ok()?;
    if r.duration <= 0.0 || r.segments.iter().any(|s| !s.times_exact) {
        return None;
    }
    let mut spans: Vec<(f64, f64)> = r.segments.iter().map(|s| (s.start, s.end)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut covered, mut open): (f64, Option<(f64, f64)>) = (0.0, None);
    for (start, end) in spans {
        open = match open {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                covered += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = open {
        covered += e - s;
    }
    Some(covered / r.duration)
}

#[derive(Deserialize)]
struct Split {
    tune: Vec<String>,
    held_out: Vec<String>,
}

/// Where the evaluation set's files come from.
pub struct Sources<'a> {
    /// ../shared/corpus: real/ clips and synthetic/meeting_a.
    pub corpus: &'a Path,
    /// The split file; the scripts of its scripted meetings lie beside it.
    pub split: &'a Path,
    /// Rendered scripted meetings; the missing ones are rendered here.
    pub meetings: &'a Path,
}

/// The evaluation set: every file of the split whose name contains `only` (mono and 2-channel
/// for each scripted meeting), then the `extra` files.
pub fn files(
    sources: &Sources,
    extra: &[PathBuf],
    only: Option<&str>,
) -> anyhow::Result<Vec<BenchFile>> {
    let split: Split = toml::from_str(
        &std::fs::read_to_string(sources.split)
            .with_context(|| format!("cannot read the split file {}", sources.split.display()))?,
    )
    .with_context(|| {
        format!(
            "{} is not a split (tune = [...], held_out = [...])",
            sources.split.display()
        )
    })?;
    let mut files = Vec::new();
    let named = split
        .tune
        .iter()
        .map(|id| (id, "tune"))
        .chain(split.held_out.iter().map(|id| (id, "held_out")));
    for (id, part) in named {
        if only.is_some_and(|o| !id.contains(o)) {
            continue;
        }
        let real = sources.corpus.join("real");
        let synthetic = sources.corpus.join("synthetic");
        let dir = if real.join(format!("{id}.wav")).is_file() {
            real
        } else if synthetic.join(format!("{id}.wav")).is_file() {
            synthetic
        } else {
            render(sources, id)?;
            sources.meetings.to_path_buf()
        };
        let reference = dir.join(format!("{id}.txt"));
        let reference = reference.is_file().then_some(reference);
        files.push(BenchFile::new(
            dir.join(format!("{id}.wav")),
            reference.clone(),
            Some(part),
        ));
        let two = dir.join(format!("{id}_2ch.wav"));
        if two.is_file() {
            files.push(BenchFile::new(two, reference, Some(part)));
        }
    }
    for f in extra {
        anyhow::ensure!(f.is_file(), "{} does not exist", f.display());
        // A 2-channel file made by the generator shares the mono file's reference.
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().replace("_2ch.", "."))
            .unwrap_or_default();
        let txt = f.with_file_name(name).with_extension("txt");
        files.push(BenchFile::new(
            f.clone(),
            txt.is_file().then_some(txt),
            None,
        ));
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no audio to measure: nothing in {} matched, and no --file",
        sources.split.display()
    );
    Ok(files)
}

/// Renders the scripted meeting `id` into `sources.meetings` with the corpus generator, unless
/// it is there already.
fn render(sources: &Sources, id: &str) -> anyhow::Result<()> {
    let out = sources.meetings;
    if out.join(format!("{id}.wav")).is_file() && out.join(format!("{id}_2ch.wav")).is_file() {
        return Ok(());
    }
    let script = sources.split.with_file_name(format!("{id}_script.json"));
    anyhow::ensure!(
        script.is_file(),
        "`{id}` in {} is neither a clip of {} nor a script ({} does not exist)",
        sources.split.display(),
        sources.corpus.display(),
        script.display()
    );
    let generator = sources.corpus.join("synthetic").join("gen_meeting.py");
    std::fs::create_dir_all(out)?;
    eprintln!(
        "rendering {id} into {} with the corpus generator…",
        out.display()
    );
    let done = std::process::Command::new(python_with_numpy())
        .arg(&generator)
        .arg(&script)
        .arg(out)
        .output()
        .with_context(|| format!("cannot run python3 {}", generator.display()))?;
    anyhow::ensure!(
        done.status.success(),
        "rendering {id} failed: {}\nThe generator needs python3 with numpy, espeak-ng and sox \
         (apt-get install python3-numpy espeak-ng sox); or render it yourself: \
         python3 {} {} {}",
        String::from_utf8_lossy(&done.stderr).trim(),
        generator.display(),
        script.display(),
        out.display()
    );
    Ok(())
}

/// The python3 on PATH if it has numpy, else Debian's (a pyenv or venv python3 often lacks
/// it while apt's python3-numpy sits beside /usr/bin/python3).
pub fn python_with_numpy() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            std::process::Command::new(p)
                .args(["-c", "import numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or("python3")
}

/// One measurement in a child process, so that its peak memory is its own.
fn measure(
    file: &BenchFile,
    settings: &Settings,
    threads: Threads,
    mode: Mode,
) -> anyhow::Result<RunResult> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.args(["bench", "transcribe-one", "--model"])
        .arg(settings.model)
        .args([
            "--threads",
            &threads.max.to_string(),
            "--language",
            settings.language,
            "--mode",
        ]);
    // The child parses `--mode` with the same clap enum.
    if let Some(name) = clap::ValueEnum::to_possible_value(&mode) {
        cmd.arg(name.get_name());
    }
    if threads.fixed {
        cmd.arg("--fixed-threads");
    }
    if let Some(r) = &file.reference {
        cmd.arg("--reference").arg(r);
    }
    if let (Some(spec), Mode::Pipeline | Mode::PipelineBeam) = (settings.pipeline, mode) {
        cmd.arg("--pipeline").arg(spec);
    }
    cmd.arg(&file.audio);
    let out = cmd.output().context("cannot run the benchmark child")?;
    anyhow::ensure!(
        out.status.success(),
        "{}: {}",
        file.audio.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut result: RunResult = serde_json::from_slice(&out.stdout)?;
    result.split = file.split.clone();
    result.speech = file.speech;
    result.kind = file.kind().to_string();
    Ok(result)
}

fn progress_line(r: &RunResult, what: &str) {
    eprintln!(
        "  {:<36} {:<18} {:>7.1} s audio  {:>6.2} s  WER {}",
        r.file,
        what,
        r.audio_s,
        r.wall_s,
        r.wer.map(|w| format!("{:.3}", w)).unwrap_or("-".into())
    );
}

/// The pipeline quiet, beside `load` busy processes, beside them with its threads fixed (as
/// before they adapted to the free cores), and beside them with one thread: how much a busy
/// machine slows transcription, and whether the threads still pay for themselves.
pub fn run_loaded(
    files: &[BenchFile],
    settings: &Settings,
    load: usize,
    skip_fixed: bool,
    json: bool,
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Loaded {
        quiet: RunResult,
        loaded: RunResult,
        #[serde(skip_serializing_if = "Option::is_none")]
        loaded_fixed: Option<RunResult>,
        loaded_one_thread: RunResult,
        load_processes: usize,
    }
    let mut rows = Vec::new();
    for file in files {
        let quiet = measure(file, settings, settings.threads, Mode::Pipeline)?;
        let fixed = Threads {
            fixed: true,
            ..settings.threads
        };
        let one = Threads {
            max: 1,
            fixed: true,
        };
        let (loaded, loaded_fixed, loaded_one_thread) = {
            let _load = crate::bench_load::CpuLoad::start(load)?;
            (
                measure(file, settings, settings.threads, Mode::Pipeline)?,
                match skip_fixed {
                    true => None,
                    false => Some(measure(file, settings, fixed, Mode::Pipeline)?),
                },
                measure(file, settings, one, Mode::Pipeline)?,
            )
        };
        if !json {
            progress_line(&quiet, "quiet");
            progress_line(&loaded, &format!("load {load}"));
            if let Some(f) = &loaded_fixed {
                progress_line(f, &format!("load {load}, fixed"));
            }
            progress_line(&loaded_one_thread, &format!("load {load}, 1 thread"));
        }
        rows.push(Loaded {
            quiet,
            loaded,
            loaded_fixed,
            loaded_one_thread,
            load_processes: load,
        });
    }
    if json {
        return crate::cli::print_json(&rows);
    }
    let threads = settings.threads.max;
    println!(
        "\n{:<34} {:>6} | {:>8} {:>8} {:>7} | {:>8} {:>7} | {:>9} {:>7} | {:>6} {:>6}",
        "file",
        "audio",
        "quiet s",
        "loaded s",
        "/quiet",
        "fixed s",
        "/quiet",
        "1 thread s",
        "/1 thr",
        "WER q",
        "WER l"
    );
    let (mut quiet, mut loaded, mut fixed, mut single) = (0.0, 0.0, 0.0, 0.0);
    for r in &rows {
        quiet += r.quiet.wall_s;
        loaded += r.loaded.wall_s;
        fixed += r.loaded_fixed.as_ref().map_or(0.0, |f| f.wall_s);
        single += r.loaded_one_thread.wall_s;
        let w = |x: Option<f64>| x.map(|v| format!("{:.3}", v)).unwrap_or("-".into());
        let (fixed_s, fixed_x) = match &r.loaded_fixed {
            Some(f) => (
                format!("{:.2}", f.wall_s),
                format!("{:.2}x", f.wall_s / r.quiet.wall_s),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>6.1} | {:>8.2} {:>8.2} {:>6.2}x | {:>8} {:>7} | {:>10.2} {:>6.2}x | {:>6} {:>6}",
            r.quiet.file,
            r.quiet.audio_s,
            r.quiet.wall_s,
            r.loaded.wall_s,
            r.loaded.wall_s / r.quiet.wall_s,
            fixed_s,
            fixed_x,
            r.loaded_one_thread.wall_s,
            r.loaded.wall_s / r.loaded_one_thread.wall_s,
            w(r.quiet.wer),
            w(r.loaded.wer)
        );
    }
    let fixed = match skip_fixed {
        true => String::new(),
        false => format!(" (threads fixed: {:.2}x)", fixed / quiet.max(1e-9)),
    };
    println!(
        "total: loaded {:.2}x quiet{fixed}; up to {threads} threads loaded {:.2}x one thread loaded",
        loaded / quiet.max(1e-9),
        loaded / single.max(1e-9)
    );
    println!(
        "the pipeline with up to {threads} threads (fewer while others keep cores busy; fixed: always {threads}), greedy; load: {load} busy-looping processes started and stopped by the bench; language: {}",
        settings.language
    );
    println!(
        "targets: with --load 1, loaded ≤ 1.4x quiet; with --load 2, {threads} threads loaded ≤ one thread loaded"
    );
    Ok(())
}

/// The pipeline against whole-file whisper, greedy and beam 5, on every file.
pub fn run(files: &[BenchFile], settings: &Settings, json: bool) -> anyhow::Result<()> {
    let mut rows: Vec<[RunResult; 3]> = Vec::new();
    for file in files {
        let run = |mode| -> anyhow::Result<RunResult> {
            let name = file
                .audio
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let earlier = settings
                .baseline
                .iter()
                .find(|r| r.mode == mode && r.file == name && mode != Mode::Pipeline);
            let r = match earlier {
                Some(r) => RunResult {
                    split: file.split.clone(),
                    speech: file.speech,
                    kind: file.kind().to_string(),
                    ..r.clone()
                },
                None => measure(file, settings, settings.threads, mode)?,
            };
            if !json {
                progress_line(&r, &format!("{:?}", r.mode));
            }
            Ok(r)
        };
        rows.push([
            run(Mode::Whole)?,
            run(Mode::WholeBeam)?,
            run(Mode::Pipeline)?,
        ]);
    }
    if json {
        return crate::cli::print_json(&rows.iter().flatten().collect::<Vec<_>>());
    }
    println!(
        "\n{:<34} {:<8} {:>6} {:>6} | {:>7} {:>6} {:>5} | {:>7} {:>6} | {:>7} {:>6} {:>5} {:>5} | {:>6} {:>6}",
        "file",
        "split",
        "speech",
        "audio",
        "whole s",
        "WER",
        "MB",
        "beam5 s",
        "WER",
        "minutes",
        "WER",
        "MB",
        "kept",
        "/whole",
        "/beam5"
    );
    let w = |x: Option<f64>| x.map(|v| format!("{:.3}", v)).unwrap_or("-".into());
    for [a, b, c] in &rows {
        println!(
            "{:<34} {:<8} {:>6} {:>6.1} | {:>7.2} {:>6} {:>5.0} | {:>7.2} {:>6} | {:>7.2} {:>6} {:>5.0} {:>4.0}% | {:>5.2}x {:>5.2}x",
            a.file,
            a.split.as_deref().unwrap_or("extra"),
            c.speech
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_else(|| "-".into()),
            a.audio_s,
            a.wall_s,
            w(a.wer),
            a.peak_rss_mb,
            b.wall_s,
            w(b.wer),
            c.wall_s,
            w(c.wer),
            c.peak_rss_mb,
            c.transcribed_fraction * 100.0,
            c.wall_s / a.wall_s,
            c.wall_s / b.wall_s
        );
    }
    println!();
    for part in ["tune", "held_out", "extra"] {
        let mine: Vec<&[RunResult; 3]> = rows
            .iter()
            .filter(|r| r[0].split.as_deref().unwrap_or("extra") == part)
            .collect();
        if mine.is_empty() {
            continue;
        }
        println!("{}", split_summary(part, &mine));
    }
    println!(
        "whole: whisper.cpp on the whole file, greedy; beam5: the same with whisper-cli's default beam search; minutes: VAD, packed windows, channels, greedy; {} threads{}; language: {}",
        settings.threads.max,
        if settings.threads.fixed {
            " (fixed)"
        } else {
            " at most"
        },
        settings.language
    );
    println!(
        "speech: the reference's share of the audio; under {:.0} % a meeting has real pauses",
        PAUSES_BELOW * 100.0
    );
    println!(
        "targets (held_out): minutes' WER ≤ whole's in total and on no file more than 1 point above; time ≤ 0.70x whole on meetings with pauses, ≤ 1.00x on dense ones"
    );
    Ok(())
}

/// One split's totals: corpus WER of each mode, the pipeline's worst file against whole-file
/// greedy, and wall time against it for meetings with pauses and dense ones.
fn split_summary(part: &str, rows: &[&[RunResult; 3]]) -> String {
    let mut totals = [
        wer::WerStats::default(),
        wer::WerStats::default(),
        wer::WerStats::default(),
    ];
    let mut worst: Option<(f64, &str)> = None;
    for [a, b, c] in rows.iter().copied() {
        if let (Some(ea), Some(eb), Some(ec)) = (a.errors, b.errors, c.errors) {
            totals[0].add(&ea);
            totals[1].add(&eb);
            totals[2].add(&ec);
            let delta = ec.wer() - ea.wer();
            if worst.is_none_or(|(d, _)| delta > d) {
                worst = Some((delta, a.file.as_str()));
            }
        }
    }
    let time = |kind: &str| {
        let (whole, minutes) = rows
            .iter()
            .filter(|r| r[2].kind == kind)
            .fold((0.0, 0.0), |(w, m), r| (w + r[0].wall_s, m + r[2].wall_s));
        if whole > 0.0 {
            format!("{:.2}x", minutes / whole)
        } else {
            "-".into()
        }
    };
    format!(
        "{part:<8} {} files: WER whole {:.3}, beam 5 {:.3}, minutes {:.3} ({:+.1} points against whole; worst file {}); time minutes/whole: pauses {}, dense {}",
        rows.len(),
        totals[0].wer(),
        totals[1].wer(),
        totals[2].wer(),
        (totals[2].wer() - totals[0].wer()) * 100.0,
        worst
            .map(|(d, f)| format!("{f} {:+.1}", d * 100.0))
            .unwrap_or_else(|| "-".into()),
        time("pauses"),
        time("dense"),
    )
}
