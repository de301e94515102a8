//! Scoring a summary against a scripted meeting's reference (`summary_reference`).
//!
//! The matching rule, also in `minutes bench summarize --help` and the README:
//! 1. Words: lower-cased, split at anything but letters and digits; `2,400` is `2400`, `17th` is
//!    `17`, number words up to twenty (and thirty … ninety) are digits; a plural or verb ending
//!    (`-s`, `-ed`, `-ing`, `-ion`) and then a final `e` are cut off; stop words and words shorter
//!    than three letters (digits excepted) are dropped. What is left are the content words. A
//!    trailing attribution in brackets that only names a participant ("… (Maria)") is not part
//!    of the item. Names inside the text count: "Chloe and Raj go to Lisbon" is about them.
//! 2. A summary item matches a reference item when they share at least [`MIN_SHARED`] content
//!    words and the shared words are at least [`MIN_OVERLAP`] of the shorter one's content words
//!    (overlap coefficient): a short item that says what the reference says matches a long
//!    reference sentence, and a long sentence matches a short reference.
//! 3. Items and references are paired one to one, as many pairs as possible (maximum matching),
//!    so one item cannot find two references. Decisions are matched with decisions, action items with action items.
//! 4. An action item counts only when its owner is the reference's owner too: the owner's name
//!    appears in the item's owner (`Sam`, `Sam (marketing)`), or, for a transcript that knows only
//!    channels, the item's owner is the name of the channel the reference owner spoke on.
//! 5. An acknowledgement listed as a decision: a decision whose content, once participants' names
//!    and punctuation are gone, is only acknowledgement words ("Agreed!", "Yes. Do it.", "Sounds
//!    good", "Fine by me").

use std::collections::HashSet;

/// Shared content words a match needs at least.
pub const MIN_SHARED: usize = 2;
/// Shared words as a share of the shorter item's content words.
pub const MIN_OVERLAP: f64 = 0.5;

const STOP_WORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "because", "been", "before",
    "being", "both", "but", "can", "could", "did", "does", "doing", "done", "for", "from", "get",
    "going", "got", "had", "has", "have", "her", "here", "him", "his", "how", "into", "its",
    "it's", "just", "let", "let's", "more", "most", "much", "must", "not", "now", "off", "once",
    "only", "other", "our", "out", "over", "own", "same", "she", "should", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
    "too", "under", "until", "very", "was", "way", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yes", "okay", "we'll",
    "i'll", "each", "every", "one", "per", "who's", "that's", "there's", "need", "needs", "make",
    "made", "take", "new", "next", "old", "ll", "don", "isn", "aren",
];

const NUMBER_WORDS: &[(&str, &str)] = &[
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("thirteen", "13"),
    ("fourteen", "14"),
    ("fifteen", "15"),
    ("sixteen", "16"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
    ("first", "1"),
    ("second", "2"),
    ("third", "3"),
];

/// Words that acknowledge without deciding anything.
const ACK_WORDS: &[&str] = &[
    "agreed",
    "agree",
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "sure",
    "fine",
    "good",
    "great",
    "sounds",
    "perfect",
    "right",
    "alright",
    "absolutely",
    "exactly",
    "correct",
    "lovely",
    "deal",
    "works",
    "do",
    "it",
    "will",
    "that",
    "that's",
    "let's",
    "me",
    "by",
    "with",
    "i",
    "thanks",
    "thank",
    "you",
    "so",
    "we",
    "all",
    "everyone",
    "is",
    "a",
    "the",
    "relief",
    "of",
    "course",
    "too",
    "then",
    "totally",
    "indeed",
    "mm",
    "hmm",
    "uh",
    "um",
];

/// One word, normalised by rule 1 (without the stop-word filter); `None` for no word.
fn normalise(word: &str) -> Option<String> {
    let w = word.trim_matches('\'').to_lowercase();
    if w.is_empty() {
        return None;
    }
    if let Some((_, digits)) = NUMBER_WORDS.iter().find(|(name, _)| *name == w) {
        return Some((*digits).to_string());
    }
    // 17th, 1st, 2nd, 3rd → the number.
    let lead: String = w.chars().take_while(char::is_ascii_digit).collect();
    if !lead.is_empty() && ["th", "st", "nd", "rd", ""].contains(&&w[lead.len()..]) {
        return Some(lead);
    }
    Some(w)
}

fn stem(w: &str) -> String {
    let mut base = w.to_string();
    for suffix in ["ing", "ion", "ed", "s"] {
        if let Some(b) = w.strip_suffix(suffix)
            && b.chars().count() >= 3
            && !b.ends_with('s')
        {
            base = b.to_string();
            // "logging" → "log", "planned" → "plan".
            let tail: Vec<char> = base.chars().rev().take(2).collect();
            if suffix != "s"
                && suffix != "ion"
                && tail.len() == 2
                && tail[0] == tail[1]
                && !"aeiouls".contains(tail[0])
            {
                base.pop();
            }
            break;
        }
    }
    // "move", "moves", "moved" → "mov".
    if base.chars().count() >= 4 && base.ends_with('e') {
        base.pop();
    }
    base
}

/// Words of `text`: thousands separators joined ("2,400" → "2400"), split at anything but
/// letters, digits and apostrophes.
fn words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut joined = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit_comma = c == ','
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !digit_comma {
            joined.push(c);
        }
    }
    joined
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter_map(normalise)
        .collect()
}

