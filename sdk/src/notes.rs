//! Structured meeting notes: what a template asks a model for, and how the answer is checked.
//!
//! A [`NotesSpec`] lists a template's sections (title, instruction, format). The model is asked
//! for one JSON object of this shape (the example in the prompt comes from [`NotesSpec::schema`],
//! the JSON Schema a provider enforces from [`NotesSpec::json_schema`]):
//!
//! ```json
//! {
//!   "sections": { "<section key>": "text" or ["item", ...], ... },
//!   "decisions": [{ "text": "...", "citations": ["s12"] }],
//!   "action_items": [{ "owner": "name or empty", "task": "...", "due": "as stated, or empty",
//!                      "citations": ["s14"] }],
//!   "open_questions": [{ "text": "...", "citations": ["s20"] }]
//! }
//! ```
//!
//! `citations` name the transcript lines an item comes from by the segment id each line starts
//! with (`[s12 03:14] Tom: …`, see [`crate::chunking`]). [`Notes::into_summary`] turns them into
//! [`Citation`]s at the segment's start and drops ids the transcript does not have.
//!
//! [`parse_answer`] is lenient about the wrapping (code fences, prose before or after, section keys
//! at the top level) and strict about the content: every section and list must be present and of
//! the right kind, every action item needs a task. Its error says exactly what is wrong, so it can
//! be sent back to the model for one retry.

use crate::types::{
    ActionItem, Citation, Decision, JsonSchema, OpenQuestion, Section, Summary, Transcript,
};
use serde_json::{Map, Value, json};
use std::fmt::Write;

mod caps;
pub use caps::{AnswerCaps, MAX_ID_CHARS};

/// How a section's content is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionFormat {
    /// A few sentences of prose.
    Paragraph,
    /// A list of short items.
    List,
    /// One short line (a name, a date, a score).
    String,
}

impl SectionFormat {
    pub fn parse(s: &str) -> Option<SectionFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "paragraph" | "text" | "prose" => Some(SectionFormat::Paragraph),
            "list" | "bullets" | "bullet list" | "bullet_list" => Some(SectionFormat::List),
            "string" | "line" => Some(SectionFormat::String),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSpec {
    /// JSON key in the answer: lower-case letters, digits and `_`.
    pub key: String,
    pub title: String,
    pub instruction: String,
    pub format: SectionFormat,
    /// A Markdown hint for each list item, e.g. a table header `| Owner | Task |` (Meetily's
    /// `item_format`): items are then rendered as that table's rows.
    pub item_format: Option<String>,
}

impl SectionSpec {
    pub fn new(key: &str, title: &str, format: SectionFormat, instruction: &str) -> SectionSpec {
        SectionSpec {
            key: key.into(),
            title: title.into(),
            instruction: instruction.into(),
            format,
            item_format: None,
        }
    }
}

/// One of the lists every summary has (decisions, action items, open questions), with the
/// template's own heading and guidance for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSpec {
    pub title: String,
    pub instruction: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotesSpec {
    pub id: String,
    pub name: String,
    pub description: String,
    /// What kind of meeting this is and what matters in its notes (one or two sentences).
    pub purpose: String,
    pub sections: Vec<SectionSpec>,
    pub decisions: ListSpec,
    pub action_items: ListSpec,
    pub open_questions: ListSpec,
}

impl NotesSpec {
    /// A spec with the usual guidance for decisions, action items and open questions.
    pub fn new(
        id: &str,
        name: &str,
        description: &str,
        purpose: &str,
        sections: Vec<SectionSpec>,
    ) -> NotesSpec {
        NotesSpec {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            purpose: purpose.into(),
            sections,
            decisions: ListSpec {
                title: "Decisions".into(),
                instruction: "What the participants agreed on, stated so it stands on its own. Not proposals \
                              that were rejected or left open, and never a bare acknowledgement (\"Agreed!\", \
                              \"Yes\"): write what was agreed."
                    .into(),
            },
            action_items: ListSpec {
                title: "Action items".into(),
                instruction: "Tasks someone committed to or was asked to do. owner: the person who will do \
                              it, named as the transcript names that speaker (never the meeting's title, a file \
                              name or a channel number; \"\" if nobody); due: the deadline as it was said (\"\" \
                              if none was said; never the meeting's own date)."
                    .into(),
            },
            open_questions: ListSpec {
                title: "Open questions".into(),
                instruction: "Questions raised and not answered or settled in the meeting.".into(),
            },
        }
    }

