//! Streaming audio decoding: any supported file in, 16 kHz f32 samples per channel out.
//!
//! Channels stay separate because a 2-channel recording is two different speakers' sources
//! (channel 0 = local microphone, channel 1 = system audio) that the transcriber handles apart.
//! Files are decoded packet by packet and handed out in ~1 s blocks so a 3-hour meeting never
//! sits in memory at once.

use std::fs::File;
use std::path::Path;

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AAC, CODEC_ID_MP3};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// The rate whisper.cpp expects.
pub const TARGET_RATE: u32 = 16_000;

/// Listed in error messages so the user knows what to convert to.
const SUPPORTED: &str = "WAV, FLAC, MP3, Ogg/Vorbis and M4A/AAC";

/// Minimum input frames per resampler call; small enough to keep scratch memory low, large
/// enough that per-call overhead stays negligible.
const RESAMPLER_CHUNK: usize = 2048;

/// Target FFT length on the input side. Longer FFTs put the anti-aliasing cutoff closer to
/// 8 kHz; the extra delay they add is trimmed anyway.
const FFT_TARGET: usize = 1024;

/// Some streams (MP3 cut mid-frame, for instance) start with a few undecodable packets that
/// players silently skip; beyond this many the file is treated as corrupt.
const MAX_LEADING_ERRORS: usize = 8;

/// LAME's encoder delay (576) plus the MP3 decoder delay (529). MP3s without a LAME/Xing tag
/// (sox writes none, for one) don't say how much padding precedes the audio; left in, it
/// would shift every timestamp by up to 69 ms, and this is the value nearly all of them use.
const MP3_UNTAGGED_DELAY: usize = 1105;

#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// As decoded; every block has exactly this many channels.
    pub channels: usize,
    /// The file's own rate, before resampling to `TARGET_RATE`.
    pub source_rate: u32,
    /// What the container announces; None when it doesn't say (some streams), and possibly
    /// longer than what decodes if the file is truncated.
    pub duration_ms: Option<u64>,
    /// Symphonia's short codec name, e.g. "pcm_s16le", "flac", "mp3", "vorbis", "aac".
    pub codec: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    // The I/O error is part of the message, not a `source`: `{:#}` would print it twice.
    #[error("cannot open audio file {path}: {cause}; check that it exists and is readable")]
    Open { path: String, cause: std::io::Error },
    #[error("{path} is a folder, not an audio file; give the path of one recording in it")]
    Folder { path: String },
    #[error(
        "{path} is not an audio file this program can read ({detail}); supported formats are \
         {SUPPORTED}; convert it, e.g. `ffmpeg -i <file> -ar 16000 out.wav`"
    )]
    UnsupportedFormat { path: String, detail: String },
    #[error("{path} contains no audio track; pick the audio recording or extract its audio first")]
    NoAudioTrack { path: String },
    #[error(
        "{path} uses the audio codec {codec}, which cannot be decoded here; supported formats \
         are {SUPPORTED}; convert it, e.g. `ffmpeg -i <file> -ar 16000 out.wav`"
    )]
    UnsupportedCodec { path: String, codec: String },
    #[error(
        "{path} is damaged{}: {detail}; re-export or re-copy the recording",
        at_position(*.at_secs)
    )]
    Corrupt {
        path: String,
        at_secs: Option<f64>,
        detail: String,
    },
    #[error(
        "{path} contains no audio ({detail}); check that the recording actually captured sound"
    )]
    Empty { path: String, detail: String },
    #[error(
        "{path} has {channels} channel(s), so there is no channel {channel} (they count from 0)"
    )]
    NoChannel {
        path: String,
        channel: usize,
        channels: usize,
    },
    #[error(
        "resampling {path} from {from_rate} Hz to {TARGET_RATE} Hz failed: {detail}; convert it \
         to 16 kHz WAV first (`ffmpeg -i <file> -ar 16000 out.wav`); if the file plays fine \
         elsewhere, please report this as a bug"
    )]
    Resample {
        path: String,
        from_rate: u32,
        detail: String,
    },
}

fn at_position(at_secs: Option<f64>) -> String {
    at_secs.map_or_else(String::new, |s| format!(" at {s:.1} s"))
}

/// A streaming decoder: opens the file, probes the format, and yields blocks.
pub struct AudioReader {
    path: String,
    info: AudioInfo,
    source: Source,
    /// Source-rate samples decoded but not handed out yet.
    pending: Vec<Vec<f32>>,
    resampler: Option<StreamResampler>,
    /// Source frames per output block: ~1 s, so blocks stay small whatever the packet size.
    block_frames: usize,
    /// Frames the container header announces, to notice truncated files.
    expected_frames: Option<u64>,
    decoded_frames: u64,
    /// Leading encoder padding still to drop, in source frames.
    skip_frames: usize,
    /// No more packets will be read (end of stream, or stopped at damaged data).
    ended: bool,
    warned: bool,
}

