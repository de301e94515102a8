use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

const NAME: &str = "hostile-loop";
struct Spin;

impl Exporter for Spin {
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
        if format == "ok" {
            return Ok(vec![OutputFile::text(
                "ok.txt",
                "text/plain",
                "still alive",
            )]);
        }
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

export_exporter!(Spin);
