//! export-srt: the transcript as SubRip subtitles — numbered cues, `HH:MM:SS,mmm` times, in
//! order and never overlapping (see `minutes_sdk::subtitles`), speakers as `Name:` prefixes.

use minutes_sdk::exporter::OneFormat;
use minutes_sdk::subtitles::{Cue, timestamp};
use std::fmt::Write;

const SRT: OneFormat = OneFormat {
    plugin: "export-srt",
    name: "SRT subtitles",
    format: "srt",
    description: "SubRip subtitles for the recording",
    media_type: "application/x-subrip",
};

minutes_sdk::export_subtitle_exporter!(Srt, SRT, render);

/// The SubRip file for `cues`.
pub fn render(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}\n{} --> {}",
            i + 1,
            timestamp(cue.start_ms, ','),
            timestamp(cue.end_ms, ',')
        );
        for part in &cue.parts {
            for (j, line) in part.lines.iter().enumerate() {
                // A line holding `-->` could be taken for a timing line by lenient parsers.
                let line = line.replace("-->", "->");
                let _ = match (&part.voice, j) {
                    (Some(voice), 0) => writeln!(out, "{voice}: {line}"),
                    _ => writeln!(out, "{line}"),
                };
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::subtitles::{CueOptions, cues, parse_timestamp};
    use minutes_sdk::types::{Segment, Transcript};

    /// A parsed cue: start, end (ms), text lines.
    type Parsed = (u64, u64, Vec<String>);

    /// Checks what a strict SRT reader checks, and the promises of the exporter: numbered from
    /// 1, start strictly increasing, end after start, no cue overlapping the next.
    fn validate(srt: &str) -> Result<Vec<Parsed>, String> {
        if srt.trim().is_empty() || !srt.ends_with("\n\n") || srt.contains('\r') {
            return Err("empty, or not ending in a blank line, or CR line ends".into());
        }
        let mut cues: Vec<Parsed> = Vec::new();
        for (i, block) in srt.trim_end_matches('\n').split("\n\n").enumerate() {
            let mut lines = block.lines();
            let index = lines.next().ok_or(format!("cue {i}: empty block"))?;
            if index != (i + 1).to_string() {
                return Err(format!("cue {i}: index {index:?}, expected {}", i + 1));
            }
            let timing = lines.next().ok_or(format!("cue {i}: no timing line"))?;
            let (a, b) = timing
                .split_once(" --> ")
                .ok_or(format!("cue {i}: bad timing line {timing:?}"))?;
            let (start, end) = (parse_timestamp(a, ',')?, parse_timestamp(b, ',')?);
            let text: Vec<String> = lines.map(str::to_string).collect();
            if text.is_empty()
                || text
                    .iter()
                    .any(|l| l.trim().is_empty() || l.contains("-->"))
            {
                return Err(format!("cue {i}: missing or bad text {text:?}"));
            }
            if end <= start {
                return Err(format!(
                    "cue {i}: ends at {end} ms, not after its start {start} ms"
                ));
            }
            if let Some((prev_start, prev_end, _)) = cues.last()
                && (start <= *prev_start || start < *prev_end)
            {
                return Err(format!(
                    "cue {i} starts at {start} ms: before the previous one ({prev_start}–{prev_end})"
                ));
            }
            cues.push((start, end, text));
        }
        Ok(cues)
    }

    fn seg(start_ms: u64, end_ms: u64, channel: u32, text: &str) -> Segment {
        Segment {
            id: 1,
            start_ms,
            end_ms,
            channel,
            speaker_id: None,
            text: text.into(),
            words: vec![],
        }
    }

    fn export(segments: Vec<Segment>) -> String {
        let names = vec!["me".to_string(), "others".to_string()];
        render(&cues(
            &Transcript {
                segments,
                speakers: vec![],
                language: None,
            },
            &names,
            &CueOptions::default(),
        ))
    }

    #[test]
    fn the_validator_catches_what_it_promises_to() {
        let good =
            "1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:02,000 --> 00:00:03,500\nthere\n\n";
        assert_eq!(validate(good).unwrap().len(), 2);
        for bad in [
            "1\n00:00:01.000 --> 00:00:02,000\nhi\n\n",
            "1\n00:00:02,000 --> 00:00:01,000\nhi\n\n",
            "1\n00:00:01,000 --> 00:00:03,000\nhi\n\n2\n00:00:02,000 --> 00:00:04,000\nx\n\n",
            "2\n00:00:01,000 --> 00:00:02,000\nhi\n\n",
            "1\n00:00:01,000 --> 00:00:02,000\n\n",
            "1\n00:61:01,000 --> 00:62:02,000\nhi\n\n",
        ] {
            assert!(validate(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn overlapping_channels_and_out_of_order_segments_become_valid_cues() {
        let srt = export(vec![
            seg(10_000, 14_000, 1, "Agreed."),
            seg(0, 6_000, 0, "We move the launch to March 17th."),
            seg(3_000, 5_000, 1, "Wait --> what?"),
            seg(7_000, 7_000, 0, "zero length"),
            seg(8_000, 9_000, 0, "   "),
        ]);
        let cues = validate(&srt).unwrap_or_else(|e| panic!("{e}\n{srt}"));
        let got: Vec<(u64, u64, String)> = cues
            .into_iter()
            .map(|(a, b, t)| (a, b, t.join("|")))
            .collect();
        assert_eq!(
            got,
            [
                (
                    0,
                    3_000,
                    "me: We move the launch to March 17th.".to_string()
                ),
                (3_000, 5_000, "others: Wait -> what?".to_string()),
                (10_000, 14_000, "others: Agreed.".to_string()),
            ]
        );
    }

    #[test]
    fn long_segments_past_an_hour_are_split_into_short_cues() {
        let long =
            "the quarterly numbers look fine but the churn in the pro tier worries everyone here "
                .repeat(4);
        let srt = export(vec![
            seg(3_599_500, 3_659_500, 1, &long),
            seg(3_659_500, 3_661_000, 0, "Right."),
        ]);
        let cues = validate(&srt).unwrap_or_else(|e| panic!("{e}\n{srt}"));
        assert!(cues.len() >= 5, "{srt}");
        assert!(srt.starts_with("1\n00:59:59,500 --> "), "{srt}");
        assert!(srt.contains(" --> 01:00:59,500\n"), "{srt}");
        for (_, _, text) in &cues {
            assert!(text.len() <= 2, "{text:?}");
            assert!(
                text.iter()
                    .all(|l| l.chars().count() <= 42 + "others: ".len()),
                "{text:?}"
            );
        }
        assert_eq!(
            cues.last().map(|c| (c.0, c.1)),
            Some((3_659_500, 3_661_000))
        );
    }

    #[test]
    fn speakers_who_start_together_share_a_cue() {
        let srt = export(vec![
            seg(1_000, 2_000, 0, "Yes."),
            seg(1_000, 3_000, 1, "No."),
        ]);
        assert_eq!(
            srt,
            "1\n00:00:01,000 --> 00:00:03,000\nme: Yes.\nothers: No.\n\n"
        );
        validate(&srt).unwrap();
    }
}
