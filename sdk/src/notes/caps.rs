//! How long one answer may be: the schema's list and string caps, sized to the tokens the
//! request leaves for the answer.
//!
//! A small model held to a schema fills a list or a string to its cap when it loops. If the
//! largest answer the caps allow is longer than the answer's token budget, the endpoint cuts it
//! off before the last lists (the shared 0.5B model: 15 of 36 answers, every one before
//! `decisions` was complete). So each request gets the most generous caps whose largest answer
//! fits its budget: with an endpoint that enforces the schema, a cut-off cannot happen.

use super::{
    MAX_ACTION_ITEMS, MAX_CITATIONS, MAX_DECISIONS, MAX_ITEM_CHARS, MAX_NAME_CHARS,
    MAX_OPEN_QUESTIONS, MAX_PARAGRAPH_CHARS, MAX_SECTION_ITEMS, NotesSpec, SectionFormat,
};
use crate::tokens;
use serde_json::{Map, Value, json};

/// Caps on one answer's lists (`maxItems`) and strings (`maxLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerCaps {
    pub decisions: usize,
    pub action_items: usize,
    pub open_questions: usize,
    /// Items of each list section (key points, …).
    pub section_items: usize,
    /// Citations per item.
    pub citations: usize,
    /// A paragraph or one-line section.
    pub paragraph_chars: usize,
    /// A list item, decision, task or question.
    pub item_chars: usize,
    /// An owner without a list of speakers, a due date.
    pub name_chars: usize,
}

/// Longest citation id when the schema does not list the ids (`"s1234567"`).
pub const MAX_ID_CHARS: usize = 12;

impl AnswerCaps {
    /// The caps when the budget allows them (chosen on the tune split, see [`MAX_DECISIONS`]).
    pub const DEFAULT: AnswerCaps = AnswerCaps {
        decisions: MAX_DECISIONS,
        action_items: MAX_ACTION_ITEMS,
        open_questions: MAX_OPEN_QUESTIONS,
        section_items: MAX_SECTION_ITEMS,
        citations: MAX_CITATIONS,
        paragraph_chars: MAX_PARAGRAPH_CHARS,
        item_chars: MAX_ITEM_CHARS,
        name_chars: MAX_NAME_CHARS,
    };

    /// From generous to tight. Decisions and action items keep the five the tune split's
    /// references need at most for as long as they can; open questions, key points, citations
    /// and lengths give way first (a shorter item still counts, a missing one does not).
    const LADDER: [AnswerCaps; 8] = [
        AnswerCaps::DEFAULT,
        AnswerCaps::rung(5, 6, 3, 5, 2, 400, 180, 40),
        AnswerCaps::rung(5, 5, 2, 4, 2, 320, 160, 40),
        AnswerCaps::rung(5, 5, 2, 3, 1, 280, 140, 32),
        AnswerCaps::rung(5, 5, 1, 2, 1, 240, 120, 32),
        AnswerCaps::rung(4, 4, 1, 2, 1, 200, 110, 24),
        AnswerCaps::rung(3, 3, 1, 1, 1, 160, 100, 24),
        AnswerCaps::rung(2, 2, 1, 1, 1, 120, 80, 24),
    ];

    #[allow(clippy::too_many_arguments)]
    const fn rung(
        decisions: usize,
        action_items: usize,
        open_questions: usize,
        section_items: usize,
        citations: usize,
        paragraph_chars: usize,
        item_chars: usize,
        name_chars: usize,
    ) -> AnswerCaps {
        AnswerCaps {
            decisions,
            action_items,
            open_questions,
            section_items,
            citations,
            paragraph_chars,
            item_chars,
            name_chars,
        }
    }

    /// The most generous caps whose largest answer fits `budget` tokens, for an answer to
    /// `spec` citing `ids` with owners among `owners` (as in [`NotesSpec::json_schema_capped`]).
    /// The tightest when none fits: a window that small has bigger problems, and the SDK keeps
    /// what was complete before a cut.
    pub fn within(spec: &NotesSpec, budget: u32, ids: &[u32], owners: &[String]) -> AnswerCaps {
        let tightest = AnswerCaps::LADDER[AnswerCaps::LADDER.len() - 1];
        AnswerCaps::LADDER
            .into_iter()
            .find(|caps| caps.largest_answer_tokens(spec, ids, owners) <= budget)
            .unwrap_or(tightest)
    }

