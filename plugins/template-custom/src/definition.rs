//! A template written without Rust: a name, a description and sections (title, instruction,
//! format), in JSON or TOML. Meetily's template files are read as they are:
//!
//! ```json
//! {"name": "Daily Standup", "description": "…",
//!  "sections": [{"title": "Blockers", "instruction": "…", "format": "list", "item_format": "…"}]}
//! ```
//!
//! Sections titled like "Action Items", "Decisions" or "Open Questions" fill the summary's
//! structured lists (with owner and due date for action items) under the template's own title.

use minutes_sdk::notes::{ListSpec, NotesSpec, SectionFormat, SectionSpec};
use minutes_sdk::types::PluginError;
use serde_json::{Map, Value};

const MAX_SECTIONS: usize = 30;
const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "sections",
    "purpose",
    "id",
    "schema_version",
    "version",
    "locale",
    "tags",
    "source",
    "created_at",
    "updated_at",
    "extensions",
];
const SECTION_KEYS: &[&str] = &[
    "title",
    "instruction",
    "format",
    "item_format",
    "example_item_format",
    "title_translations",
    "id",
    "required",
    "empty_behavior",
];

fn config_error(message: impl std::fmt::Display) -> PluginError {
    PluginError::Config(format!("`definition`: {message}"))
}

/// Parses and checks a template definition; also returns warnings (keys it does not know).
pub fn parse(text: &str) -> Result<(NotesSpec, Vec<String>), PluginError> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(PluginError::Config(
            "`definition` is empty: pass a template file with `minutes summarize --template ./my-template.json`, \
             or set `definition` under [plugins.template-custom] in config.toml"
                .into(),
        ));
    }
    let root: Value = if text.starts_with('{') {
        serde_json::from_str(text).map_err(|e| config_error(format!("not valid JSON: {e}")))?
    } else {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            config_error(format!(
                "neither JSON (it does not start with `{{`) nor valid TOML: {e}"
            ))
        })?;
        serde_json::to_value(table)
            .map_err(|e| config_error(format!("cannot read the TOML: {e}")))?
    };
    let root = root
        .as_object()
        .ok_or_else(|| config_error("must be an object with `name` and `sections`"))?;
    let mut warnings = unknown_keys(root, TOP_KEYS, "");

    let name = required_text(
        root,
        "name",
        "",
        "the template's name, e.g. \"Daily standup\"",
    )?;
    let description = optional_text(root, "description", "")?.unwrap_or_default();
    let purpose = optional_text(root, "purpose", "")?;
    let sections = match root.get("sections") {
        Some(Value::Array(s)) if !s.is_empty() => s,
        Some(Value::Array(_)) => {
            return Err(config_error(
                "`sections` is empty: give at least one section",
            ));
        }
        Some(_) => return Err(config_error("`sections` must be a list of sections")),
        None => {
            return Err(config_error(
                "`sections` is missing: a list of {title, instruction, format}",
            ));
        }
    };
    if sections.len() > MAX_SECTIONS {
        return Err(config_error(format!(
            "`sections` has {} sections; at most {MAX_SECTIONS} are allowed",
            sections.len()
        )));
    }

    let mut spec = NotesSpec::new(
        "template-custom",
        &name,
        &description,
        &purpose.unwrap_or_else(|| {
            let about = if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            };
            format!("The notes follow the user's template \"{name}\"{about}")
        }),
        Vec::new(),
    );
    for (i, section) in sections.iter().enumerate() {
        let at = format!("sections[{i}].");
        let section = section
            .as_object()
            .ok_or_else(|| config_error(format!("`sections[{i}]` must be an object")))?;
        warnings.extend(unknown_keys(section, SECTION_KEYS, &at));
        let title = required_text(section, "title", &at, "the heading of this section")?;
        let instruction = required_text(
            section,
            "instruction",
            &at,
            "what the model should write here",
        )?;
        let format = match optional_text(section, "format", &at)? {
            None => SectionFormat::Paragraph,
            Some(f) => SectionFormat::parse(&f).ok_or_else(|| {
                config_error(format!(
                    "`{at}format` = {f:?} is not one of \"paragraph\", \"list\", \"string\""
                ))
            })?,
        };
        let item_format = optional_text(section, "item_format", &at)?;
        let list = ListSpec {
            title: title.clone(),
            instruction: instruction.clone(),
        };
        match structured_field(&title) {
            Some(Field::Decisions) => spec.decisions = list,
            Some(Field::OpenQuestions) => spec.open_questions = list,
            Some(Field::ActionItems) => {
                spec.action_items = ListSpec {
                    instruction: format!(
                        "{instruction} owner: who does it (\"\" if nobody); due: as said (\"\" if none)."
                    ),
                    ..list
                }
            }
            None => {
                let key = unique_key(&title, i, &spec.sections);
                spec.sections.push(SectionSpec {
                    key,
                    title,
                    instruction,
                    format,
                    item_format,
                });
            }
        }
    }
    spec.check().map_err(config_error)?;
    Ok((spec, warnings))
}

enum Field {
    Decisions,
    ActionItems,
    OpenQuestions,
}

/// "Action Items", "Decisions made", "Open questions" … map onto the summary's own lists.
fn structured_field(title: &str) -> Option<Field> {
    let t: String = title
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match t.as_str() {
        "actionitems" | "actions" | "todos" | "todo" | "tasks" | "followups" | "nextsteps" => {
            Some(Field::ActionItems)
        }
        "decisions" | "decisionsmade" | "keydecisions" => Some(Field::Decisions),
        "openquestions" | "questions" | "unresolvedquestions" | "openissues" => {
            Some(Field::OpenQuestions)
        }
        _ => None,
    }
}

/// A JSON key from a title: "Key Points" → "key_points"; unique among `taken`.
fn unique_key(title: &str, index: usize, taken: &[SectionSpec]) -> String {
    let mut key = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let mut key: String = key.trim_end_matches('_').chars().take(40).collect();
    if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
        key = format!("section_{}", index + 1);
    }
    let mut candidate = key.clone();
    let mut n = 2;
    while taken.iter().any(|s| s.key == candidate) {
        candidate = format!("{key}_{n}");
        n += 1;
    }
    candidate
}

fn required_text(
    map: &Map<String, Value>,
    key: &str,
    at: &str,
    what: &str,
) -> Result<String, PluginError> {
    match optional_text(map, key, at)? {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err(config_error(format!("`{at}{key}` is empty ({what})"))),
        None => Err(config_error(format!("`{at}{key}` is missing ({what})"))),
    }
}

fn optional_text(
    map: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, PluginError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(config_error(format!("`{at}{key}` must be text"))),
    }
}

fn unknown_keys(map: &Map<String, Value>, known: &[&str], at: &str) -> Vec<String> {
    map.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| format!("template definition: `{at}{k}` is not a known key and is ignored"))
        .collect()
}

#[cfg(test)]
mod tests;
