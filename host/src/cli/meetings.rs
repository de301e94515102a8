//! `minutes list|show|search|delete|rename|done|label`: the stored meetings.

use crate::model::{Document, Summary};
use crate::plugins::Home;
use crate::store::{AudioRef, ListFilter, PluginRef, Provenance, RetentionPolicy, Store};
use anyhow::Context as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

const RETENTION_HELP: &str = "Retention (config.toml in the minutes home), applied whenever a command opens the store:\n  \
    [retention]\n  \
    delete_audio_after_days = 30       # recordings minutes made; transcripts and summaries stay\n  \
    delete_meetings_after_days = 365   # whole meetings, recording included\n\
    Ages count from when a meeting was stored. Audio files you imported are never deleted.";

#[derive(clap::Subcommand)]
pub enum MeetingsCommand {
    /// List stored meetings, newest first
    #[command(after_help = format!("Examples:\n  minutes list\n  minutes list --label acme --limit 10\n  minutes list --json | jq -r '.[].id'\n\n{RETENTION_HELP}"))]
    List(ListArgs),
    /// Show a meeting: summary, then the transcript with times and speakers
    #[command(
        after_help = "Examples:\n  minutes show 2026-11-28-atlas\n  minutes show 2026-11-28   # any unambiguous start of an id\n  \
        minutes show 2026-11-28-atlas --json | jq .document > meeting.json"
    )]
    Show(ShowArgs),
    /// Search transcripts and summaries (exact phrases rank first)
    #[command(
        after_help = "Examples:\n  minutes search \"launch date\"\n  minutes search pricing tier --limit 5\n  \
        minutes search 'onboard*' --json\n\n\
        Several words: segments with the exact phrase come first, then segments with all the words. \
        A trailing * matches word starts. Letter case and accents are ignored."
    )]
    Search(SearchArgs),
    /// Delete a meeting with its transcript and summaries, and its recording if minutes made it
    #[command(after_help = format!("Examples:\n  minutes delete 2026-11-28-atlas\n  minutes delete 2026-11-28-atlas --yes\n\n\
        Asks first on a terminal; without a terminal, pass --yes. An audio file you imported is left in place.\n\n{RETENTION_HELP}"))]
    Delete(DeleteArgs),
    /// Give a meeting a new title (its id stays)
    #[command(
        after_help = "Example:\n  minutes rename 2026-11-28-atlas \"Atlas: launch moves to March\""
    )]
    Rename(RenameArgs),
    /// Tick off an action item of a meeting's summary (`--undo` unticks it)
    #[command(
        after_help = "Examples:\n  minutes done 2026-11-28-atlas 2          # action item 2, as `minutes show` numbers them\n  \
        minutes done 2026-11-28-atlas 2 --undo\n\n\
        The tick is kept with the summary (the app shows the same boxes); a new summary of the \
        meeting keeps the ticks of the tasks it repeats."
    )]
    Done(DoneArgs),
    /// Add or remove labels (`minutes list --label L` filters by them)
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes label add 2026-11-28-atlas acme sales\n  \
        minutes label remove 2026-11-28-atlas sales\n  minutes list --label acme"
    )]
    Label(LabelCommand),
    /// Maintenance of the meetings store
    #[command(subcommand, hide = true)]
    Store(StoreCommand),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only meetings with this label (case-insensitive)
    #[arg(long)]
    label: Option<String>,
    /// At most this many meetings (0: all)
    #[arg(long, default_value_t = 50)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// Meeting id, or the start of one
    id: String,
    /// The meeting as JSON: `document` (the plugin contract's record), summary provenance, exports
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Words to look for (quote them or not)
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// At most this many matches
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    /// Meeting id, or the start of one
    id: String,
    /// Do not ask
    #[arg(long, short)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RenameArgs {
    /// Meeting id, or the start of one
    id: String,
    /// The new title
    title: String,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct DoneArgs {
    /// Meeting id, or the start of one
    id: String,
    /// The action item's number in `minutes show` (1 is the first)
    #[arg(value_name = "ITEM")]
    item: usize,
    /// Mark it as not done
    #[arg(long)]
    undo: bool,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
pub enum LabelCommand {
    /// Add labels to a meeting
    #[command(after_help = "Example:\n  minutes label add 2026-11-28-atlas acme sales")]
    Add {
        id: String,
        #[arg(required = true, num_args = 1..)]
        labels: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove labels from a meeting
    #[command(after_help = "Example:\n  minutes label remove 2026-11-28-atlas sales")]
    Remove {
        id: String,
        #[arg(required = true, num_args = 1..)]
        labels: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Store a meeting document (JSON, as `minutes export --document` takes); its summary, if
    /// any, is stored with provenance `imported`
    AddDocument {
        file: PathBuf,
        /// The meeting's audio file
        #[arg(long)]
        audio: Option<PathBuf>,
        /// The audio is minutes' own (deleted with the meeting and by retention)
        #[arg(long, requires = "audio")]
        owned: bool,
        #[arg(long)]
        json: bool,
    },
}

/// Opens the store and applies the retention policy, saying in one line what it removed.
pub(crate) fn open_store(home: &Home) -> anyhow::Result<Store> {
    let store = Store::open(home)?;
    let policy = RetentionPolicy::from_config(&home.config_path())?;
    if !policy.is_unset() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let report = store.apply_retention(&policy, now)?;
        if !report.meetings_deleted.is_empty() || !report.audio_deleted.is_empty() {
            eprintln!(
                "retention ([retention] in {}): deleted {} expired meeting(s) and {} expired recording(s)",
                home.config_path().display(),
                report.meetings_deleted.len(),
                report.audio_deleted.len()
            );
        }
        for e in &report.errors {
            eprintln!("retention: could not delete {e}");
        }
    }
    Ok(store)
}

/// The summariser's provenance in the store's terms.
pub(crate) fn store_provenance(p: &crate::summarize::Provenance) -> Provenance {
    let plugin = |r: &crate::summarize::PluginRef| PluginRef {
        id: r.id.clone(),
        version: r.version.clone(),
    };
    Provenance {
        template: plugin(&p.template),
        provider: p.provider.as_ref().map(plugin),
        model: p.model.clone(),
        chunk_plan: serde_json::json!({
            "plan": p.plan,
            "context_window": p.context_window,
            "template_definition_sha256": p.template_definition_sha256,
        }),
        prompt_sha256: p.requests.iter().map(|r| r.prompt_sha256.clone()).collect(),
        usage: crate::store::TokenUsage {
            input_tokens: p.input_tokens,
            output_tokens: p.output_tokens,
        },
        duration_ms: p.duration_ms,
    }
}

pub(crate) fn run(ctx: &super::Context, cmd: MeetingsCommand) -> anyhow::Result<()> {
    let store = open_store(&ctx.home)?;
    match cmd {
        MeetingsCommand::List(args) => list(&store, args),
        MeetingsCommand::Show(args) => show(&store, args),
        MeetingsCommand::Search(args) => search(&store, args),
        MeetingsCommand::Delete(args) => delete(&store, args),
        MeetingsCommand::Rename(args) => {
            let id = store.resolve(&args.id)?;
            store.rename(&id, &args.title)?;
            let title = store.meeting(&id)?.title;
            if args.json {
                return super::print_json(&serde_json::json!({ "id": id, "title": title }));
            }
            println!("renamed {id}: {title}");
            Ok(())
        }
        MeetingsCommand::Done(args) => {
            let id = store.resolve(&args.id)?;
            let item = store.set_action_done(&id, args.item, !args.undo)?;
            if args.json {
                return super::print_json(
                    &serde_json::json!({ "id": id, "item": args.item, "action_item": item }),
                );
            }
            let tick = if item.done { "x" } else { " " };
            println!(
                "{id}: [{tick}] {}. {}",
                args.item,
                crate::term::clean(&item.task)
            );
            Ok(())
        }
        MeetingsCommand::Label(LabelCommand::Add { id, labels, json }) => {
            let id = store.resolve(&id)?;
            let added = store.add_labels(&id, &labels)?;
            let now = store.meeting(&id)?.labels;
            if json {
                return super::print_json(
                    &serde_json::json!({ "id": id, "labels": now, "added": added }),
                );
            }
            println!("{id}: labels {}", now.join(", "));
            if added.len() < labels.len() {
                eprintln!("(some labels were already there)");
            }
            Ok(())
        }
        MeetingsCommand::Label(LabelCommand::Remove { id, labels, json }) => {
            let id = store.resolve(&id)?;
            let removed = store.remove_labels(&id, &labels)?;
            if removed.is_empty() {
                anyhow::bail!(
                    "meeting {id} has none of these labels; it has: {}",
                    store.meeting(&id)?.labels.join(", ")
                );
            }
            let now = store.meeting(&id)?.labels;
            if json {
                return super::print_json(
                    &serde_json::json!({ "id": id, "labels": now, "removed": removed }),
                );
            }
            println!("{id}: labels {}", now.join(", "));
            Ok(())
        }
        MeetingsCommand::Store(StoreCommand::AddDocument {
            file,
            audio,
            owned,
            json,
        }) => add_document(&store, &file, audio, owned, json),
    }
}

fn list(store: &Store, args: ListArgs) -> anyhow::Result<()> {
    let meetings = store.list(&ListFilter {
        label: args.label.clone(),
        limit: args.limit,
    })?;
    if args.json {
        return super::print_json(&meetings);
    }
    if meetings.is_empty() {
        match args.label {
            Some(l) => println!("No meetings labelled `{l}`."),
            None => {
                println!("No meetings stored yet: `minutes process <audio file>` transcribes one.")
            }
        }
        return Ok(());
    }
    let width = meetings
        .iter()
        .map(|m| m.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:<width$}  {:<16}  {:>8}  S  TITLE",
        "ID", "STARTED (UTC)", "LENGTH"
    );
    for m in &meetings {
        let labels = if m.labels.is_empty() {
            String::new()
        } else {
            format!("  [{}]", m.labels.join(", "))
        };
        println!(
            "{:<width$}  {:<16}  {:>8}  {}  {}{labels}",
            m.id,
            started(&m.started_at),
            super::transcribe::clock(m.duration_ms),
            if m.has_summary { "✓" } else { "·" },
            m.title
        );
    }
    if meetings.len() == args.limit {
        eprintln!("(showing the newest {}; --limit 0 shows all)", args.limit);
    }
    Ok(())
}

fn show(store: &Store, args: ShowArgs) -> anyhow::Result<()> {
    let id = store.resolve(&args.id)?;
    let info = store.meeting(&id)?;
    let document = store.document(&id)?;
    let summary = store.summary(&id)?;
    let exports = store.exports(&id)?;
    if args.json {
        return super::print_json(&serde_json::json!({
            "meeting": info,
            "document": document,
            "summary": summary,
            "exports": exports,
        }));
    }
    let mut out = String::new();
    out.push_str(&format!("{}\n", info.title));
    out.push_str(&format!("  id       {}\n", info.id));
    let language = info
        .language
        .as_deref()
        .map(|l| format!(" · {l}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "  started  {} UTC · {}{language}\n",
        started(&info.started_at),
        super::transcribe::clock(info.duration_ms)
    ));
    if !info.labels.is_empty() {
        out.push_str(&format!("  labels   {}\n", info.labels.join(", ")));
    }
    if let Some(a) = &info.audio {
        let whose = if a.owned {
            "recorded by minutes"
        } else {
            "your file"
        };
        out.push_str(&format!("  audio    {} ({whose})\n", a.path.display()));
    }
    for e in &exports {
        out.push_str(&format!(
            "  exported {} ({}, {})\n",
            e.path.display(),
            e.plugin,
            e.format
        ));
    }
    match &summary {
        Some(s) => {
            let p = &s.provenance;
            let by = p
                .provider
                .as_ref()
                .map(|p| format!(" via {} {}", p.id, p.version))
                .unwrap_or_default();
            let model = p
                .model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let template = format!("{} {}", p.template.id, p.template.version);
            out.push_str(&format!(
                "\nSummary — {}{by}{model}\n\n",
                template.trim_end()
            ));
            out.push_str(render_summary(&s.summary).trim_end());
            out.push('\n');
            out.push_str(&numbered_actions(&s.summary, &id));
            out.push_str(&unsupported_note(&s.summary));
        }
        None => out.push_str("\nNo summary yet.\n"),
    }
    out.push_str("\nTranscript\n\n");
    for s in &document.transcript.segments {
        let who = document
            .transcript
            .speaker_name(s)
            .map(str::to_string)
            .or_else(|| {
                document
                    .metadata
                    .channel_names
                    .get(s.channel as usize)
                    .cloned()
            })
            .map(|w| format!("{w}: "))
            .unwrap_or_default();
        out.push_str(&format!(
            "[{}] {who}{}\n",
            super::transcribe::clock(s.start_ms),
            s.text
        ));
    }
    // The summary and transcript may come from a plugin or a model: no terminal controls.
    print!("{}", crate::term::clean(&out));
    Ok(())
}

/// The action items with their numbers and ticks, for `minutes done`. A summary without
/// Markdown already lists them with ticks.
fn numbered_actions(s: &Summary, id: &str) -> String {
    if s.action_items.is_empty() || s.markdown.trim().is_empty() {
        return String::new();
    }
    let mut out = format!("\nAction items (tick off with `minutes done {id} <n>`):\n");
    for (n, a) in s.action_items.iter().enumerate() {
        let tick = if a.done { "x" } else { " " };
        let owner = a
            .owner
            .as_deref()
            .map(|o| format!("{o}: "))
            .unwrap_or_default();
        out.push_str(&format!("  [{tick}] {}. {owner}{}\n", n + 1, a.task));
    }
    out
}

/// The items whose citations the host could not confirm, so that a reader checks them before
/// trusting them (the Markdown above comes from the template and does not say so).
fn unsupported_note(s: &Summary) -> String {
    use crate::model::Grounding::Unsupported;
    let items: Vec<String> = s
        .decisions
        .iter()
        .filter(|d| d.grounding == Unsupported)
        .map(|d| format!("decision: {}", d.text))
        .chain(
            s.action_items
                .iter()
                .filter(|a| a.grounding == Unsupported)
                .map(|a| format!("action item: {}", a.task)),
        )
        .chain(
            s.open_questions
                .iter()
                .filter(|q| q.grounding == Unsupported)
                .map(|q| format!("open question: {}", q.text)),
        )
        .collect();
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n⚠ Unsupported: the transcript at the cited time does not say this (check before relying on it):\n",
    );
    for i in items {
        out.push_str(&format!("  ⚠ {i}\n"));
    }
    out
}

