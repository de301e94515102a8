//! Subtitle cues from a transcript, for SRT, WebVTT and similar formats.
//!
//! Transcripts are not subtitles: two channels talk over each other, segments arrive out of
//! order, some are empty and some run for a minute. [`cues`] turns them into what players
//! expect: cues in time order that never overlap, each at most `max_lines` lines of
//! `max_line_chars`. A long segment is split at word boundaries and its time shared out by
//! characters (word timing is not in the contract). Segments that start at the same moment
//! share one cue; otherwise a cue ends where the next begins, and cues left with no time are
//! dropped.
//!
//! ```
//! use minutes_sdk::subtitles::{CueOptions, cues, timestamp};
//! use minutes_sdk::types::{Segment, Transcript};
//! let t = Transcript {
//!     segments: vec![
//!         Segment::new(0, 0, 5_000, "Hello there."),
//!         Segment { channel: 1, ..Segment::new(1, 2_000, 4_000, "Hi!") },
//!     ],
//!     speakers: vec![],
//!     language: None,
//! };
//! let names = vec!["me".to_string(), "others".to_string()];
//! let cues = cues(&t, &names, &CueOptions::default());
//! assert_eq!((cues[0].start_ms, cues[0].end_ms), (0, 2_000)); // clipped at the next cue
//! assert_eq!(cues[1].parts[0].voice.as_deref(), Some("others"));
//! assert_eq!(timestamp(3_723_004, ','), "01:02:03,004");
//! ```

use crate::exporter::OneFormat;
use crate::meeting::{known_speaker, one_line};
use crate::types::{Document, OutputFile, PluginError, Transcript};

#[derive(Debug, Clone, PartialEq)]
pub struct CueOptions {
    /// Characters per line (42 is the common broadcast limit).
    pub max_line_chars: usize,
    /// Lines per cue before a segment is split into several cues.
    pub max_lines: usize,
    /// Attach the speaker (or channel name) to each part.
    pub speakers: bool,
}

impl Default for CueOptions {
    fn default() -> Self {
        CueOptions {
            max_line_chars: 42,
            max_lines: 2,
            speakers: true,
        }
    }
}

/// What one speaker says in a cue.
#[derive(Debug, Clone, PartialEq)]
pub struct CuePart {
    /// The speaker label or channel name; `None` when unknown or not wanted.
    pub voice: Option<String>,
    /// Wrapped lines of plain text (no newlines inside, never empty).
    pub lines: Vec<String>,
}

/// A subtitle cue: `start_ms < end_ms`, and it ends no later than the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Usually one part; several when segments start at the same moment.
    pub parts: Vec<CuePart>,
}

/// `HH:MM:SS<sep>mmm`: `','` for SRT, `'.'` for WebVTT. Hours grow past two digits if needed.
pub fn timestamp(ms: u64, sep: char) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// The inverse of [`timestamp`], strict: `HH:MM:SS<sep>mmm` with two-digit minutes and seconds
/// below 60 and three-digit milliseconds. For validators of subtitle files.
pub fn parse_timestamp(text: &str, sep: char) -> Result<u64, String> {
    let (hms, ms) = text
        .split_once(sep)
        .ok_or(format!("{text:?}: no `{sep}mmm`"))?;
    let f: Vec<&str> = hms.split(':').collect();
    let ok = f.len() == 3
        && f[0].len() >= 2
        && f[1].len() == 2
        && f[2].len() == 2
        && ms.len() == 3
        && f.iter()
            .chain([&ms])
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(format!("{text:?} is not HH:MM:SS{sep}mmm"));
    }
    let n = |s: &str| s.parse::<u64>().map_err(|e| e.to_string());
    let (h, m, s) = (n(f[0])?, n(f[1])?, n(f[2])?);
    if m > 59 || s > 59 {
        return Err(format!("{text:?}: minutes or seconds out of range"));
    }
    Ok(((h * 60 + m) * 60 + s) * 1000 + n(ms)?)
}

/// The cue settings of a subtitle exporter from its config: `line_length` (16–200 characters,
/// default 42) and `speakers` (default true).
pub fn options_from_config(plugin: &str) -> Result<CueOptions, PluginError> {
    cue_options(
        plugin,
        crate::config::integer("line_length"),
        crate::config::boolean("speakers"),
    )
}

/// [`options_from_config`] given the values read; an out-of-range `line_length` is an error
/// that says where to fix it.
pub fn cue_options(
    plugin: &str,
    line_length: Option<i64>,
    speakers: Option<bool>,
) -> Result<CueOptions, PluginError> {
    let line_length = line_length.unwrap_or(42);
    if !(16..=200).contains(&line_length) {
        return Err(PluginError::Config(format!(
            "`line_length` = {line_length}: must be 16–200 characters (set it under [plugins.{plugin}] in config.toml)"
        )));
    }
    Ok(CueOptions {
        max_line_chars: line_length as usize,
        max_lines: 2,
        speakers: speakers.unwrap_or(true),
    })
}

