//! template-one-on-one: a 1:1 between two people — topics, feedback, growth and follow-ups.
//! Planning, prompts and validation live in the SDK.

use minutes_sdk::notes::{NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    NotesSpec::new(
        "template-one-on-one",
        "One-on-one",
        "Topics, feedback both ways, growth and wellbeing, follow-ups.",
        "This is a private one-on-one between two people (often a manager and a report). The notes are \
         for the two of them: keep them factual and discreet, and attribute feedback to who gave it.",
        vec![
            SectionSpec::new(
                "topics",
                "Topics",
                SectionFormat::List,
                "Each topic discussed with its gist, one per item.",
            ),
            SectionSpec::new(
                "feedback",
                "Feedback",
                SectionFormat::List,
                "Feedback given, in either direction: \"From A to B: …\".",
            ),
            SectionSpec::new(
                "growth",
                "Growth and wellbeing",
                SectionFormat::Paragraph,
                "Career goals, learning, workload and wellbeing as discussed; empty if not discussed.",
            ),
        ],
    )
    .with_action_items(
        "Follow-ups",
        "What either person agreed to do. owner: who; due: as said (\"\" if none).",
    )
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    #[test]
    fn asks_for_topics_feedback_and_growth() {
        minutes_sdk::notes_llm::assert_exercise(
            &super::spec(),
            &["- sections.growth (Growth and wellbeing, paragraph)"],
            &[
                "## Topics",
                "## Feedback",
                "## Growth and wellbeing",
                "## Follow-ups",
            ],
        );
    }
}
