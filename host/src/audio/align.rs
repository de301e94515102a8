//! One recording channel: a device's samples resampled to 16 kHz and kept on the recording's
//! timeline, which is the monotonic clock.
//!
//! Two devices never share a clock: a microphone at "48 kHz" may deliver 48 048 frames a second
//! and the sound card 47 990. Resampling each by its nominal rate would let the channels drift
//! apart by seconds over an hour. So every channel is steered to the system clock instead — but
//! steered by what its clock does over minutes, not by when its callbacks happen to arrive:
//!
//! * Rate: frames received against clock time, fitted over a long window ([`ClockFit`]). A
//!   delivery can be late (scheduling, a busy server) but never early, so the fit is the upper
//!   envelope of those points, not a least-squares line: late deliveries, bursts and stalls do
//!   not move it, a clock that really runs 0.1 % fast does.
//! * Position: where this channel's audio ends on the timeline minus where the clock says it
//!   should end. Only its best (least late) value over a few seconds counts, and only beyond a
//!   dead band, as a slow trim of at most 0.1 %: it keeps fit errors from adding up without
//!   chasing latency.
//! * Large errors are not steered but snapped: a device that stalls or is replaced gets silence
//!   padded in; a burst of stale audio is dropped. The timeline is never stretched to cover a gap.
//!   A first delivery that brings audio queued just before the start is latency, and kept.

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{
    Adjustable, Async, FixedAsync, Indexing, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};
use std::collections::VecDeque;

use super::decode::TARGET_RATE;

#[derive(Debug, Clone, Copy)]
pub struct DriftConfig {
    /// Steer the ratio (off only to show what drift does without it).
    pub correct: bool,
    /// History the device's rate is fitted over, seconds.
    pub fit_window_s: f64,
    /// History needed before the fitted rate is used, seconds.
    pub min_fit_s: f64,
    /// Position errors within this band (either way) are latency and left alone, seconds.
    pub deadband_s: f64,
    /// Trim of the ratio per second of position error beyond the band.
    pub trim_gain: f64,
    /// Largest trim (0.001 = 0.1 %).
    pub max_trim: f64,
    /// Errors beyond this many seconds are snapped (pad or drop), not steered.
    pub snap_s: f64,
    /// Audio queued before the start that a first delivery may bring and that is kept, seconds.
    pub startup_backlog_s: f64,
    /// Largest relative ratio change (0.01 = 1 %).
    pub max_adjust: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            correct: true,
            // Five minutes: a 0.2 s swing of latency moves the fitted rate by < 0.01 %.
            fit_window_s: 300.0,
            min_fit_s: 10.0,
            deadband_s: 0.05,
            trim_gain: 0.01,
            max_trim: 0.001,
            // With the 0.5 s sync this bounds what a kill -9 loses to about a second.
            snap_s: 0.5,
            startup_backlog_s: 0.5,
            max_adjust: 0.01,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot resample {rate} Hz audio to 16 kHz: {why}")]
pub struct AlignError {
    rate: u32,
    why: String,
}

/// Counters a benchmark or the status line reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AlignStats {
    /// Silence inserted on the timeline (device late, stalled or gone), in 16 kHz frames.
    pub padded: u64,
    /// Stale input dropped to catch up, in 16 kHz frames.
    pub dropped: u64,
    /// The current relative ratio (1.0 = nominal).
    pub ratio: f64,
    /// The last position error, seconds (positive: ahead of the clock).
    pub error_s: f64,
}

/// Width of a fit bin, seconds: one point (the least late delivery) per bin.
const BIN_S: f64 = 0.5;
/// The position error's envelope (its least late value) is taken over this many bins.
const ENVELOPE_BINS: usize = 60;

