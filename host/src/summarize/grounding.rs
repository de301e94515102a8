//! The host's check of citations: a summary item (or an answer) says which transcript segments it
//! comes from, and the host decides whether they back it before anything is stored or shown.
//!
//! The rule, kept cheap so a user can follow it by eye:
//! 1. A citation must name a segment that exists (in this meeting, or for `ask` in the cited
//!    meeting's passages). One that names nothing is dropped, and the log says so; the item stays.
//! 2. Its `at-ms` must lie within that segment, give or take [`AT_MS_TOLERANCE_MS`] (transcribers
//!    place segment edges only roughly).
//! 3. The segment's text must share at least one content word with the item: words are lowercased,
//!    split at anything that is not a letter or digit, stop words and words shorter than three
//!    characters are dropped, and a trailing plural `s` is ignored ("prices" = "price").
//!
//! An item whose remaining citations all pass is `supported`; one with any failing citation (or
//! whose every citation named nothing) is `unsupported`, kept but flagged; an item citing nothing
//! (every item of a v0.1 template) is `uncited`. Whatever grounding the plugin claimed is ignored.

use crate::model::{Citation, Grounding, Segment, Summary, Transcript};
use std::collections::{HashMap, HashSet};

/// How far outside its segment a cited moment may lie and still count (ms).
pub const AT_MS_TOLERANCE_MS: u64 = 1_000;

/// Words that carry no content of their own: sharing only these proves nothing.
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "get",
    "going",
    "gonna",
    "got",
    "had",
    "has",
    "have",
    "having",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "into",
    "its",
    "itself",
    "just",
    "let",
    "like",
    "more",
    "most",
    "much",
    "must",
    "myself",
    "need",
    "not",
    "now",
    "off",
    "okay",
    "once",
    "one",
    "only",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "really",
    "same",
    "she",
    "should",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "through",
    "too",
    "under",
    "until",
    "very",
    "was",
    "way",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yeah",
    "yes",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The content words of `text`, as the rule above defines them.
pub fn content_words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// Why one citation failed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No such segment: the citation is dropped.
    NoSegment,
    /// The cited moment lies outside the cited segment.
    OutsideSegment,
    /// The segment shares no content word with the item.
    NothingInCommon,
}

/// Checks `citations` of an item whose text is `text`, dropping those that name no segment.
/// `find` looks a citation's segment up.
pub fn ground<'a>(
    what: &str,
    text: &str,
    citations: &mut Vec<Citation>,
    find: impl Fn(&Citation) -> Option<&'a Segment>,
) -> Grounding {
    if citations.is_empty() {
        return Grounding::Uncited;
    }
    let words = content_words(text);
    let mut failed = false;
    citations.retain(|c| match check(&words, c, find(c)) {
        Ok(()) => true,
        Err(Failure::NoSegment) => {
            tracing::warn!(
                "{what} \"{}\" cites segment {}{} at {} ms, which does not exist; the citation is dropped",
                short(text),
                c.segment_id,
                c.meeting_id
                    .as_deref()
                    .map(|m| format!(" of meeting {m}"))
                    .unwrap_or_default(),
                c.at_ms
            );
            failed = true;
            false
        }
        Err(why) => {
            tracing::warn!(
                "{what} \"{}\": its citation of segment {} is not supported ({})",
                short(text),
                c.segment_id,
                match why {
                    Failure::OutsideSegment => "the cited time lies outside that segment",
                    _ => "that segment shares no content word with it",
                }
            );
            failed = true;
            true
        }
    });
    match failed {
        true => Grounding::Unsupported,
        false => Grounding::Supported,
    }
}

fn check(words: &HashSet<String>, c: &Citation, seg: Option<&Segment>) -> Result<(), Failure> {
    let seg = seg.ok_or(Failure::NoSegment)?;
    let from = seg.start_ms.saturating_sub(AT_MS_TOLERANCE_MS);
    let to = seg.end_ms.saturating_add(AT_MS_TOLERANCE_MS);
    if c.at_ms < from || c.at_ms > to {
        return Err(Failure::OutsideSegment);
    }
    if content_words(&seg.text).is_disjoint(words) {
        return Err(Failure::NothingInCommon);
    }
    Ok(())
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(60).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// What the check found in a summary, for the log and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub supported: usize,
    pub unsupported: usize,
    pub uncited: usize,
}