/// Content words of `text` (rule 1); `names` (participants, lower-case) only tell an
/// attribution "(Maria)" at the end from content.
pub fn content_words(text: &str, names: &HashSet<String>) -> HashSet<String> {
    let text = strip_attribution(text, names);
    words(text)
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .filter(|w| w.chars().count() >= 3 || w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| stem(&w))
        .collect()
}

/// `text` without a trailing "(Maria)" that names a participant.
fn strip_attribution<'a>(text: &'a str, names: &HashSet<String>) -> &'a str {
    let t = text.trim_end();
    if let Some(open) = t.rfind('(')
        && t.ends_with(')')
        && names.contains(&t[open + 1..t.len() - 1].trim().to_lowercase())
    {
        return t[..open].trim_end();
    }
    t
}

/// The overlap of rule 2, or `None` when the two do not match.
pub fn overlap(reference: &HashSet<String>, item: &HashSet<String>) -> Option<f64> {
    let shared = reference.intersection(item).count();
    let shorter = reference.len().min(item.len());
    if shared < MIN_SHARED || shorter == 0 {
        return None;
    }
    let score = shared as f64 / shorter as f64;
    (score >= MIN_OVERLAP).then_some(score)
}

/// Rule 3: pairs (reference index, item index), one to one, as many as possible (a maximum
/// bipartite matching, by augmenting paths). `allowed` says whether an item may stand for a
/// reference at all (rule 4's owner check).
pub fn pair(
    references: &[HashSet<String>],
    items: &[HashSet<String>],
    allowed: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let edges: Vec<Vec<usize>> = references
        .iter()
        .enumerate()
        .map(|(r, rw)| {
            (0..items.len())
                .filter(|&i| allowed(r, i) && overlap(rw, &items[i]).is_some())
                .collect()
        })
        .collect();
    // item_of[i] = the reference item i stands for.
    let mut item_of: Vec<Option<usize>> = vec![None; items.len()];
    fn augment(
        r: usize,
        edges: &[Vec<usize>],
        seen: &mut [bool],
        item_of: &mut [Option<usize>],
    ) -> bool {
        for &i in &edges[r] {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            if item_of[i].is_none_or(|other| augment(other, edges, seen, item_of)) {
                item_of[i] = Some(r);
                return true;
            }
        }
        false
    }
    for r in 0..references.len() {
        let mut seen = vec![false; items.len()];
        augment(r, &edges, &mut seen, &mut item_of);
    }
    let mut out: Vec<(usize, usize)> = item_of
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|r| (r, i)))
        .collect();
    out.sort_unstable();
    out
}

/// Rule 4: whether `owner` (as the summary gives it) names the reference's `expected` owner,
/// or the channel `expected` spoke on (`channel_name`, when the transcript knew only channels).
pub fn owner_matches(owner: Option<&str>, expected: &str, channel_name: Option<&str>) -> bool {
    let Some(owner) = owner.map(str::trim).filter(|o| !o.is_empty()) else {
        return false;
    };
    let said: Vec<String> = owner
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let wanted = expected.trim().to_lowercase();
    if !wanted.is_empty() && said.contains(&wanted) {
        return true;
    }
    channel_name.is_some_and(|c| owner.eq_ignore_ascii_case(c.trim()))
}

