use crate::model::Document;
use crate::plugins::Registry;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Export a stored meeting by id (or the start of one; see `minutes list`), or a meeting \
    document file: the JSON form of the `document` record in wit/v0.1/types.wit:\n  \
    {\"metadata\": {...}, \"transcript\": {\"segments\": [...]}, \"summary\": null}\n\n\
    Examples:\n  minutes export 2026-11-28-atlas --to export-markdown --dir ~/notes\n  \
    minutes export --document meeting.json --to export-markdown --dir ~/notes\n\n\
    Files go to --dir, else `[export] dir` in config.toml, else ~/Documents/minutes. They must \
    have an extension the exporter's manifest declares and no hidden (dot) parts; --force \
    replaces only files minutes wrote before."
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
    /// Folder to write into (created if missing); files never land outside it [default:
    /// `[export] dir` in config.toml, else the `minutes` folder in your Documents folder]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Replace files that already exist, if minutes wrote them (never another file)
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
    let dir = output_dir(home, args.dir.as_deref())?;
    let registry = Registry::open(home.clone())?;
    let runtime = ctx.runtime()?;
    let crate::meeting_job::Rendered {
        format,
        declared,
        files,
    } = crate::meeting_job::render_export(
        &registry,
        &runtime,
        &args.to,
        args.format.as_deref(),
        &document,
    )?;
    let log = crate::output::WrittenLog::in_home(home);
    let written = crate::output::write_files(&args.to, &dir, &declared, &files, args.force, &log)?;
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

/// Where exports go: `--dir`, else `[export] dir` in config.toml, else `minutes` in the user's
/// Documents folder (`XDG_DOCUMENTS_DIR` on Linux, else `~/Documents`). Never the current
/// folder by default: notes should land in one known place, whichever folder a command runs in.
pub(crate) fn output_dir(
    home: &crate::plugins::Home,
    flag: Option<&std::path::Path>,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let config = home.config_path();
    if let Some(value) = super::config_table(home)?
        .as_ref()
        .and_then(|t| t.get("export"))
        .and_then(|e| e.get("dir"))
    {
        let text = value.as_str().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: `[export] dir` must be a folder path in quotes",
                config.display()
            )
        })?;
        let user = directories::UserDirs::new();
        let dir = match (text.strip_prefix("~/"), &user) {
            (Some(rest), Some(user)) => user.home_dir().join(rest),
            _ => PathBuf::from(text),
        };
        anyhow::ensure!(
            dir.is_absolute(),
            "{}: `[export] dir` = {text:?} must be an absolute path or start with ~/",
            config.display()
        );
        return Ok(dir);
    }
    let user = directories::UserDirs::new().ok_or_else(|| {
        anyhow::anyhow!(
            "no home folder to put notes in; pass --dir or set `[export] dir` in {}",
            config.display()
        )
    })?;
    let documents = user
        .document_dir()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| user.home_dir().join("Documents"));
    Ok(documents.join("minutes"))
}

/// The pinned manifest's declaration of `format`: what its files may be called.
pub(crate) fn declared_format<'m>(
    manifest: &'m crate::plugins::manifest::Manifest,
    format: &str,
) -> anyhow::Result<&'m crate::plugins::manifest::FormatDecl> {
    manifest.formats.get(format).ok_or_else(|| {
        anyhow::anyhow!(
            "exporter `{}` has no format `{format}` in its manifest (it declares: {}); pick one with --format",
            manifest.id,
            manifest
                .formats
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}
