//! From an audio file to a transcript: stream-decode, find speech per channel, pack speech
//! into whisper-sized windows (silence is cut out, so it costs nothing), transcribe, map the
//! times back, label channels and merge them in time order. Memory stays bounded whatever the
//! file's length: only the last few tens of seconds of each channel are held.

use super::engine::{RawSegment, TranscribeError, Transcriber};
use super::vad::{SpeechRegion, StreamingVad, VadConfig};
use crate::audio::decode::{AudioReader, DecodeError, TARGET_RATE};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Speech handed to whisper in one call: one 30 s window, leaving room for the gaps between
/// packed regions. Longer calls (whisper sliding through them itself) measured no faster on
/// meeting_a and transcribed worse (WER 0.114–0.116 against 0.086 with base q5_1).
const PACK_MS: u64 = 28_000;
/// Silence put between packed regions. Their padding already holds up to 500 ms of the pause
/// between them; this keeps two regions apart even where the padding is cut short.
const PACK_GAP_MS: u64 = 100;
/// See `Tuning::channel_gap_ms` and `Tuning::dtw_lag_ms`: tiny models gained from both (their
/// DTW word times come late), base did not.
const CHANNEL_GAP_MS: u64 = 100;
const TINY_CHANNEL_GAP_MS: u64 = 400;
const DTW_LAG_MS: u64 = 0;
const TINY_DTW_LAG_MS: u64 = 350;
/// A region is cut to fill a window only if the part that fits is at least this long.
const MIN_PIECE_MS: u64 = 3_000;
/// Whisper at times stops after a sentence or two and reports that as the whole window: one
/// segment, no timestamps, the rest of the speech silently lost (tiny.en dropped about 50
/// of meeting_a's 425 words in one window). Speech yields 3–4 tokens a second; a window of speech
/// with fewer than this is transcribed again in two halves.
const MIN_TOKENS_PER_SECOND: f64 = 1.2;
/// A window whose filters would keep less than this share of its words is transcribed again.
const KEPT_SHARE_OF_A_SOUND_WINDOW: f64 = 0.6;
/// Too few words to call a window a loop.
const MIN_LOOP_CHECK_WORDS: usize = 12;
/// whisper drops a whole window it judges probably silent (no-speech probability over 0.6)
/// when its words also come out unlikely. VAD heard speech there: a French clip, 6 s, came out
/// of base as nothing at all when it started 6, 15 or 18 ms later, and as two sentences
/// otherwise. A window with at least this much speech and no words is decoded again, keeping
/// what whisper hears.
const MIN_UNSURE_RETRY_MS: u64 = 2_000;
/// Below this much speech a window is not second-guessed: a few words may be all there is.
const MIN_RETRY_SPEECH_MS: u64 = 8_000;
/// What whisper leaves after its last segment is looked at again only if it is at least this
/// long: packs end with padding and gaps, and a shorter tail is rarely speech.
const MIN_TAIL_MS: u32 = 2_500;
/// How far back from the window's end to look for a quiet point to cut at.
const SPLIT_SEARCH_MS: u64 = 2_000;
/// How long the quiet a region is cut at to fill a window (see `Tuning::cut_pause_ms`).
const CUT_PAUSE_MS: u64 = 20;
/// Audio kept per channel behind the read position: longer than any region VAD can still open.
const KEEP_MS: u64 = 45_000;
/// A mono file at least this long is transcribed as two halves side by side (see `plan`). The
/// second half starts without the words before it as its prompt, and both halves' windows
/// fall elsewhere: on the 3-minute meetings of the evaluation set, halves made tiny.en's tune
/// split's mono WER 0.196 against 0.184 (held out 0.204 against 0.210), a cost on files that
/// take seconds; the hour-long meeting_a_long60 came out at 0.125 against 0.132, in 51 s
/// against 65 s. Starting the second half with a prompt transcribed from the 20 s before it
/// changed nothing on the hour and did worse on the held-out meetings (0.220).
const MIN_HALVES_MS: u64 = 600_000;
/// While other programs keep a core busy, a mono file this long is cut into halves too: the
/// two single-thread halves never wait for each other at ggml's barrier the way one call's 2
/// threads do, and under load speed is worth the cost above (see `plan`).
const MIN_BUSY_HALVES_MS: u64 = 60_000;
/// The halves meet at the quietest moment this close to the middle (a pause between words,
/// usually between turns); within `KEEP_MS` of the read position.
const HALF_CUT_SEARCH_MS: u64 = 5_000;
/// How often the caller hears of progress while the workers run.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// The words before a window kept for its prompt (whisper takes at most half its context).
const PROMPT_CHARS: usize = 2000;
/// Finished windows kept for the prompts of `Part::InTurn` workers.
const OLD_WINDOWS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Engine(#[from] TranscribeError),
}

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// `None`: transcribe everything in consecutive 28 s windows (no VAD).
    pub vad: Option<VadConfig>,
    /// Labels of channel 0 (microphone) and 1 (system audio) in a 2-channel recording.
    pub channel_names: Vec<String>,
    /// Transcribe the channels of a 2-channel file separately (otherwise mix them).
    pub split_channels: bool,
    /// Size whisper's encoder to each packed window (faster for short windows).
    pub fit_audio_ctx: bool,
    /// Split the system channel (or a mono file) into speakers after transcription
    /// (`crate::diarize`); `None`: channel labels only.
    pub diarize: Option<crate::diarize::Options>,
    pub tuning: Tuning,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            vad: Some(VadConfig::default()),
            channel_names: vec!["me".into(), "others".into()],
            split_channels: true,
            fit_audio_ctx: std::env::var("MINUTES_FIT_AUDIO_CTX")
                .map(|v| v != "0")
                .unwrap_or(true),
            diarize: None,
            tuning: Tuning::default(),
        }
    }
}

/// How speech is packed and decoded: what issue 19's evaluation set measures. The defaults are
/// the pipeline's; `minutes bench transcribe --pipeline` changes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// A speech region joins the window of the ones before only if the pause between them was
    /// at most this long (`None`: any pause; `Some(0)`: roughly a window per region).
    pub pack_within_ms: Option<u64>,
    /// Silence put between packed regions of a mono file (or mix).
    pub gap_ms: u64,
    /// Silence put between packed turns of one channel of a 2-channel file (`None`: the
    /// model's default). On the tune split's 2-channel files, 400 ms (with `dtw_lag_ms` 350)
    /// made tiny.en's corpus WER 0.183 against 0.208 with 100 ms (held out: 0.218 against
    /// 0.228), but base's 0.157 against 0.156 (held out 0.187 against 0.169): 400 ms for tiny
    /// models, 100 ms for the others.
    pub channel_gap_ms: Option<u64>,
    /// The words before go to whisper as its prompt.
    pub prompt: bool,
    /// Loops are collapsed and copies of the words before dropped.
    pub filters: bool,
    /// DTW word times (2-channel files) can come late: a word is put in the piece it falls in
    /// this much earlier. With tiny.en on the tune split's 2-channel meetings, a turn's last
    /// word fell up to 290 ms into the next piece and went with the next turn of its channel
    /// (past the other channel's words between them), while a piece's first word came 430 ms
    /// or more after the piece's start; 350 ms took tiny.en's corpus WER from 0.208 to 0.198.
    /// base's alignment gained nothing (0.156 → 0.157), so its default is 0 (`None`: the
    /// model's default, 350 ms for tiny models).
    pub dtw_lag_ms: Option<u64>,
    /// With two or more threads, a 2-channel file's channels (and a long mono file's halves)
    /// are transcribed side by side, one whisper state and thread each (see `plan`).
    pub parallel: bool,
    /// whisper's retries at higher temperatures per window (`None`: the engine's setting).
    pub fallbacks: Option<u32>,
    /// The prompt keeps each segment between timestamps (see `Transcriber::set_timed_context`;
    /// `None`: the model's default). On the tune split it made base's corpus WER 0.145 against
    /// 0.148 with a plain-text prompt (held out 0.162 against 0.165), but tiny.en's 0.189
    /// against 0.183 (held out 0.228 against 0.214): off for tiny models, on for the others.
    pub timed_prompt: Option<bool>,
    /// A region that does not fit in what is left of a window is cut to fill it (whisper's
    /// cost is per window). Starting it whole in the next window instead made base's tune
    /// split 0.147 against 0.145 (held out 0.158 against 0.162): regions are still cut.
    pub cut_to_fill: bool,
    /// A window of speech whisper gave fewer text tokens a second than this is transcribed
    /// again in two halves (`None`: [`MIN_TOKENS_PER_SECOND`]). 2.5 made base's tune split
    /// 0.147 against 0.145 (held out 0.165 against 0.162): not raised.
    pub min_tokens_per_s: Option<f64>,
    /// A region cut to fill a window is cut at the quietest stretch of this length in the last
    /// 2 s that fit. 20 ms can fall in a word (meeting_d's "director"); 150 ms, a pause
    /// between words, made base's tune split 0.164 against 0.145 (tune3 mono 0.278 against
    /// 0.135; held out 0.162 both): still 20.
    pub cut_pause_ms: u64,
    /// A mono file of a minute or more in two halves side by side (`Some(true)`), never
    /// (`Some(false)`), or as the machine's load says (`None`; see `plan`). Forced on a quiet
    /// machine they gave base's mono files 0.149 tune and 0.182 held out (0.139 and 0.158 in
    /// one piece), exactly what the busy machine gave: the halves cost that, not the load.
    pub halves: Option<bool>,
    /// The halves meet in the quietest stretch of this length within 5 s of the middle. 300 ms
    /// gave 0.148 and 0.181 against 0.149 and 0.182: still 20.
    pub halves_pause_ms: u64,
    /// A mono file of a minute or more goes to two workers that take its windows in turn
    /// instead of halves; see `Part::InTurn` and `WindowTexts`. Not the default:
    /// on base's tune split its mono WER was 0.151 against the halves' 0.149 (held out 0.162
    /// against 0.182; 0.139 and 0.158 in one piece), and beside a busy core the 13 mono
    /// meetings took 1.45x their quiet time against the halves' 1.33x (window 1 waits for
    /// window 0, and one worker often finishes a window after the other has none left).
    pub in_turn: bool,
    /// Window 1 waits for window 0, to be prompted with its words (see `WindowTexts`).
    pub wait_for_window_0: bool,
    /// When a window ends in a region cut to fill it, its last segment (which runs into the
    /// cut) is dropped and the next window starts where it started, as whole-file whisper
    /// moves on from its last finished segment. It gave meeting_d its lost turn back (held
    /// out 0.160 against 0.162 with base), but base's tune split 0.149 against 0.145: off.
    pub seek_on_cut: bool,
    /// A greedy window whose text tokens have a mean probability under this is decoded again
    /// with `unsure_beam` beams, and that decoding is kept (`None`: never). Not the default:
    /// windows' mean probabilities lie close together (0.70–0.89 on meeting_d and meeting_i),
    /// the gain grew with the share of windows decoded again, and whisper.cpp encodes a window
    /// again to decode it with beams. With base, 0.75, 0.8 and 0.85 made the tune split 0.144, 0.138
    /// and 0.133 against 0.145 (held out 0.156, 0.147, 0.145 against 0.162), at 1.0x, 1.3x and
    /// 1.8x the default's time on dense meetings.
    pub unsure_below: Option<f64>,
    /// Beams for such a window: 5 (whisper.cpp's own); 2 and 3 cost nearly as much and gained
    /// far less (meeting_d 0.168 and 0.153 against 0.106 with every window decoded again).
    pub unsure_beam: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            pack_within_ms: None,
            gap_ms: PACK_GAP_MS,
            channel_gap_ms: None,
            prompt: true,
            filters: true,
            dtw_lag_ms: None,
            parallel: true,
            fallbacks: None,
            timed_prompt: None,
            cut_to_fill: true,
            min_tokens_per_s: None,
            cut_pause_ms: CUT_PAUSE_MS,
            halves: None,
            halves_pause_ms: CUT_PAUSE_MS,
            in_turn: false,
            wait_for_window_0: true,
            seek_on_cut: false,
            unsure_below: None,
            unsure_beam: 5,
        }
    }
}

