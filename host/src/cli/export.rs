use crate::plugins::bindings::types::Document;
use crate::plugins::Registry;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "The document is the JSON form of the `document` record in wit/v0.1/types.wit:\n  \
    {\"metadata\": {...}, \"transcript\": {\"segments\": [...]}, \"summary\": null}\n\n\
    Example:\n  minutes export --document meeting.json --to export-markdown --dir ~/notes")]
pub struct ExportArgs {
    /// Meeting document as JSON (metadata, transcript, optional summary)
    #[arg(long, value_name = "FILE")]
    document: PathBuf,
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
    let text = std::fs::read_to_string(&args.document).with_context(|| format!("cannot read {}", args.document.display()))?;
    let document: Document = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a meeting document (see `minutes export --help`)", args.document.display()))?;
    let registry = Registry::open(home.clone())?;
    registry.get(&args.to)?;
    let runtime = ctx.runtime()?;
    let plugin = registry.load(&runtime, &args.to)?;
    let files = super::block_on(async {
        let format = match args.format {
            Some(f) => f,
            None => {
                let info = plugin.exporter_info().await?;
                info.formats.first().map(|f| f.id.clone()).ok_or_else(|| anyhow::anyhow!("plugin `{}` offers no formats", args.to))?
            }
        };
        anyhow::Ok(plugin.export(&format, &document).await?)
    })??;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
    let written = crate::output::write_files(&args.to, &args.dir, &files, args.force)?;
    if args.json {
        super::print_json(&written)?;
    } else {
        for path in &written {
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
