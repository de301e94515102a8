//! The plugin contract, one module per released version beside its bindings, each converting
//! between its generated types and the host model (`crate::model`). A plugin built for an older
//! contract is adapted to the latest host types; the host itself only works with the model.

pub mod since_v0_1;
pub mod since_v0_2;

/// A released version of the `minutes:plugin` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContractVersion {
    V0_1,
    V0_2,
}

impl ContractVersion {
    pub const LATEST: ContractVersion = ContractVersion::V0_2;
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_1, ContractVersion::V0_2];

    /// The package version in import names: `minutes:plugin/log@0.1.0`.
    pub fn package_version(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// The `api` value a plugin.toml states for it.
    pub fn api(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1",
            ContractVersion::V0_2 => "0.2",
        }
    }

    pub fn from_api(api: &str) -> Option<ContractVersion> {
        [ContractVersion::V0_1, ContractVersion::V0_2]
            .into_iter()
            .find(|v| v.api() == api)
    }

    fn from_package_version(v: &str) -> Option<ContractVersion> {
        [ContractVersion::V0_1, ContractVersion::V0_2]
            .into_iter()
            .find(|c| c.package_version() == v)
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "minutes:plugin@{}", self.package_version())
    }
}

/// What a component's own import and export names say about the contract it was built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spoken {
    /// Every `minutes:plugin/…` name carries this version.
    One(ContractVersion),
    /// No `minutes:plugin/…` name at all: nothing contradicts the manifest's claim.
    Unstated,
    /// Names of more than one version, or of a version this host does not know, e.g.
    /// `["0.1.0", "0.2.0"]`.
    Mixed(Vec<String>),
}

/// Reads the contract version from a component's import and export names
/// (`minutes:plugin/types@0.1.0`). A world's exports are plain functions, but the types they use
/// come from the imported `types` interface, so every real plugin names its version.
pub fn spoken<'a>(names: impl IntoIterator<Item = &'a str>) -> Spoken {
    let mut versions: Vec<&str> = names
        .into_iter()
        .filter_map(|n| n.strip_prefix("minutes:plugin/"))
        .map(|rest| rest.split_once('@').map_or("", |(_, v)| v))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    match versions.as_slice() {
        [] => Spoken::Unstated,
        [one] => match ContractVersion::from_package_version(one) {
            Some(v) => Spoken::One(v),
            None => Spoken::Mixed(vec![one.to_string()]),
        },
        many => Spoken::Mixed(many.iter().map(|v| v.to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_names() {
        assert_eq!(
            spoken([
                "wasi:cli/environment@0.2.6",
                "minutes:plugin/types@0.1.0",
                "minutes:plugin/log@0.1.0",
                "info",
            ]),
            Spoken::One(ContractVersion::V0_1)
        );
        assert_eq!(
            spoken(["minutes:plugin/types@0.2.0", "minutes:plugin/llm@0.2.0"]),
            Spoken::One(ContractVersion::V0_2)
        );
        assert_eq!(spoken(["wasi:io/streams@0.2.6", "info"]), Spoken::Unstated);
        assert_eq!(
            spoken(["minutes:plugin/types@0.2.0", "minutes:plugin/log@0.1.0"]),
            Spoken::Mixed(vec!["0.1.0".into(), "0.2.0".into()])
        );
        assert_eq!(
            spoken(["minutes:plugin/types@9.0.0"]),
            Spoken::Mixed(vec!["9.0.0".into()])
        );
        assert_eq!(
            spoken(["minutes:plugin/types"]),
            Spoken::Mixed(vec![String::new()])
        );
    }

    #[test]
    fn api_claims_map_to_versions() {
        assert_eq!(
            ContractVersion::from_api("0.1"),
            Some(ContractVersion::V0_1)
        );
        assert_eq!(
            ContractVersion::from_api("0.2"),
            Some(ContractVersion::V0_2)
        );
        assert_eq!(ContractVersion::from_api("0.3"), None);
        assert_eq!(ContractVersion::V0_2.to_string(), "minutes:plugin@0.2.0");
    }
}
