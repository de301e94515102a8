//! The whisper.cpp engine: a model loaded once, its state reused window after window.

use super::cpu::CpuShare;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// ggml model files start with this magic ("lmgg" on disk).
const GGML_MAGIC: u32 = 0x6767_6d6c;

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error(
        "model file {0} does not exist; list models with `minutes models list`, get one with `minutes models pull NAME`"
    )]
    ModelMissing(PathBuf),
    #[error(
        "{path} is not a whisper ggml model ({why}); get a model with `minutes models pull NAME`"
    )]
    NotAModel { path: PathBuf, why: String },
    #[error(
        "whisper.cpp could not load the model {path} ({message}); the file may be truncated or damaged — pull it again"
    )]
    ModelLoad { path: PathBuf, message: String },
    #[error("language `{0}` is not one whisper knows; use a code such as en, de, fr, or `auto`")]
    UnknownLanguage(String),
    #[error(
        "model {path} is English-only; it cannot transcribe `{language}` or translate — use a multilingual model (e.g. base)"
    )]
    EnglishOnly { path: PathBuf, language: String },
    #[error("transcription failed: {0}")]
    Whisper(String),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub model: PathBuf,
    /// The most CPU threads whisper uses.
    pub threads: usize,
    /// Fewer threads for a window while other programs keep cores busy (see `cpu`).
    pub adaptive_threads: bool,
    /// `None`: detect per window.
    pub language: Option<String>,
    pub translate: bool,
    /// Vocabulary hints (names, jargon) given to every window.
    pub initial_prompt: Option<String>,
    pub word_timestamps: bool,
    /// Align tokens with DTW (an extra decoder pass per window, ~9% of the time with base).
    /// The pipeline turns it on for 2-channel recordings, whose turns are merged across
    /// channels in time order and so need each word's time to split a window back into turns;
    /// in one channel the order is right anyway and whisper's own token times do.
    pub dtw: bool,
    /// 1: greedy decoding (whisper's fallback to sampling stays on). More: beam search with
    /// that many beams, as whisper.cpp's command line does by default (5) — slower, at times
    /// more accurate.
    pub beam_size: usize,
    /// How many times whisper may decode a window again at a higher temperature when the
    /// result looks wrong (repetitive, or unlikely): 5 is whisper's own (0.2 steps up to 1.0),
    /// 0 none. Each retry runs the decoder up to the token limit again.
    pub fallbacks: u32,
}

impl EngineConfig {
    /// A `--language` argument as the config holds it: `auto` is `None` (detect).
    pub fn language_arg(arg: &str) -> Option<String> {
        (arg != "auto").then(|| arg.to_owned())
    }

    pub fn new(model: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            model: model.into(),
            threads: default_threads(),
            adaptive_threads: true,
            language: None,
            translate: false,
            initial_prompt: None,
            word_timestamps: false,
            dtw: false,
            beam_size: 1,
            fallbacks: WHISPER_FALLBACKS,
        }
    }
}

/// whisper.cpp's own temperature schedule: 0.0, then 0.2 steps up to 1.0.
pub const WHISPER_FALLBACKS: u32 = 5;

/// Physical cores: ggml's threads spin while waiting, so hyper-threads only get in each other's way.
pub fn default_threads() -> usize {
    let logical = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return logical;
    };
    let mut cores = std::collections::HashSet::new();
    let mut physical = String::new();
    for line in info.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => physical = v.trim().to_string(),
                "core id" => {
                    cores.insert((physical.clone(), v.trim().to_string()));
                }
                _ => {}
            }
        }
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub probability: f32,
}

/// A segment as whisper produced it, with times already offset into the recording.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RawSegment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Mean probability of the segment's text tokens (0–1).
    pub confidence: f32,
    pub no_speech_probability: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// Text tokens whisper produced (a measure of how much it heard, in any script).
    #[serde(skip)]
    pub text_tokens: usize,
}

pub struct WindowResult {
    pub segments: Vec<RawSegment>,
    /// Detected (or fixed) language code.
    pub language: Option<String>,
    /// True when stopped by the abort flag.
    pub aborted: bool,
    /// Where the tail whisper left to the caller starts (see `set_hand_over_tails`).
    pub handed_over_from_ms: Option<u64>,
}

