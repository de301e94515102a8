//! Conservative token estimates for planning prompts without the model's tokenizer.
//!
//! Real tokenizers give about 4 characters per token for English prose. We count lower-case
//! letters and spaces at 3.5 characters per token, upper case, digits and punctuation (which split
//! into more tokens, e.g. the upper-case AMI transcripts) at 2.5, and every non-ASCII character as
//! a whole token (CJK is about one token per character; accented Latin text is overestimated,
//! which is the safe side).
//!
//! ```
//! use minutes_sdk::tokens::estimate;
//! assert_eq!(estimate(""), 0);
//! assert!(estimate("hello world, this is a meeting") >= 30 / 4);
//! assert_eq!(estimate("会議"), 2);
//! ```

use crate::types::Message;

/// Tokens a chat message costs beyond its content (role markers, separators).
pub const MESSAGE_OVERHEAD: u32 = 8;
/// Tokens the chat format adds once per request (the assistant's turn header).
pub const REQUEST_OVERHEAD: u32 = 4;

/// Estimated tokens of `text`, rounded up.
pub fn estimate(text: &str) -> u32 {
    u32::try_from(estimate_milli(text).div_ceil(1000)).unwrap_or(u32::MAX)
}

/// Estimated thousandths of tokens of `text`: additive, so pieces can be summed before rounding.
pub fn estimate_milli(text: &str) -> u64 {
    // Thousandths of a token per character, summed in integers so the result is reproducible.
    let mut milli: u64 = 0;
    for c in text.chars() {
        milli += match c {
            'a'..='z' | ' ' => 286,   // 1/3.5 token, rounded up
            c if c.is_ascii() => 400, // 1/2.5 token
            _ => 1000,
        };
    }
    milli
}

/// Estimated tokens of a whole request's messages.
pub fn estimate_messages(messages: &[Message]) -> u32 {
    messages
        .iter()
        .map(|m| estimate(&m.content).saturating_add(MESSAGE_OVERHEAD))
        .fold(REQUEST_OVERHEAD, u32::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_are_conservative_for_prose_and_capitals() {
        let prose = "the public launch moves from march third to march seventeenth";
        // 62 characters: a real tokenizer needs about 12 tokens; we must not say fewer.
        assert!(estimate(prose) >= 15, "{}", estimate(prose));
        let shout = "THE PUBLIC LAUNCH MOVES";
        assert!(estimate(shout) > estimate(&shout.to_lowercase()));
    }

    #[test]
    fn every_message_costs_its_overhead() {
        let msgs = [crate::prompt::system("a"), crate::prompt::user("b")];
        assert_eq!(
            estimate_messages(&msgs),
            REQUEST_OVERHEAD + 2 * (MESSAGE_OVERHEAD + 1)
        );
    }
}
