//! Transcript segments to speakers by time: each word goes to the speaker who talks most during
//! it, and a segment whose words change speaker is split there.

use super::Turn;
use crate::transcribe::engine::Word;
use crate::transcribe::pipeline::Segment;

/// A word-run shorter than this (and under 2 words) is not split off: a turn boundary a frame
/// or two off would otherwise cut single words away from their sentence.
const MIN_PART_MS: u64 = 400;
/// Speech that no turn covers goes to the nearest turn within this distance.
const NEAREST_MS: u64 = 2_000;

/// The speaker who talks most during `[start, end)`, or the nearest one close by.
pub fn speaker_for(turns: &[Turn], start: u64, end: u64) -> Option<usize> {
    let end = end.max(start + 1);
    let mut overlap: Vec<(usize, u64)> = Vec::new();
    for t in turns {
        let o = t.end_ms.min(end).saturating_sub(t.start_ms.max(start));
        if o > 0 {
            match overlap.iter_mut().find(|(s, _)| *s == t.speaker) {
                Some((_, v)) => *v += o,
                None => overlap.push((t.speaker, o)),
            }
        }
    }
    if let Some((s, _)) = overlap.into_iter().max_by_key(|(_, o)| *o) {
        return Some(s);
    }
    turns
        .iter()
        .map(|t| {
            let gap = if t.end_ms <= start {
                start - t.end_ms
            } else {
                t.start_ms.saturating_sub(end)
            };
            (gap, t.speaker)
        })
        .filter(|(gap, _)| *gap <= NEAREST_MS)
        .min_by_key(|(gap, _)| *gap)
        .map(|(_, s)| s)
}

/// Labels the segments for which `on_channel` holds with speakers from `turns` (ids from
/// `id_of`), splitting at speaker changes where word times allow. `words[i]` are segment i's
/// words in recording time (may be empty). Other segments are returned unchanged.
pub fn label_segments(
    segments: Vec<Segment>,
    words: Vec<Vec<Word>>,
    turns: &[Turn],
    on_channel: impl Fn(u32) -> bool,
    id_of: impl Fn(usize) -> String,
) -> Vec<Segment> {
    let mut out = Vec::with_capacity(segments.len());
    let mut words = words.into_iter();
    for seg in segments {
        let seg_words = words.next().unwrap_or_default();
        if !on_channel(seg.channel) {
            out.push(seg);
            continue;
        }
        out.extend(split_segment(seg, &seg_words, turns, &id_of));
    }
    out
}

