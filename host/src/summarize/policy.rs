//! Data-policy routing: the user's rules about where a transcript may go, checked before a
//! provider is called. Rules live in config.toml:
//!
//! ```toml
//! [policy]
//! require_zero_retention = true   # the provider keeps nothing by default (documented "yes")
//! forbid_training = true          # the provider does not train on what it is sent ("no")
//!
//! [policy.labels.confidential]    # meetings labelled `confidential`
//! local_only = true               # only providers that reach nothing but this machine
//! ```
//!
//! A provider that only reaches loopback origins is local: the transcript never leaves the
//! machine, so retention and training rules are met by construction. An `unknown` policy
//! answer never satisfies a rule.

use crate::plugins::manifest::{DataPolicyDecl, Tristate};
use crate::plugins::net::allowlist::AllowedOrigin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One set of rules; `[policy]` and each `[policy.labels.<label>]` have the same keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub require_zero_retention: bool,
    #[serde(default)]
    pub forbid_training: bool,
    #[serde(default)]
    pub local_only: bool,
    /// No provider at all: such meetings are summarised only by offline templates.
    #[serde(default)]
    pub no_provider: bool,
}

/// `[policy]`: the rules for every meeting, plus rules per meeting label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub rules: Rules,
    pub labels: BTreeMap<String, Rules>,
}

/// What the check knows about a provider.
pub struct ProviderFacts<'a> {
    pub id: &'a str,
    pub policy: Option<&'a DataPolicyDecl>,
    /// Origins it may reach: declared AND granted.
    pub origins: &'a [AllowedOrigin],
}

impl ProviderFacts<'_> {
    /// Reaches nothing but this machine.
    pub fn is_local(&self) -> bool {
        self.origins.iter().all(AllowedOrigin::is_loopback)
    }

    fn destinations(&self) -> String {
        match self.origins.is_empty() {
            true => "no origin".into(),
            false => self
                .origins
                .iter()
                .map(AllowedOrigin::canonical)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "refused to send this meeting to provider `{provider}`: {rule} ({why}); nothing was sent. {fix}"
)]
pub struct Refusal {
    pub provider: String,
    /// The rule as written in config.toml, e.g. `[policy.labels.confidential] local_only = true`.
    pub rule: String,
    pub why: String,
    pub fix: String,
}

impl Policy {
    /// `[policy]` from config.toml text; absent means no rules.
    pub fn from_config(table: &toml::Table) -> Result<Policy, String> {
        match table.get("policy") {
            None => Ok(Policy::default()),
            Some(v) => {
                let mut table = v.as_table().ok_or("[policy] must be a table")?.clone();
                let labels = match table.remove("labels") {
                    None => BTreeMap::new(),
                    Some(l) => l.try_into().map_err(|e: toml::de::Error| {
                        format!("[policy.labels]: {}", e.message())
                    })?,
                };
                let rules = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e: toml::de::Error| format!("[policy]: {}", e.message()))?;
                Ok(Policy { rules, labels })
            }
        }
    }

    /// Checks every rule that applies to a meeting with `labels` against `provider`.
    pub fn check(&self, labels: &[String], provider: &ProviderFacts) -> Result<(), Refusal> {
        check_rules(&self.rules, "[policy]", provider)?;
        for label in labels {
            if let Some(rules) = self.labels.get(label) {
                check_rules(
                    rules,
                    &format!("[policy.labels.{label}] (this meeting is labelled `{label}`)"),
                    provider,
                )?;
            }
        }
        Ok(())
    }

    /// Whether rules for `labels` forbid every provider.
    pub fn forbids_providers(&self, labels: &[String]) -> Option<String> {
        if self.rules.no_provider {
            return Some("[policy] no_provider = true".into());
        }
        labels
            .iter()
            .find(|l| self.labels.get(*l).is_some_and(|r| r.no_provider))
            .map(|l| format!("[policy.labels.{l}] no_provider = true"))
    }
}

