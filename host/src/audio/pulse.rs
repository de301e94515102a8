//! PulseAudio (and PipeWire's pulse server) capture with a server-side buffer the recorder can
//! live with. cpal asks the server for a record buffer of exactly one period (`maxlength` =
//! `fragsize` = 50 ms): when the client thread runs more than 50 ms late — two busy loops on two
//! cores are enough — the server throws the audio away. Measured with `minutes bench capture
//! --load 2`: ~5 % of the frames of both monitors lost. Here the server may hold as much as the
//! ring buffer (seconds) while still delivering every 50 ms, so a late client loses nothing.

use std::ffi::CString;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::executor::block_on;
use pulseaudio::protocol;

use super::source::{Capture, RING_SECONDS, ring};

/// Opens source `name` directly on the PulseAudio server; None when no server answers or it has
/// no such source (the caller then goes through cpal, which names the problem).
pub fn open(name: &str) -> Option<Capture> {
    let client = pulseaudio::Client::from_env(c"minutes").ok()?;
    let info = block_on(client.source_info_by_name(CString::new(name).ok()?)).ok()?;
    let rate = info.sample_spec.sample_rate;
    let channels = info.sample_spec.channels.max(1);
    let frame_bytes = u32::from(channels) * 4;
    let period = (rate / 20).max(1) * frame_bytes;
    let max_length =
        (rate * RING_SECONDS as u32 * frame_bytes).min(protocol::MAX_MEMBLOCKQ_LENGTH as u32);
    let sample_spec = protocol::SampleSpec {
        format: protocol::SampleFormat::Float32Le,
        channels,
        sample_rate: rate,
    };
    let params = protocol::RecordStreamParams {
        sample_spec,
        channel_map: info.channel_map,
        source_index: Some(info.index),
        buffer_attr: protocol::stream::BufferAttr {
            max_length,
            fragment_size: period,
            ..Default::default()
        },
        flags: protocol::stream::StreamFlags {
            adjust_latency: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let (mut feed, consumer, status) = ring(rate);
    let n = usize::from(channels);
    let callback = move |buf: &[u8]| {
        let (frames, _) = buf.as_chunks::<4>();
        feed.push_interleaved(frames, n, f32::from_le_bytes);
    };
    let stream = match block_on(client.create_record_stream(params, callback)) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("PulseAudio record stream for {name}: {e}; falling back to cpal");
            return None;
        }
    };
    // The server going away or the source being removed shows as a failed query: the recorder
    // then treats the device as lost.
    let stop = Arc::new(AtomicBool::new(false));
    let watch = {
        let (stop, status, stream) = (stop.clone(), status.clone(), stream.clone());
        std::thread::Builder::new()
            .name("pulse-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = block_on(stream.timing_info()) {
                        status.fail(format!("the sound server stopped the stream: {e}"));
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
            .ok()?
    };
    Some(Capture {
        name: name.to_string(),
        rate,
        consumer,
        status,
        keep_alive: Box::new(Alive {
            _stream: stream,
            _client: client,
            stop,
            watch: Some(watch),
        }),
    })
}

struct Alive {
    _stream: pulseaudio::RecordStream,
    _client: pulseaudio::Client,
    stop: Arc<AtomicBool>,
    watch: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.watch.take() {
            let _ = w.join();
        }
    }
}
