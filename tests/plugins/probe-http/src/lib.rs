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
        let outcome = match minutes_sdk::http::Request::get(&url).send() {
            Ok(resp) => format!("status {}", resp.status),
            Err(e) => minutes_sdk::http::describe(&e),
        };
        minutes_sdk::log::info(&outcome);
        Ok(vec![OutputFile::text("result.txt", "text/plain", outcome)])
    }
}

export_networked_exporter!(Probe);
