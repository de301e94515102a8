//! The live transcript: while recording, find speech per channel (VAD) and transcribe each
//! finished region on a worker, labelled by channel.
//!
//! Two threads, so that the slow part can never hold up the cheap part, and neither the
//! recording: the analysis thread (VAD, microseconds per block) takes the recorder's blocks
//! and cuts regions; the worker runs whisper on them. Regions the worker cannot take at once
//! (bounded queue) are remembered by position only and transcribed from the file after the stop;
//! so is any stretch the recorder could not hand over.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use super::decode::TARGET_RATE;
use super::recorder::LiveBlock;
use crate::transcribe::engine::{EngineConfig, TranscribeError, Transcriber};
use crate::transcribe::pipeline::Segment;
use crate::transcribe::vad::{SpeechRegion, StreamingVad, VadConfig};

/// Regions waiting for the worker; more are deferred to after the stop.
const WORKER_QUEUE: usize = 4;
/// Audio the analysis thread keeps per channel: longer than any region VAD can still report.
const KEEP_S: usize = 45;

#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub engine: EngineConfig,
    pub vad: VadConfig,
    pub channel_names: [String; 2],
    /// Channels with no device are not analysed.
    pub active: [bool; 2],
}

/// What the worker is handed.
enum Work {
    /// A final region to transcribe.
    Region(Job),
    /// The start of a turn that goes on, to detect the language in before the turn's window
    /// comes, while the worker has nothing else to do.
    LanguageProbe(Probe),
}

struct Job {
    channel: usize,
    region: SpeechRegion,
    audio: Vec<f32>,
    /// When the speech ended, for the lag figure (None for work done after the stop).
    speech_end: Option<Instant>,
}

struct Probe {
    channel: usize,
    /// Where the turn's audio starts; `audio` is the first `LIVE_PROBE_MS` of it.
    start_ms: u64,
    audio: Vec<f32>,
}

/// What a language probe heard, until the window of its turn comes.
struct HeardLanguage {
    channel: usize,
    /// The audio it listened to.
    heard: SpeechRegion,
    language: String,
}

impl HeardLanguage {
    /// Whether it heard the start of `job`'s own turn: then it is what whisper would detect there.
    fn heard_in(&self, job: &Job) -> bool {
        self.channel == job.channel
            && self.heard.start_ms >= job.region.start_ms
            && self.heard.end_ms <= job.region.end_ms
    }
}

/// The audio a language probe gets: whisper listens to a window's first 6 s to detect its
/// language, and the last of those spectrogram frames should see the speech after them, as
/// they would in the whole window.
const LIVE_PROBE_MS: u64 = 6_200;

/// What the live transcript produced.
#[derive(Debug, Default)]
pub struct LiveResult {
    pub segments: Vec<Segment>,
    pub language: Option<String>,
    /// Speech end → text handed out, seconds, for regions transcribed while recording.
    pub lags: Vec<f64>,
    /// Regions transcribed while recording / after the stop.
    pub live_regions: usize,
    pub deferred_regions: usize,
    pub error: Option<String>,
}

/// A printed line: the segment and, for live work, its lag.
pub type OnSegment = Box<dyn FnMut(&Segment, Option<f64>) + Send>;

pub struct Live {
    analysis: std::thread::JoinHandle<Vec<(usize, SpeechRegion)>>,
    worker: std::thread::JoinHandle<LiveResult>,
    jobs: SyncSender<Work>,
}

