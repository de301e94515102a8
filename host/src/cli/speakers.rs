//! `minutes speakers list|rename|enroll|forget`: who spoke in a meeting, the names shown for
//! them, and the opt-in voiceprints that name a known voice in later meetings.

use crate::store::{SpeakerEntry, Store, Voiceprint};
use anyhow::Context as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

const VOICEPRINTS_HELP: &str = "Voiceprints are opt-in: one is made only by `minutes speakers enroll`, for the person named, \
after you confirm. It is a list of 192 numbers describing a voice, kept in the meetings store on this \
machine (minutes.sqlite in the minutes home), and never exported, sent, searched or given to a plugin \
(plugins see names only). When a later meeting is diarized, a speaker whose voice is similar enough \
is shown under that name, with the similarity in `minutes show --json` and `minutes speakers list \
MEETING`. `minutes speakers forget NAME` deletes it from the file.";

#[derive(clap::Subcommand)]
pub enum SpeakersCommand {
    /// A meeting's speakers (id, name, label, talk time, voiceprint match); without a meeting,
    /// the enrolled voiceprints
    #[command(after_help = format!("Examples:\n  minutes speakers list 2026-11-28-atlas\n  \
        minutes speakers list            # enrolled voiceprints: name, from which meeting, when\n\n{VOICEPRINTS_HELP}"))]
    List {
        /// Meeting id, or the start of one [default: list the enrolled voiceprints]
        meeting: Option<String>,
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
    /// Keep a person's voiceprint, made from a meeting where they speak, so that later
    /// meetings name them (asks first)
    #[command(after_help = format!("Examples:\n  minutes speakers enroll Tom --from 2026-11-28-atlas \"Speaker 2\"\n  \
        minutes speakers enroll Tom --from 2026-12-05-atlas speaker-1 --replace --yes\n\n\
        SPEAKER is the speaker as `minutes speakers list MEETING` shows it: label, name or id. The \
        voiceprint is made from the meeting's recording where that speaker talks, so the recording \
        must still be there (audio retention may have deleted it).\n\n{VOICEPRINTS_HELP}"))]
    Enroll {
        /// The person's name, as later meetings will show it
        name: String,
        /// The meeting to take the voice from (id, or the start of one)
        #[arg(long = "from", value_name = "MEETING")]
        meeting: String,
        /// The speaker of that meeting: label, name or id
        speaker: String,
        /// Replace a voiceprint of the same name
        #[arg(long)]
        replace: bool,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long)]
        yes: bool,
        /// Folder holding segmentation-3.0.onnx and campplus.onnx [default: the models
        /// folder's diarization/]
        #[arg(long, value_name = "DIR", env = "MINUTES_DIARIZATION_MODELS")]
        diarization_models: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Delete an enrolled voiceprint from this machine
    #[command(after_help = "Example:\n  minutes speakers forget Tom\n\n\
        The voiceprint is overwritten in the store file. Meetings it already named keep the name \
        (a name is not a voice); `minutes speakers rename MEETING Tom \"Speaker 2\"` changes one back.")]
    Forget {
        /// The enrolled name (`minutes speakers list` shows them)
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &super::Context, cmd: SpeakersCommand) -> anyhow::Result<()> {
    let store = super::meetings::open_store(&ctx.home)?;
    match cmd {
        SpeakersCommand::List {
            meeting: None,
            json,
        } => {
            let prints = store.voiceprints()?;
            if json {
                return super::print_json(&serde_json::json!({ "voiceprints": prints }));
            }
            print!("{}", crate::term::clean(&voiceprint_table(&prints)));
            Ok(())
        }
        SpeakersCommand::List {
            meeting: Some(meeting),
            json,
        } => {
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
        SpeakersCommand::Enroll {
            name,
            meeting,
            speaker,
            replace,
            yes,
            diarization_models,
            json,
        } => {
            let models_dir = diarization_models
                .unwrap_or_else(|| crate::diarize::default_models_dir(ctx.home.root()));
            enroll(
                &store,
                &Enroll {
                    name: &name,
                    meeting: &meeting,
                    speaker: &speaker,
                    replace,
                    yes,
                    models_dir,
                    json,
                },
            )
        }
        SpeakersCommand::Forget { name, json } => {
            let gone = store.forget_voiceprint(&name)?;
            if json {
                return super::print_json(&serde_json::json!({ "forgotten": gone }));
            }
            println!(
                "{}",
                crate::term::clean(&format!(
                    "forgot the voiceprint of {} (enrolled from {}): deleted from {}",
                    gone.name,
                    gone.meeting_id,
                    store.path().display()
                ))
            );
            Ok(())
        }
    }
}

struct Enroll<'a> {
    name: &'a str,
    meeting: &'a str,
    speaker: &'a str,
    replace: bool,
    yes: bool,
    models_dir: PathBuf,
    json: bool,
}

fn enroll(store: &Store, a: &Enroll<'_>) -> anyhow::Result<()> {
    let name = Store::voiceprint_name(a.name)?;
    // Refused before any work: the audio is decoded and embedded only to be kept.
    if !a.replace
        && let Some(old) = store.voiceprint(name)?
    {
        anyhow::bail!(crate::store::StoreError::VoiceprintExists {
            name: old.name,
            meeting: old.meeting_id,
        });
    }
    let id = store.resolve(a.meeting)?;
    let speaker = store.find_speaker(&id, a.speaker)?;
    let info = store.meeting(&id)?;
    let document = store.document(&id)?;
    let audio = match &info.audio {
        None => anyhow::bail!(
            "meeting {id} has no recording (it was added as a transcript): a voiceprint is made from audio; enroll {name} from a meeting that was recorded or processed from a file"
        ),
        Some(a) if !a.path.exists() && a.owned => anyhow::bail!(
            "the recording of meeting {id} ({}) was deleted, by audio retention or by hand: enroll {name} from a meeting whose recording is kept (`minutes list` shows them; `minutes show MEETING` names the recording)",
            a.path.display()
        ),
        Some(a) if !a.path.exists() => anyhow::bail!(
            "the audio file of meeting {id} is no longer at {}: it was imported from there and has moved or been deleted; put it back, or enroll {name} from another meeting",
            a.path.display()
        ),
        Some(a) => a.path.clone(),
    };
    let spans: Vec<(u64, u64)> = document
        .transcript
        .segments
        .iter()
        .filter(|s| s.speaker_id.as_deref() == Some(speaker.id.as_str()))
        .map(|s| (s.start_ms, s.end_ms))
        .collect();
    let speech_ms: u64 = spans.iter().map(|(a, b)| b - a).sum();
    // Diarization split channel 1 of a two-channel recording (system audio), or the whole file.
    let split = document.metadata.channel_names.len() == 2
        || document.transcript.segments.iter().any(|s| s.channel == 1);
    let channel = split.then_some(speaker.channel as usize);
    let shown = speaker.describe();

    if !a.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "not keeping a voiceprint without confirmation: stdin is not a terminal; pass --yes to keep {name}'s voiceprint"
            );
        }
        eprintln!(
            "This keeps a voiceprint of {name}: 192 numbers describing the voice of {shown} in meeting {id} \
             ({} of speech), in {} on this machine only. It is never exported, sent or given to plugins; \
             later meetings show a speaker with a similar voice as {name}. `minutes speakers forget {name}` deletes it.",
            super::transcribe::clock(speech_ms),
            store.path().display()
        );
        eprint!("Keep {name}'s voiceprint? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("nothing kept");
        }
    }
    let models = crate::diarize::Models::load(&a.models_dir)?;
    let embedding = crate::diarize::voiceprint::enroll_from_file(&models, &audio, channel, &spans)
        .with_context(|| format!("cannot make {name}'s voiceprint from {}", audio.display()))?;
    let Some(embedding) = embedding else {
        anyhow::bail!(
            "{shown} speaks too little in meeting {id} for a voiceprint ({} in stretches of at least {} s are needed): enroll {name} from a meeting where they talk more",
            super::transcribe::clock(speech_ms),
            crate::diarize::voiceprint::MIN_ENROLL_S
        );
    };
    let kept = store.enroll_voiceprint(
        &crate::store::Enrollment {
            name,
            embedding: &embedding,
            model: models.embedder.identity(),
            meeting_id: &id,
            speaker_id: &speaker.id,
            speech_ms,
        },
        a.replace,
    )?;
    if a.json {
        return super::print_json(
            &serde_json::json!({ "voiceprint": kept, "store": store.path() }),
        );
    }
    println!(
        "{}",
        crate::term::clean(&format!(
            "kept a voiceprint of {} from {shown} in {id} ({} of speech) in {}; later meetings name a matching speaker {}",
            kept.name,
            super::transcribe::clock(speech_ms),
            store.path().display(),
            kept.name
        ))
    );
    Ok(())
}