    /// The same spec with its action items under another title and instruction (a stand-up's
    /// "Follow-ups", a retro's "Improvement actions").
    pub fn with_action_items(mut self, title: &str, instruction: &str) -> NotesSpec {
        self.action_items = ListSpec {
            title: title.into(),
            instruction: instruction.into(),
        };
        self
    }

    /// Checks what a template author could get wrong: keys, titles, instructions.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.sections.iter().enumerate() {
            let key_ok = !s.key.is_empty()
                && s.key.len() <= 64
                && s.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(format!(
                    "sections[{i}] key {:?} must be lower-case letters, digits and _",
                    s.key
                ));
            }
            if !seen.insert(s.key.as_str()) {
                return Err(format!("sections[{i}] key {:?} is used twice", s.key));
            }
            if s.title.trim().is_empty() {
                return Err(format!("sections[{i}].title is empty"));
            }
            if s.instruction.trim().is_empty() {
                return Err(format!("sections[{i}].instruction is empty"));
            }
        }
        Ok(())
    }

    /// An answer that fills every field, for tests and examples.
    pub fn sample_answer(&self) -> String {
        let mut sections = Map::new();
        for s in &self.sections {
            let value = match s.format {
                SectionFormat::List => json!([format!("{} item", s.title)]),
                _ => json!(format!("{} text.", s.title)),
            };
            sections.insert(s.key.clone(), value);
        }
        json!({
            "sections": sections,
            "decisions": [{"text": "Launch on March 17th", "citations": ["s1"]}],
            "action_items": [{"owner": "Sam", "task": "Update the landing page", "due": "Friday", "citations": ["s3"]}],
            "open_questions": [{"text": "Who writes the press kit?", "citations": []}],
        })
        .to_string()
    }

    /// The JSON shape the model must answer with, as an example object with descriptions.
    ///
    /// serde_json's map sorts the keys, so the lists come before `sections`. That order is kept
    /// on purpose: with the notes first, the 0.5B test model looped in its key points and ran
    /// out of tokens in 5 of 6 runs of meeting_a, against 2 of 7 in this order.
    pub fn schema(&self) -> String {
        let mut sections = Map::new();
        for s in &self.sections {
            let value = match s.format {
                SectionFormat::Paragraph => json!("<paragraph>"),
                SectionFormat::String => json!("<one short line>"),
                SectionFormat::List => json!(["<item>", "..."]),
            };
            sections.insert(s.key.clone(), value);
        }
        let example = json!({
            "sections": sections,
            "decisions": [{"text": "<decision>", "citations": ["<line id>"]}],
            "action_items": [{"owner": "<name, or empty>", "task": "<task>", "due": "<deadline as said, or empty>", "citations": ["<line id>"]}],
            "open_questions": [{"text": "<question>", "citations": ["<line id>"]}],
        });
        serde_json::to_string_pretty(&example).unwrap_or_default()
    }

    /// The answer's shape as a JSON Schema for the provider to enforce, with list length caps so
    /// a small model cannot loop in a list until it runs out of tokens. Only the subset every
    /// endpoint takes (see `json-schema` in the WIT): strings instead of nulls (an empty owner or
    /// due date means none), `additionalProperties: false`, every key required. The keys are in
    /// the order of [`NotesSpec::schema`] (the lists before the sections), which a constrained
    /// decoder follows.
    pub fn json_schema(&self) -> JsonSchema {
        self.json_schema_citing(&[])
    }

    /// [`NotesSpec::json_schema`] with citations restricted to the line ids `ids` (an `enum`),
    /// so that an endpoint that enforces the schema cannot cite a line the request did not
    /// show. No restriction when `ids` is empty or longer than [`MAX_ENUM_IDS`] (endpoints cap
    /// enum sizes).
    pub fn json_schema_citing(&self, ids: &[u32]) -> JsonSchema {
        self.json_schema_for(ids, &[])
    }

    /// [`NotesSpec::json_schema_citing`] with action-item owners restricted to `owners` (the
    /// speakers the transcript names), so that an endpoint that enforces the schema
    /// cannot make the meeting's title or a file name an owner (the 0.5B test model did, for
    /// every item). No restriction when `owners` is empty.
    pub fn json_schema_for(&self, ids: &[u32], owners: &[String]) -> JsonSchema {
        self.json_schema_capped(ids, owners, &AnswerCaps::DEFAULT)
    }

    /// [`NotesSpec::json_schema_for`] with the lists and strings held to `caps` (see
    /// [`AnswerCaps::within`]: the caps whose largest answer fits the request's token budget).
    pub fn json_schema_capped(
        &self,
        ids: &[u32],
        owners: &[String],
        caps: &AnswerCaps,
    ) -> JsonSchema {
        let mut sections = Map::new();
        for s in &self.sections {
            let value = match s.format {
                SectionFormat::List => json!({
                    "type": "array",
                    "items": {"type": "string", "maxLength": caps.item_chars},
                    "maxItems": caps.section_items,
                }),
                SectionFormat::Paragraph | SectionFormat::String => {
                    json!({"type": "string", "maxLength": caps.paragraph_chars})
                }
            };
            sections.insert(s.key.clone(), value);
        }
        let citations = json!({
            "type": "array",
            "items": id_item(ids),
            "maxItems": caps.citations,
        });
        let cited = |max: usize| {
            json!({
                "type": "array",
                "maxItems": max,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": caps.item_chars},
                        "citations": citations,
                    },
                    "required": ["text", "citations"],
                    "additionalProperties": false,
                },
            })
        };
        let keys: Vec<&String> = sections.keys().collect();
        let action_items = json!({
            "type": "array",
            "maxItems": caps.action_items,
            "items": {
                "type": "object",
                "properties": {
                    "owner": owner_item(owners, caps.name_chars),
                    "task": {"type": "string", "maxLength": caps.item_chars},
                    "due": {"type": "string", "maxLength": caps.name_chars},
                    "citations": citations,
                },
                "required": ["owner", "task", "due", "citations"],
                "additionalProperties": false,
            },
        });
        let sections = json!({
            "type": "object",
            "properties": sections,
            "required": keys,
            "additionalProperties": false,
        });
        // Endpoints that enforce the schema generate the keys in the order the schema lists
        // them, and serde_json's map would sort them: written out by hand so that `sections`
        // comes first and a small model that runs out of tokens loses list items, not the
        // notes themselves.
        let properties = [
            ("sections", sections),
            ("decisions", cited(caps.decisions)),
            ("action_items", action_items),
            ("open_questions", cited(caps.open_questions)),
        ];
        let body: Vec<String> = properties
            .iter()
            .map(|(key, value)| format!("{}:{value}", Value::from(*key)))
            .collect();
        let required: Vec<&str> = properties.iter().map(|(key, _)| *key).collect();
        let schema = format!(
            r#"{{"type":"object","properties":{{{}}},"required":{},"additionalProperties":false}}"#,
            body.join(","),
            Value::from(required)
        );
        JsonSchema {
            name: "meeting_notes".into(),
            schema,
        }
    }

    /// What goes in each field, one line each.
    pub fn field_guide(&self, caps: &AnswerCaps) -> String {
        let mut out = String::new();
        for s in &self.sections {
            let kind = match s.format {
                SectionFormat::Paragraph => "paragraph",
                SectionFormat::List => "list of strings",
                SectionFormat::String => "one short line",
            };
            let _ = write!(
                out,
                "- sections.{} ({}, {kind}): {}",
                s.key,
                s.title,
                s.instruction.trim()
            );
            if let Some(f) = &s.item_format {
                let _ = write!(out, " Write each item in this Markdown form: {}", f.trim());
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "- decisions (list of objects, at most {}): {}",
            caps.decisions,
            self.decisions.instruction.trim()
        );
        let _ = writeln!(
            out,
            "- action_items (list of objects, at most {}): {}",
            caps.action_items,
            self.action_items.instruction.trim()
        );
        let _ = writeln!(
            out,
            "- open_questions (list of objects, at most {}): {}",
            caps.open_questions,
            self.open_questions.instruction.trim()
        );
        let lines = match caps.citations {
            1 => "the id of the transcript line".to_string(),
            n => format!("the ids of the one to {n} transcript lines"),
        };
        let _ = writeln!(
            out,
            "- citations (in every decision, action item and open question): {lines} the item comes from, \
             written as the line starts: the line \"[s<n> mm:ss] …\" has the id \"s<n>\". Cite only lines \
             that say it."
        );
        out
    }
}

