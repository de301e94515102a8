use crate::plugins::Registry;
use crate::plugins::bindings::types::Document;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Export a stored meeting by id (or the start of one; see `minutes list`), or a meeting \
    document file: the JSON form of the `document` record in wit/v0.1/types.wit:\n  \
    {\"metadata\": {...}, \"transcript\": {\"segments\": [...]}, \"summary\": null}\n\n\
    Examples:\n  minutes export 2026-11-28-atlas --to export-markdown --dir ~/notes\n  \
    minutes export --document meeting.json --to export-markdown --dir ~/notes"
)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["meeting", "document"]))]
pub struct ExportArgs {
    /// A stored meeting's id (or the start of one); the export is recorded with the meeting
    #[arg(value_name = "MEETING")]
    meeting: Option<String>,
    /// Meeting document as JSON (metadata, transcript, optional summary), instead of a stored meeting
    #[arg(long, value_name = "FILE")]
    document: Option<PathBuf>,
    /// Exporter plugin id (see `minutes plugin list`)
    #[arg(long, value_name = "PLUGIN")]
    to: String,
    /// Output format [default: the exporter's first format]
    #[arg(long)]
    format: Option<String>,
    /// Folder to write into (created if missing); files never land outside it
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    force: bool,
    /// Print the written files as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &super::Context, args: ExportArgs) -> anyhow::Result<()> {
    let home = &ctx.home;
    let (document, store) = match (&args.meeting, &args.document) {
        (Some(id), _) => {
            let store = super::meetings::open_store(home)?;
            let id = store.resolve(id)?;
            (store.document(&id)?, Some(store))
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let document: Document = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a meeting document (see `minutes export --help`)",
                    file.display()
                )
            })?;
            (document, None)
        }
        (None, None) => anyhow::bail!(
            "name a stored meeting (`minutes export <id> --to ...`) or a document file (`--document FILE`)"
        ),
    };
    let registry = Registry::open(home.clone())?;
    registry.get(&args.to)?;
    let runtime = ctx.runtime()?;
    // Requests a networked exporter makes are recorded against this meeting in the ledger.
    let plugin = registry
        .load(&runtime, &args.to)?
        .for_meeting(&document.metadata.id);
    let (format, files) = super::block_on(async {
        let format = match args.format {
            Some(f) => f,
            None => {
                let info = plugin.exporter_info().await?;
                info.formats
                    .first()
                    .map(|f| f.id.clone())
                    .ok_or_else(|| anyhow::anyhow!("plugin `{}` offers no formats", args.to))?
            }
        };
        let files = plugin.export(&format, &document).await?;
        anyhow::Ok((format, files))
    })??;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
    let written = crate::output::write_files(&args.to, &args.dir, &files, args.force)?;
    if let Some(store) = &store {
        let absolute: Vec<PathBuf> = written
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .collect();
        store.record_export(&document.metadata.id, &args.to, &format, &absolute)?;
    }
    if args.json {
        super::print_json(&written)?;
    } else if written.is_empty() {
        // A webhook-style exporter delivers instead of writing: say it succeeded.
        println!("{}: done ({format}); it wrote no files", args.to);
    } else {
        for path in &written {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
