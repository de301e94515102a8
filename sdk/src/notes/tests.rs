use super::*;
use crate::test_support::weekly_sync_spec as spec;

const GOOD: &str = r#"{"sections":{"overview":"Launch moved.","key_points":["42 of 50 bugs closed"]},
 "decisions":["Launch on March 17th"],
 "action_items":[{"owner":"Sam","task":"Update the landing page","due":"Friday"},{"owner":null,"task":"Book a room","due":"none"}],
 "open_questions":[]}"#;

#[test]
fn schema_names_every_field_the_parser_requires() {
    let s = spec();
    let schema: Value = serde_json::from_str(&s.schema()).expect("the schema is JSON");
    assert!(schema["sections"]["overview"].is_string());
    assert!(schema["sections"]["key_points"].is_array());
    assert!(schema["action_items"][0]["owner"].is_string());
    let guide = s.field_guide();
    assert!(
        guide.contains("- sections.key_points (Key points, list of strings): The main points."),
        "{guide}"
    );
    assert!(guide.contains("- action_items (list of objects)"));
}

#[test]
fn a_good_answer_parses_in_spec_order() {
    let notes = parse_answer(GOOD, &spec()).expect("valid");
    assert_eq!(
        notes.sections[0],
        (
            "overview".into(),
            SectionValue::Text("Launch moved.".into())
        )
    );
    assert_eq!(
        notes.sections[1].1,
        SectionValue::List(vec!["42 of 50 bugs closed".into()])
    );
    assert_eq!(notes.action_items[0].owner.as_deref(), Some("Sam"));
    assert_eq!(notes.action_items[1].owner, None, "null owner");
    assert_eq!(notes.action_items[1].due, None, "\"none\" is no date");
}

#[test]
fn fences_and_prose_around_the_object_are_tolerated() {
    let wrapped =
        format!("Sure! Here are the notes {{as asked}}:\n```json\n{GOOD}\n```\nHope this helps.");
    assert_eq!(parse_answer(&wrapped, &spec()), parse_answer(GOOD, &spec()));
}

#[test]
fn sections_at_the_top_level_are_accepted() {
    let flat = r#"{"overview":"x","key_points":"- a\n- b","decisions":[],"action_items":[],"open_questions":null}"#;
    let notes = parse_answer(flat, &spec()).expect("flat layout");
    assert_eq!(
        notes.sections[1].1,
        SectionValue::List(vec!["a".into(), "b".into()])
    );
}

#[test]
fn validation_errors_name_the_field() {
    let cases = [
        ("no json here", "contains no JSON object"),
        ("{\"sections\": {", "not valid JSON"),
        (
            r#"{"sections":{"overview":"x"},"decisions":[],"action_items":[],"open_questions":[]}"#,
            "missing `sections.key_points`",
        ),
        (
            r#"{"sections":{"overview":"x","key_points":[]},"action_items":[],"open_questions":[]}"#,
            "missing `decisions`",
        ),
        (
            r#"{"sections":{"overview":"x","key_points":[]},"decisions":[],"action_items":[{"owner":"Sam"}],"open_questions":[]}"#,
            "`action_items[0].task` is missing",
        ),
        (
            r#"{"sections":{"overview":{"a":1,"b":2},"key_points":[]},"decisions":[],"action_items":[],"open_questions":[]}"#,
            "`sections.overview` must be a string",
        ),
        (
            r#"{"sections":[],"decisions":[],"action_items":[],"open_questions":[]}"#,
            "`sections` must be an object",
        ),
    ];
    for (answer, expected) in cases {
        let err = parse_answer(answer, &spec()).expect_err(answer);
        assert!(err.contains(expected), "{answer}: {err}");
    }
    // An absent open_questions is none; a malformed one is still an error.
    let notes = parse_answer(
        r#"{"sections":{"overview":"x","key_points":[]},"decisions":[],"action_items":[]}"#,
        &spec(),
    )
    .expect("open_questions may be left out");
    assert!(notes.open_questions.is_empty());
    let err = parse_answer(r#"{"sections":{"overview":"x","key_points":[]},"decisions":[],"action_items":[],"open_questions":3}"#, &spec())
        .expect_err("a number is not a list");
    assert!(err.contains("open_questions"), "{err}");
}

#[test]
fn notes_round_trip_through_their_json() {
    let notes = parse_answer(GOOD, &spec()).expect("valid");
    assert_eq!(parse_answer(&notes.to_json(), &spec()), Ok(notes));
}

#[test]
fn summary_markdown_has_every_part() {
    let summary = parse_answer(GOOD, &spec())
        .expect("valid")
        .into_summary(&spec());
    let md = &summary.markdown;
    assert!(
        md.starts_with("## Overview\n\nLaunch moved.\n\n## Key points\n\n- 42 of 50 bugs closed\n"),
        "{md}"
    );
    assert!(
        md.contains("## Decisions\n\n- Launch on March 17th\n"),
        "{md}"
    );
    assert!(
        md.contains("- [ ] Update the landing page (Sam, due Friday)\n- [ ] Book a room\n"),
        "{md}"
    );
    assert!(
        !md.contains("Open questions"),
        "empty lists are left out: {md}"
    );
    assert_eq!(summary.sections.len(), 2);
    assert_eq!(summary.decisions, vec!["Launch on March 17th".to_string()]);
}

#[test]
fn table_item_format_renders_rows() {
    let mut s = spec();
    s.sections[1].item_format = Some("| **Point** | **By** |\n| --- | --- |".into());
    let answer = r#"{"sections":{"overview":"","key_points":["| Launch | Maria |","Price"]},"decisions":[],"action_items":[],"open_questions":[]}"#;
    let summary = parse_answer(answer, &s).expect("valid").into_summary(&s);
    assert_eq!(summary.sections.len(), 1, "an empty overview is left out");
    assert_eq!(
        summary.sections[0].body,
        "| **Point** | **By** |\n| --- | --- |\n| Launch | Maria |\n| Price |"
    );
}
