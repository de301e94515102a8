//! `minutes bench summarize`: how well a template (and provider) summarises the scripted
//! meetings, scored against their reference summaries, per meeting and per split (the meetings
//! the templates were tuned on, and those held out). See [`score`] for the matching rule.
//!
//! The transcript is the generator's own reference (its `<id>.json`: the script's turns with
//! their rendered times and speakers), not a whisper transcript: the figures measure the
//! summary, not the word error rate.

pub mod score;

use crate::model::{Completion, CompletionRequest, Document, Grounding, LlmInfo, Plan};
use crate::model::{PluginError, ResponseFormat, Summary};
use crate::plugins::host_api::{LlmBackend, LlmHandle};
use crate::plugins::{Home, Registry, Runtime};
use crate::summarize::route::ProviderRoute;
use crate::summarize::{Choice, load_provider, load_template, read_config};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What the SDK appends to a request it repeats because the answer did not validate
/// (`minutes_sdk::notes_llm::ask`): each such request means one malformed answer.
const RETRY_MARK: &str = "Your previous answer could not be used";
/// What the SDK's error says when the repeated answer failed too.
const FAILED_TWICE: &str = "malformed twice";

/// How the speakers of a transcript are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speakers {
    /// Each segment names its speaker (a diarized or scripted transcript).
    Names,
    /// Only the channel: `me` (microphone) and `others` (system audio), as a 2-channel recording
    /// without diarization gives them.
    Channels,
}

pub struct SummarizeBench {
    pub split: PathBuf,
    pub dirs: Vec<PathBuf>,
    pub only: Vec<String>,
    pub template: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub runs: usize,
    pub schema: bool,
    pub speakers: Speakers,
    pub save: Option<PathBuf>,
    pub json: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Split {
    tune: Vec<String>,
    held_out: Vec<String>,
}

/// A reference item: `"text"` or `{"text": …}` (meeting_a's reference has ids and more).
#[derive(Deserialize)]
#[serde(untagged)]
enum RefText {
    Plain(String),
    Item { text: String },
}

impl RefText {
    fn text(&self) -> &str {
        match self {
            RefText::Plain(t) | RefText::Item { text: t } => t,
        }
    }
}

#[derive(Deserialize)]
struct RefAction {
    owner: String,
    task: String,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    participants: BTreeMap<String, Option<String>>,
    decisions: Vec<RefText>,
    action_items: Vec<RefAction>,
}

struct Meeting {
    id: String,
    split: &'static str,
    doc: Document,
    reference: Reference,
    /// Each speaker's name and channel, as the transcript gave them before `--speakers
    /// channels` took the names away.
    speaker_channels: Vec<(String, u32)>,
}

/// One summary, scored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunScore {
    pub meeting: String,
    pub split: String,
    pub run: usize,
    pub error: Option<String>,
    pub secs: f64,
    pub requests: usize,
    /// Answers the template rejected (it asked again, or gave up).
    pub malformed: usize,
    pub decisions_ref: usize,
    pub decisions_found: usize,
    pub decisions_listed: usize,
    /// Decisions that are only an acknowledgement ("Agreed!").
    pub ack_decisions: usize,
    pub actions_ref: usize,
    /// Task and owner right.
    pub actions_found: usize,
    /// Task right, whatever the owner.
    pub actions_task_found: usize,
    pub actions_listed: usize,
    /// Owners that are neither a participant nor a channel name ("channel 0", a file name).
    pub foreign_owners: Vec<String>,
    /// Items with citations, and those the host's check found supported / the strict check.
    pub cited: usize,
    pub cited_supported: usize,
    pub cited_strict: usize,
}

