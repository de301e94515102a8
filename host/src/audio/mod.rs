//! Audio in: decoding files of any common format to 16 kHz mono f32 per channel, and recording
//! the microphone and the system audio as two time-aligned channels.

pub mod align;
pub mod decode;
pub mod device;
pub mod live;
mod mp4;
#[cfg(target_os = "linux")]
mod pulse;
pub mod recorder;
pub mod recording;
pub mod source;
pub mod wav;
