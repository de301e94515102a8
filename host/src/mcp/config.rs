//! `[mcp]` in config.toml: what `minutes mcp` may disclose to an AI assistant.
//!
//! ```toml
//! [mcp]
//! hidden_labels = ["hr", "legal"]   # never exposed (default: the labels whose [policy.labels.*]
//!                                   # says local_only or no_provider)
//! allowed_labels = ["acme"]         # only these; an unlabelled meeting is hidden too
//! transcripts = true                # expose transcripts (default: metadata, summaries,
//!                                   # decisions and action items only)
//! ```
//!
//! A meeting carrying any hidden label stays hidden even when another of its labels is
//! allowed: the stricter rule wins.

use crate::summarize::policy::Policy;
use std::collections::BTreeSet;

const KNOWN_KEYS: &str = "hidden_labels, allowed_labels, transcripts";

/// The disclosure rules `minutes mcp` serves under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpConfig {
    /// Labels (lower case) whose meetings are never exposed.
    pub hidden_labels: BTreeSet<String>,
    /// When set, only meetings with one of these labels (lower case) are exposed.
    pub allowed_labels: Option<BTreeSet<String>>,
    /// Whether transcripts (and transcript passages in search results) are exposed.
    pub transcripts: bool,
}

impl McpConfig {
    /// Reads `[mcp]` (and, for the default hidden labels, `[policy.labels.*]`) from a parsed
    /// config.toml; `None` (no config.toml) means the defaults. Errors name the key and the fix.
    pub fn from_config(table: Option<&toml::Table>) -> Result<McpConfig, String> {
        let Some(table) = table else {
            return Ok(McpConfig::default());
        };
        let policy = Policy::from_config(table)?;
        let mut config = McpConfig {
            hidden_labels: policy
                .labels
                .iter()
                .filter(|(_, rules)| rules.local_only || rules.no_provider)
                .map(|(label, _)| label.to_lowercase())
                .collect(),
            ..McpConfig::default()
        };
        let Some(section) = table.get("mcp") else {
            return Ok(config);
        };
        let section = section.as_table().ok_or("`mcp` must be a table: [mcp]")?;
        for (key, value) in section {
            match key.as_str() {
                "hidden_labels" => config.hidden_labels = labels(key, value)?,
                "allowed_labels" => config.allowed_labels = Some(labels(key, value)?),
                "transcripts" => {
                    config.transcripts = value.as_bool().ok_or(
                        "mcp.transcripts must be true or false (true exposes transcripts to the assistant)",
                    )?
                }
                other => {
                    return Err(format!(
                        "unknown key mcp.{other}; known keys: {KNOWN_KEYS}"
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Whether a meeting with these labels may be shown to the assistant at all.
    pub fn exposes(&self, labels: &[String]) -> bool {
        let lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
        if lower.iter().any(|l| self.hidden_labels.contains(l)) {
            return false;
        }
        match &self.allowed_labels {
            None => true,
            Some(allowed) => lower.iter().any(|l| allowed.contains(l)),
        }
    }

    /// One line for stderr at start-up: what this server will and will not expose.
    pub fn describe(&self) -> String {
        let list = |set: &BTreeSet<String>| {
            set.iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        match &self.allowed_labels {
            Some(allowed) if allowed.is_empty() => {
                parts.push("no meeting (allowed_labels is empty)".to_string())
            }
            Some(allowed) => parts.push(format!("only meetings labelled {}", list(allowed))),
            None => parts.push("every meeting".to_string()),
        }
        if !self.hidden_labels.is_empty() {
            parts.push(format!(
                "except those labelled {}",
                list(&self.hidden_labels)
            ));
        }
        parts.push(match self.transcripts {
            true => "with transcripts".to_string(),
            false => "without transcripts (set `transcripts = true` under [mcp] to expose them)"
                .to_string(),
        });
        parts.join(" ")
    }
}

fn labels(key: &str, value: &toml::Value) -> Result<BTreeSet<String>, String> {
    let bad = || format!("mcp.{key} must be a list of labels, e.g. {key} = [\"hr\", \"legal\"]");
    let list = value.as_array().ok_or_else(bad)?;
    let mut out = BTreeSet::new();
    for item in list {
        let label = item.as_str().ok_or_else(bad)?.trim();
        if label.is_empty() {
            return Err(format!("mcp.{key} has an empty label; remove it"));
        }
        out.insert(label.to_lowercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<McpConfig, String> {
        let table: toml::Table = toml::from_str(text).expect("toml");
        McpConfig::from_config(Some(&table))
    }

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn local_only_labels_are_hidden_by_default() {
        let c = parse(
            "[policy.labels.Confidential]\nlocal_only = true\n[policy.labels.hr]\nno_provider = true\n\
             [policy.labels.sales]\nforbid_training = true\n",
        )
        .expect("config");
        assert!(!c.exposes(&labels(&["atlas", "confidential"])));
        assert!(!c.exposes(&labels(&["HR"])));
        assert!(c.exposes(&labels(&["sales"])));
        assert!(c.exposes(&[]));
        assert!(!c.transcripts);
        assert_eq!(
            McpConfig::from_config(None).expect("none"),
            McpConfig::default()
        );
    }

    #[test]
    fn an_allow_list_hides_unlabelled_meetings_and_hidden_labels_still_win() {
        let c = parse(
            "[policy.labels.confidential]\nlocal_only = true\n[mcp]\nallowed_labels = [\"Acme\"]\ntranscripts = true\n",
        )
        .expect("config");
        assert!(c.exposes(&labels(&["acme"])));
        assert!(!c.exposes(&[]));
        assert!(!c.exposes(&labels(&["atlas"])));
        assert!(!c.exposes(&labels(&["acme", "confidential"])));
        assert!(c.transcripts);
        // Explicit hidden labels replace the default from [policy].
        let c =
            parse("[policy.labels.confidential]\nlocal_only = true\n[mcp]\nhidden_labels = []\n")
                .expect("config");
        assert!(c.exposes(&labels(&["confidential"])));
    }

    #[test]
    fn bad_values_are_named_with_the_fix() {
        let err = parse("[mcp]\ntranscripts = \"yes\"\n").expect_err("string");
        assert!(
            err.contains("mcp.transcripts must be true or false"),
            "{err}"
        );
        let err = parse("[mcp]\nhidden_labels = \"hr\"\n").expect_err("not a list");
        assert!(err.contains("mcp.hidden_labels must be a list"), "{err}");
        let err = parse("[mcp]\nallowed_labels = [1]\n").expect_err("not strings");
        assert!(err.contains("mcp.allowed_labels must be a list"), "{err}");
        let err = parse("[mcp]\nhidden_labels = [\" \"]\n").expect_err("empty");
        assert!(err.contains("empty label"), "{err}");
        let err = parse("[mcp]\ntranscript = true\n").expect_err("typo");
        assert!(
            err.contains("unknown key mcp.transcript") && err.contains("transcripts"),
            "{err}"
        );
        let err = parse("mcp = 1\n").expect_err("not a table");
        assert!(err.contains("[mcp]"), "{err}");
    }
}
