//! The `minutes` command line: a thin layer over the library.

mod app;
mod ask;
pub(crate) mod audit;
mod closed_output;
mod devices;
pub(crate) mod export;
pub(crate) mod finish;
mod mcp;
pub(crate) mod meetings;
mod models;
pub(crate) mod plugin;
mod plugin_author;
pub(crate) mod process;
mod progress;
pub(crate) mod providers;
mod record;
mod secret;
mod speakers;
pub(crate) mod summarize;
pub(crate) mod transcribe;
pub(crate) mod transcript;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "minutes",
    version,
    about = "Private meeting notes: transcribed on your machine, extended by sandboxed plugins",
    long_about = "Private meeting notes: transcribed on your machine, extended by sandboxed plugins.\n\n\
        Everything that talks to the outside world — summary providers, exporters, prompt templates — \
        is a WebAssembly plugin that can reach only the hosts you grant it.",
    after_help = "Examples:\n  minutes process standup.m4a                 # transcribe, summarise, export: notes/<date>-standup.md\n  \
        minutes record --title \"Weekly sync\"      # mic + system audio, live transcript; Ctrl-C to finish\n  \
        minutes search \"launch date\"\n  \
        minutes summarize 2026-11-30-weekly-sync --provider ollama\n  \
        minutes plugin install ./export-obsidian-0.1.0.tar.gz\n  \
        minutes audit                              # everything plugins sent, or tried to"
)]
pub struct Cli {
    /// Where minutes keeps plugins, settings and data [default: the platform's data folder]
    #[arg(long, global = true, env = "MINUTES_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// More log output (-v: debug, -vv: trace); MINUTES_LOG takes tracing filters
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No plugin gets network access for this run (also `offline = true` in config.toml);
    /// every attempt is refused and recorded in the egress ledger
    #[arg(long, global = true)]
    offline: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: transcribe, summarise and export an audio file (offline by default)
    Process(process::ProcessArgs),
    /// Record the microphone and the system audio (two channels), with a live transcript
    Record(record::RecordArgs),
    /// Turn recordings interrupted by a crash or kill into meetings
    Recover(record::RecoverArgs),
    /// Transcribe an audio file locally with whisper.cpp
    Transcribe(transcribe::TranscribeArgs),
    /// Summarise a meeting with a template plugin (offline by default, or via a provider)
    Summarize(summarize::SummarizeArgs),
    /// Ask your stored meetings a question: an answer with cited moments, or the best passages
    Ask(ask::AskArgs),
    // list, show, search, delete, rename, label: the meetings store.
    #[command(flatten)]
    Meetings(meetings::MeetingsCommand),
    /// Name a meeting's speakers ("Speaker 2" -> "Tom"), and enroll voiceprints (opt-in) that
    /// name a known voice in later meetings
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes speakers list 2026-11-28-atlas\n  \
        minutes speakers rename 2026-11-28-atlas \"Speaker 2\" Tom\n  \
        minutes speakers rename 2026-11-28-atlas me Ana\n  \
        minutes speakers enroll Tom --from 2026-11-28-atlas \"Speaker 2\"   # asks first; kept on this machine\n  \
        minutes speakers list                                        # who is enrolled\n  \
        minutes speakers forget Tom"
    )]
    Speakers(speakers::SpeakersCommand),
    /// Correct a stored meeting's transcript
    #[command(subcommand)]
    Transcript(transcript::TranscriptCommand),
    /// Open your meetings in the browser: a local web app on this machine only
    App(app::AppArgs),
    /// Export a stored meeting (or a document file) with an exporter plugin
    Export(export::ExportArgs),
    /// List input devices, outputs and their monitors (system audio)
    Devices(devices::DevicesArgs),
    /// List, download and locate whisper models
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes models list\n  minutes models pull base.en-q5_1\n  \
        minutes models path base.en-q5_1          # the file a name resolves to\n  \
        minutes transcribe call.wav --model ~/Downloads/ggml-base.en.bin   # any model file"
    )]
    Models(models::ModelsCommand),
    /// Summary providers: what each does with your data, where it goes; check a key or endpoint
    Providers(providers::ProvidersArgs),
    /// Install, list, inspect, remove and write plugins
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes plugin install ./export-obsidian-0.1.0.tar.gz\n  \
        minutes plugin list\n  minutes plugin info fireworks\n  \
        minutes plugin new exporter my-exporter && cd my-exporter && minutes plugin build"
    )]
    Plugin(plugin::PluginCommand),
    /// Set and remove the secrets (API keys) minutes holds for plugins
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes secret set fireworks api-key\n  \
        minutes secret list\n  minutes secret remove fireworks api-key"
    )]
    Secret(secret::SecretCommand),
    /// Show every outbound request plugins made or attempted (the egress ledger), and what AI
    /// assistants read over MCP (the disclosure ledger)
    Audit(audit::AuditArgs),
    /// Serve your meetings to an AI assistant over the Model Context Protocol (stdio, read-only)
    Mcp(mcp::McpArgs),
    /// Benchmarks: plugins, network sandbox, transcription, store, MCP, capture
    #[command(
        subcommand,
        after_help = "Examples:\n  minutes bench transcribe --model ../shared/models/ggml-base-q5_1.bin\n  \
        minutes bench store --meetings 1000\n  minutes bench plugins --package target/plugins/export-markdown"
    )]
    Bench(crate::bench::BenchCommand),
}

