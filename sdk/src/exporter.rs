//! The `exporter` kind: turn a meeting document into files; the host writes them.
//! See the crate docs for a complete example.

mod world {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "minutes:plugin/exporter@0.2.0",
        with: {
            "minutes:plugin/types@0.2.0": crate::bindings::minutes::plugin::types,
            "minutes:plugin/log@0.2.0": crate::bindings::minutes::plugin::log,
            "minutes:plugin/config@0.2.0": crate::bindings::minutes::plugin::config,
        },
        export_macro_name: "__export_exporter_world",
        pub_export_macro: true,
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use world::*;

/// What an exporter implements: `info` (its formats) and `export` (the files for one format).
pub use world::Guest as Exporter;

/// Exports `$ty` (which implements [`Exporter`]) as this plugin's exporter.
#[macro_export]
macro_rules! export_exporter {
    ($ty:ident) => {
        $crate::exporter::__export_exporter_world!($ty with_types_in $crate::exporter);
    };
}
pub use crate::export_exporter;

// Named by path: `world::*` above re-exports these names, and an import would shadow it.
use crate::types as t;

/// An exporter that writes one format: its `info` and the check that the host asked for that
/// format, so each plugin states these facts once.
///
/// ```
/// use minutes_sdk::exporter::OneFormat;
/// const TXT: OneFormat = OneFormat {
///     plugin: "export-plain",
///     name: "Plain text",
///     format: "txt",
///     description: "One line per segment",
///     media_type: "text/plain",
/// };
/// assert_eq!(TXT.info().formats[0].id, "txt");
/// assert!(TXT.check("txt").is_ok());
/// assert!(TXT.check("pdf").is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OneFormat {
    /// The plugin id, as in `plugin.toml`.
    pub plugin: &'static str,
    /// The exporter's name as users see it.
    pub name: &'static str,
    /// The format id (`minutes export --format <id>`), also the file extension.
    pub format: &'static str,
    pub description: &'static str,
    pub media_type: &'static str,
}

impl OneFormat {
    pub fn info(&self) -> t::ExporterInfo {
        t::ExporterInfo {
            id: self.plugin.into(),
            name: self.name.into(),
            formats: vec![t::FormatInfo {
                id: self.format.into(),
                description: self.description.into(),
                media_type: self.media_type.into(),
            }],
        }
    }

    /// `Ok` when `requested` is this exporter's format, else an error naming the one it writes.
    pub fn check(&self, requested: &str) -> Result<(), t::PluginError> {
        if requested == self.format {
            return Ok(());
        }
        Err(t::PluginError::InvalidInput(format!(
            "{} writes `{}`, not `{requested}`",
            self.plugin, self.format
        )))
    }

    /// `<date>-<title>.<format>` for `doc` (see [`crate::meeting::file_stem`]).
    pub fn file_name(&self, doc: &t::Document) -> String {
        format!("{}.{}", crate::meeting::file_stem(doc), self.format)
    }
}