pub struct Transcriber {
    /// The loaded model; `sibling` makes another state from it without loading it again.
    context: Arc<WhisperContext>,
    state: WhisperState,
    config: EngineConfig,
    multilingual: bool,
    /// With `language: None`: the language windows holding 5 s of speech agreed on (see
    /// [`LanguageVote`]). whisper.cpp
    /// runs a whole extra encoder pass to detect the language of every window it is given (a
    /// third of the cost of a window); whole-file whisper detects once per file, and so do we,
    /// once per recording (see `forget_language`).
    detected_language: Option<String>,
    /// Until then: the windows that heard the same language (see [`LanguageVote`]).
    language_vote: LanguageVote,
    /// The language the next window is decoded in instead of detecting it (`assume_language`).
    probed_language: Option<String>,
    fit_audio_ctx: bool,
    min_tail_ms: u32,
    hand_over_tails: bool,
    keep_unsure_speech: bool,
    timed_context: bool,
    cpu: CpuShare,
    /// Transcribers working side by side on one recording (see `share_threads`).
    running_beside: Option<Arc<AtomicUsize>>,
}

/// The DTW alignment-heads preset for a standard model, read from its ggml header
/// (n_vocab tells English-only from multilingual, the layer counts tell the size).
fn dtw_preset(path: &Path) -> Option<whisper_rs::DtwModelPreset> {
    use std::io::Read;
    use whisper_rs::DtwModelPreset as P;
    let mut header = [0u8; 4 * 12];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    let field = |i: usize| {
        i32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ])
    };
    let (n_vocab, n_audio_layer, n_text_layer) = (field(1), field(5), field(9));
    let english = n_vocab == 51864;
    Some(match (n_audio_layer, n_text_layer, english) {
        (4, 4, true) => P::TinyEn,
        (4, 4, false) => P::Tiny,
        (6, 6, true) => P::BaseEn,
        (6, 6, false) => P::Base,
        (12, 12, true) => P::SmallEn,
        (12, 12, false) => P::Small,
        (24, 24, true) => P::MediumEn,
        (24, 24, false) => P::Medium,
        (32, 4, _) => P::LargeV3Turbo,
        (32, 32, _) if n_vocab == 51866 => P::LargeV3,
        (32, 32, _) => P::LargeV2,
        _ => return None,
    })
}

/// Checks the file is a ggml model before whisper.cpp sees it.
fn check_model_file(path: &Path) -> Result<(), TranscribeError> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).map_err(|_| TranscribeError::ModelMissing(path.to_path_buf()))?;
    let mut magic = [0u8; 4];
    f.read_exact(&mut magic)
        .map_err(|_| TranscribeError::NotAModel {
            path: path.to_path_buf(),
            why: "file too short".into(),
        })?;
    if u32::from_le_bytes(magic) != GGML_MAGIC {
        let why = if &magic == b"GGUF" {
            "a GGUF file (an LLM?), not a whisper ggml model".to_string()
        } else {
            "wrong file signature".to_string()
        };
        return Err(TranscribeError::NotAModel {
            path: path.to_path_buf(),
            why,
        });
    }
    Ok(())
}

impl Transcriber {
    pub fn load(config: EngineConfig) -> Result<Transcriber, TranscribeError> {
        // whisper.cpp and ggml log to stderr by default; route them into tracing (debug level).
        whisper_rs::install_logging_hooks();
        check_model_file(&config.model)?;
        let (context, state, multilingual) = Self::create(&config)?;
        Ok(Transcriber {
            context,
            state,
            config,
            multilingual,
            detected_language: None,
            language_vote: LanguageVote::default(),
            probed_language: None,
            fit_audio_ctx: false,
            min_tail_ms: 0,
            hand_over_tails: false,
            keep_unsure_speech: false,
            timed_context: false,
            cpu: CpuShare::new(),
            running_beside: None,
        })
    }

    /// Another transcriber on the same loaded model, with its own whisper state and the same
    /// settings, to transcribe another part of a recording at the same time. The state is
    /// whisper.cpp's working memory for one call; the model's weights are shared.
    pub fn sibling(&self) -> Result<Transcriber, TranscribeError> {
        let state = self
            .context
            .create_state()
            .map_err(|e| TranscribeError::ModelLoad {
                path: self.config.model.clone(),
                message: e.to_string(),
            })?;
        Ok(Transcriber {
            context: self.context.clone(),
            state,
            config: self.config.clone(),
            multilingual: self.multilingual,
            detected_language: self.detected_language.clone(),
            language_vote: LanguageVote::default(),
            probed_language: None,
            fit_audio_ctx: self.fit_audio_ctx,
            min_tail_ms: self.min_tail_ms,
            hand_over_tails: self.hand_over_tails,
            keep_unsure_speech: self.keep_unsure_speech,
            timed_context: self.timed_context,
            cpu: CpuShare::new(),
            running_beside: self.running_beside.clone(),
        })
    }

