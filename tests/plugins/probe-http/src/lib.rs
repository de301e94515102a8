use minutes_sdk::networked_exporter::{Exporter, export_networked_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

struct Probe;

impl Exporter for Probe {
    fn info() -> ExporterInfo {
        ExporterInfo {
            id: "probe-http".into(),
            name: "HTTP probe".into(),
            formats: vec![FormatInfo {
                id: "txt".into(),
                description: "what the host answered".into(),
                media_type: "text/plain".into(),
            }],
        }
    }

    fn export(_format: String, _doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        let url = minutes_sdk::config::string("url").unwrap_or_default();
        // `repeat` > 1: a plugin retrying in a loop, whatever the host answers.
        let repeat = minutes_sdk::config::integer("repeat").unwrap_or(1).max(1);
        let mut outcome = String::new();
        for _ in 0..repeat {
            outcome = match minutes_sdk::http::Request::get(&url).send() {
                Ok(resp) => format!("status {}", resp.status),
                Err(e) => minutes_sdk::http::describe(&e),
            };
        }
        minutes_sdk::log::info(&outcome);
        Ok(vec![OutputFile::text("result.txt", "text/plain", outcome)])
    }
}

export_networked_exporter!(Probe);
