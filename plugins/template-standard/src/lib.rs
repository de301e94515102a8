//! template-standard: general meeting notes — overview, key points, decisions, action items with
//! owner and due date, open questions. Planning, prompts and validation live in the SDK
//! (`minutes_sdk::notes_llm`); this crate only says what the notes contain.

use minutes_sdk::notes::{NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    NotesSpec::new(
        "template-standard",
        "Standard meeting notes",
        "Overview, key points, decisions, action items with owner and due date, open questions.",
        "The notes are for participants and for people who missed the meeting: what it was about, what \
         was said that matters, what was decided and who does what by when.",
        vec![
            SectionSpec::new(
                "overview",
                "Overview",
                SectionFormat::Paragraph,
                "Two to four sentences: the purpose of the meeting and its outcome.",
            ),
            SectionSpec::new(
                "key_points",
                "Key points",
                SectionFormat::List,
                "The important facts, figures, updates and arguments, one per item, with the numbers as \
                 stated.",
            ),
        ],
    )
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_overview_and_key_points_and_renders_them() {
        let (requests, summary) = minutes_sdk::notes_llm::assert_exercise(
            &spec(),
            &[
                "- sections.key_points (Key points, list of strings)",
                "who does what by when",
            ],
            &[
                "## Overview",
                "## Key points",
                "## Decisions",
                "## Action items",
                "## Open questions",
            ],
        );
        assert_eq!(requests.len(), 1);
        assert_eq!(summary.action_items[0].due.as_deref(), Some("Friday"));
        assert!(spec().info().uses_llm);
    }
}