fn voiceprint_table(prints: &[Voiceprint]) -> String {
    if prints.is_empty() {
        return "Nobody is enrolled: `minutes speakers enroll NAME --from MEETING SPEAKER` keeps a voiceprint.\n".into();
    }
    let wn = prints
        .iter()
        .map(|p| p.name.chars().count())
        .chain([4])
        .max()
        .unwrap_or(4);
    let wm = prints
        .iter()
        .map(|p| p.meeting_id.chars().count() + p.speaker_id.len() + 3)
        .chain([4])
        .max()
        .unwrap_or(4);
    let mut out = format!(
        "{:<wn$}  {:<wm$}  {:>8}  ENROLLED\n",
        "NAME", "FROM", "SPEECH"
    );
    for p in prints {
        let from = format!("{} ({})", p.meeting_id, p.speaker_id);
        out.push_str(&format!(
            "{:<wn$}  {:<wm$}  {:>8}  {} UTC\n",
            p.name,
            from,
            super::transcribe::clock(p.speech_ms),
            enrolled_at(p.created_at_ms)
        ));
    }
    out
}

/// "2026-12-02 11:56" from unix ms.
fn enrolled_at(ms: i64) -> String {
    let t = crate::time::rfc3339(ms.div_euclid(1000));
    t.get(..16).unwrap_or(&t).replace('T', " ")
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
        "{:<wi$}  {:<wn$}  {:<wl$}  {:<7}  {:>8}  {:>8}  VOICEPRINT\n",
        "ID", "NAME", "LABEL", "CHANNEL", "TALK", "SEGMENTS"
    );
    for s in speakers {
        let channel = if s.channel == 0 { "mic" } else { "system" };
        let voice = match (&s.voiceprint, s.similarity) {
            (Some(v), Some(sim)) => format!("{v} ({sim:.2})"),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "{:<wi$}  {:<wn$}  {:<wl$}  {:<7}  {:>8}  {:>8}  {voice}\n",
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
