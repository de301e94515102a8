//! template-retro: a retrospective — what went well, what did not, ideas, and the improvement
//! actions the team commits to. Planning, prompts and validation live in the SDK.

use minutes_sdk::notes::{ListSpec, NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    let mut spec = NotesSpec::new(
        "template-retro",
        "Retrospective",
        "What went well, what did not, ideas, and improvement actions with owners.",
        "This is a team retrospective looking back at a period of work. The notes capture what helped, what \
         hurt and what the team will change, without blaming individuals.",
        vec![
            SectionSpec::new(
                "overview",
                "Overview",
                SectionFormat::Paragraph,
                "The period or project reviewed and the overall mood, in two or three sentences.",
            ),
            SectionSpec::new(
                "went_well",
                "What went well",
                SectionFormat::List,
                "Things the team wants to keep doing, one per item.",
            ),
            SectionSpec::new(
                "went_badly",
                "What did not go well",
                SectionFormat::List,
                "Problems and frustrations raised, one per item, stated factually.",
            ),
            SectionSpec::new(
                "ideas",
                "Ideas",
                SectionFormat::List,
                "Suggestions and experiments proposed, including ones not yet agreed.",
            ),
        ],
    );
    spec.action_items = ListSpec {
        title: "Improvement actions".into(),
        instruction: "Changes the team committed to. owner: who drives it (null if nobody); due: when, as said \
                      (null if none)."
            .into(),
    };
    spec
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_the_retro_columns() {
        let (requests, summary) = minutes_sdk::notes_llm::exercise(&spec()).expect("summary");
        let system = &requests[0].messages[0].content;
        assert!(system.contains("without blaming individuals"), "{system}");
        for key in ["went_well", "went_badly", "ideas"] {
            assert!(
                system.contains(&format!("\"{key}\": [")),
                "{key} not in the schema: {system}"
            );
        }
        for heading in [
            "## What went well",
            "## What did not go well",
            "## Ideas",
            "## Improvement actions",
        ] {
            assert!(
                summary.markdown.contains(heading),
                "{heading}: {}",
                summary.markdown
            );
        }
    }
}
