//! Decision and action-item candidates found by cue phrases, with the owner and due date.
//!
//! Owners: a first-person commitment ("I'll", "I will", "will do") belongs to its speaker; a
//! request addressed by name ("Sam, can you …", "David, please …") or "<participant> will …"
//! belongs to the named person; "I need someone to …" belongs to whoever claims it next. A short
//! confirmation ("Yes, I'll own that.") is merged into the request it answers.

use crate::due::find_due;
use crate::text::Sentence;

#[derive(Debug, Clone, PartialEq)]
pub struct ActionCandidate {
    pub owner: Option<String>,
    pub task: String,
    pub due: Option<String>,
    pub sentence: usize,
    pub speaker: String,
    pub start_ms: u64,
}

const STRONG_DECISION_CUES: &[&str] = &[
    "we decided",
    "we've decided",
    "we have decided",
    "decision:",
    "the decision is",
    "decided to",
    "let's go with",
    "we'll go with",
    "we will go with",
    "we're going with",
    "we agreed",
    "agreed that",
    "agreed on",
    "settled on",
    "let's make that",
    "final decision",
    "we'll",
    "we will",
];
const DECIDE_NEXT_CUES: &[&str] = &["let's decide", "let us decide"];
const REQUEST_CUES: &[&str] = &[
    "can you ",
    "could you ",
    "would you ",
    "will you ",
    "please ",
    "you'll ",
    "you will ",
    "make sure ",
];
const COMMIT_CUES: &[&str] = &[
    "i'll ",
    "i will ",
    "i'm going to ",
    "i am going to ",
    "i can take ",
    "let me ",
    "will do ",
];
const SOMEONE_CUES: &[&str] = &[
    "need someone to ",
    "needs someone to ",
    "can someone ",
    "could someone ",
    "someone needs to ",
    "somebody needs to ",
    "who can ",
    "who wants to ",
];
const NOT_NAMES: &[&str] = &[
    "okay", "ok", "so", "yes", "no", "well", "right", "great", "fine", "thanks", "then", "now",
    "and", "but", "also", "sure", "good", "hi", "hello", "alright", "please", "guys", "everyone",
    "folks", "team", "oh", "yeah", "also",
];

/// Lower-case ASCII copy with punctuation as spaces, same byte offsets as `text` plus one leading
/// space, so a cue found in it can be cut from the original.
fn searchable(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push(' ');
    for c in text.chars() {
        if c.is_ascii_punctuation() && c != '\'' && c != ':' {
            s.push(' ');
        } else if c.is_ascii() {
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c); // same byte length
        }
    }
    s.push(' ');
    s
}

/// The text after the first of `cues` (which must start at a word), or `None`.
fn after_cue<'a>(text: &'a str, cues: &[&str]) -> Option<&'a str> {
    let s = searchable(text);
    cues.iter()
        .filter_map(|cue| s.find(&format!(" {cue}")).map(|at| at + 1 + cue.len() - 1))
        .min()
        .map(|end| text.get(end.min(text.len())..).unwrap_or("").trim())
}

fn clean_task(rest: &str) -> String {
    let t = rest.trim().trim_end_matches(['.', '?', '!', ',']).trim();
    let mut chars = t.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "Sam, can you …" → ("Sam", "…").
fn addressed_request(s: &Sentence) -> Option<(String, &str)> {
    let (head, rest) = s.text.split_once(", ")?;
    let name = head.trim();
    let is_name = name.split(' ').count() <= 2
        && name.split(' ').all(|w| {
            w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(char::is_alphabetic)
        })
        && !NOT_NAMES.contains(&name.to_lowercase().as_str());
    if !is_name {
        return None;
    }
    // The cue opens the request ("Sam, please …"); "Sam, I think you will …" is no request.
    let lower = searchable(rest);
    let cue = REQUEST_CUES
        .iter()
        .find(|c| lower.starts_with(&format!(" {c}")))?;
    Some((name.to_string(), rest.get(cue.len()..)?.trim()))
}

/// "<participant> will …" → (participant, "…").
fn named_commitment<'a>(s: &'a Sentence, participants: &[String]) -> Option<(String, &'a str)> {
    participants
        .iter()
        .filter(|p| p.len() > 1 && p.as_str() != s.speaker)
        .find_map(|p| {
            let rest = s.text.split_once(&format!("{p} will "))?.1;
            Some((p.clone(), rest))
        })
}

fn is_vague(task: &str) -> bool {
    task.split_whitespace().count() <= 4
}