impl Live {
    /// Starts both threads. `started` is the instant the recording's timeline starts at.
    /// Returns the sender the recorder gives its blocks to (bounded: ~20 s of audio).
    pub fn start(
        config: LiveConfig,
        started: Instant,
        on_segment: OnSegment,
    ) -> std::io::Result<(Live, SyncSender<LiveBlock>)> {
        let (block_tx, block_rx) = sync_channel::<LiveBlock>(1000);
        let (job_tx, job_rx) = sync_channel::<Work>(WORKER_QUEUE);
        let vad = config.vad.clone();
        let post_pad = u64::from(config.vad.post_pad_ms);
        // The worker says when the language is settled (or was given), and probes stop.
        let wants_language = Arc::new(AtomicBool::new(config.engine.language.is_none()));
        let analysis = Analysis {
            jobs: job_tx.clone(),
            active: config.active,
            started,
            post_pad_ms: post_pad,
            wants_language: wants_language.clone(),
        };
        let analysis = std::thread::Builder::new()
            .name("live-vad".into())
            .spawn(move || analyse(block_rx, analysis, vad))?;
        let worker = std::thread::Builder::new()
            .name("live-whisper".into())
            .spawn(move || work(config, job_rx, on_segment, wants_language))?;
        Ok((
            Live {
                analysis,
                worker,
                jobs: job_tx,
            },
            block_tx,
        ))
    }

    /// After the recorder stopped (and dropped its sender) and `audio` is complete: finishes the
    /// live work, then transcribes what was deferred — the regions the worker had no room for
    /// and the `gaps` (timeline frames) the analysis thread never saw — reading them from the file.
    pub fn finish(self, audio: &Path, gaps: &[(u64, u64)]) -> LiveResult {
        let deferred = self.analysis.join().unwrap_or_default();
        let mut jobs: Vec<(usize, SpeechRegion)> = deferred;
        for &(from, to) in gaps {
            match read_frames(audio, from, to) {
                Ok(channels) => {
                    let off = from * 1000 / u64::from(TARGET_RATE);
                    for (c, samples) in channels.iter().enumerate() {
                        for r in crate::transcribe::vad::detect(
                            samples,
                            TARGET_RATE,
                            &VadConfig::default(),
                        ) {
                            jobs.push((
                                c,
                                SpeechRegion {
                                    start_ms: r.start_ms + off,
                                    end_ms: r.end_ms + off,
                                },
                            ));
                        }
                    }
                }
                Err(e) => tracing::warn!(
                    "cannot read {} to finish the transcript: {e}",
                    audio.display()
                ),
            }
        }
        for (channel, region) in jobs {
            let ms = |ms: u64| ms * u64::from(TARGET_RATE) / 1000;
            let audio = match read_frames(audio, ms(region.start_ms), ms(region.end_ms)) {
                Ok(mut c) if channel < c.len() => c.swap_remove(channel),
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("cannot read {}: {e}", audio.display());
                    continue;
                }
            };
            if self
                .jobs
                .send(Work::Region(Job {
                    channel,
                    region,
                    audio,
                    speech_end: None,
                }))
                .is_err()
            {
                break;
            }
        }
        drop(self.jobs);
        let mut result = self.worker.join().unwrap_or_default();
        result.segments.sort_by_key(|s| (s.start_ms, s.channel));
        result
    }
}

/// Frames `from..to` of a 16-bit WAV, per channel.
fn read_frames(path: &Path, from: u64, to: u64) -> Result<Vec<Vec<f32>>, hound::Error> {
    let mut reader = hound::WavReader::open(path)?;
    let channels = usize::from(reader.spec().channels);
    let total = u64::from(reader.duration());
    let (from, to) = (from.min(total), to.min(total));
    reader.seek(from as u32)?;
    let mut out = vec![Vec::with_capacity((to - from) as usize); channels];
    for (i, s) in reader
        .samples::<i16>()
        .take((to - from) as usize * channels)
        .enumerate()
    {
        out[i % channels].push(f32::from(s?) / 32768.0);
    }
    Ok(out)
}

struct Lane {
    vad: StreamingVad,
    buf: Vec<f32>,
    /// Timeline frame of `buf[0]`.
    buf_start: u64,
    /// The start of the last turn whose language was probed: one probe a turn.
    probed_from: Option<u64>,
}

impl Lane {
    fn slice(&self, region: SpeechRegion) -> Vec<f32> {
        let at = |ms: u64| {
            ((ms * u64::from(TARGET_RATE) / 1000).saturating_sub(self.buf_start) as usize)
                .min(self.buf.len())
        };
        self.buf[at(region.start_ms)..at(region.end_ms).max(at(region.start_ms))].to_vec()
    }
}

