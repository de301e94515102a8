//! How a transcribed meeting is finished — summary, exports, store — the same way for
//! `process`, `record` and `recover`. A failed summary or store write is a warning: the
//! transcript and the notes already written are never lost to it.

use crate::model::{Document, MeetingMetadata, Transcript};
use crate::plugins::manifest::Kind;
use crate::plugins::{Home, Registry};
use crate::summarize::{Choice, Summarized};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug)]
pub struct FinishArgs {
    /// Summary template: id, short name (`standard`, `extractive`, ...) or a template file
    /// [default: `[summary] template` in config.toml, else `standard` with a provider and
    /// `extractive` (offline) without]
    #[arg(long)]
    pub template: Option<String>,
    /// Summary provider plugin (`none`: offline) [default: `[summary] provider` in config.toml]
    #[arg(long)]
    pub provider: Option<String>,
    /// The provider's model for the summary [default: the provider's]
    #[arg(long, value_name = "MODEL")]
    pub summary_model: Option<String>,
    /// Language of the summary (`auto`: the transcript's)
    #[arg(long, value_name = "LANG")]
    pub summary_language: Option<String>,
    /// Transcribe and export only
    #[arg(long)]
    pub no_summary: bool,
    /// Exporter plugins to run (repeatable) [default: `[process] exporters` in config.toml,
    /// else export-markdown]
    #[arg(long = "to", visible_alias = "export", value_name = "PLUGIN")]
    pub exporters: Vec<String>,
    /// Where exports are written [default: `[export] dir` in config.toml, else the `minutes`
    /// folder in your Documents folder]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Replace notes that already exist, if minutes wrote them (never another file)
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub struct Finished {
    pub summarized: Option<Summarized>,
    pub written: Vec<PathBuf>,
    pub meeting_id: Option<String>,
}

impl FinishArgs {
    /// The exporters to run: the flags, else `[process] exporters`, else export-markdown.
    pub fn exporters(&self, home: &Home) -> anyhow::Result<Vec<String>> {
        if !self.exporters.is_empty() {
            return Ok(self.exporters.clone());
        }
        Ok(configured_exporters(home)?.unwrap_or_else(|| vec!["export-markdown".to_string()]))
    }

    /// Fails before any work when one of `exporters` is not installed.
    pub fn check_exporters(registry: &Registry, exporters: &[String]) -> anyhow::Result<()> {
        for id in exporters {
            registry.get(id).map_err(|_| {
                anyhow::anyhow!("exporter `{id}` is not installed; install it with `minutes plugin install <package>` (first-party packages: `cargo xtask plugins`)")
            })?;
        }
        Ok(())
    }

    /// Fails before any work when an exporter's files could not be written at the end: each
    /// exporter is dry-run on the meeting's metadata alone (no transcript, no summary; well
    /// under a second), and the files it names are checked like the real ones — declared
    /// extension, no hidden parts, an existing file without --force (or, with it, one minutes
    /// did not write), a folder that is a file or cannot be written to. A networked exporter is
    /// not dry-run: its export delivers the meeting. Names an exporter takes from the content
    /// can still differ at the end; then the meeting is kept and the error says where.
    pub fn preflight(
        &self,
        ctx: &super::Context,
        exporters: &[String],
        metadata: &MeetingMetadata,
    ) -> anyhow::Result<()> {
        if exporters.is_empty() {
            return Ok(());
        }
        let dir = super::export::output_dir(&ctx.home, self.dir.as_deref())?;
        let registry = Registry::open(ctx.home.clone())?;
        let runtime = ctx.runtime()?;
        let log = crate::output::WrittenLog::in_home(&ctx.home);
        let document = Document {
            metadata: metadata.clone(),
            transcript: Transcript {
                language: metadata.language.clone(),
                ..Transcript::default()
            },
            summary: None,
            provenance: None,
        };
        let mut planned: Vec<(PathBuf, &str)> = Vec::new();
        for id in exporters {
            let manifest = registry.manifest(id)?;
            let plugin = registry.load(&runtime, id)?;
            let format = first_format(&plugin)?;
            let declared = super::export::declared_format(&manifest, &format)?;
            if declared.max_files == 0 {
                continue;
            }
            if manifest.kind == Kind::NetworkedExporter {
                // Its export delivers the meeting: only the folder can be checked.
                crate::output::check_dir(&dir)?;
                continue;
            }
            let files = match super::block_on(plugin.export(&format, &document))? {
                Ok(files) => files,
                Err(e) => {
                    // It may want a transcript to export; the real run reports its errors.
                    tracing::debug!("dry run of exporter `{id}` on the metadata failed: {e}");
                    continue;
                }
            };
            let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
            let paths =
                crate::output::plan(id, &dir, declared, &names, self.force, &log).map_err(|e| {
                    anyhow::anyhow!("{e}\n(checked before transcribing: nothing was done)")
                })?;
            for path in paths {
                if let Some((_, other)) = planned.iter().find(|(p, _)| *p == path) {
                    anyhow::bail!(
                        "exporters `{other}` and `{id}` would both write {}; run one of them, or export the other with `minutes export <meeting> --to {id} --dir <another folder>` afterwards",
                        path.display()
                    );
                }
                planned.push((path, id));
            }
        }
        Ok(())
    }

