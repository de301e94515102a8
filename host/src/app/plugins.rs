//! The plugins page: what each installed plugin is, may reach and holds (secrets set or not,
//! never shown), its limits and data policy; installing a package through a consent screen
//! that grants all or part of what it asks for; allowing and denying origins; setting a secret
//! through a write-only field; removing a plugin. Every change is the registry call the CLI's
//! `minutes plugin` and `minutes secret` make.

use super::App;
use super::manage::url_part;
use super::pages::layout;
use super::server::{Failure, with_store};
use crate::plugins::Registry;
use crate::plugins::manifest::Manifest;
use crate::plugins::package::Package;
use crate::plugins::registry::{CapabilityDiff, Grant, LockEntry};
use crate::secrets::SecretStore;
use axum::body::Body;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Packages are a component and a manifest: far smaller than this.
const MAX_PACKAGE_BYTES: u64 = 64 << 20;

fn registry(app: &App) -> Result<Registry, Failure> {
    Registry::open(app.ctx.home.clone()).map_err(|e| Failure::Invalid(e.to_string()))
}

fn plugin_url(id: &str) -> String {
    format!("/plugins/{}", url_part(id))
}

/// One installed plugin as the page shows it.
struct Row {
    entry: LockEntry,
    manifest: Option<Manifest>,
    /// (secret name, where its value is kept, if set).
    secrets: Vec<(String, Option<&'static str>)>,
}

pub async fn page(State(app): State<Arc<App>>) -> Result<Markup, Failure> {
    with_store(&app, move |app, _| {
        let registry = registry(app)?;
        let store = SecretStore::new(app.ctx.home.secrets_dir());
        let mut rows = Vec::new();
        for entry in registry.installed() {
            let manifest = registry.manifest(&entry.id).ok();
            let mut secrets = Vec::new();
            for s in manifest.iter().flat_map(|m| &m.secrets) {
                let source = store
                    .source(&entry.id, &s.name)
                    .map_err(|e| Failure::Internal(e.to_string()))?;
                secrets.push((s.name.clone(), source));
            }
            rows.push(Row {
                entry: entry.clone(),
                manifest,
                secrets,
            });
        }
        Ok(list(&rows))
    })
    .await
}

fn list(rows: &[Row]) -> Markup {
    let body = html! {
        h1 { "Plugins" }
        p.muted { "Plugins run in a sandbox: they reach only the hosts granted here, never see a secret's value (minutes adds it to their requests), and read no file." }
        div.card #install data-max=(MAX_PACKAGE_BYTES) {
            h2 { "Install a package" }
            form.inline #package-form {
                input #package-file type="file" accept=".tar.gz,.tgz,application/gzip" required aria-label="Plugin package";
                button.primary type="submit" { "Review…" }
            }
            p #package-message.muted { "A .tar.gz made by " code { "minutes plugin build" } " or " code { "cargo xtask plugins" } ". Nothing is installed before you see what it asks for." }
        }
        @if rows.is_empty() { p.empty.card { "No plugin is installed." } }
        @for row in rows { (plugin_card(row)) }
    };
    layout("Plugins", body)
}