pub fn main() -> ExitCode {
    closed_output::exit_quietly_when_reader_leaves();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if closed_output::is_closed_output(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // An error may quote a plugin (its message, its panic): no terminal control gets through.
            eprintln!("error: {}", crate::term::clean(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        // whisper.cpp reports the window it was told to cut short ("encoder_begin_callback
        // returned false") as an error; its real failures reach the user as minutes' own errors.
        0 => "warn,whisper_rs=off",
        1 => "minutes=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MINUTES_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        .try_init();
}

/// Colour codes only for a person at a terminal: not in a log file or a pipe, and never when
/// NO_COLOR is set to anything but the empty string (https://no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if matches!(cli.command, Command::Mcp(_)) {
        // Before the first notice below: stdout belongs to the protocol.
        crate::mcp::reserve_stdout()?;
    }
    let home = match cli.home {
        Some(dir) => crate::plugins::Home::at(dir),
        None => crate::plugins::Home::from_env()?,
    };
    crate::fsperm::tighten_home_with_notice(home.root());
    let ctx = Context {
        offline: cli.offline || offline_in_config(&home)?,
        home,
    };
    match cli.command {
        Command::Plugin(cmd) => plugin::run(&ctx, cmd),
        Command::Export(args) => export::run(&ctx, args),
        Command::Transcribe(args) => transcribe::run(&ctx.home, args),
        Command::Process(args) => process::run(&ctx, args),
        Command::Record(args) => record::run(&ctx, args),
        Command::Recover(args) => record::recover(&ctx, args),
        Command::Devices(args) => devices::run(args),
        Command::Summarize(args) => summarize::run(&ctx, args),
        Command::Ask(args) => ask::run(&ctx, args),
        Command::Models(cmd) => models::run(&ctx.home, cmd),
        Command::Secret(cmd) => secret::run(&ctx.home, cmd),
        Command::Audit(args) => audit::run(&ctx.home, args),
        Command::Mcp(args) => mcp::run(&ctx.home, args),
        Command::Providers(args) => providers::run(&ctx, args),
        Command::Bench(cmd) => crate::bench::run(cmd),
        Command::Meetings(cmd) => meetings::run(&ctx, cmd),
        Command::Speakers(cmd) => speakers::run(&ctx, cmd),
        Command::Transcript(cmd) => transcript::run(&ctx, cmd),
        Command::App(args) => app::run(ctx, args),
    }
}

/// What every command needs to know about this run.
pub(crate) struct Context {
    pub home: crate::plugins::Home,
    pub offline: bool,
}

impl Context {
    /// The plugin runtime for this run, recording outbound requests in the home's ledger.
    pub fn runtime(&self) -> anyhow::Result<crate::plugins::Runtime> {
        let ledger = crate::ledger::EgressLedger::open(&self.home.ledger_path())?;
        let options = crate::plugins::net::NetOptions {
            offline: self.offline,
            ledger: Some(std::sync::Arc::new(ledger)),
            ..Default::default()
        };
        Ok(crate::plugins::Runtime::with_network(
            &self.home.cache_dir(),
            options,
        )?)
    }
}

/// `offline = true` at the top of config.toml.
pub(crate) fn offline_in_config(home: &crate::plugins::Home) -> anyhow::Result<bool> {
    let Some(table) = config_table(home)? else {
        return Ok(false);
    };
    match table.get("offline") {
        None => Ok(false),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => anyhow::bail!(
            "{}: `offline` must be true or false",
            home.config_path().display()
        ),
    }
}

/// config.toml of the home, parsed; `None` when there is none.
pub(crate) fn config_table(home: &crate::plugins::Home) -> anyhow::Result<Option<toml::Table>> {
    let path = home.config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display())));
        }
    };
    let table = toml::from_str(&text).map_err(|e| {
        let at = crate::plugins::manifest::toml_message(&text, &e);
        anyhow::anyhow!("{}: {at}", path.display())
    })?;
    Ok(Some(table))
}

/// A current-thread tokio runtime for one command.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(f))
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