    fn choice(&self) -> Choice {
        Choice {
            template: self.template.clone(),
            provider: self.provider.clone(),
            model: self.summary_model.clone(),
            language: self.summary_language.clone(),
        }
    }
}

/// Stores `document` (recorded from `audio`; `audio_owned` when minutes made the recording, so
/// retention may delete it), summarises it, exports it with `exporters`, and records all of it
/// in the store. The meeting is stored first so the exports carry its final id.
pub fn finish(
    ctx: &super::Context,
    document: &mut Document,
    audio: &Path,
    audio_owned: bool,
    args: &FinishArgs,
    exporters: &[String],
) -> anyhow::Result<Finished> {
    let registry = Registry::open(ctx.home.clone())?;
    let runtime = ctx.runtime()?;
    let warn = |e: &dyn std::fmt::Display| {
        eprintln!("warning: the meeting was not stored (list/search will not show it): {e:#}")
    };
    let store = super::meetings::open_store(&ctx.home)
        .map_err(|e| warn(&e))
        .ok();
    let path = std::fs::canonicalize(audio).unwrap_or_else(|_| audio.to_path_buf());
    let meeting_id = store.as_ref().and_then(|s| {
        s.save_meeting(
            document,
            Some(crate::store::AudioRef {
                path,
                owned: audio_owned,
            }),
        )
        .map_err(|e| warn(&e))
        .ok()
    });
    if let Some(id) = &meeting_id {
        document.metadata.id = id.clone();
    }
    let no_speech = document.transcript.segments.is_empty();
    if no_speech && !args.no_summary {
        eprintln!(
            "warning: no speech was found, so the meeting has no summary (is the right file or channel recorded?)"
        );
    }
    let summarized = match args.no_summary || no_speech {
        true => None,
        false => summarize(&runtime, &registry, &args.choice(), document),
    };
    if let Some(s) = &summarized {
        document.summary = Some(s.summary.clone());
        if let (Some(store), Some(id)) = (&store, &meeting_id)
            && let Err(e) = store.save_summary(
                id,
                &s.summary,
                &super::meetings::store_provenance(&s.provenance),
            )
        {
            eprintln!("warning: the summary was not stored: {e}");
        }
    }
    let mut written = Vec::new();
    let mut failed = Vec::new();
    let log = crate::output::WrittenLog::in_home(&ctx.home);
    for id in exporters {
        // One exporter failing does not stop the others; the meeting is kept either way.
        match export_one(ctx, &registry, &runtime, &log, id, document, args) {
            Ok((format, paths)) => {
                if let (Some(store), Some(meeting)) = (&store, &meeting_id) {
                    let absolute: Vec<PathBuf> = paths
                        .iter()
                        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                        .collect();
                    if let Err(e) = store.record_export(meeting, id, &format, &absolute) {
                        eprintln!("warning: the export by {id} was not recorded: {e}");
                    }
                }
                written.extend(paths);
            }
            Err(e) => failed.push((id.as_str(), e)),
        }
    }
    if !failed.is_empty() {
        for path in &written {
            eprintln!("wrote {}", path.display());
        }
        let mut message = failed
            .iter()
            .map(|(id, e)| format!("exporter `{id}` failed: {e:#}"))
            .collect::<Vec<_>>()
            .join("\n");
        let again = |source: &str| {
            let ids: Vec<&str> = failed.iter().map(|(id, _)| *id).collect();
            format!(
                "export it again with `minutes export {source} --to {} --dir <folder>`",
                ids.join(" / --to ")
            )
        };
        message += &match &meeting_id {
            Some(id) => format!(
                "\nThe meeting is kept: stored as {id} (minutes show {id}); {}",
                again(id)
            ),
            None => match keep_document(&ctx.home, document) {
                Ok(path) => format!(
                    "\nThe meeting is kept in {}; {}",
                    path.display(),
                    again(&format!("--document {}", path.display()))
                ),
                Err(e) => format!("\nThe meeting could not be kept either: {e:#}"),
            },
        };
        anyhow::bail!(message);
    }
    Ok(Finished {
        summarized,
        written,
        meeting_id,
    })
}

/// The first format an exporter offers: the one it is run with after a meeting.
fn first_format(plugin: &crate::plugins::LoadedPlugin) -> anyhow::Result<String> {
    super::block_on(plugin.exporter_info())??
        .formats
        .first()
        .map(|f| f.id.clone())
        .ok_or_else(|| anyhow::anyhow!("plugin `{}` offers no formats", plugin.id()))
}

/// Runs exporter `id` on `document` and writes its files.
fn export_one(
    ctx: &super::Context,
    registry: &Registry,
    runtime: &crate::plugins::Runtime,
    log: &crate::output::WrittenLog,
    id: &str,
    document: &Document,
    args: &FinishArgs,
) -> anyhow::Result<(String, Vec<PathBuf>)> {
    let dir = super::export::output_dir(&ctx.home, args.dir.as_deref())?;
    let manifest = registry.manifest(id)?;
    let plugin = registry
        .load(runtime, id)?
        .for_meeting(&document.metadata.id);
    let format = first_format(&plugin)?;
    let declared = super::export::declared_format(&manifest, &format)?;
    let files = super::block_on(plugin.export(&format, document))??;
    let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
    let paths = crate::output::write_files(id, &dir, declared, &files, args.force, log)?;
    Ok((format, paths))
}

/// Saves `document` as a meeting document file in the minutes home, for when neither the
/// store nor the exports could keep it; `minutes export --document` reads it.
fn keep_document(home: &Home, document: &Document) -> anyhow::Result<PathBuf> {
    let stem = crate::store::derived_id(&document.metadata.started_at, &document.metadata.title);
    Ok(crate::output::keep_unsaved(
        home,
        &stem,
        "json",
        &serde_json::to_vec_pretty(document)?,
    )?)
}

fn summarize(
    runtime: &crate::plugins::Runtime,
    registry: &Registry,
    choice: &Choice,
    document: &Document,
) -> Option<Summarized> {
    let bar = super::summarize::ProgressBar::new();
    let result = super::block_on(crate::summarize::summarize(
        runtime,
        registry,
        choice,
        document,
        Some(bar.callback()),
    ));
    bar.finish();
    match result
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(s) => {
            eprintln!(
                "{}",
                crate::term::clean(&super::summarize::describe(&s.provenance))
            );
            Some(s)
        }
        Err(e) => {
            eprintln!("warning: no summary: {}", crate::term::clean(&e));
            None
        }
    }
}

/// `[process] exporters = [...]` in config.toml: exporters to run after every meeting.
fn configured_exporters(home: &Home) -> anyhow::Result<Option<Vec<String>>> {
    let Some(table) = super::config_table(home)? else {
        return Ok(None);
    };
    let Some(list) = table.get("process").and_then(|p| p.get("exporters")) else {
        return Ok(None);
    };
    let ids = list
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: `[process] exporters` must be a list of plugin ids",
                home.config_path().display()
            )
        })?;
    Ok(Some(ids))
}
