//! Decision and action-item candidates found by cue phrases, with the owner and due date: what
//! the offline `extractive` template lists, in the SDK so that any template can use them.
//! The cues were chosen on the tune split of the scripted meetings
//! (tests/fixtures/meetings/split.toml).
//!
//! Owners: a first-person commitment ("I'll", "I will", "will do") belongs to its speaker; a
//! request addressed by name ("Sam, can you …", "David, please …") or "<participant> will …"
//! belongs to the named person; "I need someone to …" belongs to whoever claims it next. A short
//! confirmation ("Yes, I'll own that.") is merged into the request it answers.

mod due;
mod text;

use crate::notes::ACK_WORDS;

pub use due::find_due;
pub use text::{Sentence, content_words, sentences, split_sentences};

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
    "i can ",
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

/// "Sam, …" → ("Sam", "…"): a sentence addressed to someone by name.
fn addressed_name(s: &Sentence) -> Option<(&str, &str)> {
    let (head, rest) = s.text.split_once(", ")?;
    let name = head.trim();
    let is_name = name.split(' ').count() <= 2
        && name.split(' ').all(|w| {
            w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(char::is_alphabetic)
        })
        && !NOT_NAMES.contains(&name.to_lowercase().as_str());
    is_name.then_some((name, rest))
}