/// Rule 5: whether a decision's `text` only acknowledges.
pub fn is_acknowledgement(text: &str, names: &HashSet<String>) -> bool {
    let left: Vec<String> = words(text)
        .into_iter()
        .filter(|w| !names.contains(w))
        .collect();
    left.iter().all(|w| ACK_WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> HashSet<String> {
        ["maria", "david", "sam", "grace", "viktor"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn cw(text: &str) -> HashSet<String> {
        content_words(text, &names())
    }

    #[test]
    fn normalises_numbers_ordinals_plurals_and_drops_attributions() {
        let w = cw("Sam moves the launch to March 17th; 2,400 pounds for two servers. (Maria)");
        let want: HashSet<String> = [
            "sam", "mov", "launch", "march", "17", "2400", "pound", "2", "server",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(w, want);
        assert_eq!(cw("seventeen"), cw("17th"));
        assert_eq!(cw("rotation migrated"), cw("rotate migration"));
        // Only a participant's name is an attribution.
        assert!(cw("Buy the server (refurbished)").contains("refurbish"));
    }

    #[test]
    fn matching_rule_on_a_table_of_pairs() {
        let reference = "Public launch moves from March 3rd to March 17th (offline sync fixes need about two more weeks).";
        // (summary item, matches?)
        let table = [
            ("Then we move the launch to March 17th.", true),
            ("Launch moved to March 17", true),
            ("The launch date is March 17th.", true),
            ("Agreed.", false),
            ("Sam updates the landing page on Friday.", false),
            // One shared word is never enough, however short the item.
            ("Launch.", false),
            // Long and off-topic: shares "march" and "week" only, of many words.
            (
                "In March the marketing team reviews the survey results of two hundred beta users every week with the designers.",
                false,
            ),
        ];
        for (item, want) in table {
            assert_eq!(
                overlap(&cw(reference), &cw(item)).is_some(),
                want,
                "{item:?} against {reference:?}"
            );
        }
    }

    #[test]
    fn pairs_one_to_one_as_many_as_possible() {
        let refs = [
            cw("Move logging to the managed service in October"),
            cw("Run the failover test every month"),
        ];
        // The first item could stand for both references, the second only for the first: the
        // pairing finds both, and one item never counts twice.
        let items = [
            cw("Logging moves to the managed service in October; failover test monthly"),
            cw("Managed logging service from October"),
        ];
        let pairs = pair(&refs, &items, |_, _| true);
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert!(
            pairs.contains(&(1, 0)) && pairs.contains(&(0, 1)),
            "{pairs:?}"
        );
        let only_one = pair(&refs, &items[..1], |_, _| true);
        assert_eq!(only_one.len(), 1, "{only_one:?}");
    }

    #[test]
    fn owners_by_name_or_channel_never_by_file_name() {
        let table = [
            (Some("Sam"), "Sam", None, true),
            (Some("sam (marketing)"), "Sam", None, true),
            (Some("Samantha"), "Sam", None, false),
            (Some("channel 0"), "Maria", None, false),
            (Some("meeting_e.json"), "Grace", None, false),
            (None, "Grace", None, false),
            (Some("me"), "Maria", Some("me"), true),
            (Some("others"), "Maria", Some("me"), false),
        ];
        for (owner, expected, channel, want) in table {
            assert_eq!(
                owner_matches(owner, expected, channel),
                want,
                "{owner:?} for {expected} ({channel:?})"
            );
        }
    }

    #[test]
    fn acknowledgements_are_told_from_decisions() {
        let table = [
            ("Agreed!", true),
            ("Yes.", true),
            ("Sounds good.", true),
            ("Yes. Do it.", true),
            ("Fine by me.", true),
            ("Grace: Agreed!", true),
            ("Okay, will do (Viktor)", true),
            ("Agreed: the launch moves to March 17th.", false),
            ("No soft launch.", false),
            ("Fourteen pounds from the first day.", false),
        ];
        for (text, want) in table {
            assert_eq!(is_acknowledgement(text, &names()), want, "{text:?}");
        }
    }
}
