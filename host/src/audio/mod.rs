//! Audio in: decoding files of any common format to 16 kHz mono f32 per channel.

pub mod decode;