fn plugin_card(row: &Row) -> Markup {
    let e = &row.entry;
    let base = plugin_url(&e.id);
    let declared: Vec<String> = row
        .manifest
        .as_ref()
        .map(|m| m.network.origins.clone())
        .unwrap_or_default();
    html! {
        div.card.plugin id=(format!("plugin-{}", e.id)) {
            h2 { code { (e.id) } " " span.muted { (e.version) " · " (e.kind) } }
            @if let Some(m) = &row.manifest {
                @if !m.name.is_empty() { p { (m.name) } }
                dl.facts {
                    dt { "Asks to reach" }
                    dd {
                        @if declared.is_empty() && !m.network.configurable { "nothing" }
                        @for o in &declared { code { (o) } " " }
                        @if m.network.configurable { span.muted { "an endpoint you choose" } }
                    }
                    dt { "May reach" }
                    dd {
                        @if e.granted_origins.is_empty() { span.muted { "nothing" } }
                        @for o in &e.granted_origins {
                            form.chip method="post" action=(format!("{base}/deny")) {
                                code { (o) }
                                input type="hidden" name="origin" value=(o);
                                button.x type="submit" title=(format!("Deny {o}")) aria-label=(format!("Deny {o}")) { "×" }
                            }
                        }
                        @if m.kind.uses_network() {
                            form.inline method="post" action=(format!("{base}/allow")) {
                                input type="text" name="origin" placeholder="https://host.example" required aria-label="Origin to allow";
                                button type="submit" { "Allow" }
                            }
                        }
                    }
                    @if !row.secrets.is_empty() {
                        dt { "Secrets" }
                        dd {
                            @for (name, source) in &row.secrets {
                                form.inline method="post" action=(format!("{base}/secret")) {
                                    code { (name) } " "
                                    @match source {
                                        Some(s) => span.local { "set (" (s) ")" },
                                        None => span.notice { "not set" },
                                    }
                                    input type="hidden" name="name" value=(name);
                                    input type="password" name="value" autocomplete="off" required placeholder="new value" aria-label=(format!("Value of {name}"));
                                    button type="submit" { "Set" }
                                }
                            }
                        }
                    }
                    dt { "Limits" }
                    dd { (m.limits.memory_mib) " MiB memory · " (m.limits.call_timeout_secs) " s per call · " (m.limits.max_response_mib) " MiB per response" }
                    @if let Some(d) = &m.data_policy {
                        dt { "Data policy" }
                        dd { "retention: " (d.retention) " · trains on data: " (format!("{:?}", d.trains_on_data).to_lowercase()) " · region: " (d.region.as_deref().unwrap_or("not declared")) }
                    }
                }
            } @else {
                p.notice { "Its manifest cannot be read: reinstall it, or remove it." }
            }
            form method="post" action=(format!("{base}/remove")) data-confirm=(format!("Remove plugin {} and its secrets?", e.id)) {
                button.danger type="submit" { "Remove" }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct OriginForm {
    origin: String,
}

pub async fn allow(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<OriginForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        registry(app)?
            .allow(&id, form.origin.trim())
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok(Redirect::to(&format!("/plugins#plugin-{id}")))
    })
    .await
}

pub async fn deny(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<OriginForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        registry(app)?
            .deny(&id, form.origin.trim())
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok(Redirect::to(&format!("/plugins#plugin-{id}")))
    })
    .await
}

#[derive(Deserialize)]
pub struct SecretForm {
    name: String,
    value: String,
}

/// Stores a secret's value; the page never shows it back.
pub async fn set_secret(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(form): Form<SecretForm>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let manifest = registry(app)?
            .manifest(&id)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        if !manifest.secrets.iter().any(|s| s.name == form.name) {
            return Err(Failure::Invalid(format!(
                "plugin `{id}` declares no secret `{}`",
                form.name
            )));
        }
        let value = form.value.trim();
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(Failure::Invalid(
                "a secret is one line of text; nothing was stored".into(),
            ));
        }
        SecretStore::new(app.ctx.home.secrets_dir())
            .set(&id, &form.name, value)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        Ok(Redirect::to(&format!("/plugins#plugin-{id}")))
    })
    .await
}

pub async fn remove(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let runtime = app
            .context()
            .and_then(|c| c.runtime())
            .map_err(|e| Failure::Internal(format!("{e:#}")))?;
        registry(app)?
            .remove(Some(&runtime), &id)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        Ok(Redirect::to("/plugins"))
    })
    .await
}

/// Where uploaded packages wait for the user's consent.
fn staging(app: &App) -> PathBuf {
    app.ctx.home.root().join("uploads").join("packages")
}

/// A staged package's file from its token (digits only: the token never names another file).
fn staged(app: &App, token: &str) -> Result<PathBuf, Failure> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::NotFound(
            "There is no such uploaded package.".into(),
        ));
    }
    let path = staging(app).join(format!("{token}.tar.gz"));
    match path.exists() {
        true => Ok(path),
        false => Err(Failure::NotFound(
            "The uploaded package is gone (installed or abandoned); upload it again.".into(),
        )),
    }
}

