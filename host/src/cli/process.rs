//! `minutes process <audio>`: the main job — transcribe, (summarise), export — fully offline.

use crate::plugins::Registry;
use crate::plugins::bindings::types::{Document, MeetingMetadata};
use crate::transcribe::engine::{EngineConfig, Transcriber, default_threads};
use crate::transcribe::pipeline::{PipelineOptions, Segment, transcribe_file};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  minutes process standup.wav\n  minutes process call.m4a --title \"Pricing call\" --dir ~/notes --to export-markdown\n\n\
    With no provider configured everything runs on this machine: the `extractive` template \
    summarises offline. With `--provider` (or `[summary] provider` in config.toml) a template \
    such as `standard` asks that provider's model, after the data policy allows it.")]
pub struct ProcessArgs {
    /// Audio file: WAV, FLAC, MP3, Ogg/Vorbis or M4A/AAC (2 channels = mic + system audio)
    file: PathBuf,
    /// Meeting title [default: the file name]
    #[arg(long)]
    title: Option<String>,
    /// Labels (repeatable: --label acme --label sales)
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Model name or path
    #[arg(long, env = "MINUTES_MODEL")]
    model: Option<String>,
    /// Spoken language code or `auto`
    #[arg(long, default_value = "auto")]
    language: String,
    #[arg(long, env = "MINUTES_THREADS")]
    threads: Option<usize>,
    /// Summary template: id, short name (`standard`, `extractive`, ...) or a template file
    /// [default: `[summary] template` in config.toml, else `standard` with a provider and
    /// `extractive` (offline) without]
    #[arg(long)]
    template: Option<String>,
    /// Summary provider plugin (`none`: offline) [default: `[summary] provider` in config.toml]
    #[arg(long)]
    provider: Option<String>,
    /// The provider's model for the summary [default: the provider's]
    #[arg(long, value_name = "MODEL")]
    summary_model: Option<String>,
    /// Language of the summary (`auto`: the transcript's)
    #[arg(long, value_name = "LANG")]
    summary_language: Option<String>,
    /// Transcribe and export only
    #[arg(long)]
    no_summary: bool,
    /// Exporter plugins to run (repeatable) [default: `[process] exporters` in config.toml,
    /// else export-markdown]
    #[arg(long = "to", visible_alias = "export", value_name = "PLUGIN")]
    exporters: Vec<String>,
    /// Where exports are written
    #[arg(long, default_value = "notes")]
    dir: PathBuf,
    /// Overwrite existing files
    #[arg(long)]
    force: bool,
    /// Labels for channel 0 and channel 1 of a 2-channel recording
    #[arg(long, value_delimiter = ',', default_value = "me,others")]
    channel_names: Vec<String>,
    /// Print what was written as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &super::Context, args: ProcessArgs) -> anyhow::Result<()> {
    let home = &ctx.home;
    let registry = Registry::open(home.clone())?;
    let exporters = match args.exporters.is_empty() {
        true => configured_exporters(home)?.unwrap_or_else(|| vec!["export-markdown".to_string()]),
        false => args.exporters.clone(),
    };
    for id in &exporters {
        registry.get(id).map_err(|_| {
            anyhow::anyhow!("exporter `{id}` is not installed; install it with `minutes plugin install <package>` (first-party packages: `cargo xtask plugins`)")
        })?;
    }
    let model = super::transcribe::model_path(args.model.as_deref(), home.root())?;
    let mut config = EngineConfig::new(&model);
    config.threads = args.threads.unwrap_or_else(default_threads);
    config.language = (args.language != "auto").then(|| args.language.clone());
    let mut engine = Transcriber::load(config)?;
    let options = PipelineOptions { channel_names: args.channel_names.clone(), ..Default::default() };
    let cancel = super::transcribe::cancel_on_ctrl_c();
    let total = crate::audio::decode::AudioReader::open(&args.file)?.info().duration_ms;
    let bar = super::transcribe::progress_bar(total);
    let transcript = transcribe_file(
        &args.file,
        &mut engine,
        &options,
        cancel,
        &mut |p| bar.set_position(p.position_ms / 1000),
        &mut |s: &Segment| bar.println(format!("[{}] {}", super::transcribe::clock(s.start_ms), s.text)),
    )?;
    bar.finish_and_clear();
    if !transcript.complete {
        eprintln!("stopped early: exporting what was transcribed so far");
    }
    let mut document = Document { metadata: metadata(&args, &transcript), transcript: transcript.to_wit(), summary: None };
    let runtime = ctx.runtime()?;
    let summarized = match args.no_summary || transcript.segments.is_empty() {
        true => None,
        false => summarize(&runtime, &registry, &args, &document),
    };
    if let Some(s) = &summarized {
        document.summary = Some(s.summary.clone());
    }
    let mut written = Vec::new();
    for id in &exporters {
        let plugin = registry.load(&runtime, id)?.for_meeting(&document.metadata.id);
        let files = super::block_on(async {
            let format = plugin.exporter_info().await?.formats.first().map(|f| f.id.clone()).unwrap_or_default();
            plugin.export(&format, &document).await
        })??;
        let files: Vec<(String, Vec<u8>)> = files.into_iter().map(|f| (f.path, f.bytes)).collect();
        written.extend(crate::output::write_files(id, &args.dir, &files, args.force)?);
    }
    // Meetings store (issue 7): keep the meeting for list/show/search/export by id. The notes
    // are written already, so a store failure is a warning, not a lost meeting.
    let meeting_id = match super::meetings::save_processed(home, &document, &args.file, summarized.as_ref()) {
        Ok(id) => Some(id),
        Err(e) => {
            eprintln!("warning: the meeting was not stored (list/search will not show it): {e:#}");
            None
        }
    };
    if !args.json && let Some(id) = &meeting_id {
        println!("stored as meeting {id} (minutes show {id})");
    }
    // End of the meetings-store edit.
    if args.json {
        return super::print_json(&serde_json::json!({ "meeting": document.metadata, "meeting_id": meeting_id, "segments": transcript.segments.len(), "summary": summarized.as_ref().map(|s| &s.provenance), "written": written }));
    }
    println!(
        "transcribed {} ({} segments, {:.0} s of audio)",
        args.file.display(),
        transcript.segments.len(),
        transcript.duration_ms as f64 / 1000.0
    );
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// Summarises with the chosen template; a failure is reported and the meeting is exported
/// without a summary, so the transcript is never lost to a summary problem.
fn summarize(
    runtime: &crate::plugins::Runtime,
    registry: &Registry,
    args: &ProcessArgs,
    document: &Document,
) -> Option<crate::summarize::Summarized> {
    let choice = crate::summarize::Choice {
        template: args.template.clone(),
        provider: args.provider.clone(),
        model: args.summary_model.clone(),
        language: args.summary_language.clone(),
    };
    let bar = super::summarize::ProgressBar::new();
    let result = super::block_on(crate::summarize::summarize(runtime, registry, &choice, document, Some(bar.callback())));
    bar.finish();
    match result {
        Ok(Ok(s)) => {
            eprintln!("{}", super::summarize::describe(&s.provenance));
            Some(s)
        }
        Ok(Err(e)) => {
            eprintln!("warning: no summary: {e}");
            None
        }
        Err(e) => {
            eprintln!("warning: no summary: {e}");
            None
        }
    }
}

/// `[process] exporters = [...]` in config.toml: exporters to run after every `process`.
fn configured_exporters(home: &crate::plugins::Home) -> anyhow::Result<Option<Vec<String>>> {
    let path = home.config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    let Some(list) = table.get("process").and_then(|p| p.get("exporters")) else { return Ok(None) };
    let ids = list
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| anyhow::anyhow!("{}: `[process] exporters` must be a list of plugin ids", path.display()))?;
    Ok(Some(ids))
}

fn metadata(args: &ProcessArgs, t: &crate::transcribe::pipeline::Transcript) -> MeetingMetadata {
    let stem = args.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "meeting".into());
    // The recording's own time when the file system knows it, else now.
    let started = std::fs::metadata(&args.file).and_then(|m| m.modified()).unwrap_or_else(|_| std::time::SystemTime::now());
    let secs = started.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0) - (t.duration_ms / 1000) as i64;
    let started_at = crate::time::rfc3339(secs.max(0));
    MeetingMetadata {
        id: format!("{}-{}", &started_at[..10], slug(&stem)),
        title: args.title.clone().unwrap_or(stem),
        started_at,
        duration_ms: t.duration_ms,
        labels: args.labels.clone(),
        language: t.language.clone(),
        channel_names: if t.channels == 2 { args.channel_names.clone() } else { Vec::new() },
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(48).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slug("Team Sync (final) 2"), "team-sync-final-2");
    }
}