/// The device's rate from frames received against clock time: the upper convex hull of the
/// points (no delivery comes before its audio exists), read at the middle of the window, which
/// is the line that lies above every point with the least total distance to them.
#[derive(Default)]
struct ClockFit {
    /// (clock s, frames − nominal × clock), the highest per bin, oldest first.
    points: VecDeque<(f64, f64)>,
    bin: Option<(i64, f64, f64)>,
    hull: Vec<(f64, f64)>,
    /// The fitted excess rate, recomputed when a bin closes.
    excess: Option<f64>,
    dirty: bool,
}

impl ClockFit {
    fn add(&mut self, t: f64, y: f64, window: f64) {
        let b = (t / BIN_S).floor() as i64;
        match &mut self.bin {
            Some((cur, bt, by)) if *cur == b => {
                if y > *by {
                    (*bt, *by) = (t, y);
                }
            }
            _ => {
                if let Some((_, bt, by)) = self.bin.take() {
                    self.points.push_back((bt, by));
                    self.dirty = true;
                }
                self.bin = Some((b, t, y));
            }
        }
        while self.points.front().is_some_and(|p| p.0 < t - window) {
            self.points.pop_front();
        }
    }

    /// Frames per second above the nominal rate, once `min_span` seconds are covered.
    fn excess_rate(&mut self, min_span: f64) -> Option<f64> {
        if !self.dirty {
            return self.excess;
        }
        self.dirty = false;
        let (first, last) = (self.points.front()?, self.points.back()?);
        if last.0 - first.0 < min_span {
            return None;
        }
        self.hull.clear();
        for &p in &self.points {
            while self.hull.len() >= 2 {
                let (a, b) = (
                    self.hull[self.hull.len() - 2],
                    self.hull[self.hull.len() - 1],
                );
                // Drop b when it lies on or below the line from a to p.
                if (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0) >= 0.0 {
                    self.hull.pop();
                } else {
                    break;
                }
            }
            self.hull.push(p);
        }
        let mid = self.points.iter().map(|p| p.0).sum::<f64>() / self.points.len() as f64;
        self.excess = self
            .hull
            .windows(2)
            .find(|w| w[1].0 >= mid)
            .map(|w| (w[1].1 - w[0].1) / (w[1].0 - w[0].0).max(1e-9));
        self.excess
    }

    fn clear(&mut self) {
        self.points.clear();
        self.bin = None;
        self.excess = None;
        self.dirty = false;
    }
}

pub struct ChannelAligner {
    rate: u32,
    base_ratio: f64,
    resampler: Option<Async<f32>>,
    delay: usize,
    to_trim: usize,
    input: Vec<Vec<f32>>,
    out_buf: Vec<Vec<f32>>,
    /// Timeline audio not yet taken by the writer.
    pub queue: VecDeque<f32>,
    /// Timeline position of the end of `queue`, in 16 kHz frames.
    end_pos: u64,
    started: bool,
    /// Input frames received since the start, adjusted for what snaps padded or dropped, so a
    /// gap does not look like a slow clock.
    received: f64,
    fit: ClockFit,
    /// The fitted rate as a relative ratio, and the position trim on top of it.
    rate_rel: f64,
    trim: f64,
    rel: f64,
    /// Position error the channel settled at in its first `min_fit_s` (its latency, a kept
    /// backlog), seconds: the trim's target. Provisional until `baseline_learned`.
    baseline_s: f64,
    baseline_learned: bool,
    start_t: f64,
    /// Best position error per recent bin: (bin, seconds).
    envelope: VecDeque<(i64, f64)>,
    config: DriftConfig,
    stats: AlignStats,
}