/// A section's content as the model gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionValue {
    Text(String),
    List(Vec<String>),
}

/// Caps on the lists of an answer (`maxItems` in [`NotesSpec::json_schema`]).
///
/// Chosen on the tune split of the scripted meetings (tests/fixtures/meetings/split.toml:
/// meetings a, b, c, e): their references need at most 5 decisions, 5 action items and 2 open
/// questions, items up to 162 characters and due dates up to 41. The first caps (10, 12, 8, 8
/// items; 800/240/60 characters, from meeting_a alone) allowed an answer of about 2,800 tokens
/// against the 1,024 a 4,096-token window leaves for it, and the 0.5B test model, which fills a
/// list or a string to its cap when it loops, was cut off before its decisions.
pub const MAX_DECISIONS: usize = 6;
pub const MAX_ACTION_ITEMS: usize = 8;
pub const MAX_OPEN_QUESTIONS: usize = 4;
pub const MAX_SECTION_ITEMS: usize = 6;
pub const MAX_CITATIONS: usize = 2;
/// Caps on string lengths (`maxLength`): a small model held to a schema can otherwise loop
/// inside one string until the token limit cuts the whole answer off.
pub const MAX_PARAGRAPH_CHARS: usize = 500;
pub const MAX_ITEM_CHARS: usize = 180;
pub const MAX_NAME_CHARS: usize = 48;

