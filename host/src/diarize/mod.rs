//! Who spoke when: speaker diarization of a channel after transcription, with pyannote's
//! segmentation-3.0 and the CAM++ speaker embedding (ONNX, run by tract).
//!
//! 1. segmentation over 10 s windows (hop `step`): per frame, which of up to 3 local speakers talk;
//! 2. one embedding per run of a local speaker's speech in a window (runs end at pauses of
//!    `RUN_GAP_S`), from that speaker's speech alone;
//! 3. average-linkage clustering of the embeddings across the recording (the count estimated by a
//!    distance threshold, or given);
//! 4. each run mapped to a cluster (overlapping runs of different local speakers to different
//!    ones), and per frame the most active clusters kept, as many as the windows say talk at once.
//!
//! `label` then gives a transcript's segments their speakers by time, splitting a segment whose
//! words change speaker. Diarization never costs the transcript: on any failure the segments
//! keep their channel labels and the reason is logged.

pub mod args;
pub mod assign;
pub mod bench;
pub mod cluster;
pub mod der;
pub mod fbank;
pub mod onnx;
pub mod pull;
pub mod voiceprint;

use onnx::{EMBEDDING_DIM, Embedder, SEG_CLASSES, SEG_FRAMES, Segmenter, WINDOW_SAMPLES};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const SAMPLE_RATE: usize = 16_000;
/// Segmentation frame step: 270 samples (16.875 ms).
const FRAME_STEP_S: f64 = 270.0 / 16_000.0;
/// Segmentation frame receptive field: 991 samples.
const FRAME_DUR_S: f64 = 991.0 / 16_000.0;
/// Powerset class -> active local speakers (3 speakers, at most 2 at once).
const POWERSET: [[bool; 3]; SEG_CLASSES] = [
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    [true, true, false],
    [true, false, true],
    [false, true, true],
];
pub const SEGMENTATION_FILE: &str = "segmentation-3.0.onnx";
pub const EMBEDDING_FILE: &str = "campplus.onnx";
/// Below this RMS a window is digital silence: no model call (segmentation of all-zero input
/// is ill-conditioned anyway).
const SILENT_RMS: f32 = 1e-4;

#[derive(Debug, thiserror::Error)]
pub enum DiarizeError {
    #[error(
        "no diarization models in {dir}: missing {missing} (get them with `minutes models pull diarization`, or point --diarization-models / MINUTES_DIARIZATION_MODELS at a folder holding {SEGMENTATION_FILE} and {EMBEDDING_FILE})"
    )]
    Missing { dir: PathBuf, missing: String },
    #[error(
        "cannot use diarization model {path}: {reason} (replace it with `minutes models pull diarization`)"
    )]
    Model { path: PathBuf, reason: String },
    #[error("cannot read the audio for diarization: {0}")]
    Audio(String),
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Folder holding `segmentation-3.0.onnx` and `campplus.onnx`.
    pub models_dir: PathBuf,
    /// The number of speakers, when known; otherwise estimated with `threshold`.
    pub speakers: Option<usize>,
    /// Clustering stops before merging groups farther apart than this cosine distance.
    pub threshold: f32,
    /// Window hop in samples.
    pub step: usize,
    /// Worker threads for the models.
    pub threads: usize,
    /// Enrolled voices: a diarized speaker that matches one is named after it.
    pub voiceprints: Vec<voiceprint::Known>,
}

impl Options {
    pub fn new(models_dir: PathBuf) -> Options {
        Options {
            models_dir,
            speakers: None,
            threshold: 0.25,
            step: 40_000,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(4),
            voiceprints: Vec::new(),
        }
    }
}

pub struct Models {
    pub segmenter: Segmenter,
    pub embedder: Embedder,
}