impl AudioReader {
    pub fn open(path: &Path) -> Result<AudioReader, DecodeError> {
        let name = path.display().to_string();
        let format = open_format(path, &name)?;
        let track = pick_track(format.as_ref(), &name)?;
        let params = audio_params(&track, &name)?;
        let decoder = make_decoder(&params, &name)?;
        let codec = decoder.codec_info().short_name.to_string();
        let mut source = Source {
            format,
            decoder,
            track_id: track.id,
            scratch: Vec::new(),
        };
        let expected_frames = track.num_frames;
        let (first, rate) = first_audio(&mut source, &name, expected_frames)?;
        let info = AudioInfo {
            channels: first.len(),
            source_rate: rate,
            duration_ms: duration_ms(&track, params.sample_rate.unwrap_or(rate)),
            codec,
        };
        let resampler = make_resampler(&info, &name)?;
        let decoded_frames = first.first().map_or(0, |c| c.len() as u64);
        let mut reader = AudioReader {
            path: name,
            block_frames: (rate as usize).max(resampler.as_ref().map_or(0, |r| r.chunk)),
            info,
            source,
            pending: first,
            resampler,
            expected_frames,
            decoded_frames,
            skip_frames: leading_padding(&params, &track, path, rate),
            ended: false,
            warned: false,
        };
        reader.drop_leading_padding();
        Ok(reader)
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next block of 16 kHz samples, one Vec<f32> per channel (all the same length, ~1 s),
    /// or None at the end. Damaged data in the middle of a file is reported once via
    /// `tracing::warn` and ends the stream early; what was decoded before it is still returned.
    pub fn next_block(&mut self) -> Result<Option<Vec<Vec<f32>>>, DecodeError> {
        while !self.is_done() {
            self.fill_pending();
            let block = self.produce()?;
            if block.first().is_some_and(|c| !c.is_empty()) {
                return Ok(Some(block));
            }
        }
        Ok(None)
    }

    fn is_done(&self) -> bool {
        self.ended
            && match &self.resampler {
                Some(r) => r.flushed,
                None => self.pending_frames() == 0,
            }
    }

    fn pending_frames(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    /// Decodes packets until a block's worth is buffered or the stream ends.
    fn fill_pending(&mut self) {
        while !self.ended && self.pending_frames() < self.block_frames {
            match self.source.step() {
                Ok(Step::Audio { rate }) if rate != self.info.source_rate => {
                    self.stop_early(&format!("the sample rate changes to {rate} Hz mid-file"));
                }
                Ok(Step::Audio { .. }) => self.append_scratch(),
                Ok(Step::End) => {
                    self.ended = true;
                    self.check_truncated();
                }
                Err(e) => self.stop_early(&e.to_string()),
            }
        }
    }

    fn append_scratch(&mut self) {
        let frames = self.source.scratch.first().map_or(0, Vec::len);
        for (ch, dst) in self.pending.iter_mut().enumerate() {
            // A packet with fewer channels than the first one is padded with silence rather
            // than shifting the channel layout the transcriber relies on.
            match self.source.scratch.get(ch) {
                Some(src) => dst.extend_from_slice(src),
                None => dst.resize(dst.len() + frames, 0.0),
            }
        }
        self.decoded_frames += frames as u64;
        self.drop_leading_padding();
    }

    fn drop_leading_padding(&mut self) {
        let n = self.skip_frames.min(self.pending_frames());
        if n > 0 {
            self.pending.iter_mut().for_each(|ch| drop(ch.drain(..n)));
            self.skip_frames -= n;
        }
    }

    fn decoded_secs(&self) -> f64 {
        self.decoded_frames as f64 / f64::from(self.info.source_rate)
    }

    fn stop_early(&mut self, why: &str) {
        self.ended = true;
        self.warn_once(&format!(
            "{}: stopped decoding at {:.1} s because the data is damaged ({why}); keeping the \
             audio decoded up to there",
            self.path,
            self.decoded_secs()
        ));
    }

    fn check_truncated(&mut self) {
        let Some(expected) = self.expected_frames else {
            return;
        };
        // Frame counts of compressed formats can be estimates; only a clear shortfall counts.
        let slack = (expected / 100).max(u64::from(self.info.source_rate));
        if self.decoded_frames + slack < expected {
            let promised = expected as f64 / f64::from(self.info.source_rate);
            self.warn_once(&format!(
                "{}: the file ends at {:.1} s but its header announces {promised:.1} s; it was \
                 probably truncated (interrupted copy or recording); keeping what is there",
                self.path,
                self.decoded_secs()
            ));
        }
    }

    fn warn_once(&mut self, message: &str) {
        if !self.warned {
            self.warned = true;
            tracing::warn!("{message}");
        }
    }

    /// Turns buffered source samples into at most one block of output.
    fn produce(&mut self) -> Result<Vec<Vec<f32>>, DecodeError> {
        let Some(rs) = self.resampler.as_mut() else {
            return Ok(take_front(&mut self.pending, self.block_frames));
        };
        let mut out = vec![Vec::new(); self.info.channels];
        let resample_err = |detail: String| DecodeError::Resample {
            path: self.path.clone(),
            from_rate: self.info.source_rate,
            detail,
        };
        rs.process_full_chunks(&mut self.pending, self.block_frames, &mut out)
            .map_err(resample_err)?;
        if self.ended && self.pending.first().map_or(0, Vec::len) < rs.chunk {
            rs.flush(&mut self.pending, &mut out)
                .map_err(resample_err)?;
        }
        Ok(out)
    }
}

/// Convenience for tests and short files: decode everything; channels separate.
pub fn decode_file(path: &Path) -> Result<(AudioInfo, Vec<Vec<f32>>), DecodeError> {
    let mut reader = AudioReader::open(path)?;
    let mut channels = vec![Vec::new(); reader.info().channels];
    while let Some(block) = reader.next_block()? {
        for (dst, src) in channels.iter_mut().zip(block) {
            dst.extend_from_slice(&src);
        }
    }
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(DecodeError::Empty {
            path: path.display().to_string(),
            detail: "no samples could be decoded".into(),
        });
    }
    Ok((reader.info, channels))
}

/// One channel of a file (`Some(c)`), or all of it mixed to mono (`None`; a mono file's own
/// samples), decoded block by block so that the other channels are never held: a 3-hour
/// recording is 690 MB a channel at 16 kHz.
pub fn decode_channel(
    path: &Path,
    channel: Option<usize>,
) -> Result<(AudioInfo, Vec<f32>), DecodeError> {
    let mut reader = AudioReader::open(path)?;
    let channels = reader.info().channels;
    if let Some(channel) = channel.filter(|&c| c >= channels) {
        return Err(DecodeError::NoChannel {
            path: path.display().to_string(),
            channel,
            channels,
        });
    }
    let mut out = Vec::new();
    while let Some(block) = reader.next_block()? {
        match channel {
            Some(c) => out.extend_from_slice(&block[c]),
            None if block.len() == 1 => out.extend_from_slice(&block[0]),
            None => out.extend(mix_to_mono(&block)),
        }
    }
    if out.is_empty() {
        return Err(DecodeError::Empty {
            path: path.display().to_string(),
            detail: "no samples could be decoded".into(),
        });
    }
    Ok((reader.info, out))
}

/// Mixes channels to mono by averaging (for whole-file baselines).
pub fn mix_to_mono(channels: &[Vec<f32>]) -> Vec<f32> {
    let Some(len) = channels.iter().map(Vec::len).min() else {
        return Vec::new();
    };
    let scale = 1.0 / channels.len() as f32;
    (0..len)
        .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() * scale)
        .collect()
}

