//! `minutes summarize`: a summary of a meeting or transcript by a template plugin, with the
//! provider the user chose.

use crate::plugins::Registry;
use crate::summarize::route::{Progress, ProgressFn};
use crate::summarize::{Choice, Provenance, Summarized};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    minutes summarize 2026-11-30-weekly-sync            # a stored meeting (see `minutes list`)\n  \
    minutes summarize meeting.json                      # offline: the extractive template\n  \
    minutes summarize meeting.json --provider ollama    # template-standard via a local model\n  \
    minutes summarize call.json --template sales-call --provider fireworks --language de\n  \
    minutes summarize call.json --template ./my-template.json --provider ollama\n\n\
    The input is a meeting document (as `minutes export --document` reads it) or a transcript \
    (`minutes transcribe --json`, or segments with start/end seconds and speakers).\n\n\
    Defaults come from config.toml:\n  \
    [summary]\n  template = \"standard\"\n  provider = \"ollama\"\n  model = \"llama3.1:8b\"\n  language = \"auto\"\n\n\
    Before anything is sent, the data policy in config.toml is checked (see `minutes providers`):\n  \
    [policy]\n  require_zero_retention = true\n  forbid_training = true\n  \
    [policy.labels.confidential]\n  local_only = true")]
pub struct SummarizeArgs {
    /// A stored meeting (id or unambiguous prefix, see `minutes list`), or a meeting document
    /// or transcript (JSON file)
    #[arg(value_name = "MEETING|FILE")]
    input: String,
    /// Template: an id, a short name (`standard`, `extractive`, `standup`, ...), or a template
    /// file (.json/.toml: sections with title, instruction, format; Meetily templates work as-is)
    #[arg(long, short)]
    template: Option<String>,
    /// Provider plugin id (`none`: offline templates only)
    #[arg(long, short)]
    provider: Option<String>,
    /// Model [default: the provider's]
    #[arg(long, short)]
    model: Option<String>,
    /// Language of the summary (e.g. `de`; `auto`: the transcript's)
    #[arg(long, short)]
    language: Option<String>,
    /// Write the summary (Markdown) here instead of printing it
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the summary and its provenance as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &super::Context, args: SummarizeArgs) -> anyhow::Result<()> {
    // A file when one exists at that path, else a meeting in the store.
    let (doc, stored) = match std::path::Path::new(&args.input).is_file() {
        true => (
            crate::summarize::input::load_document(std::path::Path::new(&args.input))?,
            None,
        ),
        false => {
            let store = super::meetings::open_store(&ctx.home)?;
            let id = store.resolve(&args.input)?;
            (store.document(&id)?, Some((store, id)))
        }
    };
    let registry = Registry::open(ctx.home.clone())?;
    let runtime = ctx.runtime()?;
    let choice = Choice {
        template: args.template,
        provider: args.provider,
        model: args.model,
        language: args.language,
    };
    let bar = ProgressBar::new();
    let result = super::block_on(crate::summarize::summarize(
        &runtime,
        &registry,
        &choice,
        &doc,
        Some(bar.callback()),
    ))?;
    bar.finish();
    let Summarized {
        summary,
        provenance,
    } = result?;
    if let Some((store, id)) = &stored {
        store.save_summary(
            id,
            &summary,
            &super::meetings::store_provenance(&provenance),
        )?;
    }
    if args.json {
        return super::print_json(
            &serde_json::json!({ "meeting": doc.metadata.id, "summary": summary, "provenance": provenance }),
        );
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &summary.markdown)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        // Written by a plugin, maybe from a model's answer: no terminal controls on a terminal.
        None => println!("{}", crate::term::clean(summary.markdown.trim_end())),
    }
    eprintln!("{}", crate::term::clean(&describe(&provenance)));
    if let Some((_, id)) = &stored {
        eprintln!("saved as the summary of meeting {id} (minutes show {id})");
    }
    Ok(())
}

/// One line on where a summary came from.
pub(crate) fn describe(p: &Provenance) -> String {
    let mut line = format!("summary by {} {}", p.template.id, p.template.version);
    if let Some(provider) = &p.provider {
        line += &format!(" via {} {}", provider.id, provider.version);
        if let Some(model) = &p.model {
            line += &format!(" ({model})");
        }
        let chunks = p.plan.as_ref().map(|pl| pl.chunks.len()).unwrap_or(1);
        line += &format!(
            ": {chunks} chunk{}, {} request{}, {} → {} tokens",
            if chunks == 1 { "" } else { "s" },
            p.requests.len(),
            if p.requests.len() == 1 { "" } else { "s" },
            p.input_tokens,
            p.output_tokens
        );
    } else {
        line += " (offline: nothing was sent)";
    }
    line + &format!(", {:.1} s", p.duration_ms as f64 / 1000.0)
}

/// Requests k of n with tokens/s, on stderr; silent when stderr is not a terminal.
pub(crate) struct ProgressBar(indicatif::ProgressBar);

impl ProgressBar {
    pub fn new() -> ProgressBar {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} summarising [{bar:24}] {pos}/{len} requests {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        ProgressBar(bar)
    }

    pub fn callback(&self) -> ProgressFn {
        let bar = ProgressBar(self.0.clone());
        Arc::new(move |p| match p {
            Progress::Planned {
                chunks,
                expected_requests,
            } => bar.planned(chunks, expected_requests),
            Progress::Request {
                done,
                expected,
                output_tokens,
                secs,
            } => bar.request(done, expected, output_tokens, secs),
        })
    }

    pub fn planned(&self, chunks: usize, expected_requests: u32) {
        self.0.set_length(u64::from(expected_requests));
        self.0.set_message(format!(
            "· {chunks} chunk{}",
            if chunks == 1 { "" } else { "s" }
        ));
    }

    pub fn request(&self, done: usize, expected: Option<u32>, output_tokens: u32, secs: f64) {
        if expected.is_none_or(|e| done as u64 > u64::from(e)) {
            self.0.set_length(done as u64);
        }
        self.0.set_position(done as u64);
        self.0.set_message(format!(
            "· {:.1} tokens/s",
            f64::from(output_tokens) / secs.max(0.001)
        ));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