impl Models {
    pub fn load(dir: &Path) -> Result<Models, DiarizeError> {
        let seg = dir.join(SEGMENTATION_FILE);
        let emb = dir.join(EMBEDDING_FILE);
        let missing: Vec<&str> = [(&seg, SEGMENTATION_FILE), (&emb, EMBEDDING_FILE)]
            .into_iter()
            .filter(|(p, _)| !p.is_file())
            .map(|(_, n)| n)
            .collect();
        if !missing.is_empty() {
            return Err(DiarizeError::Missing {
                dir: dir.to_path_buf(),
                missing: missing.join(" and "),
            });
        }
        Ok(Models {
            segmenter: Segmenter::load(&seg)?,
            embedder: Embedder::load(&emb)?,
        })
    }
}

/// A stretch of one speaker's speech; speakers are numbered 0.. in order of first speech.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub speaker: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub segmentation_s: f64,
    pub embedding_s: f64,
    pub clustering_s: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Diarization {
    pub turns: Vec<Turn>,
    pub speakers: usize,
    /// Per speaker (as numbered in `turns`): the mean of the (normalised) embeddings of its
    /// runs, not normalised, which voiceprints are compared with (`voiceprint`).
    pub centroids: Vec<Vec<f32>>,
    pub windows: usize,
    pub embeddings: usize,
    pub timings: Timings,
}

/// Per window: for each frame, which of the 3 local speakers are active.
type Activity = Vec<[bool; 3]>;

fn window_starts(n: usize, step: usize) -> Vec<usize> {
    let step = step.max(1);
    let mut starts: Vec<usize> = (0..=n.saturating_sub(WINDOW_SAMPLES))
        .step_by(step)
        .collect();
    if n > WINDOW_SAMPLES && !(n - WINDOW_SAMPLES).is_multiple_of(step) {
        starts.push(starts.last().copied().unwrap_or(0) + step);
    }
    starts
}

/// Runs `work(i)` for i in 0..n on `threads` threads, results in order; the first error wins.
fn parallel<T: Send, E: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(usize) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, T)> = Vec::with_capacity(n);
    let mut first_error = None;
    std::thread::scope(|s| {
        let first_error = &mut first_error;
        let handles: Vec<_> = (0..threads.clamp(1, n.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return Ok(mine);
                        }
                        match work(i) {
                            Ok(v) => mine.push((i, v)),
                            Err(e) => {
                                // Stop the others early: nothing after an error is used.
                                next.store(n, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(Ok(mine)) => results.extend(mine),
                Ok(Err(e)) => {
                    if first_error.is_none() {
                        *first_error = Some(e);
                    }
                }
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, v)| v).collect())
}

fn segment(
    models: &Models,
    samples: &[f32],
    starts: &[usize],
    threads: usize,
) -> Result<Vec<Activity>, DiarizeError> {
    parallel(starts.len(), threads, |c| {
        let end = (starts[c] + WINDOW_SAMPLES).min(samples.len());
        let chunk = &samples[starts[c].min(end)..end];
        let rms = (chunk.iter().map(|x| x * x).sum::<f32>() / WINDOW_SAMPLES as f32).sqrt();
        if rms < SILENT_RMS {
            return Ok(vec![[false; 3]; SEG_FRAMES]);
        }
        let lp = models.segmenter.run(chunk)?;
        Ok(lp
            .chunks_exact(SEG_CLASSES)
            .map(|frame| {
                let best = frame
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                POWERSET[best]
            })
            .collect())
    })
}

/// A pause at least this long splits a local speaker's speech in a window into runs, each
/// embedded and assigned to a speaker on its own. segmentation-3.0 at times gives two voices
/// that take turns one local speaker of a window (on the shared meeting's system channel 17 of
/// 62 window speakers mixed David and Sam), and one embedding of both lies between them: the
/// two clusters ran together (1 speaker found, DER 43 %). Per run the embeddings were pure
/// (0.96), and the tune split's confusion went to zero.
const RUN_GAP_S: f64 = 0.25;

/// One run of a window's local speaker: segmentation frames `first..=last` of window `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    window: usize,
    local: usize,
    first: usize,
    last: usize,
}

impl Span {
    fn overlaps(&self, other: &Span) -> bool {
        self.window == other.window && self.first <= other.last && other.first <= self.last
    }

    /// Frames between the two runs (0 when they touch or overlap).
    fn gap(&self, other: &Span) -> usize {
        if self.last < other.first {
            other.first - self.last
        } else {
            self.first.saturating_sub(other.last)
        }
    }
}

/// An embedding to compute: fbank frames `frames` (indices into the whole file's fbank) of
/// one run.
struct EmbeddingJob {
    span: Span,
    frames: Vec<usize>,
    clean_s: f32,
}

/// Filter-bank frames computed at once in the embedding pass: 10 minutes (19 MB).
const STRETCH_FRAMES: usize = 60_000;

/// Consecutive embedding jobs whose frames lie within one stretch of the recording.
struct Stretch {
    jobs: std::ops::Range<usize>,
    first_frame: usize,
    last_frame: usize,
}

/// Splits `jobs` (in window order) into stretches of fewer than `max_frames` frames, or one
/// job's frames when a job alone is longer.
fn fbank_stretches(jobs: &[EmbeddingJob], max_frames: usize) -> Vec<Stretch> {
    let mut out: Vec<Stretch> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let (lo, hi) = match (job.frames.iter().min(), job.frames.iter().max()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            // No frames: it goes with the stretch before, so every job has its embedding.
            _ => out.last().map_or((0, 0), |s| (s.first_frame, s.last_frame)),
        };
        match out.last_mut() {
            Some(s)
                if s.jobs.end == i && hi.max(s.last_frame) - lo.min(s.first_frame) < max_frames =>
            {
                s.jobs.end = i + 1;
                s.first_frame = s.first_frame.min(lo);
                s.last_frame = s.last_frame.max(hi);
            }
            _ => out.push(Stretch {
                jobs: i..i + 1,
                first_frame: lo,
                last_frame: hi,
            }),
        }
    }
    out
}

