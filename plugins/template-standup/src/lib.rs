//! template-standup: a daily stand-up — what each person did, what they do next, what blocks them.
//! Planning, prompts and validation live in the SDK (`minutes_sdk::notes_llm`).

use minutes_sdk::notes::{NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    NotesSpec::new(
        "template-standup",
        "Stand-up",
        "Per person: done, next, blockers; plus the team's blockers and follow-ups.",
        "This is a short daily stand-up: each person reports what they finished, what they work on next \
         and what blocks them. The notes let the team see progress and blockers at a glance.",
        vec![
            SectionSpec::new(
                "updates",
                "Updates",
                SectionFormat::List,
                "One item per person: \"Name: done …; next …; blockers …\" (write \"none\" for a part they \
                 did not mention as blocked).",
            ),
            SectionSpec::new(
                "blockers",
                "Blockers",
                SectionFormat::List,
                "Everything that blocks someone, with who is blocked and by what.",
            ),
        ],
    )
    .with_action_items(
        "Follow-ups",
        "Follow-ups agreed during the stand-up (help offered, things to check after the meeting). \
         owner: who does it (\"\" if nobody); due: as said (\"\" if none).",
    )
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    #[test]
    fn asks_per_person_updates_and_blockers() {
        minutes_sdk::notes_llm::assert_exercise(
            &super::spec(),
            &[
                "- sections.updates (Updates, list of strings): One item per person",
                "- action_items (list of objects, at most 8): Follow-ups agreed",
            ],
            &["## Updates", "## Blockers", "## Follow-ups"],
        );
    }
}
