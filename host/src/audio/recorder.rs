//! The writer side of a recording: drains each source's ring buffer, keeps both channels on the
//! clock's timeline ([`ChannelAligner`]), writes 2-channel 16 kHz frames to the sink, syncs about
//! every half second, hands the audio to the live transcript without ever waiting for it, and
//! replaces a device that went away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Sender, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use super::align::{AlignError, AlignStats, ChannelAligner, DriftConfig};
use super::source::Capture;
use super::wav::{PcmSink, is_disk_full};

/// Channel 0 is the microphone ("me"), channel 1 the system audio ("others").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Mic,
    System,
}

impl Role {
    pub fn index(self) -> usize {
        match self {
            Role::Mic => 0,
            Role::System => 1,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Mic => "microphone",
            Role::System => "system audio",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "the disk is full: the recording stopped at {at}; everything up to there is kept in {path} — free some space, then `minutes recover` turns it into a meeting"
    )]
    DiskFull { at: String, path: String },
    #[error("cannot write the recording {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Align(#[from] AlignError),
    /// The recorder's thread panicked; the file keeps what was synced.
    #[error("{0}")]
    Crashed(String),
}

#[derive(Debug, Clone)]
pub enum RecorderEvent {
    DeviceLost { role: Role, why: String },
    DeviceBack { role: Role, name: String },
}

/// 16 kHz audio of both channels from timeline frame `start` on, for the live transcript.
pub struct LiveBlock {
    pub start: u64,
    pub channels: [Vec<f32>; 2],
}

/// What the status line reads while recording.
#[derive(Default)]
pub struct Meters {
    pub frames: AtomicU64,
    peaks: [AtomicU32; 2],
}

impl Meters {
    /// Peak level per channel since the last call (0..1).
    pub fn take_peaks(&self) -> [f32; 2] {
        [0, 1].map(|i| f32::from_bits(self.peaks[i].swap(0, Ordering::Relaxed)))
    }
}

/// Opens a replacement for a channel whose device went away (the default device of that role).
pub type Reopen = Box<dyn FnMut(Role) -> Option<Capture> + Send>;

struct Channel {
    role: Role,
    capture: Option<Capture>,
    aligner: ChannelAligner,
    /// The device went away and should be replaced.
    lost: bool,
    dropped_before: u64,
}

/// Figures from a finished recording (for the benchmark and the closing line).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RecordSummary {
    pub frames: u64,
    /// Frames the audio callbacks could not store (ring buffer full), per channel.
    pub ring_dropped: [u64; 2],
    /// Silence inserted / stale audio dropped to keep each channel on the clock, in 16 kHz frames.
    pub padded: [u64; 2],
    pub clock_dropped: [u64; 2],
    /// Timeline ranges (frames) the live transcript did not get and must catch up on.
    pub live_gaps: Vec<(u64, u64)>,
    /// The relative resampling ratio each channel settled on (drift learned).
    pub ratio: [f64; 2],
    pub stopped_by_error: Option<String>,
}

pub struct Recorder {
    channels: [Channel; 2],
    sink: Box<dyn PcmSink>,
    path: String,
    written: u64,
    last_sync: f64,
    sync_every: f64,
    scratch: Vec<f32>,
    interleaved: Vec<i16>,
    live: Option<SyncSender<LiveBlock>>,
    live_gaps: Vec<(u64, u64)>,
    meters: Arc<Meters>,
    events: Option<Sender<RecorderEvent>>,
    reopen: Option<Reopen>,
    last_reopen: f64,
}