impl Tuning {
    /// Whether the prompt keeps its timestamps for a model (`tiny`: tiny or tiny.en).
    fn timed_prompt_for(&self, tiny: bool) -> bool {
        self.timed_prompt.unwrap_or(!tiny)
    }

    /// The 2-channel gap and the word-time lag for a model (`tiny`: tiny or tiny.en).
    fn channel_gap_and_lag(&self, tiny: bool) -> (u64, u64) {
        let (gap, lag) = if tiny {
            (TINY_CHANNEL_GAP_MS, TINY_DTW_LAG_MS)
        } else {
            (CHANNEL_GAP_MS, DTW_LAG_MS)
        };
        (
            self.channel_gap_ms.unwrap_or(gap),
            self.dtw_lag_ms.unwrap_or(lag),
        )
    }
}

impl PipelineOptions {
    /// Applies `key=value,…` (`pack_within_ms`, `gap_ms`, `channel_gap_ms`, `prompt`,
    /// `filters`, `dtw_lag_ms`, `parallel`, `timed_prompt`, `cut_to_fill`, `cut_pause_ms`,
    /// `seek_on_cut`, `halves`, `halves_pause_ms`, `in_turn`, `wait_for_window_0`,
    /// `min_tokens_per_s`, `unsure_below`, `unsure_beam`, `fallbacks`, `fit_audio_ctx`, and the
    /// VAD's `vad.pre_pad_ms`, `vad.post_pad_ms`, `vad.min_silence_ms`, `vad.merge_gap_ms`,
    /// `vad.max_region_ms`).
    pub fn tune(&mut self, spec: &str) -> Result<(), String> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not key=value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{key}: `{value}` is not a number of milliseconds"))
            };
            let flag = || {
                value
                    .parse::<bool>()
                    .map_err(|_| format!("{key}: `{value}` is not true or false"))
            };
            let vad = self.vad.as_mut();
            match (key, vad) {
                ("pack_within_ms", _) => {
                    self.tuning.pack_within_ms = match value {
                        "any" => None,
                        _ => Some(number()?),
                    }
                }
                ("gap_ms", _) => self.tuning.gap_ms = number()?,
                ("channel_gap_ms", _) => self.tuning.channel_gap_ms = Some(number()?),
                ("prompt", _) => self.tuning.prompt = flag()?,
                ("filters", _) => self.tuning.filters = flag()?,
                ("dtw_lag_ms", _) => self.tuning.dtw_lag_ms = Some(number()?),
                ("parallel", _) => self.tuning.parallel = flag()?,
                ("timed_prompt", _) => self.tuning.timed_prompt = Some(flag()?),
                ("cut_to_fill", _) => self.tuning.cut_to_fill = flag()?,
                ("cut_pause_ms", _) => self.tuning.cut_pause_ms = number()?.max(10),
                ("halves", _) => self.tuning.halves = Some(flag()?),
                ("halves_pause_ms", _) => self.tuning.halves_pause_ms = number()?.max(10),
                ("in_turn", _) => self.tuning.in_turn = flag()?,
                ("wait_for_window_0", _) => self.tuning.wait_for_window_0 = flag()?,
                ("seek_on_cut", _) => self.tuning.seek_on_cut = flag()?,
                ("unsure_below", _) => {
                    self.tuning.unsure_below = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|v| (0.0..=1.0).contains(v))
                            .ok_or_else(|| {
                                format!("unsure_below: `{value}` is not a probability (e.g. 0.7)")
                            })?,
                    )
                }
                ("unsure_beam", _) => self.tuning.unsure_beam = number()?.max(1) as usize,
                ("min_tokens_per_s", _) => {
                    self.tuning.min_tokens_per_s = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|v| *v >= 0.0)
                            .ok_or_else(|| {
                                format!("min_tokens_per_s: `{value}` is not a rate (e.g. 2.5)")
                            })?,
                    )
                }
                ("fallbacks", _) => {
                    self.tuning.fallbacks =
                        Some(value.parse::<u32>().map_err(|_| {
                            format!("fallbacks: `{value}` is not a number of retries")
                        })?)
                }
                ("fit_audio_ctx", _) => self.fit_audio_ctx = flag()?,
                ("vad.pre_pad_ms", Some(v)) => v.pre_pad_ms = number()? as u32,
                ("vad.post_pad_ms", Some(v)) => v.post_pad_ms = number()? as u32,
                ("vad.min_silence_ms", Some(v)) => v.min_silence_ms = number()? as u32,
                ("vad.merge_gap_ms", Some(v)) => v.merge_gap_ms = number()? as u32,
                ("vad.max_region_ms", Some(v)) => v.max_region_ms = number()? as u32,
                _ => return Err(format!("unknown pipeline setting `{key}`")),
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub channel: u32,
    pub speaker: Option<String>,
    pub text: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Transcript {
    pub segments: Vec<Segment>,
    pub language: Option<String>,
    pub duration_ms: u64,
    /// Audio actually given to whisper (after VAD), summed over channels; a window's tail
    /// handed on to the next window counts twice.
    pub transcribed_ms: u64,
    pub channels: usize,
    /// False when stopped early (Ctrl-C): the segments are what was finished.
    pub complete: bool,
    /// The diarized speakers segments name (by `Speaker::name`); empty without diarization.
    pub speakers: Vec<crate::model::Speaker>,
    /// Why diarization left the channel labels, when it was asked for and did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diarization_fallback: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub position_ms: u64,
    pub total_ms: Option<u64>,
    pub elapsed: Duration,
}

/// One piece of a pack: where it sits in the pack and where it came from.
#[derive(Debug, Clone, Copy)]
struct Piece {
    pack_ms: u64,
    source_ms: u64,
    len_ms: u64,
}

/// Consecutive speech of one channel, waiting to be transcribed as one whisper window.
struct Pack {
    samples: Vec<f32>,
    pieces: Vec<Piece>,
    /// Silence put between pieces.
    gap_ms: u64,
    /// The last piece was cut to fill the window: its region goes on in the next one.
    cut_at_end: bool,
}

impl Default for Pack {
    fn default() -> Self {
        Pack::with_gap(PACK_GAP_MS)
    }
}

impl Pack {
    fn with_gap(gap_ms: u64) -> Self {
        Pack {
            samples: Vec::new(),
            pieces: Vec::new(),
            gap_ms,
            cut_at_end: false,
        }
    }

    /// An empty pack like this one.
    fn empty(&self) -> Pack {
        Pack::with_gap(self.gap_ms)
    }

    /// Where the last piece ends in the recording.
    fn source_end_ms(&self) -> Option<u64> {
        self.pieces.last().map(|p| p.source_ms + p.len_ms)
    }
    fn len_ms(&self) -> u64 {
        samples_to_ms(self.samples.len())
    }

    /// Adds audio that goes on from where the last piece ends (a tail handed on, then the rest
    /// of its region) to that piece, with no gap put inside a word; other audio as a new piece.
    fn push_joined(&mut self, source_ms: u64, audio: &[f32]) {
        match self.pieces.last_mut() {
            Some(last) if last.source_ms + last.len_ms == source_ms => {
                last.len_ms += samples_to_ms(audio.len());
                self.samples.extend_from_slice(audio);
            }
            _ => self.push(source_ms, audio),
        }
    }

    fn push(&mut self, source_ms: u64, audio: &[f32]) {
        if !self.samples.is_empty() {
            self.samples
                .extend(std::iter::repeat_n(0.0, ms_to_samples(self.gap_ms)));
        }
        self.pieces.push(Piece {
            pack_ms: self.len_ms(),
            source_ms,
            len_ms: samples_to_ms(audio.len()),
        });
        self.samples.extend_from_slice(audio);
    }

    fn audio(&self, piece: &Piece) -> &[f32] {
        let from = ms_to_samples(piece.pack_ms).min(self.samples.len());
        let to = ms_to_samples(piece.pack_ms + piece.len_ms).min(self.samples.len());
        &self.samples[from..to]
    }

    /// The pack cut in two near the middle of its speech: between pieces, or inside a lone
    /// piece at its quietest point.
    fn halves(&self) -> Option<(Pack, Pack)> {
        let speech: u64 = self.pieces.iter().map(|p| p.len_ms).sum();
        let pieces: Vec<Piece> = match self.pieces.as_slice() {
            [] => return None,
            [p] if p.len_ms < 2 * MIN_PIECE_MS => return None,
            [p] => {
                let cut = quietest_point(
                    &self.samples,
                    0,
                    p.pack_ms + p.len_ms / 3,
                    p.pack_ms + 2 * p.len_ms / 3,
                    CUT_PAUSE_MS,
                ) - p.pack_ms;
                vec![
                    Piece { len_ms: cut, ..*p },
                    Piece {
                        pack_ms: p.pack_ms + cut,
                        source_ms: p.source_ms + cut,
                        len_ms: p.len_ms - cut,
                    },
                ]
            }
            many => many.to_vec(),
        };
        let split = (1..pieces.len())
            .min_by_key(|&k| {
                pieces[..k]
                    .iter()
                    .map(|p| p.len_ms)
                    .sum::<u64>()
                    .abs_diff(speech / 2)
            })
            .unwrap_or(1);
        let repack = |part: &[Piece]| {
            let mut pack = self.empty();
            for p in part {
                pack.push(p.source_ms, self.audio(p));
            }
            pack
        };
        Some((repack(&pieces[..split]), repack(&pieces[split..])))
    }

    /// The pack's audio from `t` (pack time) on, as a pack of its own.
    fn tail_from(&self, t: u64) -> Pack {
        let mut tail = self.empty();
        for p in self.pieces.iter().filter(|p| p.pack_ms + p.len_ms > t) {
            let skip = t.saturating_sub(p.pack_ms);
            let rest = Piece {
                pack_ms: p.pack_ms + skip,
                source_ms: p.source_ms + skip,
                len_ms: p.len_ms - skip,
            };
            tail.push(rest.source_ms, self.audio(&rest));
        }
        tail
    }

