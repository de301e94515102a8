//! `minutes process <audio>`: the main job — transcribe, (summarise), export — fully offline.

use crate::model::{Document, MeetingMetadata};
use crate::plugins::Registry;
use crate::transcribe::engine::Transcriber;
use crate::transcribe::pipeline::PipelineOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes process standup.wav\n  minutes process call.m4a --title \"Pricing call\" --dir ~/notes --to export-markdown\n\n\
    With no provider configured everything runs on this machine: the `extractive` template \
    summarises offline. With `--provider` (or `[summary] provider` in config.toml) a template \
    such as `standard` asks that provider's model, after the data policy allows it."
)]
pub struct ProcessArgs {
    /// Audio file: WAV, FLAC, MP3, Ogg/Vorbis or M4A/AAC (2 channels = mic + system audio)
    file: PathBuf,
    /// Meeting title [default: the file name]
    #[arg(long)]
    title: Option<String>,
    /// Labels (repeatable: --label acme --label sales)
    #[arg(long = "label")]
    labels: Vec<String>,
    #[command(flatten)]
    engine: super::transcribe::EngineArgs,
    /// Labels for channel 0 and channel 1 of a 2-channel recording
    #[arg(long, value_delimiter = ',', default_value = "me,others")]
    channel_names: Vec<String>,
    #[command(flatten)]
    finish: super::finish::FinishArgs,
}

pub(crate) fn run(ctx: &super::Context, args: ProcessArgs) -> anyhow::Result<()> {
    let home = &ctx.home;
    let registry = Registry::open(home.clone())?;
    let exporters = args.finish.exporters(home)?;
    super::finish::FinishArgs::check_exporters(&registry, &exporters)?;
    crate::summarize::route::refuse_offline_provider(ctx.offline, args.finish.provider.as_deref())
        .map_err(anyhow::Error::msg)?;
    let (total, channels) = {
        let audio = crate::audio::decode::AudioReader::open(&args.file)?;
        (audio.info().duration_ms, audio.info().channels)
    };
    // Where the notes go is checked before the transcription, not after it: a conflict or an
    // unwritable folder costs a second, not the whole run. File names come from the metadata,
    // all of which but the spoken language is known before transcribing.
    args.finish.preflight(
        ctx,
        &exporters,
        &metadata(&args, total.unwrap_or(0), channels, None),
    )?;
    let mut engine = Transcriber::load(args.engine.config(home.root())?)?;
    let options = PipelineOptions {
        channel_names: args.channel_names.clone(),
        diarize: args.engine.diarize.options(home.root()),
        ..Default::default()
    };
    let cancel = super::transcribe::cancel_on_ctrl_c();
    let transcript = crate::meeting_job::transcribe(
        &args.file,
        &mut engine,
        &options,
        cancel,
        total,
        &super::progress::terminal(true),
    )?;
    if !transcript.complete {
        eprintln!("stopped early: exporting what was transcribed so far");
    }
    let mut document = Document {
        metadata: metadata(
            &args,
            transcript.duration_ms,
            transcript.channels,
            transcript.language.clone(),
        ),
        transcript: transcript.to_model(),
        summary: None,
        provenance: None,
    };
    let done = super::finish::finish(
        ctx,
        &mut document,
        &args.file,
        false,
        &args.finish,
        &exporters,
    )?;
    let super::finish::Finished {
        summarized,
        written,
        meeting_id,
    } = done;
    if args.finish.json {
        return super::print_json(
            &serde_json::json!({ "meeting": document.metadata, "meeting_id": meeting_id, "segments": transcript.segments.len(), "summary": summarized.as_ref().map(|s| &s.provenance), "written": written }),
        );
    }
    if let Some(id) = &meeting_id {
        println!("stored as meeting {id} (minutes show {id})");
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

fn metadata(
    args: &ProcessArgs,
    duration_ms: u64,
    channels: usize,
    language: Option<String>,
) -> MeetingMetadata {
    file_metadata(
        &args.file,
        args.title.clone(),
        args.labels.clone(),
        &args.channel_names,
        duration_ms,
        channels,
        language,
    )
}

/// A meeting's metadata for an audio file: titled after the file unless `title` is given,
/// started when the file was last written minus its length (else now).
pub(crate) fn file_metadata(
    file: &std::path::Path,
    title: Option<String>,
    labels: Vec<String>,
    channel_names: &[String],
    duration_ms: u64,
    channels: usize,
    language: Option<String>,
) -> MeetingMetadata {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "meeting".into());
    // The recording's own time when the file system knows it, else now.
    let started = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| std::time::SystemTime::now());
    let secs = started
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        - (duration_ms / 1000) as i64;
    let started_at = crate::time::rfc3339(secs.max(0));
    MeetingMetadata {
        id: crate::store::derived_id(&started_at, &stem),
        title: title.unwrap_or(stem),
        started_at,
        duration_ms,
        labels,
        language,
        channel_names: if channels == 2 {
            channel_names.to_vec()
        } else {
            Vec::new()
        },
    }
}
