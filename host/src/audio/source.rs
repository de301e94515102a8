//! Capture sources: anything that delivers mono f32 samples at its own rate into a lock-free
//! ring buffer. The audio callback of a real device and the file-backed test source share this
//! shape, so the recorder cannot tell them apart.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Seconds of audio the ring buffer holds: the writer thread may stall this long (disk hiccup,
/// CPU load) before a single frame is dropped.
pub const RING_SECONDS: usize = 4;

/// What a running source reports; written by the audio thread without locks.
#[derive(Default)]
pub struct SourceStatus {
    /// Frames handed to the ring buffer since the start.
    pub frames: AtomicU64,
    /// Frames dropped because the ring buffer was full (the writer fell behind).
    pub dropped: AtomicU64,
    /// Highest absolute sample since the meter last read it (f32 bits).
    peak: AtomicU32,
    /// The device is gone (unplugged, server restarted); the stream delivers nothing more.
    pub failed: AtomicBool,
    /// Why it failed; written by the error callback, never by the data callback.
    pub error: Mutex<Option<String>>,
}

impl SourceStatus {
    /// The peak since the last call (0..1), and resets it.
    pub fn take_peak(&self) -> f32 {
        f32::from_bits(self.peak.swap(0, Ordering::Relaxed))
    }

    pub fn fail(&self, why: String) {
        if let Ok(mut e) = self.error.lock() {
            e.get_or_insert(why);
        }
        self.failed.store(true, Ordering::Release);
    }

    pub fn error_message(&self) -> String {
        self.error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_else(|| "the device stopped".into())
    }
}

/// The producer side, owned by the audio callback. Pushing never blocks and never allocates.
pub struct Feed {
    producer: rtrb::Producer<f32>,
    status: Arc<SourceStatus>,
}

impl Feed {
    /// Pushes interleaved frames of `channels` channels, mixed to mono.
    pub fn push_interleaved<T: Copy>(
        &mut self,
        data: &[T],
        channels: usize,
        to_f32: impl Fn(T) -> f32,
    ) {
        let channels = channels.max(1);
        let frames = data.len() / channels;
        let mut peak = 0f32;
        let room = self.producer.slots();
        let take = frames.min(room);
        if let Ok(mut chunk) = self.producer.write_chunk_uninit(take) {
            let (a, b) = chunk.as_mut_slices();
            for (i, slot) in a.iter_mut().chain(b.iter_mut()).enumerate() {
                let frame = &data[i * channels..(i + 1) * channels];
                let x = frame.iter().map(|&s| to_f32(s)).sum::<f32>() / channels as f32;
                peak = peak.max(x.abs());
                slot.write(x);
            }
            // SAFETY: every one of the `take` slots was written just above.
            unsafe { chunk.commit_all() };
        }
        self.status.frames.fetch_add(take as u64, Ordering::Relaxed);
        if take < frames {
            self.status
                .dropped
                .fetch_add((frames - take) as u64, Ordering::Relaxed);
        }
        self.status
            .peak
            .fetch_max(peak.to_bits(), Ordering::Relaxed);
    }

    pub fn status(&self) -> &Arc<SourceStatus> {
        &self.status
    }
}

/// A started source as the recorder sees it: its rate, the consumer end of its ring buffer,
/// its status, and whatever keeps the stream alive.
pub struct Capture {
    pub name: String,
    pub rate: u32,
    pub consumer: rtrb::Consumer<f32>,
    pub status: Arc<SourceStatus>,
    /// Dropping this stops the stream (the cpal stream, or the file source's thread).
    pub keep_alive: Box<dyn Send>,
}

/// A ring buffer for a source of `rate` Hz: the feed for the audio side, the rest for the writer.
pub fn ring(rate: u32) -> (Feed, rtrb::Consumer<f32>, Arc<SourceStatus>) {
    let (producer, consumer) = rtrb::RingBuffer::new(rate as usize * RING_SECONDS);
    let status = Arc::new(SourceStatus::default());
    (
        Feed {
            producer,
            status: status.clone(),
        },
        consumer,
        status,
    )
}

/// A WAV file played as if it were a device: the deterministic stand-in for a microphone or a
/// monitor source in tests and benchmarks. `speed` simulates a device clock that runs fast
/// (1.001 = 0.1 % fast): it then delivers `speed` times as many frames per second of real time,
/// the sound stretched accordingly, exactly as a fast device samples the same sound.
pub struct FileFeeder {
    samples: Vec<f32>,
    rate: u32,
    speed: f64,
    delivered: u64,
    /// After this many seconds the source reports the device as gone.
    fail_after: Option<f64>,
    feed: Feed,
}