fn take_front(pending: &mut [Vec<f32>], max: usize) -> Vec<Vec<f32>> {
    pending
        .iter_mut()
        .map(|ch| {
            let n = ch.len().min(max);
            ch.drain(..n).collect()
        })
        .collect()
}

fn open_format(path: &Path, name: &str) -> Result<Box<dyn FormatReader>, DecodeError> {
    let file = File::open(path).map_err(|cause| DecodeError::Open {
        path: name.to_string(),
        cause,
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(DecodeError::Folder {
            path: name.to_string(),
        });
    }
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len == 0 {
        return Err(DecodeError::Empty {
            path: name.to_string(),
            detail: "the file is 0 bytes long".into(),
        });
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let probe = std::panic::AssertUnwindSafe(|| {
        symphonia::default::get_probe().probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
    });
    std::panic::catch_unwind(probe)
        .unwrap_or(Err(SymError::DecodeError(
            "the format reader crashed on malformed data",
        )))
        .map_err(|e| probe_error(e, name))
}

fn probe_error(e: SymError, name: &str) -> DecodeError {
    let path = name.to_string();
    match e {
        SymError::IoError(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Open {
                path,
                cause: source,
            }
        }
        SymError::DecodeError(msg) => DecodeError::Corrupt {
            path,
            at_secs: None,
            detail: format!("its header is malformed ({msg})"),
        },
        SymError::Unsupported(_) | SymError::IoError(_) => DecodeError::UnsupportedFormat {
            path,
            detail: "its contents match no known audio container".into(),
        },
        other => DecodeError::UnsupportedFormat {
            path,
            detail: other.to_string(),
        },
    }
}

/// Prefers the container's default audio track, but falls back to any audio track we can
/// decode, so an unusual first track doesn't hide a usable one.
fn pick_track(format: &dyn FormatReader, name: &str) -> Result<Track, DecodeError> {
    let codecs = symphonia::default::get_codecs();
    let decodable = |t: &&Track| {
        t.codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .is_some_and(|p| codecs.get_audio_decoder(p.codec).is_some())
    };
    let default = format.default_track(TrackType::Audio);
    default
        .filter(decodable)
        .or_else(|| format.tracks().iter().find(decodable))
        .or(default)
        .cloned()
        .ok_or_else(|| DecodeError::NoAudioTrack {
            path: name.to_string(),
        })
}

fn audio_params(track: &Track, name: &str) -> Result<AudioCodecParameters, DecodeError> {
    track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| DecodeError::NoAudioTrack {
            path: name.to_string(),
        })
}

fn make_decoder(
    params: &AudioCodecParameters,
    name: &str,
) -> Result<Box<dyn AudioDecoder>, DecodeError> {
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::UnsupportedCodec {
            path: name.to_string(),
            codec: format!("{} ({e})", params.codec),
        })
}