/// The runs of every window's local speakers: those long enough to embed as jobs, the others
/// as spans that take the speaker of a neighbouring run of the same local speaker.
fn embedding_jobs(
    fbank_frames: usize,
    seg: &[Activity],
    starts: &[usize],
) -> (Vec<EmbeddingJob>, Vec<Span>) {
    let mut jobs = Vec::new();
    let mut short = Vec::new();
    let gap = (RUN_GAP_S / FRAME_STEP_S).round() as usize;
    let frame_of = |j: usize, t0: f64| {
        let centre = (160 * j + 200) as f64 / SAMPLE_RATE as f64;
        ((centre - t0 - FRAME_DUR_S / 2.0) / FRAME_STEP_S)
            .round()
            .clamp(0.0, (SEG_FRAMES - 1) as f64) as usize
    };
    for (c, act) in seg.iter().enumerate() {
        let t0 = starts[c] as f64 / SAMPLE_RATE as f64;
        // fbank frames whose centre lies inside the window
        let j0 = (starts[c] as f64 - 200.0) / 160.0;
        let j0 = j0.max(0.0).ceil() as usize;
        let j1 = (((starts[c] + WINDOW_SAMPLES) as f64 - 200.0) / 160.0).ceil() as usize;
        let j1 = j1.min(fbank_frames);
        for local in 0..3 {
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for f in (0..act.len()).filter(|&f| act[f][local]) {
                match runs.last_mut() {
                    Some((_, last)) if f - *last <= gap => *last = f,
                    _ => runs.push((f, f)),
                }
            }
            for (first, last) in runs {
                let span = Span {
                    window: c,
                    local,
                    first,
                    last,
                };
                let mut clean = Vec::new();
                let mut all = Vec::new();
                for j in j0..j1 {
                    let at = frame_of(j, t0);
                    if at < first || at > last || !act[at][local] {
                        continue;
                    }
                    all.push(j);
                    if act[at].iter().filter(|&&x| x).count() == 1 {
                        clean.push(j);
                    }
                }
                let clean_s = clean.len() as f32 / 100.0;
                let frames = if onnx::bucket(clean.len()).is_some() {
                    clean
                } else {
                    all
                };
                let Some(len) = onnx::bucket(frames.len()) else {
                    short.push(span);
                    continue;
                };
                // Cut to the plan's length around the middle of the speech.
                let skip = (frames.len() - len) / 2;
                jobs.push(EmbeddingJob {
                    span,
                    frames: frames[skip..skip + len].to_vec(),
                    clean_s,
                });
            }
        }
    }
    (jobs, short)
}