fn split_segment(
    seg: Segment,
    words: &[Word],
    turns: &[Turn],
    id_of: &impl Fn(usize) -> String,
) -> Vec<Segment> {
    let whole = speaker_for(turns, seg.start_ms, seg.end_ms);
    let joined: String = words.iter().map(|w| w.text.as_str()).collect();
    // Words that do not add up to the segment's text (it was cleaned after whisper) cannot be
    // cut apart safely: the segment goes whole to its main speaker.
    if words.is_empty() || joined.trim() != seg.text.trim() {
        return vec![Segment {
            speaker: whole.map(id_of).or(seg.speaker.clone()),
            ..seg
        }];
    }
    // Runs of whole words (a token without a leading space continues the word before it).
    let mut runs: Vec<(Option<usize>, Vec<&Word>)> = Vec::new();
    for w in words {
        let s = speaker_for(turns, w.start_ms, w.end_ms).or(whole);
        let continues = !w.text.starts_with(' ') || w.text.trim().is_empty();
        match runs.last_mut() {
            Some((rs, ws)) if *rs == s || continues => ws.push(w),
            _ => runs.push((s, vec![w])),
        }
    }
    // Fold runs too short to be a turn into the run before (or after, for the first).
    let mut i = 0;
    while runs.len() > 1 && i < runs.len() {
        let (_, ws) = &runs[i];
        let span = ws
            .last()
            .map_or(0, |l| l.end_ms)
            .saturating_sub(ws.first().map_or(0, |f| f.start_ms));
        let n_words = ws.iter().filter(|w| w.text.starts_with(' ')).count().max(1);
        if span < MIN_PART_MS && n_words < 2 {
            let (_, moved) = runs.remove(i);
            let into = if i > 0 { i - 1 } else { 0 };
            if i > 0 {
                runs[into].1.extend(moved);
            } else {
                let mut m = moved;
                m.append(&mut runs[0].1);
                runs[0].1 = m;
            }
            // Neighbours with one speaker now touch: join them.
            let mut j = 1;
            while j < runs.len() {
                if runs[j].0 == runs[j - 1].0 {
                    let (_, ws) = runs.remove(j);
                    runs[j - 1].1.extend(ws);
                } else {
                    j += 1;
                }
            }
            i = 0;
        } else {
            i += 1;
        }
    }
    let n = runs.len();
    runs.into_iter()
        .enumerate()
        .map(|(k, (s, ws))| {
            let start = if k == 0 {
                seg.start_ms
            } else {
                ws.first().map_or(seg.start_ms, |w| w.start_ms)
            }
            .clamp(seg.start_ms, seg.end_ms);
            let end = if k + 1 == n {
                seg.end_ms
            } else {
                ws.last().map_or(seg.end_ms, |w| w.end_ms)
            }
            .clamp(start, seg.end_ms);
            Segment {
                start_ms: start,
                end_ms: end,
                channel: seg.channel,
                speaker: s.or(whole).map(id_of).or(seg.speaker.clone()),
                text: ws
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<String>()
                    .trim()
                    .to_string(),
                confidence: seg.confidence,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start_ms: u64, end_ms: u64, text: &str) -> Word {
        Word {
            start_ms,
            end_ms,
            text: text.into(),
            probability: 0.9,
        }
    }

    fn seg(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            channel: 1,
            speaker: Some("others".into()),
            text: text.into(),
            confidence: 0.8,
        }
    }

    #[test]
    fn a_segment_spanning_a_change_of_speaker_is_split_at_the_word() {
        let turns = [
            Turn {
                start_ms: 0,
                end_ms: 2_000,
                speaker: 0,
            },
            Turn {
                start_ms: 2_100,
                end_ms: 5_000,
                speaker: 1,
            },
        ];
        let words = vec![
            word(100, 500, " Are"),
            word(500, 900, " we"),
            word(900, 1_800, " ready"),
            word(2_200, 2_600, " Yes"),
            word(2_600, 3_000, " we"),
            word(3_000, 3_400, " are"),
            word(3_400, 3_500, "."),
        ];
        let out = label_segments(
            vec![seg(100, 3_500, "Are we ready Yes we are.")],
            vec![words],
            &turns,
            |_| true,
            super::super::speaker_id,
        );
        let got: Vec<(&str, &str, u64, u64)> = out
            .iter()
            .map(|s| {
                (
                    s.speaker.as_deref().unwrap_or(""),
                    s.text.as_str(),
                    s.start_ms,
                    s.end_ms,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("speaker-1", "Are we ready", 100, 1_800),
                ("speaker-2", "Yes we are.", 2_200, 3_500)
            ]
        );
    }

    #[test]
    fn one_stray_word_is_not_split_off_and_other_channels_keep_their_label() {
        let turns = [
            Turn {
                start_ms: 0,
                end_ms: 1_000,
                speaker: 0,
            },
            Turn {
                start_ms: 1_000,
                end_ms: 1_200,
                speaker: 1,
            },
            Turn {
                start_ms: 1_200,
                end_ms: 3_000,
                speaker: 0,
            },
        ];
        let words = vec![
            word(0, 900, " one"),
            word(1_000, 1_200, " two"),
            word(1_300, 2_000, " three"),
        ];
        let mut mine = seg(0, 2_000, "hello");
        mine.channel = 0;
        mine.speaker = Some("me".into());
        let out = label_segments(
            vec![seg(0, 2_000, "one two three"), mine],
            vec![words, Vec::new()],
            &turns,
            |c| c == 1,
            super::super::speaker_id,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text, "one two three");
        assert_eq!(out[0].speaker.as_deref(), Some("speaker-1"));
        assert_eq!(out[1].speaker.as_deref(), Some("me"));
    }
}
