//! The encoder priming an MP4 file declares in its edit list. AAC encoders put 1,024 (ffmpeg)
//! or 2,112 (Apple) frames of priming before the audio and record that in `elst`; symphonia
//! does not apply edit lists, so without this the decoded audio starts late and transcript
//! times are off by that much.

use std::io::{Read, Seek, SeekFrom};

/// Boxes nested deeper than this are not followed (a damaged file cannot recurse forever).
const MAX_DEPTH: u32 = 8;

/// Leading frames (at the track's sample rate) the first sound track's edit list skips.
pub fn priming_frames(file: &mut (impl Read + Seek), sample_rate: u32) -> Option<u64> {
    let end = file.seek(SeekFrom::End(0)).ok()?;
    let moov = find(file, 0, end, b"moov", 0)?;
    let mut at = moov.0;
    // Each trak: the sound one (hdlr "soun") carries the edit list we want.
    while let Some((start, stop)) = find(file, at, moov.1, b"trak", 0) {
        at = stop;
        let mdia = find(file, start, stop, b"mdia", 0)?;
        let hdlr = find(file, mdia.0, mdia.1, b"hdlr", 0)?;
        // version/flags (4), pre_defined (4), handler type (4).
        if read_at(file, hdlr.0 + 8, 4)? != b"soun" {
            continue;
        }
        let mdhd = find(file, mdia.0, mdia.1, b"mdhd", 0)?;
        let version = read_at(file, mdhd.0, 1)?[0];
        let timescale_at = mdhd.0 + if version == 1 { 20 } else { 12 };
        let timescale = u32::from_be_bytes(read_at(file, timescale_at, 4)?.try_into().ok()?);
        let edts = find(file, start, stop, b"edts", 0)?;
        let elst = find(file, edts.0, edts.1, b"elst", 0)?;
        let head = read_at(file, elst.0, 8)?;
        let (version, count) = (head[0], u32::from_be_bytes(head[4..8].try_into().ok()?));
        if count == 0 || timescale == 0 {
            return None;
        }
        // The first entry: segment duration, then media time (-1 = an empty edit, i.e. a gap).
        let media_time = match version {
            1 => i64::from_be_bytes(read_at(file, elst.0 + 16, 8)?.try_into().ok()?),
            _ => i64::from(i32::from_be_bytes(
                read_at(file, elst.0 + 12, 4)?.try_into().ok()?,
            )),
        };
        let media_time = u64::try_from(media_time).ok()?;
        return Some(media_time.saturating_mul(u64::from(sample_rate)) / u64::from(timescale));
    }
    None
}

/// The payload range of the first box of type `kind` between `start` and `end`.
fn find(
    file: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    kind: &[u8; 4],
    depth: u32,
) -> Option<(u64, u64)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut at = start;
    while at + 8 <= end {
        let head = read_at(file, at, 8)?;
        let mut size = u64::from(u32::from_be_bytes(head[0..4].try_into().ok()?));
        let mut header = 8;
        if size == 1 {
            size = u64::from_be_bytes(read_at(file, at + 8, 8)?.try_into().ok()?);
            header = 16;
        } else if size == 0 {
            size = end - at;
        }
        if size < header || at + size > end {
            return None;
        }
        if &head[4..8] == kind {
            return Some((at + header, at + size));
        }
        at += size;
    }
    None
}

fn read_at(file: &mut (impl Read + Seek), at: u64, len: usize) -> Option<Vec<u8>> {
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf).ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn sound_track(timescale: u32, media_time: i32, handler: &[u8; 4]) -> Vec<u8> {
        let mut mdhd = vec![0u8; 12];
        mdhd.extend_from_slice(&timescale.to_be_bytes());
        mdhd.extend_from_slice(&[0; 8]);
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0; 12]);
        let mdia = [boxed(b"mdhd", &mdhd), boxed(b"hdlr", &hdlr)].concat();
        let mut elst = vec![0, 0, 0, 0, 0, 0, 0, 1];
        elst.extend_from_slice(&1000u32.to_be_bytes());
        elst.extend_from_slice(&media_time.to_be_bytes());
        elst.extend_from_slice(&[0, 1, 0, 0]);
        let edts = boxed(b"elst", &elst);
        boxed(
            b"trak",
            &[
                boxed(b"tkhd", &[0; 20]),
                boxed(b"edts", &edts),
                boxed(b"mdia", &mdia),
            ]
            .concat(),
        )
    }

    #[test]
    fn reads_the_sound_tracks_edit_list() {
        let moov = boxed(
            b"moov",
            &[
                sound_track(90_000, 0, b"vide"),
                sound_track(44_100, 2112, b"soun"),
            ]
            .concat(),
        );
        let file = [
            boxed(b"ftyp", b"M4A \0\0\0\0"),
            boxed(b"mdat", &[7; 100]),
            moov,
        ]
        .concat();
        assert_eq!(priming_frames(&mut Cursor::new(&file), 44_100), Some(2112));
        // Timescale differs from the decoded rate: scaled.
        let moov = boxed(b"moov", &sound_track(48_000, 1024, b"soun"));
        assert_eq!(priming_frames(&mut Cursor::new(moov), 16_000), Some(341));
    }

    #[test]
    fn damaged_or_missing_boxes_give_none() {
        assert_eq!(priming_frames(&mut Cursor::new(Vec::new()), 16_000), None);
        assert_eq!(
            priming_frames(&mut Cursor::new(boxed(b"moov", &[])), 16_000),
            None
        );
        let mut bad = boxed(b"moov", &sound_track(16_000, 1024, b"soun"));
        bad[3] = 0xff; // size runs past the end
        assert_eq!(priming_frames(&mut Cursor::new(bad), 16_000), None);
        let gap = boxed(b"moov", &sound_track(16_000, -1, b"soun"));
        assert_eq!(priming_frames(&mut Cursor::new(gap), 16_000), None);
    }
}