/// Checks every citation of `summary` against `transcript` (this meeting's segments), setting
/// each item's grounding. Items are never dropped.
pub fn ground_summary(summary: &mut Summary, transcript: &Transcript) -> Tally {
    let by_id: HashMap<u32, &Segment> = transcript.segments.iter().map(|s| (s.id, s)).collect();
    // A summary cites its own meeting; a meeting id, if a template sets one, is not looked at.
    let find = |c: &Citation| by_id.get(&c.segment_id).copied();
    let mut tally = Tally::default();
    let mut count = |g: Grounding| match g {
        Grounding::Supported => tally.supported += 1,
        Grounding::Unsupported => tally.unsupported += 1,
        _ => tally.uncited += 1,
    };
    for d in &mut summary.decisions {
        d.grounding = ground("decision", &d.text, &mut d.citations, find);
        count(d.grounding);
    }
    for a in &mut summary.action_items {
        let text = format!("{} {}", a.owner.as_deref().unwrap_or(""), a.task);
        a.grounding = ground("action item", &text, &mut a.citations, find);
        count(a.grounding);
    }
    for q in &mut summary.open_questions {
        q.grounding = ground("open question", &q.text, &mut q.citations, find);
        count(q.grounding);
    }
    if tally.unsupported > 0 {
        tracing::warn!(
            "{} summary item(s) cite transcript segments that do not back them; they are kept and \
             marked unsupported",
            tally.unsupported
        );
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ActionItem, Decision, OpenQuestion};

    fn seg(id: u32, start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            id,
            start_ms,
            end_ms,
            channel: 0,
            speaker_id: None,
            text: text.into(),
            words: Vec::new(),
        }
    }

    fn cite(segment_id: u32, at_ms: u64) -> Citation {
        Citation {
            segment_id,
            at_ms,
            meeting_id: None,
        }
    }

    fn transcript() -> Transcript {
        Transcript {
            segments: vec![
                seg(3, 1_000, 4_000, "We move the launch to March 17th."),
                seg(7, 65_000, 68_000, "Agreed, no soft launch."),
                seg(
                    9,
                    70_000,
                    75_000,
                    "Sam will draft the announcements by Friday.",
                ),
                seg(
                    12,
                    80_000,
                    84_000,
                    "The pricing stays at twelve euros per seat.",
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn each_citation_is_judged_by_the_written_rule() {
        let t = transcript();
        // (item text, citations, expected grounding, citations kept)
        let table: Vec<(&str, Vec<Citation>, Grounding, usize)> = vec![
            (
                "Launch on March 17th",
                vec![cite(3, 1_000)],
                Grounding::Supported,
                1,
            ),
            // A point inside the segment, and one just past its end (within the tolerance).
            (
                "Launch on March 17th",
                vec![cite(3, 2_500)],
                Grounding::Supported,
                1,
            ),
            (
                "Launch on March 17th",
                vec![cite(3, 4_900)],
                Grounding::Supported,
                1,
            ),
            // Plural and case do not matter: "announcement" ~ "announcements".
            (
                "Draft the Announcement",
                vec![cite(9, 70_000)],
                Grounding::Supported,
                1,
            ),
            // The right segment at a time far from it.
            (
                "Launch on March 17th",
                vec![cite(3, 30_000)],
                Grounding::Unsupported,
                1,
            ),
            // A segment that exists but says something else.
            (
                "Launch on March 17th",
                vec![cite(12, 80_000)],
                Grounding::Unsupported,
                1,
            ),
            // Only stop words in common ("the", "we") is nothing in common.
            (
                "We keep the budget",
                vec![cite(3, 1_000)],
                Grounding::Unsupported,
                1,
            ),
            // A segment that does not exist: dropped, and the item is flagged.
            (
                "Launch on March 17th",
                vec![cite(99, 1_000)],
                Grounding::Unsupported,
                0,
            ),
            // One good, one pointing at nothing: the bad one is dropped, the item still flagged.
            (
                "Launch on March 17th",
                vec![cite(3, 1_000), cite(42, 5_000)],
                Grounding::Unsupported,
                1,
            ),
            // Two good citations.
            (
                "No soft launch",
                vec![cite(7, 65_000), cite(3, 1_000)],
                Grounding::Supported,
                2,
            ),
            // Nothing cited.
            ("Launch on March 17th", vec![], Grounding::Uncited, 0),
        ];
        let by_id: HashMap<u32, &Segment> = t.segments.iter().map(|s| (s.id, s)).collect();
        for (text, citations, expected, kept) in table {
            let mut citations = citations;
            let before = citations.clone();
            let got = ground("decision", text, &mut citations, |c| {
                by_id.get(&c.segment_id).copied()
            });
            assert_eq!(got, expected, "{text:?} citing {before:?}");
            assert_eq!(citations.len(), kept, "{text:?} citing {before:?}");
        }
    }

    #[test]
    fn content_words_drop_stop_words_short_words_and_plural_s() {
        let w = content_words("We'll keep the Prices, and the class is OK!");
        let mut w: Vec<_> = w.into_iter().collect();
        w.sort();
        assert_eq!(w, ["class", "keep", "price"]);
    }

    #[test]
    fn a_summary_is_checked_item_by_item_and_nothing_is_dropped() {
        let mut s = Summary {
            decisions: vec![
                Decision {
                    text: "Launch on March 17th".into(),
                    citations: vec![cite(3, 1_000)],
                    // A plugin's claim counts for nothing.
                    grounding: Grounding::Supported,
                },
                Decision {
                    text: "Pricing goes up".into(),
                    citations: vec![cite(3, 1_000)],
                    grounding: Grounding::Supported,
                },
                // As a v0.1 template's items arrive.
                Decision::uncited("Keep the budget"),
            ],
            action_items: vec![ActionItem {
                owner: Some("Sam".into()),
                owner_speaker_id: None,
                task: "Draft the announcement".into(),
                due: None,
                done: false,
                citations: vec![cite(9, 71_000)],
                grounding: Grounding::Unchecked,
            }],
            open_questions: vec![OpenQuestion {
                text: "Seat price next year?".into(),
                citations: vec![cite(404, 0)],
                grounding: Grounding::Unchecked,
            }],
            ..Default::default()
        };
        let tally = ground_summary(&mut s, &transcript());
        let decisions: Vec<Grounding> = s.decisions.iter().map(|d| d.grounding).collect();
        assert_eq!(
            decisions,
            [
                Grounding::Supported,
                Grounding::Unsupported,
                Grounding::Uncited
            ]
        );
        assert_eq!(s.action_items[0].grounding, Grounding::Supported);
        assert_eq!(s.open_questions[0].grounding, Grounding::Unsupported);
        assert!(s.open_questions[0].citations.is_empty());
        assert_eq!(
            tally,
            Tally {
                supported: 2,
                unsupported: 2,
                uncited: 1
            }
        );
    }
}