/// The whole `export` of a subtitle exporter: checks the format, reads the cue settings, and
/// writes `<date>-<title>.<format>` with `render`; a transcript with no timed speech is an error.
pub fn export(
    exporter: &OneFormat,
    requested: &str,
    doc: &Document,
    render: fn(&[Cue]) -> String,
) -> Result<Vec<OutputFile>, PluginError> {
    exporter.check(requested)?;
    let options = options_from_config(exporter.plugin)?;
    let cues = cues(&doc.transcript, &doc.metadata.channel_names, &options);
    if cues.is_empty() {
        return Err(PluginError::InvalidInput(
            "the transcript has no timed speech to subtitle".into(),
        ));
    }
    Ok(vec![OutputFile::text(
        exporter.file_name(doc),
        exporter.media_type,
        render(&cues),
    )])
}

/// Exports `$ty` as a subtitle exporter writing `$format` (a [`OneFormat`]) with `$render`
/// (`fn(&[Cue]) -> String`); everything else is [`export`].
///
/// ```ignore
/// minutes_sdk::export_subtitle_exporter!(Srt, SRT, render);
/// ```
#[macro_export]
macro_rules! export_subtitle_exporter {
    ($ty:ident, $format:expr, $render:path) => {
        pub struct $ty;
        impl $crate::exporter::Exporter for $ty {
            fn info() -> $crate::types::ExporterInfo {
                $format.info()
            }
            fn export(
                format: String,
                doc: $crate::types::Document,
            ) -> Result<Vec<$crate::types::OutputFile>, $crate::types::PluginError> {
                $crate::subtitles::export(&$format, &format, &doc, $render)
            }
        }
        $crate::export_exporter!($ty);
    };
}

/// The cues for `transcript`, in time order, never overlapping.
pub fn cues(transcript: &Transcript, channel_names: &[String], options: &CueOptions) -> Vec<Cue> {
    let max_line = options.max_line_chars.max(1);
    let max_lines = options.max_lines.max(1);
    let mut pieces: Vec<Cue> = Vec::new();
    for seg in &transcript.segments {
        let text = one_line(&seg.text);
        if text.is_empty() || seg.end_ms <= seg.start_ms {
            continue;
        }
        let voice = if options.speakers {
            known_speaker(transcript, seg, channel_names)
        } else {
            None
        };
        let chunks = split(&text, max_line, max_lines);
        let weight = |c: &[String]| c.iter().map(|l| l.chars().count() as u64).sum::<u64>();
        let total: u64 = chunks.iter().map(|c| weight(c)).sum::<u64>().max(1);
        let span = seg.end_ms - seg.start_ms;
        let mut done = 0u64;
        for (i, chunk) in chunks.iter().enumerate() {
            let start = seg.start_ms + share(span, done, total);
            done += weight(chunk);
            let end = if i + 1 == chunks.len() {
                seg.end_ms
            } else {
                seg.start_ms + share(span, done, total)
            };
            pieces.push(Cue {
                start_ms: start,
                end_ms: end,
                parts: vec![CuePart {
                    voice: voice.clone(),
                    lines: chunk.clone(),
                }],
            });
        }
    }
    // Stable: segments that start together keep the transcript's order (channel order, usually).
    pieces.sort_by_key(|c| c.start_ms);

    let mut merged: Vec<Cue> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match merged.last_mut() {
            Some(last) if last.start_ms == piece.start_ms => {
                last.end_ms = last.end_ms.max(piece.end_ms);
                last.parts.extend(piece.parts);
            }
            _ => merged.push(piece),
        }
    }
    let next_starts: Vec<Option<u64>> = merged
        .iter()
        .skip(1)
        .map(|c| Some(c.start_ms))
        .chain([None])
        .collect();
    merged
        .into_iter()
        .zip(next_starts)
        .filter_map(|(mut cue, next)| {
            if let Some(next) = next {
                cue.end_ms = cue.end_ms.min(next);
            }
            (cue.end_ms > cue.start_ms).then_some(cue)
        })
        .collect()
}

/// `span * part / total` without overflow.
fn share(span: u64, part: u64, total: u64) -> u64 {
    (span as u128 * part as u128 / total as u128) as u64
}

