//! `minutes bench capture`: what recording costs. Records the default microphone and the
//! monitor of the default output through the real device path (cpal, PulseAudio), optionally
//! while busy-looping processes load every core and a file plays into the output, and reports:
//! CPU of capture + writing (% of one core, this process only: the load runs in child
//! processes), frames dropped (ring overflows and gaps the clock steering had to pad), memory
//! over time, and — with a model — the live transcript's lag from speech end to text.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::audio::align::DriftConfig;
use crate::audio::live::{Live, LiveConfig, percentile};
use crate::audio::recorder::{self, Recorder};
use crate::audio::wav::WavWriter;

pub struct CaptureBench {
    pub seconds: f64,
    pub load: usize,
    pub play: Option<PathBuf>,
    pub play_mic: Option<PathBuf>,
    pub mic: Option<String>,
    pub system: Option<String>,
    pub model: Option<PathBuf>,
    pub threads: usize,
    pub json: bool,
}

/// utime + stime of this process, seconds.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name; 100 Hz ticks.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|pages| pages * 4096.0 / 1_048_576.0)
        .unwrap_or(0.0)
}

/// Plays a file into `sink` (default: the default output) over and over until dropped. paplay
/// is run directly (not from a shell loop), so stopping really stops it: an orphaned paplay
/// kept playing into the next benchmark and held the caller's pipe open for minutes.
struct Player {
    stop: Arc<AtomicBool>,
    child: Arc<std::sync::Mutex<Option<Child>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Player {
    fn start(file: &Path, sink: Option<&str>) -> anyhow::Result<Player> {
        let stop = Arc::new(AtomicBool::new(false));
        let child: Arc<std::sync::Mutex<Option<Child>>> = Arc::default();
        let device: Vec<String> = sink.map(|s| format!("--device={s}")).into_iter().collect();
        let first = Command::new("paplay")
            .args(&device)
            .arg(file)
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot run paplay to play {}: {e} (install pulseaudio-utils)",
                    file.display()
                )
            })?;
        *child.lock().map_err(|_| anyhow::anyhow!("player lock"))? = Some(first);
        let (flag, slot, file) = (stop.clone(), child.clone(), file.to_path_buf());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let done = match slot.lock() {
                    Ok(mut c) => match c.as_mut().map(|c| c.try_wait()) {
                        Some(Ok(Some(_))) | None => {
                            *c = Command::new("paplay").args(&device).arg(&file).spawn().ok();
                            c.is_none()
                        }
                        _ => false,
                    },
                    Err(_) => true,
                };
                if done {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Ok(Player {
            stop,
            child,
            thread: Some(thread),
        })
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut c) = self.child.lock()
            && let Some(c) = c.as_mut()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn run(b: CaptureBench) -> anyhow::Result<()> {
    let mic = crate::audio::device::open_mic(b.mic.as_deref())?;
    let system = crate::audio::device::open_system(b.system.as_deref())?;
    let names = (mic.name.clone(), system.name.clone());
    let dir = tempfile::tempdir()?;
    let audio = dir.path().join("bench.wav");
    let sink = WavWriter::create(&audio, 2, 16_000)?;
    let load = crate::bench_load::CpuLoad::start(b.load)?;
    let player = b
        .play
        .as_deref()
        .map(|f| Player::start(f, None))
        .transpose()?;
    let mic_player = match (&b.play_mic, b.mic.as_deref()) {
        (Some(file), Some(mic)) => {
            let sink = mic.strip_suffix(".monitor").ok_or_else(|| {
                anyhow::anyhow!(
                    "--play-mic plays into the sink that --mic records the monitor of, but \
                     {mic} is not a monitor (e.g. `pactl load-module module-null-sink \
                     sink_name=me`, then --mic me.monitor)"
                )
            })?;
            Some(Player::start(file, Some(sink))?)
        }
        _ => None,
    };
    let started = Instant::now();
    let mut recorder = Recorder::new(
        Some(mic),
        Some(system),
        Box::new(sink),
        audio.display().to_string(),
        DriftConfig::default(),
    )?;
    let live = match &b.model {
        Some(model) => {
            let mut engine = crate::transcribe::engine::EngineConfig::new(model);
            engine.threads = b.threads;
            let config = LiveConfig {
                engine,
                vad: crate::transcribe::vad::VadConfig::live(),
                channel_names: ["me".into(), "others".into()],
                active: [true, true],
            };
            let (live, blocks) = Live::start(config, started, Box::new(|_, _| {}))?;
            recorder = recorder.with_live(blocks);
            Some(live)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let cpu0 = cpu_seconds();
    let handle = recorder::spawn(recorder, started, stop.clone())?;
    let mut rss = vec![(0.0, rss_mib())];
    while started.elapsed().as_secs_f64() < b.seconds && !handle.is_finished() {
        std::thread::sleep(Duration::from_secs(1));
        let t = started.elapsed().as_secs_f64();
        if (t as u64).is_multiple_of(10) {
            rss.push((t, rss_mib()));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (summary, result) = handle
        .join()
        .map_err(|_| anyhow::anyhow!("recorder thread crashed"))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    rss.push((wall, rss_mib()));
    drop(load);
    drop(player);
    drop(mic_player);
    result?;
    let lags = live.map(|l| l.finish(Path::new(&audio), &summary.live_gaps));
    // Padding at the very start is the devices' first-callback latency, not a drop.
    let report = serde_json::json!({
        "mic": names.0,
        "system": names.1,
        "seconds": wall,
        "load_processes": b.load,
        "recorded_seconds": summary.frames as f64 / 16_000.0,
        "cpu_percent_of_one_core": if b.model.is_none() { Some(100.0 * cpu / wall) } else { None },
        "ring_dropped_frames": summary.ring_dropped,
        "padded_frames_16k": summary.padded,
        "clock_dropped_frames_16k": summary.clock_dropped,
        "drift_ratio": summary.ratio,
        "rss_mib": rss,
        "live_regions": lags.as_ref().map(|l| l.live_regions),
        "deferred_regions": lags.as_ref().map(|l| l.deferred_regions),
        "lag_p50_s": lags.as_ref().and_then(|l| percentile(&l.lags, 50.0)),
        "lag_p95_s": lags.as_ref().and_then(|l| percentile(&l.lags, 95.0)),
        "lags_s": lags.as_ref().map(|l| &l.lags),
        // What the live transcript said, to score against the played files' reference.
        "live_segments": lags.as_ref().map(|l| &l.segments),
    });
    if b.json {
        return crate::cli::print_json(&report);
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