fn leading_padding(params: &AudioCodecParameters, track: &Track, path: &Path, rate: u32) -> usize {
    if track.delay.is_some() {
        return 0;
    }
    if params.codec == CODEC_ID_MP3 {
        return MP3_UNTAGGED_DELAY;
    }
    if params.codec == CODEC_ID_AAC {
        // M4A: the edit list says how much encoder priming precedes the audio.
        let priming = std::fs::File::open(path)
            .ok()
            .and_then(|mut f| super::mp4::priming_frames(&mut f, rate));
        return priming.map_or(0, |p| p as usize);
    }
    0
}

fn duration_ms(track: &Track, rate: u32) -> Option<u64> {
    if let Some(frames) = track.num_frames.filter(|_| rate > 0) {
        return Some(frames.saturating_mul(1000) / u64::from(rate));
    }
    let time = track.time_base?.calc_duration(track.duration?)?;
    u64::try_from(time.as_millis()).ok()
}

/// Decodes up to the first non-empty packet, which fixes the real channel count and rate
/// (container headers can omit or misstate them) and turns "nothing decodable" into an error
/// at open time rather than a silent empty stream.
fn first_audio(
    source: &mut Source,
    name: &str,
    expected_frames: Option<u64>,
) -> Result<(Vec<Vec<f32>>, u32), DecodeError> {
    let mut failures = 0;
    loop {
        match source.step() {
            Ok(Step::Audio { rate }) => {
                if source.scratch.first().is_some_and(|c| !c.is_empty()) && rate > 0 {
                    return Ok((std::mem::take(&mut source.scratch), rate));
                }
            }
            Ok(Step::End) => return Err(nothing_decoded(name, expected_frames)),
            Err(SymError::DecodeError(_)) if failures < MAX_LEADING_ERRORS => failures += 1,
            Err(e) => return Err(first_error(name, e)),
        }
    }
}

fn nothing_decoded(name: &str, expected_frames: Option<u64>) -> DecodeError {
    let path = name.to_string();
    match expected_frames {
        Some(n) if n > 0 => DecodeError::Corrupt {
            path,
            at_secs: Some(0.0),
            detail: "the header announces audio but the data is missing (truncated file?)".into(),
        },
        _ => DecodeError::Empty {
            path,
            detail: "it has zero samples".into(),
        },
    }
}

fn first_error(name: &str, e: SymError) -> DecodeError {
    let path = name.to_string();
    match e {
        SymError::Unsupported(what) => DecodeError::UnsupportedCodec {
            path,
            codec: what.to_string(),
        },
        other => DecodeError::Corrupt {
            path,
            at_secs: Some(0.0),
            detail: format!("no audio could be decoded: {other}"),
        },
    }
}

fn make_resampler(info: &AudioInfo, name: &str) -> Result<Option<StreamResampler>, DecodeError> {
    if info.source_rate == TARGET_RATE {
        return Ok(None);
    }
    // A garbage header can claim any rate; an FFT sized from it could exhaust memory.
    if !(1_000..=768_000).contains(&info.source_rate) {
        return Err(DecodeError::Resample {
            path: name.to_string(),
            from_rate: info.source_rate,
            detail: "the sample rate is outside 1 kHz to 768 kHz, so the header is likely damaged"
                .into(),
        });
    }
    StreamResampler::new(info.source_rate, info.channels)
        .map(Some)
        .map_err(|detail| DecodeError::Resample {
            path: name.to_string(),
            from_rate: info.source_rate,
            detail,
        })
}

enum Step {
    /// `Source::scratch` holds the next packet's samples (possibly zero frames).
    Audio {
        rate: u32,
    },
    End,
}

struct Source {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    scratch: Vec<Vec<f32>>,
}

impl Source {
    /// Decoders are not guaranteed panic-free on hostile input; a panic here would take the
    /// whole transcription down, so it becomes a decode error like any other damaged data.
    fn step(&mut self) -> Result<Step, SymError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.step_inner())).unwrap_or(Err(
            SymError::DecodeError("the decoder crashed on malformed data"),
        ))
    }

    fn step_inner(&mut self) -> Result<Step, SymError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(Step::End),
                // Several readers report the physical end of the file this way; whether that
                // was premature is judged against the header by the caller.
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(Step::End);
                }
                Err(e) => return Err(e),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = self.decoder.decode(&packet)?;
            let rate = buf.spec().rate();
            buf.copy_to_vecs_planar(&mut self.scratch);
            return Ok(Step::Audio { rate });
        }
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// A fixed-ratio FFT resampler fed in arbitrary-sized pieces, whose output is aligned with
/// its input: the filter delay is cut from the start and the tail is flushed at the end, so
/// timestamps computed from sample indices stay exact.
struct StreamResampler {
    fft: Fft<f32>,
    chunk: usize,
    channels: usize,
    source_rate: u32,
    /// Output frames still to drop to compensate the filter delay.
    to_trim: usize,
    fed: u64,
    emitted: u64,
    out_buf: Vec<Vec<f32>>,
    flushed: bool,
}

