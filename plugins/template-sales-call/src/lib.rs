//! template-sales-call: a call with a prospect or customer — their situation, needs, objections,
//! budget and timeline, and the next steps. Planning, prompts and validation live in the SDK.

use minutes_sdk::notes::{NotesSpec, SectionFormat, SectionSpec};

pub fn spec() -> NotesSpec {
    NotesSpec::new(
        "template-sales-call",
        "Sales call",
        "Customer, needs and pain points, objections, budget and timeline, next steps.",
        "This is a sales or customer call. The notes are for the account team: what the customer needs, \
         what worries them, what they said about budget, decision process and timing, and what happens next. \
         Quote figures exactly as stated; never guess a price or a date.",
        vec![
            SectionSpec::new(
                "overview",
                "Overview",
                SectionFormat::Paragraph,
                "Who the customer is, who attended and the purpose and outcome of the call.",
            ),
            SectionSpec::new(
                "needs",
                "Needs and pain points",
                SectionFormat::List,
                "Problems the customer wants solved and requirements they named.",
            ),
            SectionSpec::new(
                "objections",
                "Objections and concerns",
                SectionFormat::List,
                "Concerns raised (price, security, fit, competitors) and how they were answered.",
            ),
            SectionSpec::new(
                "budget_timeline",
                "Budget, decision and timeline",
                SectionFormat::Paragraph,
                "Budget, who decides and how, and the timeline, only as stated; say what is unknown.",
            ),
        ],
    )
    .with_action_items(
        "Next steps",
        "Agreed next steps on either side (demo, proposal, trial, follow-up call). owner: who \
         (\"\" if nobody); due: as said (\"\" if none).",
    )
}

minutes_sdk::export_notes_template!(spec);

#[cfg(test)]
mod tests {
    #[test]
    fn asks_for_needs_objections_budget_and_next_steps() {
        minutes_sdk::notes_llm::assert_exercise(
            &super::spec(),
            &["never guess a price or a date"],
            &[
                "## Needs and pain points",
                "## Objections and concerns",
                "## Budget, decision and timeline",
                "## Next steps",
            ],
        );
    }
}