impl Recorder {
    /// `mic` and `system` are the started sources (None: that channel stays silent). The
    /// recording's clock starts now: take the `Instant` right before or after this call.
    pub fn new(
        mic: Option<Capture>,
        system: Option<Capture>,
        sink: Box<dyn PcmSink>,
        path: String,
        drift: DriftConfig,
    ) -> Result<Recorder, RecordError> {
        let mut channels = [Role::Mic, Role::System].map(|role| Channel {
            role,
            capture: None,
            aligner: ChannelAligner::new(drift),
            lost: false,
            dropped_before: 0,
        });
        for (ch, capture) in channels.iter_mut().zip([mic, system]) {
            if let Some(mut c) = capture {
                ch.aligner.attach(c.rate)?;
                // The streams were started while the devices were being opened (seconds, with
                // PulseAudio): what they captured until now precedes the recording's timeline,
                // which the caller starts right here. Left in, it would reach the aligner as a
                // first delivery of seconds of "stale" audio.
                if let Ok(chunk) = c.consumer.read_chunk(c.consumer.slots()) {
                    chunk.commit_all();
                }
                ch.capture = Some(c);
            }
        }
        Ok(Recorder {
            channels,
            sink,
            path,
            written: 0,
            last_sync: 0.0,
            sync_every: 0.5,
            scratch: Vec::with_capacity(48_000),
            interleaved: Vec::with_capacity(32_000),
            live: None,
            live_gaps: Vec::new(),
            meters: Arc::new(Meters::default()),
            events: None,
            reopen: None,
            last_reopen: 0.0,
        })
    }

    pub fn with_live(mut self, live: SyncSender<LiveBlock>) -> Self {
        self.live = Some(live);
        self
    }

    pub fn with_events(mut self, events: Sender<RecorderEvent>) -> Self {
        self.events = Some(events);
        self
    }

    pub fn with_reopen(mut self, reopen: Reopen) -> Self {
        self.reopen = Some(reopen);
        self
    }

    pub fn meters(&self) -> Arc<Meters> {
        self.meters.clone()
    }

    pub fn written_frames(&self) -> u64 {
        self.written
    }

