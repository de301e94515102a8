//! How a transcribed meeting is finished — summary, exports, store — the same way for
//! `process`, `record` and `recover`. A failed summary or store write is a warning: the
//! transcript and the notes already written are never lost to it.

use crate::plugins::bindings::types::Document;
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
    /// Where exports are written
    #[arg(long, default_value = "notes")]
    pub dir: PathBuf,
    /// Overwrite existing files
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
    for id in exporters {
        let plugin = registry
            .load(&runtime, id)?
            .for_meeting(&document.metadata.id);
        let (format, files) = super::block_on(async {
            let format = plugin
                .exporter_info()
                .await?
                .formats
                .first()
                .map(|f| f.id.clone())
                .unwrap_or_default();
            let files = plugin.export(&format, document).await?;
            Ok::<_, crate::plugins::Error>((format, files))
        })??;
        let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
        let paths = crate::output::write_files(id, &args.dir, &files, args.force)?;
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
    Ok(Finished {
        summarized,
        written,
        meeting_id,
    })
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
