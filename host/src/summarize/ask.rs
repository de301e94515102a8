//! `minutes ask`: the passages of stored meetings that bear on a question, found with the store's
//! full-text search, and an answer from a template's `ask` through the same provider route,
//! data policy and egress ledger as summaries. Only the passages are sent, never whole meetings.

use super::grounding::{content_words, ground};
use super::route::ProviderRoute;
use super::{Choice, PluginRef, SummarizeError, config_err, load_provider, load_template};
use crate::model::{Answer, Passage, Segment, Speaker};
use crate::plugins::host_api::LlmHandle;
use crate::plugins::{Registry, Runtime};
use crate::store::HitSource;
use crate::store::Store;
use std::collections::{BTreeMap, HashMap};

/// Segments kept before and after each matching segment, so the answer sees what led up to it.
const NEIGHBOURS_BEFORE: usize = 1;
const NEIGHBOURS_AFTER: usize = 2;
/// At most this many passages go to the model (and are listed).
pub const MAX_PASSAGES: usize = 6;
/// A passage's segments are cut at this many characters of text in all.
const MAX_PASSAGE_CHARS: usize = 1_200;
/// Search hits looked at per question word.
const HITS_PER_WORD: usize = 40;

/// Which meetings a question is about.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// A meeting id (already resolved).
    pub meeting: Option<String>,
    pub label: Option<String>,
    /// Only meetings that started at or after this RFC 3339 time.
    pub since: Option<String>,
}

/// `30d`, `12h`, `2w` as seconds.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = number.parse().map_err(|_| {
        format!("--since {text:?}: expected a number and a unit, e.g. 30d, 12h, 2w")
    })?;
    let unit = match unit {
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        other => {
            return Err(format!(
                "--since {text:?}: unknown unit {other:?} (use h, d or w, e.g. 30d)"
            ));
        }
    };
    Ok(n.saturating_mul(unit))
}

/// The best passages for `question` within `scope`, best first.
///
/// Each content word of the question is searched on its own (a question's words never all sit
/// in one segment); a segment ranks by how many of the words it matches, then by bm25. Each of
/// the best segments is widened to its neighbours, overlapping windows are merged, and the
/// number and size of passages are capped.
pub fn find_passages(
    store: &Store,
    question: &str,
    scope: &Scope,
) -> Result<Vec<Passage>, crate::store::StoreError> {
    let mut words: Vec<String> = content_words(question).into_iter().collect();
    words.sort();
    // (meeting, segment start) → (words matched, best rank)
    let mut scored: HashMap<(String, u64), (usize, f64)> = HashMap::new();
    let mut infos: HashMap<String, Option<crate::store::MeetingInfo>> = HashMap::new();
    for w in &words {
        for hit in store.search(&format!("{w}*"), HITS_PER_WORD, ("", ""))? {
            let (HitSource::Transcript, Some(start)) = (hit.source, hit.start_ms) else {
                continue;
            };
            if !infos.contains_key(&hit.meeting_id) {
                let info = store.meeting(&hit.meeting_id)?;
                let keep = in_scope(&info, scope);
                infos.insert(hit.meeting_id.clone(), keep.then_some(info));
            }
            if infos[&hit.meeting_id].is_none() {
                continue;
            }
            let e = scored
                .entry((hit.meeting_id.clone(), start))
                .or_insert((0, f64::MAX));
            e.0 += 1;
            e.1 = e.1.min(hit.rank);
        }
    }
    let mut ranked: Vec<((String, u64), (usize, f64))> = scored.into_iter().collect();
    ranked.sort_by(|a, b| {
        b.1.0
            .cmp(&a.1.0)
            .then(a.1.1.total_cmp(&b.1.1))
            .then(a.0.cmp(&b.0))
    });
    // Windows of segment indexes per meeting, in the order their best hit ranks.
    let mut order: Vec<String> = Vec::new();
    let mut windows: BTreeMap<String, Vec<(usize, usize, usize)>> = BTreeMap::new();
    let mut docs: HashMap<String, crate::model::Document> = HashMap::new();
    let mut taken = 0;
    for (rank, ((meeting, start), _)) in ranked.into_iter().enumerate() {
        if taken >= MAX_PASSAGES {
            break;
        }
        if !docs.contains_key(&meeting) {
            docs.insert(meeting.clone(), store.document(&meeting)?);
        }
        let segments = &docs[&meeting].transcript.segments;
        let Some(i) = segments.iter().position(|s| s.start_ms == start) else {
            continue;
        };
        let (from, to) = (
            i.saturating_sub(NEIGHBOURS_BEFORE),
            (i + NEIGHBOURS_AFTER).min(segments.len() - 1),
        );
        let list = windows.entry(meeting.clone()).or_default();
        match list.iter_mut().find(|w| from <= w.1 + 1 && to + 1 >= w.0) {
            Some(w) => {
                w.0 = w.0.min(from);
                w.1 = w.1.max(to);
            }
            None => {
                list.push((from, to, rank));
                taken += 1;
                if !order.contains(&meeting) {
                    order.push(meeting.clone());
                }
            }
        }
    }
    let mut passages: Vec<(usize, Passage)> = Vec::new();
    for (meeting, list) in windows {
        let doc = &docs[&meeting];
        let Some(info) = infos.get(&meeting).and_then(Option::as_ref) else {
            continue;
        };
        for (from, to, rank) in list {
            let mut chars = 0;
            let segments: Vec<Segment> = doc.transcript.segments[from..=to]
                .iter()
                .take_while(|s| {
                    let fits = chars == 0 || chars + s.text.len() <= MAX_PASSAGE_CHARS;
                    chars += s.text.len();
                    fits
                })
                .cloned()
                .collect();
            let speakers: Vec<Speaker> = doc
                .transcript
                .speakers
                .iter()
                .filter(|sp| {
                    segments
                        .iter()
                        .any(|s| s.speaker_id.as_deref() == Some(&sp.id))
                })
                .cloned()
                .collect();
            passages.push((
                rank,
                Passage {
                    meeting_id: meeting.clone(),
                    meeting_title: info.title.clone(),
                    started_at: info.started_at.clone(),
                    segments,
                    speakers,
                },
            ));
        }
    }
    passages.sort_by_key(|(rank, _)| *rank);
    Ok(passages.into_iter().map(|(_, p)| p).collect())
}

