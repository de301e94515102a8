//! Says everything with terminal control sequences in it: its log line, its error and its
//! panic each try to retitle the window and clear the screen.
use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

const NAME: &str = "hostile-terminal";
const ATTACK: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[1;31m";

struct Hostile;

fn format(id: &str) -> FormatInfo {
    FormatInfo {
        id: id.into(),
        description: format!("{id}{ATTACK}"),
        media_type: "text/plain".into(),
    }
}

impl Exporter for Hostile {
    fn info() -> ExporterInfo {
        ExporterInfo {
            id: NAME.into(),
            name: NAME.into(),
            formats: vec![format("error"), format("panic")],
        }
    }

    fn export(format: String, _doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        minutes_sdk::log::warn(&format!("log line{ATTACK}"));
        if format == "panic" {
            panic!("panic message{ATTACK}");
        }
        Err(PluginError::Other(format!("error message{ATTACK}")))
    }
}

export_exporter!(Hostile);
