use super::*;
use crate::test_support::weekly_sync_spec as spec;

const GOOD: &str = r#"{"sections":{"overview":"Launch moved.","key_points":["42 of 50 bugs closed"]},
 "decisions":[{"text":"Launch on March 17th","citations":["s1"]}],
 "action_items":[{"owner":"Sam","task":"Update the landing page","due":"Friday","citations":["s3"]},{"owner":null,"task":"Book a room","due":"none"}],
 "open_questions":[]}"#;

/// Segments 1 to 3, each a second long, at 10 s, 20 s and 30 s.
fn transcript() -> Transcript {
    Transcript {
        segments: (1..=3)
            .map(|i| {
                crate::types::Segment::new(
                    i,
                    u64::from(i) * 10_000,
                    u64::from(i) * 10_000 + 1000,
                    "x",
                )
            })
            .collect(),
        speakers: vec![],
        language: None,
    }
}

#[test]
fn schema_names_every_field_the_parser_requires() {
    let s = spec();
    let schema: Value = serde_json::from_str(&s.schema()).expect("the schema is JSON");
    assert!(schema["sections"]["overview"].is_string());
    assert!(schema["sections"]["key_points"].is_array());
    assert!(schema["action_items"][0]["owner"].is_string());
    let guide = s.field_guide(&AnswerCaps::DEFAULT);
    assert!(
        guide.contains("- sections.key_points (Key points, list of strings): The main points."),
        "{guide}"
    );
    assert!(guide.contains(&format!(
        "- action_items (list of objects, at most {MAX_ACTION_ITEMS})"
    )));
    assert!(
        guide.contains("the line \"[s<n> mm:ss] …\" has the id \"s<n>\""),
        "{guide}"
    );
}

/// Every object in `schema` lists all its properties as required and allows no others: what
/// OpenAI's strict mode demands, and what keeps a constrained model from inventing keys.
fn assert_strict(schema: &Value, path: &str) {
    if schema["type"] == "object" {
        let props = schema["properties"].as_object().expect("properties");
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .map(|v| v.as_str().expect("a key"))
            .collect();
        required.sort();
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        assert_eq!(required, keys, "{path}: every key is required");
        assert_eq!(schema["additionalProperties"], false, "{path}");
        for (k, v) in props {
            assert_strict(v, &format!("{path}.{k}"));
        }
    }
    if schema["type"] == "array" {
        assert!(
            schema["maxItems"].as_u64().is_some(),
            "{path}: lists are capped"
        );
        assert_strict(&schema["items"], &format!("{path}[]"));
    }
}

#[test]
fn the_json_schema_is_strict_capped_and_lists_every_section() {
    let s = spec();
    let schema = s.json_schema();
    assert_eq!(schema.name, "meeting_notes");
    let v: Value = serde_json::from_str(&schema.schema).expect("the schema is JSON");
    assert_strict(&v, "$");
    let sections = &v["properties"]["sections"]["properties"];
    assert_eq!(sections["overview"]["type"], "string");
    assert_eq!(sections["key_points"]["maxItems"], MAX_SECTION_ITEMS);
    assert_eq!(v["properties"]["decisions"]["maxItems"], MAX_DECISIONS);
    let item = &v["properties"]["action_items"]["items"]["properties"];
    assert_eq!(item["citations"]["maxItems"], MAX_CITATIONS);
    // An answer of exactly that shape (empty strings for "none") parses.
    let notes = parse_answer(
        r#"{"action_items":[{"owner":"","task":"Book a room","due":"","citations":["s2"]}],
            "decisions":[],"open_questions":[{"text":"Price?","citations":[]}],
            "sections":{"overview":"x","key_points":[]}}"#,
        &s,
    )
    .expect("valid");
    assert_eq!(notes.action_items[0].owner, None);
    assert_eq!(notes.action_items[0].due, None);
    assert_eq!(notes.action_items[0].cites, vec![2]);
}

#[test]
fn citations_can_be_held_to_the_lines_a_request_shows() {
    let s = spec();
    let v: Value = serde_json::from_str(&s.json_schema_citing(&[7, 3, 7]).schema).expect("JSON");
    let item = &v["properties"]["decisions"]["items"]["properties"]["citations"]["items"];
    assert_eq!(item, &json!({"type": "string", "enum": ["s3", "s7"]}));
    let task = &v["properties"]["action_items"]["items"]["properties"]["citations"]["items"];
    assert_eq!(task, item);
    // Too many to list, or none: any short string (the SDK drops unknown ids anyway).
    let many: Vec<u32> = (0..=MAX_ENUM_IDS as u32).collect();
    for ids in [&many[..], &[]] {
        let v: Value = serde_json::from_str(&s.json_schema_citing(ids).schema).expect("JSON");
        let item = &v["properties"]["decisions"]["items"]["properties"]["citations"]["items"];
        assert_eq!(item, &json!({"type": "string", "maxLength": MAX_ID_CHARS}));
    }
}

#[test]
fn citations_are_read_leniently_and_plain_strings_still_count_as_uncited_items() {
    let notes = parse_answer(
        r#"{"sections":{"overview":"x","key_points":[]},
            "decisions":["Ship it", {"text":"Launch on March 17th","citations":["[s4 00:12]", 7, "s4", "later"]}],
            "action_items":[],"open_questions":[{"text":"Price?","citations":"s9"}]}"#,
        &spec(),
    )
    .expect("valid");
    assert_eq!(
        notes.decisions,
        vec![
            CitedText {
                text: "Ship it".into(),
                cites: vec![]
            },
            CitedText {
                text: "Launch on March 17th".into(),
                cites: vec![4, 7, 4]
            },
        ]
    );
    assert_eq!(notes.open_questions[0].cites, vec![9]);
    // Repeats and unknown ids go when they become citations.
    let summary = notes.into_summary(&spec(), &transcript());
    let ids: Vec<u32> = summary.decisions[1]
        .citations
        .iter()
        .map(|c| c.segment_id)
        .collect();
    assert!(
        ids.is_empty(),
        "segments 4 and 7 are not in the transcript: {ids:?}"
    );
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
        .into_summary(&spec(), &transcript());
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
    assert_eq!(
        summary.decisions,
        vec![Decision::new(
            "Launch on March 17th",
            vec![Citation {
                segment_id: 1,
                at_ms: 10_000,
                meeting_id: None
            }]
        )]
    );
    assert_eq!(summary.action_items[0].citations[0].at_ms, 30_000);
    assert!(summary.action_items[1].citations.is_empty());
}

#[test]
fn table_item_format_renders_rows() {
    let mut s = spec();
    s.sections[1].item_format = Some("| **Point** | **By** |\n| --- | --- |".into());
    let answer = r#"{"sections":{"overview":"","key_points":["| Launch | Maria |","Price"]},"decisions":[],"action_items":[],"open_questions":[]}"#;
    let summary = parse_answer(answer, &s)
        .expect("valid")
        .into_summary(&s, &transcript());
    assert_eq!(summary.sections.len(), 1, "an empty overview is left out");
    assert_eq!(
        summary.sections[0].body,
        "| **Point** | **By** |\n| --- | --- |\n| Launch | Maria |\n| Price |"
    );
}