    /// While `running` transcribers (this one among them) work at once, each takes an equal
    /// share of the configured threads; one left alone takes them all again. `None`: alone.
    pub fn share_threads(&mut self, running: Option<Arc<AtomicUsize>>) {
        self.running_beside = running;
    }

    /// Threads for the next whisper call: this transcriber's share of the configured ones,
    /// fewer when other programs keep cores busy (with adaptive threads).
    fn threads_now(&mut self) -> usize {
        let max = match &self.running_beside {
            Some(n) => (self.config.threads / n.load(Ordering::Relaxed).max(1)).max(1),
            None => self.config.threads,
        };
        if self.config.adaptive_threads {
            self.cpu.threads(max)
        } else {
            max
        }
    }

    /// Whether other programs keep cores busy right now, so that whisper would get fewer
    /// threads than configured. Always false with fixed threads or one thread.
    pub fn machine_busy(&mut self) -> bool {
        let max = self.config.threads;
        self.config.adaptive_threads && max >= 2 && self.cpu.threads(max) < max
    }

    fn create(
        config: &EngineConfig,
    ) -> Result<(Arc<WhisperContext>, WhisperState, bool), TranscribeError> {
        let path = config
            .model
            .to_str()
            .ok_or_else(|| TranscribeError::NotAModel {
                path: config.model.clone(),
                why: "path is not UTF-8".into(),
            })?;
        let mut ctx_params = WhisperContextParameters::default();
        // DTW token timestamps are far more precise than whisper's own; they are what lets the
        // pipeline split a window that packs several turns back into those turns.
        if let Some(preset) = dtw_preset(&config.model).filter(|_| config.dtw) {
            ctx_params.dtw_parameters(whisper_rs::DtwParameters {
                mode: whisper_rs::DtwMode::ModelPreset {
                    model_preset: preset,
                },
                ..Default::default()
            });
        }
        let ctx = WhisperContext::new_with_params(path, ctx_params).map_err(|e| {
            TranscribeError::ModelLoad {
                path: config.model.clone(),
                message: e.to_string(),
            }
        })?;
        let multilingual = ctx.is_multilingual();
        if let Some(lang) = &config.language {
            if whisper_rs::get_lang_id(lang).is_none() {
                return Err(TranscribeError::UnknownLanguage(lang.clone()));
            }
            if !multilingual && (lang != "en" || config.translate) {
                return Err(TranscribeError::EnglishOnly {
                    path: config.model.clone(),
                    language: lang.clone(),
                });
            }
        }
        let state = ctx.create_state().map_err(|e| TranscribeError::ModelLoad {
            path: config.model.clone(),
            message: e.to_string(),
        })?;
        Ok((Arc::new(ctx), state, multilingual))
    }

    /// Whether the model is tiny or tiny.en, whose word times need the pipeline's own settings.
    pub fn is_tiny(&self) -> bool {
        use whisper_rs::DtwModelPreset as P;
        matches!(dtw_preset(&self.config.model), Some(P::Tiny | P::TinyEn))
    }

    /// DTW token alignment on or off. It is a property of the loaded model, so changing it
    /// loads the model again (a fraction of a second; the file is in the page cache).
    pub fn set_dtw(&mut self, on: bool) -> Result<(), TranscribeError> {
        if self.config.dtw != on {
            let config = EngineConfig {
                dtw: on,
                ..self.config.clone()
            };
            let (context, state, _) = Self::create(&config)?;
            self.context = context;
            self.state = state;
            self.config = config;
        }
        Ok(())
    }

    /// Transcribes ten seconds of silence, so that the first real window does not pay for
    /// the first call: whisper.cpp allocates its buffers and the model's pages are touched.
    /// The live transcript
    /// does this while the recording starts: its first line came 2-3 s later without it.
    pub fn warm_up(&mut self) -> Result<(), TranscribeError> {
        let silence = vec![0.0f32; 10 * 16_000];
        // What whisper makes of silence says nothing about the recording's language: base
        // "heard" three words of Welsh in it, and every live window after was decoded as Welsh.
        let detected = self.detected_language.take();
        let vote = std::mem::take(&mut self.language_vote);
        let probed = self.probed_language.take();
        let warmed = self.transcribe(&silence, 0, None, None).map(|_| ());
        self.detected_language = detected;
        self.language_vote = vote;
        self.probed_language = probed;
        warmed
    }

    /// Detect the language afresh on the next window: a new recording starts.
    pub fn forget_language(&mut self) {
        self.detected_language = None;
        self.language_vote = LanguageVote::default();
        self.probed_language = None;
    }

    /// Whether the next window's language is still to be detected: none was given, the model
    /// knows more than English, and no language is kept yet.
    pub fn wants_language(&self) -> bool {
        self.config.language.is_none() && self.multilingual && self.detected_language.is_none()
    }