    /// The piece a word was said in: where its middle falls, taken `lag_ms` earlier.
    fn piece_of_word(&self, word: &super::engine::Word, lag_ms: u64) -> usize {
        self.piece_at(((word.start_ms + word.end_ms) / 2).saturating_sub(lag_ms))
    }

    /// `word` with its times moved inside piece `k`.
    fn within(&self, k: usize, word: &super::engine::Word) -> super::engine::Word {
        let Some(p) = self.pieces.get(k) else {
            return word.clone();
        };
        let clamp = |t: u64| t.clamp(p.pack_ms, p.pack_ms + p.len_ms);
        super::engine::Word {
            start_ms: clamp(word.start_ms),
            end_ms: clamp(word.end_ms),
            ..word.clone()
        }
    }

    /// Which piece a time inside the pack belongs to (gaps go to the piece before).
    fn piece_at(&self, t: u64) -> usize {
        self.pieces
            .iter()
            .rposition(|p| p.pack_ms <= t)
            .unwrap_or(0)
    }

    /// Maps a time inside the pack back to the recording (gaps map to the end of the piece before).
    fn to_source(&self, t: u64) -> u64 {
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.pack_ms <= t)
            .or(self.pieces.first());
        match piece {
            Some(p) => p.source_ms + t.saturating_sub(p.pack_ms).min(p.len_ms),
            None => t,
        }
    }
}

/// One channel's state.
struct Lane {
    channel: u32,
    label: Option<String>,
    vad: Option<StreamingVad>,
    /// Samples from `buf_start_ms` on.
    buf: Vec<f32>,
    buf_start_ms: u64,
    pack: Pack,
    context: String,
    /// Without VAD: where the next fixed window starts.
    next_fixed_ms: u64,
    /// Which channel of the file the lane hears; `None`: all of them mixed.
    source: Option<usize>,
    part: Part,
    /// A half's end (first) or start (second): the quietest moment within
    /// `HALF_CUT_SEARCH_MS` of the middle, found by both halves' workers in the same decoded
    /// audio; `u64::MAX` when the file ended before the search could (the first half then
    /// takes it all).
    cut_ms: Option<u64>,
    /// A half: how far into the recording its VAD has heard.
    fed_ms: u64,
    /// Windows packed so far (those of the other workers too, for `Part::InTurn`).
    windows: usize,
    /// The lane has heard all it will and its last window is transcribed.
    done: bool,
}

impl Lane {
    fn end_ms(&self) -> u64 {
        self.buf_start_ms + samples_to_ms(self.buf.len())
    }

    fn slice(&self, start_ms: u64, end_ms: u64) -> &[f32] {
        let from = ms_to_samples(start_ms.saturating_sub(self.buf_start_ms)).min(self.buf.len());
        let to = ms_to_samples(end_ms.saturating_sub(self.buf_start_ms)).min(self.buf.len());
        &self.buf[from..to.max(from)]
    }

    /// How much of its part the lane has heard, for progress.
    fn heard_ms(&self) -> u64 {
        match self.part {
            Part::Whole | Part::InTurn { .. } => self.end_ms(),
            Part::First { .. } => self.fed_ms,
            Part::Second { mid_ms } => self
                .fed_ms
                .saturating_sub(self.cut_ms.unwrap_or(mid_ms).min(self.fed_ms)),
        }
    }

    fn trim(&mut self) {
        let keep = ms_to_samples(KEEP_MS);
        if self.buf.len() > keep * 2 {
            let cut = self.buf.len() - keep;
            self.buf.drain(..cut);
            self.buf_start_ms += samples_to_ms(cut);
        }
    }
}

fn ms_to_samples(ms: u64) -> usize {
    (ms * u64::from(TARGET_RATE) / 1000) as usize
}

fn samples_to_ms(n: usize) -> u64 {
    n as u64 * 1000 / u64::from(TARGET_RATE)
}

/// Where the middle 20 ms of the quietest `frame_ms` between `from` and `to` start (a pause
/// between words), in `audio` that starts at `audio_start_ms`.
fn quietest_point(audio: &[f32], audio_start_ms: u64, from: u64, to: u64, frame_ms: u64) -> u64 {
    const STEP_MS: u64 = 10;
    let mut best = (f32::MAX, to);
    let mut t = from;
    while t + frame_ms <= to {
        let at = |ms: u64| ms_to_samples(ms.saturating_sub(audio_start_ms)).min(audio.len());
        let frame = &audio[at(t)..at(t + frame_ms)];
        let energy = frame.iter().map(|x| x * x).sum::<f32>();
        if energy < best.0 {
            best = (energy, t + frame_ms.saturating_sub(CUT_PAUSE_MS) / 2);
        }
        t += STEP_MS;
    }
    best.1
}

/// True when most of a window's words would be thrown away as a loop or a copy of the words
/// before it: whisper then followed the prompt or its own output instead of the audio (tiny.en
/// on meeting_g's microphone channel looped "This week we'll come at the rest of the year." over
/// five turns, and 33 words were lost), and a second try without the prompt hears the audio.
fn mostly_repeats(segments: &[super::engine::RawSegment], context: &str) -> bool {
    let mut said = 0;
    let mut kept = 0;
    for s in segments.iter().filter(|s| !is_non_speech(&s.text)) {
        said += s.text.split_whitespace().count();
        let collapsed = super::repeats::collapse_loops(&s.text);
        if !super::repeats::copies_context(&collapsed, context) {
            kept += collapsed.split_whitespace().count();
        }
    }
    said >= MIN_LOOP_CHECK_WORDS && (kept as f64) < KEPT_SHARE_OF_A_SOUND_WINDOW * said as f64
}

/// Whisper's way of saying "nothing here": `[BLANK_AUDIO]`, `(music)`, `[ Silence ]`.
pub(crate) fn is_non_speech(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || ((t.starts_with('[') && t.ends_with(']')) || (t.starts_with('(') && t.ends_with(')')))
        || t.chars().all(|c| !c.is_alphanumeric())
}

struct Run<'a> {
    engine: &'a mut Transcriber,
    cancel: Arc<AtomicBool>,
    segments: Vec<Segment>,
    /// Each segment's words in recording time (diarization splits segments at them).
    words: Vec<Vec<super::engine::Word>>,
    languages: Vec<String>,
    transcribed_ms: u64,
    on_segment: &'a mut dyn FnMut(&Segment),
    tuning: Tuning,
    /// How much earlier than whisper's time a word is taken to be when finding its piece.
    word_lag_ms: u64,
    /// What the workers taking windows in turn share (`Part::InTurn`).
    window_texts: &'a WindowTexts,
}

/// What the workers taking windows in turn share: which windows are taken, and the words of
/// each finished one by its place in the recording.
///
/// Window k's prompt is what windows 0..k-1 said: not window k-1, which the other worker is
/// usually still on. The prompt never depends on which windows happen to be finished, so the
/// transcript is the same on a quiet machine and a busy one. Window 1 waits for window 0
/// (otherwise it would start without the meeting's words, and its mistakes would become every
/// later window's prompt: "launch" heard as "lunch" from then on).
#[derive(Default)]
struct WindowTexts {
    /// Windows 0.. this are taken (or done).
    taken: AtomicUsize,
    said: std::sync::Mutex<Said>,
    added: std::sync::Condvar,
    /// The transcribers at work (`Transcriber::share_threads`). The worker that takes
    /// window 1 is not counted until window 0 is done, so that window 0 gets all the threads
    /// a quiet machine has.
    running: Option<Arc<AtomicUsize>>,
}

#[derive(Default)]
struct Said {
    texts: std::collections::BTreeMap<usize, String>,
    /// Windows 0.. this are all done.
    done_below: usize,
}

impl WindowTexts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Said> {
        // A worker that panicked left whole entries behind: still words worth prompting with.
        self.said
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes window `index` for the caller, unless another worker has: every worker packs the
    /// same windows in the same order, so a worker at window `index` has seen every window
    /// before it taken, and the first to get there takes it (the one that is free).
    fn claim(&self, index: usize) -> bool {
        match self
            .taken
            .compare_exchange(index, index + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(taken) if taken > index => false,
            Err(taken) => {
                // Cannot happen while the workers pack alike; a window is never left out.
                tracing::warn!(index, taken, "a window out of turn; transcribing it");
                true
            }
        }
    }

