use super::*;

fn turns(lines: &[(&str, &str)]) -> Vec<Sentence> {
    let mut out = Vec::new();
    for (segment, (who, text)) in lines.iter().enumerate() {
        for s in split_sentences(text) {
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

fn decisions_of(s: &[Sentence]) -> Vec<&str> {
    decision_candidates(s)
        .into_iter()
        .map(|i| s[i].text.as_str())
        .collect()
}

/// Issue 21 part 6: on an infrastructure review the extractive template found none of the
/// decisions: they were stated as the group's plan, after "here is what we'll do", from "now on",
/// or settled by the others' "Sounds good." / "Yes. Do it." rather than by a cue word.
#[test]
fn decisions_stated_as_plans_and_settled_by_acknowledgement() {
    let s = turns(&[
        ("Omar", "Okay, let's get started. Three topics today."),
        (
            "Viktor",
            "The managed service keeps logs encrypted for 90 days.",
        ),
        ("Grace", "Agreed!"),
        (
            "Omar",
            "Then here is what we'll do. We move logging to the managed service in October.",
        ),
        ("Grace", "Okay. I'll handle the migration plan myself."),
        (
            "Omar",
            "Fine. From now on the failover test runs every month instead of every quarter.",
        ),
        ("Grace", "Sounds good."),
        (
            "Omar",
            "Right. Every service credential goes into the vault by September 30th.",
        ),
        ("Viktor", "Yes. Do it."),
        ("Omar", "Grace, can you add an alert for the old primary?"),
        ("Grace", "Yes, will do."),
        (
            "Omar",
            "One thing we did not settle is whether the budget covers it.",
        ),
        ("Nadia", "Okay."),
        (
            "Omar",
            "Let us do this. We hire one agency nurse for Saturdays for the next eight weeks.",
        ),
        ("Tom", "Agreed. I will contact the agency tomorrow morning."),
    ]);
    assert_eq!(
        decisions_of(&s),
        vec![
            "We move logging to the managed service in October.",
            "From now on the failover test runs every month instead of every quarter.",
            "Every service credential goes into the vault by September 30th.",
            "We hire one agency nurse for Saturdays for the next eight weeks.",
        ],
        "an acknowledged fact, an acknowledgement, a request, an open question and a promise \
         are no decisions"
    );
}

#[test]
fn an_approval_settles_the_proposal_and_let_us_keep_settles_a_choice() {
    let s = turns(&[
        ("Priya", "Last item, the reminder messages."),
        (
            "Lena",
            "I suggest a second message two hours before the appointment.",
        ),
        ("Tom", "How much does each message cost?"),
        ("Lena", "About four pence per message."),
        ("Priya", "That pays for itself. Approved."),
        ("Chloe", "Could we share hotel rooms?"),
        ("Priya", "No, let's keep single rooms on a work trip."),
        ("Priya", "Let us keep that for the next meeting."),
    ]);
    assert_eq!(
        decisions_of(&s),
        vec![
            "I suggest a second message two hours before the appointment.",
            "No, let's keep single rooms on a work trip."
        ]
    );
}

/// Issue 21 part 6: "I'll handle finance myself." became the task "Handle finance myself" with
/// the previous speaker's words as context; the speaker's own next sentence says what it is.
#[test]
fn a_vague_promise_is_explained_by_the_speakers_next_sentence() {
    let s = turns(&[
        ("Grace", "You'll have a draft by next Wednesday."),
        (
            "Nadia",
            "And I'll handle finance myself. The contract needs a purchase order, and I can get it signed by Friday.",
        ),
    ]);
    let got = action_candidates(&s, &[]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].owner.as_deref(), Some("Nadia"));
    assert!(
        got[0].task.contains("purchase order") && !got[0].task.contains("myself"),
        "{got:?}"
    );
    assert_eq!(got[0].due.as_deref(), Some("Friday"));
}

#[test]
fn an_unaddressed_please_goes_to_who_offered_and_in_meeting_asks_are_no_tasks() {
    let s = turns(&[
        (
            "Priya",
            "Lena, can you tell us where the booking system stands?",
        ),
        ("Lena", "I can run two sessions next Thursday."),
        ("Priya", "Perfect. Please send the invitations today."),
    ]);
    let got = action_candidates(&s, &[]);
    assert_eq!(
        owners(&got),
        vec![
            (
                Some("Lena"),
                "Run two sessions next Thursday",
                Some("next Thursday")
            ),
            (Some("Lena"), "Send the invitations today", Some("today")),
        ]
    );
}

/// A mono recording without speakers labels every turn "channel 0": that is everyone in the
/// room, so a promise there has no owner rather than the owner "channel 0".
#[test]
fn a_bare_channel_is_no_owner() {
    let s = turns(&[("channel 0", "I will write the migration guide next week.")]);
    let got = action_candidates(&s, &[]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].owner, None, "{got:?}");
}

#[test]
fn a_bare_will_do_answers_the_request_before_it_and_a_request_explains_no_promise() {
    // meeting_a's 2-channel recording as whisper heard it: the person asked answers as
    // "others", and "Will do by Friday!" ends where a request of its own begins.
    let s = turns(&[
        (
            "me",
            "Sam, please update the landing page with the new launch date and the price by Friday.",
        ),
        (
            "others",
            "Will do by Friday! I also need someone to summarize the beta feedback! There are about 120",
        ),
        (
            "me",
            "I'll take that one. I will send the summary of the made a feedback to the team by Wednesday.",
        ),
    ]);
    let got = action_candidates(&s, &["me".to_string(), "others".to_string()]);
    assert_eq!(
        owners(&got),
        vec![
            (
                Some("Sam"),
                "Update the landing page with the new launch date and the price by Friday",
                Some("Friday")
            ),
            (Some("me"), "Summarize the beta feedback", Some("Wednesday")),
        ]
    );
}

#[test]
fn a_promise_with_its_own_object_is_no_reply_to_the_request_before_it() {
    let s = turns(&[
        ("Maria", "Grace, can you write the migration plan?"),
        ("Grace", "Yes, you'll have a draft by next Wednesday."),
        (
            "Nadia",
            "And I'll handle finance myself. The contract needs a purchase order, and I can get it signed by Friday.",
        ),
    ]);
    let got = action_candidates(&s, &[]);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].owner.as_deref(), Some("Nadia"));
    assert!(got[1].task.contains("purchase order"), "{got:?}");
}

#[test]
fn a_decision_said_in_the_same_sentence_as_its_cue_is_found() {
    // Whisper's punctuation of meeting_a's "Okay, let's decide. The public launch moves …".
    let s = turns(&[
        ("me", "Ok, let's get started."),
        (
            "me",
            "Ok, and let's decide, the public launch moves from March 3rd to March 17th. None everyone agree?",
        ),
        ("others", "Agreed!"),
    ]);
    let got: Vec<&str> = decision_candidates(&s)
        .into_iter()
        .map(|i| s[i].text.as_str())
        .collect();
    assert_eq!(
        got,
        vec!["Ok, and let's decide, the public launch moves from March 3rd to March 17th."]
    );
}

#[test]
fn thanks_at_the_close_settles_nothing() {
    let s = turns(&[
        ("Omar", "Let's start."),
        ("Nadia", "Okay. Is the next review on Thursday the 28th?"),
        ("Omar", "Thursday the 28th at ten. Thanks, everyone."),
        ("Viktor", "Thanks. Bye."),
    ]);
    assert!(
        decision_candidates(&s).is_empty(),
        "{:?}",
        decision_candidates(&s)
    );
}