    /// The language whisper hears in `samples`, decided as [`Transcriber::transcribe`] decides
    /// it for a window with no language kept yet: one encoder pass over the first
    /// `LANGUAGE_PROBE_MS` (see `size_language_probe`), then one decoder step. The live
    /// transcript runs it on the start of a long turn while the turn goes on, so that the
    /// turn's window need not (see [`Transcriber::assume_language`]).
    pub fn probe_language(&mut self, samples: &[f32]) -> Result<String, TranscribeError> {
        let threads = self.threads_now();
        size_language_probe(&mut self.state, threads)?;
        let whisper = |e: whisper_rs::WhisperError| TranscribeError::Whisper(e.to_string());
        self.state.pcm_to_mel(samples, threads).map_err(whisper)?;
        let (id, _) = self.state.lang_detect(0, threads).map_err(whisper)?;
        whisper_rs::get_lang_str(id)
            .map(str::to_owned)
            .ok_or_else(|| TranscribeError::Whisper(format!("no language has id {id}")))
    }

    /// Decode the next window (only that one) in `language` instead of detecting it there: what
    /// [`Transcriber::probe_language`] heard at the start of the same audio. The window still
    /// counts towards the language kept, as if whisper had detected it itself.
    pub fn assume_language(&mut self, language: String) {
        self.probed_language = Some(language);
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// whisper's retries at higher temperatures (see [`EngineConfig::fallbacks`]).
    pub fn set_fallbacks(&mut self, n: u32) {
        self.config.fallbacks = n;
    }

    /// Beams for the next windows (1: greedy; see [`EngineConfig::beam_size`]).
    pub fn set_beam_size(&mut self, n: usize) {
        self.config.beam_size = n.max(1);
    }

    /// Token timestamps: needed to split segments that span packed regions.
    pub fn set_word_timestamps(&mut self, on: bool) {
        self.config.word_timestamps = on;
    }

    /// Skip whisper's extra encoder pass over a window's last `ms` when it is only that short
    /// (0: whisper's own behaviour).
    pub fn set_min_tail_ms(&mut self, ms: u32) {
        self.min_tail_ms = ms;
    }

    /// Leave a tail shorter than half the window to the caller instead of the extra pass: the
    /// pipeline puts it at the front of its next window, where it costs only its own length.
    /// A longer tail means whisper lost its way early in the window, and gets whisper's pass.
    pub fn set_hand_over_tails(&mut self, on: bool) {
        self.hand_over_tails = on;
    }

    /// Whether tails are left to the caller (see `set_hand_over_tails`).
    pub fn hands_over_tails(&self) -> bool {
        self.hand_over_tails
    }

    /// Keep what whisper decodes even when it judges the window probably silent (no-speech
    /// probability over 0.6) and its words unlikely (mean log-probability under -1): whisper
    /// then drops the whole window. That test is for whisper's 30 s windows of anything; a
    /// window cut around speech that VAD heard is speech, and dropping it loses a turn.
    pub fn set_keep_unsure_speech(&mut self, on: bool) {
        self.keep_unsure_speech = on;
    }

    pub fn keeps_unsure_speech(&self) -> bool {
        self.keep_unsure_speech
    }

    /// Give whisper the words before as its own context holds them in a whole-file run: each
    /// segment (a line of `context`) between two timestamps. A plain-text prompt has none, and
    /// whisper then often decodes the next window without any either.
    pub fn set_timed_context(&mut self, on: bool) {
        self.timed_context = on;
    }

    /// Size the encoder to each window instead of always 30 s: a 10 s window then costs a
    /// third. Whisper was trained on 30 s windows; the pipeline measures the effect on WER.
    pub fn set_fit_audio_ctx(&mut self, on: bool) {
        self.fit_audio_ctx = on;
    }

    /// Transcribes one window of 16 kHz mono audio starting at `offset_ms` in the recording.
    /// `context` is the text before this window (carried over so names and style stay stable).
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        offset_ms: u64,
        context: Option<&str>,
        abort: Option<Arc<AtomicBool>>,
    ) -> Result<WindowResult, TranscribeError> {
        let strategy = match self.config.beam_size {
            0 | 1 => SamplingStrategy::Greedy { best_of: 1 },
            n => SamplingStrategy::BeamSearch {
                beam_size: n as i32,
                patience: -1.0,
            },
        };
        let threads = self.threads_now();
        let mut params = quiet_params(strategy, threads);
        // whisper.cpp tries temperatures from 0 up to 1.0 in these steps.
        params.set_temperature_inc(match self.config.fallbacks {
            0 => 0.0,
            n => 1.0 / n as f32,
        });
        if self.keep_unsure_speech {
            // whisper.cpp drops a window when no_speech_prob > this; a probability never is.
            params.set_no_speech_thold(1.0);
        }
        params.set_translate(self.config.translate);
        params.set_token_timestamps(self.config.word_timestamps);
        if self.fit_audio_ctx {
            // 1500 encoder frames = 30 s. Whisper hears the end of a fitted window worse: with a
            // margin of 1.3 s after the audio, the last seconds of a window came out garbled
            // ("650 euro netly rate or 800 afternoon thoughtiest"); 2 s measured as accurate as
            // full 30 s windows on four meetings, at a few percent of the cost.
            let frames = samples.len() / 320 + FIT_MARGIN_FRAMES;
            if frames < 1500 {
                params.set_audio_ctx(frames as i32);
            }
            // A decoder caught in a repetition loop runs to whisper's 220-token limit, is judged
            // failed, and starts again at a higher temperature, up to five times: seconds of
            // work for a short window. Fast speech is ~4 tokens a second; allow twice that.
            params.set_max_tokens((samples.len() / 16_000 * 8 + 24) as i32);
        }
        let probed = self.probed_language.take();
        let language = match (
            &self.config.language,
            self.multilingual,
            &self.detected_language,
        ) {
            (Some(l), _, _) => Some(l.as_str()),
            (None, false, _) => Some("en"),
            (None, true, Some(l)) => Some(l.as_str()),
            (None, true, None) => Some(probed.as_deref().unwrap_or("auto")),
        };
        if language == Some("auto") && self.fit_audio_ctx {
            size_language_probe(&mut self.state, threads)?;
        }
        params.set_language(language);
        let timed = match (self.timed_context, context) {
            (true, Some(c)) => Some(self.timed_prompt_tokens(c)?),
            _ => None,
        };
        let prompt = match (&self.config.initial_prompt, context) {
            _ if timed.is_some() => None,
            (Some(p), Some(c)) => Some(format!("{p} {}", tail_words(c, PROMPT_WORDS))),
            (Some(p), None) => Some(p.clone()),
            (None, Some(c)) => Some(tail_words(c, PROMPT_WORDS)),
            (None, None) => None,
        };
        if let Some(tokens) = &timed {
            params.set_tokens(tokens);
        } else if let Some(p) = &prompt {
            params.set_initial_prompt(p);
        }
        // whisper-rs 0.16's `set_abort_callback_safe` casts its boxed closure to the wrong type
        // (a crash on first call), so the flag is handed over directly.
        let flag = abort.unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        // SAFETY: the callback only reads the AtomicBool behind `user_data`; `flag` is kept alive
        // (owned by this frame) until `full` has returned, and whisper.cpp calls the callback only
        // from inside `full`.
        unsafe {
            params.set_abort_callback(Some(abort_requested));
            params.set_abort_callback_user_data(Arc::as_ptr(&flag) as *mut std::ffi::c_void);
        }
        // whisper.cpp runs another full encoder pass whenever its last timestamp stops short of
        // the end of the input by more than 1 s — for a packed window that is usually just
        // trailing padding, and doubles the cost. Allow the extra pass only when a real amount
        // of audio is left.
        let tail = TailGuard {
            len_cs: (samples.len() / 160) as i64,
            min_tail_cs: self.min_tail_ms as i64 / 10,
            hand_over: self.hand_over_tails,
            handed_over_at: AtomicI64::new(-1),
        };
        if self.min_tail_ms > 0 {
            // SAFETY: the callback only reads the state's finished segments (the API whisper.cpp
            // offers for callbacks) and reads or stores atomically through `tail`, which
            // outlives `full`.
            unsafe {
                params.set_start_encoder_callback(Some(encoder_may_start));
                params.set_start_encoder_callback_user_data(
                    &tail as *const TailGuard as *mut std::ffi::c_void,
                );
            }
        }
        let result = self.state.full(params, samples);
        if flag.load(Ordering::Relaxed) {
            return Ok(WindowResult {
                segments: Vec::new(),
                language: None,
                aborted: true,
                handed_over_from_ms: None,
            });
        }
        result.map_err(|e| TranscribeError::Whisper(e.to_string()))?;
        let language =
            whisper_rs::get_lang_str(self.state.full_lang_id_from_state()).map(str::to_owned);
        let segments = self.collect(offset_ms);
        // Keep a detection only once it rests on a few words, not on a cough.
        let words: usize = segments
            .iter()
            .filter(|s| !super::pipeline::is_non_speech(&s.text))
            .map(|s| s.text.split_whitespace().count())
            .sum();
        if self.config.language.is_none()
            && self.multilingual
            && self.detected_language.is_none()
            && let Some(heard) = &language
            && let Some(kept) =
                self.language_vote
                    .observe(heard, (samples.len() / 16) as u64, words)
        {
            tracing::debug!(
                language = kept,
                "language detected; kept for the rest of the recording"
            );
            self.detected_language = Some(kept);
        }
        let handed_over_from_ms = u64::try_from(tail.handed_over_at.load(Ordering::Relaxed))
            .ok()
            .map(|cs| offset_ms + cs * 10);
        Ok(WindowResult {
            segments,
            language,
            aborted: false,
            handed_over_from_ms,
        })
    }