fn in_scope(info: &crate::store::MeetingInfo, scope: &Scope) -> bool {
    scope.meeting.as_ref().is_none_or(|m| *m == info.id)
        && scope
            .label
            .as_ref()
            .is_none_or(|l| info.labels.iter().any(|x| x == l))
        // RFC 3339 times in UTC ("…Z") order as text.
        && scope
            .since
            .as_ref()
            .is_none_or(|since| info.started_at.as_str() >= since.as_str())
}

/// What `ask` came to: an answer, or why there is none (and the passages are listed instead).
pub enum Outcome {
    Answered {
        answer: Answer,
        template: PluginRef,
        provider: Option<PluginRef>,
        model: Option<String>,
        /// Meetings whose passages the data policy kept from the provider.
        withheld: Vec<String>,
    },
    /// No answer: why, and how to get one.
    Listed { why: String },
}

/// Asks the template chosen as for summaries (flags, then `[summary]` in config.toml) about
/// `passages`, which every meeting's labels allow the provider to see; checks the answer's
/// citations against the passages.
pub async fn answer(
    runtime: &Runtime,
    registry: &Registry,
    choice: &Choice,
    question: &str,
    passages: &[Passage],
    labels: &HashMap<String, Vec<String>>,
) -> Result<Outcome, SummarizeError> {
    let (policy, config) = super::read_config(registry)?;
    let offline = runtime.offline();
    let provider_id = super::route::provider_for_run(
        offline,
        choice.provider.as_deref(),
        config.provider.as_deref(),
    )
    .map_err(config_err)?;
    let (template, _) = load_template(runtime, registry, choice, &config, provider_id.is_some())?;
    let info = template.template_info().await?;
    let how = "pass `--provider <id>` (see `minutes providers`) or set `[summary] provider` in \
               config.toml, with a template that answers questions (`standard`)";
    let no_provider = || match offline {
        true => "offline: nothing is sent to a language model; to get an answer, run without \
                 offline mode with a provider"
            .to_string(),
        false => format!("no provider is configured; to get an answer, {how}"),
    };
    if !info.answers_questions {
        let why = match &provider_id {
            None => no_provider(),
            Some(_) => format!(
                "template `{}` does not answer questions; to get an answer, {how}",
                info.id
            ),
        };
        return Ok(Outcome::Listed { why });
    }
    let template_ref = PluginRef {
        id: template.id().to_string(),
        version: template.version().to_string(),
    };
    if !info.uses_llm {
        let mut answer = template.ask(question, passages).await?;
        check_answer(&mut answer, passages);
        return Ok(Outcome::Answered {
            answer,
            template: template_ref,
            provider: None,
            model: None,
            withheld: Vec::new(),
        });
    }
    let Some(provider_id) = provider_id else {
        return Ok(Outcome::Listed { why: no_provider() });
    };
    // Each meeting's labels decide alone whether its passages may go to this provider.
    let (mut allowed, mut withheld): (Vec<&Passage>, Vec<String>) = (Vec::new(), Vec::new());
    for p in passages {
        let l = labels.get(&p.meeting_id).cloned().unwrap_or_default();
        match super::check_policy(registry, &policy, &provider_id, &l) {
            Ok(()) => allowed.push(p),
            Err(SummarizeError::Refused(why)) => {
                tracing::warn!(
                    "the passages of meeting {} are not sent to `{provider_id}`: {why}",
                    p.meeting_id
                );
                if !withheld.contains(&p.meeting_id) {
                    withheld.push(p.meeting_id.clone());
                }
            }
            Err(e) => return Err(e),
        }
    }
    if allowed.is_empty() {
        return Ok(Outcome::Listed {
            why: format!(
                "the data policy keeps every matching meeting ({}) from `{provider_id}`; ask a \
                 local provider, e.g. `--provider ollama`",
                withheld.join(", ")
            ),
        });
    }
    let sent: Vec<Passage> = allowed.into_iter().cloned().collect();
    let mut meetings: Vec<&str> = sent.iter().map(|p| p.meeting_id.as_str()).collect();
    meetings.dedup();
    let all_labels: Vec<String> = meetings
        .iter()
        .flat_map(|m| labels.get(*m).cloned().unwrap_or_default())
        .collect();
    let (provider, llm_info) = load_provider(
        runtime,
        registry,
        &policy,
        &config,
        choice,
        &provider_id,
        &all_labels,
        &meetings.join(","),
    )
    .await?;
    let provider_ref = PluginRef {
        id: provider.id().to_string(),
        version: provider.version().to_string(),
    };
    let model = llm_info.model.clone();
    let route = ProviderRoute::new(provider, llm_info, None);
    let mut answer = template
        .with_llm(Some(LlmHandle(route)))
        .ask(question, &sent)
        .await?;
    check_answer(&mut answer, &sent);
    Ok(Outcome::Answered {
        answer,
        template: template_ref,
        provider: Some(provider_ref),
        model: Some(model),
        withheld,
    })
}

