//! `minutes plugin new`: a standalone plugin crate with a working example of its kind, a test
//! and a README, depending on the SDK this binary carries (written under the minutes home).

pub mod sdk;

use super::manifest::{Kind, validate_id};
use super::registry::Home;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("`{name}` cannot be a plugin name: it {why} (e.g. `my-exporter`)")]
    BadName { name: String, why: &'static str },
    #[error("{0} already exists and is not empty; choose another name or --dir")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the SDK bundled in this minutes is damaged: {0}")]
    Bundle(String),
}

impl ScaffoldError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    }
}

/// What `minutes plugin new` wrote.
#[derive(Debug, Serialize)]
pub struct NewPlugin {
    pub id: String,
    pub kind: Kind,
    pub dir: PathBuf,
    /// The SDK crate the new crate depends on.
    pub sdk: PathBuf,
    pub files: Vec<PathBuf>,
}

struct KindTemplate {
    lib: &'static str,
    manifest: &'static str,
    /// Crates beyond the SDK that the example uses (all locked by the SDK already).
    extra_deps: &'static [(&'static str, &'static str)],
    what: &'static str,
    manifest_extra: &'static str,
    try_it: &'static str,
    sandbox: &'static str,
}

fn template(kind: Kind) -> KindTemplate {
    match kind {
        Kind::Exporter => KindTemplate {
            lib: include_str!("templates/exporter.lib.rs.tmpl"),
            manifest: include_str!("templates/exporter.plugin.toml.tmpl"),
            extra_deps: &[],
            what: "an exporter that writes a meeting as a plain text file (`render` does the work).",
            manifest_extra: "",
            try_it: "```sh\nminutes export --document meeting.json --to __ID__ --dir out   # writes out/<meeting id>.txt\n```\n\n\
                Settings go in config.toml in the minutes home:\n\n```toml\n[plugins.__ID__]\ntimestamps = false\n```",
            sandbox: "An exporter cannot use the network at all: it returns files, and the host writes them inside the \
                folder the user chose (never outside it, never over an existing file without --force).",
        },
        Kind::NetworkedExporter => KindTemplate {
            lib: include_str!("templates/networked-exporter.lib.rs.tmpl"),
            manifest: include_str!("templates/networked-exporter.plugin.toml.tmpl"),
            extra_deps: &[],
            what: "a networked exporter that POSTs the meeting as JSON to a URL you configure and writes a receipt.",
            manifest_extra: ", network",
            try_it: "```sh\nminutes plugin allow __ID__ https://hooks.example.com\n```\n\n```toml\n# config.toml in the minutes home\n\
                [plugins.__ID__]\nurl = \"https://hooks.example.com/minutes\"\n```\n\n```sh\n\
                minutes export --document meeting.json --to __ID__ --dir out\nminutes audit --plugin __ID__   # every request it made\n```",
            sandbox: "It reaches only origins that it declares (or, being configurable, that the user granted); the host \
                makes every request, adds declared secrets itself and records each one in the egress ledger \
                (`minutes audit`).",
        },
        Kind::Template => KindTemplate {
            lib: include_str!("templates/template.lib.rs.tmpl"),
            manifest: include_str!("templates/template.plugin.toml.tmpl"),
            extra_deps: &[
                ("serde", "{ version = \"1\", features = [\"derive\"] }"),
                ("serde_json", "\"1\""),
            ],
            what: "a template that asks the configured language model for a JSON summary, and writes an offline \
                summary (talk time, opening lines) when no model is configured.",
            manifest_extra: "",
            try_it: "The host calls `summarize` when it summarises a meeting with this template. The offline path and \
                the prompt are covered by `cargo test`.",
            sandbox: "A template cannot import `http`: it reaches a model only through `llm`, which the host routes to \
                the provider the user chose, under the user's data policy.",
        },
        Kind::Provider => KindTemplate {
            lib: include_str!("templates/provider.lib.rs.tmpl"),
            manifest: include_str!("templates/provider.plugin.toml.tmpl"),
            extra_deps: &[
                ("serde", "{ version = \"1\", features = [\"derive\"] }"),
                ("serde_json", "\"1\""),
            ],
            what: "a provider that calls an OpenAI-compatible `/chat/completions` endpoint at the configured `base_url`.",
            manifest_extra: ", network, secrets, data policy",
            try_it: "```sh\nminutes plugin allow __ID__ http://127.0.0.1:11434   # the origin of base_url\n\
                minutes secret set __ID__ api-key                   # only if the endpoint needs a key\n```\n\n\
                ```toml\n# config.toml in the minutes home\n[plugins.__ID__]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.2\"\n```",
            sandbox: "It reaches only the origins the user granted; the host adds the API key to requests to them (the \
                plugin never sees it) and records each request in the egress ledger (`minutes audit`).",
        },
    }
}