/// A decision or open question as the model gave it, with the segment ids it cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitedText {
    pub text: String,
    /// Segment ids, as the model wrote them (not yet checked against the transcript).
    pub cites: Vec<u32>,
}

/// An action item as the model gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteAction {
    pub owner: Option<String>,
    pub task: String,
    pub due: Option<String>,
    pub cites: Vec<u32>,
}

/// A validated answer: one value per section of the spec, in the spec's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Notes {
    pub sections: Vec<(String, SectionValue)>,
    pub decisions: Vec<CitedText>,
    pub action_items: Vec<NoteAction>,
    pub open_questions: Vec<CitedText>,
}

/// Most line ids listed as a schema `enum` (OpenAI's strict mode takes up to 1,000 values).
pub const MAX_ENUM_IDS: usize = 500;

/// The schema of one citation: a string, one of `ids` as `"s<n>"` when there are a few.
/// The schema of an action item's owner: one of `owners`, else any short string. No `""`
/// among them: every action item of the scripted meetings' references has an owner, and the
/// 0.5B test model, offered `""`, chose it for every item.
fn owner_item(owners: &[String], max_chars: usize) -> Value {
    if owners.is_empty() || owners.len() > MAX_ENUM_IDS {
        return json!({"type": "string", "maxLength": max_chars});
    }
    json!({"type": "string", "enum": owners})
}

fn id_item(ids: &[u32]) -> Value {
    let mut unique: Vec<u32> = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() || unique.len() > MAX_ENUM_IDS {
        // Capped all the same: a small model can loop inside any string.
        return json!({"type": "string", "maxLength": caps::MAX_ID_CHARS});
    }
    json!({"type": "string", "enum": cite_ids(&unique)})
}

/// `["s12", "s14"]`: how ids are shown to the model, and so how it repeats them.
fn cite_ids(ids: &[u32]) -> Value {
    json!(ids.iter().map(|id| format!("s{id}")).collect::<Vec<_>>())
}

/// Citations of `ids` in `transcript`: unknown ids (a model's invention) and repeats dropped.
pub fn citations(transcript: &Transcript, ids: &[u32]) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    for &id in ids {
        if out.iter().any(|c| c.segment_id == id) {
            continue;
        }
        out.extend(transcript.cite(id));
    }
    out
}

