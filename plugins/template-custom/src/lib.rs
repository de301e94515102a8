//! template-custom: runs a template the user wrote as a file (JSON or TOML, Meetily's format
//! accepted as is) — no Rust needed. The plugin reads no files: the host passes the file's text in
//! the config key `definition` (`minutes summarize --template ./file.json`).

pub mod definition;

use minutes_sdk::template::{Template, export_template};
use minutes_sdk::types::{MeetingMetadata, PluginError, Summary, TemplateInfo, Transcript};

pub struct Custom;

impl Template for Custom {
    fn info() -> TemplateInfo {
        TemplateInfo {
            id: "template-custom".into(),
            name: "Custom template".into(),
            description:
                "Your own sections (title, instruction, format) from a JSON or TOML template file; \
                          reads Meetily templates."
                    .into(),
            uses_llm: true,
            // The SDK's default `ask`: the user's file shapes summaries, not answers.
            answers_questions: true,
        }
    }

    fn summarize(
        transcript: Transcript,
        metadata: MeetingMetadata,
    ) -> Result<Summary, PluginError> {
        let text = match minutes_sdk::config::get("definition") {
            None => String::new(),
            Some(minutes_sdk::config::Value::Text(t)) => t,
            Some(_) => {
                return Err(PluginError::Config(
                    "`definition` must be text: the template file's contents".into(),
                ));
            }
        };
        let (spec, warnings) = definition::parse(&text)?;
        warnings.iter().for_each(|w| minutes_sdk::log::warn(w));
        minutes_sdk::notes_llm::run(&spec, transcript, metadata)
    }
}

export_template!(Custom);