    /// Prompt tokens for the words before (see `timed_prompt`).
    fn timed_prompt_tokens(&self, context: &str) -> Result<Vec<i32>, TranscribeError> {
        timed_prompt(
            self.config.initial_prompt.as_deref(),
            context,
            self.context.token_beg(),
            |text| {
                self.context
                    .tokenize(text, text.len() + 8)
                    .map_err(|e| TranscribeError::Whisper(e.to_string()))
            },
        )
    }

    fn collect(&self, offset_ms: u64) -> Vec<RawSegment> {
        let mut out = Vec::new();
        for seg in self.state.as_iter() {
            let Ok(text) = seg.to_str_lossy() else {
                continue;
            };
            let (mut probs, mut words) = (Vec::new(), Vec::new());
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                let Ok(piece) = tok.to_str_lossy() else {
                    continue;
                };
                // Special tokens ([_BEG_], <|en|>, timestamps) are not words.
                if piece.starts_with("[_") || piece.starts_with("<|") {
                    continue;
                }
                let p = tok.token_probability();
                probs.push(p);
                if self.config.word_timestamps {
                    let d = tok.token_data();
                    // t_dtw is the DTW-aligned time of the token (centiseconds), -1 without DTW.
                    let (t0, t1) = if d.t_dtw >= 0 {
                        (d.t_dtw, d.t_dtw)
                    } else {
                        (d.t0, d.t1)
                    };
                    words.push(Word {
                        start_ms: offset_ms + (t0.max(0) as u64) * 10,
                        end_ms: offset_ms + (t1.max(0) as u64) * 10,
                        text: piece.to_string(),
                        probability: p,
                    });
                }
            }
            let confidence = if probs.is_empty() {
                0.0
            } else {
                probs.iter().sum::<f32>() / probs.len() as f32
            };
            out.push(RawSegment {
                start_ms: offset_ms + (seg.start_timestamp().max(0) as u64) * 10,
                end_ms: offset_ms + (seg.end_timestamp().max(0) as u64) * 10,
                text: text.trim().to_string(),
                confidence,
                no_speech_probability: seg.no_speech_probability(),
                words,
                text_tokens: probs.len(),
            });
        }
        out
    }
}