/// `my-exporter` → `My exporter`.
fn display_name(id: &str) -> String {
    let words = id.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// Writes a new plugin crate `<parent>/<name>` (and the SDK under the minutes home).
pub fn create(
    home: &Home,
    kind: Kind,
    name: &str,
    parent: &Path,
) -> Result<NewPlugin, ScaffoldError> {
    validate_id(name).map_err(|why| ScaffoldError::BadName {
        name: name.to_string(),
        why,
    })?;
    let dir = parent.join(name);
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map_err(ScaffoldError::io(&dir))?
            .next()
            .is_some()
    {
        return Err(ScaffoldError::Exists(dir));
    }
    let sdk = sdk::write_sdk(&sdk::sdk_root(home))?;
    let sdk = std::fs::canonicalize(&sdk).map_err(ScaffoldError::io(&sdk))?;

    let t = template(kind);
    let extra: String = t
        .extra_deps
        .iter()
        .map(|(n, v)| format!("{n} = {v}\n"))
        .collect();
    let fill = |text: &str| {
        text.replace("__TRY__", t.try_it)
            .replace("__SANDBOX__", t.sandbox)
            .replace("__WHAT__", t.what)
            .replace("__MANIFEST_EXTRA__", t.manifest_extra)
            .replace("__EXTRA_DEPS__", &extra)
            .replace(
                "__SDK_PATH__",
                &sdk.display().to_string().replace('\\', "/"),
            )
            .replace("__SDK_VERSION__", sdk::SDK_VERSION)
            .replace("__KIND__", kind.as_str())
            .replace("__CRATE__", &name.replace('-', "_"))
            .replace("__NAME__", &display_name(name))
            .replace("__ID__", name)
    };
    let files: Vec<(&str, String)> = vec![
        (
            "Cargo.toml",
            fill(include_str!("templates/Cargo.toml.tmpl")),
        ),
        (
            "Cargo.lock",
            sdk::plugin_lock(name, t.extra_deps.iter().map(|(n, _)| *n))?,
        ),
        ("plugin.toml", fill(t.manifest)),
        ("src/lib.rs", fill(t.lib)),
        ("README.md", fill(include_str!("templates/README.md.tmpl"))),
        (
            ".gitignore",
            include_str!("templates/gitignore.tmpl").to_string(),
        ),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(ScaffoldError::io(p))?;
        }
        std::fs::write(&path, text).map_err(ScaffoldError::io(&path))?;
        written.push(path);
    }
    Ok(NewPlugin {
        id: name.to_string(),
        kind,
        dir,
        sdk,
        files: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_crate_whose_manifest_parses_for_every_kind() {
        let home = tempfile::tempdir().expect("home");
        let work = tempfile::tempdir().expect("work");
        for kind in Kind::ALL {
            let name = format!("my-{}", kind.as_str());
            let made = create(&Home::at(home.path()), kind, &name, work.path()).expect("scaffold");
            let manifest =
                std::fs::read_to_string(made.dir.join("plugin.toml")).expect("plugin.toml");
            // The source manifest has no sha256 yet; the packaged copy gets one.
            let packaged = manifest.replace(
                "[component]\n",
                &format!("[component]\nsha256 = \"{}\"\n", "0".repeat(64)),
            );
            let m = super::super::Manifest::parse(&packaged, &made.dir.join("plugin.toml"))
                .expect("manifest parses");
            assert_eq!((m.id.as_str(), m.kind), (name.as_str(), kind));
            assert_eq!(m.component.file, format!("{}.wasm", name.replace('-', "_")));
            let cargo: toml::Table = toml::from_str(
                &std::fs::read_to_string(made.dir.join("Cargo.toml")).expect("Cargo.toml"),
            )
            .expect("toml");
            assert!(
                cargo.contains_key("workspace"),
                "a scaffold outside any workspace needs its own [workspace]"
            );
            let sdk_path = cargo["dependencies"]["minutes-sdk"]["path"]
                .as_str()
                .expect("path dependency");
            assert!(
                Path::new(sdk_path).join("src/lib.rs").is_file(),
                "{sdk_path}"
            );
            let lib = std::fs::read_to_string(made.dir.join("src/lib.rs")).expect("lib.rs");
            assert!(
                !lib.contains("__") || lib.contains("__private"),
                "unfilled placeholder in {name}:\n{lib}"
            );
            assert!(lib.contains("#[test]"), "{name} has no unit test");
        }
    }

    #[test]
    fn refuses_bad_names_and_occupied_folders() {
        let home = tempfile::tempdir().expect("home");
        let work = tempfile::tempdir().expect("work");
        let home = Home::at(home.path());
        let err = create(&home, Kind::Exporter, "My_Exporter", work.path())
            .expect_err("bad name")
            .to_string();
        assert!(
            err.contains("`My_Exporter` cannot be a plugin name"),
            "{err}"
        );
        create(&home, Kind::Exporter, "taken", work.path()).expect("first");
        let err = create(&home, Kind::Exporter, "taken", work.path())
            .expect_err("exists")
            .to_string();
        assert!(err.contains("already exists"), "{err}");
    }
}
