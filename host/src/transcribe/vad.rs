//! Voice activity detection: find the stretches of a recording worth giving to whisper.
//!
//! Whisper costs the same for a second of silence as for a second of speech, and on silence or
//! steady noise it tends to invent text. So the pipeline transcribes only the regions found here.
//!
//! The detector is deliberately model-free (it must build and run offline, with no runtime):
//!
//! * 30 ms frames every 10 ms, on a 100 Hz high-passed signal (rumble and mains hum carry energy
//!   but no speech).
//! * Log energy against an adaptive noise floor: the minimum frame energy over a sliding window
//!   (minimum statistics), never below `abs_floor_db`. The window reaches `lookahead_ms` into the
//!   future, which costs that much latency but lets a recording that starts mid-sentence learn
//!   its floor from the first pause instead of from the speech itself.
//! * A region may only *start* on a frame that is loud enough and not spectrally flat (flatness
//!   of 16 bands between 150 Hz and 4 kHz from a 512-point FFT): speech is sloped and peaky
//!   (formants, harmonics), hiss and broadband bursts are flat. Once open, a lower threshold
//!   keeps it open (hysteresis); it closes after `min_silence_ms` below that (the hangover).
//! * Regions with less than `min_speech_ms` of speech are clicks and are dropped; the rest are
//!   padded, merged when the gap between them is small, and cut before `max_region_ms` at the
//!   quietest frame of the last `split_search_ms`.
//!
//! Everything runs in [`StreamingVad`]; [`detect`] just feeds it one buffer, so batch and live
//! transcription see exactly the same regions.

use std::collections::VecDeque;

/// Tuning of the detector. Times are in milliseconds, levels in dB.
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Analysis window (default 30 ms): long enough to hold two pitch periods of a low voice.
    pub frame_ms: u32,
    /// Step between frames (default 10 ms): the time resolution of region edges.
    pub hop_ms: u32,
    /// Audio kept before the first speech frame (default 200 ms): soft onsets, leading fricatives.
    pub pre_pad_ms: u32,
    /// Audio kept after the last speech frame (default 300 ms): decaying word endings.
    pub post_pad_ms: u32,
    /// Speech (frames above the stop threshold) a region needs to be kept (default 80 ms): clicks
    /// and knocks light up 30–50 ms of frames, a short "mm" or "yes" about 100 ms.
    pub min_speech_ms: u32,
    /// Silence that ends a region (default 300 ms); shorter pauses stay inside it (hangover).
    pub min_silence_ms: u32,
    /// Padded regions closer than this are merged (default 0). The file pipeline packs regions
    /// into one window with a short gap, so a split costs whisper no context, and every pause cut
    /// out is encoder time saved. Tighter padding (150/200 ms) saved more on the synthetic
    /// meetings but cut real speech: recall on an AMI excerpt fell from 96.6 % to 92.8 %.
    pub merge_gap_ms: u32,
    /// Longest region (default 28 s): whisper decodes 30 s windows.
    pub max_region_ms: u32,
    /// How far back from `max_region_ms` to look for the quietest cut point (default 4 s).
    pub split_search_ms: u32,
    /// Level above the noise floor that opens a region (default 10 dB).
    pub start_db: f32,
    /// Level above the noise floor that keeps a region open (default 6 dB).
    pub stop_db: f32,
    /// The noise floor is never assumed below this (default -70 dBFS), so digital silence does not
    /// make faint dither or fade-outs count as speech.
    pub abs_floor_db: f32,
    /// Window of the minimum-statistics noise floor (default 4 s): longer than a sentence without
    /// a pause, short enough to follow a fan switching on.
    pub noise_window_ms: u32,
    /// Future audio the noise floor may look at (default 500 ms); adds that much latency.
    pub lookahead_ms: u32,
    /// Frames flatter than this cannot open a region (default 0.6). White noise reads 0.8–0.94;
    /// speech frames louder than -60 dBFS in the corpus have a median of 0.01–0.05 and reach 0.7
    /// only on fricatives, which the pre-padding and the stop threshold cover anyway.
    pub max_flatness: f32,
    /// High-pass corner applied before measuring energy (default 100 Hz; 0 disables it).
    pub highpass_hz: f32,
}

impl VadConfig {
    /// For the live transcript: regions of at most 10 s, so a long turn is printed in pieces a
    /// few seconds after they are spoken instead of after the whole turn.
    ///
    /// Why 10 s and not less: a piece cut off a turn is final only once the turn passes the
    /// limit, up to `split_search_ms` after the cut, and then waits for whisper; a whole region
    /// is final 0.65 s after its speech. With one core busy, whisper (base, one thread) takes
    /// about 0.17 s per second of a fitted window, so a whole 10 s region is printed within
    /// 2.7 s of its end, while turns cut at 8 s gave the longest lags of a call (3.0-3.2 s).
    /// As calls with base and a busy core (meeting_a, and meeting_d which was not used to
    /// choose): lag p95 2.4-2.9 s against 2.9-3.1 s with 8 s regions, and fewer words lost at
    /// cuts.
    pub fn live() -> VadConfig {
        // A region is final `lookahead_ms` + max(min_silence, post_pad + merge_gap + pre_pad)
        // after its last speech: 1 s by default, 0.65 s here. Live regions are transcribed
        // one by one, so merging close ones gains nothing; the noise floor still has four
        // seconds of the past to go by.
        VadConfig {
            max_region_ms: 10_000,
            split_search_ms: 1_500,
            lookahead_ms: 150,
            ..VadConfig::default()
        }
    }
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            frame_ms: 30,
            hop_ms: 10,
            pre_pad_ms: 200,
            post_pad_ms: 300,
            min_speech_ms: 80,
            min_silence_ms: 300,
            merge_gap_ms: 0,
            max_region_ms: 28_000,
            split_search_ms: 4_000,
            start_db: 10.0,
            stop_db: 6.0,
            abs_floor_db: -70.0,
            noise_window_ms: 4_000,
            lookahead_ms: 500,
            max_flatness: 0.6,
            highpass_hz: 100.0,
        }
    }
}

/// A stretch of audio to transcribe: padded, clamped to the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SpeechRegion {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Whole-buffer detection (the same as streaming the buffer through [`StreamingVad`]).
pub fn detect(samples: &[f32], sample_rate: u32, config: &VadConfig) -> Vec<SpeechRegion> {
    let mut vad = StreamingVad::new(sample_rate, config.clone());
    let mut regions = vad.push(samples);
    regions.extend(vad.finish());
    if sample_rate > 0 {
        let total_ms = samples.len() as u64 * 1000 / u64::from(sample_rate);
        tracing::debug!(
            regions = regions.len(),
            total_ms,
            coverage = coverage(&regions, total_ms),
            "vad"
        );
    }
    regions
}

/// Fraction of `total_ms` covered by regions (for "how much audio did VAD save" figures).
pub fn coverage(regions: &[SpeechRegion], total_ms: u64) -> f64 {
    if total_ms == 0 {
        return 0.0;
    }
    let mut sorted: Vec<SpeechRegion> = regions.to_vec();
    sorted.sort_by_key(|r| r.start_ms);
    let mut covered = 0u64;
    let mut reach = 0u64; // end of what has been counted, so overlaps count once
    for r in sorted {
        let start = r.start_ms.max(reach).min(total_ms);
        let end = r.end_ms.min(total_ms);
        if end > start {
            covered += end - start;
        }
        reach = reach.max(end);
    }
    covered as f64 / total_ms as f64
}

