//! `minutes bench store`: search and list over a store of generated one-hour meetings.
//!
//! Transcripts are drawn from a Zipf distribution (s = 1) over a 20,000-word vocabulary whose
//! head is real English, so word frequencies look like speech: "the" is in most segments, a
//! common content word in a few percent, a rare one in a handful. A few meetings carry a
//! planted phrase so phrase queries have exact matches to find.

use crate::model::{Document, MeetingMetadata, NamedSegment, Section, Summary, Transcript};
use crate::plugins::Home;
use crate::store::{ListFilter, PluginRef, Provenance, Store};
use serde::Serialize;
use std::time::{Duration, Instant};

const SEGMENTS_PER_MEETING: usize = 900;
const SEGMENT_MS: u64 = 4_000;
const VOCABULARY: usize = 20_000;
const PHRASE: &str = "quarterly roadmap review";
const TARGET_MS: f64 = 50.0;

/// The head of the vocabulary, roughly in spoken-English frequency order.
const HEAD: &str = "the i you to and a it that of is we in so yeah know like just think this be have \
    on not but do what for they was are with can if about right okay there all at one get going \
    go me my really he or yes well um uh people would there's time mean see an from want our \
    would be some no out up them then more when need could make how because very good those \
    something thing things work now also say other project team next week customer data \
    release budget plan meeting question point call update issue launch price pricing design \
    review sprint feature product sales number numbers today tomorrow monday friday month \
    quarter roadmap quarterly goal goals risk test tests user users build deploy server api \
    contract legal hiring candidate interview demo feedback support ticket bug fix version";

/// A small deterministic generator (SplitMix64): same store on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Words {
    words: Vec<String>,
    /// Cumulative Zipf probabilities by rank.
    cumulative: Vec<f64>,
}

impl Words {
    fn new() -> Words {
        let mut words: Vec<String> = Vec::with_capacity(VOCABULARY);
        for w in HEAD.split_whitespace() {
            if !words.iter().any(|x| x == w) {
                words.push(w.to_string());
            }
        }
        // The tail: pronounceable made-up words, unique by construction (base-20 syllables).
        const SYLLABLES: [&str; 20] = [
            "ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "de", "fa", "gu", "he", "jo", "vi",
            "ze", "bo", "ly", "ch", "st", "or",
        ];
        let mut i = 0usize;
        while words.len() < VOCABULARY {
            let (mut n, mut w) = (i + 400, String::new());
            while n > 0 {
                w.push_str(SYLLABLES[n % 20]);
                n /= 20;
            }
            words.push(w);
            i += 1;
        }
        let mut cumulative = Vec::with_capacity(VOCABULARY);
        let mut total = 0.0;
        for rank in 1..=VOCABULARY {
            total += 1.0 / rank as f64;
            cumulative.push(total);
        }
        for c in &mut cumulative {
            *c /= total;
        }
        Words { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self
            .cumulative
            .partition_point(|c| *c < u)
            .min(VOCABULARY - 1);
        &self.words[i]
    }

    fn sentence(&self, rng: &mut Rng, n: usize) -> String {
        let mut s = String::with_capacity(n * 7);
        for i in 0..n {
            let w = self.draw(rng);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push(' ');
                s.push_str(w);
            }
        }
        s.push('.');
        s
    }
}