/// "Sam, can you …" → ("Sam", "…").
fn addressed_request(s: &Sentence) -> Option<(String, &str)> {
    let (name, rest) = addressed_name(s)?;
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

/// Requests answered in the meeting itself ("Lena, can you tell us where it stands?").
const IN_MEETING_ASKS: &[&str] = &[
    "tell us",
    "tell me",
    "walk us through",
    "give us",
    "update us",
    "remind us",
    "go through",
];

fn is_in_meeting_ask(task: &str) -> bool {
    let lower = task.to_lowercase();
    IN_MEETING_ASKS.iter().any(|a| lower.starts_with(a))
}

/// The person a speaker label names: a transcript without speakers labels a mono recording's
/// turns "channel 0", which is everyone in the room and nobody's name.
fn person(speaker: &str) -> Option<String> {
    let bare_channel = speaker
        .strip_prefix("channel ")
        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
    (!bare_channel && !speaker.trim().is_empty()).then(|| speaker.to_string())
}

/// A request without a name ("Perfect. Please send the invitations today.") goes to whoever
/// just offered to do something ("I can run two sessions next Thursday."); after anything
/// else it is no task ("Okay, please note that …").
fn unaddressed_request(s: &Sentence) -> Option<&str> {
    let lower = searchable(&s.text);
    let words: Vec<&str> = lower.split_whitespace().collect();
    let lead = words
        .iter()
        .take_while(|w| ACK_WORDS.contains(w) || matches!(**w, "then" | "and" | "also"))
        .count();
    if words.get(lead) != Some(&"please") {
        return None;
    }
    let at = s.text.to_lowercase().find("please")?;
    s.text.get(at + "please".len()..).map(str::trim)
}

/// What follows "Will do" or "I will" in a bare yes to a request: nothing, or only when
/// ("Will do by Friday!"). "I'll handle finance" is a promise of its own.
fn is_bare_reply(rest: &str) -> bool {
    let rest = rest.to_lowercase();
    let rest = match find_due(&rest) {
        Some(due) => rest.replace(&due.to_lowercase(), ""),
        None => rest,
    };
    rest.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .all(|w| w.is_empty() || matches!(w, "it" | "that" | "this" | "so" | "by" | "then" | "too"))
}

/// "Do that", "take that one", "handle finance": too little to act on without context.
fn is_vague(task: &str) -> bool {
    const EMPTY: &[&str] = &[
        "it", "that", "this", "one", "the", "a", "an", "myself", "so", "then", "too", "them",
        "those", "these", "of", "for", "and", "up",
    ];
    task.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty() && !EMPTY.contains(&w.to_lowercase().as_str()))
        .count()
        <= 2
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
            if !is_in_meeting_ask(rest) {
                out.push(candidate(Some(name), rest));
            }
            continue;
        }
        if let Some(rest) = unaddressed_request(s) {
            let offered = sentences[..i]
                .iter()
                .rev()
                .take(3)
                .find(|p| p.speaker != s.speaker)
                .filter(|p| after_cue(&p.text, COMMIT_CUES).is_some())
                .and_then(|p| person(&p.speaker));
            if offered.is_some() {
                out.push(candidate(offered, rest));
                continue;
            }
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
        let me = person(&s.speaker);
        // Another sentence of the same turn by the same owner: one commitment, made concrete.
        if let Some(last) = out
            .last_mut()
            .filter(|c| c.owner == me && sentences[c.sentence].segment == s.segment)
        {
            if !is_vague(rest) && is_vague(&last.task) {
                last.task = clean_task(rest);
            }
            last.due = last.due.take().or(due);
            continue;
        }
        // "Yes, I'll own that." answering a request addressed to this speaker; a bare "Will do."
        // right after a request answers it whoever the label names (on a 2-channel recording
        // the person asked speaks as "others").
        if let Some(asked) = out.iter_mut().rev().take(3).find(|c| {
            c.speaker != s.speaker
                && (c.owner == me || (is_bare_reply(rest) && i - c.sentence <= 2))
                && i - c.sentence <= 4
        }) {
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
        let rest = rest
            .trim_end_matches(['.', '!', ','])
            .replace(" myself", "");
        let rest = rest.as_str();
        let explained;
        let task = if is_vague(rest) {
            // "I'll handle finance myself. The contract needs a purchase order, …": what the
            // speaker says next explains it; failing that, "I'll do that" refers to what the
            // previous speaker said (a real sentence, not "Raj?").
            // Not a request of its own ("Will do! I also need someone to …").
            let next = sentences.get(i + 1).filter(|n| {
                n.segment == s.segment
                    && !n.is_question()
                    && after_cue(&n.text, SOMEONE_CUES).is_none()
                    && addressed_request(n).is_none()
            });
            match next {
                Some(n) => {
                    explained = format!("{}: {}", clean_task(rest), n.text);
                    explained.as_str()
                }
                None => sentences[..i]
                    .iter()
                    .rev()
                    .find(|p| p.speaker != s.speaker && p.text.split_whitespace().count() >= 3)
                    .map_or(rest, |p| p.text.as_str()),
            }
        } else {
            rest
        };
        // "I'll handle the plan myself. You'll have a draft by next Wednesday."
        let due_next = || {
            sentences
                .get(i + 1)
                .filter(|n| n.segment == s.segment && n.speaker == s.speaker)
                .and_then(|n| find_due(&n.text))
        };
        out.push(ActionCandidate {
            due: due.or_else(|| find_due(task)).or_else(due_next),
            ..candidate(me, task)
        });
    }
    out.extend(wanted);
    out.sort_by_key(|c| c.sentence);
    out
}