pub fn action_candidates(sentences: &[Sentence], participants: &[String]) -> Vec<ActionCandidate> {
    let mut out: Vec<ActionCandidate> = Vec::new();
    let mut wanted: Option<ActionCandidate> = None; // "I need someone to …", not yet claimed
    for (i, s) in sentences.iter().enumerate() {
        let candidate = |owner: Option<String>, rest: &str| ActionCandidate {
            owner,
            task: clean_task(rest),
            due: find_due(rest),
            sentence: i,
            speaker: s.speaker.clone(),
            start_ms: s.start_ms,
        };
        if let Some((name, rest)) = addressed_request(s) {
            out.push(candidate(Some(name), rest));
            continue;
        }
        if let Some(rest) = after_cue(&s.text, SOMEONE_CUES) {
            out.extend(wanted.replace(candidate(None, rest)));
            continue;
        }
        if let Some((name, rest)) = named_commitment(s, participants) {
            out.push(candidate(Some(name), rest));
            continue;
        }
        if s.is_question() {
            continue;
        }
        let Some(rest) = after_cue(&s.text, COMMIT_CUES) else {
            continue;
        };
        let due = find_due(&s.text);
        let me = Some(s.speaker.clone());
        // Another sentence of the same turn by the same owner: one commitment, made concrete.
        if let Some(last) = out
            .last_mut()
            .filter(|c| c.owner == me && sentences[c.sentence].segment == s.segment)
        {
            if !is_vague(rest) {
                last.task = clean_task(rest);
            }
            last.due = last.due.take().or(due);
            continue;
        }
        // "Yes, I'll own that." answering a request addressed to this speaker.
        if let Some(asked) = out
            .iter_mut()
            .rev()
            .take(3)
            .find(|c| c.owner == me && c.speaker != s.speaker && i - c.sentence <= 4)
        {
            asked.due = asked.due.take().or(due);
            continue;
        }
        // "I'll take that one." claiming "I need someone to …".
        if let Some(mut claimed) = wanted.take_if(|w| i - w.sentence <= 6) {
            claimed.owner = me;
            claimed.due = claimed.due.or(due);
            out.push(claimed);
            continue;
        }
        let task = if is_vague(rest) {
            // Context for "I'll do that": what the previous speaker said.
            sentences[..i]
                .iter()
                .rev()
                .find(|p| p.speaker != s.speaker)
                .map_or(rest, |p| p.text.as_str())
        } else {
            rest
        };
        out.push(ActionCandidate {
            due: due.or_else(|| find_due(task)),
            ..candidate(me, task)
        });
    }
    out.extend(wanted);
    out.sort_by_key(|c| c.sentence);
    out
}

/// Indexes of sentences that state a decision.
pub fn decision_candidates(sentences: &[Sentence]) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    let is_agreement = |s: &Sentence| {
        let lower = s.text.to_lowercase();
        lower.contains("agree") && s.text.split_whitespace().count() <= 5 && !s.is_question()
    };
    for (i, s) in sentences.iter().enumerate() {
        if s.is_question() {
            continue;
        }
        let same_turn_next = sentences
            .get(i + 1)
            .filter(|n| n.segment == s.segment && !n.is_question());
        if after_cue(&s.text, DECIDE_NEXT_CUES).is_some() {
            picked.extend(same_turn_next.map(|_| i + 1));
        } else if is_agreement(s) {
            // "I agree with David. No soft launch." / "Agreed." after a proposal.
            if let Some(_next) = same_turn_next.filter(|n| !is_agreement(n)) {
                picked.push(i + 1);
            } else if let Some(j) = (0..i).rev().take(4).find(|&j| {
                let p = &sentences[j];
                p.speaker != s.speaker
                    && !p.is_question()
                    && !is_agreement(p)
                    && p.text.split_whitespace().count() > 3
            }) {
                picked.push(j);
            }
        } else if after_cue(&s.text, STRONG_DECISION_CUES).is_some() {
            picked.push(i);
        }
    }
    picked.retain(|&i| has_substance(&sentences[i].text));
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// Words that carry no decision on their own: "Yes!", "Okay, we'll do!" follow a proposal but
/// state nothing a reader of the notes could act on.
const FILLER: &[&str] = &[
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "sure",
    "fine",
    "great",
    "good",
    "right",
    "agreed",
    "alright",
    "we'll",
    "we",
    "will",
    "do",
    "it",
    "that",
    "this",
    "so",
    "then",
    "by",
    "the",
    "a",
    "to",
    "and",
    "let's",
    "go",
    "sounds",
    "perfect",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
];

/// At least two words beyond acknowledgements and function words.
fn has_substance(text: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.to_lowercase().as_str()))
        .count()
        >= 2
}

#[cfg(test)]
mod tests;