fn meeting(words: &Words, rng: &mut Rng, n: usize) -> Document {
    let day = 20_000 + n as i64 / 3;
    let started_at = crate::time::rfc3339(day * 86_400 + 9 * 3600 + (n as i64 % 3) * 3 * 3600);
    let plant = n % 50 == 7;
    let segments = (0..SEGMENTS_PER_MEETING)
        .map(|i| {
            let n = 6 + rng.below(11);
            let mut text = words.sentence(rng, n);
            if plant && i == 450 {
                text = format!("So the {PHRASE} moves to Thursday. {text}");
            }
            NamedSegment {
                id: None,
                words: Vec::new(),
                start_ms: i as u64 * SEGMENT_MS,
                end_ms: i as u64 * SEGMENT_MS + SEGMENT_MS - 200,
                channel: (i % 2) as u32,
                speaker: Some(if i % 2 == 0 { "me" } else { "others" }.into()),
                text,
            }
        })
        .collect::<Vec<_>>();
    Document {
        metadata: MeetingMetadata {
            id: String::new(),
            title: format!("{} sync {n}", words.words[60 + rng.below(80)]),
            started_at,
            duration_ms: SEGMENTS_PER_MEETING as u64 * SEGMENT_MS,
            labels: vec![["atlas", "sales", "hiring", "ops"][n % 4].into()],
            language: Some("en".into()),
            channel_names: vec!["me".into(), "others".into()],
        },
        transcript: Transcript::from_named(segments, Some("en".into())),
        summary: None,
        provenance: None,
    }
}

fn summary(words: &Words, rng: &mut Rng) -> Summary {
    let sections = (0..4)
        .map(|i| Section {
            title: format!("Topic {i}"),
            body: words.sentence(rng, 50),
        })
        .collect::<Vec<_>>();
    let markdown = sections
        .iter()
        .map(|s| format!("## {}\n{}\n", s.title, s.body))
        .collect();
    Summary {
        markdown,
        sections,
        action_items: vec![],
        decisions: vec![],
        open_questions: vec![],
    }
}

#[derive(Serialize)]
struct Report {
    meetings: usize,
    segments: usize,
    fill_secs: f64,
    db_mib: f64,
    iterations: usize,
    stats: Vec<Stat>,
}

#[derive(Serialize)]
struct Stat {
    what: &'static str,
    /// Hits returned (searches only; at most 20).
    hits: Option<usize>,
    p50_ms: f64,
    p95_ms: f64,
    target_ms: Option<f64>,
}

fn stat(
    what: &'static str,
    mut samples: Vec<Duration>,
    hits: Option<usize>,
    target_ms: Option<f64>,
) -> Stat {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    Stat {
        what,
        hits,
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        target_ms,
    }
}