/// Streaming detection: feed blocks of any size, get regions as soon as they are final.
///
/// A region is reported once nothing later can extend or merge into it: `lookahead_ms` +
/// max(`min_silence_ms`, `post_pad_ms + merge_gap_ms + pre_pad_ms`) after its last speech frame
/// (1 s with the defaults). A region cut at `max_region_ms` is reported once the speech is
/// known to go past the limit, so a caller never needs to hold more than about
/// `max_region_ms` + 2 s of audio behind the stream position.
pub struct StreamingVad {
    analyzer: Analyzer,
    floor: MinTracker,
    /// Frames analysed but not yet classified, waiting for the floor to see `lookahead` ahead.
    pending: VecDeque<Frame>,
    lookahead: usize,
    history: EnergyHistory,
    /// Which classified frames kept a segment open (speech), as far back as `history` reaches.
    speech: FrameHistory<bool>,
    segmenter: Segmenter,
    assembler: Assembler,
    thresholds: Thresholds,
    sample_rate: u32,
    samples_seen: u64,
    /// Regions made final during the current call, in samples.
    out: Vec<SampleRegion>,
    config: VadConfig,
}

/// Buffers sized from the configuration are preallocated up to this many entries; beyond it
/// (only absurd settings get there) they grow on demand instead of reserving gigabytes.
const PREALLOCATE_MAX: usize = 1 << 16;

/// Frames of energy a split may still look at: the search window ending at the limit lies
/// behind the newest frame by at most the delays before a region's end is known (lookahead,
/// padding, merging, and an unconfirmed segment that holds emission for up to one hangover per
/// speech frame it still needs). Frames older than this are treated as unavailable.
fn history_len(config: &VadConfig, geo: Geometry) -> usize {
    let search = geo.frames(config.split_search_ms.min(config.max_region_ms));
    let unconfirmed = geo.frames(config.min_silence_ms) * (geo.frames(config.min_speech_ms) + 1);
    let delays = [
        config.lookahead_ms,
        config.pre_pad_ms,
        config.post_pad_ms,
        config.merge_gap_ms,
    ];
    let delay: usize = delays.iter().map(|&ms| geo.frames(ms)).sum();
    (search + unconfirmed + delay + 8).min(PREALLOCATE_MAX)
}

impl StreamingVad {
    pub fn new(sample_rate: u32, config: VadConfig) -> StreamingVad {
        let geo = Geometry::new(sample_rate, &config);
        let lookahead = geo.frames(config.lookahead_ms);
        StreamingVad {
            analyzer: Analyzer::new(sample_rate, &config, geo),
            floor: MinTracker::new(geo.frames(config.noise_window_ms).max(1)),
            pending: VecDeque::with_capacity((lookahead + 1).min(PREALLOCATE_MAX)),
            lookahead,
            history: EnergyHistory::new(history_len(&config, geo)),
            speech: FrameHistory::new(history_len(&config, geo)),
            segmenter: Segmenter::new(&config, geo),
            assembler: Assembler::new(&config, geo),
            thresholds: Thresholds::new(&config),
            sample_rate,
            samples_seen: 0,
            out: Vec::with_capacity(8),
            config,
        }
    }

    /// Feeds the next block; returns the regions that became final.
    pub fn push(&mut self, samples: &[f32]) -> Vec<SpeechRegion> {
        if self.sample_rate == 0 {
            return Vec::new();
        }
        for &x in samples {
            self.samples_seen += 1;
            if let Some(frame) = self.analyzer.push_sample(x) {
                self.on_frame(frame);
            }
        }
        self.take_regions()
    }

    /// Ends the stream: classifies what is still pending and reports the last regions. The
    /// detector is then reset, ready for a new stream.
    pub fn finish(&mut self) -> Vec<SpeechRegion> {
        if self.sample_rate == 0 {
            return Vec::new();
        }
        while let Some(frame) = self.pending.pop_front() {
            self.classify(frame);
        }
        let newest = self.analyzer.frames_done();
        if let Some(ext) = self.segmenter.finish() {
            self.assembler
                .extend(ext, &self.history, newest, &mut self.out);
        }
        self.assembler.flush(&mut self.out);
        let regions = self.take_regions();
        *self = StreamingVad::new(self.sample_rate, self.config.clone());
        regions
    }

    fn on_frame(&mut self, frame: Frame) {
        self.history.store(frame.index, frame.energy_db);
        self.floor.push(frame.index, frame.energy_db);
        self.pending.push_back(frame);
        if self.pending.len() > self.lookahead
            && let Some(oldest) = self.pending.pop_front()
        {
            self.classify(oldest);
        }
    }

    fn classify(&mut self, frame: Frame) {
        let floor = self.floor.min().max(self.thresholds.abs_floor_db);
        let level = frame.energy_db - floor;
        let starts =
            level >= self.thresholds.start_db && frame.flatness <= self.thresholds.max_flatness;
        let continues = starts || level >= self.thresholds.stop_db;
        self.speech.store(frame.index, continues);
        let newest = self.analyzer.frames_done();
        if let Some(ext) = self.segmenter.step(frame.index, starts, continues) {
            self.assembler
                .extend(ext, &self.history, newest, &mut self.out);
        }
        let next_start = self.segmenter.earliest_next_start(frame.index);
        self.assembler.emit_if_final(next_start, &mut self.out);
    }

    /// The region being built and not yet final: from its (padded) start to the last speech
    /// heard so far. After a region was cut at `max_region_ms`, this is the rest of it, starting
    /// exactly where the cut piece ended.
    pub fn open_region(&self) -> Option<SpeechRegion> {
        let current = self.assembler.current?;
        region_ms(current, self.samples_seen, u64::from(self.sample_rate))
    }

    /// Where the last speech before `ms` ended, in ms: a region's end less its padding, or for a
    /// piece cut off a turn that goes on, the last word before the cut (the cut falls in the
    /// quietest frame, often a short pause). Looks back as far as a cut can lie behind the
    /// newest frame; `None` if no speech is remembered there.
    pub fn speech_end_before(&self, ms: u64) -> Option<u64> {
        let sr = u64::from(self.sample_rate);
        let geo = self.analyzer.geo;
        let at = ms * sr / 1000;
        let hop = geo.hop as u64;
        // Frames waiting for the look-ahead are not classified yet.
        let classified = self.analyzer.frames_done() - self.pending.len() as u64;
        // The newest frame whose span starts before `at`.
        let mut frame =
            (at.saturating_sub(geo.span_start(0) + 1) / hop).min(classified.checked_sub(1)?);
        loop {
            if self.speech.get(frame, classified)? {
                return Some(geo.span_end(frame).min(at) * 1000 / sr);
            }
            frame = frame.checked_sub(1)?;
        }
    }

    /// Regions are kept in samples until here, so rounding happens once; clamping to what has
    /// been seen only bites at the end of the stream, where the post-padding overhangs.
    fn take_regions(&mut self) -> Vec<SpeechRegion> {
        if self.out.is_empty() {
            return Vec::new();
        }
        let sr = u64::from(self.sample_rate);
        let total = self.samples_seen;
        let regions = self
            .out
            .iter()
            .filter_map(|r| region_ms(*r, total, sr))
            .collect();
        self.out.clear();
        regions
    }
}

fn region_ms(r: SampleRegion, total: u64, sample_rate: u64) -> Option<SpeechRegion> {
    // Round outwards (a region must not lose the edge of a word to rounding), but never past the
    // duration as integer milliseconds, which is how callers will compute it.
    let total_ms = total * 1000 / sample_rate;
    let end_ms = (r.end.min(total) * 1000)
        .div_ceil(sample_rate)
        .min(total_ms);
    let start_ms = (r.start * 1000 / sample_rate).min(end_ms);
    (end_ms > start_ms).then_some(SpeechRegion { start_ms, end_ms })
}