pub fn run(b: SummarizeBench) -> anyhow::Result<()> {
    anyhow::ensure!(b.runs >= 1, "--runs must be at least 1");
    let meetings = load_meetings(&b)?;
    let home = Home::from_env()?;
    let registry = Registry::open(home.clone())?;
    let ledger = crate::ledger::EgressLedger::open(&home.ledger_path())?;
    let runtime = Runtime::with_network(
        &home.cache_dir(),
        crate::plugins::net::NetOptions {
            offline: false,
            ledger: Some(Arc::new(ledger)),
            ..Default::default()
        },
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(dir) = &b.save {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut scores = Vec::new();
    for m in &meetings {
        for run in 1..=b.runs {
            let started = Instant::now();
            let (outcome, requests, malformed) =
                rt.block_on(summarize_once(&b, &registry, &runtime, m));
            let secs = started.elapsed().as_secs_f64();
            let mut s = match &outcome {
                Ok(summary) => score_summary(m, summary, b.speakers),
                Err(_) => RunScore {
                    decisions_ref: m.reference.decisions.len(),
                    actions_ref: m.reference.action_items.len(),
                    ..RunScore::default()
                },
            };
            s.meeting = m.id.clone();
            s.split = m.split.to_string();
            s.run = run;
            s.secs = secs;
            s.requests = requests;
            s.malformed = malformed;
            if let Err(e) = &outcome {
                if e.contains(FAILED_TWICE) {
                    s.malformed += 1;
                }
                s.error = Some(e.clone());
            }
            if let (Some(dir), Ok(summary)) = (&b.save, &outcome) {
                let path = dir.join(format!("{}-{run}.json", m.id));
                std::fs::write(&path, serde_json::to_vec_pretty(summary)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            eprintln!(
                "{} run {run}: {:.1} s, decisions {}/{}, actions {}/{}, malformed {}{}",
                m.id,
                secs,
                s.decisions_found,
                s.decisions_ref,
                s.actions_found,
                s.actions_ref,
                s.malformed,
                s.error
                    .as_deref()
                    .map(|e| format!(", FAILED: {e}"))
                    .unwrap_or_default()
            );
            scores.push(s);
        }
    }
    if b.json {
        return crate::cli::print_json(&scores);
    }
    print_table(&b, &scores);
    Ok(())
}

fn load_meetings(b: &SummarizeBench) -> anyhow::Result<Vec<Meeting>> {
    let text = std::fs::read_to_string(&b.split)
        .with_context(|| format!("cannot read the split file {}", b.split.display()))?;
    let split: Split =
        toml::from_str(&text).with_context(|| format!("{}: not a split", b.split.display()))?;
    let wanted = |id: &String| b.only.is_empty() || b.only.iter().any(|o| o == id);
    let mut out = Vec::new();
    for (name, ids) in [("tune", &split.tune), ("held_out", &split.held_out)] {
        for id in ids.iter().filter(|id| wanted(id)) {
            let (transcript, reference) = find(&b.dirs, id)?;
            let mut doc = crate::summarize::input::load_document(&transcript)?;
            let speaker_channels = doc
                .transcript
                .speakers
                .iter()
                .map(|s| (s.name.clone(), s.channel))
                .collect();
            if b.speakers == Speakers::Channels {
                doc.transcript.speakers.clear();
                doc.transcript
                    .segments
                    .iter_mut()
                    .for_each(|s| s.speaker_id = None);
                doc.metadata.channel_names = vec!["me".into(), "others".into()];
            }
            let reference: Reference = serde_json::from_str(
                &std::fs::read_to_string(&reference)
                    .with_context(|| format!("cannot read {}", reference.display()))?,
            )
            .with_context(|| format!("{}: not a summary reference", reference.display()))?;
            out.push(Meeting {
                id: id.clone(),
                split: name,
                doc,
                reference,
                speaker_channels,
            });
        }
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no meeting of {} is left after --only",
        b.split.display()
    );
    Ok(out)
}

/// `<id>.json` and `<id>_summary_ref.json` in the first of `dirs` that has both.
fn find(dirs: &[PathBuf], id: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    for d in dirs {
        let (t, r) = (
            d.join(format!("{id}.json")),
            d.join(format!("{id}_summary_ref.json")),
        );
        if t.is_file() && r.is_file() {
            return Ok((t, r));
        }
    }
    anyhow::bail!(
        "meeting `{id}` is not rendered in {}: render it with \
         `python3 ../shared/corpus/synthetic/gen_meeting.py tests/fixtures/meetings/{id}_script.json /tmp/meetings`",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// One summary of `m`: the summary or why there is none, requests made, malformed answers.
async fn summarize_once(
    b: &SummarizeBench,
    registry: &Registry,
    runtime: &Runtime,
    m: &Meeting,
) -> (Result<Summary, String>, usize, usize) {
    let counting = Arc::new(Counting::default());
    let summary = async {
        let (_policy, config) = read_config(registry).map_err(|e| e.to_string())?;
        let choice = Choice {
            template: Some(b.template.clone()),
            provider: b.provider.clone(),
            model: b.model.clone(),
            language: None,
        };
        let (template, _) =
            load_template(runtime, registry, &choice, &config, b.provider.is_some())
                .map_err(|e| e.to_string())?;
        let template = template.for_meeting(&m.doc.metadata.id);
        let info = template.template_info().await.map_err(|e| e.to_string())?;
        let template = match (&b.provider, info.uses_llm) {
            (Some(id), true) => {
                let (policy, _) = read_config(registry).map_err(|e| e.to_string())?;
                let (provider, llm_info) = load_provider(
                    runtime,
                    registry,
                    &policy,
                    &config,
                    &choice,
                    id,
                    &m.doc.metadata.labels,
                    &m.doc.metadata.id,
                )
                .await
                .map_err(|e| e.to_string())?;
                let backend = BenchBackend {
                    route: ProviderRoute::new(provider, llm_info, None),
                    schema: b.schema,
                    counting: counting.clone(),
                };
                template.with_llm(Some(LlmHandle(Arc::new(backend))))
            }
            (None, true) => {
                return Err(format!(
                    "template `{}` needs a language model: pass --provider",
                    info.id
                ));
            }
            _ => template,
        };
        let mut summary = template
            .summarize(&m.doc.transcript, &m.doc.metadata)
            .await
            .map_err(|e| e.to_string())?;
        crate::summarize::grounding::ground_summary(&mut summary, &m.doc.transcript);
        Ok(summary)
    }
    .await;
    (
        summary,
        counting.requests.load(Ordering::Relaxed),
        counting.malformed.load(Ordering::Relaxed),
    )
}

#[derive(Default)]
struct Counting {
    requests: AtomicUsize,
    malformed: AtomicUsize,
}

/// The provider route, counting requests and malformed answers; without `schema`, a request's
/// JSON schema becomes plain JSON output (what templates asked for before schemas existed).
struct BenchBackend {
    route: Arc<ProviderRoute>,
    schema: bool,
    counting: Arc<Counting>,
}

impl LlmBackend for BenchBackend {
    fn info(&self) -> LlmInfo {
        self.route.info()
    }

    fn announce_plan(&self, plan: Plan) {
        self.route.announce_plan(plan)
    }

    fn complete(
        &self,
        mut request: CompletionRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Completion, PluginError>> + Send + 'static>,
    > {
        self.counting.requests.fetch_add(1, Ordering::Relaxed);
        if request
            .messages
            .last()
            .is_some_and(|m| m.content.contains(RETRY_MARK))
        {
            self.counting.malformed.fetch_add(1, Ordering::Relaxed);
        }
        if !self.schema && matches!(request.response_format, ResponseFormat::JsonSchema(_)) {
            request.response_format = ResponseFormat::JsonObject;
        }
        self.route.complete(request)
    }
}

fn lower_names(m: &Meeting) -> HashSet<String> {
    let mut names: HashSet<String> = m
        .reference
        .participants
        .keys()
        .map(|n| n.to_lowercase())
        .collect();
    names.extend(
        m.doc
            .transcript
            .speakers
            .iter()
            .map(|s| s.name.to_lowercase()),
    );
    names
}

/// Scores `summary` of `m` by the rules in [`score`].
fn score_summary(m: &Meeting, summary: &Summary, speakers: Speakers) -> RunScore {
    let names = lower_names(m);
    let cw = |t: &str| score::content_words(t, &names);
    let mut s = RunScore {
        decisions_ref: m.reference.decisions.len(),
        actions_ref: m.reference.action_items.len(),
        decisions_listed: summary.decisions.len(),
        actions_listed: summary.action_items.len(),
        ..RunScore::default()
    };
    // Decisions.
    let refs: Vec<_> = m.reference.decisions.iter().map(|d| cw(d.text())).collect();
    let items: Vec<_> = summary.decisions.iter().map(|d| cw(&d.text)).collect();
    s.decisions_found = score::pair(&refs, &items, |_, _| true).len();
    s.ack_decisions = summary
        .decisions
        .iter()
        .filter(|d| score::is_acknowledgement(&d.text, &names))
        .count();
    // Action items: the task, then the task and the owner.
    let refs: Vec<_> = m
        .reference
        .action_items
        .iter()
        .map(|a| cw(&a.task))
        .collect();
    let items: Vec<_> = summary.action_items.iter().map(|a| cw(&a.task)).collect();
    s.actions_task_found = score::pair(&refs, &items, |_, _| true).len();
    let channel_of = |owner: &str| -> Option<String> {
        if speakers != Speakers::Channels {
            return None;
        }
        let channel = m
            .speaker_channels
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(owner))
            .map(|(_, c)| *c)?;
        m.doc.metadata.channel_names.get(channel as usize).cloned()
    };
    s.actions_found = score::pair(&refs, &items, |r, i| {
        let want = &m.reference.action_items[r].owner;
        score::owner_matches(
            summary.action_items[i].owner.as_deref(),
            want,
            channel_of(want).as_deref(),
        )
    })
    .len();
    let channel_names: HashSet<String> = m
        .doc
        .metadata
        .channel_names
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    s.foreign_owners = summary
        .action_items
        .iter()
        .filter_map(|a| a.owner.as_deref())
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .filter(|o| {
            let lower = o.to_lowercase();
            !channel_names.contains(&lower)
                && !lower
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| names.contains(w))
        })
        .map(str::to_string)
        .collect();
    // Citations: the host's check, and a stricter one (two shared content words, the owner's
    // name not counting).
    let by_id: BTreeMap<u32, &str> = m
        .doc
        .transcript
        .segments
        .iter()
        .map(|seg| (seg.id, seg.text.as_str()))
        .collect();
    let mut cite = |text: &str, grounding: Grounding, ids: Vec<u32>| {
        if !matches!(grounding, Grounding::Supported | Grounding::Unsupported) {
            return;
        }
        s.cited += 1;
        if grounding != Grounding::Supported {
            return;
        }
        s.cited_supported += 1;
        let item = cw(text);
        let strict = !item.is_empty()
            && ids.iter().all(|id| {
                by_id
                    .get(id)
                    .is_some_and(|seg| cw(seg).intersection(&item).count() >= item.len().min(2))
            });
        if strict {
            s.cited_strict += 1;
        }
    };
    let ids = |c: &[crate::model::Citation]| c.iter().map(|c| c.segment_id).collect::<Vec<_>>();
    for d in &summary.decisions {
        cite(&d.text, d.grounding, ids(&d.citations));
    }
    for a in &summary.action_items {
        cite(&a.task, a.grounding, ids(&a.citations));
    }
    for q in &summary.open_questions {
        cite(&q.text, q.grounding, ids(&q.citations));
    }
    s
}

#[derive(Default, Clone, Copy)]
struct Totals {
    runs: usize,
    failed: usize,
    malformed: usize,
    requests: usize,
    secs: f64,
    max_secs: f64,
    d_ref: usize,
    d_found: usize,
    d_listed: usize,
    acks: usize,
    a_ref: usize,
    a_found: usize,
    a_task: usize,
    a_listed: usize,
    foreign: usize,
    cited: usize,
    supported: usize,
    strict: usize,
}

impl Totals {
    fn add(&mut self, s: &RunScore) {
        self.runs += 1;
        self.failed += usize::from(s.error.is_some());
        self.malformed += s.malformed;
        self.requests += s.requests;
        self.secs += s.secs;
        self.max_secs = self.max_secs.max(s.secs);
        self.d_ref += s.decisions_ref;
        self.d_found += s.decisions_found;
        self.d_listed += s.decisions_listed;
        self.acks += s.ack_decisions;
        self.a_ref += s.actions_ref;
        self.a_found += s.actions_found;
        self.a_task += s.actions_task_found;
        self.a_listed += s.actions_listed;
        self.foreign += s.foreign_owners.len();
        self.cited += s.cited;
        self.supported += s.cited_supported;
        self.strict += s.cited_strict;
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.0} %", 100.0 * n as f64 / d as f64)
    }
}

fn print_table(b: &SummarizeBench, scores: &[RunScore]) {
    println!(
        "bench summarize: template {}, provider {}, schema {}, speakers {:?}, {} run(s) per meeting",
        b.template,
        b.provider.as_deref().unwrap_or("none"),
        if b.schema {
            "on"
        } else {
            "off (JSON output only)"
        },
        b.speakers,
        b.runs
    );
    println!(
        "{:<18} {:>4} {:>6} {:>9} {:>8} {:>8} {:>16} {:>16} {:>11} {:>5} {:>7} {:>14} {:>14}",
        "meeting",
        "runs",
        "failed",
        "malformed",
        "mean s",
        "max s",
        "decisions",
        "actions+owner",
        "task only",
        "acks",
        "foreign",
        "cited: host",
        "strict"
    );
    let row = |name: &str, t: &Totals| {
        println!(
            "{:<18} {:>4} {:>6} {:>9} {:>8.1} {:>8.1} {:>16} {:>16} {:>11} {:>5} {:>7} {:>14} {:>14}",
            name,
            t.runs,
            t.failed,
            format!("{}/{}", t.malformed, t.requests),
            if t.runs > 0 {
                t.secs / t.runs as f64
            } else {
                0.0
            },
            t.max_secs,
            format!("{}/{} {}", t.d_found, t.d_ref, pct(t.d_found, t.d_ref)),
            format!("{}/{} {}", t.a_found, t.a_ref, pct(t.a_found, t.a_ref)),
            pct(t.a_task, t.a_ref),
            t.acks,
            t.foreign,
            format!("{}/{} {}", t.supported, t.cited, pct(t.supported, t.cited)),
            pct(t.strict, t.cited),
        )
    };
    let mut by_split: BTreeMap<String, Totals> = BTreeMap::new();
    let mut all = Totals::default();
    let mut meetings: Vec<(String, Totals)> = Vec::new();
    for s in scores {
        match meetings.last_mut() {
            Some((id, t)) if *id == s.meeting => t.add(s),
            _ => {
                let mut t = Totals::default();
                t.add(s);
                meetings.push((s.meeting.clone(), t));
            }
        }
        by_split.entry(s.split.clone()).or_default().add(s);
        all.add(s);
    }
    for (id, t) in &meetings {
        row(id, t);
    }
    for (split, t) in &by_split {
        row(&format!("= {split}"), t);
    }
    row("= all", &all);
    let foreign: Vec<&str> = scores
        .iter()
        .flat_map(|s| s.foreign_owners.iter().map(String::as_str))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !foreign.is_empty() {
        println!("owners that are not participants: {}", foreign.join(", "));
    }
    println!(
        "decisions, actions+owner: reference items found (matching rule: `minutes bench summarize --help`); \
         acks: acknowledgements listed as decisions; malformed: rejected answers / requests"
    );
}

/// Where `dirs` default from: the rendered meetings and the shared corpus.
pub fn default_dirs() -> Vec<PathBuf> {
    vec![
        PathBuf::from("/tmp/meetings"),
        Path::new("..").join("shared/corpus/synthetic"),
    ]
}