/// The words of `text`, a word longer than a line cut into line-sized pieces.
fn units(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let (mut start, mut count) = (0, 0);
        for (i, _) in word.char_indices() {
            if count == max {
                out.push(&word[start..i]);
                (start, count) = (i, 0);
            }
            count += 1;
        }
        out.push(&word[start..]);
    }
    out
}

/// Greedy wrap of units (each at most `max` characters; `lens` are their lengths) into lines,
/// calling `line` with the range of units on each line.
fn wrap_ranges(lens: &[usize], max: usize, mut line: impl FnMut(std::ops::Range<usize>)) {
    let (mut first, mut len) = (0, 0);
    for (i, &n) in lens.iter().enumerate() {
        if len > 0 && len + 1 + n > max {
            line(first..i);
            (first, len) = (i, 0);
        }
        len += if len > 0 { 1 + n } else { n };
    }
    if first < lens.len() {
        line(first..lens.len());
    }
}

fn line_count(lens: &[usize], max: usize) -> usize {
    let mut n = 0;
    wrap_ranges(lens, max, |_| n += 1);
    n
}

fn wrap_units(units: &[&str], lens: &[usize], max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    wrap_ranges(lens, max, |r| lines.push(units[r].join(" ")));
    lines
}

#[cfg(test)]
fn wrap(text: &str, max: usize) -> Vec<String> {
    let units = units(text, max);
    let lens: Vec<usize> = units.iter().map(|u| u.chars().count()).collect();
    wrap_units(&units, &lens, max)
}

