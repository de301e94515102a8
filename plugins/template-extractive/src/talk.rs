//! Who spoke how long, from segment times.

use minutes_sdk::prompt::{speaker_of, timestamp};
use minutes_sdk::types::Transcript;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub struct TalkTime {
    pub speaker: String,
    pub ms: u64,
    pub turns: usize,
}

/// Speaking time per speaker (or channel, for unlabelled segments), longest first.
pub fn talk_time(transcript: &Transcript, channel_names: &[String]) -> Vec<TalkTime> {
    let mut out: Vec<TalkTime> = Vec::new();
    for seg in transcript
        .segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
    {
        let who = speaker_of(transcript, seg, channel_names);
        let ms = seg.end_ms.saturating_sub(seg.start_ms);
        match out.iter_mut().find(|t| t.speaker == who) {
            Some(t) => {
                t.ms += ms;
                t.turns += 1;
            }
            None => out.push(TalkTime {
                speaker: who,
                ms,
                turns: 1,
            }),
        }
    }
    // Stable sort: equal times keep order of first appearance.
    out.sort_by_key(|t| std::cmp::Reverse(t.ms));
    out
}

/// A Markdown table: speaker, time, share, turns.
pub fn table(times: &[TalkTime]) -> String {
    let total: u64 = times.iter().map(|t| t.ms).sum();
    let mut out = String::from("| Speaker | Time | Share | Turns |\n| --- | ---: | ---: | ---: |");
    for t in times {
        let share = if total == 0 {
            0.0
        } else {
            t.ms as f64 * 100.0 / total as f64
        };
        let who = t.speaker.replace('|', "/");
        let _ = write!(
            out,
            "\n| {who} | {} | {share:.0} % | {} |",
            timestamp(t.ms),
            t.turns
        );
    }
    out
}
