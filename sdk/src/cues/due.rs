//! Due dates as people say them: "by Friday", "next week", "March 10th", "end of June", "2026-03-10".

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const SOON: &[&str] = &["tomorrow", "tonight", "today", "eod", "eow"];
const PERIODS: &[&str] = &["week", "month", "quarter", "sprint", "year", "day"];

fn norm(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .to_lowercase()
}

fn is_day_number(w: &str) -> bool {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &w[digits.len()..];
    !digits.is_empty()
        && digits.len() <= 2
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(suffix, "" | "st" | "nd" | "rd" | "th")
}

fn is_iso_date(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && w.chars().filter(|c| c.is_ascii_digit()).count() == 8
}

/// The first due-date phrase in `text`, as written (without "by"/"on"/"at").
pub fn find_due(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let n: Vec<String> = words.iter().map(|w| norm(w)).collect();
    let phrase = |from: usize, to: usize| {
        let s = words[from..=to].join(" ");
        s.trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_string()
    };
    for i in 0..words.len() {
        let w = n[i].as_str();
        let next = n.get(i + 1).map(String::as_str).unwrap_or("");
        if matches!(w, "next" | "this" | "coming") {
            if WEEKDAYS.contains(&next) || PERIODS.contains(&next) {
                return Some(phrase(i, i + 1));
            }
            if let Some(period) = next.strip_suffix("'s").filter(|p| PERIODS.contains(p)) {
                let _ = period;
                let end = if i + 2 < words.len() { i + 2 } else { i + 1 };
                return Some(phrase(i, end));
            }
        }
        if w == "end" && next == "of" {
            let mut end = i + 2;
            if matches!(
                n.get(end).map(String::as_str),
                Some("the" | "this" | "next")
            ) {
                end += 1;
            }
            if let Some(what) = n.get(end)
                && (PERIODS.contains(&what.as_str()) || MONTHS.contains(&what.as_str()))
            {
                return Some(phrase(i, end));
            }
        }
        if WEEKDAYS.contains(&w) || SOON.contains(&w) || is_iso_date(w) {
            return Some(phrase(i, i));
        }
        if MONTHS.contains(&w) && is_day_number(next) {
            return Some(phrase(i, i + 1));
        }
        if is_day_number(w)
            && next == "of"
            && n.get(i + 2).is_some_and(|m| MONTHS.contains(&m.as_str()))
        {
            return Some(phrase(i, i + 2));
        }
        let before = i.checked_sub(1).map(|j| n[j].as_str()).unwrap_or("");
        if MONTHS.contains(&w)
            && matches!(before, "by" | "before" | "until" | "in" | "due")
            && w != "may"
        {
            return Some(phrase(i, i));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_phrases_people_use() {
        let cases = [
            (
                "finish the fixes by March 10th, so that we test",
                Some("March 10th"),
            ),
            ("update the page by Friday.", Some("Friday")),
            (
                "report the crash rate at next week's sync.",
                Some("next week's sync"),
            ),
            ("review the pricing at the end of June", Some("end of June")),
            ("send it next week", Some("next week")),
            ("ship on 2026-03-10", Some("2026-03-10")),
            ("due the 3rd of April", Some("3rd of April")),
            ("I may do it later", None),
            ("we closed 42 bugs", None),
        ];
        for (text, expected) in cases {
            assert_eq!(find_due(text).as_deref(), expected, "{text}");
        }
    }
}