impl ChannelAligner {
    /// A channel with no device yet: only silence until [`ChannelAligner::attach`].
    pub fn new(config: DriftConfig) -> ChannelAligner {
        ChannelAligner {
            rate: 0,
            base_ratio: 1.0,
            resampler: None,
            delay: 0,
            to_trim: 0,
            input: vec![Vec::new()],
            out_buf: vec![Vec::new()],
            queue: VecDeque::new(),
            end_pos: 0,
            started: false,
            received: 0.0,
            fit: ClockFit::default(),
            rate_rel: 1.0,
            trim: 0.0,
            rel: 1.0,
            baseline_s: 0.0,
            baseline_learned: false,
            start_t: 0.0,
            envelope: VecDeque::new(),
            config,
            stats: AlignStats {
                ratio: 1.0,
                ..Default::default()
            },
        }
    }

    /// Starts taking a device of `rate` Hz (at start, or after the previous one went away).
    pub fn attach(&mut self, rate: u32) -> Result<(), AlignError> {
        let base_ratio = f64::from(TARGET_RATE) / f64::from(rate.max(1));
        let params = SincInterpolationParameters::new(96, WindowFunction::BlackmanHarris2)
            .oversampling_factor(256)
            .interpolation(SincInterpolationType::Linear);
        let chunk = (rate as usize / 50).max(64);
        let resampler = Async::<f32>::new_sinc(
            base_ratio,
            1.0 + 2.0 * self.config.max_adjust,
            &params,
            chunk,
            1,
            FixedAsync::Input,
        )
        .map_err(|e| AlignError {
            rate,
            why: e.to_string(),
        })?;
        self.delay = resampler.output_delay();
        self.to_trim = self.delay;
        self.out_buf = vec![vec![0.0; resampler.output_frames_max()]];
        self.resampler = Some(resampler);
        self.rate = rate;
        self.base_ratio = base_ratio;
        self.input[0].clear();
        self.started = false;
        self.received = 0.0;
        self.fit.clear();
        self.envelope.clear();
        self.rate_rel = 1.0;
        self.trim = 0.0;
        self.rel = 1.0;
        self.baseline_s = 0.0;
        self.baseline_learned = false;
        Ok(())
    }

    /// The device is gone: from now on the channel is silence until another is attached.
    pub fn detach(&mut self) {
        self.resampler = None;
        self.input[0].clear();
    }

    pub fn stats(&self) -> AlignStats {
        self.stats
    }

    /// Takes the device's new samples and brings the channel up to clock time `now` (seconds
    /// since the recording started).
    pub fn push(&mut self, samples: &[f32], now: f64) -> Result<(), AlignError> {
        if self.resampler.is_none() {
            // No device: silence keeps the channel on the timeline.
            let target = (now * f64::from(TARGET_RATE)) as u64;
            if target > self.end_pos {
                self.pad((target - self.end_pos) as usize);
            }
            return Ok(());
        }
        self.input[0].extend_from_slice(samples);
        // Decide before resampling, so silence padded in goes before the new audio.
        let error = self.position_error(now);
        let error_s = error / f64::from(TARGET_RATE);
        self.stats.error_s = error_s;
        if !self.started {
            if samples.is_empty() {
                // Not delivering yet (a device's first callback can take seconds): hold the
                // other channel back no more than `snap_s`.
                let target = ((now - self.config.snap_s).max(0.0) * f64::from(TARGET_RATE)) as u64;
                if target > self.end_pos {
                    self.pad((target - self.end_pos) as usize);
                }
                return Ok(());
            }
            self.started = true;
            // Audio the device had queued when the recording started is latency, not drift:
            // kept (up to a bound), and the steering aims at this offset rather than at zero.
            let keep = self.config.startup_backlog_s * f64::from(TARGET_RATE);
            let excess = if error > 0.0 {
                (error - keep).max(0.0)
            } else {
                error
            };
            self.snap(excess);
            self.baseline_s = (error - excess) / f64::from(TARGET_RATE);
            self.received = self.input[0].len() as f64;
            self.start_t = now;
        } else if (error_s - self.baseline_s).abs() > self.config.snap_s {
            tracing::debug!(error_s, "channel off the clock: snapping");
            self.snap(error - self.baseline_s * f64::from(TARGET_RATE));
            self.envelope.clear();
            self.received += samples.len() as f64;
        } else if !samples.is_empty() {
            self.received += samples.len() as f64;
            if self.config.correct {
                // Measured only right after a delivery: between deliveries the error just grows
                // by the time since the last callback, which is not drift.
                self.steer(now, error_s)?;
            }
        }
        self.resample()
    }