    /// Window `index`'s prompt: the last `PROMPT_CHARS` of what windows 0..index-1 said (for
    /// window 1, window 0), once they are done (or `cancel` is set). Without `wait_for_first`,
    /// window 1 starts cold and is never in a prompt: its mistakes stay its own.
    fn prompt_for(&self, index: usize, wait_for_first: bool, cancel: &AtomicBool) -> String {
        let upto = match index {
            0 => 0,
            1 => usize::from(wait_for_first),
            k => k - 1,
        };
        let mut said = self.lock();
        while said.done_below < upto && !cancel.load(Ordering::Relaxed) {
            said = match self.added.wait_timeout(said, PROGRESS_EVERY) {
                Ok((said, _)) => said,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        let mut parts = Vec::new();
        let mut len = 0;
        let cold = |k: &usize| *k == 1 && !wait_for_first;
        for text in said
            .texts
            .range(..upto)
            .rev()
            .filter(|(k, _)| !cold(k))
            .map(|(_, t)| t)
        {
            parts.push(text.as_str());
            len += text.len();
            if len >= PROMPT_CHARS {
                break;
            }
        }
        let mut context: String = parts.into_iter().rev().collect();
        keep_last_chars(&mut context, PROMPT_CHARS);
        context
    }

    /// What window `index` said (each segment on a line of its own, as a lane's context).
    fn insert(&self, index: usize, text: String) {
        let mut said = self.lock();
        said.texts.insert(index, text);
        while said.texts.contains_key(&said.done_below) {
            said.done_below += 1;
        }
        self.added.notify_all();
        if let (0, Some(r)) = (index, &self.running) {
            r.fetch_add(1, Ordering::Relaxed); // the worker waiting for window 0 starts
        }
        // Windows far behind every prompt to come are forgotten.
        let forget_below = said.done_below.saturating_sub(OLD_WINDOWS);
        while said
            .texts
            .first_key_value()
            .is_some_and(|(&k, _)| k < forget_below)
        {
            said.texts.pop_first();
        }
    }
}

/// Text tokens in a window's segments of speech, and their mean probability.
fn heard(segments: &[RawSegment]) -> (usize, f32) {
    let speech = segments.iter().filter(|s| !is_non_speech(&s.text));
    let (tokens, sum) = speech.fold((0, 0.0), |(n, sum), s| {
        (n + s.text_tokens, sum + s.confidence * s.text_tokens as f32)
    });
    (
        tokens,
        if tokens == 0 {
            0.0
        } else {
            sum / tokens as f32
        },
    )
}

/// Drops the front of `text` so that at most `max` bytes are left (on a character boundary).
fn keep_last_chars(text: &mut String, max: usize) {
    let keep_from = text.len().saturating_sub(max);
    let boundary = (keep_from..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    text.drain(..boundary);
}

impl Run<'_> {
    /// Transcribes a lane's pack and empties it.
    fn flush(&mut self, lane: &mut Lane) -> Result<(), PipelineError> {
        if lane.pack.samples.is_empty() {
            return Ok(());
        }
        let empty = lane.pack.empty();
        let pack = std::mem::replace(&mut lane.pack, empty);
        let index = lane.windows;
        lane.windows += 1;
        if let Part::InTurn { worker } = lane.part {
            let texts = self.window_texts;
            if !texts.claim(index) {
                return Ok(()); // another worker's window
            }
            lane.context = texts.prompt_for(index, self.tuning.wait_for_window_0, &self.cancel);
            tracing::debug!(
                window = index,
                worker,
                prompt_chars = lane.context.len(),
                "a window transcribed in turn"
            );
            let said_before = self.segments.len();
            self.transcribed_ms += pack.len_ms();
            self.transcribe_pack(lane, &pack, true)?;
            let said: String = self.segments[said_before..]
                .iter()
                .map(|s| format!("\n{}", s.text))
                .collect();
            texts.insert(index, said);
            return Ok(());
        }
        self.transcribed_ms += pack.len_ms();
        // The engine hands over only a tail shorter than half the window (a longer one gets
        // whisper's own pass), so every window makes progress.
        if let Some(from) = self.transcribe_pack(lane, &pack, true)?
            && !self.cancel.load(Ordering::Relaxed)
        {
            tracing::debug!(
                channel = lane.channel,
                tail_ms = pack.len_ms().saturating_sub(from),
                "whisper stopped short of the window's end; its tail goes to the next window"
            );
            lane.pack = pack.tail_from(from);
        }
        Ok(())
    }

    /// Transcribes a pack; returns where the tail whisper left unfinished starts (pack time).
    fn transcribe_pack(
        &mut self,
        lane: &mut Lane,
        pack: &Pack,
        may_retry: bool,
    ) -> Result<Option<u64>, PipelineError> {
        // A retry goes without the words before: a prompt that led whisper astray once does not
        // get to do it twice.
        let context = (self.tuning.prompt && !lane.context.is_empty() && may_retry)
            .then_some(lane.context.as_str());
        // A first attempt hands a short tail on to the next window (see `flush`); a half being
        // retried has no next window to leave it to, so whisper may take another pass.
        // Fixed windows without VAD leave tails to whisper itself.
        self.engine
            .set_min_tail_ms(if lane.vad.is_some() { MIN_TAIL_MS } else { 0 });
        self.engine.set_hand_over_tails(
            lane.vad.is_some() && may_retry && !matches!(lane.part, Part::InTurn { .. }),
        );
        tracing::trace!(pieces = ?pack.pieces.iter().map(|p| (p.pack_ms, p.len_ms)).collect::<Vec<_>>(), "window's pieces (pack time, length)");
        let t = Instant::now();
        let mut result =
            self.engine
                .transcribe(&pack.samples, 0, context, Some(self.cancel.clone()))?;
        let (mut tokens, confidence) = heard(&result.segments);
        tracing::debug!(
            channel = lane.channel,
            pieces = pack.pieces.len(),
            audio_ms = pack.len_ms(),
            tokens,
            confidence,
            took_ms = t.elapsed().as_millis() as u64,
            "window transcribed"
        );
        if let Some(below) = self.tuning.unsure_below
            && !result.aborted
            && tokens > 0
            && (confidence as f64) < below
            && self.engine.config().beam_size == 1
        {
            let t = Instant::now();
            self.engine.set_beam_size(self.tuning.unsure_beam);
            let again =
                self.engine
                    .transcribe(&pack.samples, 0, context, Some(self.cancel.clone()));
            self.engine.set_beam_size(1);
            result = again?;
            let (beam_tokens, beam_confidence) = heard(&result.segments);
            tokens = beam_tokens;
            tracing::debug!(
                channel = lane.channel,
                confidence,
                beam_confidence,
                took_ms = t.elapsed().as_millis() as u64,
                "an unsure window decoded again with beams"
            );
        }
        if result.aborted {
            return Ok(None);
        }
        let speech_ms: u64 = pack.pieces.iter().map(|p| p.len_ms).sum();
        if tokens == 0 && speech_ms >= MIN_UNSURE_RETRY_MS && !self.engine.keeps_unsure_speech() {
            tracing::debug!(
                channel = lane.channel,
                speech_ms,
                "whisper judged a window of speech silent; transcribing it again, keeping what it hears"
            );
            self.engine.set_keep_unsure_speech(true);
            let kept = self.transcribe_pack(lane, pack, may_retry);
            self.engine.set_keep_unsure_speech(false);
            return kept;
        }
        let min_rate = self
            .tuning
            .min_tokens_per_s
            .unwrap_or(MIN_TOKENS_PER_SECOND);
        let heard_too_little = (tokens as f64) < min_rate * speech_ms as f64 / 1000.0;
        let looped = self.tuning.filters && mostly_repeats(&result.segments, &lane.context);
        if may_retry
            && speech_ms >= MIN_RETRY_SPEECH_MS
            && (heard_too_little || looped)
            && let Some((first, second)) = pack.halves()
        {
            tracing::debug!(
                channel = lane.channel,
                speech_ms,
                tokens,
                looped,
                "whisper heard too little of a window, or looped; transcribing it again in two halves without the words before"
            );
            self.transcribe_pack(lane, &first, false)?;
            self.transcribe_pack(lane, &second, false)?;
            return Ok(None);
        }
        if let Some(l) = result.language {
            self.languages.push(l);
        }
        let last_piece_end = pack
            .pieces
            .last()
            .map(|p| p.source_ms + p.len_ms)
            .unwrap_or(0);
        let mut said: Vec<RawSegment> = result
            .segments
            .into_iter()
            .filter(|s| !is_non_speech(&s.text))
            .collect();
        let mut handed_over = result.handed_over_from_ms;
        if self.tuning.seek_on_cut
            && pack.cut_at_end
            && handed_over.is_none()
            && self.engine.hands_over_tails()
            && said.len() >= 2
            && let Some(last) = said.last()
            && 2 * last.start_ms > pack.len_ms()
            && last.start_ms < pack.len_ms()
        {
            tracing::debug!(
                channel = lane.channel,
                from_ms = last.start_ms,
                text = %last.text,
                "the window ends in a cut region: its last segment goes to the next window"
            );
            handed_over = Some(last.start_ms);
            said.pop();
        }
        for raw in said {
            tracing::trace!(start_ms = raw.start_ms, end_ms = raw.end_ms, text = %raw.text, "whisper segment");
            for (mut seg, words) in self.split(lane, pack, raw, last_piece_end) {
                if self.tuning.filters {
                    seg.text = super::repeats::collapse_loops(&seg.text);
                }
                if is_non_speech(&seg.text)
                    || (self.tuning.filters
                        && super::repeats::copies_context(&seg.text, &lane.context))
                {
                    tracing::debug!(text = %seg.text, "segment dropped: no speech, or a copy of the words before it");
                    continue;
                }
                // One line per segment: the prompt keeps segments apart (`timed_prompt`).
                lane.context.push('\n');
                lane.context.push_str(&seg.text);
                (self.on_segment)(&seg);
                self.segments.push(seg);
                self.words.push(words);
            }
        }
        keep_last_chars(&mut lane.context, PROMPT_CHARS);
        Ok(handed_over)
    }

    /// A whisper segment can run across several packed regions (turns); split it where its
    /// tokens cross from one region to the next, so each part keeps its own time.
    fn split(
        &self,
        lane: &Lane,
        pack: &Pack,
        mut raw: RawSegment,
        last_end: u64,
    ) -> Vec<(Segment, Vec<super::engine::Word>)> {
        if raw.words.is_empty() || pack.pieces.len() < 2 {
            let words = std::mem::take(&mut raw.words);
            let words = self.words_in_source(pack, &words);
            return vec![(self.place(lane, pack, raw, last_end), words)];
        }
        let mut parts: Vec<(usize, Vec<super::engine::Word>)> = Vec::new();
        for w in &raw.words {
            let piece = pack.piece_of_word(w, self.word_lag_ms);
            tracing::trace!(start_ms = w.start_ms, end_ms = w.end_ms, piece, text = %w.text, "word");
            // A word keeps to its piece: a late time in the gap or in the next piece would map
            // it onto the next turn.
            match parts.last_mut() {
                Some((p, words))
                    if *p == piece || w.text.trim().is_empty() || !w.text.starts_with(' ') =>
                {
                    words.push(pack.within(*p, w))
                }
                _ => parts.push((piece, vec![pack.within(piece, w)])),
            }
        }
        parts
            .into_iter()
            .map(|(_, words)| {
                let text: String = words.iter().map(|w| w.text.as_str()).collect();
                let start = words.first().map(|w| w.start_ms).unwrap_or(raw.start_ms);
                let end = words.last().map(|w| w.end_ms).unwrap_or(raw.end_ms);
                let confidence =
                    words.iter().map(|w| w.probability).sum::<f32>() / words.len().max(1) as f32;
                let part = RawSegment {
                    start_ms: start,
                    end_ms: end,
                    text: text.trim().to_string(),
                    confidence,
                    no_speech_probability: raw.no_speech_probability,
                    words: Vec::new(),
                    text_tokens: words.len(),
                };
                (
                    self.place(lane, pack, part, last_end),
                    self.words_in_source(pack, &words),
                )
            })
            .collect()
    }

    fn words_in_source(
        &self,
        pack: &Pack,
        words: &[super::engine::Word],
    ) -> Vec<super::engine::Word> {
        words
            .iter()
            .map(|w| {
                let start_ms = pack.to_source(w.start_ms);
                super::engine::Word {
                    start_ms,
                    end_ms: pack.to_source(w.end_ms).max(start_ms),
                    ..w.clone()
                }
            })
            .collect()
    }

    fn place(&self, lane: &Lane, pack: &Pack, raw: RawSegment, last_end: u64) -> Segment {
        let start_ms = pack.to_source(raw.start_ms);
        // A segment (split per piece) ends in its own piece: whisper's end timestamp often runs
        // over the gap into the next piece, which maps it onto a later turn — a 2 s sentence
        // then lasted 24 s, and talk time per speaker summed to more than the meeting.
        let piece_end = pack
            .pieces
            .get(pack.piece_at(raw.start_ms))
            .map_or(last_end, |p| p.source_ms + p.len_ms);
        let end_ms = pack
            .to_source(raw.end_ms)
            .min(piece_end)
            .max(start_ms)
            .min(last_end.max(start_ms));
        Segment {
            start_ms,
            end_ms,
            channel: lane.channel,
            speaker: lane.label.clone(),
            text: raw.text,
            confidence: raw.confidence,
        }
    }

    /// Adds a finished speech region of a lane to its pack, transcribing the pack when full.
    /// A region that does not fit is cut at its quietest point so that every window is filled:
    /// whisper's cost is per window, not per second of speech.
    fn region(&mut self, lane: &mut Lane, region: SpeechRegion) -> Result<(), PipelineError> {
        let mut start = region.start_ms.max(lane.buf_start_ms);
        let end = region.end_ms.min(lane.end_ms());
        if let (Some(within), Some(last_end)) =
            (self.tuning.pack_within_ms, lane.pack.source_end_ms())
            && start.saturating_sub(last_end) > within
        {
            self.flush(lane)?;
        }
        let seek = self.tuning.seek_on_cut;
        let push = |pack: &mut Pack, at: u64, audio: &[f32]| match seek {
            true => pack.push_joined(at, audio),
            false => pack.push(at, audio),
        };
        while start < end {
            let gap = if lane.pack.samples.is_empty() {
                0
            } else {
                lane.pack.gap_ms
            };
            let room = PACK_MS.saturating_sub(lane.pack.len_ms() + gap);
            if end - start <= room {
                let audio = lane.slice(start, end).to_vec();
                push(&mut lane.pack, start, &audio);
                break;
            }
            // A region longer than a window must be cut; one that only does not fit in what is
            // left of this window may start the next one whole.
            if room < MIN_PIECE_MS || (!self.tuning.cut_to_fill && !lane.pack.samples.is_empty()) {
                self.flush(lane)?;
                continue;
            }
            let cut = quietest_point(
                &lane.buf,
                lane.buf_start_ms,
                start + room - SPLIT_SEARCH_MS.min(room / 2),
                start + room,
                self.tuning.cut_pause_ms,
            );
            let audio = lane.slice(start, cut).to_vec();
            push(&mut lane.pack, start, &audio);
            lane.pack.cut_at_end = true;
            self.flush(lane)?;
            start = cut;
        }
        if PACK_MS.saturating_sub(lane.pack.len_ms()) < MIN_PIECE_MS {
            self.flush(lane)?;
        }
        Ok(())
    }

    /// Gives a lane the samples just added to its buffer (`at_end`: the file has ended).
    fn hear(
        &mut self,
        lane: &mut Lane,
        samples: &[f32],
        at_end: bool,
    ) -> Result<(), PipelineError> {
        match lane.part {
            Part::Whole | Part::InTurn { .. } => match lane.vad.as_mut().map(|v| v.push(samples)) {
                Some(regions) => {
                    for r in regions {
                        self.region(lane, r)?;
                    }
                    Ok(())
                }
                None => self.fixed_windows(lane, at_end),
            },
            Part::First { mid_ms } => self.hear_half(lane, mid_ms, true, at_end),
            Part::Second { mid_ms } => self.hear_half(lane, mid_ms, false, at_end),
        }
    }

    /// A half hears its own side of the cut: the first half up to it (and is then finished),
    /// the second from it on, with the VAD's times counted from the cut.
    fn hear_half(
        &mut self,
        lane: &mut Lane,
        mid_ms: u64,
        first: bool,
        at_end: bool,
    ) -> Result<(), PipelineError> {
        let end = lane.end_ms();
        let search_to = mid_ms + HALF_CUT_SEARCH_MS;
        if lane.cut_ms.is_none() && (end >= search_to || at_end) {
            let cut = if end >= search_to {
                quietest_point(
                    &lane.buf,
                    lane.buf_start_ms,
                    mid_ms.saturating_sub(HALF_CUT_SEARCH_MS),
                    search_to,
                    self.tuning.halves_pause_ms,
                )
            } else {
                u64::MAX
            };
            tracing::debug!(cut_ms = cut, "the recording's halves meet here");
            lane.cut_ms = Some(cut);
            if !first {
                lane.fed_ms = cut;
            }
        }
        let until = match (first, lane.cut_ms) {
            (true, None) => mid_ms.saturating_sub(HALF_CUT_SEARCH_MS).min(end),
            (true, Some(cut)) => cut.min(end),
            (false, None) => return Ok(()),
            (false, Some(_)) => end,
        };
        if until > lane.fed_ms {
            let origin = if first {
                0
            } else {
                lane.fed_ms.min(lane.cut_ms.unwrap_or(0))
            };
            let audio = lane.slice(lane.fed_ms, until).to_vec();
            lane.fed_ms = until;
            let regions = lane
                .vad
                .as_mut()
                .map(|v| v.push(&audio))
                .unwrap_or_default();
            for r in regions {
                self.region(
                    lane,
                    SpeechRegion {
                        start_ms: origin + r.start_ms,
                        end_ms: (origin + r.end_ms).min(until),
                    },
                )?;
            }
        }
        if first && lane.cut_ms.is_some_and(|cut| lane.fed_ms >= cut) {
            self.finish(lane)?;
        }
        Ok(())
    }

    /// The lane has heard everything: its last regions, and every window left, transcribed.
    fn finish(&mut self, lane: &mut Lane) -> Result<(), PipelineError> {
        if let Some(vad) = lane.vad.as_mut() {
            let origin = match lane.part {
                Part::Second { .. } => lane.cut_ms.unwrap_or(0).min(lane.fed_ms),
                _ => 0,
            };
            let limit = match lane.part {
                Part::First { .. } => lane.fed_ms,
                _ => u64::MAX,
            };
            for r in vad.finish() {
                let region = SpeechRegion {
                    start_ms: origin + r.start_ms,
                    end_ms: (origin + r.end_ms).min(limit),
                };
                self.region(lane, region)?;
            }
            // A flush may leave a tail behind for the next window; this is the last one.
            while !lane.pack.samples.is_empty() && !self.cancel.load(Ordering::Relaxed) {
                self.flush(lane)?;
            }
        }
        lane.done = true;
        Ok(())
    }

    /// Without VAD: consecutive fixed windows.
    fn fixed_windows(&mut self, lane: &mut Lane, at_end: bool) -> Result<(), PipelineError> {
        loop {
            let start = lane.next_fixed_ms.max(lane.buf_start_ms);
            let available = lane.end_ms().saturating_sub(start);
            if available == 0
                || (available < PACK_MS && !at_end)
                || self.cancel.load(Ordering::Relaxed)
            {
                return Ok(());
            }
            let end = start + available.min(PACK_MS);
            let audio = lane.slice(start, end).to_vec();
            lane.pack.push(start, &audio);
            lane.next_fixed_ms = end;
            self.flush(lane)?;
        }
    }
}

/// The part of a recording a lane transcribes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Whole,
    /// From the start to the quiet point nearest `mid_ms` (see `Lane::cut_ms`).
    First {
        mid_ms: u64,
    },
    /// From that quiet point to the end.
    Second {
        mid_ms: u64,
    },
    /// The windows no other worker has taken: each worker reads and packs the whole
    /// recording the same way (tails are never handed on, which would make the windows
    /// depend on what whisper heard) and transcribes the next window whenever it is free
    /// (see `WindowTexts`). `worker` only names it in the log.
    InTurn {
        worker: usize,
    },
}

/// Which lanes each worker runs: every worker is a thread with its own whisper state. Two
/// workers when there are two threads to give: a 2-channel file's channels side by side, a
/// long mono file's halves side by side (see `MIN_HALVES_MS`; `MIN_BUSY_HALVES_MS` while other
/// programs keep a core busy, `busy`). ggml's threads meet at a barrier after every
/// operation, so one whisper call on 2 threads stalls whenever another program takes a core;
/// two calls on one thread each never wait for each other. On meeting_b with tiny.en beside one
/// busy core, the two channels took 10–14 s on one thread each against 16–20 s on 2 threads,
/// and as long as those 2 threads on a quiet machine (issue 19).
fn plan(
    split: bool,
    duration_ms: Option<u64>,
    threads: usize,
    busy: bool,
    options: &PipelineOptions,
) -> Vec<Vec<(Option<usize>, Part)>> {
    let parallel = options.tuning.parallel && threads >= 2;
    let min_halves_ms = match options.tuning.halves {
        Some(true) => MIN_BUSY_HALVES_MS,
        Some(false) => u64::MAX,
        None if busy => MIN_BUSY_HALVES_MS,
        None => MIN_HALVES_MS,
    };
    match (split, duration_ms) {
        (true, _) if parallel => vec![vec![(Some(0), Part::Whole)], vec![(Some(1), Part::Whole)]],
        (true, _) => vec![vec![(Some(0), Part::Whole), (Some(1), Part::Whole)]],
        // The same packing in every worker needs VAD's regions.
        (false, Some(d))
            if parallel
                && options.tuning.in_turn
                && options.vad.is_some()
                && d >= MIN_BUSY_HALVES_MS =>
        {
            (0..2)
                .map(|worker| vec![(None, Part::InTurn { worker })])
                .collect()
        }
        // Halves need VAD (a half ends at a quiet point and starts its own regions) and a known
        // length.
        (false, Some(d)) if parallel && options.vad.is_some() && d >= min_halves_ms => {
            let mid_ms = d / 2;
            vec![
                vec![(None, Part::First { mid_ms })],
                vec![(None, Part::Second { mid_ms })],
            ]
        }
        (false, _) => vec![vec![(None, Part::Whole)]],
    }
}

/// What a worker hands back when its lanes are done.
struct Finished {
    segments: Vec<Segment>,
    words: Vec<Vec<super::engine::Word>>,
    languages: Vec<String>,
    transcribed_ms: u64,
    /// How far into the recording the worker read.
    end_ms: u64,
}

/// One worker: reads the file itself (decoding is cheap next to whisper, and so no worker waits
/// for another's reading) and runs its lanes, sending each finished segment to `segments_out`.
#[allow(clippy::too_many_arguments)]
fn work(
    path: &Path,
    engine: &mut Transcriber,
    lanes: &mut [Lane],
    tuning: Tuning,
    word_lag_ms: u64,
    stop: Arc<AtomicBool>,
    heard: &[AtomicU64],
    segments_out: mpsc::Sender<Segment>,
    window_texts: &WindowTexts,
) -> Result<Finished, PipelineError> {
    let mut reader = AudioReader::open(path)?;
    let mut send = |s: &Segment| {
        // The receiver only goes away once every worker is done.
        let _ = segments_out.send(s.clone());
    };
    let mut run = Run {
        engine,
        cancel: stop.clone(),
        segments: Vec::new(),
        words: Vec::new(),
        languages: Vec::new(),
        transcribed_ms: 0,
        on_segment: &mut send,
        tuning,
        word_lag_ms,
        window_texts,
    };
    let mut end_ms = 0;
    while lanes.iter().any(|l| !l.done) && !stop.load(Ordering::Relaxed) {
        let Some(block) = reader.next_block()? else {
            break;
        };
        let mono = lanes
            .iter()
            .any(|l| l.source.is_none())
            .then(|| crate::audio::decode::mix_to_mono(&block));
        for (lane, heard) in lanes.iter_mut().zip(heard) {
            if lane.done {
                continue;
            }
            let samples = match lane.source {
                Some(c) => block.get(c).map_or(&[][..], Vec::as_slice),
                None => mono.as_deref().unwrap_or(&[]),
            };
            lane.buf.extend_from_slice(samples);
            run.hear(lane, samples, false)?;
            lane.trim();
            end_ms = end_ms.max(lane.end_ms());
            heard.store(lane.heard_ms(), Ordering::Relaxed);
        }
    }
    for (lane, heard) in lanes.iter_mut().zip(heard) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if !lane.done {
            run.hear(lane, &[], true)?;
            run.finish(lane)?;
        }
        heard.store(lane.heard_ms(), Ordering::Relaxed);
    }
    Ok(Finished {
        segments: run.segments,
        words: run.words,
        languages: run.languages,
        transcribed_ms: run.transcribed_ms,
        end_ms,
    })
}