/// Parameters that keep whisper.cpp from printing to stdout (the transcript is ours to print).
fn quiet_params<'a, 'b>(strategy: SamplingStrategy, threads: usize) -> FullParams<'a, 'b> {
    let mut params = FullParams::new(strategy);
    params.set_n_threads(threads.max(1) as i32);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    params
}

/// Words before a window given to whisper as its prompt.
const PROMPT_WORDS: usize = 100;

/// Encoder frames (20 ms each) after a fitted window's audio.
const FIT_MARGIN_FRAMES: usize = 100;

/// The start of a window that language detection listens to: enough speech to tell languages
/// apart, a fifth of whisper's 30 s.
const LANGUAGE_PROBE_MS: usize = 6_000;

/// When the language whisper detected is kept for the rest of a recording: once windows that
/// all heard it hold [`LANGUAGE_KEPT_AFTER_MS`] of audio and three words. One short window is a
/// poor sample: a call's first live window, a 2.4 s "Okay, let's get started.", came out Polish
/// (p 0.49) in one recording — kept for the whole call, every line after it Polish — and
/// English (p 0.53) in the next, while the 7.7 s region it usually opens was English at p 0.92.
/// Until then each window is detected on its own.
#[derive(Debug, Default)]
struct LanguageVote {
    language: Option<String>,
    audio_ms: u64,
    words: usize,
}

const LANGUAGE_KEPT_AFTER_MS: u64 = 5_000;