impl StreamResampler {
    fn new(source_rate: u32, channels: usize) -> Result<Self, String> {
        // rubato's FFT length is a multiple of the smallest block the rate ratio allows; a
        // power-of-two multiple keeps it free of large prime factors, which made 48 kHz (FFT
        // of 2 x 2049 = 2 x 3 x 683) several times slower than 44.1 kHz.
        let min_block = (source_rate / gcd(source_rate, TARGET_RATE)) as usize;
        let fft_len = FFT_TARGET.div_ceil(min_block).next_power_of_two() * min_block;
        let chunk = fft_len * RESAMPLER_CHUNK.div_ceil(fft_len);
        let fft = Fft::<f32>::new_custom(
            source_rate as usize,
            TARGET_RATE as usize,
            chunk,
            chunk / fft_len,
            channels,
            WindowFunction::BlackmanHarris2,
            FixedSync::Input,
        )
        .map_err(|e| e.to_string())?;
        let out_len = fft.output_frames_max();
        Ok(StreamResampler {
            to_trim: fft.output_delay(),
            chunk: fft.input_frames_next(),
            fft,
            channels,
            source_rate,
            fed: 0,
            emitted: 0,
            out_buf: vec![vec![0.0; out_len]; channels],
            flushed: false,
        })
    }

    /// Resamples whole chunks from the front of `pending` (up to about `max_frames` input
    /// frames), leaving any remainder for the next call.
    fn process_full_chunks(
        &mut self,
        pending: &mut [Vec<f32>],
        max_frames: usize,
        out: &mut [Vec<f32>],
    ) -> Result<(), String> {
        let available = pending.first().map_or(0, Vec::len);
        let mut offset = 0;
        while available - offset >= self.chunk && offset < max_frames {
            self.run(pending, offset, None, out)?;
            offset += self.chunk;
        }
        self.fed += offset as u64;
        for ch in pending.iter_mut() {
            ch.drain(..offset);
        }
        Ok(())
    }

    /// Feeds the last partial chunk, then zeros until every real input frame has come out,
    /// and cuts the output to exactly the length the input duration implies.
    fn flush(&mut self, pending: &mut [Vec<f32>], out: &mut [Vec<f32>]) -> Result<(), String> {
        let rest = pending.first().map_or(0, Vec::len);
        if rest > 0 {
            self.run(pending, 0, Some(rest), out)?;
            self.fed += rest as u64;
            pending.iter_mut().for_each(Vec::clear);
        }
        let expected = self.expected_output();
        // After two FFT blocks of zeros all real input has passed through; bounding the loop
        // by that keeps a logic error from spinning forever.
        let max_calls = 2 * self.fft.fft_size_in() / self.chunk + 4;
        for _ in 0..max_calls {
            if self.emitted >= expected {
                break;
            }
            self.run(pending, 0, Some(0), out)?;
        }
        let excess = usize::try_from(self.emitted.saturating_sub(expected)).unwrap_or(usize::MAX);
        let removable = excess.min(out.first().map_or(0, Vec::len));
        for ch in out.iter_mut() {
            ch.truncate(ch.len() - removable);
        }
        self.emitted -= removable as u64;
        self.flushed = true;
        Ok(())
    }

    fn expected_output(&self) -> u64 {
        let rate = u128::from(self.source_rate);
        let n = u128::from(self.fed) * u128::from(TARGET_RATE);
        u64::try_from((n + rate / 2) / rate).unwrap_or(u64::MAX)
    }