/// What the models say about a recording, before clustering: kept apart so that clustering
/// settings can be tried without running the models again (the benchmark does).
pub struct Analysis {
    seg: Vec<Activity>,
    starts: Vec<usize>,
    jobs: Vec<EmbeddingJob>,
    /// Runs too short to embed.
    short: Vec<Span>,
    embeddings: Vec<Vec<f32>>,
    n_samples: usize,
    pub timings: Timings,
}

/// Runs both models over one channel of 16 kHz audio in [-1, 1].
pub fn analyse(
    models: &Models,
    samples: &[f32],
    options: &Options,
) -> Result<Analysis, DiarizeError> {
    let starts = window_starts(samples.len(), options.step);
    let t = Instant::now();
    let seg = segment(models, samples, &starts, options.threads)?;
    let segmentation_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (jobs, short) = embedding_jobs(fbank::frames_of(samples.len()), &seg, &starts);
    let frontend = fbank::Fbank::new();
    let mut embeddings: Vec<Vec<f32>> = Vec::with_capacity(jobs.len());
    // The filter bank a stretch at a time, not for the whole file at once (345 MB for 3 hours):
    // jobs come in window order, so each stretch serves a run of them.
    for group in fbank_stretches(&jobs, STRETCH_FRAMES) {
        let first = group.first_frame;
        let end = (group.last_frame * fbank::FRAME_SHIFT + fbank::FRAME_LEN).min(samples.len());
        let fbank = frontend.compute(&samples[first * fbank::FRAME_SHIFT..end]);
        let part = &jobs[group.jobs.clone()];
        embeddings.extend(parallel(part.len(), options.threads, |i| {
            let mut input = Vec::with_capacity(part[i].frames.len() * fbank::MEL_BINS);
            for &j in &part[i].frames {
                let j = j - first;
                input.extend_from_slice(&fbank[j * fbank::MEL_BINS..(j + 1) * fbank::MEL_BINS]);
            }
            fbank::mean_normalise(&mut input);
            let mut e = models.embedder.run(&input)?;
            cluster::normalise(&mut e);
            Ok::<_, DiarizeError>(e)
        })?);
    }
    Ok(Analysis {
        seg,
        starts,
        jobs,
        short,
        embeddings,
        n_samples: samples.len(),
        timings: Timings {
            segmentation_s,
            embedding_s: t.elapsed().as_secs_f64(),
            clustering_s: 0.0,
        },
    })
}

impl Analysis {
    /// Clusters and reconstructs with `options`' speaker count or threshold.
    pub fn diarization(&self, options: &Options) -> Diarization {
        let t = Instant::now();
        let (turns, centroids) = cluster_and_reconstruct(
            &self.seg,
            &self.starts,
            &self.jobs,
            &self.short,
            &self.embeddings,
            self.n_samples,
            options,
        );
        let speakers = turns.iter().map(|t| t.speaker + 1).max().unwrap_or(0);
        Diarization {
            turns,
            speakers,
            centroids,
            windows: self.starts.len(),
            embeddings: self.embeddings.len(),
            timings: Timings {
                clustering_s: t.elapsed().as_secs_f64(),
                ..self.timings.clone()
            },
        }
    }
}

/// Diarizes one channel of 16 kHz audio in [-1, 1].
pub fn diarize(
    models: &Models,
    samples: &[f32],
    options: &Options,
) -> Result<Diarization, DiarizeError> {
    Ok(analyse(models, samples, options)?.diarization(options))
}