/// Takes a package upload (the body is the .tar.gz), checks it, and answers with the address
/// of its consent page.
pub async fn upload(State(app): State<Arc<App>>, body: Body) -> Response {
    let dir = staging(&app);
    let token = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_string();
    let path = dir.join(format!("{token}.tar.gz"));
    use super::upload::ReceiveError;
    let written = match super::upload::receive(body, &path, MAX_PACKAGE_BYTES).await {
        Ok(_) => Ok(()),
        Err(ReceiveError::Io(e)) => Err(e.to_string()),
        Err(ReceiveError::Stopped(e)) => Err(format!("the upload stopped: {e}")),
        Err(ReceiveError::TooLarge) => Err(format!(
            "that is larger than any plugin package ({} MB at most)",
            MAX_PACKAGE_BYTES >> 20
        )),
    };
    let checked = match written {
        Ok(()) => {
            let p = path.clone();
            tokio::task::spawn_blocking(move || Package::open(&p).map(|_| ()))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e),
    };
    match checked {
        Ok(()) => Json(serde_json::json!({ "review": format!("/plugins/review/{token}") }))
            .into_response(),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            (StatusCode::BAD_REQUEST, format!("not installed: {e}")).into_response()
        }
    }
}

/// The consent screen: what the package asks for that is not granted yet, each origin with a
/// box (all ticked: untick what you do not grant).
pub async fn review(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> Result<Markup, Failure> {
    with_store(&app, move |app, _| {
        let path = staged(app, &token)?;
        let pkg = Package::open(&path).map_err(|e| Failure::Invalid(e.to_string()))?;
        let diff = registry(app)?.diff(&pkg);
        Ok(consent(&token, &pkg.manifest, &diff))
    })
    .await
}

fn consent(token: &str, m: &Manifest, diff: &CapabilityDiff) -> Markup {
    let request = crate::cli::plugin::describe_request(m, diff);
    let body = html! {
        h1 { "Install " code { (m.id) } " " (m.version) "?" }
        div.card.review {
            dl.facts {
                dt { "Kind" } dd { (m.kind) }
                @if let Some(prev) = &diff.previous_version { dt { "Installed now" } dd { (prev) } }
                @if !diff.kept_origins.is_empty() {
                    dt { "Keeps" } dd { @for o in &diff.kept_origins { code { (o) } " " } }
                }
            }
            @if diff.needs_consent() {
                pre.request { (request) }
            } @else {
                p { "It asks for nothing beyond what is granted now." }
            }
        }
        form method="post" action=(format!("/plugins/install/{token}")) {
            @if !diff.new_origins.is_empty() {
                fieldset.card {
                    legend { "Network access to grant (untick what you do not)" }
                    @for o in &diff.new_origins {
                        label.choice { input type="checkbox" name="origin" value=(o) checked; " " code { (o) } }
                    }
                    p.muted { "A secret is granted with the origins it goes to; an origin left out can be allowed later on this page." }
                }
            }
            p {
                button.primary type="submit" { @if diff.needs_consent() { "Grant and install" } @else { "Install" } }
                " " a href="/plugins" { "Cancel" }
            }
        }
    };
    layout("Install a plugin", body)
}

/// Installs a staged package with the origins the user ticked.
pub async fn install(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: String,
) -> Result<Redirect, Failure> {
    with_store(&app, move |app, _| {
        let path = staged(app, &token)?;
        let pkg = Package::open(&path).map_err(|e| Failure::Invalid(e.to_string()))?;
        let mut registry = registry(app)?;
        let diff = registry.diff(&pkg);
        let chosen: Vec<String> = url::form_urlencoded::parse(body.as_bytes())
            .filter(|(k, _)| k == "origin")
            .map(|(_, v)| v.into_owned())
            .collect();
        if let Some(o) = chosen.iter().find(|o| !diff.new_origins.contains(o)) {
            return Err(Failure::Invalid(format!(
                "{o} is not among what the package asks for; nothing was installed"
            )));
        }
        // Everything it asks for, or only the ticked origins (and the secrets going only there).
        let grant = match chosen.len() == diff.new_origins.len() {
            true => Grant::Requested,
            false => Grant::Origins(chosen),
        };
        let runtime = app
            .context()
            .and_then(|c| c.runtime())
            .map_err(|e| Failure::Internal(format!("{e:#}")))?;
        let entry = registry
            .install(&runtime, &pkg, &grant)
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        let _ = std::fs::remove_file(&path);
        Ok(Redirect::to(&format!("/plugins#plugin-{}", entry.id)))
    })
    .await
}
