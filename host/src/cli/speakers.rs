//! `minutes speakers list|rename`: who spoke in a meeting, and the names shown for them.

use crate::store::SpeakerEntry;

#[derive(clap::Subcommand)]
pub enum SpeakersCommand {
    /// A meeting's speakers: id, name, the label the transcript gave, talk time
    #[command(after_help = "Example:\n  minutes speakers list 2026-11-28-atlas")]
    List {
        /// Meeting id, or the start of one
        meeting: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a speaker of one meeting a name (the transcript keeps its speaker ids)
    #[command(
        after_help = "Examples:\n  minutes speakers rename 2026-11-28-atlas \"Speaker 2\" Tom\n  \
        minutes speakers rename 2026-11-28-atlas me Ana\n  \
        minutes speakers rename 2026-11-28-atlas others \"The Acme team\"\n\n\
        SPEAKER is the label the transcript gave (\"Speaker 2\", \"me\", \"others\"), the current name, \
        or the id `minutes speakers list` shows. `minutes show`, exports, summaries' owners and \
        search use the name from then on; renaming again, or back to the label, is always possible."
    )]
    Rename {
        /// Meeting id, or the start of one
        meeting: String,
        /// The speaker: label, current name or id
        speaker: String,
        /// The name to show
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &super::Context, cmd: SpeakersCommand) -> anyhow::Result<()> {
    let store = super::meetings::open_store(&ctx.home)?;
    match cmd {
        SpeakersCommand::List { meeting, json } => {
            let id = store.resolve(&meeting)?;
            let speakers = store.speaker_table(&id)?;
            if json {
                return super::print_json(&serde_json::json!({ "id": id, "speakers": speakers }));
            }
            print!("{}", crate::term::clean(&table(&id, &speakers)));
            Ok(())
        }
        SpeakersCommand::Rename {
            meeting,
            speaker,
            name,
            json,
        } => {
            let id = store.resolve(&meeting)?;
            let renamed = store.rename_speaker(&id, &speaker, &name)?;
            if json {
                return super::print_json(&serde_json::json!({ "id": id, "speaker": renamed }));
            }
            println!(
                "{}",
                crate::term::clean(&format!(
                    "{id}: {} is now shown as {}",
                    renamed.label, renamed.name
                ))
            );
            Ok(())
        }
    }
}

fn table(meeting: &str, speakers: &[SpeakerEntry]) -> String {
    if speakers.is_empty() {
        return format!("{meeting} has no speakers (its transcript names nobody).\n");
    }
    let width = |f: fn(&SpeakerEntry) -> &str, title: &str| {
        speakers
            .iter()
            .map(|s| f(s).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (wi, wn, wl) = (
        width(|s| &s.id, "ID"),
        width(|s| &s.name, "NAME"),
        width(|s| &s.label, "LABEL"),
    );
    let mut out = format!(
        "{:<wi$}  {:<wn$}  {:<wl$}  {:<7}  {:>8}  SEGMENTS\n",
        "ID", "NAME", "LABEL", "CHANNEL", "TALK"
    );
    for s in speakers {
        let channel = if s.channel == 0 { "mic" } else { "system" };
        out.push_str(&format!(
            "{:<wi$}  {:<wn$}  {:<wl$}  {:<7}  {:>8}  {}\n",
            s.id,
            s.name,
            s.label,
            channel,
            super::transcribe::clock(s.talk_ms),
            s.segments
        ));
    }
    out
}