fn cluster_and_reconstruct(
    seg: &[Activity],
    starts: &[usize],
    jobs: &[EmbeddingJob],
    short: &[Span],
    embeddings: &[Vec<f32>],
    n_samples: usize,
    options: &Options,
) -> (Vec<Turn>, Vec<Vec<f32>>) {
    // Only embeddings with a second of clean speech decide the clusters.
    let mut train: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].clean_s >= 1.0)
        .collect();
    if train.len() < 2 {
        train = (0..jobs.len()).collect();
    }
    if train.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let x: Vec<Vec<f32>> = train.iter().map(|&i| embeddings[i].clone()).collect();
    // Small clusters are overlap, noise or a fragment of a voice: their members join the
    // nearest speaker.
    let centroids_of = |labels: &[usize], large_only: bool| -> Vec<Vec<f32>> {
        let k = labels.iter().max().map_or(0, |m| m + 1);
        let mut centroids = vec![vec![0.0f32; EMBEDDING_DIM]; k];
        let mut sizes = vec![0usize; k];
        for (row, &l) in x.iter().zip(labels) {
            sizes[l] += 1;
            for (c, v) in centroids[l].iter_mut().zip(row) {
                *c += v;
            }
        }
        if !large_only {
            return centroids;
        }
        let unit: Vec<Vec<f32>> = centroids
            .iter()
            .map(|c| {
                let mut c = c.clone();
                cluster::normalise(&mut c);
                c
            })
            .collect();
        let speakers = cluster::speaker_clusters(&sizes, &unit, cluster::FOLD_DISTANCE);
        tracing::debug!(
            embeddings = x.len(),
            clusters = k,
            speakers = speakers.len(),
            "clusters"
        );
        speakers.iter().map(|&c| centroids[c].clone()).collect()
    };
    let runs: Vec<(usize, usize)> = train
        .iter()
        .map(|&i| (jobs[i].span.window, jobs[i].span.local))
        .collect();
    let mut labels = cluster::average_linkage(&x, options.threshold, None);
    // In a very short recording segmentation's view of who is one voice decides: a cluster of
    // a few short runs says little. In longer ones, synthetic voices that segmentation hears as
    // one local speaker of every window they share are told apart by the size and distance of
    // their clusters: joined there, tune3 and tune4 went from DER 7 % to 26-34 %, and the
    // shared meeting's system channel (David and Sam, 3 minutes) became one speaker.
    if cluster::few_embeddings(x.len()) {
        labels = cluster::join_one_voice(&labels, &runs, cluster::large_cluster(x.len()));
    }
    let estimated = centroids_of(&labels, true);
    let mut centroids = match options.speakers {
        None => estimated,
        // A count given: the estimate's speakers if they are that many. Cut at the count
        // instead, a run of a few short embeddings that stands apart takes a cluster of its
        // own while two voices stay merged (meeting_a's system channel: 46 % with 2 given).
        Some(n) if estimated.len() == n => estimated,
        Some(n) => centroids_of(
            &cluster::average_linkage(&x, options.threshold, Some(n.clamp(1, x.len()))),
            false,
        ),
    };
    for c in &mut centroids {
        cluster::normalise(c);
    }
    let k = centroids.len();

    // Each run to a cluster, the most similar runs first; two runs of different local
    // speakers that overlap (people talking at once) never share one.
    let mut by_window: Vec<Vec<usize>> = vec![Vec::new(); seg.len()];
    for (i, j) in jobs.iter().enumerate() {
        by_window[j.span.window].push(i);
    }
    let mut cluster_of: Vec<Option<usize>> = vec![None; jobs.len()];
    let sim = |i: usize| -> Vec<f32> {
        centroids
            .iter()
            .map(|cent| cluster::dot(&embeddings[i], cent))
            .collect()
    };
    for items in &by_window {
        let sims: Vec<(usize, Vec<f32>)> = items.iter().map(|&i| (i, sim(i))).collect();
        let best = |s: &[f32]| s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut order: Vec<&(usize, Vec<f32>)> = sims.iter().collect();
        order.sort_by(|a, b| best(&b.1).total_cmp(&best(&a.1)));
        for (i, s) in order {
            let mut candidates: Vec<usize> = (0..k).collect();
            candidates.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
            let span = jobs[*i].span;
            cluster_of[*i] = candidates.into_iter().find(|&q| {
                !items.iter().any(|&o| {
                    cluster_of[o] == Some(q)
                        && jobs[o].span.local != span.local
                        && jobs[o].span.overlaps(&span)
                })
            });
        }
    }
    // Per cluster, the mean of its runs' embeddings, left unnormalised: the dot product of two
    // such means is the average similarity between their members, average linkage's measure.
    let mut means = vec![vec![0.0f32; EMBEDDING_DIM]; k];
    let mut members = vec![0usize; k];
    for &i in &train {
        if let Some(q) = cluster_of[i] {
            members[q] += 1;
            for (m, v) in means[q].iter_mut().zip(&embeddings[i]) {
                *m += v;
            }
        }
    }
    for (m, n) in means.iter_mut().zip(&members) {
        for v in m.iter_mut() {
            *v /= (*n).max(1) as f32;
        }
    }
    // Per window, frame and local speaker: the cluster. A run too short to embed takes the
    // cluster of the nearest run of its local speaker.
    let mut runs_of: Vec<Vec<(Span, usize)>> = vec![Vec::new(); seg.len()];
    for (j, q) in jobs.iter().zip(&cluster_of) {
        if let Some(q) = q {
            runs_of[j.span.window].push((j.span, *q));
        }
    }
    for s in short {
        let nearest = runs_of[s.window]
            .iter()
            .filter(|(r, _)| r.local == s.local)
            .min_by_key(|(r, _)| r.gap(s))
            .map(|(_, q)| *q);
        if let Some(q) = nearest {
            runs_of[s.window].push((*s, q));
        }
    }

    // Reconstruction on the global frame grid (as pyannote 3.x).
    let dur = n_samples as f64 / SAMPLE_RATE as f64;
    let g = (dur / FRAME_STEP_S).floor() as usize + 1;
    let mut score = vec![0.0f32; (g + SEG_FRAMES) * k];
    let mut count_sum = vec![0.0f32; g + SEG_FRAMES];
    let mut cover = vec![0.0f32; g + SEG_FRAMES];
    for (c, act) in seg.iter().enumerate() {
        let g0 = (starts[c] as f64 / SAMPLE_RATE as f64 / FRAME_STEP_S).round() as usize;
        for (f, frame) in act.iter().enumerate() {
            let at = g0 + f;
            if at >= g + SEG_FRAMES {
                break;
            }
            count_sum[at] += frame.iter().filter(|&&x| x).count() as f32;
            cover[at] += 1.0;
            let mut best = vec![0.0f32; k];
            for (span, q) in &runs_of[c] {
                if frame[span.local] && (span.first..=span.last).contains(&f) {
                    best[*q] = 1.0;
                }
            }
            for q in 0..k {
                score[at * k + q] += best[q];
            }
        }
    }
    let mut active = vec![false; g * k];
    for at in 0..g {
        let count = ((count_sum[at] / cover[at].max(1.0)).round() as usize)
            .min(k)
            .min(2);
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| score[at * k + b].total_cmp(&score[at * k + a]));
        for &q in order.iter().take(count) {
            if score[at * k + q] > 0.0 {
                active[at * k + q] = true;
            }
        }
    }
    let mid = |f: usize| f as f64 * FRAME_STEP_S + FRAME_DUR_S / 2.0;
    let mut turns = Vec::new();
    for q in 0..k {
        let mut on: Option<usize> = None;
        for at in 0..=g {
            let a = at < g && active[at * k + q];
            match (a, on) {
                (true, None) => on = Some(at),
                (false, Some(s)) => {
                    let start = mid(s);
                    let end = if at < g {
                        mid(at)
                    } else {
                        mid(g - 1) + FRAME_STEP_S
                    }
                    .min(dur);
                    if end > start {
                        turns.push(Turn {
                            start_ms: (start * 1000.0).round() as u64,
                            end_ms: (end * 1000.0).round() as u64,
                            speaker: q,
                        });
                    }
                    on = None;
                }
                _ => {}
            }
        }
    }
    turns.sort_by_key(|t| (t.start_ms, t.speaker));
    // Number speakers by first speech.
    let mut order: Vec<usize> = Vec::new();
    for t in &turns {
        if !order.contains(&t.speaker) {
            order.push(t.speaker);
        }
    }
    for t in &mut turns {
        t.speaker = order.iter().position(|&s| s == t.speaker).unwrap_or(0);
    }
    let means = order.iter().map(|&q| means[q].clone()).collect();
    (turns, means)
}