pub fn run(meetings: usize, iterations: usize, json: bool) -> anyhow::Result<()> {
    let meetings = meetings.max(1);
    let iterations = iterations.max(5);
    let tmp = tempfile::tempdir()?;
    let home = Home::at(tmp.path());
    let store = Store::open(&home)?;
    let words = Words::new();
    let mut rng = Rng(7);
    let provenance = Provenance {
        template: PluginRef {
            id: "bench".into(),
            version: "0".into(),
        },
        ..Default::default()
    };

    let bar = indicatif::ProgressBar::new(meetings as u64).with_message("generating meetings");
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let t = Instant::now();
    for n in 0..meetings {
        let doc = meeting(&words, &mut rng, n);
        let id = store.save_meeting(&doc, None)?;
        store.save_summary(&id, &summary(&words, &mut rng), &provenance)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let fill_secs = t.elapsed().as_secs_f64();
    let db_mib = std::fs::metadata(store.path())?.len() as f64 / (1 << 20) as f64
        + std::fs::metadata(store.path().with_extension("sqlite-wal"))
            .map(|m| m.len())
            .unwrap_or(0) as f64
            / (1 << 20) as f64;

    // The rare word is one the generator drew only a few times (rank ~15,000).
    let rare = words.words[15_000].clone();
    let queries: [(&'static str, String); 5] = [
        (
            "search: common word (\"project\", ~0.5% of words)",
            "project".into(),
        ),
        ("search: rare word (rank 15,000)", rare),
        (
            "search: phrase (\"quarterly roadmap review\")",
            PHRASE.into(),
        ),
        (
            "search: two words, no phrase (\"budget customer\")",
            "budget customer".into(),
        ),
        ("search: the most common word (\"the\")", "the".into()),
    ];
    let mut stats = Vec::new();
    for (what, q) in &queries {
        let mut samples = Vec::with_capacity(iterations);
        let mut hits = 0;
        for _ in 0..iterations {
            let t = Instant::now();
            hits = store.search(q, 20, ("**", "**"))?.len();
            samples.push(t.elapsed());
        }
        // "the" is the worst case, not a query anyone types alone; it is reported, not targeted.
        let target = (!what.contains("\"the\"")).then_some(TARGET_MS);
        stats.push(stat(what, samples, Some(hits), target));
    }
    let time = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<Vec<Duration>> {
        (0..iterations)
            .map(|_| {
                let t = Instant::now();
                f()?;
                Ok(t.elapsed())
            })
            .collect()
    };
    let list50 = time(&|| {
        anyhow::ensure!(
            store
                .list(&ListFilter {
                    label: None,
                    limit: 50
                })?
                .len()
                == meetings.min(50)
        );
        Ok(())
    })?;
    stats.push(stat(
        "list: newest 50 (in process)",
        list50,
        None,
        Some(TARGET_MS),
    ));
    let list_all = time(&|| {
        anyhow::ensure!(store.list(&ListFilter::default())?.len() == meetings);
        Ok(())
    })?;
    stats.push(stat(
        "list: all meetings (in process)",
        list_all,
        None,
        Some(TARGET_MS),
    ));
    let list_label = time(&|| {
        store.list(&ListFilter {
            label: Some("sales".into()),
            limit: 50,
        })?;
        Ok(())
    })?;
    stats.push(stat(
        "list: --label sales (in process)",
        list_label,
        None,
        Some(TARGET_MS),
    ));

    // What a user waits for: the whole `minutes` process.
    let exe = std::env::current_exe()?;
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let out = std::process::Command::new(&exe)
            .args(args)
            .env("MINUTES_HOME", home.root())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "minutes {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    stats.push(stat(
        "`minutes list` (process wall time)",
        time(&|| run(&["list"]))?,
        None,
        Some(TARGET_MS),
    ));
    stats.push(stat(
        "`minutes search project` (process wall time)",
        time(&|| run(&["search", "project"]))?,
        None,
        Some(TARGET_MS),
    ));

    let report = Report {
        meetings,
        segments: meetings * SEGMENTS_PER_MEETING,
        fill_secs,
        db_mib,
        iterations,
        stats,
    };
    if json {
        return crate::cli::print_json(&report);
    }
    println!(
        "store benchmark: {} meetings, {} segments, filled in {:.1} s, {:.0} MiB; {iterations} runs each, 20 hits max",
        report.meetings, report.segments, report.fill_secs, report.db_mib
    );
    for s in &report.stats {
        let target = s.target_ms.map(|t| {
            format!(
                "  (target ≤ {t:.0} ms{})",
                if s.p95_ms <= t { ", met" } else { ", MISSED" }
            )
        });
        let hits = s.hits.map(|h| format!("  {h:>2} hits")).unwrap_or_default();
        println!(
            "  {:<55} p50 {:>8.2} ms  p95 {:>8.2} ms{hits}{}",
            s.what,
            s.p50_ms,
            s.p95_ms,
            target.unwrap_or_default()
        );
    }
    Ok(())
}

/// Fills `store` with the same generated meetings (and summaries) `minutes bench store` uses,
/// for other benchmarks over the same data.
pub(crate) fn fill(store: &Store, meetings: usize) -> anyhow::Result<()> {
    let words = Words::new();
    let mut rng = Rng(7);
    let provenance = Provenance {
        template: PluginRef {
            id: "bench".into(),
            version: "0".into(),
        },
        ..Default::default()
    };
    for n in 0..meetings {
        let doc = meeting(&words, &mut rng, n);
        let id = store.save_meeting(&doc, None)?;
        store.save_summary(&id, &summary(&words, &mut rng), &provenance)?;
    }
    Ok(())
}

/// The word of rank 15,000 in the generated vocabulary: drawn only a few times.
pub(crate) fn rare_word() -> String {
    Words::new().words[15_000].clone()
}

pub(crate) const BENCH_PHRASE: &str = PHRASE;