fn check_rules(rules: &Rules, section: &str, p: &ProviderFacts) -> Result<(), Refusal> {
    let refuse = |key: &str, why: String, fix: &str| Refusal {
        provider: p.id.to_string(),
        rule: format!("{section} {key} = true"),
        why,
        fix: fix.to_string(),
    };
    let local_fix = "Use a provider on this machine (e.g. `ollama` on http://localhost:11434), or `--template extractive` (no provider).";
    if rules.no_provider {
        return Err(refuse(
            "no_provider",
            "no provider may be used".into(),
            "Use `--template extractive`, which needs no provider.",
        ));
    }
    if p.is_local() {
        return Ok(());
    }
    if rules.local_only {
        return Err(refuse(
            "local_only",
            format!("it sends to {}", p.destinations()),
            local_fix,
        ));
    }
    let answer = |f: fn(&DataPolicyDecl) -> Tristate| p.policy.map(f).unwrap_or(Tristate::Unknown);
    if rules.require_zero_retention && answer(|d| d.zero_retention_default) != Tristate::Yes {
        let why = match p.policy {
            None => "its manifest declares no data policy".to_string(),
            Some(d) => format!(
                "zero retention by default is {:?} (retention: {})",
                d.zero_retention_default, d.retention
            )
            .to_lowercase(),
        };
        return Err(refuse("require_zero_retention", why, local_fix));
    }
    if rules.forbid_training && answer(|d| d.trains_on_data) != Tristate::No {
        let why = match p.policy {
            None => "its manifest declares no data policy".to_string(),
            Some(d) => {
                format!("whether it trains on data is {:?}", d.trains_on_data).to_lowercase()
            }
        };
        return Err(refuse("forbid_training", why, local_fix));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(zero_default: Tristate, trains: Tristate) -> DataPolicyDecl {
        DataPolicyDecl {
            retention: "none".into(),
            trains_on_data: trains,
            zero_retention_available: Tristate::Yes,
            zero_retention_default: zero_default,
            region: None,
            certifications: vec![],
            sources: vec![],
            last_verified: None,
        }
    }

    fn origins(list: &[&str]) -> Vec<AllowedOrigin> {
        list.iter()
            .map(|o| AllowedOrigin::parse(o).expect("origin"))
            .collect()
    }

    fn policy(text: &str) -> Policy {
        Policy::from_config(&toml::from_str(text).expect("toml")).expect("policy")
    }

    #[test]
    fn rules_against_providers() {
        let zdr = decl(Tristate::Yes, Tristate::No);
        let keeps = decl(Tristate::No, Tristate::No);
        let unknown = decl(Tristate::Unknown, Tristate::Unknown);
        let cloud = origins(&["https://api.fireworks.ai"]);
        let local = origins(&["http://localhost:11434", "http://127.0.0.1:8080"]);
        let strict = "[policy]\nrequire_zero_retention = true\nforbid_training = true\n";
        let conf = "[policy.labels.confidential]\nlocal_only = true\n";
        // (config, meeting labels, provider's declaration, reachable origins, expected refusal)
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            Option<&'a DataPolicyDecl>,
            &'a [AllowedOrigin],
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            ("", &[], None, &cloud, None),
            (strict, &[], Some(&zdr), &cloud, None),
            (
                strict,
                &[],
                Some(&keeps),
                &cloud,
                Some("require_zero_retention"),
            ),
            (
                strict,
                &[],
                Some(&unknown),
                &cloud,
                Some("require_zero_retention"),
            ),
            (strict, &[], None, &cloud, Some("declares no data policy")),
            (strict, &[], None, &local, None),
            (
                "[policy]\nforbid_training = true\n",
                &[],
                Some(&unknown),
                &cloud,
                Some("forbid_training"),
            ),
            (
                conf,
                &["confidential"],
                Some(&zdr),
                &cloud,
                Some(
                    "[policy.labels.confidential] (this meeting is labelled `confidential`) local_only",
                ),
            ),
            (conf, &["confidential"], Some(&zdr), &local, None),
            (conf, &["public"], Some(&zdr), &cloud, None),
            (
                "[policy.labels.hr]\nno_provider = true\n",
                &["hr"],
                None,
                &local,
                Some("no_provider"),
            ),
        ];
        for (i, (config, labels, pol, origins, expect)) in cases.iter().enumerate() {
            let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
            let facts = ProviderFacts {
                id: "p",
                policy: *pol,
                origins,
            };
            let got = policy(config).check(&labels, &facts);
            match expect {
                None => assert!(got.is_ok(), "case {i}: {got:?}"),
                Some(needle) => {
                    let msg = got
                        .expect_err(&format!("case {i} should refuse"))
                        .to_string();
                    assert!(msg.contains(needle), "case {i}: {msg}");
                    assert!(msg.contains("nothing was sent"), "case {i}: {msg}");
                }
            }
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let table: toml::Table =
            toml::from_str("[policy]\nrequire_zero_retenton = true\n").expect("toml");
        let err = Policy::from_config(&table).expect_err("typo");
        assert!(err.contains("require_zero_retenton"), "{err}");
    }
}
