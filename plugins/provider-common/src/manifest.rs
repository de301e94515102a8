//! The facts a provider declares in its `plugin.toml` — id, name, data policy — read from the
//! manifest compiled into the plugin, so `info()` and the manifest the host shows the user can
//! never disagree.

use minutes_sdk::types::{DataPolicy, Tristate};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Facts {
    pub id: String,
    pub name: String,
    pub data_policy: DataPolicy,
}

#[derive(Deserialize)]
struct Manifest {
    id: String,
    name: String,
    data_policy: Policy,
}

#[derive(Deserialize)]
struct Policy {
    retention: String,
    trains_on_data: String,
    zero_retention_available: String,
    zero_retention_default: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    certifications: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    last_verified: Option<String>,
}

fn tristate(s: &str) -> Tristate {
    match s {
        "yes" => Tristate::Yes,
        "no" => Tristate::No,
        _ => Tristate::Unknown,
    }
}

impl Facts {
    /// Parses the plugin's own manifest. The host validated the same text at install, so a
    /// failure here is a packaging bug: it is reported with an id nobody can mistake.
    pub fn parse(manifest: &str) -> Facts {
        match toml::from_str::<Manifest>(manifest) {
            Ok(m) => Facts {
                id: m.id,
                name: m.name,
                data_policy: DataPolicy {
                    retention: m.data_policy.retention,
                    trains_on_data: tristate(&m.data_policy.trains_on_data),
                    zero_retention_available: tristate(&m.data_policy.zero_retention_available),
                    zero_retention_default: tristate(&m.data_policy.zero_retention_default),
                    region: m.data_policy.region,
                    certifications: m.data_policy.certifications,
                    sources: m.data_policy.sources,
                    last_verified: m.data_policy.last_verified,
                },
            },
            Err(e) => Facts {
                id: "invalid-manifest".into(),
                name: format!(
                    "plugin.toml compiled into this plugin is invalid: {}",
                    e.message()
                ),
                data_policy: DataPolicy {
                    retention: "unknown".into(),
                    trains_on_data: Tristate::Unknown,
                    zero_retention_available: Tristate::Unknown,
                    zero_retention_default: Tristate::Unknown,
                    region: None,
                    certifications: vec![],
                    sources: vec![],
                    last_verified: None,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id_name_and_policy() {
        let f = Facts::parse(
            "id = \"x\"\nname = \"X\"\nversion = \"0.1.0\"\n[component]\nfile = \"x.wasm\"\n\
             [data_policy]\nretention = \"none\"\ntrains_on_data = \"no\"\nzero_retention_available = \"yes\"\n\
             zero_retention_default = \"unknown\"\nregion = \"US\"\nsources = [\"https://a\"]\n",
        );
        assert_eq!((f.id.as_str(), f.name.as_str()), ("x", "X"));
        assert_eq!(f.data_policy.trains_on_data, Tristate::No);
        assert_eq!(f.data_policy.zero_retention_available, Tristate::Yes);
        assert_eq!(f.data_policy.zero_retention_default, Tristate::Unknown);
        assert_eq!(f.data_policy.region.as_deref(), Some("US"));
        assert_eq!(f.data_policy.sources, vec!["https://a".to_string()]);
    }
}
