use super::*;

/// Meetily's standard template file, as Meetily ships it (fields and shapes; text shortened).
const MEETILY: &str = r#"{
  "name": "Standard Meeting",
  "description": "A general-purpose template for meeting notes",
  "sections": [
    {"title": "Summary", "instruction": "Provide a brief overview of the meeting.", "format": "paragraph"},
    {"title": "Key Points", "instruction": "List the main discussion points.", "format": "list"},
    {"title": "Action Items", "instruction": "List the tasks with owners and deadlines.", "format": "list",
     "item_format": "| **Owner** | **Task** | **Due** |\n| --- | --- | --- |",
     "example_item_format": "| Sam | Update the page | Friday |",
     "title_translations": {"fr": "Actions"}},
    {"title": "Decisions", "instruction": "List the decisions made.", "format": "list"},
    {"title": "Risks & Blockers", "instruction": "Anything that could delay the work.", "format": "list",
     "item_format": "| **Risk** | **Owner** |\n| --- | --- |"}
  ]
}"#;

fn config_message(e: PluginError) -> String {
    match e {
        PluginError::Config(m) => m,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn a_meetily_template_is_accepted_as_is() {
    let (spec, warnings) = parse(MEETILY).expect("Meetily format");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(spec.id, "template-custom");
    assert_eq!(spec.name, "Standard Meeting");
    let keys: Vec<&str> = spec.sections.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["summary", "key_points", "risks_blockers"]);
    assert_eq!(spec.sections[1].format, SectionFormat::List);
    assert!(
        spec.sections[2]
            .item_format
            .as_deref()
            .is_some_and(|f| f.starts_with("| **Risk**"))
    );
    // "Action Items" and "Decisions" fill the summary's own lists, under the template's titles.
    assert_eq!(spec.action_items.title, "Action Items");
    assert!(
        spec.action_items
            .instruction
            .starts_with("List the tasks with owners and deadlines. owner:")
    );
    assert_eq!(spec.decisions.instruction, "List the decisions made.");
}

#[test]
fn the_template_runs_through_the_shared_summariser() {
    let (spec, _) = parse(MEETILY).expect("Meetily format");
    minutes_sdk::notes_llm::assert_exercise(
        &spec,
        &[
            "- sections.risks_blockers (Risks & Blockers, list of strings): Anything that could delay",
            "Write each item in this Markdown form: | **Risk** | **Owner** |",
            "user's template \"Standard Meeting\"",
        ],
        &[
            "## Summary",
            "## Key Points",
            "## Risks & Blockers\n\n| **Risk** | **Owner** |",
            "## Action Items",
            "## Decisions",
        ],
    );
}

#[test]
fn toml_templates_work_too() {
    let toml = r#"
name = "Design review"
[[sections]]
title = "Proposal"
instruction = "What was proposed."
format = "string"
[[sections]]
title = "Feedback"
instruction = "Feedback per reviewer."
format = "list"
"#;
    let (spec, _) = parse(toml).expect("TOML");
    assert_eq!(spec.sections.len(), 2);
    assert_eq!(spec.sections[0].format, SectionFormat::String);
    assert_eq!(spec.description, "");
}

#[test]
fn mistakes_are_config_errors_naming_the_field() {
    let cases = [
        ("", "`definition` is empty"),
        ("{\"name\": \"x\",", "`definition`: not valid JSON"),
        ("name = ", "neither JSON"),
        ("[1, 2]", "neither JSON"),
        (r#"{"name": "x", "sections": []}"#, "`sections` is empty"),
        (
            r#"{"description": "d", "sections": [{"title":"a","instruction":"b"}]}"#,
            "`name` is missing",
        ),
        (r#"{"name": "x"}"#, "`sections` is missing"),
        (
            r#"{"name": "x", "sections": {"title": "a"}}"#,
            "`sections` must be a list",
        ),
        (
            r#"{"name": "x", "sections": [{"instruction": "b"}]}"#,
            "`sections[0].title` is missing",
        ),
        (
            r#"{"name": "x", "sections": [{"title": "a", "instruction": " "}]}"#,
            "`sections[0].instruction` is empty",
        ),
        (
            r#"{"name": "x", "sections": [{"title": "a", "instruction": "b"}, {"title": "c", "instruction": "d", "format": "table"}]}"#,
            "`sections[1].format` = \"table\" is not one of",
        ),
        (
            r#"{"name": "x", "sections": [{"title": "a", "instruction": "b", "item_format": 3}]}"#,
            "`sections[0].item_format` must be text",
        ),
        (r#"{"name": 7, "sections": []}"#, "`name` must be text"),
    ];
    for (text, expected) in cases {
        let message = config_message(parse(text).expect_err(text));
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn repeated_or_non_latin_titles_get_distinct_keys_and_unknown_keys_warn() {
    let text = r#"{"name": "x", "colour": "red", "sections": [
        {"title": "Notes", "instruction": "a"}, {"title": "Notes", "instruction": "b"},
        {"title": "会议纪要", "instruction": "c", "tone": "formal"}]}"#;
    let (spec, warnings) = parse(text).expect("valid");
    let keys: Vec<&str> = spec.sections.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["notes", "notes_2", "section_3"]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[1].contains("`sections[2].tone`"), "{warnings:?}");
}