impl Notes {
    /// Back to the answer's JSON shape (used to hand partial notes to the merge step).
    /// Every segment id these notes cite.
    pub fn cited_ids(&self) -> Vec<u32> {
        let items = self.decisions.iter().chain(&self.open_questions);
        let mut ids: Vec<u32> = items.flat_map(|c| c.cites.iter().copied()).collect();
        ids.extend(
            self.action_items
                .iter()
                .flat_map(|a| a.cites.iter().copied()),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn to_json(&self) -> String {
        let mut sections = Map::new();
        for (key, value) in &self.sections {
            let v = match value {
                SectionValue::Text(t) => json!(t),
                SectionValue::List(items) => json!(items),
            };
            sections.insert(key.clone(), v);
        }
        let items: Vec<Value> = self
            .action_items
            .iter()
            .map(|a| {
                json!({
                    "owner": a.owner.as_deref().unwrap_or(""),
                    "task": a.task,
                    "due": a.due.as_deref().unwrap_or(""),
                    "citations": cite_ids(&a.cites),
                })
            })
            .collect();
        let cited = |list: &[CitedText]| -> Vec<Value> {
            list.iter()
                .map(|c| json!({"text": c.text, "citations": cite_ids(&c.cites)}))
                .collect()
        };
        json!({
            "sections": sections,
            "decisions": cited(&self.decisions),
            "action_items": items,
            "open_questions": cited(&self.open_questions),
        })
        .to_string()
    }

    /// The summary record, with Markdown rendered from the notes and each item's segment ids
    /// turned into citations of `transcript` (ids it does not have are dropped). Grounding is
    /// left `unchecked`: the host checks citations.
    /// Holds the answer to what a reader relies on, whatever the model wrote: an owner is one of
    /// `speakers` (the names the transcript gives, as the prompt listed them) — an owner that
    /// merely contains one ("Sam (marketing)") becomes that name, any other (the meeting's
    /// title, a file name, "channel 0") none — and a decision that only acknowledges
    /// ("Agreed!", "Yes.") is dropped, as is a repeated decision or action item. With no speaker
    /// names known, only bare channel labels are taken away. Returns how many owners and
    /// decisions it changed, for the log.
    pub fn keep_to_transcript(&mut self, speakers: &[String]) -> (usize, usize) {
        let mut owners = 0;
        for a in &mut self.action_items {
            let Some(owner) = a.owner.as_deref().map(str::trim) else {
                continue;
            };
            let kept = match speakers.is_empty() {
                true => (!is_channel_label(owner)).then(|| owner.to_string()),
                false => speakers
                    .iter()
                    .find(|s| s.eq_ignore_ascii_case(owner))
                    .or_else(|| {
                        let words: Vec<String> = owner
                            .split(|c: char| !c.is_alphanumeric())
                            .map(str::to_lowercase)
                            .collect();
                        speakers.iter().find(|s| words.contains(&s.to_lowercase()))
                    })
                    .cloned(),
            };
            if kept.as_deref() != Some(owner) {
                owners += 1;
                a.owner = kept;
            }
        }
        let before = self.decisions.len();
        self.decisions
            .retain(|d| !is_acknowledgement(&d.text, speakers));
        // A small model that loops repeats an item until the list's cap: once is enough.
        let mut seen = std::collections::HashSet::new();
        self.decisions
            .retain(|d| seen.insert(d.text.trim().to_lowercase()));
        let mut seen = std::collections::HashSet::new();
        self.action_items.retain(|a| {
            seen.insert((
                a.owner.as_deref().unwrap_or("").to_lowercase(),
                a.task.trim().to_lowercase(),
            ))
        });
        (owners, before - self.decisions.len())
    }

    pub fn into_summary(self, spec: &NotesSpec, transcript: &Transcript) -> Summary {
        let mut sections = Vec::new();
        for (section, (_, value)) in spec.sections.iter().zip(&self.sections) {
            let body = match value {
                SectionValue::Text(t) => t.trim().to_string(),
                SectionValue::List(items) => render_list(items, section.item_format.as_deref()),
            };
            if !body.is_empty() {
                sections.push(Section {
                    title: section.title.clone(),
                    body,
                });
            }
        }
        let mut markdown = String::new();
        for s in &sections {
            let _ = writeln!(markdown, "## {}\n\n{}\n", s.title, s.body);
        }
        let texts = |list: &[CitedText]| list.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
        if !self.decisions.is_empty() {
            let _ = writeln!(
                markdown,
                "## {}\n\n{}\n",
                spec.decisions.title,
                render_list(&texts(&self.decisions), None)
            );
        }
        if !self.action_items.is_empty() {
            let _ = writeln!(markdown, "## {}\n", spec.action_items.title);
            for a in &self.action_items {
                let mut line = format!("- [ ] {}", a.task);
                match (&a.owner, &a.due) {
                    (Some(o), Some(d)) => line += &format!(" ({o}, due {d})"),
                    (Some(o), None) => line += &format!(" ({o})"),
                    (None, Some(d)) => line += &format!(" (due {d})"),
                    (None, None) => {}
                }
                let _ = writeln!(markdown, "{line}");
            }
            markdown.push('\n');
        }
        if !self.open_questions.is_empty() {
            let _ = writeln!(
                markdown,
                "## {}\n\n{}\n",
                spec.open_questions.title,
                render_list(&texts(&self.open_questions), None)
            );
        }
        Summary {
            markdown: markdown.trim_end().to_string() + "\n",
            sections,
            action_items: self
                .action_items
                .into_iter()
                .map(|a| ActionItem {
                    owner_speaker_id: a
                        .owner
                        .as_deref()
                        .and_then(|o| transcript.speaker_id_named(o)),
                    owner: a.owner,
                    due: a.due,
                    citations: citations(transcript, &a.cites),
                    ..ActionItem::new(a.task)
                })
                .collect(),
            decisions: self
                .decisions
                .into_iter()
                .map(|d| Decision::new(d.text, citations(transcript, &d.cites)))
                .collect(),
            open_questions: self
                .open_questions
                .into_iter()
                .map(|q| OpenQuestion::new(q.text, citations(transcript, &q.cites)))
                .collect(),
        }
    }
}

fn render_list(items: &[String], item_format: Option<&str>) -> String {
    match item_format.map(str::trim) {
        // A table header: items are its rows.
        Some(header) if header.starts_with('|') => {
            let mut out = header.to_string();
            for item in items {
                let row = item.trim();
                let row = if row.starts_with('|') {
                    row.to_string()
                } else {
                    format!("| {row} |")
                };
                let _ = write!(out, "\n{row}");
            }
            out
        }
        _ => items
            .iter()
            .map(|i| format!("- {}", i.trim()))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Finds the JSON object in a model's answer and checks it against `spec`.
pub fn parse_answer(text: &str, spec: &NotesSpec) -> Result<Notes, String> {
    let root = extract_object(text)?;
    validate(&root, spec)
}

/// The notes in an answer that the length limit cut off: the JSON up to the last list item or
/// top-level field that was complete, closed where it stopped, with the lists it never reached
/// read as empty. `None` when that still is not the notes (a section was cut off, say), so
/// nothing half-written is kept. Returns the notes and how many list items they hold.
pub fn salvage_cut_off(text: &str, spec: &NotesSpec) -> Option<(Notes, usize)> {
    let start = text.find('{')?;
    let text = &text[start..];
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    // (end of the kept prefix, containers open there)
    let mut cuts: Vec<(usize, Vec<u8>)> = Vec::new();
    let keeps = |stack: &[u8]| stack.last() == Some(&b'[') || stack.len() == 1;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                stack.push(b);
                // A list opened as a top-level field: cut here, it is empty.
                if b == b'[' && stack.len() == 2 {
                    cuts.push((i + 1, stack.clone()));
                }
            }
            b'}' | b']' => {
                stack.pop();
                if stack.is_empty() {
                    break;
                }
                if keeps(&stack) {
                    cuts.push((i + 1, stack.clone()));
                }
            }
            b',' if keeps(&stack) => cuts.push((i, stack.clone())),
            _ => {}
        }
    }
    for (end, open) in cuts.iter().rev().take(200) {
        let mut json = text[..*end].to_string();
        for c in open.iter().rev() {
            json.push(if *c == b'{' { '}' } else { ']' });
        }
        let Ok(Value::Object(mut root)) = serde_json::from_str::<Value>(&json) else {
            continue;
        };
        for key in ["decisions", "action_items", "open_questions"] {
            root.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        }
        if let Ok(notes) = validate(&root, spec) {
            let items =
                notes.decisions.len() + notes.action_items.len() + notes.open_questions.len();
            return Some((notes, items));
        }
    }
    None
}

/// The first JSON object in `text`, skipping code fences and prose around it.
pub fn extract_object(text: &str) -> Result<Map<String, Value>, String> {
    let mut last_error = None;
    for (i, _) in text.match_indices('{').take(50) {
        let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(Value::Object(map))) => return Ok(map),
            Some(Err(e)) => last_error = Some(e.to_string()),
            _ => {}
        }
    }
    Err(match last_error {
        Some(e) if text.contains('{') => format!("the answer is not valid JSON ({e})"),
        _ => "the answer contains no JSON object".into(),
    })
}

