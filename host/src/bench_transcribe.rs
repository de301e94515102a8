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

#[derive(Debug, Serialize, Deserialize)]
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

/// One measurement, in this process (called by the child).
pub fn run_one(
    file: &Path,
    reference: Option<&Path>,
    model: &Path,
    threads: usize,
    language: &str,
    mode: Mode,
) -> anyhow::Result<RunResult> {
    let mut config = EngineConfig::new(model);
    config.threads = threads;
    config.language = EngineConfig::language_arg(language);
    if matches!(mode, Mode::WholeBeam | Mode::PipelineBeam) {
        config.beam_size = 5;
    }
    let mut engine = Transcriber::load(config)?;
    let started = Instant::now();
    let transcript = match mode {
        Mode::Whole | Mode::WholeBeam => transcribe_whole(file, &mut engine)?,
        Mode::Pipeline | Mode::PipelineBeam => transcribe_file(
            file,
            &mut engine,
            &PipelineOptions::default(),
            Arc::new(AtomicBool::new(false)),
            &mut |_| {},
            &mut |_| {},
        )?,
    };
    let wall_s = started.elapsed().as_secs_f64();
    let audio_s = transcript.duration_ms as f64 / 1000.0;
    let errors = match reference {
        Some(r) => Some(wer::score(
            &std::fs::read_to_string(r)?,
            &transcript.text(None),
        )),
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
    })
}

/// The corpus files with word references.
fn corpus_files(corpus: &Path) -> Vec<(PathBuf, Option<PathBuf>)> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(corpus.join("real")) {
        let mut wavs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wav"))
            .collect();
        wavs.sort();
        for w in wavs {
            let txt = w.with_extension("txt");
            files.push((w, txt.is_file().then_some(txt)));
        }
    }
    let synth = corpus.join("synthetic");
    for name in ["meeting_a.wav", "meeting_a_2ch.wav"] {
        let w = synth.join(name);
        if w.is_file() {
            files.push((w, Some(synth.join("meeting_a.txt"))));
        }
    }
    files
}

/// What every run of one benchmark shares.
pub struct Settings<'a> {
    pub model: &'a Path,
    pub threads: usize,
    pub language: &'a str,
}

/// An audio file and its word reference, if it has one.
pub type BenchFile = (PathBuf, Option<PathBuf>);

/// The corpus files whose path contains `only`, then the `extra` files.
pub fn files(
    corpus: &Path,
    extra: &[PathBuf],
    only: Option<&str>,
) -> anyhow::Result<Vec<BenchFile>> {
    let mut files: Vec<_> = corpus_files(corpus)
        .into_iter()
        .filter(|(f, _)| only.is_none_or(|o| f.to_string_lossy().contains(o)))
        .collect();
    for f in extra {
        anyhow::ensure!(f.is_file(), "{} does not exist", f.display());
        // A 2-channel file made by the generator shares the mono file's reference.
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().replace("_2ch.", "."))
            .unwrap_or_default();
        let txt = f.with_file_name(name).with_extension("txt");
        files.push((f.clone(), txt.is_file().then_some(txt)));
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no audio to measure: nothing under {} matched, and no --file",
        corpus.display()
    );
    Ok(files)
}

/// One measurement in a child process, so that its peak memory is its own.
fn measure(
    (file, reference): &BenchFile,
    settings: &Settings,
    threads: usize,
    mode: Mode,
) -> anyhow::Result<RunResult> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.args(["bench", "transcribe-one", "--model"])
        .arg(settings.model)
        .args([
            "--threads",
            &threads.to_string(),
            "--language",
            settings.language,
            "--mode",
        ]);
    // The child parses `--mode` with the same clap enum.
    if let Some(name) = clap::ValueEnum::to_possible_value(&mode) {
        cmd.arg(name.get_name());
    }
    if let Some(r) = reference {
        cmd.arg("--reference").arg(r);
    }
    cmd.arg(file);
    let out = cmd.output().context("cannot run the benchmark child")?;
    anyhow::ensure!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
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