    fn event(&self, e: RecorderEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Brings the recording up to clock time `now` (seconds since the start).
    pub fn tick(&mut self, now: f64) -> Result<(), RecordError> {
        for i in 0..2 {
            self.drain_channel(i, now)?;
        }
        self.replace_lost(now)?;
        let n = self
            .channels
            .iter()
            .map(|c| c.aligner.queue.len())
            .min()
            .unwrap_or(0);
        self.write(n)?;
        if now - self.last_sync >= self.sync_every {
            self.sync()?;
            self.last_sync = now;
        }
        Ok(())
    }

    fn drain_channel(&mut self, i: usize, now: f64) -> Result<(), RecordError> {
        let ch = &mut self.channels[i];
        self.scratch.clear();
        let mut lost = None;
        if let Some(c) = ch.capture.as_mut() {
            let available = c.consumer.slots();
            if let Ok(chunk) = c.consumer.read_chunk(available) {
                let (a, b) = chunk.as_slices();
                self.scratch.extend_from_slice(a);
                self.scratch.extend_from_slice(b);
                chunk.commit_all();
            }
            if c.status.failed.load(Ordering::Acquire) {
                lost = Some(c.status.error_message());
            }
        }
        ch.aligner.push(&self.scratch, now)?;
        if let Some(why) = lost {
            if let Some(c) = ch.capture.take() {
                ch.dropped_before += c.status.dropped.load(Ordering::Relaxed);
            }
            ch.aligner.detach();
            ch.lost = true;
            let role = ch.role;
            tracing::warn!(role = role.label(), why, "device lost");
            self.event(RecorderEvent::DeviceLost { role, why });
        }
        Ok(())
    }

    fn replace_lost(&mut self, now: f64) -> Result<(), RecordError> {
        if !self.channels.iter().any(|c| c.lost) || now - self.last_reopen < 2.0 {
            return Ok(());
        }
        self.last_reopen = now;
        let Some(reopen) = self.reopen.as_mut() else {
            return Ok(());
        };
        for ch in self.channels.iter_mut().filter(|c| c.lost) {
            if let Some(mut c) = reopen(ch.role) {
                ch.aligner.attach(c.rate)?;
                // As at the start: what it captured while being opened is not "now".
                if let Ok(chunk) = c.consumer.read_chunk(c.consumer.slots()) {
                    chunk.commit_all();
                }
                let name = c.name.clone();
                ch.capture = Some(c);
                ch.lost = false;
                let role = ch.role;
                if let Some(tx) = &self.events {
                    let _ = tx.send(RecorderEvent::DeviceBack { role, name });
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, n: usize) -> Result<(), RecordError> {
        if n == 0 {
            return Ok(());
        }
        self.interleaved.clear();
        let mut peaks = [0f32; 2];
        let [a, b] = &mut self.channels;
        let mut block = self.live.as_ref().map(|_| LiveBlock {
            start: self.written,
            channels: [Vec::with_capacity(n), Vec::with_capacity(n)],
        });
        for (x, y) in a.aligner.queue.drain(..n).zip(b.aligner.queue.drain(..n)) {
            peaks[0] = peaks[0].max(x.abs());
            peaks[1] = peaks[1].max(y.abs());
            self.interleaved.push(to_i16(x));
            self.interleaved.push(to_i16(y));
            if let Some(block) = block.as_mut() {
                block.channels[0].push(x);
                block.channels[1].push(y);
            }
        }
        if let Err(e) = self.sink.append(&self.interleaved) {
            return Err(self.write_failed(e));
        }
        if let (Some(tx), Some(block)) = (&self.live, block) {
            // The live transcript never holds up the recording: what it cannot take now it
            // catches up on from the file after the stop.
            if let Err(TrySendError::Full(block) | TrySendError::Disconnected(block)) =
                tx.try_send(block)
            {
                let start = block.start;
                match self.live_gaps.last_mut() {
                    Some((_, end)) if *end == start => *end = start + n as u64,
                    _ => self.live_gaps.push((start, start + n as u64)),
                }
            }
        }
        self.written += n as u64;
        self.meters.frames.store(self.written, Ordering::Relaxed);
        for (m, p) in self.meters.peaks.iter().zip(peaks) {
            m.fetch_max(p.to_bits(), Ordering::Relaxed);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), RecordError> {
        self.sink.sync().map_err(|e| self.write_failed(e))
    }

    fn write_failed(&mut self, e: std::io::Error) -> RecordError {
        // Keep what is there: the header rewrite needs no new space.
        let _ = self.sink.sync();
        if is_disk_full(&e) {
            RecordError::DiskFull {
                at: clock(self.written / 16),
                path: self.path.clone(),
            }
        } else {
            RecordError::Io {
                path: self.path.clone(),
                source: e,
            }
        }
    }

    /// Stops: takes what the sources still hold, evens out the channels, syncs.
    pub fn finish(mut self, now: f64) -> (RecordSummary, Result<(), RecordError>) {
        let mut result = self.tick(now);
        if result.is_ok() {
            for ch in &mut self.channels {
                ch.capture = None; // stops the streams
            }
            let n = self
                .channels
                .iter()
                .map(|c| c.aligner.queue.len())
                .max()
                .unwrap_or(0);
            for ch in &mut self.channels {
                let short = n - ch.aligner.queue.len();
                ch.aligner.queue.extend(std::iter::repeat_n(0.0, short));
            }
            result = self.write(n).and_then(|_| self.sync());
        }
        let stats: Vec<AlignStats> = self.channels.iter().map(|c| c.aligner.stats()).collect();
        let summary = RecordSummary {
            frames: self.written,
            ring_dropped: [0, 1].map(|i| {
                self.channels[i].dropped_before
                    + self.channels[i]
                        .capture
                        .as_ref()
                        .map_or(0, |c| c.status.dropped.load(Ordering::Relaxed))
            }),
            padded: [stats[0].padded, stats[1].padded],
            clock_dropped: [stats[0].dropped, stats[1].dropped],
            live_gaps: std::mem::take(&mut self.live_gaps),
            ratio: [stats[0].ratio, stats[1].ratio],
            stopped_by_error: result.as_ref().err().map(|e| e.to_string()),
        };
        (summary, result)
    }
}

/// mm:ss or h:mm:ss.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Runs the recorder on its own thread against the monotonic clock until `stop` is set or
/// writing fails. The thread wakes every 20 ms; everything it does is bounded work.
pub fn spawn(
    mut recorder: Recorder,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<(RecordSummary, Result<(), RecordError>)>> {
    std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = recorder.tick(started.elapsed().as_secs_f64()) {
                    let mut summary = recorder.finish_after_error();
                    summary.stopped_by_error = Some(e.to_string());
                    return (summary, Err(e));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            recorder.finish(started.elapsed().as_secs_f64())
        })
}

impl Recorder {
    /// After a write error nothing more is written; only the figures are collected.
    fn finish_after_error(mut self) -> RecordSummary {
        for ch in &mut self.channels {
            ch.capture = None;
        }
        RecordSummary {
            frames: self.written,
            live_gaps: std::mem::take(&mut self.live_gaps),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::source::FileFeeder;
    use std::sync::Mutex;

    /// Keeps frames in memory; fails with ENOSPC past `capacity` samples.
    #[derive(Clone, Default)]
    struct MemSink {
        data: Arc<Mutex<Vec<i16>>>,
        synced: Arc<AtomicU64>,
        capacity: Option<usize>,
    }

    impl PcmSink for MemSink {
        fn append(&mut self, samples: &[i16]) -> std::io::Result<()> {
            let mut d = self.data.lock().expect("lock");
            if let Some(cap) = self.capacity
                && d.len() + samples.len() > cap
            {
                let fit = cap - d.len();
                d.extend_from_slice(&samples[..fit]);
                return Err(std::io::Error::from_raw_os_error(28));
            }
            d.extend_from_slice(samples);
            Ok(())
        }
        fn sync(&mut self) -> std::io::Result<()> {
            self.synced.store(
                self.data.lock().expect("lock").len() as u64,
                Ordering::Relaxed,
            );
            Ok(())
        }
    }

    fn tone(secs: f64, freq: f64, start: f64, len: f64) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                if t >= start && t < start + len {
                    0.5 * (2.0 * std::f64::consts::PI * freq * t).sin() as f32
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64
    }

    fn channel(data: &[i16], c: usize) -> Vec<i16> {
        data.iter().skip(c).step_by(2).copied().collect()
    }

    #[test]
    fn two_sources_stay_separate_and_aligned() {
        // The mic speaks at 1–2 s, the system at 3–4 s (and its device is 0.1 % fast).
        let (mut mic, mic_cap) =
            FileFeeder::from_samples(tone(8.0, 440.0, 1.0, 1.0), 16_000, 1.0, "mic".into());
        let (mut sys, sys_cap) =
            FileFeeder::from_samples(tone(8.0, 880.0, 3.0, 1.0), 16_000, 1.001, "sys".into());
        let sink = MemSink::default();
        let mut rec = Recorder::new(
            Some(mic_cap),
            Some(sys_cap),
            Box::new(sink.clone()),
            "mem".into(),
            DriftConfig::default(),
        )
        .expect("recorder");
        for step in 1..=300 {
            let now = step as f64 * 0.02;
            mic.pump(now);
            sys.pump(now);
            rec.tick(now).expect("tick");
        }
        let (summary, result) = rec.finish(6.0);
        result.expect("finish");
        let data = sink.data.lock().expect("lock").clone();
        assert_eq!(data.len() % 2, 0);
        assert!((summary.frames as i64 - 96_000).abs() < 400, "{summary:?}");
        let (m, s) = (channel(&data, 0), channel(&data, 1));
        let sec = |x: &[i16], a: f64| {
            energy(&x[(a * 16_000.0) as usize..((a + 0.8) * 16_000.0) as usize])
        };
        // Each tone on its own channel only, at its own time.
        assert!(
            sec(&m, 1.1) > 1e6 && sec(&s, 1.1) < 1.0,
            "mic tone: {} / {}",
            sec(&m, 1.1),
            sec(&s, 1.1)
        );
        assert!(
            sec(&s, 3.1) > 1e6 && sec(&m, 3.1) < 1.0,
            "system tone: {} / {}",
            sec(&s, 3.1),
            sec(&m, 3.1)
        );
        let onset = |x: &[i16]| x.iter().position(|v| v.abs() > 1000).expect("onset");
        assert!(
            (onset(&m) as i64 - 16_000).abs() < 80,
            "mic onset {}",
            onset(&m)
        );
        assert!(
            (onset(&s) as i64 - 48_000).abs() < 160,
            "system onset {}",
            onset(&s)
        );
        assert!(sink.synced.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn a_full_disk_stops_cleanly_and_keeps_what_was_written() {
        let (mut mic, mic_cap) =
            FileFeeder::from_samples(tone(4.0, 440.0, 0.0, 4.0), 16_000, 1.0, "mic".into());
        let sink = MemSink {
            capacity: Some(2 * 16_000),
            ..Default::default()
        };
        let mut rec = Recorder::new(
            Some(mic_cap),
            None,
            Box::new(sink.clone()),
            "/rec/audio.wav".into(),
            DriftConfig::default(),
        )
        .expect("recorder");
        let mut failed = None;
        for step in 1..=200 {
            let now = step as f64 * 0.02;
            mic.pump(now);
            if let Err(e) = rec.tick(now) {
                failed = Some(e);
                break;
            }
        }
        let err = failed.expect("the disk filled up");
        assert!(matches!(err, RecordError::DiskFull { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("disk is full")
                && msg.contains("/rec/audio.wav")
                && msg.contains("minutes recover"),
            "{msg}"
        );
        assert_eq!(
            sink.data.lock().expect("lock").len(),
            2 * 16_000,
            "what fit is kept"
        );
        assert_eq!(
            sink.synced.load(Ordering::Relaxed),
            2 * 16_000,
            "and synced"
        );
    }

    #[test]
    fn a_lost_device_keeps_the_other_channel_and_is_replaced() {
        let (mic, mic_cap) =
            FileFeeder::from_samples(tone(10.0, 440.0, 0.0, 10.0), 16_000, 1.0, "mic".into());
        let mic = std::cell::RefCell::new(mic);
        let (sys, sys_cap) =
            FileFeeder::from_samples(tone(10.0, 880.0, 0.0, 10.0), 16_000, 1.0, "sys".into());
        let mut sys = sys.fail_after(2.0);
        let (tx, rx) = std::sync::mpsc::channel();
        let replacement: Arc<Mutex<Option<FileFeeder>>> = Arc::default();
        let slot = replacement.clone();
        let sink = MemSink::default();
        let mut rec = Recorder::new(
            Some(mic_cap),
            Some(sys_cap),
            Box::new(sink.clone()),
            "mem".into(),
            DriftConfig::default(),
        )
        .expect("recorder")
        .with_events(tx)
        .with_reopen(Box::new(move |role| {
            assert_eq!(role, Role::System);
            let (f, c) = FileFeeder::from_samples(
                tone(10.0, 880.0, 0.0, 10.0),
                16_000,
                1.0,
                "default".into(),
            );
            *slot.lock().expect("lock") = Some(f);
            Some(c)
        }));
        let mut back_at = None;
        for step in 1..=400 {
            let now = step as f64 * 0.02;
            mic.borrow_mut().pump(now);
            sys.pump(now);
            if let Some(f) = replacement.lock().expect("lock").as_mut() {
                back_at.get_or_insert(now);
                f.pump(now - back_at.unwrap_or(now));
            }
            rec.tick(now).expect("tick");
        }
        let (summary, result) = rec.finish(8.0);
        result.expect("finish");
        let events: Vec<RecorderEvent> = rx.try_iter().collect();
        assert!(
            matches!(events.first(), Some(RecorderEvent::DeviceLost { role: Role::System, why }) if why.contains("unplug")),
            "{events:?}"
        );
        assert!(
            matches!(
                events.get(1),
                Some(RecorderEvent::DeviceBack {
                    role: Role::System,
                    ..
                })
            ),
            "{events:?}"
        );
        let data = sink.data.lock().expect("lock").clone();
        let (m, s) = (channel(&data, 0), channel(&data, 1));
        assert!((summary.frames as i64 - 128_000).abs() < 400, "{summary:?}");
        // The mic never stopped; the system channel came back on the replacement device.
        let sec = |x: &[i16], a: f64| {
            energy(&x[(a * 16_000.0) as usize..((a + 0.3) * 16_000.0) as usize])
        };
        for t in [0.5, 2.5, 3.5, 6.0] {
            assert!(sec(&m, t) > 1e6, "mic at {t}");
        }
        assert!(
            sec(&s, 1.0) > 1e6 && sec(&s, 2.6) > 1e6 && sec(&s, 6.0) > 1e6,
            "system: {} {} {}",
            sec(&s, 1.0),
            sec(&s, 2.6),
            sec(&s, 6.0)
        );
    }
}
