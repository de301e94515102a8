//! template-one-on-one: a 1:1 between two people — topics, feedback, growth and follow-ups.
//! Planning, prompts and validation live in the SDK.

use minutes_sdk::notes::{ListSpec, NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    let mut spec = NotesSpec::new(
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
    );
    spec.action_items = ListSpec {
        title: "Follow-ups".into(),
        instruction: "What either person agreed to do. owner: who; due: as said (null if none)."
            .into(),
    };
    spec
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_topics_feedback_and_growth() {
        let (requests, summary) = minutes_sdk::notes_llm::exercise(&spec()).expect("summary");
        let system = &requests[0].messages[0].content;
        assert!(
            system.contains("- sections.growth (Growth and wellbeing, paragraph)"),
            "{system}"
        );
        for heading in [
            "## Topics",
            "## Feedback",
            "## Growth and wellbeing",
            "## Follow-ups",
        ] {
            assert!(
                summary.markdown.contains(heading),
                "{heading}: {}",
                summary.markdown
            );
        }
    }
}