/// Transcribes `path`. `on_progress` is called a few times a second; `on_segment` for every
/// finished segment (in the order they finish); setting `cancel` stops early and returns what
/// was finished with `complete = false`.
pub fn transcribe_file(
    path: &Path,
    engine: &mut Transcriber,
    options: &PipelineOptions,
    cancel: Arc<AtomicBool>,
    on_progress: &mut dyn FnMut(Progress),
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<Transcript, PipelineError> {
    let started = Instant::now();
    let info = AudioReader::open(path)?.info().clone();
    if options.vad.is_some() {
        engine.set_word_timestamps(true);
        engine.set_fit_audio_ctx(options.fit_audio_ctx);
    }
    engine.set_timed_context(options.tuning.timed_prompt_for(engine.is_tiny()));
    if let Some(n) = options.tuning.fallbacks {
        engine.set_fallbacks(n);
    }
    let split = options.split_channels && info.channels == 2;
    engine.forget_language();
    engine.set_dtw(split && options.vad.is_some())?;
    if info.channels > 2 {
        tracing::warn!(
            "{} has {} channels; mixing them to one",
            path.display(),
            info.channels
        );
    }
    let (channel_gap_ms, dtw_lag_ms) = options.tuning.channel_gap_and_lag(engine.is_tiny());
    // Only a mono file's plan depends on the load: reading it may wait a moment for a span.
    let busy = !split && engine.machine_busy();
    if busy {
        tracing::debug!("other programs keep a core busy: long enough mono files go in halves");
    }
    let plan = plan(
        split,
        info.duration_ms,
        engine.config().threads,
        busy,
        options,
    );
    let mut lane_sets: Vec<Vec<Lane>> = plan
        .iter()
        .map(|lanes| {
            lanes
                .iter()
                .map(|&(source, part)| {
                    let channel = source.unwrap_or(0);
                    Lane {
                        channel: channel as u32,
                        label: split.then(|| {
                            options
                                .channel_names
                                .get(channel)
                                .cloned()
                                .unwrap_or(format!("channel {channel}"))
                        }),
                        vad: options
                            .vad
                            .clone()
                            .map(|cfg| StreamingVad::new(TARGET_RATE, cfg)),
                        buf: Vec::new(),
                        buf_start_ms: 0,
                        pack: Pack::with_gap(if split {
                            channel_gap_ms
                        } else {
                            options.tuning.gap_ms
                        }),
                        context: String::new(),
                        next_fixed_ms: 0,
                        source,
                        part,
                        cut_ms: None,
                        fed_ms: 0,
                        windows: 0,
                        done: false,
                    }
                })
                .collect()
        })
        .collect();
    let heard: Vec<Vec<AtomicU64>> = plan
        .iter()
        .map(|lanes| lanes.iter().map(|_| AtomicU64::new(0)).collect())
        .collect();
    // See `WindowTexts::running`.
    let waits_for_window_0 = options.tuning.wait_for_window_0
        && plan.len() > 1
        && plan
            .iter()
            .flatten()
            .all(|(_, part)| matches!(part, Part::InTurn { .. }));
    let running = Arc::new(AtomicUsize::new(
        plan.len() - usize::from(waits_for_window_0),
    ));
    if plan.len() > 1 {
        engine.share_threads(Some(running.clone()));
    }
    let mut siblings = Vec::new();
    for _ in 1..plan.len() {
        siblings.push(engine.sibling()?);
    }
    tracing::debug!(
        workers = plan.len(),
        ?plan,
        "lanes of the recording, one whisper state per worker"
    );
    let word_lag_ms = if split && options.vad.is_some() {
        dtw_lag_ms
    } else {
        0
    };
    let stop = Arc::new(AtomicBool::new(false));
    let window_texts = WindowTexts {
        running: waits_for_window_0.then(|| running.clone()),
        ..WindowTexts::default()
    };
    let (segments_out, segments_in) = mpsc::channel::<Segment>();
    let progress = |heard: &[Vec<AtomicU64>]| {
        let done: u64 = heard
            .iter()
            .flatten()
            .map(|h| h.load(Ordering::Relaxed))
            .sum();
        let lengths: Vec<Option<u64>> = plan
            .iter()
            .flatten()
            .map(|&(_, part)| part_len_ms(part, info.duration_ms))
            .collect();
        let position_ms = match (
            info.duration_ms,
            lengths.iter().copied().sum::<Option<u64>>(),
        ) {
            (Some(d), Some(total)) if total > 0 => done.saturating_mul(d) / total,
            _ => done / lengths.len().max(1) as u64,
        };
        Progress {
            position_ms,
            total_ms: info.duration_ms,
            elapsed: started.elapsed(),
        }
    };
    let results: Vec<Result<Finished, PipelineError>> = std::thread::scope(|scope| {
        let engines = std::iter::once(&mut *engine).chain(siblings.iter_mut());
        let handles: Vec<_> = engines
            .zip(lane_sets.iter_mut())
            .zip(&heard)
            .map(|((engine, lanes), heard)| {
                let (stop, running, out) = (stop.clone(), running.clone(), segments_out.clone());
                let tuning = options.tuning.clone();
                let window_texts = &window_texts;
                scope.spawn(move || {
                    let result = work(
                        path,
                        engine,
                        lanes,
                        tuning,
                        word_lag_ms,
                        stop.clone(),
                        heard,
                        out,
                        window_texts,
                    );
                    // Saturating: a worker stopped while waiting for window 0 was not counted.
                    let _ = running.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_sub(1))
                    });
                    if result.is_err() {
                        // The others stop too: the run fails as a whole.
                        stop.store(true, Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        drop(segments_out);
        loop {
            match segments_in.recv_timeout(PROGRESS_EVERY) {
                Ok(segment) => on_segment(&segment),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if cancel.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed);
            }
            on_progress(progress(&heard));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    engine.share_threads(None);
    let mut pairs = Vec::new();
    let mut languages = Vec::new();
    let (mut transcribed_ms, mut position_ms) = (0, 0);
    for result in results {
        let finished = result?;
        pairs.extend(finished.segments.into_iter().zip(finished.words));
        languages.extend(finished.languages);
        transcribed_ms += finished.transcribed_ms;
        position_ms = position_ms.max(finished.end_ms);
    }
    pairs.sort_by_key(|(s, _)| (s.start_ms, s.channel));
    let (segments, words): (Vec<Segment>, Vec<_>) = pairs.into_iter().unzip();
    let complete = !cancel.load(Ordering::Relaxed);
    let labelled = match &options.diarize {
        Some(d) if complete => crate::diarize::label(path, segments, words, split, d),
        Some(_) => {
            tracing::warn!("stopped early: speakers not told apart, labelled by channel");
            crate::diarize::Labelled {
                segments,
                speakers: Vec::new(),
                fallback: None,
            }
        }
        None => crate::diarize::Labelled {
            segments,
            speakers: Vec::new(),
            fallback: None,
        },
    };
    let mut segments = labelled.segments;
    segments.sort_by_key(|s| (s.start_ms, s.channel));
    Ok(Transcript {
        segments,
        language: most_common(&languages),
        duration_ms: info.duration_ms.unwrap_or(position_ms).max(position_ms),
        transcribed_ms,
        channels: info.channels,
        complete,
        speakers: labelled.speakers,
        diarization_fallback: labelled.fallback,
    })
}

/// How much of the recording a part covers (`None` when the length is not known).
fn part_len_ms(part: Part, duration_ms: Option<u64>) -> Option<u64> {
    match part {
        Part::Whole | Part::InTurn { .. } => duration_ms,
        Part::First { mid_ms } => Some(mid_ms),
        Part::Second { mid_ms } => duration_ms.map(|d| d.saturating_sub(mid_ms)),
    }
}

/// The baseline: the whole file, mixed to mono, given to whisper in one call with default
/// parameters (whisper.cpp slides its own 30 s window). Used by the benchmark.
pub fn transcribe_whole(
    path: &Path,
    engine: &mut Transcriber,
) -> Result<Transcript, PipelineError> {
    let (info, channels) = crate::audio::decode::decode_file(path)?;
    let mono = crate::audio::decode::mix_to_mono(&channels);
    let result = engine.transcribe(&mono, 0, None, None)?;
    let duration_ms = samples_to_ms(mono.len());
    Ok(Transcript {
        segments: result
            .segments
            .into_iter()
            .filter(|s| !is_non_speech(&s.text))
            .map(|s| Segment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                channel: 0,
                speaker: None,
                text: s.text,
                confidence: s.confidence,
            })
            .collect(),
        language: result.language,
        duration_ms,
        transcribed_ms: duration_ms,
        channels: info.channels,
        complete: true,
        speakers: Vec::new(),
        diarization_fallback: None,
    })
}

/// The most frequent item (the language most windows detected).
pub(crate) fn most_common(items: &[String]) -> Option<String> {
    let mut counts: Vec<(&String, usize)> = Vec::new();
    for i in items {
        match counts.iter_mut().find(|(k, _)| *k == i) {
            Some((_, n)) => *n += 1,
            None => counts.push((i, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(k, _)| k.clone())
}

impl Transcript {
    /// The plain text of the transcript (for WER scoring), optionally one channel only.
    pub fn text(&self, channel: Option<u32>) -> String {
        self.segments
            .iter()
            .filter(|s| channel.is_none_or(|c| s.channel == c))
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The host model's transcript: segments get ids by position; diarized speakers keep
    /// their ids ("speaker-1", …) and the channel labels ("me", "others" by default) become
    /// speakers of their own.
    pub fn to_model(&self) -> crate::model::Transcript {
        let mut speakers: Vec<crate::model::Speaker> = Vec::new();
        let segments = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let speaker_id = s.speaker.as_deref().map(|name| {
                    if let Some(known) = speakers.iter().find(|sp| sp.name == name) {
                        return known.id.clone();
                    }
                    let speaker = match self.speakers.iter().find(|sp| sp.name == name) {
                        Some(diarized) => diarized.clone(),
                        None => {
                            // A channel label never takes an id a diarized speaker has.
                            let taken: Vec<crate::model::Speaker> =
                                speakers.iter().chain(&self.speakers).cloned().collect();
                            crate::model::Speaker {
                                id: crate::model::speaker_id_for(name, &taken),
                                name: name.to_string(),
                                channel: s.channel,
                                voice: None,
                            }
                        }
                    };
                    let id = speaker.id.clone();
                    speakers.push(speaker);
                    id
                });
                crate::model::Segment {
                    id: i as u32,
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    channel: s.channel,
                    speaker_id,
                    text: s.text.clone(),
                    words: Vec::new(),
                }
            })
            .collect();
        crate::model::Transcript {
            segments,
            speakers,
            language: self.language.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_work_on_channels_or_halves_side_by_side() {
        let options = PipelineOptions::default();
        let minute = Some(60_000);
        let first = |mid_ms| (None, Part::First { mid_ms });
        let second = |mid_ms| (None, Part::Second { mid_ms });
        let in_turn = || {
            vec![
                vec![(None, Part::InTurn { worker: 0 })],
                vec![(None, Part::InTurn { worker: 1 })],
            ]
        };
        let ch = |c| (Some(c), Part::Whole);
        // (split, duration, threads, others keep a core busy) -> workers and their lanes
        let cases = [
            ((true, minute, 2, false), vec![vec![ch(0)], vec![ch(1)]]),
            ((true, None, 4, false), vec![vec![ch(0)], vec![ch(1)]]),
            ((true, minute, 1, false), vec![vec![ch(0), ch(1)]]),
            ((true, minute, 2, true), vec![vec![ch(0)], vec![ch(1)]]),
            (
                (false, Some(1_200_000), 2, false),
                vec![vec![first(600_000)], vec![second(600_000)]],
            ),
            (
                (false, Some(600_000), 2, false),
                vec![vec![first(300_000)], vec![second(300_000)]],
            ),
            // Short clips, unknown lengths and one thread: one worker for the whole file.
            (
                (false, Some(599_999), 2, false),
                vec![vec![(None, Part::Whole)]],
            ),
            ((false, None, 2, false), vec![vec![(None, Part::Whole)]]),
            (
                (false, Some(1_200_000), 1, false),
                vec![vec![(None, Part::Whole)]],
            ),
            // Under load a 3-minute meeting goes in halves too; a clip still does not.
            (
                (false, Some(180_000), 2, true),
                vec![vec![first(90_000)], vec![second(90_000)]],
            ),
            (
                (false, Some(59_999), 2, true),
                vec![vec![(None, Part::Whole)]],
            ),
            ((false, None, 2, true), vec![vec![(None, Part::Whole)]]),
            (
                (false, Some(180_000), 1, true),
                vec![vec![(None, Part::Whole)]],
            ),
        ];
        for ((split, duration, threads, busy), want) in cases {
            assert_eq!(
                plan(split, duration, threads, busy, &options),
                want,
                "split {split}, {duration:?} ms, {threads} threads, busy {busy}"
            );
        }
        // Without VAD there is no quiet point to meet at; `parallel=false` is the old way.
        let no_vad = PipelineOptions {
            vad: None,
            ..PipelineOptions::default()
        };
        assert_eq!(
            plan(false, Some(1_200_000), 2, false, &no_vad),
            vec![vec![(None, Part::Whole)]]
        );
        // `halves` decides for the load: always for a minute or more, or never.
        let mut always = PipelineOptions::default();
        always.tune("halves=true").expect("a flag");
        assert_eq!(
            plan(false, Some(180_000), 2, false, &always),
            vec![vec![first(90_000)], vec![second(90_000)]]
        );
        assert_eq!(
            plan(false, Some(59_999), 2, false, &always),
            vec![vec![(None, Part::Whole)]]
        );
        let mut never = PipelineOptions::default();
        never.tune("halves=false").expect("a flag");
        assert_eq!(
            plan(false, Some(1_200_000), 2, false, &never),
            vec![vec![(None, Part::Whole)]]
        );
        assert_eq!(
            plan(false, Some(1_200_000), 2, true, &never),
            vec![vec![(None, Part::Whole)]]
        );
        // `in_turn=true`: two workers take the windows of a minute or more in turn, quiet or
        // busy, instead of halves; a 2-channel file still goes by channel.
        let mut turns = PipelineOptions::default();
        turns.tune("in_turn=true").expect("a flag");
        assert_eq!(plan(false, Some(180_000), 2, false, &turns), in_turn());
        assert_eq!(plan(false, Some(3_600_000), 2, true, &turns), in_turn());
        assert_eq!(
            plan(false, Some(59_999), 2, false, &turns),
            vec![vec![(None, Part::Whole)]]
        );
        assert_eq!(
            plan(false, Some(180_000), 1, false, &turns),
            vec![vec![(None, Part::Whole)]]
        );
        assert_eq!(
            plan(true, minute, 2, false, &turns),
            vec![vec![ch(0)], vec![ch(1)]]
        );
        let mut one = PipelineOptions::default();
        one.tune("parallel=false").expect("a known setting");
        assert_eq!(plan(true, minute, 2, false, &one), vec![vec![ch(0), ch(1)]]);
        assert_eq!(
            plan(false, Some(1_200_000), 2, false, &one),
            vec![vec![(None, Part::Whole)]]
        );
    }

    #[test]
    fn a_window_taken_in_turn_is_prompted_with_the_windows_before_the_one_before_it() {
        let texts = WindowTexts::default();
        let go = AtomicBool::new(false);
        // Windows are taken once each, in order, by whichever worker gets there first.
        assert!(texts.claim(0));
        assert!(!texts.claim(0));
        assert!(texts.claim(1));
        assert!(texts.claim(2));
        assert_eq!(texts.prompt_for(0, true, &go), "");
        // Window 1 without waiting for window 0 starts cold.
        assert_eq!(texts.prompt_for(1, false, &go), "");
        texts.insert(0, "\nWelcome to the Atlas sync.".into());
        assert_eq!(
            texts.prompt_for(1, true, &go),
            "\nWelcome to the Atlas sync."
        );
        // Window 2 hears window 0 only, whether window 1 is done or not: the prompt never
        // depends on which worker was faster.
        assert_eq!(
            texts.prompt_for(2, true, &go),
            "\nWelcome to the Atlas sync."
        );
        texts.insert(2, "\nThe beta ends Friday.".into());
        texts.insert(1, "\nLaunch on the 3rd.".into());
        assert_eq!(
            texts.prompt_for(2, true, &go),
            "\nWelcome to the Atlas sync."
        );
        assert_eq!(
            texts.prompt_for(3, true, &go),
            "\nWelcome to the Atlas sync.\nLaunch on the 3rd."
        );
        assert_eq!(
            texts.prompt_for(4, true, &go),
            "\nWelcome to the Atlas sync.\nLaunch on the 3rd.\nThe beta ends Friday."
        );
        // A cold window 1 is never in a prompt.
        assert_eq!(
            texts.prompt_for(3, false, &go),
            "\nWelcome to the Atlas sync."
        );
        assert_eq!(
            texts.prompt_for(4, false, &go),
            "\nWelcome to the Atlas sync.\nThe beta ends Friday."
        );
        // Only the last `PROMPT_CHARS` go to whisper, cut on a character boundary, and old
        // windows are forgotten.
        for k in 3..40 {
            texts.insert(k, format!("\nWindow {k} said é{}", "x".repeat(200)));
        }
        let prompt = texts.prompt_for(40, true, &go);
        assert!(prompt.len() <= PROMPT_CHARS && prompt.len() > PROMPT_CHARS - 250);
        assert!(prompt.ends_with(&format!("Window 38 said é{}", "x".repeat(200))));
        assert!(!texts.lock().texts.contains_key(&0));
        // A window whose windows before are not done waits for them, unless the run stops.
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| texts.prompt_for(42, true, &go));
            std::thread::sleep(Duration::from_millis(100));
            assert!(
                !waiting.is_finished(),
                "window 42 did not wait for window 40"
            );
            texts.insert(40, "\nForty.".into());
            let prompt = waiting.join().expect("the waiting worker");
            assert!(prompt.ends_with("\nForty."), "{prompt}");
        });
        assert!(
            !texts
                .prompt_for(45, true, &AtomicBool::new(true))
                .is_empty()
        );
    }

    #[test]
    fn halves_count_progress_over_the_whole_recording() {
        assert_eq!(part_len_ms(Part::Whole, Some(90_000)), Some(90_000));
        assert_eq!(
            part_len_ms(Part::First { mid_ms: 45_000 }, Some(90_000)),
            Some(45_000)
        );
        assert_eq!(
            part_len_ms(Part::Second { mid_ms: 45_000 }, Some(90_000)),
            Some(45_000)
        );
        assert_eq!(part_len_ms(Part::Whole, None), None);
    }

    #[test]
    fn packed_times_map_back_to_the_recording() {
        let mut pack = Pack::default();
        pack.push(10_000, &vec![0.0; ms_to_samples(2_000)]);
        pack.push(50_000, &vec![0.0; ms_to_samples(1_000)]);
        assert_eq!(pack.to_source(0), 10_000);
        assert_eq!(pack.to_source(1_500), 11_500);
        // Inside the gap: the end of the first piece.
        assert_eq!(pack.to_source(2_000 + PACK_GAP_MS / 2), 12_000);
        assert_eq!(pack.to_source(2_000 + PACK_GAP_MS), 50_000);
        assert_eq!(pack.to_source(2_500 + PACK_GAP_MS), 50_500);
        assert_eq!(pack.len_ms(), 3_000 + PACK_GAP_MS);
        assert_eq!(pack.piece_at(2_000 + PACK_GAP_MS / 2), 0);
        assert_eq!(pack.piece_at(2_000 + PACK_GAP_MS), 1);
    }

    #[test]
    fn a_tail_handed_on_joins_the_rest_of_its_region_without_a_gap() {
        // A window ended in a region cut at 13 s; whisper's last segment began at 11.5 s.
        let mut pack = Pack::default();
        pack.push(1_000, &vec![0.1; ms_to_samples(6_000)]);
        pack.push(9_000, &vec![0.2; ms_to_samples(4_000)]);
        let mut next = pack.tail_from(6_000 + PACK_GAP_MS + 2_500);
        next.push_joined(13_000, &vec![0.3; ms_to_samples(3_000)]);
        // One piece of the region from 11.5 s on: no silence put inside a word at the cut.
        assert_eq!(
            next.pieces
                .iter()
                .map(|p| (p.source_ms, p.len_ms))
                .collect::<Vec<_>>(),
            [(11_500, 4_500)]
        );
        assert_eq!(next.len_ms(), 4_500);
        assert_eq!(next.samples[ms_to_samples(1_490)], 0.2);
        assert_eq!(next.samples[ms_to_samples(1_500)], 0.3);
        assert_eq!(next.to_source(2_000), 13_500);
        // The next region is a piece of its own, after the gap.
        next.push_joined(20_000, &vec![0.4; ms_to_samples(1_000)]);
        assert_eq!(next.pieces.len(), 2);
        assert_eq!(next.len_ms(), 5_500 + PACK_GAP_MS);
        assert_eq!(next.to_source(4_500 + PACK_GAP_MS + 500), 20_500);
    }

    #[test]
    fn a_window_whisper_half_ignored_or_left_unfinished_is_cut_keeping_its_times() {
        // Pieces of 6, 3, 5 and 4 s: the cut nearest 9 s of 18 falls after the second.
        let mut pack = Pack::default();
        for (at, secs, level) in [
            (1_000, 6, 0.1),
            (9_000, 3, 0.2),
            (15_000, 5, 0.3),
            (22_000, 4, 0.4),
        ] {
            pack.push(at, &vec![level; ms_to_samples(secs * 1000)]);
        }
        let (first, second) = pack.halves().expect("four pieces split");
        assert_eq!(
            first
                .pieces
                .iter()
                .map(|p| (p.source_ms, p.len_ms))
                .collect::<Vec<_>>(),
            [(1_000, 6_000), (9_000, 3_000)]
        );
        assert_eq!(
            second
                .pieces
                .iter()
                .map(|p| (p.source_ms, p.len_ms))
                .collect::<Vec<_>>(),
            [(15_000, 5_000), (22_000, 4_000)]
        );
        // Each half carries its pieces' own audio, not the gaps or a neighbour's.
        assert_eq!(second.samples[ms_to_samples(100)], 0.3);
        assert_eq!(second.to_source(5_000 + PACK_GAP_MS + 1_000), 23_000);
        assert_eq!(second.samples.last(), Some(&0.4));

        // One long piece is cut at its quietest point in the middle third.
        let mut lone = Pack::default();
        let mut audio = vec![0.3f32; ms_to_samples(12_000)];
        audio[ms_to_samples(7_000)..ms_to_samples(7_100)].fill(0.0);
        lone.push(40_000, &audio);
        let (a, b) = lone.halves().expect("a long piece splits");
        assert_eq!((a.pieces[0].source_ms, a.pieces[0].len_ms), (40_000, 7_000));
        assert_eq!((b.pieces[0].source_ms, b.pieces[0].len_ms), (47_000, 5_000));
        assert_eq!(a.samples.len() + b.samples.len(), audio.len());

        // What whisper left unfinished keeps its own times and audio.
        let tail = pack.tail_from(5_000);
        assert_eq!(
            tail.pieces
                .iter()
                .map(|p| (p.source_ms, p.len_ms))
                .collect::<Vec<_>>(),
            [
                (6_000, 1_000),
                (9_000, 3_000),
                (15_000, 5_000),
                (22_000, 4_000)
            ]
        );
        assert_eq!(tail.samples[0], 0.1);
        assert_eq!(tail.to_source(1_000 + PACK_GAP_MS + 500), 9_500);
        // From inside a gap: the next pieces, whole.
        assert_eq!(
            pack.tail_from(6_000 + PACK_GAP_MS / 2)
                .pieces
                .iter()
                .map(|p| (p.source_ms, p.len_ms))
                .collect::<Vec<_>>(),
            [(9_000, 3_000), (15_000, 5_000), (22_000, 4_000)]
        );

        // A short lone piece is left whole.
        let mut short = Pack::default();
        short.push(0, &vec![0.3; ms_to_samples(4_000)]);
        assert!(short.halves().is_none());
    }

    #[test]
    fn tiny_models_get_their_own_channel_gap_and_word_lag_unless_set() {
        let mut o = PipelineOptions::default();
        assert_eq!(o.tuning.channel_gap_and_lag(true), (400, 350));
        assert_eq!(o.tuning.channel_gap_and_lag(false), (100, 0));
        o.tune("channel_gap_ms=250").expect("a gap");
        assert_eq!(o.tuning.channel_gap_and_lag(true), (250, 350));
        o.tune("dtw_lag_ms=0").expect("a lag");
        assert_eq!(o.tuning.channel_gap_and_lag(true), (250, 0));
        assert_eq!(o.tuning.channel_gap_and_lag(false), (250, 0));
    }

    #[test]
    fn the_prompt_keeps_its_timestamps_except_for_tiny_models_unless_set() {
        let mut o = PipelineOptions::default();
        assert!(o.tuning.timed_prompt_for(false));
        assert!(!o.tuning.timed_prompt_for(true));
        o.tune("timed_prompt=false").expect("a flag");
        assert!(!o.tuning.timed_prompt_for(false));
        o.tune("timed_prompt=true").expect("a flag");
        assert!(o.tuning.timed_prompt_for(true));
        assert!(o.tune("timed_prompt=maybe").is_err());
    }

    #[test]
    fn pipeline_settings_are_read_from_key_value_pairs_and_refused_when_unknown() {
        let mut o = PipelineOptions::default();
        o.tune("pack_within_ms=1500, gap_ms=400,prompt=false,vad.post_pad_ms=500")
            .expect("valid settings");
        assert_eq!(o.tuning.pack_within_ms, Some(1500));
        assert_eq!(o.tuning.gap_ms, 400);
        assert!(!o.tuning.prompt && o.tuning.filters);
        assert_eq!(o.vad.as_ref().map(|v| v.post_pad_ms), Some(500));
        assert!(
            o.tuning.cut_to_fill,
            "regions are cut to fill a window by default"
        );
        o.tune("cut_to_fill=false").expect("a flag");
        assert!(!o.tuning.cut_to_fill);
        o.tune("min_tokens_per_s=2.5").expect("a rate");
        assert_eq!(o.tuning.min_tokens_per_s, Some(2.5));
        assert!(o.tune("min_tokens_per_s=fast").is_err());
        assert!(
            !o.tuning.seek_on_cut,
            "a window's last segment is kept by default"
        );
        o.tune("seek_on_cut=true").expect("a flag");
        assert!(o.tuning.seek_on_cut);
        o.tune("cut_pause_ms=150").expect("a length");
        assert_eq!(o.tuning.cut_pause_ms, 150);
        assert_eq!(o.tuning.unsure_below, None, "greedy windows are kept");
        o.tune("unsure_below=0.8,unsure_beam=3")
            .expect("a probability and beams");
        assert_eq!(o.tuning.unsure_below, Some(0.8));
        assert_eq!(o.tuning.unsure_beam, 3);
        o.tune("pack_within_ms=any").expect("any pause");
        assert_eq!(o.tuning.pack_within_ms, None);
        for (bad, says) in [
            ("beam=5", "unknown pipeline setting `beam`"),
            ("gap_ms=wide", "gap_ms: `wide` is not a number"),
            ("prompt=no", "prompt: `no` is not true or false"),
            ("gap_ms", "`gap_ms` is not key=value"),
            ("unsure_below=80", "unsure_below: `80` is not a probability"),
        ] {
            let err = o.tune(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn a_long_quiet_is_a_pause_between_words_and_a_short_one_may_be_inside_a_word() {
        // 3 s of speech: a 40 ms stop (a closure inside a word) at 1.5 s, then a 200 ms pause
        // between words at 2.3 s that is not quite as quiet.
        let mut audio = vec![0.3f32; ms_to_samples(3_000)];
        audio[ms_to_samples(1_500)..ms_to_samples(1_540)].fill(0.0);
        audio[ms_to_samples(2_300)..ms_to_samples(2_500)].fill(0.01);
        let short = quietest_point(&audio, 0, 0, 3_000, CUT_PAUSE_MS);
        assert!((1_500..1_530).contains(&short), "cut at {short}");
        let long = quietest_point(&audio, 0, 0, 3_000, 150);
        assert!(
            (2_300..2_500).contains(&long) && (2_300..2_500).contains(&(long + CUT_PAUSE_MS)),
            "cut at {long}: inside the pause"
        );
    }

    #[test]
    fn a_late_word_time_stays_with_its_turn() {
        // Two turns of one channel, 20 s apart in the recording, packed 100 ms apart.
        let mut pack = Pack::default();
        pack.push(10_000, &vec![0.1; ms_to_samples(3_000)]);
        pack.push(33_000, &vec![0.1; ms_to_samples(2_000)]);
        let next = 3_000 + PACK_GAP_MS;
        let word = |at: u64| super::super::engine::Word {
            text: " you".into(),
            start_ms: at,
            end_ms: at,
            probability: 0.9,
        };
        // "…how short are you?": DTW put "you" 200 ms into the next piece.
        let late = word(next + 200);
        assert_eq!(
            pack.piece_of_word(&late, 0),
            1,
            "without the lag it moves on"
        );
        assert_eq!(pack.piece_of_word(&late, TINY_DTW_LAG_MS), 0);
        let kept = pack.within(0, &late);
        assert_eq!(
            pack.to_source(kept.start_ms),
            13_000,
            "the end of its own turn"
        );
        // The next turn's first word, after VAD's pre-pad, stays in the next turn.
        assert_eq!(pack.piece_of_word(&word(next + 450), TINY_DTW_LAG_MS), 1);
        assert_eq!(pack.piece_of_word(&word(200), TINY_DTW_LAG_MS), 0);
    }

    #[test]
    fn a_window_that_loops_or_copies_the_words_before_is_tried_again() {
        let seg = |text: &str| RawSegment {
            start_ms: 0,
            end_ms: 30_000,
            text: text.to_string(),
            confidence: 0.5,
            no_speech_probability: 0.0,
            words: Vec::new(),
            text_tokens: 0,
        };
        let context = "We'll come at the rest from the friends fund. Thank you, May.";
        // meeting_g's microphone channel with tiny.en: five turns came out as this.
        let looped = seg(
            "This is the next week. This is the first week. This week we'll come at the rest of the year. \
             This week we'll come at the rest of the year. This week we'll come at the rest of the year. \
             This week we'll come at the rest of the year. This week we'll come at the rest",
        );
        assert!(mostly_repeats(&[looped], context));
        let copied = seg("We'll come at the rest from the friends fund. Thank you, May.");
        let fresh = seg("Now Saturdays.");
        assert!(mostly_repeats(&[copied, fresh], context));
        let sound = seg(
            "Now Saturday's opening hours. I looked at the visitor counts. From next month we \
             close at six on Saturdays instead of five.",
        );
        assert!(!mostly_repeats(std::slice::from_ref(&sound), context));
        let short = seg("Thank you. Thank you. Thank you.");
        assert!(
            !mostly_repeats(&[short], ""),
            "too few words to judge a window by"
        );
    }

    #[test]
    fn how_sure_whisper_was_of_a_window_weighs_each_segment_by_its_tokens() {
        let seg = |text: &str, confidence: f32, text_tokens: usize| RawSegment {
            start_ms: 0,
            end_ms: 1_000,
            text: text.to_string(),
            confidence,
            no_speech_probability: 0.0,
            words: Vec::new(),
            text_tokens,
        };
        let (tokens, sure) = heard(&[
            seg("Okay, let's get started with the budget.", 0.9, 9),
            seg("Mm.", 0.3, 1),
            seg("[BLANK_AUDIO]", 0.1, 5),
        ]);
        assert_eq!(tokens, 10, "non-speech markers are not heard");
        assert!((sure - 0.84).abs() < 1e-6, "{sure}");
        assert_eq!(heard(&[]), (0, 0.0));
    }

    #[test]
    fn whisper_non_speech_markers_are_dropped() {
        for t in ["[BLANK_AUDIO]", " (music) ", "...", "", "[ Silence ]"] {
            assert!(is_non_speech(t), "{t:?}");
        }
        assert!(!is_non_speech("Ask not."));
    }
}