/// Where diarization models are looked for when no folder is given: beside the whisper models.
pub fn default_models_dir(home: &Path) -> PathBuf {
    crate::transcribe::models::models_dir(home).join("diarization")
}

/// Turns as scored by `der`.
pub fn as_rttm(turns: &[Turn]) -> der::Rttm {
    turns
        .iter()
        .map(|t| {
            (
                t.start_ms as f64 / 1000.0,
                t.end_ms as f64 / 1000.0,
                speaker_id(t.speaker),
            )
        })
        .collect()
}

/// The speaker id of diarized speaker `n` (0-based): "speaker-1", "speaker-2", …
pub fn speaker_id(n: usize) -> String {
    format!("speaker-{}", n + 1)
}

#[cfg(test)]
mod tests;

/// A transcript's segments with their speakers, and the diarized speakers they name.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub segments: Vec<crate::transcribe::pipeline::Segment>,
    /// Speaker 1, 2, … of the diarized channel (`model::Speaker::diarized`), in order of
    /// first speech; empty when diarization did not run through.
    pub speakers: Vec<crate::model::Speaker>,
    /// Why the segments kept their channel labels, when they did; for the user.
    pub fallback: Option<String>,
}

/// Gives the segments of a transcribed file their speakers: on a 2-channel recording split by
/// channel, channel 1 (system audio) is diarized and channel 0 keeps its label ("me"); a mono
/// (or mixed) file is diarized whole. A diarized segment's `speaker` is its speaker's name
/// ("Speaker 2"); `Labelled::speakers` gives the ids. On any failure the segments come back
/// as they were, with the reason: the transcript is never lost to diarization.
pub fn label(
    path: &Path,
    segments: Vec<crate::transcribe::pipeline::Segment>,
    words: Vec<Vec<crate::transcribe::engine::Word>>,
    split_channels: bool,
    options: &Options,
) -> Labelled {
    let started = Instant::now();
    let diarized_channel: u32 = if split_channels { 1 } else { 0 };
    if !segments.iter().any(|s| s.channel == diarized_channel) {
        return Labelled {
            segments,
            speakers: Vec::new(),
            fallback: None,
        };
    }
    let result = (|| -> Result<(Diarization, String), DiarizeError> {
        let models = Models::load(&options.models_dir)?;
        let (_, samples) = crate::audio::decode::decode_channel(path, split_channels.then_some(1))
            .map_err(|e| DiarizeError::Audio(e.to_string()))?;
        let d = diarize(&models, &samples, options)?;
        Ok((d, models.embedder.identity().to_string()))
    })();
    let what = if split_channels {
        "the system-audio channel keeps one label"
    } else {
        "speakers are not told apart"
    };
    let fallback = |reason: String| {
        let note = format!("{reason}; {what}");
        tracing::warn!("{note}");
        Labelled {
            segments: Vec::new(),
            speakers: Vec::new(),
            fallback: Some(note),
        }
    };
    match result {
        Ok((d, _)) if d.speakers == 0 => Labelled {
            segments,
            ..fallback("diarization found no speech".into())
        },
        Ok((d, model)) => {
            tracing::info!(
                speakers = d.speakers,
                windows = d.windows,
                embeddings = d.embeddings,
                took_s = started.elapsed().as_secs_f64(),
                "speakers told apart"
            );
            let mut segments = assign::label_segments(
                segments,
                words,
                &d.turns,
                |c| c == diarized_channel,
                speaker_id,
            );
            // Numbered by first word, so that a speaker whose turns carry no words leaves no gap.
            let mut order: Vec<usize> = (0..segments.len())
                .filter(|&i| segments[i].channel == diarized_channel)
                .collect();
            order.sort_by_key(|&i| segments[i].start_ms);
            // (diarized speaker index, the speaker) in order of first word, and per segment the
            // position of its speaker there.
            let mut speakers: Vec<(usize, crate::model::Speaker)> = Vec::new();
            let mut speaker_of: Vec<(usize, usize)> = Vec::new();
            for i in order {
                // Speech no turn comes near keeps its channel label.
                let Some(n) = segments[i]
                    .speaker
                    .as_deref()
                    .and_then(|t| (0..d.speakers).find(|&n| speaker_id(n) == t))
                else {
                    continue;
                };
                let at = match speakers.iter().position(|(m, _)| *m == n) {
                    Some(at) => at,
                    None => {
                        let s = crate::model::Speaker::diarized(
                            speakers.len() as u32 + 1,
                            diarized_channel,
                        );
                        speakers.push((n, s));
                        speakers.len() - 1
                    }
                };
                speaker_of.push((i, at));
            }
            name_by_voiceprints(&mut speakers, &d, &model, &options.voiceprints, &segments);
            for (i, at) in speaker_of {
                segments[i].speaker = Some(speakers[at].1.name.clone());
            }
            let speakers = speakers.into_iter().map(|(_, s)| s).collect();
            Labelled {
                segments,
                speakers,
                fallback: None,
            }
        }
        Err(e) => Labelled {
            segments,
            ..fallback(e.to_string())
        },
    }
}

