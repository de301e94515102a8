use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

const NAME: &str = "hostile-memory";
struct Hog;

impl Exporter for Hog {
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

    fn export(_format: String, _doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the memory is really committed.
            hoard.push(std::hint::black_box(vec![0x5a; 1 << 20]));
        }
    }
}

export_exporter!(Hog);