    fn steer(&mut self, now: f64, error_s: f64) -> Result<(), AlignError> {
        let nominal = f64::from(self.rate);
        self.fit
            .add(now, self.received - nominal * now, self.config.fit_window_s);
        if let Some(excess) = self.fit.excess_rate(self.config.min_fit_s) {
            self.rate_rel = (nominal / (nominal + excess))
                .clamp(1.0 - self.config.max_adjust, 1.0 + self.config.max_adjust);
        }
        let bin = (now / BIN_S).floor() as i64;
        match self.envelope.back_mut() {
            Some((b, e)) if *b == bin => *e = e.max(error_s),
            _ => {
                self.envelope.push_back((bin, error_s));
                if self.envelope.len() > ENVELOPE_BINS {
                    self.envelope.pop_front();
                }
            }
        }
        let best = self
            .envelope
            .iter()
            .map(|(_, e)| *e)
            .fold(f64::NEG_INFINITY, f64::max);
        if !self.baseline_learned && now - self.start_t >= self.config.min_fit_s {
            // Where the least late deliveries of the first seconds landed is this device's
            // latency: kept as it is, not steered away.
            self.baseline_s = best;
            self.baseline_learned = true;
        }
        self.trim = 0.0;
        if self.baseline_learned && self.envelope.len() >= ENVELOPE_BINS / 2 {
            let off = best - self.baseline_s;
            let beyond = off.abs() - self.config.deadband_s;
            if beyond > 0.0 {
                self.trim = (self.config.trim_gain * beyond.copysign(off))
                    .clamp(-self.config.max_trim, self.config.max_trim);
            }
        }
        let rel = (self.rate_rel * (1.0 - self.trim))
            .clamp(1.0 - self.config.max_adjust, 1.0 + self.config.max_adjust);
        if (rel - self.rel).abs() > 1e-9 {
            self.rel = rel;
            if let Some(r) = self.resampler.as_mut() {
                r.set_resample_ratio_relative(self.rel, true)
                    .map_err(|e| AlignError {
                        rate: self.rate,
                        why: e.to_string(),
                    })?;
            }
        }
        self.stats.ratio = self.rel;
        Ok(())
    }

    /// Frames ahead (+) or behind (−) the clock at `now`.
    fn position_error(&self, now: f64) -> f64 {
        let pending = self.input[0].len() as f64 * self.base_ratio * self.rel;
        // The resampler holds `delay` output frames' worth of input inside its filter.
        self.end_pos as f64 + self.delay as f64 + pending - now * f64::from(TARGET_RATE)
    }

    fn snap(&mut self, error: f64) {
        let ratio = self.base_ratio * self.rel;
        if error < 0.0 {
            let n = (-error).round() as usize;
            self.pad(n);
            // The gap counts as received, so the rate fit sees a steady clock.
            self.received += n as f64 / ratio;
        } else {
            let mut excess = error.round() as usize;
            let from_queue = excess.min(self.queue.len());
            // Drop the oldest of what is not written yet: the stale part of a burst.
            self.queue.drain(..from_queue);
            self.end_pos -= from_queue as u64;
            excess -= from_queue;
            let input_frames = ((excess as f64 / ratio) as usize).min(self.input[0].len());
            self.input[0].drain(..input_frames);
            self.stats.dropped += from_queue as u64 + (input_frames as f64 * ratio) as u64;
            self.received -= from_queue as f64 / ratio + input_frames as f64;
        }
    }

    fn pad(&mut self, n: usize) {
        self.queue.extend(std::iter::repeat_n(0.0, n));
        self.end_pos += n as u64;
        self.stats.padded += n as u64;
    }