/// Cues after which the decision itself follows in the same turn: "Here is what we'll do. We
/// move …".
const DECIDE_NEXT_CUES: &[&str] = &[
    "let's decide",
    "let us decide",
    "here is what we'll do",
    "here's what we'll do",
    "here is what we will do",
    "this is what we'll do",
    "let's do this",
    "let us do this",
    "the plan is",
];
/// A decision that holds from some moment on ("From now on the test runs monthly").
const FROM_NOW_CUES: &[&str] = &[
    "from now on",
    "from next month",
    "from next week",
    "going forward",
    "starting next",
];
/// "Let's keep single rooms": the chair settling between options.
const SETTLE_CUES: &[&str] = &[
    "let's keep",
    "let us keep",
    "let's stick with",
    "let's stay with",
];
/// A proposal another participant made, which "Approved." settles.
const PROPOSAL_CUES: &[&str] = &[
    "i suggest",
    "i propose",
    "i would propose",
    "my proposal",
    "i'd like to",
    "i would like to",
    "how about",
];
/// Words after "we" that describe rather than decide ("we had", "we only manage").
const WE_DESCRIBE: &[&str] = &[
    "are",
    "were",
    "have",
    "had",
    "only",
    "still",
    "can",
    "could",
    "should",
    "would",
    "need",
    "think",
    "tried",
    "did",
    "do",
    "don't",
    "lost",
    "just",
    "also",
    "already",
    "really",
    "got",
    "want",
    "know",
    "saw",
    "see",
    "usually",
    "always",
    "never",
    "might",
    "may",
    "must",
    "talked",
    "spoke",
    "discussed",
    "looked",
    "agree",
    "agreed",
];

/// A sentence of nothing but acknowledgement words.
fn is_ack(s: &Sentence) -> bool {
    let words: Vec<String> = s
        .text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    !words.is_empty() && words.iter().all(|w| ACK_WORDS.contains(&w.as_str()))
}

/// A first-person promise ("I'll contact the agency"): an action item, not a decision.
fn is_own_commitment(s: &Sentence) -> bool {
    after_cue(&s.text, COMMIT_CUES).is_some()
}

/// "(Then|So|Okay, ) we move …": the group doing something, said as a plan rather than as a
/// description ("we had 140 patients", "we only manage 30").
fn we_plan(s: &Sentence) -> bool {
    let lower = searchable(&s.text);
    let words: Vec<&str> = lower.split_whitespace().collect();
    let lead = words
        .iter()
        .take_while(|w| {
            matches!(
                **w,
                "then" | "so" | "okay" | "ok" | "right" | "fine" | "good" | "yes" | "no" | "and"
            )
        })
        .count();
    match (words.get(lead), words.get(lead + 1)) {
        (Some(&"we"), Some(next)) => !WE_DESCRIBE.contains(next),
        _ => false,
    }
}

