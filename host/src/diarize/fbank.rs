//! Kaldi-compatible 80-bin log mel filter bank, the front-end CAM++ was trained with
//! (`torchaudio.compliance.kaldi.fbank(num_mel_bins=80, dither=0)`; the models' README spells
//! out every step). The embedding model sees nothing else, so any drift here is drift in who is
//! who: the test compares it with the Python reference.

use realfft::RealFftPlanner;

pub const MEL_BINS: usize = 80;
pub const FRAME_LEN: usize = 400;
pub const FRAME_SHIFT: usize = 160;
const FFT_LEN: usize = 512;
const SAMPLE_RATE: f64 = 16_000.0;

/// One triangular filter: its first FFT bin and weights from there on (most are zero, so a
/// dense 256x80 product would be 40x the work).
struct Filter {
    first: usize,
    weights: Vec<f32>,
}

pub struct Fbank {
    window: Vec<f32>,
    filters: Vec<Filter>,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
}

impl Default for Fbank {
    fn default() -> Self {
        Fbank::new()
    }
}

impl Fbank {
    pub fn new() -> Fbank {
        let window = (0..FRAME_LEN)
            .map(|n| {
                let hann = 0.5
                    - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / (FRAME_LEN - 1) as f64).cos();
                hann.powf(0.85) as f32
            })
            .collect();
        let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
        let (low, high) = (mel(20.0), mel(SAMPLE_RATE / 2.0));
        let delta = (high - low) / (MEL_BINS + 1) as f64;
        let filters = (0..MEL_BINS)
            .map(|m| {
                let left = low + delta * m as f64;
                let (center, right) = (left + delta, left + 2.0 * delta);
                let weights: Vec<(usize, f32)> = (0..FFT_LEN / 2)
                    .filter_map(|k| {
                        let fm = mel(k as f64 * SAMPLE_RATE / FFT_LEN as f64);
                        let w =
                            ((fm - left) / (center - left)).min((right - fm) / (right - center));
                        (w > 0.0).then_some((k, w as f32))
                    })
                    .collect();
                let first = weights.first().map_or(0, |w| w.0);
                let mut dense = vec![0.0; weights.last().map_or(0, |w| w.0 + 1 - first)];
                for (k, w) in weights {
                    dense[k - first] = w;
                }
                Filter {
                    first,
                    weights: dense,
                }
            })
            .collect();
        Fbank {
            window,
            filters,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN),
        }
    }

    /// Frames of `samples` (16 kHz, [-1, 1]), `snip_edges`: frame j covers samples
    /// `[160 j, 160 j + 400)`. Returns frames x 80, row-major, not mean-normalised.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        if samples.len() < FRAME_LEN {
            return Vec::new();
        }
        let frames = frames_of(samples.len());
        let mut out = Vec::with_capacity(frames * MEL_BINS);
        let mut buf = vec![0.0f32; FFT_LEN];
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; FFT_LEN / 2];
        for j in 0..frames {
            let frame = &samples[j * FRAME_SHIFT..j * FRAME_SHIFT + FRAME_LEN];
            let mean = frame.iter().map(|&x| x as f64).sum::<f64>() / FRAME_LEN as f64;
            let mut prev = frame[0] as f64 - mean;
            for (n, &x) in frame.iter().enumerate() {
                let x = x as f64 - mean;
                let emphasised = if n == 0 {
                    x - 0.97 * x
                } else {
                    x - 0.97 * prev
                };
                prev = x;
                buf[n] = (emphasised * self.window[n] as f64) as f32;
            }
            buf[FRAME_LEN..].fill(0.0);
            // The buffer is exactly the planned length, so this cannot fail.
            let _ = self
                .fft
                .process_with_scratch(&mut buf, &mut spectrum, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for f in &self.filters {
                let energy: f32 = f
                    .weights
                    .iter()
                    .zip(&power[f.first..])
                    .map(|(w, p)| w * p)
                    .sum();
                out.push(energy.max(f32::EPSILON).ln());
            }
        }
        out
    }
}

/// Frames [`Fbank::compute`] gives for `samples` samples.
pub fn frames_of(samples: usize) -> usize {
    if samples < FRAME_LEN {
        0
    } else {
        1 + (samples - FRAME_LEN) / FRAME_SHIFT
    }
}

/// Subtracts each mel bin's mean over the given frames (what CAM++ expects of its input).
pub fn mean_normalise(frames: &mut [f32]) {
    let n = frames.len() / MEL_BINS;
    if n == 0 {
        return;
    }
    let mut mean = [0.0f64; MEL_BINS];
    for row in frames.chunks_exact(MEL_BINS) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    for row in frames.chunks_exact_mut(MEL_BINS) {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= *m as f32;
        }
    }
}