/// Part 4's check on an answer: each citation must name a segment of a passage that was sent
/// (a citation without a meeting id names the only meeting, if there is one).
pub fn check_answer(answer: &mut Answer, passages: &[Passage]) {
    let mut meetings: Vec<&str> = passages.iter().map(|p| p.meeting_id.as_str()).collect();
    meetings.dedup();
    let only = (meetings.len() == 1).then(|| meetings[0].to_string());
    for c in &mut answer.citations {
        if c.meeting_id.is_none() {
            c.meeting_id = only.clone();
        }
    }
    let find = |c: &crate::model::Citation| {
        passages
            .iter()
            .filter(|p| Some(&p.meeting_id) == c.meeting_id.as_ref())
            .flat_map(|p| &p.segments)
            .find(|s| s.id == c.segment_id)
    };
    answer.grounding = ground("answer", &answer.markdown, &mut answer.citations, find);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Citation, Grounding};

    #[test]
    fn since_reads_hours_days_and_weeks_and_names_a_bad_unit() {
        assert_eq!(parse_since("30d"), Ok(30 * 86_400));
        assert_eq!(parse_since("12h"), Ok(12 * 3_600));
        assert_eq!(parse_since("2w"), Ok(14 * 86_400));
        assert!(parse_since("3 months").unwrap_err().contains("unit"));
        assert!(parse_since("d").unwrap_err().contains("number"));
    }

    fn passage(meeting: &str, segments: &[(u32, u64, &str)]) -> Passage {
        Passage {
            meeting_id: meeting.into(),
            meeting_title: meeting.into(),
            started_at: "2026-11-28T10:00:00Z".into(),
            segments: segments
                .iter()
                .map(|&(id, start_ms, text)| Segment {
                    id,
                    start_ms,
                    end_ms: start_ms + 3_000,
                    channel: 0,
                    speaker_id: None,
                    text: text.into(),
                    words: Vec::new(),
                })
                .collect(),
            speakers: Vec::new(),
        }
    }

    #[test]
    fn an_answer_citing_a_segment_of_the_wrong_meeting_is_unsupported() {
        let passages = [
            passage("a", &[(1, 1_000, "The price stays at twelve euros.")]),
            passage("b", &[(1, 5_000, "Lunch is at noon.")]),
        ];
        let cite = |m: &str, at_ms| Citation {
            segment_id: 1,
            at_ms,
            meeting_id: Some(m.into()),
        };
        let mut good = Answer {
            markdown: "The price stays at twelve euros.".into(),
            citations: vec![cite("a", 1_000)],
            grounding: Grounding::Unchecked,
        };
        check_answer(&mut good, &passages);
        assert_eq!(good.grounding, Grounding::Supported);
        let mut wrong = Answer {
            citations: vec![cite("b", 5_000)],
            ..good.clone()
        };
        check_answer(&mut wrong, &passages);
        assert_eq!(wrong.grounding, Grounding::Unsupported);
        let mut unknown = Answer {
            citations: vec![cite("zzz", 1_000)],
            ..good.clone()
        };
        check_answer(&mut unknown, &passages);
        assert_eq!(unknown.grounding, Grounding::Unsupported);
        assert!(unknown.citations.is_empty());
    }
}