/// Names the diarized speakers that match an enrolled voiceprint (`voiceprint::best_matches`):
/// the speaker's name becomes the print's, and the match (with the label it had) is kept on
/// the speaker. A print whose name another speaker of the transcript already has (a channel
/// label) is left out, so two speakers never share a name by accident.
fn name_by_voiceprints(
    speakers: &mut [(usize, crate::model::Speaker)],
    d: &Diarization,
    model: &str,
    prints: &[voiceprint::Known],
    segments: &[crate::transcribe::pipeline::Segment],
) {
    if prints.is_empty() {
        return;
    }
    let taken = |name: &str| {
        segments.iter().any(|s| {
            s.speaker
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name) && !n.starts_with("speaker-"))
        }) || speakers
            .iter()
            .any(|(_, s)| s.name.eq_ignore_ascii_case(name))
    };
    let usable: Vec<voiceprint::Known> =
        prints.iter().filter(|p| !taken(&p.name)).cloned().collect();
    let centroids: Vec<(usize, Vec<f32>)> = speakers
        .iter()
        .enumerate()
        .filter_map(|(at, (n, _))| d.centroids.get(*n).map(|c| (at, c.clone())))
        .collect();
    let skipped = prints.iter().filter(|p| p.model != model).count();
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "voiceprints made with another speaker embedding model are not compared; enroll those people again (`minutes speakers enroll --replace`)"
        );
    }
    for (at, p, similarity) in voiceprint::best_matches(&centroids, &usable, model) {
        let speaker = &mut speakers[at].1;
        tracing::info!(
            speaker = speaker.id,
            voiceprint = usable[p].name,
            similarity,
            "speaker named by voiceprint"
        );
        speaker.voice = Some(voiceprint::VoiceMatch {
            voiceprint: usable[p].name.clone(),
            similarity,
            label: std::mem::replace(&mut speaker.name, usable[p].name.clone()),
        });
    }
}