fn validate(root: &Map<String, Value>, spec: &NotesSpec) -> Result<Notes, String> {
    // Small models sometimes put the section keys at the top level; accept that when unambiguous.
    let sections_obj = match root.get("sections") {
        Some(Value::Object(m)) => m,
        Some(other) => return Err(format!("`sections` must be an object, got {}", kind(other))),
        None if !spec.sections.is_empty()
            && spec.sections.iter().all(|s| root.contains_key(&s.key)) =>
        {
            root
        }
        None if spec.sections.is_empty() => root,
        None => return Err("missing `sections` (an object with one key per section)".into()),
    };
    let mut sections = Vec::new();
    for s in &spec.sections {
        let value = sections_obj
            .get(&s.key)
            .ok_or_else(|| format!("missing `sections.{}`", s.key))?;
        let field = format!("sections.{}", s.key);
        let v = match s.format {
            SectionFormat::List => SectionValue::List(string_list(value, &field)?),
            SectionFormat::Paragraph | SectionFormat::String => {
                SectionValue::Text(text_value(value, &field)?)
            }
        };
        sections.push((s.key.clone(), v));
    }
    let decisions = cited_list(
        root.get("decisions")
            .ok_or("missing `decisions` (use [] when there are none)")?,
        "decisions",
    )?;
    // Small models often leave out the last key when there is nothing to put in it; an absent
    // `open_questions` is read as none rather than costing the whole answer.
    let open_questions = match root.get("open_questions") {
        None => Vec::new(),
        Some(v) => cited_list(v, "open_questions")?,
    };
    let items = root
        .get("action_items")
        .ok_or("missing `action_items` (use [] when there are none)")?;
    let action_items = action_items(items)?;
    Ok(Notes {
        sections,
        decisions,
        action_items,
        open_questions,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn text_value(v: &Value, field: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Null => Ok(String::new()),
        Value::Number(n) => Ok(n.to_string()),
        // A list where prose was asked for still says what it should: keep it as lines.
        Value::Array(items) => {
            let lines = string_list(&Value::Array(items.clone()), field)?;
            Ok(lines
                .iter()
                .map(|l| format!("- {l}"))
                .collect::<Vec<_>>()
                .join("\n"))
        }
        other => Err(format!("`{field}` must be a string, got {}", kind(other))),
    }
}

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .lines()
            .map(|l| l.trim().trim_start_matches(['-', '*', '•']).trim())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()),
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let text = match item {
                    Value::String(s) => s.trim().to_string(),
                    Value::Number(n) => n.to_string(),
                    // {"text": "..."} and similar single-string objects.
                    Value::Object(m) => match m
                        .values()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .as_slice()
                    {
                        [one] => one.trim().to_string(),
                        _ => return Err(format!("`{field}[{i}]` must be a string, got an object")),
                    },
                    other => {
                        return Err(format!(
                            "`{field}[{i}]` must be a string, got {}",
                            kind(other)
                        ));
                    }
                };
                if !text.is_empty() {
                    out.push(text);
                }
            }
            Ok(out)
        }
        other => Err(format!(
            "`{field}` must be a list of strings, got {}",
            kind(other)
        )),
    }
}