/// A summary as text: its Markdown, or its parts when it has none.
fn render_summary(s: &Summary) -> String {
    if !s.markdown.trim().is_empty() {
        return s.markdown.clone();
    }
    let mut out = String::new();
    for sec in s.sections.iter().filter(|s| !s.body.trim().is_empty()) {
        out.push_str(&format!("## {}\n{}\n\n", sec.title, sec.body.trim_end()));
    }
    if !s.action_items.is_empty() {
        out.push_str("## Action items\n");
        for a in &s.action_items {
            let details: Vec<String> = a
                .owner
                .iter()
                .cloned()
                .chain(a.due.iter().map(|d| format!("due {d}")))
                .collect();
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            };
            let tick = if a.done { "x" } else { " " };
            out.push_str(&format!("- [{tick}] {}{details}\n", a.task));
        }
        out.push('\n');
    }
    let decisions: Vec<&str> = s.decisions.iter().map(|d| d.text.as_str()).collect();
    let questions: Vec<&str> = s.open_questions.iter().map(|q| q.text.as_str()).collect();
    for (title, items) in [("Decisions", decisions), ("Open questions", questions)] {
        if !items.is_empty() {
            out.push_str(&format!("## {title}\n"));
            for i in items {
                out.push_str(&format!("- {i}\n"));
            }
            out.push('\n');
        }
    }
    out
}