/// `text` as cues of at most `max_lines` lines, the words shared evenly between as few cues as
/// will hold them, so a long segment does not end in a cue of one word that flashes by.
fn split(text: &str, max: usize, max_lines: usize) -> Vec<Vec<String>> {
    let units = units(text, max);
    let lens: Vec<usize> = units.iter().map(|u| u.chars().count()).collect();
    let greedy = line_count(&lens, max);
    if greedy <= max_lines {
        return vec![wrap_units(&units, &lens, max)];
    }
    let total: usize = lens.iter().map(|l| l + 1).sum();
    // Each unit fits on a line, so `units.len()` cues always work: the loop returns.
    for n in greedy.div_ceil(max_lines)..=units.len() {
        let mut cuts = Vec::with_capacity(n);
        let (mut first, mut done) = (0, 0);
        for (i, &len) in lens.iter().enumerate() {
            // Close the chunk when this unit's middle would pass the chunk's share of the text.
            let boundary = total * (cuts.len() + 1) / n;
            if i > first && done + len.div_ceil(2) > boundary {
                cuts.push(first..i);
                first = i;
            }
            done += len + 1;
        }
        cuts.push(first..units.len());
        if cuts
            .iter()
            .all(|r| line_count(&lens[r.clone()], max) <= max_lines)
        {
            return cuts
                .into_iter()
                .map(|r| wrap_units(&units[r.clone()], &lens[r], max))
                .collect();
        }
    }
    units.iter().map(|u| vec![u.to_string()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Segment;

    fn seg(start_ms: u64, end_ms: u64, channel: u32, text: &str) -> Segment {
        Segment {
            channel,
            ..Segment::new(0, start_ms, end_ms, text)
        }
    }

    fn run(segments: Vec<Segment>) -> Vec<Cue> {
        let names = vec!["me".to_string(), "others".to_string()];
        cues(
            &Transcript {
                segments,
                speakers: vec![],
                language: None,
            },
            &names,
            &CueOptions::default(),
        )
    }

    fn assert_well_formed(cues: &[Cue]) {
        for (i, c) in cues.iter().enumerate() {
            assert!(c.end_ms > c.start_ms, "cue {i} has no time: {c:?}");
            assert!(c.parts.iter().all(|p| !p.lines.is_empty()
                && p.lines.iter().all(|l| !l.is_empty() && !l.contains('\n'))));
            if let Some(next) = cues.get(i + 1) {
                assert!(
                    c.end_ms <= next.start_ms && c.start_ms < next.start_ms,
                    "cue {i} overlaps the next: {c:?} {next:?}"
                );
            }
        }
    }

    #[test]
    fn overlapping_channels_are_clipped_and_out_of_order_segments_sorted() {
        let cues = run(vec![
            seg(9_000, 12_000, 0, "Last."),
            seg(0, 5_000, 0, "First."),
            seg(2_000, 4_000, 1, "Second."),
        ]);
        assert_well_formed(&cues);
        let spans: Vec<(u64, u64)> = cues.iter().map(|c| (c.start_ms, c.end_ms)).collect();
        assert_eq!(spans, [(0, 2_000), (2_000, 4_000), (9_000, 12_000)]);
        assert_eq!(cues[1].parts[0].voice.as_deref(), Some("others"));
    }

    #[test]
    fn segments_that_start_together_share_a_cue_instead_of_vanishing() {
        let cues = run(vec![
            seg(1_000, 3_000, 0, "Yes."),
            seg(1_000, 2_000, 1, "No."),
            seg(2_500, 4_000, 1, "Maybe."),
        ]);
        assert_well_formed(&cues);
        assert_eq!((cues[0].start_ms, cues[0].end_ms), (1_000, 2_500));
        let voices: Vec<_> = cues[0].parts.iter().map(|p| p.voice.as_deref()).collect();
        assert_eq!(voices, [Some("me"), Some("others")]);
    }

    #[test]
    fn empty_and_timeless_segments_are_dropped() {
        let cues = run(vec![
            seg(0, 1_000, 0, "  \n "),
            seg(2_000, 2_000, 0, "zero"),
            seg(5_000, 4_000, 0, "backwards"),
            seg(6_000, 7_000, 0, "ok"),
        ]);
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].parts[0].lines, ["ok"]);
    }

    #[test]
    fn long_segments_are_split_into_two_line_cues_with_time_shared_by_characters() {
        let text = "word ".repeat(60); // 299 characters
        let cues = run(vec![seg(3_600_000, 3_660_000, 0, &text)]);
        assert_well_formed(&cues);
        assert!(cues.len() >= 4, "{}", cues.len());
        for c in &cues {
            assert!(
                c.parts[0].lines.len() <= 2
                    && c.parts[0].lines.iter().all(|l| l.chars().count() <= 42),
                "{c:?}"
            );
        }
        assert_eq!(cues.first().map(|c| c.start_ms), Some(3_600_000));
        assert_eq!(cues.last().map(|c| c.end_ms), Some(3_660_000));
        let words: usize = cues
            .iter()
            .flat_map(|c| &c.parts[0].lines)
            .map(|l| l.split(' ').count())
            .sum();
        assert_eq!(words, 60, "words lost or duplicated in the split");
        // Full cues carry ~84 characters, so they last about as long as each other.
        let d0 = cues[0].end_ms - cues[0].start_ms;
        let d1 = cues[1].end_ms - cues[1].start_ms;
        assert!(d0.abs_diff(d1) <= 1, "{d0} vs {d1}");
    }

    #[test]
    fn a_long_segment_is_shared_evenly_so_no_cue_flashes_by() {
        // Greedy filling would put 81 characters in the first cue and 26 in the second (2.4 s).
        let text = "we should move the launch date because the pricing page is not ready and marketing needs two more weeks ready";
        let cues = run(vec![seg(0, 10_000, 0, text)]);
        assert_well_formed(&cues);
        assert_eq!(cues.len(), 2, "{cues:?}");
        let durations: Vec<u64> = cues.iter().map(|c| c.end_ms - c.start_ms).collect();
        assert!(durations.iter().all(|d| *d >= 4_000), "{durations:?}");
        let words: Vec<String> = cues
            .iter()
            .flat_map(|c| {
                c.parts[0]
                    .lines
                    .join(" ")
                    .split(' ')
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(words.join(" "), text);
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut() {
        let lines = wrap(&"x".repeat(100), 42);
        assert_eq!(
            lines.iter().map(String::len).collect::<Vec<_>>(),
            [42, 42, 16]
        );
    }

    #[test]
    fn timestamps_past_an_hour() {
        assert_eq!(timestamp(0, ','), "00:00:00,000");
        assert_eq!(timestamp(3_723_004, '.'), "01:02:03.004");
        assert_eq!(timestamp(360_000_000, ','), "100:00:00,000");
    }

    #[test]
    fn timestamps_parse_back_and_malformed_ones_are_refused() {
        for ms in [0, 3_723_004, 360_000_000] {
            assert_eq!(parse_timestamp(&timestamp(ms, ','), ','), Ok(ms));
            assert_eq!(parse_timestamp(&timestamp(ms, '.'), '.'), Ok(ms));
        }
        for bad in [
            "00:00:01.000",
            "0:00:01,000",
            "00:61:00,000",
            "00:00:01,00",
            "00:00:01,0a0",
            "00:01,000",
        ] {
            assert!(parse_timestamp(bad, ',').is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn cue_options_default_and_refuse_odd_line_lengths() {
        assert_eq!(
            cue_options("export-srt", None, None),
            Ok(CueOptions::default())
        );
        let narrow = cue_options("export-srt", Some(20), Some(false)).unwrap();
        assert_eq!((narrow.max_line_chars, narrow.speakers), (20, false));
        match cue_options("export-vtt", Some(5), None) {
            Err(PluginError::Config(m)) => assert!(
                m.contains("`line_length` = 5") && m.contains("[plugins.export-vtt]"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
