//! The recording on disk: a 16-bit PCM WAV that is appended to and whose header is rewritten
//! at every sync, so the file is a valid WAV after every sync and repairable (sizes from the
//! file length) after a crash between two.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER_LEN: u64 = 44;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("the disk is full: recording stopped; everything up to this point is kept in {0}")]
    DiskFull(PathBuf),
    #[error("cannot write the recording {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} is not a recording minutes wrote (no 16-bit PCM WAV header); it was left as it is"
    )]
    NotOurs(PathBuf),
}

/// Where recorded frames go. The recorder only sees this, so tests can make the disk fill up.
pub trait PcmSink: Send {
    /// Appends interleaved frames.
    fn append(&mut self, samples: &[i16]) -> std::io::Result<()>;
    /// Makes everything appended so far durable and the file valid.
    fn sync(&mut self) -> std::io::Result<()>;
}

pub struct WavWriter {
    file: File,
    channels: u16,
    rate: u32,
    data_bytes: u64,
    buf: Vec<u8>,
}

impl WavWriter {
    pub fn create(path: &Path, channels: u16, rate: u32) -> std::io::Result<WavWriter> {
        // A recording is the meeting itself: only its owner may read it.
        let mut file = crate::fsperm::create_new_private(path)?;
        file.write_all(&header(channels, rate, 0))?;
        file.sync_all()?;
        // The folder entry too, or a crash could lose the file itself.
        if let Some(dir) = path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(WavWriter {
            file,
            channels,
            rate,
            data_bytes: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }
}

impl PcmSink for WavWriter {
    fn append(&mut self, samples: &[i16]) -> std::io::Result<()> {
        self.buf.clear();
        self.buf
            .extend(samples.iter().flat_map(|s| s.to_le_bytes()));
        self.file.write_all(&self.buf)?;
        self.data_bytes += self.buf.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        // The header is rewritten in place: it needs no new disk space, so it succeeds even when
        // the disk is full and the sizes always match what was written.
        self.file.seek(SeekFrom::Start(0))?;
        self.file
            .write_all(&header(self.channels, self.rate, self.data_bytes))?;
        self.file.seek(SeekFrom::End(0))?;
        self.file.sync_data()
    }
}

fn header(channels: u16, rate: u32, data_bytes: u64) -> [u8; HEADER_LEN as usize] {
    let data = u32::try_from(data_bytes).unwrap_or(u32::MAX - 36);
    let block_align = channels * 2;
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

/// Fixes the header of a WAV this module wrote and that was not closed (crash, kill -9): the
/// sizes are set from the file length, a torn last frame is cut. Returns the audio length in ms.
pub fn repair(path: &Path) -> Result<u64, WavError> {
    let io = |source| WavError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let mut h = [0u8; HEADER_LEN as usize];
    std::io::Read::read_exact(&mut file, &mut h)
        .map_err(|_| WavError::NotOurs(path.to_path_buf()))?;
    if &h[0..4] != b"RIFF" || &h[8..12] != b"WAVE" || &h[36..40] != b"data" || h[34] != 16 {
        return Err(WavError::NotOurs(path.to_path_buf()));
    }
    let channels = u16::from_le_bytes([h[22], h[23]]).max(1);
    let rate = u32::from_le_bytes([h[24], h[25], h[26], h[27]]).max(1);
    let len = file.metadata().map_err(io)?.len();
    let frame = u64::from(channels) * 2;
    let data = (len.saturating_sub(HEADER_LEN) / frame) * frame;
    file.set_len(HEADER_LEN + data).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(&header(channels, rate, data)).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(data / frame * 1000 / u64::from(rate))
}

/// True for the errors that mean "no space left" (ENOSPC, EDQUOT).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || e.raw_os_error() == Some(28)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sync_leaves_a_valid_wav_and_a_torn_tail_is_repaired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.wav");
        let mut w = WavWriter::create(&path, 2, 16_000).expect("create");
        w.append(&vec![1000i16; 2 * 16_000]).expect("append");
        w.sync().expect("sync");
        let r = hound::WavReader::open(&path).expect("valid after sync");
        assert_eq!(r.duration(), 16_000);
        assert_eq!(r.spec().channels, 2);
        // Unsynced frames plus half a frame, as a kill -9 leaves them.
        w.append(&vec![7i16; 2 * 8_000 + 1]).expect("append");
        drop(w);
        assert_eq!(repair(&path).expect("repair"), 1_500);
        let r = hound::WavReader::open(&path).expect("valid after repair");
        assert_eq!(r.duration(), 24_000);
    }

    #[test]
    fn foreign_files_are_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.wav");
        std::fs::write(
            &path,
            b"not a wav at all, but long enough to have a header of 44 bytes",
        )
        .expect("write");
        assert!(matches!(repair(&path), Err(WavError::NotOurs(_))));
    }
}