/// A list of decisions or questions: objects `{"text", "citations"}`, or plain strings (uncited).
fn cited_list(v: &Value, field: &str) -> Result<Vec<CitedText>, String> {
    let Value::Array(items) = v else {
        let texts = string_list(v, field)?;
        return Ok(texts
            .into_iter()
            .map(|text| CitedText {
                text,
                cites: Vec::new(),
            })
            .collect());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let entry = match item {
            Value::Object(m) if m.contains_key("text") => {
                let text = text_value(&m["text"], &format!("{field}[{i}].text"))?;
                let cites = m.get("citations").map(cite_list).unwrap_or_default();
                CitedText { text, cites }
            }
            other => {
                let texts = string_list(&Value::Array(vec![other.clone()]), field)
                    .map_err(|e| e.replace(&format!("`{field}[0]`"), &format!("`{field}[{i}]`")))?;
                match texts.into_iter().next() {
                    Some(text) => CitedText {
                        text,
                        cites: Vec::new(),
                    },
                    None => continue,
                }
            }
        };
        if !entry.text.is_empty() {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Segment ids from a `citations` value, leniently: `"s12"`, `12`, `"[s12 03:14]"`, or one
/// such value on its own. Anything without a number is ignored: a bad citation costs the
/// citation, not the answer.
fn cite_list(v: &Value) -> Vec<u32> {
    let one = |v: &Value| -> Option<u32> {
        match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => line_id(s),
            _ => None,
        }
    };
    let mut ids: Vec<u32> = match v {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    };
    ids.dedup();
    ids.truncate(MAX_CITATIONS * 2);
    ids
}

/// The segment id in a model's reference to a transcript line: `"s12"`, `"12"`, `"[s12 03:14]"`
/// all give 12 (the first number in the text).
///
/// ```
/// assert_eq!(minutes_sdk::notes::line_id("[s12 03:14]"), Some(12));
/// assert_eq!(minutes_sdk::notes::line_id("none"), None);
/// ```
pub fn line_id(text: &str) -> Option<u32> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn action_items(v: &Value) -> Result<Vec<NoteAction>, String> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(format!(
                "`action_items` must be a list of objects, got {}",
                kind(other)
            ));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item = match item {
            Value::String(task) if !task.trim().is_empty() => {
                out.push(NoteAction {
                    owner: None,
                    task: task.trim().into(),
                    due: None,
                    cites: Vec::new(),
                });
                continue;
            }
            Value::Object(m) => m,
            other => {
                return Err(format!(
                    "`action_items[{i}]` must be an object, got {}",
                    kind(other)
                ));
            }
        };
        let task = item
            .get("task")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if task.is_empty() {
            return Err(format!("`action_items[{i}].task` is missing or empty"));
        }
        out.push(NoteAction {
            owner: optional(item.get("owner")),
            task: task.into(),
            due: optional(item.get("due")),
            cites: item.get("citations").map(cite_list).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// A name or date, or `None` for null, empty and the ways models say "nobody".
fn optional(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?.trim();
    let none = [
        "",
        "null",
        "none",
        "n/a",
        "na",
        "unknown",
        "unassigned",
        "tbd",
        "-",
    ];
    (!none.contains(&s.to_ascii_lowercase().as_str())).then(|| s.to_string())
}

/// "channel 0": how a transcript without speakers labels a turn; nobody's name.
fn is_channel_label(owner: &str) -> bool {
    owner
        .to_ascii_lowercase()
        .strip_prefix("channel ")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Words that acknowledge without stating anything ("Agreed!", "Yes. Do it.", "Fine by me.",
/// "Makes sense."): no decision is made of these alone, here or in the offline cues.
pub(crate) const ACK_WORDS: &[&str] = &[
    "agreed",
    "agree",
    "agrees",
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "sure",
    "fine",
    "good",
    "great",
    "sounds",
    "perfect",
    "right",
    "alright",
    "absolutely",
    "exactly",
    "correct",
    "lovely",
    "deal",
    "works",
    "do",
    "it",
    "will",
    "that",
    "that's",
    "me",
    "by",
    "with",
    "i",
    "thanks",
    "thank",
    "you",
    "so",
    "we",
    "all",
    "everyone",
    "fair",
    "of",
    "course",
    "indeed",
    "makes",
    "sense",
    "totally",
    "mm",
    "hmm",
];

/// Whether a decision's `text` only acknowledges (speaker names aside: "Grace: Agreed!").
pub fn is_acknowledgement(text: &str, speakers: &[String]) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !speakers.iter().any(|s| s.to_lowercase() == *w))
        .all(|w| ACK_WORDS.contains(&w.as_str()))
}

#[cfg(test)]
mod tests;
