//! export-vtt: the transcript as WebVTT subtitles — `HH:MM:SS.mmm` cues in order and never
//! overlapping (see `minutes_sdk::subtitles`), speakers and channels as `<v Name>` voice tags.

use minutes_sdk::exporter::OneFormat;
use minutes_sdk::meeting::one_line;
use minutes_sdk::subtitles::{Cue, timestamp};
use std::fmt::Write;

const VTT: OneFormat = OneFormat {
    plugin: "export-vtt",
    name: "WebVTT subtitles",
    format: "vtt",
    description: "WebVTT subtitles with speakers as voice tags",
    media_type: "text/vtt",
};

minutes_sdk::export_subtitle_exporter!(Vtt, VTT, render);

/// Cue text and voice names may not hold markup: `&`, `<` and `>` become character references.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The WebVTT file for `cues`.
pub fn render(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues {
        let _ = writeln!(
            out,
            "{} --> {}",
            timestamp(cue.start_ms, '.'),
            timestamp(cue.end_ms, '.')
        );
        let several = cue.parts.len() > 1;
        for part in &cue.parts {
            let text = part
                .lines
                .iter()
                .map(|l| escape(l))
                .collect::<Vec<_>>()
                .join("\n");
            let _ = match &part.voice {
                // Alone in its cue, a voice span runs to the end; beside others it is closed.
                Some(voice) if several => {
                    writeln!(out, "<v {}>{text}</v>", escape(&one_line(voice)))
                }
                Some(voice) => writeln!(out, "<v {}>{text}", escape(&one_line(voice))),
                None => writeln!(out, "{text}"),
            };
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

    /// A parsed cue: start, end (ms), voices named, text with tags and references decoded.
    #[derive(Debug, PartialEq)]
    struct Parsed {
        start: u64,
        end: u64,
        voices: Vec<String>,
        text: String,
    }

    /// Decodes cue text: only `<v Name>`, `</v>` tags and the three character references we
    /// write are allowed; anything else is markup that leaked through unescaped.
    fn decode(line: &str, voices: &mut Vec<String>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            if let Some(tail) = rest.strip_prefix("</v>") {
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("<v ") {
                let (name, tail) = tail
                    .split_once('>')
                    .ok_or(format!("unclosed voice tag in {line:?}"))?;
                voices.push(decode(name, &mut Vec::new())?);
                rest = tail;
            } else if c == '<' || c == '>' {
                return Err(format!("unescaped markup in {line:?}"));
            } else if c == '&' {
                let (entity, tail) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
                    .iter()
                    .find_map(|(e, ch)| rest.strip_prefix(e).map(|t| (*ch, t)))
                    .ok_or(format!("bare `&` in {line:?}"))?;
                out.push(entity);
                rest = tail;
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        Ok(out)
    }

    /// Checks the WebVTT syntax we rely on and the exporter's promises: start strictly
    /// increasing, end after start, no cue overlapping the next.
    fn validate(vtt: &str) -> Result<Vec<Parsed>, String> {
        let body = vtt
            .strip_prefix("WEBVTT\n\n")
            .ok_or("no `WEBVTT` header line followed by a blank line")?;
        if !vtt.ends_with("\n\n") || vtt.contains('\r') {
            return Err("not ending in a blank line, or CR line ends".into());
        }
        let mut cues: Vec<Parsed> = Vec::new();
        for (i, block) in body.trim_end_matches('\n').split("\n\n").enumerate() {
            let mut lines = block.lines();
            let timing = lines.next().ok_or(format!("cue {i}: empty block"))?;
            let (a, b) = timing
                .split_once(" --> ")
                .ok_or(format!("cue {i}: bad timing line {timing:?}"))?;
            let (start, end) = (parse_timestamp(a, '.')?, parse_timestamp(b, '.')?);
            let mut voices = Vec::new();
            let text: Vec<String> = lines
                .map(|l| decode(l, &mut voices))
                .collect::<Result<_, _>>()?;
            if text.is_empty() || text.iter().any(|l| l.trim().is_empty()) {
                return Err(format!("cue {i}: missing or blank text"));
            }
            if end <= start {
                return Err(format!(
                    "cue {i}: ends at {end} ms, not after its start {start} ms"
                ));
            }
            if let Some(prev) = cues.last()
                && (start <= prev.start || start < prev.end)
            {
                return Err(format!(
                    "cue {i} starts at {start} ms: before the previous one ({}–{})",
                    prev.start, prev.end
                ));
            }
            cues.push(Parsed {
                start,
                end,
                voices,
                text: text.join("|"),
            });
        }
        Ok(cues)
    }

    fn seg(start_ms: u64, end_ms: u64, channel: u32, speaker: Option<&str>, text: &str) -> Segment {
        Segment {
            id: 1,
            start_ms,
            end_ms,
            channel,
            speaker_id: speaker.map(Into::into),
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

    fn parsed(start: u64, end: u64, voices: &[&str], text: &str) -> Parsed {
        Parsed {
            start,
            end,
            voices: voices.iter().map(|v| v.to_string()).collect(),
            text: text.into(),
        }
    }

    #[test]
    fn the_validator_catches_what_it_promises_to() {
        assert!(validate("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v me>a &lt;b&gt;\n\n").is_ok());
        for bad in [
            "00:00:01.000 --> 00:00:02.000\nhi\n\n",
            "WEBVTT\n\n00:00:01,000 --> 00:00:02.000\nhi\n\n",
            "WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nhi\n\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nhi\n\n00:00:02.000 --> 00:00:04.000\nx\n\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b>hi</b>\n\n",
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nR&D\n\n",
        ] {
            assert!(validate(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn channels_become_voices_and_overlaps_are_clipped() {
        let vtt = export(vec![
            seg(65_000, 68_000, 1, None, "Agreed, no soft launch."),
            seg(1_000, 6_000, 0, Some("Maria"), "We move the launch."),
            seg(4_000, 5_000, 1, None, "Hm."),
            seg(7_000, 8_000, 0, None, ""),
        ]);
        let cues = validate(&vtt).unwrap_or_else(|e| panic!("{e}\n{vtt}"));
        assert_eq!(
            cues,
            [
                parsed(1_000, 4_000, &["Maria"], "We move the launch."),
                parsed(4_000, 5_000, &["others"], "Hm."),
                parsed(65_000, 68_000, &["others"], "Agreed, no soft launch."),
            ]
        );
        assert!(
            vtt.contains("00:00:01.000 --> 00:00:04.000\n<v Maria>We move the launch.\n\n"),
            "{vtt}"
        );
    }

    #[test]
    fn markup_in_text_and_names_is_escaped() {
        let vtt = export(vec![seg(
            0,
            2_000,
            0,
            Some("R&D <lead>"),
            "<b>bold</b> & -->",
        )]);
        assert!(
            vtt.contains("<v R&amp;D &lt;lead&gt;>&lt;b&gt;bold&lt;/b&gt; &amp; --&gt;\n"),
            "{vtt}"
        );
        let cues = validate(&vtt).unwrap_or_else(|e| panic!("{e}\n{vtt}"));
        assert_eq!(
            cues,
            [parsed(0, 2_000, &["R&D <lead>"], "<b>bold</b> & -->")]
        );
    }

    #[test]
    fn past_an_hour_long_segments_split_and_simultaneous_speakers_share_a_cue() {
        let long =
            "we will need a second opinion on the pricing page before the launch date ".repeat(3);
        let vtt = export(vec![
            seg(3_700_000, 3_701_000, 0, None, "Yes."),
            seg(3_700_000, 3_702_000, 1, None, "No."),
            seg(3_600_000, 3_650_000, 1, None, &long),
        ]);
        let cues = validate(&vtt).unwrap_or_else(|e| panic!("{e}\n{vtt}"));
        assert!(vtt.starts_with("WEBVTT\n\n01:00:00.000 --> "), "{vtt}");
        let last = cues.last().unwrap();
        assert_eq!(
            *last,
            parsed(3_700_000, 3_702_000, &["me", "others"], "Yes.|No.")
        );
        assert!(
            vtt.ends_with("<v me>Yes.</v>\n<v others>No.</v>\n\n"),
            "{vtt}"
        );
        let split = &cues[..cues.len() - 1];
        assert!(
            split.len() >= 3 && split.iter().all(|c| c.text.split('|').count() <= 2),
            "{vtt}"
        );
        assert_eq!(
            (split[0].start, split.last().unwrap().end),
            (3_600_000, 3_650_000)
        );
    }
}