/// Sample counts derived from the configuration.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    sample_rate: u32,
    frame_len: usize,
    hop: usize,
}

impl Geometry {
    fn new(sample_rate: u32, config: &VadConfig) -> Geometry {
        // At most a second: longer frames would smear speech and silence into one.
        let longest = (sample_rate as usize).max(16);
        let frame_len = (ms_to_samples(config.frame_ms, sample_rate) as usize).clamp(16, longest);
        let hop = (ms_to_samples(config.hop_ms, sample_rate) as usize).clamp(1, frame_len);
        Geometry {
            sample_rate,
            frame_len,
            hop,
        }
    }

    fn samples(&self, ms: u32) -> u64 {
        ms_to_samples(ms, self.sample_rate)
    }

    /// Whole frames covering `ms` (rounded up).
    fn frames(&self, ms: u32) -> usize {
        (self.samples(ms) as usize).div_ceil(self.hop)
    }

    /// A frame stands for its central hop: its edges would otherwise claim up to a frame of
    /// silence on each side of every sound.
    fn span_start(&self, frame: u64) -> u64 {
        frame * self.hop as u64 + ((self.frame_len - self.hop) / 2) as u64
    }

    fn span_end(&self, frame: u64) -> u64 {
        self.span_start(frame) + self.hop as u64
    }

    fn center(&self, frame: u64) -> u64 {
        frame * self.hop as u64 + (self.frame_len / 2) as u64
    }
}

fn ms_to_samples(ms: u32, sample_rate: u32) -> u64 {
    u64::from(ms) * u64::from(sample_rate) / 1000
}

#[derive(Debug, Clone, Copy)]
struct Thresholds {
    start_db: f32,
    stop_db: f32,
    abs_floor_db: f32,
    max_flatness: f32,
}

impl Thresholds {
    fn new(config: &VadConfig) -> Thresholds {
        Thresholds {
            start_db: config.start_db,
            // Hysteresis only makes sense downwards.
            stop_db: config.stop_db.min(config.start_db),
            abs_floor_db: config.abs_floor_db,
            max_flatness: config.max_flatness,
        }
    }
}

/// Features of one analysed frame.
#[derive(Debug, Clone, Copy)]
struct Frame {
    index: u64,
    energy_db: f32,
    flatness: f32,
}

/// Lowest energy before a frame counts as silent (far below 16-bit quantisation noise).
const SILENCE_DB: f32 = -120.0;
/// Flatness is measured over this band: the first formants and the harmonics of voiced speech,
/// above what the high-pass removed.
const FLAT_LOW_HZ: f64 = 150.0;
const FLAT_HIGH_HZ: f64 = 4000.0;
/// Bands the flatness band is cut into. Each band sums several FFT bins, so white noise reads as
/// flat (≈0.9) every frame, not only on average: single bins scatter too much to gate on.
const FLAT_BANDS: usize = 16;

/// Turns samples into frames: high-pass, ring buffer, energy and flatness every hop.
struct Analyzer {
    geo: Geometry,
    hpf: Biquad,
    ring: Vec<f32>,
    ring_pos: usize,
    filled: usize,
    since_frame: usize,
    frames_done: u64,
    window: Vec<f32>,
    fft: Fft,
    /// FFT bin ranges of the flatness bands.
    bands: Vec<(usize, usize)>,
    band_power: Vec<f32>,
}

