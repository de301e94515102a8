//! Sentences and words of a transcript.

use crate::prompt::speaker_of;
use crate::types::Transcript;

#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub segment: usize,
    pub speaker: String,
    pub start_ms: u64,
    /// Whitespace collapsed, curly apostrophes straightened.
    pub text: String,
}

impl Sentence {
    pub fn is_question(&self) -> bool {
        self.text.trim_end().ends_with('?')
    }
}

/// Every sentence of every segment, in order.
pub fn sentences(transcript: &Transcript, channel_names: &[String]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (segment, seg) in transcript.segments.iter().enumerate() {
        let text = seg
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['’', '‘'], "'");
        if text.is_empty() {
            continue;
        }
        let speaker = speaker_of(transcript, seg, channel_names);
        for s in split_sentences(&text) {
            out.push(Sentence {
                segment,
                speaker: speaker.clone(),
                start_ms: seg.start_ms,
                text: s.to_string(),
            });
        }
    }
    out
}

/// Splits after `.`, `!`, `?` followed by a space (so "a.m." and "1.5" stay whole).
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end = matches!(c, '.' | '!' | '?' | '。' | '！' | '？');
        let next_is_space = bytes.get(i + c.len_utf8()) == Some(&b' ');
        if end && (next_is_space || c.len_utf8() > 1) {
            let s = text[start..i + c.len_utf8()].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + c.len_utf8();
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Lower-case content words (stop words and fillers removed).
pub fn content_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .filter(|w| w.chars().count() > 2 || w.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "but", "by", "can", "could", "did", "do", "does", "doing", "don't",
    "for", "from", "get", "got", "had", "has", "have", "he", "her", "here", "him", "his", "how",
    "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "it", "it's", "its", "just",
    "know", "let's", "like", "me", "mm", "more", "most", "much", "my", "no", "not", "now", "of",
    "oh", "okay", "on", "one", "or", "our", "out", "really", "right", "she", "should", "so",
    "some", "than", "that", "that's", "the", "their", "them", "then", "there", "these", "they",
    "think", "this", "those", "to", "too", "uh", "um", "up", "very", "was", "we", "we'll", "we're",
    "were", "what", "when", "where", "which", "who", "will", "with", "would", "yeah", "yes", "you",
    "your", "hmm", "well", "going", "gonna", "actually", "thing", "things", "want", "need", "mean",
    "sort", "kind", "quite", "maybe", "still", "only",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_but_not_times_or_decimals() {
        assert_eq!(
            split_sentences("We meet at 10 a.m. Thanks. Crash rate is 1.5 percent? Yes!"),
            vec![
                "We meet at 10 a.m.",
                "Thanks.",
                "Crash rate is 1.5 percent?",
                "Yes!"
            ]
        );
    }

    #[test]
    fn content_words_drop_stop_words_and_keep_numbers() {
        assert_eq!(
            content_words("We closed 42 of the 50 open bugs."),
            vec!["closed", "42", "50", "open", "bugs"]
        );
    }
}
