use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

const NAME: &str = "hostile-panic";
struct Boom;

impl Exporter for Boom {
    fn info() -> ExporterInfo {
        ExporterInfo {
            id: NAME.into(),
            name: NAME.into(),
            formats: vec![FormatInfo {
                id: "ok".into(),
                description: "answers at once".into(),
                media_type: "text/plain".into(),
            }],
        }
    }

    fn export(format: String, _doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        panic!("hostile-panic gave up on format {format}");
    }
}

export_exporter!(Boom);
