//! `minutes ask`: a question to the stored meetings, answered from the passages the search finds.

use crate::model::{Grounding, Passage};
use crate::plugins::Registry;
use crate::summarize::Choice;
use crate::summarize::ask::{Outcome, Scope};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    minutes ask \"what did we decide about pricing?\"\n  \
    minutes ask \"who owns the launch announcement?\" --label atlas --since 30d\n  \
    minutes ask \"launch date\" --meeting 2026-11-30-weekly-sync --provider ollama\n\n\
    Only the best-matching passages (a few segments each) are sent, under the same data policy, \
    labels and egress ledger as summaries. Without a provider, or with --offline, the passages \
    are listed instead of answered.")]
pub struct AskArgs {
    /// The question, in plain words
    question: Vec<String>,
    /// Only this meeting (id or unambiguous prefix)
    #[arg(long)]
    meeting: Option<String>,
    /// Only meetings with this label
    #[arg(long)]
    label: Option<String>,
    /// Only meetings from the last N hours, days or weeks (12h, 30d, 2w)
    #[arg(long)]
    since: Option<String>,
    /// Template that answers (default as for summaries: `standard` with a provider)
    #[arg(long, short)]
    template: Option<String>,
    /// Provider plugin id (`none`: list the passages only)
    #[arg(long, short)]
    provider: Option<String>,
    /// Model [default: the provider's]
    #[arg(long, short)]
    model: Option<String>,
    /// Print the answer, its citations and the passages as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &super::Context, args: AskArgs) -> anyhow::Result<()> {
    let question = args.question.join(" ");
    if question.trim().is_empty() {
        anyhow::bail!(
            "ask needs a question, e.g. minutes ask \"what did we decide about pricing?\""
        );
    }
    let store = super::meetings::open_store(&ctx.home)?;
    let since = match &args.since {
        Some(s) => {
            let secs = crate::summarize::ask::parse_since(s).map_err(anyhow::Error::msg)?;
            Some(crate::time::rfc3339(crate::time::now_secs() - secs))
        }
        None => None,
    };
    let scope = Scope {
        meeting: match &args.meeting {
            Some(m) => Some(store.resolve(m)?),
            None => None,
        },
        label: args.label.clone(),
        since,
    };
    let passages = crate::summarize::ask::find_passages(&store, &question, &scope)?;
    if passages.is_empty() {
        if args.json {
            return super::print_json(&json!({
                "question": question, "answer": null, "passages": [],
                "note": "no stored meeting mentions the question's words",
            }));
        }
        println!(
            "No stored meeting mentions the words of {question:?}{}. Try other words, or `minutes search`.",
            if args.meeting.is_some() || args.label.is_some() || args.since.is_some() {
                " within the meetings chosen"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let mut labels: HashMap<String, Vec<String>> = HashMap::new();
    for p in &passages {
        if !labels.contains_key(&p.meeting_id) {
            labels.insert(p.meeting_id.clone(), store.meeting(&p.meeting_id)?.labels);
        }
    }
    let registry = Registry::open(ctx.home.clone())?;
    let runtime = ctx.runtime()?;
    let choice = Choice {
        template: args.template,
        provider: args.provider,
        model: args.model,
        language: None,
    };
    let outcome = super::block_on(crate::summarize::ask::answer(
        &runtime, &registry, &choice, &question, &passages, &labels,
    ))??;
    let passages_json: Vec<Value> = passages.iter().map(passage_json).collect();
    match outcome {
        Outcome::Listed { why } => {
            if args.json {
                return super::print_json(&json!({
                    "question": question, "answer": null, "passages": passages_json, "note": why,
                }));
            }
            eprintln!("{}", crate::term::clean(&format!("No answer: {why}.")));
            println!("The best-matching passages for {question:?}:\n");
            print!("{}", crate::term::clean(&list(&passages)));
            Ok(())
        }
        Outcome::Answered {
            answer,
            template,
            provider,
            model,
            withheld,
        } => {
            if args.json {
                return super::print_json(&json!({
                    "question": question,
                    "answer": {
                        "markdown": answer.markdown,
                        "citations": answer.citations,
                        "grounding": answer.grounding,
                    },
                    "template": template,
                    "provider": provider,
                    "model": model,
                    "withheld_meetings": withheld,
                    "passages": passages_json,
                }));
            }
            let mut out = format!("{}\n", answer.markdown.trim_end());
            if !answer.citations.is_empty() {
                out.push_str("\nSources:\n");
                for c in &answer.citations {
                    let meeting = c.meeting_id.as_deref().unwrap_or("?");
                    let text = passages
                        .iter()
                        .filter(|p| p.meeting_id == meeting)
                        .flat_map(|p| &p.segments)
                        .find(|s| s.id == c.segment_id)
                        .map(|s| s.text.as_str())
                        .unwrap_or("");
                    out.push_str(&format!(
                        "  [{meeting} {}] {text}\n",
                        super::transcribe::clock(c.at_ms)
                    ));
                }
            }
            match answer.grounding {
                Grounding::Unsupported => out.push_str(
                    "\n⚠ Unsupported: the cited passages do not back this answer; check them before relying on it.\n",
                ),
                Grounding::Uncited => {
                    out.push_str("\n⚠ Uncited: the answer names no passage it rests on.\n")
                }
                _ => {}
            }
            if !withheld.is_empty() {
                out.push_str(&format!(
                    "\n(not sent to the provider by the data policy: {})\n",
                    withheld.join(", ")
                ));
            }
            // The answer comes from a model: no terminal controls.
            print!("{}", crate::term::clean(&out));
            let by = provider
                .map(|p| format!(" via {}", p.id))
                .unwrap_or_default();
            eprintln!("answered by {}{by}", template.id);
            Ok(())
        }
    }
}

fn passage_json(p: &Passage) -> Value {
    json!({
        "meeting_id": p.meeting_id,
        "meeting_title": p.meeting_title,
        "started_at": p.started_at,
        "segments": p.segments,
        "speakers": p.speakers,
    })
}

/// The passages as `[meeting mm:ss] speaker: text` lines, one block per passage.
fn list(passages: &[Passage]) -> String {
    let mut out = String::new();
    for p in passages {
        out.push_str(&format!("{} ({})\n", p.meeting_title, p.meeting_id));
        for s in &p.segments {
            let who = s
                .speaker_id
                .as_deref()
                .map(|id| {
                    p.speakers
                        .iter()
                        .find(|sp| sp.id == id)
                        .map_or(id, |sp| sp.name.as_str())
                })
                .map(|w| format!("{w}: "))
                .unwrap_or_default();
            out.push_str(&format!(
                "  [{} {}] {who}{}\n",
                p.meeting_id,
                super::transcribe::clock(s.start_ms),
                s.text
            ));
        }
        out.push('\n');
    }
    out
}