    fn run(
        &mut self,
        input: &[Vec<f32>],
        offset: usize,
        partial: Option<usize>,
        out: &mut [Vec<f32>],
    ) -> Result<(), String> {
        let frames = offset + partial.unwrap_or(self.chunk);
        let adapter_in =
            SequentialSliceOfVecs::new(input, self.channels, frames).map_err(|e| e.to_string())?;
        let out_len = self.out_buf.first().map_or(0, Vec::len);
        let mut adapter_out =
            SequentialSliceOfVecs::new_mut(&mut self.out_buf, self.channels, out_len)
                .map_err(|e| e.to_string())?;
        let mut indexing = Indexing::new().input_offset(offset);
        if let Some(n) = partial {
            indexing = indexing.partial_len(n);
        }
        let (_, produced) = self
            .fft
            .process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing))
            .map_err(|e| e.to_string())?;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        for (dst, src) in out.iter_mut().zip(&self.out_buf) {
            dst.extend_from_slice(&src[skip..produced]);
        }
        self.emitted += (produced - skip) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;
    use std::time::Instant;

    fn corpus(rel: &str) -> PathBuf {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus")
            .join(rel);
        assert!(p.exists(), "corpus file missing: {}", p.display());
        p
    }

    fn write_wav(path: &Path, rate: u32, channels: &[Vec<f32>]) {
        let spec = hound::WavSpec {
            channels: channels.len() as u16,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        let frames = channels.first().map_or(0, Vec::len);
        for i in 0..frames {
            for ch in channels {
                w.write_sample((ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16)
                    .unwrap();
            }
        }
        w.finalize().unwrap();
    }

    fn hound_samples(path: &Path) -> (hound::WavSpec, Vec<f32>) {
        let mut r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        let s = r
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect();
        (spec, s)
    }

    fn tone(rate: u32, secs: f64, freq: f64, amp: f32) -> Vec<f32> {
        let n = (secs * f64::from(rate)).round() as usize;
        (0..n)
            .map(|i| {
                amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32
            })
            .collect()
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
    }

    /// Allowed length error: ±0.1% plus 5 ms.
    fn assert_len_close(actual: usize, expected: usize, what: &str) {
        let tol = expected / 1000 + 80;
        assert!(
            actual.abs_diff(expected) <= tol,
            "{what}: {actual} samples, expected {expected} ± {tol}"
        );
    }

    #[test]
    fn jfk_passes_through_bit_exact() {
        let path = corpus("real/jfk.wav");
        let (info, chans) = decode_file(&path).unwrap();
        let (spec, reference) = hound_samples(&path);
        assert_eq!(spec.sample_rate, TARGET_RATE);
        assert_eq!(info.channels, 1);
        assert_eq!(info.source_rate, 16_000);
        assert_eq!(info.duration_ms, Some(11_000));
        assert!(!info.codec.is_empty());
        assert_eq!(chans.len(), 1);
        assert_eq!(chans[0].len(), 176_000);
        assert!(chans[0] == reference, "passthrough must not alter samples");
    }

    #[test]
    fn meeting_streams_in_bounded_blocks() {
        let path = corpus("synthetic/meeting_a_2ch.wav");
        let wav = hound::WavReader::open(&path).unwrap();
        let (spec, expected) = (wav.spec(), wav.duration() as usize);
        let started = Instant::now();
        let mut reader = AudioReader::open(&path).unwrap();
        assert_eq!(reader.info().channels, 2);
        assert_eq!(spec.channels, 2);
        let (mut total, mut blocks, mut energy) = (0usize, 0usize, [0f64; 2]);
        while let Some(block) = reader.next_block().unwrap() {
            assert_eq!(block.len(), 2);
            assert_eq!(block[0].len(), block[1].len(), "channels must stay aligned");
            assert!(
                block[0].len() <= 3 * TARGET_RATE as usize,
                "block of {} samples",
                block[0].len()
            );
            for (e, ch) in energy.iter_mut().zip(&block) {
                *e += ch.iter().map(|v| f64::from(v * v)).sum::<f64>();
            }
            total += block[0].len();
            blocks += 1;
        }
        println!(
            "meeting_a_2ch.wav: {:.1} s of audio in {blocks} blocks, decoded in {:.3} s",
            total as f64 / 16_000.0,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(total, expected);
        assert!(
            energy[0] > 0.0 && energy[1] > 0.0,
            "both channels carry audio"
        );
        assert!(reader.next_block().unwrap().is_none(), "stays at end");
    }

    #[test]
    fn resamples_44k_stereo_sine_keeping_channels_and_pitch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sine44k.wav");
        let left = tone(44_100, 3.0, 440.0, 0.5);
        let right = vec![0.0; left.len()];
        write_wav(&path, 44_100, &[left, right]);

        let (info, chans) = decode_file(&path).unwrap();
        assert_eq!(info.source_rate, 44_100);
        assert_eq!(info.duration_ms, Some(3_000));
        assert_eq!(chans.len(), 2);
        assert_eq!(chans[0].len(), chans[1].len());
        assert_len_close(chans[0].len(), 48_000, "3 s at 16 kHz");
        let (l, r) = (&chans[0], &chans[1]);
        assert!(rms(l) > 0.3, "left rms {}", rms(l));
        assert!(
            r.iter().all(|v| v.abs() < 1e-4),
            "right channel must stay silent"
        );
        // 440 Hz = 880 zero crossings per second, measured away from the edges.
        let crossings = zero_crossings(&l[4_000..44_000]) as f64 / 2.5;
        assert!((crossings - 880.0).abs() <= 8.8, "{crossings} crossings/s");
    }

    #[test]
    fn one_channel_or_the_mix_is_decoded_without_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("two.wav");
        let left = tone(16_000, 2.0, 440.0, 0.5);
        let right: Vec<f32> = left.iter().map(|v| -v / 2.0).collect();
        write_wav(&path, 16_000, &[left, right]);
        let (_, chans) = decode_file(&path).unwrap();
        for (c, expected) in chans.iter().enumerate() {
            let (info, one) = decode_channel(&path, Some(c)).unwrap();
            assert_eq!(info.channels, 2);
            assert_eq!(&one, expected, "channel {c}");
        }
        let (_, mix) = decode_channel(&path, None).unwrap();
        assert_eq!(mix, mix_to_mono(&chans));
        let err = decode_channel(&path, Some(2)).expect_err("there is no third channel");
        assert!(
            err.to_string()
                .contains("has 2 channel(s), so there is no channel 2"),
            "{err}"
        );
        // A mono file's own samples, not a copy through the mixer.
        let (_, mono) = decode_channel(&corpus("real/jfk.wav"), None).unwrap();
        assert_eq!(mono, decode_file(&corpus("real/jfk.wav")).unwrap().1[0]);
    }

    /// A tone burst switched on at exactly 1.000 s must come out at sample 16000 (±1 ms),
    /// whatever the source rate: the resampler's delay must be compensated.
    #[test]
    fn resampling_does_not_shift_time() {
        let dir = tempfile::tempdir().unwrap();
        for rate in [8_000u32, 22_050, 44_100, 48_000, 96_000] {
            let path = dir.path().join(format!("burst{rate}.wav"));
            let r = rate as usize;
            let mut x = vec![0.0f32; 3 * r];
            // A cosine starts at full amplitude, so the onset is a sharp edge.
            for (i, v) in x[r..2 * r].iter_mut().enumerate() {
                *v = 0.5
                    * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(rate)).cos()
                        as f32;
            }
            write_wav(&path, rate, &[x]);
            let (_, chans) = decode_file(&path).unwrap();
            let y = &chans[0];
            assert_len_close(y.len(), 48_000, &format!("{rate} Hz"));
            let onset = y.iter().position(|v| v.abs() > 0.25).unwrap();
            let offset = y.iter().rposition(|v| v.abs() > 0.25).unwrap();
            assert!(onset.abs_diff(16_000) <= 16, "{rate} Hz: onset at {onset}");
            assert!(
                offset.abs_diff(32_000) <= 16,
                "{rate} Hz: offset at {offset}"
            );
        }
    }

    fn have(cmd: &str) -> bool {
        Command::new("which")
            .arg(cmd)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn convert(tool: &str, args: &[&Path]) -> bool {
        let mut c = Command::new(tool);
        if tool == "ffmpeg" {
            c.args(["-loglevel", "error", "-y", "-i"]);
        }
        let ok = c.args(args).status().is_ok_and(|s| s.success());
        if !ok {
            println!(
                "{tool} could not write {}; skipped",
                args[args.len() - 1].display()
            );
        }
        ok
    }

    /// Best alignment lag (in samples) of `y` against `x` within ±`max_lag`.
    fn best_lag(x: &[f32], y: &[f32], max_lag: i64) -> i64 {
        let n = x.len().min(y.len()) as i64;
        (-max_lag..=max_lag)
            .max_by(|a, b| {
                let score = |lag: i64| -> f64 {
                    (max_lag..n - max_lag)
                        .step_by(4)
                        .map(|i| f64::from(x[i as usize]) * f64::from(y[(i + lag) as usize]))
                        .sum()
                };
                score(*a).total_cmp(&score(*b))
            })
            .unwrap_or(0)
    }

    #[test]
    fn compressed_formats_decode_to_the_right_length() {
        if !have("sox") {
            println!("sox not installed: FLAC/MP3/Ogg decoding tests skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = corpus("real/jfk.wav");
        let (_, reference) = hound_samples(&src);
        let mut cases = vec![];
        for ext in ["flac", "mp3", "ogg"] {
            let out = dir.path().join(format!("jfk.{ext}"));
            if convert("sox", &[&src, &out]) {
                cases.push((out, 16_000));
            }
        }
        // Also a 44.1 kHz stereo MP3, which needs the resampler after a lossy decoder.
        let out = dir.path().join("jfk44.mp3");
        let mut c = Command::new("sox");
        c.arg(&src).args(["-r", "44100", "-c", "2"]).arg(&out);
        if c.status().is_ok_and(|s| s.success()) {
            cases.push((out, 44_100));
        }
        // M4A/AAC from a committed fixture (made with ffmpeg's AAC encoder: 1,024 frames of
        // priming declared in the edit list), so the test runs where no encoder is installed.
        let m4a = dir.path().join("jfk.m4a");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/jfk.m4a"),
            &m4a,
        )
        .unwrap();
        cases.push((m4a, 16_000));
        let mut results = vec![];
        for (path, rate) in &cases {
            let (info, chans) = decode_file(path).unwrap();
            let len = chans[0].len() as f64;
            let name = path.file_name().unwrap().to_string_lossy();
            let lag = best_lag(&reference, &mix_to_mono(&chans), 2000);
            println!(
                "{name}: codec {}, {} ch @ {} Hz, {:.3} s, lag {:.2} ms",
                info.codec,
                info.channels,
                info.source_rate,
                len / 16_000.0,
                lag as f64 / 16.0
            );
            results.push((name.into_owned(), info.source_rate == *rate, len, lag));
        }
        for (name, rate_ok, len, lag) in results {
            assert!(rate_ok, "{name}: wrong source rate");
            assert!(
                (len - 176_000.0).abs() <= 176_000.0 * 0.02,
                "{name}: {len} samples"
            );
            assert!(lag.abs() <= 80, "{name}: shifted by {lag} samples");
        }
        let flac = dir.path().join("jfk.flac");
        if flac.exists() {
            let (_, chans) = decode_file(&flac).unwrap();
            assert!(
                chans[0] == reference,
                "FLAC is lossless, so must match exactly"
            );
        }
        for (path, _) in &cases {
            damaged_copies_never_panic(path);
        }
    }

    /// Overwrites 2 KB at a quarter, half and three quarters of the file: decoding must
    /// neither panic nor lose the audio before the damage.
    fn damaged_copies_never_panic(path: &Path) {
        let original = std::fs::read(path).unwrap();
        for quarter in 1..=3 {
            let mut bytes = original.clone();
            let at = bytes.len() * quarter / 4;
            let end = (at + 2048).min(bytes.len());
            bytes[at..end].iter_mut().for_each(|b| *b = 0x5a);
            let name = format!(
                "damaged{quarter}-{}",
                path.file_name().unwrap().to_string_lossy()
            );
            let bad = path.with_file_name(&name);
            std::fs::write(&bad, &bytes).unwrap();
            let (result, log) = capture_warnings(|| decode_file(&bad));
            assert!(
                log.matches("WARN").count() <= 1,
                "{name}: warned more than once:\n{log}"
            );
            print!("{log}");
            match result {
                Ok((_, chans)) => {
                    let kept = chans[0].len();
                    println!("{name}: kept {:.2} s", kept as f64 / 16_000.0);
                    assert!(
                        kept >= 176_000 * quarter / 4 * 8 / 10,
                        "{name}: kept {kept}"
                    );
                }
                Err(e) => {
                    println!("{name}: {e}");
                    assert!(e.to_string().contains(&name), "{e}");
                }
            }
        }
    }

    fn expect_err(path: &Path) -> DecodeError {
        let err = decode_file(path).expect_err("must fail");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            err.to_string().contains(&name),
            "message must name the file: {err}"
        );
        println!("{name}: {err}");
        err
    }

    #[test]
    fn bad_inputs_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();

        let text = dir.path().join("notes.wav");
        std::fs::write(&text, "These are my meeting notes, not audio.\n".repeat(50)).unwrap();
        let err = expect_err(&text);
        assert!(
            matches!(err, DecodeError::UnsupportedFormat { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("FLAC"),
            "lists supported formats: {err}"
        );

        let zero = dir.path().join("zero.wav");
        std::fs::write(&zero, b"").unwrap();
        assert!(matches!(expect_err(&zero), DecodeError::Empty { .. }));

        let random = dir.path().join("random.mp3");
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..65_536)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        std::fs::write(&random, &noise).unwrap();
        expect_err(&random);

        let missing = dir.path().join("missing.wav");
        assert!(matches!(expect_err(&missing), DecodeError::Open { .. }));

        let empty = dir.path().join("nothing.wav");
        write_wav(&empty, 16_000, &[vec![]]);
        let err = expect_err(&empty);
        assert!(matches!(err, DecodeError::Empty { .. }), "{err:?}");
        assert!(err.to_string().contains("contains no audio"), "{err}");
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture_warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
        let buf = Captured::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let log = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
        (out, log)
    }

    #[test]
    fn truncated_wav_keeps_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(corpus("real/jfk.wav")).unwrap();
        let cut = dir.path().join("cut.wav");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let (result, log) = capture_warnings(|| decode_file(&cut));
        let (info, chans) = result.unwrap();
        assert_eq!(
            log.matches("WARN").count(),
            1,
            "exactly one warning:\n{log}"
        );
        assert!(
            log.contains("cut.wav") && log.contains("truncated"),
            "{log}"
        );
        assert_eq!(
            info.duration_ms,
            Some(11_000),
            "header still announces the full length"
        );
        let len = chans[0].len() as f64;
        assert!((len - 88_000.0).abs() < 88_000.0 * 0.02, "{len} samples");

        // Cut right after the header: nothing to decode at all.
        let stub = dir.path().join("stub.wav");
        std::fs::write(&stub, &bytes[..44]).unwrap();
        expect_err(&stub);
    }

    #[test]
    fn silent_file_is_ok_and_silent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silence.wav");
        write_wav(&path, 48_000, &[vec![0.0; 48_000], vec![0.0; 48_000]]);
        let (info, chans) = decode_file(&path).unwrap();
        assert_eq!(info.channels, 2);
        assert_len_close(chans[0].len(), 16_000, "1 s");
        assert!(chans.iter().flatten().all(|v| *v == 0.0));
    }

    #[test]
    fn mixes_to_mono_by_averaging() {
        assert_eq!(
            mix_to_mono(&[vec![1.0, 0.5], vec![0.0, -0.5]]),
            vec![0.5, 0.0]
        );
        assert_eq!(mix_to_mono(&[vec![0.25, 0.75]]), vec![0.25, 0.75]);
        assert!(mix_to_mono(&[]).is_empty());
    }
}
