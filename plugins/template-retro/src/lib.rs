//! template-retro: a retrospective — what went well, what did not, ideas, and the improvement
//! actions the team commits to. Planning, prompts and validation live in the SDK.

use minutes_sdk::notes::{NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    NotesSpec::new(
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
    )
    .with_action_items(
        "Improvement actions",
        "Changes the team committed to. owner: who drives it (\"\" if nobody); due: when, as said \
         (\"\" if none).",
    )
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    #[test]
    fn asks_for_the_retro_columns() {
        minutes_sdk::notes_llm::assert_exercise(
            &super::spec(),
            &[
                "without blaming individuals",
                "\"went_well\": [",
                "\"went_badly\": [",
                "\"ideas\": [",
            ],
            &[
                "## What went well",
                "## What did not go well",
                "## Ideas",
                "## Improvement actions",
            ],
        );
    }
}