/// Indexes of sentences that state a decision. The chair (who opened the meeting) settles most
/// of them, and the others' acknowledgement ("Agreed.", "Sounds good.", "Fine by me.") right
/// after a statement marks it as settled. A statement another participant makes counts when it
/// is said as the group's plan ("we move …"); an acknowledgement of a mere fact ("They keep
/// logs for 90 days." – "Agreed!") is no decision, and neither is the acknowledgement itself.
pub fn decision_candidates(sentences: &[Sentence]) -> Vec<usize> {
    let chair = sentences.first().map(|s| s.speaker.as_str());
    let settles = |s: &Sentence| {
        !s.is_question()
            && !is_ack(s)
            && !is_own_commitment(s)
            && !is_request(s)
            && !is_agenda_or_deferral(s)
            && has_substance(&s.text)
            && (s.text.split_whitespace().count() >= 5 || starts_with_no(s))
            && (Some(s.speaker.as_str()) == chair || we_plan(s))
    };
    let is_agreement = |s: &Sentence| {
        let lower = s.text.to_lowercase();
        (lower.contains("agree") && s.text.split_whitespace().count() <= 5 && !s.is_question())
            || is_ack(s)
    };
    let mut picked: Vec<usize> = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        if s.is_question() {
            continue;
        }
        let same_turn_next = sentences
            .get(i + 1)
            .filter(|n| n.segment == s.segment && !n.is_question());
        if let Some(rest) = after_cue(&s.text, DECIDE_NEXT_CUES) {
            // "Let's decide. The launch moves …", or in one sentence as whisper often
            // punctuates it: "Let's decide, the launch moves …".
            if rest.split_whitespace().count() >= 5 && has_substance(rest) {
                picked.push(i);
            } else {
                picked.extend(same_turn_next.filter(|n| settles(n)).map(|_| i + 1));
            }
        } else if is_approval(s) {
            // "Approved." settles the proposal it answers.
            if let Some(j) = (0..i).rev().take(8).find(|&j| {
                let p = &sentences[j];
                p.speaker != s.speaker && after_cue(&p.text, PROPOSAL_CUES).is_some()
            }) {
                picked.push(j);
            }
        } else if is_agreement(s) {
            if let Some(_next) = same_turn_next.filter(|n| !is_agreement(n) && settles(n)) {
                // "I agree with David. No soft launch."
                picked.push(i + 1);
            } else if sentences
                .get(i.wrapping_sub(1))
                .is_none_or(|p| p.segment != s.segment)
                && !accepts_a_task(s)
                && !is_thanks(s)
            {
                // An acknowledgement opening a turn settles what the previous speaker last said.
                if let Some(j) = (0..i).rev().take(4).find(|&j| {
                    let p = &sentences[j];
                    p.speaker != s.speaker && !is_agreement(p)
                }) && settles(&sentences[j])
                {
                    picked.push(j);
                }
            }
        } else if (after_cue(&s.text, STRONG_DECISION_CUES).is_some()
            || after_cue(&s.text, FROM_NOW_CUES).is_some()
            || (after_cue(&s.text, SETTLE_CUES).is_some() && Some(s.speaker.as_str()) == chair))
            && !is_agenda_or_deferral(s)
        {
            picked.push(i);
        }
    }
    picked.retain(|&i| has_substance(&sentences[i].text) && !is_own_commitment(&sentences[i]));
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// "Thanks.", "Thank you, everyone.": a closing when it opens a turn, which settles nothing that
/// was said before it (though "Thanks. The rest stays as a reserve." still leads into a decision).
fn is_thanks(s: &Sentence) -> bool {
    let lower = searchable(&s.text);
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.iter().any(|w| matches!(*w, "thanks" | "thank"))
        && words.iter().all(|w| {
            matches!(
                *w,
                "thanks" | "thank" | "you" | "everyone" | "all" | "both" | "bye" | "so" | "much"
            )
        })
}

/// "Yes, will do." answers a request: the task is the request's, nothing was decided.
fn accepts_a_task(s: &Sentence) -> bool {
    let lower = searchable(&s.text);
    lower.contains(" will do ") || lower.contains(" on it ")
}

/// A request to someone ("Lena, please …", "Viktor, you ran the test"): an action item or a
/// turn handed over, not a decision.
fn is_request(s: &Sentence) -> bool {
    addressed_name(s).is_some()
        || unaddressed_request(s).is_some()
        || after_cue(&s.text, REQUEST_CUES).is_some()
}

/// What the meeting is about to decide, or leaves for later: "Today we need to decide …",
/// "Let us keep that for the next meeting", "One thing we did not settle is whether …".
fn is_agenda_or_deferral(s: &Sentence) -> bool {
    let lower = searchable(&s.text);
    [
        " need to decide ",
        " have to decide ",
        " to discuss ",
        " agenda ",
        " for the next meeting",
        " to the next meeting",
        " to the next review",
        " until the next meeting",
        " at the next meeting",
        " for next time",
        " whether ",
        " not settle",
        " open question",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// "No soft launch.", "Then no cloud.": short, and a decision.
fn starts_with_no(s: &Sentence) -> bool {
    let lower = searchable(&s.text);
    let mut words = lower
        .split_whitespace()
        .skip_while(|w| matches!(*w, "then" | "so" | "okay" | "ok" | "right" | "fine"));
    words.next() == Some("no") && words.next().is_some()
}

/// "Approved." (or "That's approved.") on its own.
fn is_approval(s: &Sentence) -> bool {
    let lower = s.text.to_lowercase();
    lower.contains("approved") && s.text.split_whitespace().count() <= 3
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
    "thanks",
    "thank",
    "everyone",
    "bye",
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
