//! `minutes transcript edit`: correct the text of one segment of a stored meeting.

#[derive(clap::Subcommand)]
pub enum TranscriptCommand {
    /// Correct what a segment says; the transcriber's text is kept, search sees the new text at
    /// once, and the next summary and export use it
    #[command(
        after_help = "Examples:\n  minutes transcript edit 2026-11-28-atlas 12 \"We launch on March 17th.\"\n  \
        minutes show 2026-11-28-atlas --json | jq '.document.transcript.segments[] | {id, text}'\n\n\
        SEGMENT is the segment's id, as `minutes show --json` and `minutes app` show it."
    )]
    Edit(EditArgs),
}

#[derive(clap::Args)]
pub struct EditArgs {
    /// The meeting (id or unambiguous prefix, see `minutes list`)
    meeting: String,
    /// The segment's id
    segment: u32,
    /// The corrected text (one line)
    text: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &super::Context, cmd: TranscriptCommand) -> anyhow::Result<()> {
    let TranscriptCommand::Edit(args) = cmd;
    let store = super::meetings::open_store(&ctx.home)?;
    let id = store.resolve(&args.meeting)?;
    let correction = store.correct_segment(&id, args.segment, &args.text)?;
    if args.json {
        return super::print_json(&correction);
    }
    match &correction.original_text {
        Some(original) => println!(
            "segment {} of {id} now says: {}\n(the transcriber wrote: {})",
            correction.segment_id,
            crate::term::clean(&correction.text),
            crate::term::clean(original)
        ),
        None => println!(
            "segment {} of {id} says again what the transcriber wrote: {}",
            correction.segment_id,
            crate::term::clean(&correction.text)
        ),
    }
    Ok(())
}
