//! Local transcription: whisper.cpp through whisper-rs, voice activity detection, channel
//! attribution, and the WER scoring used to measure it.

pub mod cpu;
pub mod engine;
pub mod models;
pub mod pipeline;
pub mod repeats;
pub mod vad;
pub mod wer;
