use super::*;

fn turns(lines: &[(&str, &str)]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (segment, (who, text)) in lines.iter().enumerate() {
        for s in crate::text::split_sentences(text) {
            out.push(Sentence {
                segment,
                speaker: who.to_string(),
                start_ms: segment as u64 * 1000,
                text: s.into(),
            });
        }
    }
    out
}

fn owners(c: &[ActionCandidate]) -> Vec<(Option<&str>, &str, Option<&str>)> {
    c.iter()
        .map(|c| (c.owner.as_deref(), c.task.as_str(), c.due.as_deref()))
        .collect()
}

#[test]
fn a_named_request_belongs_to_the_named_person_and_the_reply_merges() {
    let s = turns(&[
        ("Maria", "Sam, can you send the deck by Friday?"),
        ("Sam", "Sure, I'll do that."),
    ]);
    assert_eq!(
        owners(&action_candidates(&s, &[])),
        vec![(Some("Sam"), "Send the deck by Friday", Some("Friday"))]
    );
}

#[test]
fn i_will_belongs_to_the_speaker() {
    let s = turns(&[(
        "David",
        "I will write the migration guide next week. Also lunch was good.",
    )]);
    assert_eq!(
        owners(&action_candidates(&s, &[])),
        vec![(
            Some("David"),
            "Write the migration guide next week",
            Some("next week")
        )]
    );
}

#[test]
fn someone_is_whoever_claims_it() {
    let s = turns(&[
        ("Sam", "I need someone to book the venue."),
        ("Ana", "I'll take that one."),
    ]);
    assert_eq!(
        owners(&action_candidates(&s, &[])),
        vec![(Some("Ana"), "Book the venue", None)]
    );
    let s = turns(&[("Sam", "I need someone to book the venue.")]);
    assert_eq!(
        owners(&action_candidates(&s, &[])),
        vec![(None, "Book the venue", None)]
    );
}

#[test]
fn a_participant_will_is_theirs_and_interjections_are_not_names() {
    let participants = vec!["Maria".to_string(), "Lee".to_string()];
    let s = turns(&[
        ("Maria", "Lee will draft the budget by March 3rd."),
        ("Lee", "Okay, please note that I would rather not."),
    ]);
    assert_eq!(
        owners(&action_candidates(&s, &participants)),
        vec![(
            Some("Lee"),
            "Draft the budget by March 3rd",
            Some("March 3rd")
        )]
    );
}

#[test]
fn questions_and_proposals_are_not_commitments() {
    let s = turns(&[
        ("A", "Will I'll ever learn?"),
        ("B", "I would propose March 17th instead. I'd rather not."),
    ]);
    assert!(action_candidates(&s, &[]).is_empty());
}

#[test]
fn decisions_from_cues_agreement_and_let_us_decide() {
    let s = turns(&[
        (
            "Maria",
            "Okay, then let's decide. The launch moves to March 17th. Does everyone agree?",
        ),
        ("David", "Agreed."),
        ("Maria", "I agree with David. No soft launch."),
        ("Sam", "Could we go with blue?"),
        ("Maria", "Decision: the pro tier costs 9 dollars."),
        ("Sam", "The weather is nice."),
        ("Maria", "Okay, let's decide. Yes!"),
        ("Sam", "Okay, we'll do! We'll do, by Friday!"),
    ]);
    let picked: Vec<&str> = decision_candidates(&s)
        .into_iter()
        .map(|i| s[i].text.as_str())
        .collect();
    assert_eq!(
        picked,
        vec![
            "The launch moves to March 17th.",
            "No soft launch.",
            "Decision: the pro tier costs 9 dollars."
        ]
    );
}