    fn resample(&mut self) -> Result<(), AlignError> {
        let Some(r) = self.resampler.as_mut() else {
            return Ok(());
        };
        let mut offset = 0;
        loop {
            let need = r.input_frames_next();
            if self.input[0].len() - offset < need {
                break;
            }
            let err = |e: String| AlignError {
                rate: self.rate,
                why: e,
            };
            let adapter_in = SequentialSliceOfVecs::new(&self.input, 1, offset + need)
                .map_err(|e| err(e.to_string()))?;
            let out_len = self.out_buf[0].len();
            let mut adapter_out = SequentialSliceOfVecs::new_mut(&mut self.out_buf, 1, out_len)
                .map_err(|e| err(e.to_string()))?;
            let indexing = Indexing::new().input_offset(offset);
            let (used, produced) = r
                .process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing))
                .map_err(|e| err(e.to_string()))?;
            offset += used;
            let skip = self.to_trim.min(produced);
            self.to_trim -= skip;
            self.queue.extend(&self.out_buf[0][skip..produced]);
            self.end_pos += (produced - skip) as u64;
        }
        self.input[0].drain(..offset);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::source::FileFeeder;

    /// Clicks every `every_s` seconds (a 5 ms burst), 16 kHz.
    fn clicks(secs: f64, every_s: f64) -> Vec<f32> {
        let n = (secs * 16_000.0) as usize;
        let period = (every_s * 16_000.0) as usize;
        (0..n)
            .map(|i| {
                if i % period < 80 {
                    0.8 * ((i % 16) as f32 / 8.0 - 1.0)
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Where the clicks start in `x` (first sample of each burst above 0.3 after silence).
    fn onsets(x: &[f32]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut quiet = 1000;
        for (i, v) in x.iter().enumerate() {
            if v.abs() > 0.3 && quiet >= 1000 {
                out.push(i);
            }
            quiet = if v.abs() > 0.3 { 0 } else { quiet + 1 };
        }
        out
    }

    /// Runs a source through an aligner on a simulated clock; returns the timeline and the
    /// ratio after each step. `device_time(now)` is how far the device has delivered by clock
    /// time `now` (now minus its latency at that moment); deliveries come in 60 ms bursts.
    fn run_with(
        speed: f64,
        rate_file: Vec<f32>,
        secs: f64,
        config: DriftConfig,
        mut device_time: impl FnMut(f64) -> f64,
    ) -> (Vec<f32>, AlignStats, Vec<f64>) {
        let (mut feeder, mut capture) =
            FileFeeder::from_samples(rate_file, 16_000, speed, "sim".into());
        let mut aligner = ChannelAligner::new(config);
        aligner.attach(capture.rate).expect("attach");
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut ratios = Vec::new();
        let steps = (secs / 0.02) as usize;
        for step in 1..=steps {
            let now = step as f64 * 0.02;
            if step % 3 == 0 {
                feeder.pump(device_time(now));
            }
            buf.clear();
            while let Ok(x) = capture.consumer.pop() {
                buf.push(x);
            }
            aligner.push(&buf, now).expect("push");
            out.extend(aligner.queue.drain(..));
            ratios.push(aligner.stats().ratio);
        }
        (out, aligner.stats(), ratios)
    }

    fn run(
        speed: f64,
        rate_file: Vec<f32>,
        secs: f64,
        config: DriftConfig,
    ) -> (Vec<f32>, AlignStats) {
        let (out, stats, _) = run_with(speed, rate_file, secs, config, |t| t);
        (out, stats)
    }

    /// A latency that jumps between 0 and 400 ms every 0.1–2 s (seeded, so every run is the
    /// same): the device stalls when it grows and bursts when it shrinks, as a busy machine's
    /// sound server does.
    fn jittery() -> impl FnMut(f64) -> f64 {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut latency = 0.0;
        let mut until = 0.0;
        move |now| {
            if now >= until {
                latency = 0.4 * next();
                until = now + 0.1 + 1.9 * next();
            }
            (now - latency).max(0.0)
        }
    }

    #[test]
    fn a_device_running_fast_stays_on_the_clock() {
        let secs = 180.0;
        let source = clicks(secs + 5.0, 5.0);
        let (corrected, stats) = run(1.001, source.clone(), secs, DriftConfig::default());
        let (uncorrected, _) = run(
            1.001,
            source,
            secs,
            DriftConfig {
                correct: false,
                ..Default::default()
            },
        );
        let last = |x: &[f32]| *onsets(x).last().expect("clicks");
        let expected = |i: usize| (i as f64 * 5.0 * 16_000.0) as i64;
        let n = onsets(&corrected).len() - 1;
        // Without correction the last click is 0.1 % late by now (~170 ms at 175 s) ...
        let late = last(&uncorrected) as i64 - expected(n);
        assert!(
            late > 2_400,
            "uncorrected offset {late} frames: the test would not notice drift"
        );
        // ... with it, within 20 ms of where the clock puts it.
        let off = last(&corrected) as i64 - expected(n);
        assert!(
            off.abs() < 320,
            "corrected offset {off} frames ({:.1} ms)",
            off as f64 / 16.0
        );
        assert!(
            (stats.ratio - 1.0 / 1.001).abs() < 0.0003,
            "learned ratio {}",
            stats.ratio
        );
        // And the timeline is exactly as long as the clock says.
        assert!(
            (corrected.len() as i64 - (secs * 16_000.0) as i64).abs() < 2_000,
            "{}",
            corrected.len()
        );
    }

    #[test]
    fn a_48k_device_is_resampled_in_time() {
        // A 48 kHz source: the same clicks at three times the rate.
        let c16 = clicks(20.0, 2.0);
        let c48: Vec<f32> = c16.iter().flat_map(|&x| [x, x, x]).collect();
        let (mut feeder, mut capture) = FileFeeder::from_samples(c48, 48_000, 1.0, "48k".into());
        let mut aligner = ChannelAligner::new(DriftConfig::default());
        aligner.attach(48_000).expect("attach");
        let mut out = Vec::new();
        for step in 1..=900 {
            let now = step as f64 * 0.02;
            feeder.pump(now);
            let buf: Vec<f32> = std::iter::from_fn(|| capture.consumer.pop().ok()).collect();
            aligner.push(&buf, now).expect("push");
            out.extend(aligner.queue.drain(..));
        }
        let on = onsets(&out);
        assert!(on.len() >= 8, "{on:?}");
        for (i, at) in on.iter().enumerate() {
            let want = i * 32_000;
            assert!(
                (*at as i64 - want as i64).abs() < 160,
                "click {i} at {at}, expected {want}"
            );
        }
    }

    #[test]
    fn a_device_that_starts_late_is_placed_where_its_sound_arrived() {
        let source = clicks(12.0, 2.0);
        let (mut feeder, mut capture) =
            FileFeeder::from_samples(source, 16_000, 1.0, "late".into());
        let mut aligner = ChannelAligner::new(DriftConfig::default());
        aligner.attach(16_000).expect("attach");
        let mut out = Vec::new();
        for step in 1..=500 {
            let now = step as f64 * 0.02;
            // The first callback comes 1.5 s after the start (cpal can take that long).
            if now > 1.5 {
                feeder.pump(now - 1.5);
            }
            let buf: Vec<f32> = std::iter::from_fn(|| capture.consumer.pop().ok()).collect();
            aligner.push(&buf, now).expect("push");
            out.extend(aligner.queue.drain(..));
        }
        let on = onsets(&out);
        assert!(on.len() >= 4, "{on:?}");
        for (i, at) in on.iter().enumerate() {
            let want = 24_000 + i * 32_000;
            assert!(
                (*at as i64 - want as i64).abs() < 160,
                "click {i} at {at}, expected {want}"
            );
        }
        assert!((out.len() as i64 - 160_000).abs() < 800, "{}", out.len());
        assert!(aligner.stats().padded >= 23_000, "{:?}", aligner.stats());
    }

    #[test]
    fn late_deliveries_bursts_and_stalls_do_not_move_the_rate() {
        let secs = 300.0;
        let source = clicks(secs + 5.0, 5.0);
        let (out, stats, ratios) = run_with(1.0, source, secs, DriftConfig::default(), jittery());
        // The device's clock is exact: after the first half minute the ratio stays within
        // 0.05 % of 1 (a controller that chases the latency sits at its ±1 % limit here).
        let worst = ratios[1500..]
            .iter()
            .map(|r| (r - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-4, "ratio moved by {worst:.6} under jitter");
        // Nothing was padded or dropped after the start: the stalls were waited out.
        assert_eq!(stats.dropped, 0, "{stats:?}");
        assert!(stats.padded < 8_000, "{stats:?}");
        // Every click where the clock puts it (the first delivery may have been up to 0.4 s
        // late: that offset is the device's latency and stays constant).
        let on = onsets(&out);
        assert!(on.len() >= 55, "{}", on.len());
        let offset = on[0] as i64;
        for (i, at) in on.iter().enumerate() {
            let drift = *at as i64 - offset - (i as i64 * 80_000);
            assert!(
                drift.abs() < 480,
                "click {i} moved {:.1} ms",
                drift as f64 / 16.0
            );
        }
    }

    #[test]
    fn a_fast_clock_is_corrected_through_jitter() {
        let secs = 300.0;
        let source = clicks(secs + 5.0, 5.0);
        let (out, stats, _) = run_with(1.001, source, secs, DriftConfig::default(), jittery());
        assert!(
            (stats.ratio - 1.0 / 1.001).abs() < 1e-4,
            "learned ratio {}",
            stats.ratio
        );
        let on = onsets(&out);
        let offset = on[0] as i64;
        let n = on.len() - 1;
        // Uncorrected, the last click would be 0.1 % (≈ 300 ms) late by now.
        let drift = on[n] as i64 - offset - (n as i64 * 80_000);
        assert!(
            drift.abs() < 960,
            "last click {:.1} ms off",
            drift as f64 / 16.0
        );
    }

    #[test]
    fn a_startup_backlog_is_kept_as_latency_unless_it_is_absurd() {
        // The first delivery, 0.3 s in, brings 0.6 s: 0.3 s were queued before the start.
        let (out, stats, ratios) = run_with(
            1.0,
            clicks(65.0, 2.0),
            60.0,
            DriftConfig::default(),
            |now| now + 0.3,
        );
        assert_eq!(stats.dropped, 0, "{stats:?}");
        let on = onsets(&out);
        // The first click (at the very start of the audio) is there, and all the others are
        // 2 s apart: nothing was cut, nothing is being steered away.
        assert!(on[0] < 400, "{:?}", &on[..3]);
        assert!(on.len() >= 29, "{}", on.len());
        for w in on.windows(2) {
            assert!((w[1] as i64 - w[0] as i64 - 32_000).abs() < 40, "{w:?}");
        }
        assert!(ratios.iter().all(|r| (r - 1.0).abs() < 2e-4));
        // A first delivery of 3 s when the recording is 0.1 s old is stale: only the bound is
        // kept.
        let (_, stats, _) = run_with(
            1.0,
            clicks(20.0, 2.0),
            10.0,
            DriftConfig::default(),
            |now| now + 2.9,
        );
        let dropped_s = stats.dropped as f64 / 16_000.0;
        assert!((dropped_s - 2.5).abs() < 0.1, "dropped {dropped_s} s");
    }
}
