//! One recording channel: a device's samples resampled to 16 kHz and kept on the recording's
//! timeline, which is the monotonic clock.
//!
//! Two devices never share a clock: a microphone at "48 kHz" may deliver 48 048 frames a second
//! and the sound card 47 990. Resampling each by its nominal rate would let the channels drift
//! apart by seconds over an hour. So every channel is steered to the system clock instead:
//!
//! * Position error: where this channel's audio ends on the timeline (frames produced, plus the
//!   input still pending, at the current ratio) minus where it should end (elapsed clock × 16 kHz).
//! * The error is smoothed (callbacks arrive in bursts) and drives a slow PI controller that
//!   nudges the resampling ratio by at most ±1 %, far below anything audible or harmful to
//!   recognition. The integral term learns the device's true rate, so a steady drift leaves no
//!   standing offset.
//! * Large errors are not steered but snapped: a device that starts late, stalls or is replaced
//!   gets silence padded in; a burst of stale audio is dropped. The timeline is never stretched
//!   to cover a gap.

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
    /// Proportional gain: ratio change per second of error.
    pub kp: f64,
    /// Integral gain: ratio change per second of error per second.
    pub ki: f64,
    /// Time constant of the error smoothing, seconds.
    pub smooth_s: f64,
    /// Errors beyond this many seconds are snapped (pad or drop), not steered.
    pub snap_s: f64,
    /// Largest relative ratio change (0.01 = 1 %).
    pub max_adjust: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        // A loop of about 2 minutes (ω = 0.05/s, damping 1): slow enough to ignore callback
        // jitter, fast enough to hold a 0.1 % drift within ~20 ms.
        DriftConfig {
            correct: true,
            kp: 0.1,
            ki: 0.0025,
            smooth_s: 2.0,
            snap_s: 0.4,
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
    err_smooth: f64,
    integral: f64,
    rel: f64,
    last_t: f64,
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
            err_smooth: 0.0,
            integral: 0.0,
            rel: 1.0,
            last_t: 0.0,
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
        self.integral = 0.0;
        self.err_smooth = 0.0;
        self.rel = 1.0;
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
            self.snap(error);
            self.last_t = now;
        } else if error_s.abs() > self.config.snap_s {
            tracing::debug!(error_s, "channel off the clock: snapping");
            self.snap(error);
            self.err_smooth = 0.0;
        } else if self.config.correct && !samples.is_empty() {
            // Measured only right after a delivery: between deliveries the error just grows
            // by the time since the last callback, which is not drift but a constant latency.
            let dt = (now - self.last_t).max(0.0);
            self.err_smooth += (error_s - self.err_smooth) * (dt / self.config.smooth_s).min(1.0);
            let limit = self.config.max_adjust / self.config.ki.max(1e-12);
            self.integral = (self.integral + self.err_smooth * dt).clamp(-limit, limit);
            let u = (self.config.kp * self.err_smooth + self.config.ki * self.integral)
                .clamp(-self.config.max_adjust, self.config.max_adjust);
            self.rel = 1.0 - u;
            if let Some(r) = self.resampler.as_mut() {
                r.set_resample_ratio_relative(self.rel, true)
                    .map_err(|e| AlignError {
                        rate: self.rate,
                        why: e.to_string(),
                    })?;
            }
            self.stats.ratio = self.rel;
            self.last_t = now;
        }
        self.resample()
    }

    /// Frames ahead (+) or behind (−) the clock at `now`.
    fn position_error(&self, now: f64) -> f64 {
        let pending = self.input[0].len() as f64 * self.base_ratio * self.rel;
        // The resampler holds `delay` output frames' worth of input inside its filter.
        self.end_pos as f64 + self.delay as f64 + pending - now * f64::from(TARGET_RATE)
    }

    fn snap(&mut self, error: f64) {
        if error < 0.0 {
            self.pad((-error).round() as usize);
        } else {
            let mut excess = error.round() as usize;
            let from_queue = excess.min(self.queue.len());
            // Drop the oldest of what is not written yet: the stale part of a burst.
            self.queue.drain(..from_queue);
            self.end_pos -= from_queue as u64;
            excess -= from_queue;
            let ratio = self.base_ratio * self.rel;
            let input_frames = ((excess as f64 / ratio) as usize).min(self.input[0].len());
            self.input[0].drain(..input_frames);
            self.stats.dropped += from_queue as u64 + (input_frames as f64 * ratio) as u64;
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

    /// Runs a source through an aligner on a simulated clock; returns the timeline.
    fn run(
        speed: f64,
        rate_file: Vec<f32>,
        secs: f64,
        config: DriftConfig,
    ) -> (Vec<f32>, AlignStats) {
        let (mut feeder, mut capture) =
            FileFeeder::from_samples(rate_file, 16_000, speed, "sim".into());
        let mut aligner = ChannelAligner::new(config);
        aligner.attach(capture.rate).expect("attach");
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let steps = (secs / 0.02) as usize;
        for step in 1..=steps {
            let now = step as f64 * 0.02;
            // Deliveries in 60 ms bursts, as a real device's callbacks come.
            if step % 3 == 0 {
                feeder.pump(now);
            }
            buf.clear();
            while let Ok(x) = capture.consumer.pop() {
                buf.push(x);
            }
            aligner.push(&buf, now).expect("push");
            out.extend(aligner.queue.drain(..));
        }
        (out, aligner.stats())
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
}