impl FileFeeder {
    /// Loads the file's channel `channel` (or its mono mix when None), at 16 kHz.
    pub fn open(
        path: &Path,
        channel: Option<usize>,
        speed: f64,
    ) -> Result<(FileFeeder, Capture), super::decode::DecodeError> {
        let (_, channels) = super::decode::decode_file(path)?;
        let samples = match channel {
            Some(c) => channels.get(c).cloned().unwrap_or_default(),
            None => super::decode::mix_to_mono(&channels),
        };
        Ok(Self::from_samples(
            samples,
            super::decode::TARGET_RATE,
            speed,
            path.display().to_string(),
        ))
    }

    pub fn from_samples(
        samples: Vec<f32>,
        rate: u32,
        speed: f64,
        name: String,
    ) -> (FileFeeder, Capture) {
        let (feed, consumer, status) = ring(rate);
        let feeder = FileFeeder {
            samples,
            rate,
            speed,
            delivered: 0,
            fail_after: None,
            feed,
        };
        let capture = Capture {
            name,
            rate,
            consumer,
            status,
            keep_alive: Box::new(()),
        };
        (feeder, capture)
    }

    pub fn fail_after(mut self, seconds: f64) -> Self {
        self.fail_after = Some(seconds);
        self
    }

    /// Delivers every frame due at `now` seconds after the start; silence past the file's end.
    pub fn pump(&mut self, now: f64) {
        if self.feed.status.failed.load(Ordering::Relaxed) {
            return;
        }
        if self.fail_after.is_some_and(|t| now >= t) {
            self.feed.status.fail("simulated unplug".into());
            return;
        }
        let due = (now * f64::from(self.rate) * self.speed) as u64;
        let mut block = [0f32; 256];
        while self.delivered < due {
            let n = ((due - self.delivered) as usize).min(block.len());
            for (i, slot) in block[..n].iter_mut().enumerate() {
                *slot = self.sample_at(self.delivered + i as u64);
            }
            self.feed.push_interleaved(&block[..n], 1, |x| x);
            self.delivered += n as u64;
        }
    }

    /// The sound at the instant the `k`-th frame of this (possibly fast) clock samples it.
    fn sample_at(&self, k: u64) -> f32 {
        let pos = k as f64 / self.speed;
        let i = pos as usize;
        let frac = (pos - i as f64) as f32;
        let a = self.samples.get(i).copied().unwrap_or(0.0);
        let b = self.samples.get(i + 1).copied().unwrap_or(0.0);
        a + (b - a) * frac
    }

    /// Plays in real time on its own thread (like a device) until the capture is dropped.
    pub fn spawn(mut self, mut capture: Capture) -> Capture {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("file-source".into())
            .spawn(move || {
                let start = Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    self.pump(start.elapsed().as_secs_f64());
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        if let Err(e) = thread {
            capture
                .status
                .fail(format!("cannot start the file source thread: {e}"));
        }
        capture.keep_alive = Box::new(StopOnDrop(stop));
        capture
    }
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_drops_and_counts_instead_of_blocking() {
        let (mut feeder, capture) =
            FileFeeder::from_samples(vec![0.5; 16_000 * 10], 16_000, 1.0, "t".into());
        feeder.pump(6.0); // 6 s into a 4 s ring, nobody reading
        assert_eq!(
            capture.status.frames.load(Ordering::Relaxed),
            16_000 * RING_SECONDS as u64
        );
        assert_eq!(capture.status.dropped.load(Ordering::Relaxed), 16_000 * 2);
        assert!((capture.status.take_peak() - 0.5).abs() < 1e-6);
        assert_eq!(
            capture.status.take_peak(),
            0.0,
            "the meter resets when read"
        );
        assert_eq!(capture.consumer.slots(), 16_000 * RING_SECONDS);
    }

    #[test]
    fn a_fast_clock_delivers_more_frames_of_the_same_sound() {
        let ramp: Vec<f32> = (0..16_000).map(|i| i as f32 / 16_000.0).collect();
        let (mut feeder, mut capture) = FileFeeder::from_samples(ramp, 16_000, 1.01, "t".into());
        feeder.pump(0.5);
        let got: Vec<f32> = std::iter::from_fn(|| capture.consumer.pop().ok()).collect();
        assert_eq!(got.len(), 8_080);
        // Half a second of sound, in 1 % more frames.
        assert!((got[8_079] - 0.5).abs() < 0.001, "{}", got[8_079]);
    }
}
