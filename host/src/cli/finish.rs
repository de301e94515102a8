//! The options of how a transcribed meeting is finished — summary, exports, store — shared by
//! `process`, `record` and `recover`, and the checks made before any work. The steps
//! themselves are `crate::meeting_job`'s.

use crate::meeting_job::FinishPlan;
use crate::model::{Document, MeetingMetadata, Transcript};
use crate::plugins::manifest::Kind;
use crate::plugins::{Home, Registry};
use crate::summarize::Choice;
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

pub use crate::meeting_job::Finished;

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
            let format = crate::meeting_job::first_format(&plugin)?;
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

    /// The plan of the meeting job, running `exporters`.
    pub fn plan(&self, exporters: &[String]) -> FinishPlan {
        FinishPlan {
            choice: self.choice(),
            no_summary: self.no_summary,
            exporters: exporters.to_vec(),
            dir: self.dir.clone(),
            force: self.force,
        }
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

/// Stores, summarises and exports `document` (see [`crate::meeting_job::finish`]), drawing
/// its progress on the terminal.
pub fn finish(
    ctx: &super::Context,
    document: &mut Document,
    audio: &Path,
    audio_owned: bool,
    args: &FinishArgs,
    exporters: &[String],
) -> anyhow::Result<Finished> {
    Ok(crate::meeting_job::finish(
        ctx,
        document,
        audio,
        audio_owned,
        &args.plan(exporters),
        &super::progress::terminal(false),
    )?)
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