/// What the analysis thread works with besides the blocks and its VAD.
struct Analysis {
    jobs: SyncSender<Work>,
    /// Channels with a device.
    active: [bool; 2],
    /// The instant the recording's timeline starts at.
    started: Instant,
    post_pad_ms: u64,
    wants_language: Arc<AtomicBool>,
}

fn analyse(
    blocks: Receiver<LiveBlock>,
    analysis: Analysis,
    vad: VadConfig,
) -> Vec<(usize, SpeechRegion)> {
    let Analysis {
        jobs,
        active,
        started,
        post_pad_ms,
        wants_language,
    } = analysis;
    let mut lanes: Vec<Lane> = (0..2)
        .map(|_| Lane {
            vad: StreamingVad::new(TARGET_RATE, vad.clone()),
            buf: Vec::new(),
            buf_start: 0,
            probed_from: None,
        })
        .collect();
    let mut deferred = Vec::new();
    let hand_over = |channel: usize,
                     region: SpeechRegion,
                     lane: &Lane,
                     deferred: &mut Vec<(usize, SpeechRegion)>,
                     live: bool| {
        // A region ends `post_pad_ms` after its last speech; a piece cut off a turn that goes
        // on ends at the cut, and its last word shortly before.
        let speech_end_ms = lane
            .vad
            .speech_end_before(region.end_ms)
            .unwrap_or_else(|| region.end_ms.saturating_sub(post_pad_ms));
        let speech_end = live.then(|| started + std::time::Duration::from_millis(speech_end_ms));
        tracing::debug!(
            start_ms = region.start_ms,
            end_ms = region.end_ms,
            speech_end_ms,
            buffered_to_ms =
                (lane.buf_start + lane.buf.len() as u64) * 1000 / u64::from(TARGET_RATE),
            wall_ms = started.elapsed().as_millis() as u64,
            "live region final"
        );
        let job = Job {
            channel,
            region,
            audio: lane.slice(region),
            speech_end,
        };
        let sent = if live {
            jobs.try_send(Work::Region(job))
                .map_err(|e| matches!(e, TrySendError::Full(_)))
        } else {
            jobs.send(Work::Region(job)).map_err(|_| false)
        };
        if sent.is_err() {
            deferred.push((channel, region));
        }
    };
    while let Ok(block) = blocks.recv() {
        for (c, lane) in lanes.iter_mut().enumerate() {
            if !active[c] {
                continue;
            }
            let samples = &block.channels[c];
            if lane.buf.is_empty() {
                lane.buf_start = block.start;
            }
            lane.buf.extend_from_slice(samples);
            for region in lane.vad.push(samples) {
                hand_over(c, region, lane, &mut deferred, true);
            }
            if let Some(open) = lane.vad.open_region()
                && open.end_ms >= open.start_ms + LIVE_PROBE_MS
                && lane.probed_from != Some(open.start_ms)
                && wants_language.load(Ordering::Relaxed)
            {
                // A queue with no room means the worker is behind: the turn's own window will
                // detect the language then, as it would without the probe.
                lane.probed_from = Some(open.start_ms);
                let audio = lane.slice(SpeechRegion {
                    start_ms: open.start_ms,
                    end_ms: open.start_ms + LIVE_PROBE_MS,
                });
                let _ = jobs.try_send(Work::LanguageProbe(Probe {
                    channel: c,
                    start_ms: open.start_ms,
                    audio,
                }));
            }
            let keep = KEEP_S * TARGET_RATE as usize;
            if lane.buf.len() > 2 * keep {
                let cut = lane.buf.len() - keep;
                lane.buf.drain(..cut);
                lane.buf_start += cut as u64;
            }
        }
    }
    // The recording stopped: the last regions, waiting for the worker if need be.
    for (c, lane) in lanes.iter_mut().enumerate() {
        if active[c] {
            for region in lane.vad.finish() {
                hand_over(c, region, lane, &mut deferred, false);
            }
        }
    }
    deferred
}