impl LanguageVote {
    /// A window heard `language` in `audio_ms` of audio, with `words` words: returns the
    /// language to keep, once there is one.
    fn observe(&mut self, language: &str, audio_ms: u64, words: usize) -> Option<String> {
        if words == 0 {
            // Silence or a cough: no evidence either way.
            return None;
        }
        if self.language.as_deref() != Some(language) {
            *self = LanguageVote {
                language: Some(language.to_owned()),
                ..LanguageVote::default()
            };
        }
        self.audio_ms += audio_ms;
        self.words += words;
        (self.audio_ms >= LANGUAGE_KEPT_AFTER_MS && self.words >= 3).then(|| language.to_owned())
    }
}

/// whisper.cpp detects a window's language by encoding its start at the encoder size of the
/// *previous* call: all 30 s on the first call, or after a full window — a whole extra encoder
/// pass (1.6 s of 18 s for meeting_a with base on 2 cores) for one token of output. A call
/// sized to `LANGUAGE_PROBE_MS` sizes the detection that follows to the window's first 6 s.
/// Its duration of 100 ms is whisper's minimum: the call sets the size, then finds nothing
/// left to encode, so it costs only a mel spectrogram (an encoded second of silence was 0.5 s).
fn size_language_probe(state: &mut WhisperState, threads: usize) -> Result<(), TranscribeError> {
    let mut params = quiet_params(SamplingStrategy::Greedy { best_of: 1 }, threads);
    params.set_language(Some("en"));
    params.set_audio_ctx((LANGUAGE_PROBE_MS / 20) as i32);
    params.set_duration_ms(100);
    state
        .full(params, &[0.0; 16_000])
        .map_err(|e| TranscribeError::Whisper(e.to_string()))?;
    Ok(())
}

/// What `encoder_may_start` needs to know about the window being transcribed.
struct TailGuard {
    /// Window length in centiseconds (whisper's time unit).
    len_cs: i64,
    /// Run another pass only if at least this much audio is left after the last segment.
    min_tail_cs: i64,
    /// Tails shorter than half the window are left to the caller.
    hand_over: bool,
    /// Where a tail left to the caller starts (centiseconds), -1 for none.
    handed_over_at: AtomicI64,
}

unsafe extern "C" fn encoder_may_start(
    _ctx: *mut whisper_rs_sys::whisper_context,
    state: *mut whisper_rs_sys::whisper_state,
    user_data: *mut std::ffi::c_void,
) -> bool {
    use whisper_rs_sys::{
        whisper_full_get_segment_t1_from_state, whisper_full_n_segments_from_state,
    };
    // SAFETY: `user_data` points at the TailGuard set up in `transcribe`; `state` is the live
    // state whisper.cpp is running, whose finished segments may be read.
    unsafe {
        let guard = &*(user_data as *const TailGuard);
        let n = whisper_full_n_segments_from_state(state);
        if n == 0 {
            return true; // the first pass
        }
        let last_end = whisper_full_get_segment_t1_from_state(state, n - 1);
        let tail = guard.len_cs - last_end;
        let hand_over = guard.hand_over && tail >= guard.min_tail_cs && 2 * tail < guard.len_cs;
        if hand_over {
            guard.handed_over_at.store(last_end, Ordering::Relaxed);
        }
        let again = tail >= guard.min_tail_cs && !hand_over;
        tracing::debug!(
            len_cs = guard.len_cs,
            last_end,
            again,
            hand_over,
            "whisper wants another pass over the window's tail"
        );
        again
    }
}

