//! template-extractive: notes without a language model, so summaries work offline and send
//! nothing anywhere. Key sentences (TextRank), decision and action-item candidates (cue phrases,
//! owners and due dates), and who spoke how long. Deterministic: the same transcript always gives
//! the same notes.

mod rank;
mod talk;

use minutes_sdk::prompt::timestamp;
use minutes_sdk::template::{Template, export_template};
use minutes_sdk::types::{
    ActionItem, Citation, Decision, MeetingMetadata, PluginError, Section, Summary, TemplateInfo,
    Transcript,
};
use std::fmt::Write;

use minutes_sdk::cues::{self, ActionCandidate, action_candidates, decision_candidates};
pub use talk::{TalkTime, talk_time};

/// Default for config `key_sentences`.
pub const KEY_SENTENCES: usize = 8;
/// Sentences with fewer content words ("Agreed.", "Right.") are key sentences only when no
/// sentence has this many.
const MIN_KEY_WORDS: usize = 4;
/// The floor when no sentence reaches [`MIN_KEY_WORDS`]: "Yes." or "Okay, fine." never count.
const SHORT_KEY_WORDS: usize = 2;

pub struct Extractive;

impl Template for Extractive {
    fn info() -> TemplateInfo {
        TemplateInfo {
            id: "template-extractive".into(),
            name: "Extractive notes (offline)".into(),
            description:
                "Key sentences, decision and action-item candidates, and who spoke how long; no \
                          language model, nothing leaves the machine."
                    .into(),
            uses_llm: false,
            // No model to answer with: `minutes ask` lists the passages instead.
            answers_questions: false,
        }
    }

    fn summarize(
        transcript: Transcript,
        metadata: MeetingMetadata,
    ) -> Result<Summary, PluginError> {
        let key_sentences = match minutes_sdk::config::get("key_sentences") {
            None => KEY_SENTENCES,
            Some(minutes_sdk::config::Value::Integer(n)) if (1..=50).contains(&n) => n as usize,
            Some(_) => {
                return Err(PluginError::Config(
                    "`key_sentences` must be a whole number from 1 to 50".into(),
                ));
            }
        };
        extract(&transcript, &metadata, key_sentences)
    }
}

export_template!(Extractive);

/// The extractive summary of `transcript`.
pub fn extract(
    transcript: &Transcript,
    metadata: &MeetingMetadata,
    key_sentences: usize,
) -> Result<Summary, PluginError> {
    let sentences = cues::sentences(transcript, &metadata.channel_names);
    if sentences.is_empty() {
        return Err(PluginError::InvalidInput(
            "the transcript has no text to summarise".into(),
        ));
    }
    let words: Vec<Vec<String>> = sentences
        .iter()
        .map(|s| cues::content_words(&s.text))
        .collect();
    let times = talk_time(transcript, &metadata.channel_names);
    let participants: Vec<String> = times.iter().map(|t| t.speaker.clone()).collect();
    let quote = |i: usize| {
        let s = &sentences[i];
        format!("[{}] {}: {}", timestamp(s.start_ms), s.speaker, s.text)
    };

    let mut key = rank::key_sentences(&words, key_sentences, MIN_KEY_WORDS);
    if key.is_empty() {
        // Only short sentences (or whisper cut one sentence into short segments): rank those
        // rather than show no key sentence at all.
        key = rank::key_sentences(&words, key_sentences, SHORT_KEY_WORDS);
    }
    // Every item cites the segment its sentence was taken from.
    let cite = |sentence: usize| -> Vec<Citation> {
        let seg = &transcript.segments[sentences[sentence].segment];
        vec![Citation::of(seg)]
    };
    let candidates = decision_candidates(&sentences);
    let decision_lines: Vec<String> = candidates
        .iter()
        .map(|&i| {
            format!(
                "{} ({}, {})",
                sentences[i].text,
                sentences[i].speaker,
                timestamp(sentences[i].start_ms)
            )
        })
        .collect();
    // The structured item leaves the time to its citation, which exporters show.
    let decisions: Vec<Decision> = candidates
        .iter()
        .map(|&i| {
            Decision::new(
                format!("{} ({})", sentences[i].text, sentences[i].speaker),
                cite(i),
            )
        })
        .collect();
    let actions = action_candidates(&sentences, &participants);

    let mut sections = Vec::new();
    // A short meeting may have no sentence long enough to rank: no heading over nothing.
    if !key.is_empty() {
        sections.push(Section {
            title: "Key sentences".into(),
            body: key
                .iter()
                .map(|&i| format!("- {}", quote(i)))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    sections.push(Section {
        title: "Who spoke how long".into(),
        body: talk::table(&times),
    });

    let action_items: Vec<ActionItem> = actions
        .iter()
        .map(|a| ActionItem {
            owner: a.owner.clone(),
            owner_speaker_id: a
                .owner
                .as_deref()
                .and_then(|o| transcript.speaker_id_named(o)),
            due: a.due.clone(),
            citations: cite(a.sentence),
            ..ActionItem::new(a.task.clone())
        })
        .collect();
    let markdown = render(&sections, &decision_lines, &actions);
    Ok(Summary {
        markdown,
        sections,
        action_items,
        decisions,
        open_questions: Vec::new(),
    })
}

fn render(sections: &[Section], decisions: &[String], actions: &[ActionCandidate]) -> String {
    let mut md = String::from(
        "_Extractive notes: sentences picked from the transcript by rules, without a language model. \
         Decisions and action items are candidates to check._\n\n",
    );
    for s in sections {
        let _ = writeln!(md, "## {}\n\n{}\n", s.title, s.body);
    }
    if !decisions.is_empty() {
        md.push_str("## Decision candidates\n\n");
        decisions.iter().for_each(|d| {
            let _ = writeln!(md, "- {d}");
        });
        md.push('\n');
    }
    if !actions.is_empty() {
        md.push_str("## Action-item candidates\n\n");
        for a in actions {
            let owner = a.owner.as_deref().unwrap_or("unassigned");
            let due = a
                .due
                .as_deref()
                .map(|d| format!(", due {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "- [ ] {} ({owner}{due}) — said by {} at {}",
                a.task,
                a.speaker,
                timestamp(a.start_ms)
            );
        }
        md.push('\n');
    }
    md.trim_end().to_string() + "\n"
}

#[cfg(test)]
mod tests;