/// Words of the channel's transcript so far given to whisper as the prompt of a live window.
const LIVE_PROMPT_WORDS: usize = 30;
/// What whisper leaves after its last segment of a live region is transcribed on its own if it
/// is this long (whisper's own rule for another pass); a shorter tail is padding.
const LIVE_MIN_TAIL_MS: u32 = 1_000;
/// whisper's retries of a live window at higher temperatures. Each decodes the window again,
/// and with one core busy they pushed the lag's p95 on a 150 s call with base to 3.2-3.4 s;
/// without them 3.0 s, and the live transcript's word errors did not measurably differ
/// (0.23-0.25 against 0.21-0.25 over two runs each). That matters: the live lines are the
/// recording's transcript, not a preview of it.
const LIVE_FALLBACKS: u32 = 0;

/// What the worker carries from one window to the next.
#[derive(Default)]
struct Running {
    /// Each channel's words so far (the end of it is the next window's prompt).
    contexts: [String; 2],
    /// The language whisper heard in each window.
    languages: Vec<String>,
}

/// Transcribes `job`'s region from `from_ms` on, hands each line out and adds it to the
/// channel's context. Returns where whisper handed the rest of the audio back, if it did.
fn transcribe_piece(
    engine: &mut Transcriber,
    job: &Job,
    speaker: &str,
    from_ms: u64,
    running: &mut Running,
    on_segment: &mut OnSegment,
    result: &mut LiveResult,
) -> Result<Option<u64>, TranscribeError> {
    let start = ((from_ms - job.region.start_ms) as usize * 16).min(job.audio.len());
    let audio = &job.audio[start..];
    let context = &mut running.contexts[job.channel];
    // A short prompt: with windows of a few seconds, whisper given a long one copied it into
    // the transcript more often (live WER 0.20 with 100 words on meeting_a).
    let prompt = crate::transcribe::engine::tail_words(context, LIVE_PROMPT_WORDS);
    let prompt_ref = (!prompt.is_empty()).then_some(prompt.as_str());
    let took = Instant::now();
    let waited = job
        .speech_end
        .map(|t| took.saturating_duration_since(t).as_millis() as u64);
    let window = engine.transcribe(
        audio,
        from_ms,
        prompt_ref,
        Some(Arc::new(AtomicBool::new(false))),
    )?;
    tracing::debug!(
        channel = job.channel,
        audio_ms = audio.len() as u64 / 16,
        waited_ms = ?waited,
        took_ms = took.elapsed().as_millis() as u64,
        chars = window.segments.iter().map(|s| s.text.len()).sum::<usize>(),
        handed_over_from_ms = ?window.handed_over_from_ms,
        "live window transcribed"
    );
    if let Some(l) = window.language {
        running.languages.push(l);
    }
    let lag = job.speech_end.map(|t| t.elapsed().as_secs_f64());
    for raw in window.segments {
        let text = crate::transcribe::repeats::collapse_loops(&raw.text);
        let text = text.as_str();
        if crate::transcribe::pipeline::is_non_speech(text)
            || crate::transcribe::repeats::copies_context(text, context)
        {
            tracing::debug!(text, "live: dropped non-speech or a copy of the prompt");
            continue;
        }
        let seg = Segment {
            start_ms: raw.start_ms.max(from_ms),
            end_ms: raw.end_ms.min(job.region.end_ms).max(raw.start_ms),
            channel: job.channel as u32,
            speaker: Some(speaker.to_string()),
            text: text.to_string(),
            confidence: raw.confidence,
        };
        context.push(' ');
        context.push_str(text);
        if context.len() > 1000 {
            let cut = context.len() - 600;
            let cut = (cut..context.len())
                .find(|i| context.is_char_boundary(*i))
                .unwrap_or(0);
            context.drain(..cut);
        }
        on_segment(&seg, lag);
        result.segments.push(seg);
    }
    Ok(window.handed_over_from_ms)
}

