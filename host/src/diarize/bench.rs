//! `minutes bench diarize`: diarization error rate (collar 0.25 s and 0), speakers found,
//! real-time factor and peak memory on every corpus file with an RTTM reference (and any file
//! given), optionally over several clustering thresholds at once (the models run once per file).

use super::{Models, Options, der};
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct BenchArgs {
    pub models: PathBuf,
    pub corpus: PathBuf,
    pub files: Vec<PathBuf>,
    pub only: Option<String>,
    pub thresholds: Vec<f32>,
    pub step_s: f64,
    pub threads: usize,
    pub oracle: bool,
    pub channel: Option<usize>,
    pub rttm_out: Option<PathBuf>,
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    file: String,
    threshold: Option<f32>,
    audio_s: f64,
    reference_speakers: usize,
    speakers: usize,
    der_collar_025: f64,
    der_collar_0: f64,
    missed_s: f64,
    false_alarm_s: f64,
    confusion_s: f64,
    scored_s: f64,
    scored_0_s: f64,
    errors_0_s: f64,
    errors_025_s: f64,
    wall_s: f64,
    rtf: f64,
    peak_rss_mb: f64,
}

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

/// Audio files with an .rttm beside them, in the corpus's usual folders.
fn corpus_files(corpus: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["real", "real_rttm_only", "synthetic"] {
        let Ok(entries) = std::fs::read_dir(corpus.join(dir)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rttm"))
            .map(|p| p.with_extension("wav"))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let models = Models::load(&args.models)?;
    let load_s = t.elapsed().as_secs_f64();
    let mut files = corpus_files(&args.corpus);
    if let Some(only) = &args.only {
        files.retain(|f| f.to_string_lossy().contains(only.as_str()));
    }
    files.extend(args.files.iter().cloned());
    anyhow::ensure!(
        !files.is_empty(),
        "no audio with an .rttm beside it in {} (or given with --file)",
        args.corpus.display()
    );
    let thresholds = if args.thresholds.is_empty() {
        vec![Options::new(PathBuf::new()).threshold]
    } else {
        args.thresholds.clone()
    };
    let mut rows = Vec::new();
    for file in &files {
        let rttm = file.with_extension("rttm");
        let reference = der::parse_rttm(
            &std::fs::read_to_string(&rttm)
                .with_context(|| format!("cannot read {}", rttm.display()))?,
        );
        let (_, samples) = crate::audio::decode::decode_channel(file, args.channel)?;
        let audio_s = samples.len() as f64 / super::SAMPLE_RATE as f64;
        let mut options = Options::new(args.models.clone());
        options.step = (args.step_s * super::SAMPLE_RATE as f64).round() as usize;
        options.threads = args.threads;
        let ref_speakers = {
            let mut s: Vec<&String> = reference.iter().map(|r| &r.2).collect();
            s.sort();
            s.dedup();
            s.len()
        };
        if args.oracle {
            options.speakers = Some(ref_speakers);
        }
        let t = Instant::now();
        let analysis = super::analyse(&models, &samples, &options)?;
        let analyse_s = t.elapsed().as_secs_f64();
        drop(samples);
        for &threshold in &thresholds {
            options.threshold = threshold;
            let t = Instant::now();
            let d = analysis.diarization(&options);
            let wall_s = analyse_s + t.elapsed().as_secs_f64();
            let hyp = super::as_rttm(&d.turns);
            let s025 = der::score(&reference, &hyp, 0.25);
            let s0 = der::score(&reference, &hyp, 0.0);
            if let Some(dir) = &args.rttm_out {
                std::fs::create_dir_all(dir)?;
                let name = file.file_stem().unwrap_or_default().to_string_lossy();
                let text: String = d
                    .turns
                    .iter()
                    .map(|t| {
                        format!(
                            "SPEAKER {name} 1 {:.3} {:.3} <NA> <NA> {} <NA> <NA>\n",
                            t.start_ms as f64 / 1000.0,
                            (t.end_ms - t.start_ms) as f64 / 1000.0,
                            super::speaker_id(t.speaker)
                        )
                    })
                    .collect();
                std::fs::write(dir.join(format!("{name}_{threshold}.rttm")), text)?;
            }
            let row = Row {
                file: file.display().to_string(),
                threshold: (!args.oracle).then_some(threshold),
                audio_s,
                reference_speakers: ref_speakers,
                speakers: d.speakers,
                der_collar_025: s025.der(),
                der_collar_0: s0.der(),
                missed_s: s0.missed_s,
                false_alarm_s: s0.false_alarm_s,
                confusion_s: s0.confusion_s,
                scored_s: s025.total_s,
                scored_0_s: s0.total_s,
                errors_0_s: s0.missed_s + s0.false_alarm_s + s0.confusion_s,
                errors_025_s: s025.missed_s + s025.false_alarm_s + s025.confusion_s,
                wall_s,
                rtf: wall_s / audio_s.max(1e-9),
                peak_rss_mb: peak_rss_mb(),
            };
            if args.json {
                println!("{}", serde_json::to_string(&row)?);
            }
            rows.push(row);
        }
        tracing::info!(file = %file.display(), timings = ?analysis.timings, "analysed");
    }
    if !args.json {
        println!(
            "models loaded in {load_s:.2} s; step {} s, {} threads",
            args.step_s, args.threads
        );
        println!(
            "{:<48} {:>5} {:>7} {:>4} {:>4} {:>8} {:>8} {:>7} {:>6} {:>7}",
            "file", "thr", "audio s", "ref", "hyp", "DER .25", "DER 0", "wall s", "RTF", "peak MB"
        );
        for r in &rows {
            println!(
                "{:<48} {:>5} {:>7.1} {:>4} {:>4} {:>7.1}% {:>7.1}% {:>7.1} {:>6.3} {:>7.0}",
                short(&r.file),
                r.threshold.map_or("oracle".into(), |t| format!("{t:.2}")),
                r.audio_s,
                r.reference_speakers,
                r.speakers,
                r.der_collar_025 * 100.0,
                r.der_collar_0 * 100.0,
                r.wall_s,
                r.rtf,
                r.peak_rss_mb
            );
        }
        for &threshold in &thresholds {
            let mine: Vec<&Row> = rows
                .iter()
                .filter(|r| args.oracle || r.threshold == Some(threshold))
                .collect();
            let sum = |f: &dyn Fn(&Row) -> f64| mine.iter().map(|r| f(r)).sum::<f64>();
            println!(
                "total at {}: DER {:.1} % (collar 0.25), {:.1} % (collar 0), RTF {:.3}",
                if args.oracle {
                    "the oracle count".to_string()
                } else {
                    format!("threshold {threshold:.2}")
                },
                100.0 * sum(&|r| r.errors_025_s) / sum(&|r| r.scored_s).max(1e-9),
                100.0 * sum(&|r| r.errors_0_s) / sum(&|r| r.scored_0_s).max(1e-9),
                sum(&|r| r.wall_s) / sum(&|r| r.audio_s).max(1e-9)
            );
            if args.oracle {
                break;
            }
        }
    }
    Ok(())
}

fn short(path: &str) -> String {
    let parts: Vec<&str> = path.rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}