impl Analyzer {
    fn new(sample_rate: u32, config: &VadConfig, geo: Geometry) -> Analyzer {
        let n = geo.frame_len;
        let window = (0..n)
            .map(|i| {
                let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let fft = Fft::new(n.next_power_of_two());
        let bands = flatness_bands(sample_rate, fft.len());
        Analyzer {
            geo,
            hpf: Biquad::highpass(config.highpass_hz, sample_rate),
            ring: vec![0.0; n],
            ring_pos: 0,
            filled: 0,
            since_frame: 0,
            frames_done: 0,
            window,
            fft,
            band_power: vec![0.0; bands.len()],
            bands,
        }
    }

    fn frames_done(&self) -> u64 {
        self.frames_done
    }

    fn push_sample(&mut self, x: f32) -> Option<Frame> {
        let y = self.hpf.process(x);
        self.ring[self.ring_pos] = y;
        self.ring_pos = (self.ring_pos + 1) % self.ring.len();
        if self.filled < self.ring.len() {
            self.filled += 1;
            if self.filled < self.ring.len() {
                return None;
            }
        } else {
            self.since_frame += 1;
            if self.since_frame < self.geo.hop {
                return None;
            }
        }
        self.since_frame = 0;
        let frame = self.analyse();
        self.frames_done += 1;
        Some(frame)
    }

    fn analyse(&mut self) -> Frame {
        // Oldest sample first: the ring position is where the next sample would go.
        let n = self.ring.len();
        let mut energy = 0.0f64;
        self.fft.clear();
        for i in 0..n {
            let v = self.ring[(self.ring_pos + i) % n];
            energy += f64::from(v) * f64::from(v);
            self.fft.re[i] = v * self.window[i];
        }
        let mean = energy / n as f64;
        let energy_db = if mean > 0.0 {
            (10.0 * mean.log10()) as f32
        } else {
            SILENCE_DB
        };
        Frame {
            index: self.frames_done,
            energy_db: energy_db.max(SILENCE_DB),
            flatness: self.flatness(),
        }
    }

    /// Geometric over arithmetic mean of the band powers: 1 for a flat spectrum, near 0 for a
    /// sloped or peaky one (formants, harmonics).
    fn flatness(&mut self) -> f32 {
        self.fft.run();
        for (power, &(lo, hi)) in self.band_power.iter_mut().zip(&self.bands) {
            *power = (lo..hi)
                .map(|k| self.fft.re[k] * self.fft.re[k] + self.fft.im[k] * self.fft.im[k])
                .sum();
        }
        let count = self.band_power.len() as f32;
        let mean = self.band_power.iter().sum::<f32>() / count;
        if mean.is_nan() || mean <= 1e-20 {
            return 1.0;
        }
        let log_mean = self
            .band_power
            .iter()
            .map(|p| p.max(mean * 1e-9).ln())
            .sum::<f32>()
            / count;
        (log_mean.exp() / mean).min(1.0)
    }
}

/// Equal-width bands of FFT bins between `FLAT_LOW_HZ` and `FLAT_HIGH_HZ` (or near Nyquist).
fn flatness_bands(sample_rate: u32, fft_len: usize) -> Vec<(usize, usize)> {
    if sample_rate == 0 {
        return Vec::new();
    }
    let hz_per_bin = f64::from(sample_rate) / fft_len as f64;
    let high = FLAT_HIGH_HZ.min(f64::from(sample_rate) * 0.45);
    let first = (FLAT_LOW_HZ / hz_per_bin).round() as usize;
    let last = ((high / hz_per_bin).round() as usize).max(first + FLAT_BANDS);
    let width = ((last - first) / FLAT_BANDS).max(1);
    (0..FLAT_BANDS)
        .map(|b| (first + b * width, first + (b + 1) * width))
        .filter(|&(_, hi)| hi <= fft_len / 2)
        .collect()
}

/// In-place radix-2 FFT over preallocated buffers (no FFT crate here; 512 points per frame is
/// cheap enough to do by hand).
struct Fft {
    re: Vec<f32>,
    im: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    bit_reverse: Vec<usize>,
}

impl Fft {
    fn new(len: usize) -> Fft {
        let len = len.max(2);
        let bits = len.trailing_zeros();
        let twiddle = |k: usize| -2.0 * std::f64::consts::PI * k as f64 / len as f64;
        Fft {
            re: vec![0.0; len],
            im: vec![0.0; len],
            cos: (0..len / 2).map(|k| twiddle(k).cos() as f32).collect(),
            sin: (0..len / 2).map(|k| twiddle(k).sin() as f32).collect(),
            bit_reverse: (0..len)
                .map(|i| i.reverse_bits() >> (usize::BITS - bits))
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.re.len()
    }

    fn clear(&mut self) {
        self.re.fill(0.0);
        self.im.fill(0.0);
    }

    fn run(&mut self) {
        let n = self.len();
        for i in 0..n {
            let j = self.bit_reverse[i];
            if j > i {
                self.re.swap(i, j);
                self.im.swap(i, j);
            }
        }
        let mut size = 2;
        while size <= n {
            self.butterflies(size);
            size *= 2;
        }
    }

    fn butterflies(&mut self, size: usize) {
        let half = size / 2;
        let step = self.len() / size;
        for start in (0..self.len()).step_by(size) {
            for k in 0..half {
                let (wr, wi) = (self.cos[k * step], self.sin[k * step]);
                let (a, b) = (start + k, start + k + half);
                let tr = self.re[b] * wr - self.im[b] * wi;
                let ti = self.re[b] * wi + self.im[b] * wr;
                self.re[b] = self.re[a] - tr;
                self.im[b] = self.im[a] - ti;
                self.re[a] += tr;
                self.im[a] += ti;
            }
        }
    }
}

/// Second-order high-pass (RBJ cookbook, Butterworth Q).
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn highpass(corner_hz: f32, sample_rate: u32) -> Biquad {
        let nyquist = f64::from(sample_rate) / 2.0;
        let f = f64::from(corner_hz);
        if f.is_nan() || f <= 0.0 || f >= nyquist {
            return Biquad {
                b: [1.0, 0.0, 0.0],
                a: [0.0, 0.0],
                x: [0.0; 2],
                y: [0.0; 2],
            };
        }
        let w0 = 2.0 * std::f64::consts::PI * f / f64::from(sample_rate);
        let alpha = w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        Biquad {
            b: [
                (1.0 + cos) / 2.0 / a0,
                -(1.0 + cos) / a0,
                (1.0 + cos) / 2.0 / a0,
            ],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn process(&mut self, input: f32) -> f32 {
        let x0 = f64::from(input);
        let mut y0 = self.b[0] * x0 + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        // The tail decaying into digital silence would otherwise become denormals (slow).
        if y0.abs() < 1e-25 {
            y0 = 0.0;
        }
        self.x = [x0, self.x[0]];
        self.y = [y0, self.y[0]];
        y0 as f32
    }
}

/// Sliding-window minimum of frame energies (monotonic deque: O(1) amortised, bounded memory).
struct MinTracker {
    window: u64,
    deque: VecDeque<(u64, f32)>,
}

impl MinTracker {
    fn new(window: usize) -> MinTracker {
        MinTracker {
            window: window as u64,
            deque: VecDeque::with_capacity((window + 1).min(PREALLOCATE_MAX)),
        }
    }

    fn push(&mut self, index: u64, value: f32) {
        while self.deque.back().is_some_and(|&(_, v)| v >= value) {
            self.deque.pop_back();
        }
        self.deque.push_back((index, value));
        while self
            .deque
            .front()
            .is_some_and(|&(i, _)| i + self.window <= index)
        {
            self.deque.pop_front();
        }
    }

    fn min(&self) -> f32 {
        self.deque.front().map_or(SILENCE_DB, |&(_, v)| v)
    }
}

/// Energies of the recent frames, for choosing where to split a long region.
struct FrameHistory<T> {
    values: Vec<T>,
}

/// Frame energies, for the quietest cut point.
type EnergyHistory = FrameHistory<f32>;

impl<T: Copy + Default> FrameHistory<T> {
    fn new(len: usize) -> FrameHistory<T> {
        FrameHistory {
            values: vec![T::default(); len.max(1)],
        }
    }

    fn store(&mut self, frame: u64, value: T) {
        let len = self.values.len() as u64;
        self.values[(frame % len) as usize] = value;
    }

    /// `None` when the frame is not stored yet (`newest` frames are) or already overwritten.
    fn get(&self, frame: u64, newest: u64) -> Option<T> {
        let len = self.values.len() as u64;
        (frame < newest && frame + len >= newest).then(|| self.values[(frame % len) as usize])
    }
}

/// A stretch of samples known to belong to a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SampleRegion {
    start: u64,
    end: u64,
}

/// Frames → raw speech segments, with hysteresis, hangover and the minimum speech test.
struct Segmenter {
    geo: Geometry,
    pre_pad: u64,
    post_pad: u64,
    hangover_frames: u64,
    min_active_frames: u32,
    open: Option<OpenSegment>,
}

#[derive(Debug, Clone, Copy)]
struct OpenSegment {
    onset: u64,
    last_active: u64,
    active: u32,
}

impl Segmenter {
    fn new(config: &VadConfig, geo: Geometry) -> Segmenter {
        Segmenter {
            geo,
            pre_pad: geo.samples(config.pre_pad_ms),
            post_pad: geo.samples(config.post_pad_ms),
            hangover_frames: geo.frames(config.min_silence_ms).max(1) as u64,
            min_active_frames: geo.frames(config.min_speech_ms).max(1) as u32,
            open: None,
        }
    }

    /// Advances by one classified frame. Returns the part of a confirmed segment known so far:
    /// while it is open its end is the last speech frame, when it closes the post-padded end.
    fn step(&mut self, frame: u64, starts: bool, continues: bool) -> Option<Extent> {
        let Some(mut seg) = self.open else {
            if starts {
                self.open = Some(OpenSegment {
                    onset: frame,
                    last_active: frame,
                    active: 1,
                });
                return self.confirmed_extent(frame);
            }
            return None;
        };
        if continues {
            seg.last_active = frame;
            seg.active += 1;
            self.open = Some(seg);
            return self.confirmed_extent(frame);
        }
        if frame - seg.last_active < self.hangover_frames {
            return None;
        }
        self.close()
    }

    fn finish(&mut self) -> Option<Extent> {
        self.close()
    }

    fn close(&mut self) -> Option<Extent> {
        let seg = self.open.take()?;
        (seg.active >= self.min_active_frames).then(|| Extent {
            region: SampleRegion {
                start: self.padded_start(seg.onset),
                end: self.geo.span_end(seg.last_active) + self.post_pad,
            },
            end_pad: self.post_pad,
        })
    }

    fn confirmed_extent(&self, frame: u64) -> Option<Extent> {
        let seg = self.open?;
        (seg.active >= self.min_active_frames).then(|| Extent {
            region: SampleRegion {
                start: self.padded_start(seg.onset),
                end: self.geo.span_end(frame),
            },
            end_pad: 0,
        })
    }

    fn padded_start(&self, onset: u64) -> u64 {
        self.geo.span_start(onset).saturating_sub(self.pre_pad)
    }

    /// The earliest sample a region found after `frame` could start at (an open, unconfirmed
    /// segment may still become one).
    fn earliest_next_start(&self, frame: u64) -> u64 {
        let onset = self.open.map_or(frame + 1, |seg| seg.onset);
        self.padded_start(onset)
    }
}

/// A segment as far as it is known, and how much of its end is padding after the last speech.
#[derive(Debug, Clone, Copy)]
struct Extent {
    region: SampleRegion,
    end_pad: u64,
}

/// Raw segments → padded, merged regions no longer than the maximum.
struct Assembler {
    geo: Geometry,
    merge_gap: u64,
    max_len: u64,
    search: u64,
    current: Option<SampleRegion>,
    /// Padding at the end of `current` (after its last speech).
    current_pad: u64,
}

impl Assembler {
    fn new(config: &VadConfig, geo: Geometry) -> Assembler {
        let max_len = geo.samples(config.max_region_ms).max(geo.hop as u64 * 2);
        Assembler {
            geo,
            merge_gap: geo.samples(config.merge_gap_ms),
            max_len,
            search: geo.samples(config.split_search_ms).min(max_len),
            current: None,
            current_pad: 0,
        }
    }

    fn extend(
        &mut self,
        ext: Extent,
        history: &EnergyHistory,
        newest: u64,
        out: &mut Vec<SampleRegion>,
    ) {
        let Extent {
            region: ext,
            end_pad,
        } = ext;
        match self.current {
            Some(mut cur) if ext.start <= cur.end + self.merge_gap => {
                if ext.end >= cur.end {
                    self.current_pad = end_pad;
                }
                cur.end = cur.end.max(ext.end);
                self.current = Some(cur);
            }
            Some(cur) => {
                out.push(cur);
                self.current = Some(ext);
                self.current_pad = end_pad;
            }
            None => {
                self.current = Some(ext);
                self.current_pad = end_pad;
            }
        }
        self.split(history, newest, out);
    }

    /// Cuts the current region while its speech is too long, each time at the quietest frame of
    /// the search window ending at the limit; the rest carries on as the current region.
    ///
    /// The padding after the last speech may run past the limit: cutting inside it left a piece
    /// of padding and a syllable (85-235 ms) that the live transcript then transcribed on its
    /// own, twice as a copy of the words before it, after the rest of the turn.
    fn split(&mut self, history: &EnergyHistory, newest: u64, out: &mut Vec<SampleRegion>) {
        while let Some(mut cur) = self.current {
            let speech_end = cur.end - self.current_pad.min(cur.end - cur.start);
            if speech_end - cur.start <= self.max_len {
                return;
            }
            let limit = cur.start + self.max_len;
            let cut = self.quietest_point(
                limit.saturating_sub(self.search).max(cur.start + 1),
                limit,
                history,
                newest,
            );
            out.push(SampleRegion {
                start: cur.start,
                end: cut,
            });
            cur.start = cut;
            self.current = Some(cur);
        }
    }

    /// Centre of the quietest analysed frame whose centre lies in `[lo, hi]`; `hi` when none is
    /// available. Ties go to the latest frame, keeping regions long.
    fn quietest_point(&self, lo: u64, hi: u64, history: &EnergyHistory, newest: u64) -> u64 {
        let hop = self.geo.hop as u64;
        let half = (self.geo.frame_len / 2) as u64;
        let first = lo.saturating_sub(half).div_ceil(hop);
        let mut best: Option<(f32, u64)> = None;
        let mut frame = first;
        while self.geo.center(frame) <= hi {
            if let Some(e) = history.get(frame, newest)
                && best.is_none_or(|(b, _)| e <= b)
            {
                best = Some((e, frame));
            }
            frame += 1;
        }
        best.map_or(hi, |(_, f)| self.geo.center(f).clamp(lo, hi))
    }

    /// Reports the current region once no later speech can reach it.
    fn emit_if_final(&mut self, earliest_next_start: u64, out: &mut Vec<SampleRegion>) {
        if let Some(cur) = self.current
            && earliest_next_start > cur.end + self.merge_gap
        {
            out.push(cur);
            self.current = None;
        }
    }

    fn flush(&mut self, out: &mut Vec<SampleRegion>) {
        out.extend(self.current.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 16_000;

    fn corpus(rel: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus")
            .join(rel)
    }

    /// One `Vec<f32>` per channel.
    fn read_wav(rel: &str) -> Vec<Vec<f32>> {
        let mut reader = hound::WavReader::open(corpus(rel)).unwrap();
        let spec = reader.spec();
        assert_eq!(spec.sample_rate, SR);
        let channels = usize::from(spec.channels);
        let mut out = vec![Vec::new(); channels];
        for (i, s) in reader.samples::<i16>().enumerate() {
            out[i % channels].push(f32::from(s.unwrap()) / 32768.0);
        }
        out
    }

    /// Reference turns (ms) from the synthetic meeting's JSON, optionally one channel's only.
    fn meeting_refs(channel: Option<u64>) -> Vec<(u64, u64)> {
        let text = std::fs::read_to_string(corpus("synthetic/meeting_a.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| channel.is_none_or(|c| s["channel"].as_u64() == Some(c)))
            .map(|s| secs_to_ms(s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
            .collect()
    }

    fn rttm_refs(rel: &str) -> Vec<(u64, u64)> {
        std::fs::read_to_string(corpus(rel))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("SPEAKER"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let start: f64 = f[3].parse().unwrap();
                let dur: f64 = f[4].parse().unwrap();
                secs_to_ms(start, start + dur)
            })
            .collect()
    }

    fn secs_to_ms(start: f64, end: f64) -> (u64, u64) {
        (
            (start * 1000.0).round() as u64,
            (end * 1000.0).round() as u64,
        )
    }

    fn union(mut spans: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
        spans.sort();
        let mut out: Vec<(u64, u64)> = Vec::new();
        for (s, e) in spans {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        out
    }

    fn total(spans: &[(u64, u64)]) -> u64 {
        union(spans.to_vec()).iter().map(|(s, e)| e - s).sum()
    }

    fn overlap(a: &[(u64, u64)], b: &[(u64, u64)]) -> u64 {
        let (a, b) = (union(a.to_vec()), union(b.to_vec()));
        let mut sum = 0;
        for &(s1, e1) in &a {
            for &(s2, e2) in &b {
                let (s, e) = (s1.max(s2), e1.min(e2));
                if e > s {
                    sum += e - s;
                }
            }
        }
        sum
    }

    fn spans(regions: &[SpeechRegion]) -> Vec<(u64, u64)> {
        regions.iter().map(|r| (r.start_ms, r.end_ms)).collect()
    }

    fn recall(regions: &[SpeechRegion], refs: &[(u64, u64)]) -> f64 {
        overlap(&spans(regions), refs) as f64 / total(refs) as f64
    }

    fn duration_ms(samples: &[f32]) -> u64 {
        samples.len() as u64 * 1000 / u64::from(SR)
    }

    struct Xorshift(u64);

    impl Xorshift {
        /// Uniform in [-1, 1).
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    /// Prints one line of the figures table (`cargo test ... -- --nocapture`).
    fn report(name: &str, regions: &[SpeechRegion], total_ms: u64, refs: Option<&[(u64, u64)]>) {
        let rec = refs.map_or("     -".to_string(), |r| {
            format!("{:6.1}%", 100.0 * recall(regions, r))
        });
        let speech = refs.map_or("     -".to_string(), |r| {
            format!("{:6.1}%", 100.0 * total(r) as f64 / total_ms as f64)
        });
        println!(
            "VAD | {name:<20} | {:5.1} s | speech {speech} | kept {:5.1}% | recall {rec} \
             | regions {:3} | longest {:4.1} s",
            total_ms as f64 / 1000.0,
            100.0 * coverage(regions, total_ms),
            regions.len(),
            regions
                .iter()
                .map(|r| r.end_ms - r.start_ms)
                .max()
                .unwrap_or(0) as f64
                / 1000.0,
        );
    }

    /// Regions are ordered, disjoint, inside the recording and no longer than the maximum (plus
    /// the padding after the last speech, which a cut never falls in).
    fn assert_well_formed(regions: &[SpeechRegion], total_ms: u64, config: &VadConfig) {
        for r in regions {
            assert!(
                r.start_ms < r.end_ms && r.end_ms <= total_ms,
                "{r:?} outside 0..{total_ms}"
            );
            assert!(
                r.end_ms - r.start_ms
                    <= u64::from(config.max_region_ms) + u64::from(config.post_pad_ms) + 1,
                "{r:?} longer than the maximum"
            );
        }
        for w in regions.windows(2) {
            assert!(
                w[0].end_ms <= w[1].start_ms,
                "overlapping or unordered: {w:?}"
            );
        }
    }

    /// A crude vowel: 200 Hz with falling harmonics and some breath noise.
    fn vowel(len: usize, amp: f32, rng: &mut Xorshift) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let t = i as f32 / SR as f32;
                let voiced: f32 = (1..=12)
                    .map(|h| (2.0 * std::f32::consts::PI * 200.0 * h as f32 * t).sin() / h as f32)
                    .sum();
                amp * (0.5 * voiced + 0.05 * rng.next())
            })
            .collect()
    }

    #[test]
    fn silence_and_steady_noise_give_no_regions() {
        let config = VadConfig::default();
        let silence = vec![0.0f32; SR as usize * 10];
        assert_eq!(detect(&silence, SR, &config), vec![]);
        let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
        for amp in [0.0005f32, 0.003, 0.03] {
            let noise: Vec<f32> = (0..SR * 10).map(|_| amp * rng.next()).collect();
            assert_eq!(detect(&noise, SR, &config), vec![], "white noise at {amp}");
        }
        // Mains hum with harmonics, present from the start: steady, so it is the floor.
        let hum: Vec<f32> = (0..SR * 10)
            .map(|i| {
                let t = i as f32 / SR as f32;
                (1..=5)
                    .map(|h| {
                        0.05 / h as f32 * (2.0 * std::f32::consts::PI * 50.0 * h as f32 * t).sin()
                    })
                    .sum()
            })
            .collect();
        assert_eq!(detect(&hum, SR, &config), vec![]);
    }

    #[test]
    fn clicks_do_not_open_a_region() {
        // Knocks: 10 ms of a decaying 2 kHz ring (loud and peaky, only too short), every 700 ms.
        let mut samples = vec![0.0f32; SR as usize * 8];
        for start in (SR as usize..SR as usize * 7).step_by(SR as usize * 7 / 10) {
            for i in 0..SR as usize / 100 {
                let t = i as f32 / SR as f32;
                samples[start + i] =
                    0.5 * (-t * 400.0).exp() * (2.0 * std::f32::consts::PI * 2000.0 * t).sin();
            }
        }
        assert_eq!(detect(&samples, SR, &VadConfig::default()), vec![]);
    }

    #[test]
    fn broadband_burst_does_not_open_a_region() {
        // A loud hiss after digital silence clears the energy test but is spectrally flat.
        let mut rng = Xorshift(7);
        let mut samples = vec![0.0f32; SR as usize * 2];
        samples.extend((0..SR).map(|_| 0.2 * rng.next()));
        samples.extend(vec![0.0f32; SR as usize * 2]);
        assert_eq!(detect(&samples, SR, &VadConfig::default()), vec![]);
    }

    #[test]
    fn each_burst_is_one_padded_region() {
        let config = VadConfig::default();
        let mut rng = Xorshift(42);
        let background =
            |n: u32, rng: &mut Xorshift| (0..n).map(|_| 0.001 * rng.next()).collect::<Vec<f32>>();
        let mut samples = background(SR, &mut rng);
        for _ in 0..4 {
            samples.extend(vowel(SR as usize, 0.3, &mut rng));
            samples.extend(background(2 * SR, &mut rng));
        }
        let regions = detect(&samples, SR, &config);
        report("synthetic bursts", &regions, duration_ms(&samples), None);
        assert_eq!(regions.len(), 4, "{regions:?}");
        for (i, r) in regions.iter().enumerate() {
            let onset = 1000 + 3000 * i as u64;
            let (want_start, want_end) = (
                onset - u64::from(config.pre_pad_ms),
                onset + 1000 + u64::from(config.post_pad_ms),
            );
            assert!(
                r.start_ms.abs_diff(want_start) <= 30,
                "{r:?}: start, want {want_start}"
            );
            assert!(
                r.end_ms.abs_diff(want_end) <= 30,
                "{r:?}: end, want {want_end}"
            );
        }
    }

    #[test]
    fn meeting_recall_and_skipped_pauses() {
        let config = VadConfig::default();
        let samples = &read_wav("synthetic/meeting_a.wav")[0];
        let total_ms = duration_ms(samples);
        let refs = meeting_refs(None);
        let regions = detect(samples, SR, &config);
        report("meeting_a", &regions, total_ms, Some(&refs));
        assert_well_formed(&regions, total_ms, &config);
        assert!(recall(&regions, &refs) >= 0.98);
        // Non-speech kept beyond the padding of each turn: at most 15% of the non-speech.
        let speech = total(&refs);
        let padding =
            union(refs.clone()).len() as u64 * u64::from(config.pre_pad_ms + config.post_pad_ms);
        let kept = (coverage(&regions, total_ms) * total_ms as f64) as u64;
        let extra = kept.saturating_sub(speech + padding);
        assert!(
            extra as f64 <= 0.15 * (total_ms - speech) as f64,
            "kept {kept} ms, speech {speech} ms"
        );
        // The 4 s pause itself is not transcribed.
        let pause = union(refs)
            .windows(2)
            .map(|w| (w[0].1, w[1].0))
            .max_by_key(|(a, b)| b - a)
            .unwrap();
        assert!(pause.1 - pause.0 > 3500);
        let inner = [(pause.0 + 400, pause.1 - 300)];
        assert_eq!(
            overlap(&spans(&regions), &inner),
            0,
            "pause {pause:?} kept: {regions:?}"
        );
    }

    #[test]
    fn two_channel_meeting_each_channel_finds_its_own_turns() {
        let config = VadConfig::default();
        let channels = read_wav("synthetic/meeting_a_2ch.wav");
        for (ch, samples) in channels.iter().enumerate() {
            let total_ms = duration_ms(samples);
            let refs = meeting_refs(Some(ch as u64));
            let regions = detect(samples, SR, &config);
            report(
                &format!("meeting_a_2ch ch{ch}"),
                &regions,
                total_ms,
                Some(&refs),
            );
            assert_well_formed(&regions, total_ms, &config);
            assert!(recall(&regions, &refs) >= 0.97, "channel {ch}");
            let speech_share = total(&refs) as f64 / total_ms as f64;
            assert!(
                coverage(&regions, total_ms) <= speech_share + 0.12,
                "channel {ch} keeps too much"
            );
        }
    }

    #[test]
    fn ami_excerpts_recall() {
        let config = VadConfig::default();
        for id in ["dev00", "trn05", "tst00"] {
            let samples = &read_wav(&format!("real_rttm_only/ami_excerpt_{id}.wav"))[0];
            let refs = rttm_refs(&format!("real_rttm_only/ami_excerpt_{id}.rttm"));
            let total_ms = duration_ms(samples);
            let regions = detect(samples, SR, &config);
            report(
                &format!("ami_excerpt_{id}"),
                &regions,
                total_ms,
                Some(&refs),
            );
            assert_well_formed(&regions, total_ms, &config);
            assert!(recall(&regions, &refs) >= 0.95, "{id}");
        }
    }

    #[test]
    fn jfk_is_kept_with_its_pauses() {
        let config = VadConfig::default();
        let samples = &read_wav("real/jfk.wav")[0];
        let total_ms = duration_ms(samples);
        let regions = detect(samples, SR, &config);
        report("jfk", &regions, total_ms, None);
        assert_well_formed(&regions, total_ms, &config);
        assert!(!regions.is_empty());
        // Speech runs from about 0.3 s to 10.5 s; everything but the ends and long pauses stays.
        assert!(coverage(&regions, total_ms) >= 0.6, "{regions:?}");
    }

    #[test]
    fn long_speech_is_split_at_a_quiet_point() {
        let config = VadConfig::default();
        let mut rng = Xorshift(3);
        // 70 s of "syllables" (250 ms voiced, 50 ms dip): no pause is long enough to end a region.
        let mut samples = Vec::new();
        while samples.len() < 70 * SR as usize {
            samples.extend(vowel(SR as usize / 4, 0.3, &mut rng));
            samples.extend(vowel(SR as usize / 20, 0.01, &mut rng));
        }
        let total_ms = duration_ms(&samples);
        let regions = detect(&samples, SR, &config);
        report("70 s without pauses", &regions, total_ms, None);
        assert_well_formed(&regions, total_ms, &config);
        assert_eq!(regions.len(), 3, "{regions:?}");
        for w in regions.windows(2) {
            assert_eq!(w[0].end_ms, w[1].start_ms, "split, not trimmed");
            // Cut in a dip: 250 ms + 50 ms cycle, dips start 250 ms into each 300 ms.
            let phase = w[0].end_ms % 300;
            assert!(
                (240..=310).contains(&phase),
                "cut at {} ms is not in a dip",
                w[0].end_ms
            );
            assert!(
                w[0].end_ms - w[0].start_ms >= 24_000,
                "cut too early: {w:?}"
            );
        }
    }

    #[test]
    fn max_region_is_respected_without_losing_audio() {
        let samples = &read_wav("synthetic/meeting_a.wav")[0];
        let total_ms = duration_ms(samples);
        let unlimited = detect(
            samples,
            SR,
            &VadConfig {
                max_region_ms: 600_000,
                ..VadConfig::default()
            },
        );
        for max in [28_000, 10_000, 3_000] {
            let config = VadConfig {
                max_region_ms: max,
                ..VadConfig::default()
            };
            let regions = detect(samples, SR, &config);
            assert_well_formed(&regions, total_ms, &config);
            assert_eq!(
                union(spans(&regions)),
                union(spans(&unlimited)),
                "max {max}"
            );
        }
    }

    /// Feeds `samples` in blocks; returns all regions and, per region, how far the stream had
    /// got when it was reported.
    fn stream(samples: &[f32], block: usize, config: &VadConfig) -> (Vec<SpeechRegion>, Vec<u64>) {
        let mut vad = StreamingVad::new(SR, config.clone());
        let (mut regions, mut reported_at) = (Vec::new(), Vec::new());
        let mut pushed = 0;
        for chunk in samples.chunks(block) {
            pushed += chunk.len();
            for r in vad.push(chunk) {
                regions.push(r);
                reported_at.push(pushed as u64 * 1000 / u64::from(SR));
            }
        }
        for r in vad.finish() {
            regions.push(r);
            reported_at.push(duration_ms(samples));
        }
        (regions, reported_at)
    }

    #[test]
    fn streaming_matches_batch_for_any_block_size() {
        let config = VadConfig {
            max_region_ms: 8_000,
            ..VadConfig::default()
        };
        let mut samples = read_wav("synthetic/meeting_a_2ch.wav").swap_remove(0);
        samples.truncate(SR as usize * 90);
        samples.extend(read_wav("real_rttm_only/ami_excerpt_tst00.wav").swap_remove(0));
        let batch = detect(&samples, SR, &config);
        assert!(batch.len() >= 6, "{batch:?}");
        for block in [160, 1600, 16000, 77777] {
            let (regions, reported_at) = stream(&samples, block, &config);
            assert_eq!(regions, batch, "block size {block}");
            // Reported promptly: within the pipeline's delays of the region's end (plus a block).
            let delay = u64::from(
                config.lookahead_ms
                    + config.min_silence_ms
                    + config.merge_gap_ms
                    + config.pre_pad_ms,
            ) + 100;
            let block_ms = block as u64 * 1000 / u64::from(SR);
            for (i, (r, at)) in regions.iter().zip(&reported_at).enumerate() {
                // A piece cut off a long region is final once it is known to pass the limit.
                let was_cut = regions
                    .get(i + 1)
                    .is_some_and(|next| next.start_ms == r.end_ms);
                let due = if was_cut {
                    r.start_ms + u64::from(config.max_region_ms)
                } else {
                    r.end_ms
                } + delay;
                assert!(
                    *at <= due + block_ms,
                    "block {block}: {r:?} reported at {at} ms"
                );
            }
        }
    }

    /// A turn whose speech fits the limit is one region even when its padding runs past it:
    /// cut there, it left a sliver of padding that whisper transcribed on its own. A turn that
    /// goes on past the limit is still cut.
    #[test]
    fn padding_alone_never_cuts_a_region() {
        let config = VadConfig {
            max_region_ms: 8_000,
            ..VadConfig::live()
        };
        let mut rng = Xorshift(11);
        for (speech_ms, pieces) in [(7_700, 1), (9_000, 2)] {
            let mut samples = vec![0.0f32; SR as usize];
            // Syllables of 200 ms with 100 ms between them: one steady tone would become the
            // noise floor after a few seconds.
            for i in 0..(speech_ms + 100) / 300 {
                if i > 0 {
                    samples.extend(vec![0.0f32; SR as usize / 10]);
                }
                samples.extend(vowel(SR as usize / 5, 0.3, &mut rng));
            }
            samples.extend(vec![0.0f32; SR as usize * 2]);
            let regions = detect(&samples, SR, &config);
            assert_eq!(regions.len(), pieces, "{speech_ms} ms: {regions:?}");
            assert_well_formed(&regions, duration_ms(&samples), &config);
            let last = regions[regions.len() - 1];
            assert!(
                last.end_ms - last.start_ms >= 1_000,
                "{speech_ms} ms: a sliver left: {regions:?}"
            );
        }
    }

    /// The live transcript looks at a turn before it ends (`open_region`), and measures its lag
    /// from where the speech of a region ended (`speech_end_before`): before the padding of a
    /// turn that ended, just before the cut of a piece cut off a turn that goes on.
    #[test]
    fn the_open_region_is_the_start_of_the_region_to_come() {
        // meeting_a's microphone has turns of 8-9 s between pauses.
        let config = VadConfig {
            max_region_ms: 8_000,
            ..VadConfig::live()
        };
        let mut samples = read_wav("synthetic/meeting_a_2ch.wav").swap_remove(0);
        samples.truncate(SR as usize * 120);
        let mut vad = StreamingVad::new(SR, config.clone());
        let (mut regions, mut open_seen, mut cut_seen) = (Vec::new(), Vec::new(), Vec::new());
        let mut pushed = 0u64;
        for chunk in samples.chunks(1600) {
            pushed += chunk.len() as u64;
            let out = vad.push(chunk);
            let open = vad.open_region();
            for (i, r) in out.iter().enumerate() {
                let next = out.get(i + 1).copied().or(open);
                let speech_end = vad.speech_end_before(r.end_ms).expect("speech remembered");
                if next.is_some_and(|n| n.start_ms == r.end_ms) {
                    cut_seen.push(*r);
                    // The cut falls in a pause shorter than the hangover, or in speech.
                    assert!(
                        speech_end <= r.end_ms && speech_end + 320 >= r.end_ms,
                        "cut piece {r:?}: speech ended at {speech_end}"
                    );
                } else {
                    let unpadded = r.end_ms - u64::from(config.post_pad_ms);
                    assert!(
                        speech_end.abs_diff(unpadded) <= 1,
                        "{r:?}: speech ended at {speech_end}, not {unpadded}"
                    );
                }
            }
            regions.extend(out);
            if let Some(open) = open {
                assert!(open.end_ms <= pushed * 1000 / u64::from(SR), "{open:?}");
                open_seen.push(open);
            }
        }
        regions.extend(vad.finish());
        for open in &open_seen {
            assert!(
                regions.iter().any(|r| r.start_ms == open.start_ms),
                "an open region {open:?} that no final region starts like: {regions:?}"
            );
        }
        let cuts: Vec<_> = regions
            .windows(2)
            .filter(|w| w[1].start_ms == w[0].end_ms)
            .map(|w| w[0])
            .collect();
        assert!(!cuts.is_empty(), "meeting_a has turns longer than 8 s");
        assert_eq!(
            cut_seen, cuts,
            "each cut is known when its piece is reported"
        );
        assert!(
            open_seen.iter().any(|o| o.end_ms - o.start_ms >= 6_000),
            "long turns are seen while they go on"
        );
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let config = VadConfig::default();
        let mut rng = Xorshift(5);
        let mut samples = vec![0.0f32; SR as usize];
        samples.extend(vowel(SR as usize, 0.3, &mut rng));
        let once = stream(&samples, 1000, &config).0;
        let mut vad = StreamingVad::new(SR, config);
        let mut twice = vad.push(&samples);
        twice.extend(vad.finish());
        twice.extend(vad.push(&samples));
        twice.extend(vad.finish());
        assert_eq!(once.len(), 1);
        assert_eq!(twice, vec![once[0], once[0]]);
    }

    #[test]
    fn degenerate_settings_do_not_panic() {
        let mut rng = Xorshift(9);
        let mut samples = vec![0.0f32; SR as usize];
        samples.extend(vowel(SR as usize * 2, 0.3, &mut rng));
        samples.extend(vec![0.0f32; SR as usize]);
        let zeros = VadConfig {
            frame_ms: 0,
            hop_ms: 0,
            pre_pad_ms: 0,
            post_pad_ms: 0,
            min_speech_ms: 0,
            min_silence_ms: 0,
            merge_gap_ms: 0,
            max_region_ms: 0,
            split_search_ms: 0,
            noise_window_ms: 0,
            lookahead_ms: 0,
            highpass_hz: 0.0,
            ..VadConfig::default()
        };
        let huge = VadConfig {
            frame_ms: u32::MAX,
            hop_ms: u32::MAX,
            pre_pad_ms: u32::MAX,
            post_pad_ms: u32::MAX,
            min_silence_ms: u32::MAX,
            merge_gap_ms: u32::MAX,
            max_region_ms: u32::MAX,
            split_search_ms: u32::MAX,
            noise_window_ms: u32::MAX,
            lookahead_ms: u32::MAX,
            highpass_hz: f32::NAN,
            ..VadConfig::default()
        };
        for config in [zeros, huge] {
            let regions = detect(&samples, SR, &config);
            assert_well_formed(&regions, duration_ms(&samples), &config);
        }
        for rate in [8_000, 44_100, 48_000] {
            let regions = detect(&samples, rate, &VadConfig::default());
            assert_eq!(regions.len(), 1, "{rate} Hz: {regions:?}");
        }
    }

    #[test]
    fn zero_sample_rate_finds_nothing() {
        let mut vad = StreamingVad::new(0, VadConfig::default());
        assert_eq!(vad.push(&[0.5; 4000]), vec![]);
        assert_eq!(vad.finish(), vec![]);
        assert_eq!(detect(&[0.5; 4000], 0, &VadConfig::default()), vec![]);
    }

    #[test]
    fn coverage_counts_overlaps_once_and_clamps() {
        let r = |start_ms, end_ms| SpeechRegion { start_ms, end_ms };
        assert_eq!(coverage(&[], 1000), 0.0);
        assert_eq!(coverage(&[r(0, 500)], 0), 0.0);
        assert!((coverage(&[r(500, 800), r(0, 250), r(200, 300)], 1000) - 0.6).abs() < 1e-9);
        assert!((coverage(&[r(900, 2000)], 1000) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn fft_matches_a_naive_dft() {
        let mut fft = Fft::new(64);
        let mut rng = Xorshift(11);
        let input: Vec<f32> = (0..64).map(|_| rng.next()).collect();
        fft.clear();
        fft.re.copy_from_slice(&input);
        fft.run();
        for k in 0..64 {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (n, &x) in input.iter().enumerate() {
                let phase = -2.0 * std::f64::consts::PI * (k * n) as f64 / 64.0;
                re += f64::from(x) * phase.cos();
                im += f64::from(x) * phase.sin();
            }
            assert!(
                (f64::from(fft.re[k]) - re).abs() < 1e-3
                    && (f64::from(fft.im[k]) - im).abs() < 1e-3,
                "bin {k}"
            );
        }
    }

    /// Where the flatness and level thresholds come from: feature percentiles inside and outside
    /// the reference speech. `cargo test -p minutes --lib vad::tests::feature_stats -- --ignored
    /// --nocapture`
    #[test]
    #[ignore]
    fn feature_stats() {
        let files = [
            ("synthetic/meeting_a.wav", meeting_refs(None)),
            (
                "real_rttm_only/ami_excerpt_dev00.wav",
                rttm_refs("real_rttm_only/ami_excerpt_dev00.rttm"),
            ),
            (
                "real_rttm_only/ami_excerpt_trn05.wav",
                rttm_refs("real_rttm_only/ami_excerpt_trn05.rttm"),
            ),
            (
                "real_rttm_only/ami_excerpt_tst00.wav",
                rttm_refs("real_rttm_only/ami_excerpt_tst00.rttm"),
            ),
        ];
        for (file, refs) in files {
            let (speech, other) = features(&read_wav(file)[0], &refs);
            println!("{file}");
            for (label, frames) in [("speech", speech), ("other", other)] {
                let energy: Vec<f32> = frames.iter().map(|f| f.energy_db).collect();
                // Flatness only matters where the level could open a region.
                let flatness = frames
                    .iter()
                    .filter(|f| f.energy_db > -60.0)
                    .map(|f| f.flatness);
                let flatness: Vec<f32> = flatness.collect();
                println!("  {label:<6} energy dB {}", percentiles(energy));
                println!("  {label:<6} flatness (> -60 dB) {}", percentiles(flatness));
            }
        }
        let mut rng = Xorshift(1);
        let noise: Vec<f32> = (0..SR * 3).map(|_| 0.01 * rng.next()).collect();
        let (_, frames) = features(&noise, &[]);
        println!(
            "white noise flatness {}",
            percentiles(frames.iter().map(|f| f.flatness).collect())
        );
    }

    /// Frames inside and outside `refs`.
    fn features(samples: &[f32], refs: &[(u64, u64)]) -> (Vec<Frame>, Vec<Frame>) {
        let config = VadConfig::default();
        let geo = Geometry::new(SR, &config);
        let mut analyzer = Analyzer::new(SR, &config, geo);
        let frames = samples.iter().filter_map(|&x| analyzer.push_sample(x));
        frames.partition(|f| {
            let t = geo.center(f.index) * 1000 / u64::from(SR);
            refs.iter().any(|&(s, e)| (s..e).contains(&t))
        })
    }

    fn percentiles(mut v: Vec<f32>) -> String {
        if v.is_empty() {
            return "-".into();
        }
        v.sort_by(f32::total_cmp);
        let at = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
        format!(
            "p5 {:7.2}  p25 {:7.2}  p50 {:7.2}  p75 {:7.2}  p95 {:7.2}",
            at(0.05),
            at(0.25),
            at(0.5),
            at(0.75),
            at(0.95)
        )
    }
}
