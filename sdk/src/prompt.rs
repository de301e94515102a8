//! Turning transcripts into text for prompts and plain exports.
//!
//! ```
//! use minutes_sdk::types::{Segment, Transcript};
//! let t = Transcript {
//!     segments: vec![Segment { channel: 1, ..Segment::new(0, 61_500, 63_000, " Hello.") }],
//!     speakers: vec![],
//!     language: None,
//! };
//! let names = vec!["me".to_string(), "others".to_string()];
//! assert_eq!(minutes_sdk::prompt::transcript_lines(&t, &names), "[01:01] others: Hello.\n");
//! assert_eq!(minutes_sdk::prompt::transcript_lines_with_ids(&t, &names), "[s0 01:01] others: Hello.\n");
//! assert_eq!(minutes_sdk::prompt::timestamp(3_725_000), "1:02:05");
//! ```

use crate::types::{Message, Role, Segment, Transcript};

/// `mm:ss`, or `h:mm:ss` from one hour on.
pub fn timestamp(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// Who spoke a segment of `transcript`: its speaker's name, else the name of its channel, else
/// `channel N`.
pub fn speaker_of(transcript: &Transcript, segment: &Segment, channel_names: &[String]) -> String {
    if let Some(s) = transcript.speaker_name(segment) {
        return s.to_string();
    }
    channel_names
        .get(segment.channel as usize)
        .cloned()
        .unwrap_or_else(|| format!("channel {}", segment.channel))
}

/// One `[mm:ss] speaker: text` line per segment.
pub fn transcript_lines(transcript: &Transcript, channel_names: &[String]) -> String {
    let mut out = String::new();
    for seg in &transcript.segments {
        let text = seg.text.trim();
        if text.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "[{}] {}: {}\n",
            timestamp(seg.start_ms),
            speaker_of(transcript, seg, channel_names),
            text
        ));
    }
    out
}

/// One `[s12 mm:ss] speaker: text` line per segment, `s12` being the segment's id: the form in
/// which a model sees a transcript it is asked to cite (see [`crate::notes::line_id`]).
pub fn transcript_lines_with_ids(transcript: &Transcript, channel_names: &[String]) -> String {
    let mut out = String::new();
    for seg in &transcript.segments {
        let text = seg.text.trim();
        if text.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "[s{} {}] {}: {}\n",
            seg.id,
            timestamp(seg.start_ms),
            speaker_of(transcript, seg, channel_names),
            text
        ));
    }
    out
}

pub fn system(content: impl Into<String>) -> Message {
    Message {
        role: Role::System,
        content: content.into(),
    }
}

pub fn user(content: impl Into<String>) -> Message {
    Message {
        role: Role::User,
        content: content.into(),
    }
}

/// Wraps untrusted text (a transcript) so a model treats it as data, not instructions.
pub fn as_data(label: &str, text: &str) -> String {
    format!(
        "<{label}>\n{}\n</{label}>",
        text.replace(&format!("</{label}>"), "")
    )
}
