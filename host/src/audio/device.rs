//! Sound devices through cpal: listing them and opening one as a capture source.
//!
//! On Linux cpal talks to PulseAudio (or PipeWire's pulse server) when one answers, which is
//! what exposes the *monitor* source of every output — the system audio — as an input; without
//! a sound server only ALSA devices are there. Windows records the default output through WASAPI
//! loopback (opening an output device as an input). macOS has no loopback: system audio needs a
//! virtual device (e.g. BlackHole) picked with `--system`; otherwise the mic is recorded alone.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::time::Duration;

use super::source::{Capture, Feed, ring};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no {what} device named `{name}`; see the names with `minutes devices`")]
    NotFound { what: &'static str, name: String },
    #[error(
        "no {0} device found; check that one is connected and enabled, and see what minutes finds with `minutes devices`"
    )]
    NoDefault(&'static str),
    #[error("cannot open {name}: {why}; pick another device (`minutes devices`)")]
    Open { name: String, why: String },
    #[error("cannot list sound devices: {0}")]
    Host(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Input,
    Output,
    /// The monitor of an output: what it plays, recordable as the system audio.
    Monitor,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceInfo {
    /// What `--mic` / `--system` take.
    pub name: String,
    pub description: String,
    pub kind: DeviceKind,
    pub default: bool,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceList {
    pub host: String,
    pub devices: Vec<DeviceInfo>,
    /// What `minutes record` uses for each channel when not told.
    pub default_mic: Option<String>,
    pub default_system: Option<String>,
}

fn device_name(d: &cpal::Device) -> String {
    d.id()
        .map(|id| id.id().to_string())
        .unwrap_or_else(|_| d.to_string())
}

fn description(d: &cpal::Device) -> String {
    d.description()
        .map(|x| x.name().to_string())
        .unwrap_or_else(|_| device_name(d))
}

fn is_monitor(name: &str) -> bool {
    name.ends_with(".monitor")
}

/// Whether an ALSA PCM name is a device worth listing: the default, a sound server, or one that
/// reaches a card. ALSA also names every plugin it knows (`lavrate`, `speex`, `upmix`, `jack`,
/// `oss`, ...): rate converters and mixers, not microphones, and opening some of them only makes
/// their libraries complain. `--mic NAME` still opens any of them by name.
fn is_real_alsa_device(name: &str) -> bool {
    const CARD_PREFIXES: [&str; 6] = [
        "hw:",
        "plughw:",
        "sysdefault:",
        "dsnoop:",
        "dmix:",
        "front:",
    ];
    matches!(name, "default" | "sysdefault" | "pulse" | "pipewire")
        || CARD_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// While alive, what ALSA prints about the calls made on this thread (28–39 lines when it has no
/// sound server to talk to, for every plugin it tries) goes to a buffer instead of stderr; -v
/// shows it as debug log lines. Only ALSA's own messages are caught: minutes' output and logs
/// are untouched. Nested guards share the outermost one's buffer.
struct QuietAlsa;

#[cfg(target_os = "linux")]
thread_local! {
    static ALSA_BUFFER: std::cell::RefCell<Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>> =
        const { std::cell::RefCell::new(None) };
    static QUIET_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl QuietAlsa {
    fn new() -> QuietAlsa {
        #[cfg(target_os = "linux")]
        if QUIET_DEPTH.replace(QUIET_DEPTH.get() + 1) == 0 {
            // alsa-lib's thread-local error handler, writing into a fresh buffer. It stays
            // installed afterwards (alsa-lib keeps no way back through the alsa crate); what
            // ALSA says on this thread between guards is read by the next one.
            let buffer = alsa::Output::local_error_handler().ok();
            ALSA_BUFFER.with_borrow_mut(|b| {
                let earlier = std::mem::replace(b, buffer);
                if let Some(earlier) = earlier {
                    log_alsa_messages(&earlier.borrow());
                }
            });
        }
        QuietAlsa
    }
}

#[cfg(target_os = "linux")]
fn log_alsa_messages(buffer: &alsa::Output) {
    for line in buffer.to_string().lines().filter(|l| !l.trim().is_empty()) {
        tracing::debug!("ALSA: {line}");
    }
}

impl Drop for QuietAlsa {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if QUIET_DEPTH.replace(QUIET_DEPTH.get().saturating_sub(1)) == 1 {
            ALSA_BUFFER.with_borrow_mut(|b| {
                if let Some(buffer) = b.as_ref() {
                    log_alsa_messages(&buffer.borrow());
                }
                // A new, empty buffer: the next guard does not log these lines again.
                *b = alsa::Output::local_error_handler().ok();
            });
        }
    }
}

pub fn list() -> Result<DeviceList, DeviceError> {
    let _quiet = QuietAlsa::new();
    let host = cpal::default_host();
    let alsa_only = host.id() == cpal::HostId::Alsa;
    let default_in = host.default_input_device().map(|d| device_name(&d));
    let default_out = host.default_output_device().map(|d| device_name(&d));
    let mut found: Vec<cpal::Device> = host
        .devices()
        .map_err(|e| DeviceError::Host(e.to_string()))?
        .collect();
    if alsa_only {
        found.retain(|d| is_real_alsa_device(&device_name(d)));
        // What `minutes record` opens when not told; ALSA's hints need not name it.
        if let Some(d) = host.default_input_device()
            && !found.iter().any(|f| device_name(f) == device_name(&d))
        {
            found.insert(0, d);
        }
    }
    let mut devices = Vec::new();
    for d in found {
        let name = device_name(&d);
        // ALSA's routes to a sound server (and the default, usually one of them) lead nowhere
        // while no server runs: not a device to pick then.
        let unreachable = |cfg: &Option<_>| alsa_only && cfg.is_none() && !name.contains("CARD=");
        if d.supports_input() {
            let cfg = d.default_input_config().ok();
            let kind = if is_monitor(&name) {
                DeviceKind::Monitor
            } else {
                DeviceKind::Input
            };
            let default = match kind {
                DeviceKind::Monitor => default_out
                    .as_ref()
                    .is_some_and(|o| name == format!("{o}.monitor")),
                _ => default_in.as_ref() == Some(&name),
            };
            if !unreachable(&cfg) {
                devices.push(DeviceInfo {
                    name: name.clone(),
                    description: description(&d),
                    kind,
                    default,
                    sample_rate: cfg.as_ref().map(|c| c.sample_rate()),
                    channels: cfg.map(|c| c.channels()),
                });
            }
        }
        if d.supports_output() {
            let cfg = d.default_output_config().ok();
            if unreachable(&cfg) {
                continue;
            }
            devices.push(DeviceInfo {
                default: default_out.as_ref() == Some(&name),
                name,
                description: description(&d),
                kind: DeviceKind::Output,
                sample_rate: cfg.as_ref().map(|c| c.sample_rate()),
                channels: cfg.map(|c| c.channels()),
            });
        }
    }
    let default_system = default_system_name(&host, &devices);
    Ok(DeviceList {
        host: host.id().name().to_string(),
        devices,
        default_mic: default_in.filter(|n| !is_monitor(n)),
        default_system,
    })
}

/// The system audio by default: the monitor of the default output (PulseAudio/PipeWire), the
/// default output itself on Windows (WASAPI loopback), none elsewhere.
fn default_system_name(host: &cpal::Host, devices: &[DeviceInfo]) -> Option<String> {
    let out = host.default_output_device().map(|d| device_name(&d))?;
    let monitor = format!("{out}.monitor");
    if devices.iter().any(|d| d.name == monitor) {
        return Some(monitor);
    }
    cfg!(windows).then_some(out)
}

/// Opens the microphone: `name`, or the default input.
pub fn open_mic(name: Option<&str>) -> Result<Capture, DeviceError> {
    let _quiet = QuietAlsa::new();
    let host = cpal::default_host();
    let device = match name {
        Some(n) => find(&host, n, true).ok_or_else(|| DeviceError::NotFound {
            what: "input",
            name: n.to_string(),
        })?,
        None => host
            .default_input_device()
            .filter(|d| !is_monitor(&device_name(d)))
            .ok_or(DeviceError::NoDefault("microphone"))?,
    };
    open(&device)
}

/// Opens the system audio: `name` (a monitor, or on Windows an output for loopback), or the
/// monitor of the default output.
pub fn open_system(name: Option<&str>) -> Result<Capture, DeviceError> {
    let _quiet = QuietAlsa::new();
    let host = cpal::default_host();
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let list = list()?;
            list.default_system.ok_or(DeviceError::NoDefault(
                "system audio (monitor of an output)",
            ))?
        }
    };
    let device = find(&host, &name, true)
        .or_else(|| find(&host, &name, false))
        .ok_or_else(|| DeviceError::NotFound {
            what: "system audio",
            name: name.clone(),
        })?;
    open(&device)
}

fn find(host: &cpal::Host, name: &str, input: bool) -> Option<cpal::Device> {
    let devices = if input {
        host.input_devices().ok()?.collect::<Vec<_>>()
    } else {
        host.output_devices().ok()?.collect()
    };
    devices
        .iter()
        .find(|d| device_name(d) == name)
        .or_else(|| devices.iter().find(|d| description(d) == name))
        .cloned()
}

/// Starts capturing from `device` at its own rate and channel count; the callback mixes to mono
/// into the ring buffer (no locks, no allocation).
pub fn open(device: &cpal::Device) -> Result<Capture, DeviceError> {
    let _quiet = QuietAlsa::new();
    let name = device_name(device);
    // cpal's PulseAudio streams lose audio whenever the process runs 50 ms late (see pulse.rs).
    #[cfg(target_os = "linux")]
    if cpal::default_host().id() == cpal::HostId::PulseAudio
        && let Some(capture) = super::pulse::open(&name)
    {
        return Ok(capture);
    }
    let fail = |why: String| DeviceError::Open {
        name: name.clone(),
        why,
    };
    let supported = if device.supports_input() {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(|e| fail(e.to_string()))?;
    let rate = supported.sample_rate();
    let channels = usize::from(supported.channels());
    // ~50 ms deliveries: small enough for a steady clock estimate, large enough to be cheap.
    let mut config = supported.config();
    config.buffer_size = cpal::BufferSize::Fixed(rate / 20);
    let first = {
        let (feed, consumer, status) = ring(rate);
        build(device, &config, supported.sample_format(), channels, feed)
            .map(|s| (s, consumer, status))
    };
    let (stream, consumer, status) = match first {
        Ok(x) => x,
        Err(_) => {
            // Some ALSA devices refuse a fixed period: let the device choose.
            config.buffer_size = cpal::BufferSize::Default;
            let (feed, consumer, status) = ring(rate);
            (
                build(device, &config, supported.sample_format(), channels, feed).map_err(fail)?,
                consumer,
                status,
            )
        }
    };
    stream.play().map_err(|e| fail(e.to_string()))?;
    Ok(Capture {
        name,
        rate,
        consumer,
        status,
        keep_alive: Box::new(stream),
    })
}

fn build(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    format: cpal::SampleFormat,
    channels: usize,
    mut feed: Feed,
) -> Result<cpal::Stream, String> {
    let status = feed.status().clone();
    let on_error = move |e: cpal::Error| status.fail(e.to_string());
    let timeout = Some(Duration::from_secs(5));
    let result = match format {
        cpal::SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
            *config,
            move |d, _| feed.push_interleaved(d, channels, |x| x),
            on_error,
            timeout,
        ),
        cpal::SampleFormat::I16 => device.build_input_stream::<i16, _, _>(
            *config,
            move |d, _| feed.push_interleaved(d, channels, |x| f32::from(x) / 32768.0),
            on_error,
            timeout,
        ),
        cpal::SampleFormat::I32 => device.build_input_stream::<i32, _, _>(
            *config,
            move |d, _| feed.push_interleaved(d, channels, |x| x as f32 / 2_147_483_648.0),
            on_error,
            timeout,
        ),
        cpal::SampleFormat::U8 => device.build_input_stream::<u8, _, _>(
            *config,
            move |d, _| feed.push_interleaved(d, channels, |x| (f32::from(x) - 128.0) / 128.0),
            on_error,
            timeout,
        ),
        other => return Err(format!("sample format {other} is not supported")),
    };
    result.map_err(|e| e.to_string())
}