fn search(store: &Store, args: SearchArgs) -> anyhow::Result<()> {
    let query = args.query.join(" ");
    let bold =
        !args.json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mark = if bold {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    let hits = store.search(&query, args.limit, mark)?;
    if args.json {
        return super::print_json(&hits);
    }
    if hits.is_empty() {
        println!("No meeting mentions {query:?}.");
        return Ok(());
    }
    for h in &hits {
        let place = match (h.start_ms, &h.speaker) {
            (Some(ms), Some(who)) => format!("[{}] {who}", super::transcribe::clock(ms)),
            (Some(ms), None) => format!("[{}]", super::transcribe::clock(ms)),
            (None, _) => "summary".to_string(),
        };
        // A snippet may quote a plugin's summary: defuse it, keeping only our own markers.
        let snippet = h
            .snippet
            .replace('\n', " ")
            .split(mark.0)
            .map(|p| {
                p.split(mark.1)
                    .map(|q| crate::term::clean(q).into_owned())
                    .collect::<Vec<_>>()
                    .join(mark.1)
            })
            .collect::<Vec<_>>()
            .join(mark.0);
        let title = crate::term::clean(&h.meeting_title);
        println!("{}  {title} · {}", h.meeting_id, crate::term::clean(&place));
        println!("    {snippet}");
    }
    Ok(())
}

fn delete(store: &Store, args: DeleteArgs) -> anyhow::Result<()> {
    let id = store.resolve(&args.id)?;
    let info = store.meeting(&id)?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to delete meeting {id} without confirmation: stdin is not a terminal; pass --yes"
            );
        }
        let audio = match &info.audio {
            Some(a) if a.owned => format!(", and the recording {}", a.path.display()),
            _ => String::new(),
        };
        eprint!(
            "Delete meeting {id} ({}): transcript, summaries{audio}? [y/N] ",
            info.title
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("nothing deleted");
        }
    }
    let deleted = store.delete(&id)?;
    if let Some(e) = &deleted.audio_error {
        eprintln!("warning: the meeting is deleted but its recording could not be: {e}");
    }
    if args.json {
        return super::print_json(&deleted);
    }
    match &deleted.audio_removed {
        Some(p) => println!(
            "deleted {id} ({}) and its recording {}",
            deleted.title,
            p.display()
        ),
        None => println!("deleted {id} ({})", deleted.title),
    }
    Ok(())
}

fn add_document(
    store: &Store,
    file: &Path,
    audio: Option<PathBuf>,
    owned: bool,
    json: bool,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let document: Document = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a meeting document (see `minutes export --help`)",
            file.display()
        )
    })?;
    let audio = audio.map(|p| AudioRef {
        path: std::fs::canonicalize(&p).unwrap_or(p),
        owned,
    });
    let id = store.save_meeting(&document, audio)?;
    if let Some(summary) = &document.summary {
        let provenance = Provenance {
            template: PluginRef {
                id: "imported".into(),
                version: String::new(),
            },
            ..Default::default()
        };
        store.save_summary(&id, summary, &provenance)?;
    }
    if json {
        return super::print_json(&serde_json::json!({ "id": id }));
    }
    println!("stored {id}");
    Ok(())
}

/// `2026-11-28T10:00:00Z` -> `2026-11-28 10:00`.
fn started(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => rfc3339.to_string(),
    }
}
