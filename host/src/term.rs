//! Text from a plugin (its errors, panics, log lines, manifest, summaries) on the user's
//! terminal: it must not be able to drive the terminal. An escape sequence can retitle the
//! window, clear the screen, rewrite what was printed before, or (on some terminals) write
//! to the clipboard; a bidi override can make a line read differently from what it is.

use std::borrow::Cow;

/// What stands in for a removed control or escape sequence.
const REPLACEMENT: char = '\u{FFFD}';

/// `text` safe to print: every ESC sequence (CSI, OSC, DCS and the like, with their arguments)
/// becomes one U+FFFD, as does every other C0 or C1 control except newline and tab, DEL, and
/// the bidi embedding, override and isolate characters.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                skip_escape(&mut chars);
                out.push(REPLACEMENT);
            }
            // C1 introducers that take arguments like their ESC forms: CSI, OSC, DCS, SOS, PM, APC.
            '\u{9b}' => {
                skip_csi(&mut chars);
                out.push(REPLACEMENT);
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                out.push(REPLACEMENT);
            }
            c if is_unsafe(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Characters that reorder the text around them (Trojan Source, CVE-2021-42574).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: drops the rest of the sequence.
fn skip_escape(chars: &mut Chars) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \).
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        // nF sequences: intermediates (0x20–0x2F) then one final character.
        Some(c) if ('\x20'..='\x2f').contains(c) => {
            while chars.next_if(|c| ('\x20'..='\x2f').contains(c)).is_some() {}
            chars.next_if(|c| ('\x30'..='\x7e').contains(c));
        }
        // Two-character sequences: ESC c (reset), ESC 7, ESC M…
        Some(c) if ('\x30'..='\x7e').contains(c) => {
            chars.next();
        }
        _ => {}
    }
}

/// A CSI's parameters and intermediates, then its final byte.
fn skip_csi(chars: &mut Chars) {
    while chars.next_if(|c| ('\x20'..='\x3f').contains(c)).is_some() {}
    chars.next_if(|c| ('\x40'..='\x7e').contains(c));
}

/// A control string up to and including BEL, ST (ESC \ or U+009C); to the end if unterminated.
fn skip_string(chars: &mut Chars) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => return,
            '\x1b' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn escape_sequences_and_controls_are_replaced_whole() {
        assert_eq!(
            clean("a\x1b]0;pwned\x07b\x1b[2Jc\x1b[38;5;196md"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d"
        );
        assert_eq!(
            clean("x\x1bP1$r\x1b\\y\x1bcz\u{9b}31mw"),
            "x\u{FFFD}y\u{FFFD}z\u{FFFD}w"
        );
        assert_eq!(clean("cr\rover\x08\x7f"), "cr\u{FFFD}over\u{FFFD}\u{FFFD}");
        assert_eq!(clean("unterminated\x1b]0;title"), "unterminated\u{FFFD}");
        assert_eq!(clean("ends in ESC\x1b"), "ends in ESC\u{FFFD}");
    }

    #[test]
    fn bidi_overrides_are_replaced() {
        assert_eq!(
            clean("access\u{202E}level\u{2066}x\u{2069}"),
            "access\u{FFFD}level\u{FFFD}x\u{FFFD}"
        );
    }

    #[test]
    fn ordinary_text_is_kept_as_it_is() {
        let text = "Überblick — 3 Entscheidungen\n\t- «Launch» am 17. März ✓ 日本語 مرحبا";
        assert!(matches!(clean(text), std::borrow::Cow::Borrowed(_)));
        assert_eq!(clean(text), text);
    }
}