    /// Estimated tokens of the largest answer these caps allow: every list full, every string
    /// at its length in English prose with names and numbers, pretty-printed as the models
    /// write it (the SDK's estimate, which counts more tokens than real tokenizers do).
    pub fn largest_answer_tokens(&self, spec: &NotesSpec, ids: &[u32], owners: &[String]) -> u32 {
        let id = ids
            .iter()
            .max()
            .map_or("s".to_string() + &"9".repeat(MAX_ID_CHARS - 1), |id| {
                format!("s{id}")
            });
        let owner = owners
            .iter()
            .max_by_key(|o| o.chars().count())
            .cloned()
            .unwrap_or_else(|| filler(self.name_chars));
        let citations = vec![id; self.citations];
        let cited = |n: usize| -> Value {
            let item = json!({"text": filler(self.item_chars), "citations": citations});
            Value::Array(vec![item; n])
        };
        let mut sections = Map::new();
        for s in &spec.sections {
            let value = match s.format {
                SectionFormat::List => json!(vec![filler(self.item_chars); self.section_items]),
                SectionFormat::Paragraph | SectionFormat::String => {
                    json!(filler(self.paragraph_chars))
                }
            };
            sections.insert(s.key.clone(), value);
        }
        let action = json!({
            "owner": owner,
            "task": filler(self.item_chars),
            "due": filler(self.name_chars),
            "citations": citations,
        });
        let answer = json!({
            "sections": sections,
            "decisions": cited(self.decisions),
            "action_items": vec![action; self.action_items],
            "open_questions": cited(self.open_questions),
        });
        tokens::estimate(&serde_json::to_string_pretty(&answer).unwrap_or_default())
    }
}

/// `n` characters of meeting-note prose with names, numbers and punctuation.
fn filler(n: usize) -> String {
    const TEXT: &str = "Maria sends the revised budget of 12,400 euros to Tom by Friday, June 14; \
                        the team agrees to move the launch and review it again next week. ";
    TEXT.chars().cycle().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::weekly_sync_spec as spec;

    fn speakers() -> Vec<String> {
        ["Maria", "Tom", "Jonas"].map(String::from).to_vec()
    }

    #[test]
    fn the_estimate_is_not_below_the_test_models_own_count() {
        // The largest answer the default caps allow, written out in English and counted by the
        // shared llama.cpp server's /tokenize (qwen2.5-coder 0.5B): 1,715 tokens.
        let ids: Vec<u32> = (0..120).collect();
        let estimate = AnswerCaps::DEFAULT.largest_answer_tokens(&spec(), &ids, &speakers());
        assert!(estimate >= 1_715, "{estimate}");
        assert!(estimate <= 3_000, "not absurdly above it: {estimate}");
    }

    #[test]
    fn each_rung_is_tighter_than_the_one_before() {
        let ids: Vec<u32> = (0..120).collect();
        let sizes: Vec<u32> = AnswerCaps::LADDER
            .iter()
            .map(|c| c.largest_answer_tokens(&spec(), &ids, &speakers()))
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] > w[1]), "{sizes:?}");
    }

    #[test]
    fn the_caps_chosen_fit_the_budget_and_are_the_most_generous_that_do() {
        let ids: Vec<u32> = (0..120).collect();
        let (spec, owners) = (spec(), speakers());
        let default = AnswerCaps::DEFAULT.largest_answer_tokens(&spec, &ids, &owners);
        assert_eq!(
            AnswerCaps::within(&spec, default, &ids, &owners),
            AnswerCaps::DEFAULT
        );
        let caps = AnswerCaps::within(&spec, 1_024, &ids, &owners);
        assert!(caps.largest_answer_tokens(&spec, &ids, &owners) <= 1_024);
        assert!(caps.decisions < MAX_DECISIONS, "{caps:?}");
        let index = AnswerCaps::LADDER.iter().position(|c| *c == caps);
        let looser = AnswerCaps::LADDER[index.expect("a rung") - 1];
        assert!(looser.largest_answer_tokens(&spec, &ids, &owners) > 1_024);
        // Nothing fits 50 tokens: the tightest caps, not a panic or empty lists.
        let tight = AnswerCaps::within(&spec, 50, &ids, &owners);
        assert_eq!(tight, AnswerCaps::LADDER[AnswerCaps::LADDER.len() - 1]);
        assert!(tight.decisions >= 1 && tight.action_items >= 1);
    }

    #[test]
    fn without_a_list_of_ids_or_owners_the_longest_allowed_ones_are_counted() {
        let (spec, owners) = (spec(), speakers());
        let listed = AnswerCaps::DEFAULT.largest_answer_tokens(&spec, &[1, 2], &owners);
        let open = AnswerCaps::DEFAULT.largest_answer_tokens(&spec, &[], &[]);
        assert!(open > listed, "{open} > {listed}");
    }
}
