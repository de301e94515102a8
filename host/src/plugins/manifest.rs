//! `plugin.toml`: what a plugin is, what it may ask for, and its limits. Parsed strictly: an
//! unknown or missing key is an error that names the key and the file.

use super::net::allowlist::AllowedOrigin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The contract versions this host speaks.
pub const SUPPORTED_API: &[&str] = &["0.1", "0.2"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub version: String,
    pub kind: Kind,
    /// Contract version, e.g. "0.1" for `minutes:plugin@0.1.0`.
    pub api: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub component: ComponentRef,
    #[serde(default)]
    pub network: Network,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretDecl>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, ConfigField>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_policy: Option<DataPolicyDecl>,
    /// An exporter's formats and the files each may write (`[formats.<id>]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub formats: BTreeMap<String, FormatDecl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Provider,
    Template,
    Exporter,
    NetworkedExporter,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Provider,
        Kind::Template,
        Kind::Exporter,
        Kind::NetworkedExporter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provider => "provider",
            Kind::Template => "template",
            Kind::Exporter => "exporter",
            Kind::NetworkedExporter => "networked-exporter",
        }
    }

    /// Kinds whose world imports `http`.
    pub fn uses_network(self) -> bool {
        matches!(self, Kind::Provider | Kind::NetworkedExporter)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentRef {
    /// File name of the component inside the package (no directories).
    pub file: String,
    /// Lower-case hex sha256 of that file.
    pub sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Origins the plugin asks to reach, e.g. "https://api.fireworks.ai".
    #[serde(default)]
    pub origins: Vec<String>,
    /// The plugin talks to an endpoint the user chooses (a custom OpenAI-compatible server):
    /// it may be granted origins beyond `origins`, and reaches only what the user grants.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub configurable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDecl {
    /// e.g. "api-key"; set with `minutes secret set <plugin> <name>`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Header the host writes the secret into.
    pub header: String,
    /// Header value with `{}` where the secret goes, e.g. "Bearer {}".
    #[serde(default = "default_secret_format")]
    pub format: String,
    /// Origins (from `network.origins`) the secret may be sent to. Empty only for a
    /// `network.configurable` plugin: then it goes to the endpoints the user grants.
    #[serde(default)]
    pub origins: Vec<String>,
}

fn default_secret_format() -> String {
    "{}".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigField {
    #[serde(rename = "type")]
    pub ty: ConfigType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory a call may use.
    #[serde(default = "Limits::default_memory")]
    pub memory_mib: u32,
    /// Wall time a call may take, network waits included.
    #[serde(default = "Limits::default_timeout")]
    pub call_timeout_secs: u32,
    /// Largest HTTP response body (decoded) the host hands the plugin.
    #[serde(default = "Limits::default_response")]
    pub max_response_mib: u32,
}

impl Limits {
    pub const MAX_MEMORY_MIB: u32 = 4096;
    pub const MAX_TIMEOUT_SECS: u32 = 3600;
    pub const MAX_RESPONSE_MIB: u32 = 512;

    fn default_memory() -> u32 {
        128
    }
    fn default_timeout() -> u32 {
        60
    }
    fn default_response() -> u32 {
        16
    }
    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: Self::default_memory(),
            call_timeout_secs: Self::default_timeout(),
            max_response_mib: Self::default_response(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tristate {
    Yes,
    No,
    Unknown,
}

/// What a provider does with the data it is sent, as its documentation states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPolicyDecl {
    pub retention: String,
    pub trains_on_data: Tristate,
    pub zero_retention_available: Tristate,
    pub zero_retention_default: Tristate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<String>,
}

/// `[formats.<id>]`: what an exporter may write for one format. The host holds the plugin to
/// this, whatever it returns at run time: a file name with another extension, or more files
/// than `max_files`, is refused before anything is written. This is what keeps an exporter
/// from writing `.bashrc` or `.git/config` into the user's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatDecl {
    /// File extensions without the dot (`["md"]`, `["tar.gz"]`). Empty for a format that
    /// delivers instead of writing (a webhook); then `max_files` must be 0.
    pub extensions: Vec<String>,
    /// Most files one export may write.
    #[serde(default = "FormatDecl::default_max_files")]
    pub max_files: u32,
}

impl FormatDecl {
    pub const MAX_FILES: u32 = 1000;

    fn default_max_files() -> u32 {
        1
    }

    /// Whether `file_name` (the last part of a path) ends in one of the declared extensions,
    /// with a name before it.
    pub fn allows(&self, file_name: &str) -> bool {
        self.extensions.iter().any(|ext| {
            file_name.len() > ext.len() + 1
                && file_name
                    .get(file_name.len() - ext.len() - 1..)
                    .is_some_and(|tail| {
                        tail.starts_with('.') && tail[1..].eq_ignore_ascii_case(ext)
                    })
        })
    }

    fn validate(&self, id: &str) -> Result<(), String> {
        if !is_slug(id, 32) {
            return Err(format!(
                "format {id:?} must be 1–32 lower-case letters, digits and '-', starting with a letter"
            ));
        }
        for ext in &self.extensions {
            let ok = !ext.is_empty()
                && ext.len() <= 16
                && !ext.starts_with('.')
                && !ext.ends_with('.')
                && !ext.contains("..")
                && ext
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.');
            if !ok {
                return Err(format!(
                    "`formats.{id}.extensions`: {ext:?} must be 1–16 lower-case letters and digits, without the leading dot (e.g. \"md\")"
                ));
            }
        }
        if self.max_files > Self::MAX_FILES {
            return Err(format!(
                "`formats.{id}.max_files` must be 0–{}",
                Self::MAX_FILES
            ));
        }
        match (self.extensions.is_empty(), self.max_files) {
            (true, n) if n > 0 => Err(format!(
                "`formats.{id}`: declare the `extensions` its files have, or `max_files = 0` if it writes none"
            )),
            (false, 0) => Err(format!(
                "`formats.{id}`: `max_files = 0` writes no files; drop `extensions` or allow at least one file"
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid plugin manifest {file}: {message}")]
pub struct ManifestError {
    pub file: String,
    pub message: String,
}

impl Manifest {
    /// Parses and validates a manifest; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Manifest, ManifestError> {
        let err = |message: String| ManifestError {
            file: file.display().to_string(),
            message,
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| err(toml_message(text, &e)))?;
        manifest.validate().map_err(err)?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), String> {
        validate_id(&self.id).map_err(|why| format!("`id` = {:?} {why}", self.id))?;
        if self.name.trim().is_empty()
            || self.name.len() > 100
            || self.name.chars().any(char::is_control)
        {
            return Err("`name` must be 1–100 printable characters".into());
        }
        if !is_version(&self.version) {
            return Err(format!(
                "`version` = {:?} is not a version like 1.2.3",
                self.version
            ));
        }
        if !SUPPORTED_API.contains(&self.api.as_str()) {
            return Err(format!(
                "`api` = {:?} is not supported by this minutes (it speaks {}); update minutes or the plugin",
                self.api,
                SUPPORTED_API.join(", ")
            ));
        }
        let file = &self.component.file;
        if file.is_empty()
            || file.contains(['/', '\\'])
            || file.starts_with('.')
            || !file.ends_with(".wasm")
        {
            return Err(format!(
                "`component.file` = {file:?} must be a plain file name ending in .wasm"
            ));
        }
        let sha = &self.component.sha256;
        if sha.len() != 64
            || !sha
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err("`component.sha256` must be 64 lower-case hex digits".into());
        }
        if !self.kind.uses_network() {
            if !self.network.origins.is_empty() {
                return Err(format!(
                    "`network.origins`: a {} cannot use the network; declare kind = \"{}\" to send data out",
                    self.kind,
                    if self.kind == Kind::Exporter {
                        "networked-exporter"
                    } else {
                        "provider"
                    }
                ));
            }
            if !self.secrets.is_empty() {
                return Err(format!(
                    "`secrets`: a {} has no network to send secrets to",
                    self.kind
                ));
            }
        }
        if self.network.configurable && !self.kind.uses_network() {
            return Err(format!(
                "`network.configurable`: a {} cannot use the network",
                self.kind
            ));
        }
        let mut declared = Vec::new();
        for origin in &self.network.origins {
            declared
                .push(AllowedOrigin::parse(origin).map_err(|e| format!("`network.origins`: {e}"))?);
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.secrets {
            if !is_slug(&s.name, 40) {
                return Err(format!(
                    "`secrets.name` = {:?} must be lower-case letters, digits and '-'",
                    s.name
                ));
            }
            if !names.insert(&s.name) {
                return Err(format!("secret {:?} is declared twice", s.name));
            }
            if s.header.is_empty()
                || !s
                    .header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "`secrets.header` = {:?} is not an HTTP header name",
                    s.header
                ));
            }
            if s.format.matches("{}").count() != 1 || s.format.contains(['\r', '\n']) {
                return Err(format!(
                    "`secrets.format` = {:?} must contain `{{}}` exactly once",
                    s.format
                ));
            }
            if s.origins.is_empty() && !self.network.configurable {
                return Err(format!(
                    "secret {:?} must name the origins it may be sent to",
                    s.name
                ));
            }
            for o in &s.origins {
                let parsed =
                    AllowedOrigin::parse(o).map_err(|e| format!("secret {:?}: {e}", s.name))?;
                if !declared.contains(&parsed) {
                    return Err(format!(
                        "secret {:?} names origin {o:?}, which is not in `network.origins`",
                        s.name
                    ));
                }
            }
        }
        for (key, field) in &self.config {
            if !is_config_key(key) {
                return Err(format!(
                    "config key {key:?} must be letters, digits, '_' or '-'"
                ));
            }
            if let Some(default) = &field.default {
                config_value(field.ty, default)
                    .map_err(|why| format!("`config.{key}.default` {why}"))?;
            }
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.memory_mib > Limits::MAX_MEMORY_MIB {
            return Err(format!(
                "`limits.memory_mib` must be 1–{}",
                Limits::MAX_MEMORY_MIB
            ));
        }
        if l.call_timeout_secs == 0 || l.call_timeout_secs > Limits::MAX_TIMEOUT_SECS {
            return Err(format!(
                "`limits.call_timeout_secs` must be 1–{}",
                Limits::MAX_TIMEOUT_SECS
            ));
        }
        if l.max_response_mib == 0 || l.max_response_mib > Limits::MAX_RESPONSE_MIB {
            return Err(format!(
                "`limits.max_response_mib` must be 1–{}",
                Limits::MAX_RESPONSE_MIB
            ));
        }
        match (self.kind, &self.data_policy) {
            (Kind::Provider, None) => {
                return Err("missing table `[data_policy]`: a provider must say what happens to the data it sends \
                            (use \"unknown\" for what its service does not document)"
                    .into());
            }
            (Kind::Provider, Some(_)) | (_, None) => {}
            (kind, Some(_)) => {
                return Err(format!(
                    "`[data_policy]` is for providers; this plugin is a {kind}"
                ));
            }
        }
        let exports = matches!(self.kind, Kind::Exporter | Kind::NetworkedExporter);
        if exports && self.formats.is_empty() {
            return Err(format!(
                "missing table `[formats.<id>]`: an exporter must declare each format it offers and the files it writes, e.g. `[formats.md] extensions = [\"md\"]`{}",
                if self.kind == Kind::NetworkedExporter {
                    " (`max_files = 0` with `extensions = []` for one that writes none)"
                } else {
                    ""
                }
            ));
        }
        if !exports && !self.formats.is_empty() {
            return Err(format!(
                "`[formats]` is for exporters; this plugin is a {}",
                self.kind
            ));
        }
        for (id, format) in &self.formats {
            format.validate(id)?;
        }
        Ok(())
    }

    /// The value of a config key for this plugin: the user's setting, else the default.
    pub fn config_defaults(&self) -> BTreeMap<String, ConfigValue> {
        self.config
            .iter()
            .filter_map(|(k, f)| Some((k.clone(), config_value(f.ty, f.default.as_ref()?).ok()?)))
            .collect()
    }
}

/// A typed config value as the plugin sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConfigValue {
    Text(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
}

/// Checks `value` against the declared type.
pub fn config_value(ty: ConfigType, value: &toml::Value) -> Result<ConfigValue, String> {
    match (ty, value) {
        (ConfigType::String, toml::Value::String(s)) => Ok(ConfigValue::Text(s.clone())),
        (ConfigType::Integer, toml::Value::Integer(i)) => Ok(ConfigValue::Integer(*i)),
        (ConfigType::Number, toml::Value::Float(f)) => Ok(ConfigValue::Number(*f)),
        (ConfigType::Number, toml::Value::Integer(i)) => Ok(ConfigValue::Number(*i as f64)),
        (ConfigType::Boolean, toml::Value::Boolean(b)) => Ok(ConfigValue::Boolean(*b)),
        (ty, v) => Err(format!(
            "is a {}, but the declared type is {ty:?}",
            v.type_str()
        )),
    }
}

/// Plugin ids become directory names: keep them boring.
pub fn validate_id(id: &str) -> Result<(), &'static str> {
    if id.contains("..") || id.contains('/') || id.contains('\\') {
        return Err("must not contain path separators or `..`");
    }
    if !is_slug(id, 64) {
        return Err("must be 1–64 lower-case letters, digits and '-', starting with a letter");
    }
    Ok(())
}

fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_version(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// toml's messages already point at the line; make "unknown field" and "missing field" lead.
/// A TOML error as a person finds it in an editor: "line 3, column 7: <what is wrong>".
pub fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    let Some(start) = e.span().map(|s| s.start.min(text.len())) else {
        return msg;
    };
    let mut start = start;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    const FORMATS: &str = "[formats.txt]\nextensions = [\"txt\"]\n";

    fn base(extra: &str) -> String {
        format!(
            "id = \"demo\"\nname = \"Demo\"\nversion = \"0.1.0\"\nkind = \"exporter\"\napi = \"0.1\"\n{extra}\n[component]\nfile = \"demo.wasm\"\nsha256 = \"{SHA}\"\n{FORMATS}"
        )
    }

    /// `base` as a provider, which has no formats.
    fn provider(text: &str) -> String {
        text.replace("kind = \"exporter\"", "kind = \"provider\"")
            .replace(FORMATS, "")
    }

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("pkg/plugin.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_manifest_gets_default_limits() {
        let m = parse(&base("")).expect("valid");
        assert_eq!(m.kind, Kind::Exporter);
        assert_eq!(m.limits, Limits::default());
        assert!(m.network.origins.is_empty());
    }

    #[test]
    fn errors_name_the_key_and_the_file() {
        let cases: &[(&str, &str)] = &[
            // (manifest text, what the error must mention)
            (&base("colour = \"blue\""), "colour"),
            (&base("").replace("name = \"Demo\"\n", ""), "name"),
            (
                &base("").replace(&format!("sha256 = \"{SHA}\"\n"), ""),
                "sha256",
            ),
            (
                &base("").replace("kind = \"exporter\"", "kind = \"virus\""),
                "virus",
            ),
            (
                &base("").replace("id = \"demo\"", "id = \"../etc\""),
                "path separators",
            ),
            (
                &base("").replace("id = \"demo\"", "id = \"Demo\""),
                "lower-case",
            ),
            (
                &base("").replace("api = \"0.1\"", "api = \"9.0\""),
                "not supported",
            ),
            (
                &base("").replace("demo.wasm", "../x.wasm"),
                "component.file",
            ),
            (&base("").replace(SHA, "abc"), "64 lower-case hex"),
            (
                &base("").replace("version = \"0.1.0\"", "version = \"one\""),
                "version",
            ),
            (
                &base("[network]\norigins = [\"https://x.example\"]\n"),
                "cannot use the network",
            ),
            (&base("[limits]\nmemory_mib = 0\n"), "memory_mib"),
            (&base("[limits]\nmemory_gb = 1\n"), "memory_gb"),
            (
                &base("[config.x]\ntype = \"boolean\"\ndefault = \"yes\"\n"),
                "config.x.default",
            ),
            (
                &base(
                    "[data_policy]\nretention = \"none\"\ntrains_on_data = \"no\"\nzero_retention_available = \"yes\"\nzero_retention_default = \"yes\"\n",
                ),
                "for providers",
            ),
            (&provider(&base("")), "data_policy"),
        ];
        for (text, needle) in cases {
            let err = parse(text).expect_err(needle);
            assert!(
                err.contains("pkg/plugin.toml"),
                "error does not name the file: {err}"
            );
            assert!(
                err.contains(needle),
                "error for {needle:?} does not mention it: {err}"
            );
        }
    }

    #[test]
    fn provider_with_secret_and_policy_parses() {
        let text = base(
            "[network]\norigins = [\"https://api.fireworks.ai\"]\n\
             [[secrets]]\nname = \"api-key\"\nheader = \"Authorization\"\nformat = \"Bearer {}\"\norigins = [\"https://api.fireworks.ai\"]\n\
             [data_policy]\nretention = \"none\"\ntrains_on_data = \"no\"\nzero_retention_available = \"yes\"\nzero_retention_default = \"yes\"\nregion = \"US\"\n",
        );
        let m = parse(&provider(&text)).expect("valid provider");
        assert_eq!(m.secrets[0].format, "Bearer {}");
        assert_eq!(m.data_policy.expect("policy").trains_on_data, Tristate::No);
    }

    #[test]
    fn secrets_may_only_go_to_declared_origins() {
        let text = base(
            "[network]\norigins = [\"https://a.example\"]\n\
             [[secrets]]\nname = \"key\"\nheader = \"Authorization\"\norigins = [\"https://b.example\"]\n",
        )
        .replace("kind = \"exporter\"", "kind = \"networked-exporter\"");
        assert!(
            parse(&text)
                .expect_err("undeclared origin")
                .contains("not in `network.origins`")
        );
    }

    #[test]
    fn declared_origins_follow_the_allowlist_grammar() {
        let with_origin = |o: &str| {
            base(&format!("[network]\norigins = [\"{o}\"]\n"))
                .replace("kind = \"exporter\"", "kind = \"networked-exporter\"")
        };
        for bad in [
            "https://a.example/path",
            "https://u@a.example",
            "ftp://a.example",
            "*",
            "https://*.com",
            "http://api.example.com",
        ] {
            let err = parse(&with_origin(bad)).expect_err(bad);
            assert!(err.contains("network.origins"), "{bad}: {err}");
        }
        for good in [
            "https://api.fireworks.ai",
            "http://127.0.0.1:11434",
            "https://*.example.com",
        ] {
            parse(&with_origin(good)).expect(good);
        }
    }

    #[test]
    fn exporters_declare_what_each_format_writes() {
        let m = parse(&base("")).expect("valid");
        let txt = &m.formats["txt"];
        assert_eq!(
            (txt.extensions.as_slice(), txt.max_files),
            (&["txt".to_string()][..], 1)
        );
        assert!(txt.allows("notes.txt") && txt.allows("NOTES.TXT"));
        for name in ["notes.md", "txt", ".txt", "notes.txt.sh", "notestxt"] {
            assert!(!txt.allows(name), "{name}");
        }
        let with = |formats: &str| base("").replace(FORMATS, formats);
        let cases: &[(&str, &str)] = &[
            ("", "missing table `[formats.<id>]`"),
            ("[formats.md]\n", "extensions"),
            (
                "[formats.md]\nextensions = [\".md\"]\n",
                "formats.md.extensions",
            ),
            (
                "[formats.md]\nextensions = [\"m/d\"]\n",
                "formats.md.extensions",
            ),
            (
                "[formats.md]\nextensions = [\"\"]\n",
                "formats.md.extensions",
            ),
            ("[formats.md]\nextensions = []\n", "max_files = 0"),
            (
                "[formats.md]\nextensions = [\"md\"]\nmax_files = 0\n",
                "max_files = 0",
            ),
            (
                "[formats.md]\nextensions = [\"md\"]\nmax_files = 5000\n",
                "formats.md.max_files",
            ),
            ("[formats.md]\nextensions = [\"md\"]\ndirs = true\n", "dirs"),
            (
                "[formats.\"M D\"]\nextensions = [\"md\"]\n",
                "format \"M D\"",
            ),
        ];
        for (formats, needle) in cases {
            let err = parse(&with(formats)).expect_err(needle);
            assert!(err.contains(needle), "{formats:?}: {err}");
        }
        let hook = with("[formats.json]\nextensions = []\nmax_files = 0\n")
            .replace("kind = \"exporter\"", "kind = \"networked-exporter\"");
        assert_eq!(parse(&hook).expect("webhook").formats["json"].max_files, 0);
        let many =
            with("[formats.site]\nextensions = [\"html\", \"css\", \"tar.gz\"]\nmax_files = 20\n");
        let site = &parse(&many).expect("several").formats["site"];
        assert!(
            site.allows("a/index.html") && site.allows("x.tar.gz"),
            "{site:?}"
        );
        let template = base("").replace("kind = \"exporter\"", "kind = \"template\"");
        assert!(
            parse(&template)
                .expect_err("template")
                .contains("for exporters")
        );
    }
}
