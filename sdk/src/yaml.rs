//! YAML front matter for exporters that write Markdown notes: values are always double-quoted
//! scalars, so titles with colons, quotes, leading dashes or newlines stay one value.
//!
//! ```
//! let mut out = String::new();
//! minutes_sdk::yaml::list(&mut out, "participants", &["Ana".to_string()]);
//! minutes_sdk::yaml::list(&mut out, "tags", &[]);
//! assert_eq!(out, "participants:\n  - \"Ana\"\ntags: []\n");
//! assert_eq!(minutes_sdk::yaml::string("a: \"b\"\n"), r#""a: \"b\"\n""#);
//! ```

use std::fmt::Write;

/// A double-quoted YAML scalar: safe for any text.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key:` and one `  - "item"` line per item, or `key: []` when there are none.
pub fn list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "{key}: []");
        return;
    }
    let _ = writeln!(out, "{key}:");
    for item in items {
        let _ = writeln!(out, "  - {}", string(item));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::string("a\tb\u{7}\\"), r#""a\tb\u0007\\""#);
    }
}