/// The worker's transcriber: the model loaded with the live transcript's settings.
fn live_engine(engine: &EngineConfig) -> Result<Transcriber, TranscribeError> {
    // Live windows are single regions: no DTW alignment pass is needed to place their text.
    let mut engine = Transcriber::load(EngineConfig {
        dtw: false,
        ..engine.clone()
    })?;
    engine.set_fit_audio_ctx(true);
    // When whisper stops well before a region's end, it would encode the whole fitted window
    // again from there: with one core busy a 7.6 s region took 5.3 s instead of 1.4 s, and the
    // other channel's next region waited behind it. The tail is handed back instead and
    // transcribed on its own, fitted to its length, with the words before it as its prompt.
    engine.set_min_tail_ms(LIVE_MIN_TAIL_MS);
    engine.set_hand_over_tails(true);
    engine.set_fallbacks(LIVE_FALLBACKS);
    // Every window is a region VAD heard speech in. whisper judged a French one probably
    // silent (no-speech probability 0.7-0.85) and dropped it whenever its words came out a
    // little unlikely, which depended only on where the recording's first block fell (3 of 8
    // offsets of 0-21 ms): beside four busy loops the turn was lost in 3 of 5 recordings.
    engine.set_keep_unsure_speech(true);
    Ok(engine)
}

fn work(
    config: LiveConfig,
    jobs: Receiver<Work>,
    mut on_segment: OnSegment,
    wants_language: Arc<AtomicBool>,
) -> LiveResult {
    let mut result = LiveResult::default();
    let mut engine = match live_engine(&config.engine) {
        Ok(e) => e,
        Err(e) => {
            result.error = Some(e.to_string());
            // Keep draining so the analysis thread never waits on a dead worker.
            for _ in jobs.iter() {}
            return result;
        }
    };
    if let Err(e) = engine.warm_up() {
        tracing::warn!("live transcript: warming up the model failed: {e}");
    }
    wants_language.store(engine.wants_language(), Ordering::Relaxed);
    let mut running = Running::default();
    let mut probed: Option<HeardLanguage> = None;
    let mut run = |engine: &mut Transcriber,
                   job: Job,
                   probed: &mut Option<HeardLanguage>,
                   result: &mut LiveResult|
     -> Result<(), TranscribeError> {
        if probed.as_ref().is_some_and(|p| p.heard_in(&job))
            && let Some(p) = probed.take()
        {
            engine.assume_language(p.language);
        }
        let mut from_ms = job.region.start_ms;
        // At most one tail is handed over per region: a tail's own tail is whisper's to pass.
        for piece in 0..2 {
            if piece == 1 {
                engine.set_hand_over_tails(false);
            }
            let handed_over = transcribe_piece(
                engine,
                &job,
                &config.channel_names[job.channel],
                from_ms,
                &mut running,
                &mut on_segment,
                result,
            );
            engine.set_hand_over_tails(true);
            match handed_over? {
                Some(at) if at > from_ms && at < job.region.end_ms => from_ms = at,
                _ => break,
            }
        }
        if let Some(t) = job.speech_end {
            result.lags.push(t.elapsed().as_secs_f64());
        }
        Ok(())
    };
    for work in jobs.iter() {
        match work {
            Work::Region(job) => {
                if job.speech_end.is_some() {
                    result.live_regions += 1;
                } else {
                    result.deferred_regions += 1;
                }
                if let Err(e) = run(&mut engine, job, &mut probed, &mut result) {
                    result.error.get_or_insert(e.to_string());
                }
            }
            Work::LanguageProbe(probe) => {
                let took = Instant::now();
                match probe_language(&mut engine, &probe) {
                    Ok(Some(heard)) => probed = Some(heard),
                    Ok(None) => {}
                    Err(e) => tracing::warn!("live transcript: language probe failed: {e}"),
                }
                tracing::debug!(
                    channel = probe.channel,
                    start_ms = probe.start_ms,
                    language = probed.as_ref().map(|p| p.language.as_str()),
                    took_ms = took.elapsed().as_millis() as u64,
                    "live language probe"
                );
            }
        }
        wants_language.store(engine.wants_language(), Ordering::Relaxed);
    }
    result.language = crate::transcribe::pipeline::most_common(&running.languages);
    result
}

