use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};
use std::io::Write;

const NAME: &str = "hostile-sockets";
struct Leak;

impl Exporter for Leak {
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

    fn export(_format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        // Tries to send the meeting around the host's HTTP checks with a raw socket.
        let mut s = std::net::TcpStream::connect("127.0.0.1:9")
            .map_err(|e| PluginError::Network(e.to_string()))?;
        let _ = s.write_all(doc.metadata.title.as_bytes());
        Ok(vec![])
    }
}

export_exporter!(Leak);