/// The pipeline quiet, beside `load` busy processes, and beside them with one thread: how
/// much a busy machine slows transcription, and whether the threads still pay for themselves.
pub fn run_loaded(
    files: &[BenchFile],
    settings: &Settings,
    load: usize,
    json: bool,
) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Loaded {
        quiet: RunResult,
        loaded: RunResult,
        loaded_one_thread: RunResult,
        load_processes: usize,
    }
    let mut rows = Vec::new();
    for file in files {
        let quiet = measure(file, settings, settings.threads, Mode::Pipeline)?;
        let (loaded, loaded_one_thread) = {
            let _load = crate::bench_load::CpuLoad::start(load)?;
            (
                measure(file, settings, settings.threads, Mode::Pipeline)?,
                measure(file, settings, 1, Mode::Pipeline)?,
            )
        };
        if !json {
            progress_line(&quiet, "quiet");
            progress_line(&loaded, &format!("load {load}"));
            progress_line(&loaded_one_thread, &format!("load {load}, 1 thread"));
        }
        rows.push(Loaded {
            quiet,
            loaded,
            loaded_one_thread,
            load_processes: load,
        });
    }
    if json {
        return crate::cli::print_json(&rows);
    }
    let threads = settings.threads;
    println!(
        "\n{:<34} {:>6} | {:>8} {:>8} {:>7} | {:>9} {:>7} | {:>6} {:>6}",
        "file", "audio", "quiet s", "loaded s", "/quiet", "1 thread s", "/1 thr", "WER q", "WER l"
    );
    let (mut quiet, mut loaded, mut single) = (0.0, 0.0, 0.0);
    for r in &rows {
        quiet += r.quiet.wall_s;
        loaded += r.loaded.wall_s;
        single += r.loaded_one_thread.wall_s;
        let w = |x: Option<f64>| x.map(|v| format!("{:.3}", v)).unwrap_or("-".into());
        println!(
            "{:<34} {:>6.1} | {:>8.2} {:>8.2} {:>6.2}x | {:>10.2} {:>6.2}x | {:>6} {:>6}",
            r.quiet.file,
            r.quiet.audio_s,
            r.quiet.wall_s,
            r.loaded.wall_s,
            r.loaded.wall_s / r.quiet.wall_s,
            r.loaded_one_thread.wall_s,
            r.loaded.wall_s / r.loaded_one_thread.wall_s,
            w(r.quiet.wer),
            w(r.loaded.wer)
        );
    }
    println!(
        "total: loaded {:.2}x quiet; {threads} threads loaded {:.2}x one thread loaded",
        loaded / quiet.max(1e-9),
        loaded / single.max(1e-9)
    );
    println!(
        "the pipeline with {threads} threads, greedy; load: {load} busy-looping processes started and stopped by the bench; language: {}",
        settings.language
    );
    println!(
        "targets: with --load 1, loaded ≤ 1.4x quiet; with --load 2, {threads} threads loaded ≤ one thread loaded"
    );
    Ok(())
}

/// The pipeline against whole-file whisper, greedy and beam 5, on every file.
pub fn run(files: &[BenchFile], settings: &Settings, json: bool) -> anyhow::Result<()> {
    let mut results: Vec<RunResult> = Vec::new();
    const MODES: [Mode; 3] = [Mode::Whole, Mode::WholeBeam, Mode::Pipeline];
    for file in files {
        for mode in MODES {
            let r = measure(file, settings, settings.threads, mode)?;
            if !json {
                progress_line(&r, &format!("{:?}", r.mode));
            }
            results.push(r);
        }
    }
    if json {
        return crate::cli::print_json(&results);
    }
    println!(
        "\n{:<34} {:>6} | {:>7} {:>6} {:>5} | {:>7} {:>6} | {:>7} {:>6} {:>5} {:>5} | {:>6} {:>6}",
        "file",
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
    let mut totals = [
        wer::WerStats::default(),
        wer::WerStats::default(),
        wer::WerStats::default(),
    ];
    for group in results.chunks(MODES.len()) {
        let [a, b, c] = group else { continue };
        if let (Some(ea), Some(eb), Some(ec)) = (a.errors, b.errors, c.errors) {
            totals[0].add(&ea);
            totals[1].add(&eb);
            totals[2].add(&ec);
        }
        let w = |x: Option<f64>| x.map(|v| format!("{:.3}", v)).unwrap_or("-".into());
        println!(
            "{:<34} {:>6.1} | {:>7.2} {:>6} {:>5.0} | {:>7.2} {:>6} | {:>7.2} {:>6} {:>5.0} {:>4.0}% | {:>5.2}x {:>5.2}x",
            a.file,
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
    println!(
        "corpus WER: whole {:.3}, whole beam 5 {:.3}, minutes {:.3}",
        totals[0].wer(),
        totals[1].wer(),
        totals[2].wer()
    );
    println!(
        "whole: whisper.cpp on the whole file, greedy; beam5: the same with whisper-cli's default beam search; minutes: VAD, packed windows, channels, greedy; language: {}",
        settings.language
    );
    println!("target: minutes ≤ 0.70x the whole-file wall time on meeting_a, WER ≤ whole + 0.005");
    Ok(())
}
