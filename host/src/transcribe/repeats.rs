//! Whisper's repetition failures, caught after the fact. Given the text before a window as its
//! prompt, whisper sometimes answers a short or unclear window by copying that text, or loops
//! on a phrase until its token limit: in a live transcript of meeting_a (base, windows of up
//! to 8 s), "Yes, I own that. The fixes will be done by March 10th." came out three and a
//! half times in a row, and "Okay, we'll do." three times in three segments.

/// A word compared loosely: lower case, letters and digits only.
fn key(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn keys(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(key)
        .filter(|k| !k.is_empty())
        .collect()
}

/// Phrases shorter than this may honestly be said twice in a row ("No, no.").
const MIN_LOOP_WORDS: usize = 3;
/// Two-word phrases are a loop from this many copies on ("Thanks everyone." four times over the
/// last 2 s of a meeting); "No, no, no." is one word three times and stays.
const MIN_SHORT_LOOP_COPIES: usize = 3;
/// Longest phrase looked for; whisper's loops are one or two sentences.
const MAX_LOOP_WORDS: usize = 40;

/// Removes immediate repetitions of a phrase of three words or more ("Okay, we'll do. Okay,
/// we'll do." → "Okay, we'll do."), or of two words from three copies on, and a cut-off start
/// of one more copy at the end.
pub fn collapse_loops(text: &str) -> String {
    // A lone mark ("—", "$" of a cut-off amount) travels with the word before it.
    let mut words: Vec<String> = Vec::new();
    for w in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if key(w).is_empty() => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
    }
    let mut k: Vec<String> = words.iter().map(|w| key(w)).collect();
    let mut i = 0;
    while i < words.len() {
        let longest = ((words.len() - i) / 2).min(MAX_LOOP_WORDS);
        let short_loop = i + 2 * MIN_SHORT_LOOP_COPIES <= words.len()
            && (1..MIN_SHORT_LOOP_COPIES).all(|c| k[i..i + 2] == k[i + 2 * c..i + 2 * c + 2]);
        let period = (MIN_LOOP_WORDS..=longest).find(|&p| k[i..i + p] == k[i + p..i + 2 * p]);
        let period = if short_loop { Some(2) } else { period };
        let Some(p) = period else {
            i += 1;
            continue;
        };
        while i + 2 * p <= words.len() && k[i..i + p] == k[i + p..i + 2 * p] {
            words.drain(i + p..i + 2 * p);
            k.drain(i + p..i + 2 * p);
        }
        let tail = words.len() - (i + p);
        if (1..p).contains(&tail) && k[i + p..] == k[i..i + tail] {
            words.truncate(i + p);
            k.truncate(i + p);
        }
        i += 1;
    }
    // A loop cut off by the token limit ends in a restart of a phrase from earlier in the text.
    let n = k.len();
    let restart = (1..n.saturating_sub(MIN_RESTART_WORDS - 1)).find(|&j| {
        let m = n - j;
        (0..j.saturating_sub(m - 1)).any(|i| j - i > m && k[j..] == k[i..i + m])
    });
    if let Some(j) = restart {
        words.truncate(j);
    }
    words.join(" ")
}

/// A cut-off restart at the end is removed only from this length on.
const MIN_RESTART_WORDS: usize = 4;

/// True when `text` copies what came just before it: four words or more found word for word
/// in the last sixty of `context`, or two words or more that repeat its very end.
pub fn copies_context(text: &str, context: &str) -> bool {
    let seg = keys(text);
    let ctx = keys(context);
    if seg.len() >= 2 && ctx.ends_with(&seg) {
        return true;
    }
    if seg.len() < 4 {
        return false;
    }
    let recent = &ctx[ctx.len().saturating_sub(60)..];
    recent.windows(seg.len()).any(|w| w == seg.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_collapse_to_one_copy() {
        let looped = "Yes, I own that. The fixes will be done by March 10th. Yes, I own that. The fixes will be done by March 10th. \
                      Yes, I own that. The fixes will be done by March 10th. Yes, I own that. The fixes";
        assert_eq!(
            collapse_loops(looped),
            "Yes, I own that. The fixes will be done by March 10th."
        );
        assert_eq!(
            collapse_loops("Okay, we'll do. Okay, we'll do. Anything else?"),
            "Okay, we'll do. Anything else?"
        );
        assert_eq!(
            collapse_loops("If it... If it... It... stays above 1%"),
            "If it... If it... It... stays above 1%",
            "two-word phrases stay"
        );
        assert_eq!(
            collapse_loops("Thanks everyone. Thanks everyone. Thanks everyone. Thanks everyone."),
            "Thanks everyone."
        );
        assert_eq!(
            collapse_loops("We have a lot of work to do. We have a lot of work to do. We"),
            "We have a lot of work to do."
        );
        assert_eq!(
            collapse_loops(
                "Next, pricing for the pro tier. The options were $9 or $12 per month. Next, pricing for the pro tier. The options were $9 or $"
            ),
            "Next, pricing for the pro tier. The options were $9 or $12 per month."
        );
    }

    #[test]
    fn ordinary_speech_is_left_alone() {
        for text in [
            "No, no, no. That is not what I meant.",
            "The crash rate must be below 1% on older phones, below 1% everywhere.",
            "",
            "one",
        ] {
            assert_eq!(
                collapse_loops(text),
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }

    #[test]
    fn copies_of_the_prompt_are_recognised_but_short_answers_are_kept() {
        let ctx = "We closed 42 of the 50 bugs. March 17th works for marketing. It actually gives us more time for the press kit.";
        assert!(copies_context("March 17th works for marketing.", ctx));
        assert!(copies_context("it actually gives us more time", ctx));
        assert!(
            copies_context("The press kit.", ctx),
            "repeats the very end"
        );
        assert!(copies_context(
            "Okay, we'll do.",
            "Anything else? Okay, we'll do."
        ));
        assert!(
            !copies_context("Yes, March 17th.", ctx),
            "three words, not at the end"
        );
        assert!(
            !copies_context("Yes.", "Yes."),
            "one word may be said again"
        );
        assert!(!copies_context("March 17th works for sales.", ctx));
        assert!(!copies_context("March 17th works for marketing.", ""));
    }
}