/// The language heard at the start of a turn, unless it is no longer wanted (a window since
/// settled it).
fn probe_language(
    engine: &mut Transcriber,
    probe: &Probe,
) -> Result<Option<HeardLanguage>, TranscribeError> {
    if !engine.wants_language() {
        return Ok(None);
    }
    Ok(Some(HeardLanguage {
        channel: probe.channel,
        heard: SpeechRegion {
            start_ms: probe.start_ms,
            end_ms: probe.start_ms + probe.audio.len() as u64 / 16,
        },
        language: engine.probe_language(&probe.audio)?,
    }))
}

/// p-th percentile (0–100) of `xs`, nearest rank.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn workspace(relative: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(relative)
    }

    /// A French turn (espeak) and the live worker's transcriber on base, one thread.
    fn french_turn_and_live_engine() -> (Vec<f32>, Transcriber) {
        let clip = workspace("tests/fixtures/languages/fr_espeak.flac");
        let (_, channels) = crate::audio::decode::decode_file(&clip).expect("the French clip");
        let speech = crate::audio::decode::mix_to_mono(&channels);
        let model = workspace("../shared/models/ggml-base-q5_1.bin");
        let engine = live_engine(&EngineConfig {
            threads: 1,
            ..EngineConfig::new(model)
        })
        .expect("base loads");
        (speech, engine)
    }

    /// The language of a long first turn is detected while the turn goes on, on its first
    /// 6.2 s, and the turn's window is then decoded in it instead of detecting it again: what
    /// whisper finds there itself, and the language is kept as if it had.
    #[test]
    fn a_language_probe_hears_what_the_window_would() {
        let (speech, mut engine) = french_turn_and_live_engine();
        let window = &speech[..6_210 * 16];
        let own = engine
            .transcribe(window, 0, None, None)
            .expect("transcribes");
        assert_eq!(own.language.as_deref(), Some("fr"));
        engine.forget_language();
        assert!(engine.wants_language());
        let probed = engine
            .probe_language(&window[..LIVE_PROBE_MS as usize * 16])
            .expect("probes");
        assert_eq!(probed, "fr");
        engine.assume_language(probed);
        let decoded = engine
            .transcribe(window, 0, None, None)
            .expect("transcribes");
        let text: String = decoded.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(decoded.language.as_deref(), Some("fr"));
        assert!(text.to_lowercase().contains("bonjour"), "{text:?}");
        assert!(
            !engine.wants_language(),
            "a 6 s window of words keeps its language"
        );
    }

    /// A turn VAD heard stays in the transcript even when whisper thinks it probably silent.
    /// base gives this French clip a no-speech probability of 0.7-0.85 and, unless told to keep
    /// it, dropped the whole window when the clip started 6, 15 or 18 ms later (all three were
    /// seen in recordings: where the first block falls moves the audio by that much).
    #[test]
    fn a_live_window_keeps_speech_whisper_is_unsure_of() {
        let (speech, mut engine) = french_turn_and_live_engine();
        engine.warm_up().expect("warms up");
        // One live region of 6.21 s, as VAD cut it in the recordings.
        let len = 6_210 * 16;
        for shift_ms in [6, 15, 18] {
            let mut audio = vec![0.0; shift_ms * 16];
            audio.extend_from_slice(&speech[..len - shift_ms * 16]);
            engine.forget_language();
            let window = engine
                .transcribe(&audio, 0, None, None)
                .expect("transcribes");
            let text: String = window.segments.iter().map(|s| s.text.as_str()).collect();
            assert!(
                text.to_lowercase().contains("bonjour"),
                "shifted by {shift_ms} ms the turn came out as {text:?}"
            );
        }
    }
}