unsafe extern "C" fn abort_requested(user_data: *mut std::ffi::c_void) -> bool {
    // SAFETY: set up in `transcribe` to point at a live AtomicBool.
    unsafe { (*(user_data as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// The words before a window as whisper's own context holds them in a whole-file run: the
/// user's prompt as text, then the last segments (lines of `context`) up to `PROMPT_WORDS`
/// words, each as `<|t0|> text <|t1|>`. Given the same words as plain text, with no
/// timestamps, base decoded three of the next seven windows of a dense meeting without any
/// either: 28 s as one segment, which no tail can be cut from and no line of the transcript
/// should be. The times are estimated from the words (whisper only needs to see that segments
/// have them) and start again at 0 past 30 s, as they do at each of whisper's windows.
fn timed_prompt<E>(
    initial: Option<&str>,
    context: &str,
    first_timestamp: i32,
    tokenize: impl Fn(&str) -> Result<Vec<i32>, E>,
) -> Result<Vec<i32>, E> {
    const MS_PER_WORD: u64 = 400;
    let mut segments: Vec<&str> = Vec::new();
    let mut words = 0;
    for line in context
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        segments.push(line);
        words += line.split_whitespace().count();
        if words >= PROMPT_WORDS {
            break;
        }
    }
    segments.reverse();
    let mut tokens = match initial.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => tokenize(&format!(" {p}"))?,
        None => Vec::new(),
    };
    let timestamp = |ms: u64| first_timestamp + (ms / 20) as i32;
    let mut at_ms: u64 = 0;
    for (i, line) in segments.iter().enumerate() {
        let text = match words.checked_sub(PROMPT_WORDS) {
            Some(over) if i == 0 && over > 0 => {
                tail_words(line, line.split_whitespace().count() - over)
            }
            _ => line.to_string(),
        };
        let len_ms = (text.split_whitespace().count() as u64 * MS_PER_WORD).clamp(1_000, 30_000);
        if at_ms + len_ms > 30_000 {
            at_ms = 0;
        }
        tokens.push(timestamp(at_ms));
        tokens.extend(tokenize(&format!(" {text}"))?);
        at_ms += len_ms;
        tokens.push(timestamp(at_ms));
    }
    Ok(tokens)
}

/// The last `n` words of `text`, for carrying context into the next window.
pub(crate) fn tail_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words[words.len().saturating_sub(n)..].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEG: i32 = 50_000;

    #[test]
    fn a_language_is_kept_once_enough_speech_agrees_on_it() {
        // Windows as (language heard, audio ms, words), and the language kept after the last.
        type Window = (&'static str, u64, usize);
        let cases: &[(&[Window], Option<&str>)] = &[
            // A call's opening line alone is not enough, the turn it usually opens is.
            (&[("pl", 2_430, 4)], None),
            (&[("en", 7_715, 20)], Some("en")),
            // The short window heard wrong does not count towards the next one's language.
            (&[("pl", 2_430, 4), ("en", 2_740, 8)], None),
            (
                &[("pl", 2_430, 4), ("en", 2_740, 8), ("en", 3_000, 6)],
                Some("en"),
            ),
            // Short turns that agree add up.
            (
                &[("fr", 2_000, 2), ("fr", 2_000, 2), ("fr", 1_000, 1)],
                Some("fr"),
            ),
            // Long but nearly wordless (a held note, a cough in a long region) is not enough.
            (&[("cy", 10_000, 2)], None),
            // Windows without words say nothing, and do not break a run.
            (
                &[("de", 3_000, 5), ("ja", 4_000, 0), ("de", 2_000, 3)],
                Some("de"),
            ),
            (&[], None),
        ];
        for (windows, want) in cases {
            let mut vote = LanguageVote::default();
            let mut kept = None;
            for &(language, ms, words) in *windows {
                kept = vote.observe(language, ms, words);
            }
            assert_eq!(kept.as_deref(), *want, "{windows:?}");
        }
    }

    /// A stand-in tokenizer: one token per word, numbered by its length.
    fn words(text: &str) -> Result<Vec<i32>, ()> {
        Ok(text.split_whitespace().map(|w| w.len() as i32).collect())
    }

    fn is_time(t: i32) -> bool {
        t >= BEG
    }

    #[test]
    fn the_words_before_go_to_whisper_segment_by_segment_between_timestamps() {
        let tokens = timed_prompt(
            Some("Atlas, Maria"),
            "Good morning all.\nLet's start with the budget.",
            BEG,
            words,
        )
        .unwrap();
        // The user's prompt first, as text; then each segment between two times.
        assert_eq!(&tokens[..2], &[6, 5]);
        let rest = &tokens[2..];
        assert_eq!(rest.len(), 2 + 3 + 2 + 5);
        assert!(is_time(rest[0]) && is_time(rest[4]) && is_time(rest[5]) && is_time(rest[11]));
        assert!(rest[1..4].iter().chain(&rest[6..11]).all(|t| !is_time(*t)));
        // Times grow with the words and the next segment starts where one ended.
        assert_eq!(rest[0], BEG);
        assert!(rest[4] > rest[0] && rest[5] == rest[4] && rest[11] > rest[5]);
    }

    #[test]
    fn only_the_last_hundred_words_are_kept_and_times_stay_within_a_window() {
        let line = |n: usize| vec!["word"; n].join(" ");
        let context = [line(70), line(50), line(40), line(30)].join("\n");
        let tokens = timed_prompt(None, &context, BEG, words).unwrap();
        let text = tokens.iter().filter(|t| !is_time(**t)).count();
        assert_eq!(text, 100, "the oldest segment is cut to what fits");
        assert_eq!(tokens.iter().filter(|t| is_time(**t)).count(), 6);
        // Whisper's timestamps end at 30 s (1500 steps of 20 ms); longer runs start again.
        assert!(tokens.iter().all(|t| *t <= BEG + 1500));
        assert!(timed_prompt(None, "", BEG, words).unwrap().is_empty());
    }
}
