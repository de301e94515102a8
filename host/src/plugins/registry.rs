//! Installed plugins: where they live under the minutes home, and the lock file that records
//! each one's sha256 and what the user granted it.

use super::error::Error;
use super::manifest::{ConfigValue, Kind, Manifest, SecretDecl, config_value};
use super::net::SecretRule;
use super::net::allowlist::{AllowedOrigin, Allowlist};
use super::package::{MANIFEST_FILE, Package, sha256_hex};
use super::runtime::{ConfigMap, LoadedPlugin, NetGrant, Runtime};
use crate::secrets::SecretStore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The minutes home: `MINUTES_HOME`, else the platform's data directory.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn from_env() -> Result<Home, Error> {
        if let Some(dir) = std::env::var_os("MINUTES_HOME").filter(|d| !d.is_empty()) {
            return Ok(Home::at(dir));
        }
        directories::ProjectDirs::from("", "", "minutes")
            .map(|d| Home::at(d.data_dir()))
            .ok_or_else(|| Error::Io {
                context: "cannot find a home directory for minutes; set MINUTES_HOME".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }
    pub fn plugin_dir(&self, id: &str) -> PathBuf {
        self.plugins_dir().join(id)
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join("cache").join("components")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("plugins.lock")
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }
    pub fn ledger_path(&self) -> PathBuf {
        self.root.join("egress.sqlite")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub sha256: String,
    /// sha256 of the installed plugin.toml: what the user consented to is that text, so an
    /// edit after install (a secret sent elsewhere, higher limits) is refused at load.
    /// Absent only in lock files written before minutes pinned manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// Seconds since the Unix epoch.
    pub installed_at: u64,
    #[serde(default)]
    pub granted_origins: Vec<String>,
    #[serde(default)]
    pub granted_secrets: Vec<String>,
    /// Set by `minutes plugin dev`: the crate this plugin is rebuilt from while it is developed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    version: u32,
    #[serde(default, rename = "plugin")]
    plugins: Vec<LockEntry>,
}

const LOCK_VERSION: u32 = 1;

/// What the user grants at install.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Everything the plugin asks for (`--yes`, or "y" at the prompt).
    Requested,
    /// Only these origins (`--grant`), and the secrets that go only to them.
    Origins(Vec<String>),
    /// Nothing new.
    Nothing,
}

impl Grant {
    fn resolve(
        &self,
        m: &Manifest,
        diff: &CapabilityDiff,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let mut origins = diff.kept_origins.clone();
        let mut secrets = diff.kept_secrets.clone();
        match self {
            Grant::Nothing => {}
            Grant::Requested => {
                origins.extend(diff.new_origins.iter().cloned());
                secrets.extend(diff.new_secrets.iter().cloned());
            }
            Grant::Origins(chosen) => {
                for o in chosen {
                    let canonical = grantable(m, o)?;
                    if !origins.contains(&canonical) {
                        origins.push(canonical);
                    }
                }
                for decl in m
                    .secrets
                    .iter()
                    .filter(|d| diff.new_secrets.contains(&d.name))
                {
                    let covered = !decl.origins.is_empty()
                        && decl.origins.iter().all(|o| {
                            AllowedOrigin::parse(o).is_ok_and(|p| origins.contains(&p.canonical()))
                        });
                    if covered || (decl.origins.is_empty() && !origins.is_empty()) {
                        secrets.push(decl.name.clone());
                    }
                }
            }
        }
        Ok((origins, secrets))
    }
}

/// The canonical form of `origin` if the plugin may be granted it: it declares it (exactly or
/// under a declared wildcard), or its endpoint is user-configurable.
pub fn grantable(m: &Manifest, origin: &str) -> Result<String, Error> {
    let refuse = |why: String| Error::ConsentNeeded(why);
    let parsed = AllowedOrigin::parse(origin).map_err(|e| refuse(e.to_string()))?;
    if !m.kind.uses_network() {
        return Err(refuse(format!(
            "plugin `{}` is {} and cannot use the network",
            m.id,
            super::error::a(m.kind)
        )));
    }
    if m.network.configurable {
        return Ok(parsed.canonical());
    }
    let declared = Allowlist::effective(&m.network.origins, &m.network.origins)
        .map_err(|e| refuse(e.to_string()))?;
    let covered = declared.entries().iter().any(|d| d == &parsed)
        || (!parsed.is_wildcard()
            && url::Url::parse(&parsed.canonical()).is_ok_and(|u| declared.check(&u).is_ok()));
    if !covered {
        return Err(refuse(format!(
            "plugin `{}` does not declare {}, so it could never use it (it declares: {})",
            m.id,
            parsed.canonical(),
            if m.network.origins.is_empty() {
                "nothing".to_string()
            } else {
                m.network.origins.join(", ")
            }
        )));
    }
    Ok(parsed.canonical())
}

/// What an install would change, for the consent prompt.
#[derive(Debug, Default, Serialize)]
pub struct CapabilityDiff {
    pub previous_version: Option<String>,
    /// Origins asked for that the user has not granted before.
    pub new_origins: Vec<String>,
    /// Secrets not granted before, and granted secrets that the update sends elsewhere or
    /// differently (see `changes`): they are granted again only with consent.
    pub new_secrets: Vec<String>,
    /// Already granted and still asked for: kept without asking.
    pub kept_origins: Vec<String>,
    pub kept_secrets: Vec<String>,
    /// What an update changes in what was consented to before, beyond new origins and secrets.
    pub changes: Vec<Change>,
}

/// One way an update asks for more than the installed version had.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// A granted secret goes to origins it did not go to before. `after` empty: to whatever
    /// endpoint the user allows (a configurable plugin).
    SecretOrigins {
        secret: String,
        before: Vec<String>,
        after: Vec<String>,
    },
    /// A granted secret goes out in another header (or another form), e.g. one a server logs.
    SecretHeader {
        secret: String,
        before: String,
        after: String,
    },
    /// The plugin's endpoint becomes the user's choice (`network.configurable`): it may be
    /// allowed any origin, and its secrets without origins go to all of them.
    Configurable,
    /// A limit is raised.
    Limit {
        limit: &'static str,
        before: u32,
        after: u32,
    },
}

impl Change {
    /// Whether this change is about a secret (granted again with the secret, or not at all).
    pub fn is_secret(&self) -> bool {
        matches!(
            self,
            Change::SecretOrigins { .. } | Change::SecretHeader { .. }
        )
    }

    /// One line for the consent prompt.
    pub fn describe(&self) -> String {
        let list = |o: &[String]| match o.is_empty() {
            true => "the endpoints you allow".to_string(),
            false => o.join(", "),
        };
        match self {
            Change::SecretOrigins {
                secret,
                before,
                after,
            } => format!(
                "the secret `{secret}` is now sent to {} (before: only to {})",
                list(after),
                list(before)
            ),
            Change::SecretHeader {
                secret,
                before,
                after,
            } => format!(
                "the secret `{secret}` is now sent as the header `{after}` (before: `{before}`)"
            ),
            Change::Configurable => "its endpoint becomes yours to choose (network.configurable): \
                 it may be allowed any origin, and its secrets go to every origin you allow"
                .to_string(),
            Change::Limit {
                limit,
                before,
                after,
            } => format!("a higher limit: {limit} {after} (before: {before})"),
        }
    }
}

/// How a secret is written into requests, e.g. `Authorization: Bearer …`.
pub fn header_line(decl: &SecretDecl) -> String {
    format!("{}: {}", decl.header, decl.format.replace("{}", "…"))
}

/// The canonical forms of `origins`; an unparsable one is kept as written.
fn canonical_all(origins: &[String]) -> Vec<String> {
    origins
        .iter()
        .map(|o| {
            AllowedOrigin::parse(o)
                .map(|p| p.canonical())
                .unwrap_or_else(|_| o.clone())
        })
        .collect()
}

/// What `now` changes in a granted secret compared with `before`, if anything that needs
/// consent: origins it did not go to, or another header or form.
fn secret_changes(before: &SecretDecl, now: &SecretDecl) -> Vec<Change> {
    let mut changes = Vec::new();
    let (was, is) = (canonical_all(&before.origins), canonical_all(&now.origins));
    // Empty means "every origin the user allows": wider than any list, and only as wide as
    // itself. Fewer origins than before is no more than was consented to.
    let widened = match (was.is_empty(), is.is_empty()) {
        (true, _) => false,
        (false, true) => true,
        (false, false) => is.iter().any(|o| !was.contains(o)),
    };
    if widened {
        changes.push(Change::SecretOrigins {
            secret: now.name.clone(),
            before: was,
            after: is,
        });
    }
    if !before.header.eq_ignore_ascii_case(&now.header) || before.format != now.format {
        changes.push(Change::SecretHeader {
            secret: now.name.clone(),
            before: header_line(before),
            after: header_line(now),
        });
    }
    changes
}

impl CapabilityDiff {
    pub fn needs_consent(&self) -> bool {
        !self.new_origins.is_empty() || !self.new_secrets.is_empty() || !self.changes.is_empty()
    }

    /// Changes that no origin grant covers (limits, a configurable endpoint).
    pub fn other_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| !c.is_secret())
    }
}

pub struct Registry {
    home: Home,
    lock: LockFile,
}

impl Registry {
    pub fn open(home: Home) -> Result<Registry, Error> {
        let path = home.lock_path();
        let lock = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let lock: LockFile = toml::from_str(&text).map_err(|e| Error::Lock {
                    path: path.display().to_string(),
                    message: e.message().to_string(),
                })?;
                if lock.version != LOCK_VERSION {
                    return Err(Error::Lock {
                        path: path.display().to_string(),
                        message: format!(
                            "version {} is not one this minutes understands ({LOCK_VERSION})",
                            lock.version
                        ),
                    });
                }
                lock
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LockFile {
                version: LOCK_VERSION,
                plugins: Vec::new(),
            },
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
        };
        Ok(Registry { home, lock })
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn installed(&self) -> &[LockEntry] {
        &self.lock.plugins
    }

    pub fn get(&self, id: &str) -> Result<&LockEntry, Error> {
        self.lock
            .plugins
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotInstalled(id.to_string()))
    }

    /// The installed manifest of `id`, refused when it is not the text that was installed.
    pub fn manifest(&self, id: &str) -> Result<Manifest, Error> {
        self.read_manifest(id, true)
    }

    fn read_manifest(&self, id: &str, pinned: bool) -> Result<Manifest, Error> {
        let entry = self.get(id)?;
        let path = self.home.plugin_dir(id).join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(Error::io(format!(
            "plugin `{id}` is in the lock file but {} cannot be read; reinstall it",
            path.display()
        )))?;
        if pinned {
            match &entry.manifest_sha256 {
                Some(expected) if *expected != sha256_hex(&bytes) => {
                    return Err(Error::ManifestChanged {
                        id: id.to_string(),
                        path: path.display().to_string(),
                    });
                }
                Some(_) => {}
                None => tracing::debug!(
                    "plugin `{id}` was installed before manifests were pinned; reinstall it to pin {}",
                    path.display()
                ),
            }
        }
        let text = String::from_utf8(bytes).map_err(|_| super::manifest::ManifestError {
            file: path.display().to_string(),
            message: "not UTF-8 text".into(),
        })?;
        Ok(Manifest::parse(&text, &path)?)
    }

    /// What installing `pkg` would newly grant, compared with what is installed now.
    pub fn diff(&self, pkg: &Package) -> CapabilityDiff {
        let m = &pkg.manifest;
        let prev = self.lock.plugins.iter().find(|p| p.id == m.id);
        // Grants hold for what the installed manifest said. If it cannot be read or was
        // edited, nothing of it is known to have been consented to: everything is asked again.
        let prev_manifest = prev.and_then(|_| self.manifest(&m.id).ok());
        let no_grants: &[String] = &[];
        let (granted_o, granted_s) = match (prev, &prev_manifest) {
            (Some(p), Some(_)) => (&p.granted_origins[..], &p.granted_secrets[..]),
            _ => (no_grants, no_grants),
        };
        // Compared and recorded in canonical form: `https://API.example.com:443` is `https://api.example.com`.
        let declared = canonical_all(&m.network.origins);
        let (mut kept_origins, new_origins): (Vec<String>, Vec<String>) =
            declared.into_iter().partition(|o| granted_o.contains(o));
        // Granted beyond the declared list (under a declared wildcard, or the endpoint of a
        // configurable plugin): kept while the new manifest still allows them.
        for o in granted_o {
            if !kept_origins.contains(o) && grantable(m, o).is_ok() {
                kept_origins.push(o.clone());
            }
        }
        let mut changes = Vec::new();
        let (mut kept_secrets, mut new_secrets) = (Vec::new(), Vec::new());
        for decl in &m.secrets {
            let before = prev_manifest
                .as_ref()
                .and_then(|p| p.secrets.iter().find(|d| d.name == decl.name));
            match before {
                Some(before) if granted_s.contains(&decl.name) => {
                    let changed = secret_changes(before, decl);
                    match changed.is_empty() {
                        true => kept_secrets.push(decl.name.clone()),
                        false => new_secrets.push(decl.name.clone()),
                    }
                    changes.extend(changed);
                }
                _ => new_secrets.push(decl.name.clone()),
            }
        }
        if let Some(p) = &prev_manifest {
            if m.network.configurable && !p.network.configurable {
                changes.push(Change::Configurable);
            }
            let (was, is) = (&p.limits, &m.limits);
            for (limit, before, after) in [
                ("memory_mib", was.memory_mib, is.memory_mib),
                (
                    "call_timeout_secs",
                    was.call_timeout_secs,
                    is.call_timeout_secs,
                ),
                (
                    "max_response_mib",
                    was.max_response_mib,
                    is.max_response_mib,
                ),
            ] {
                if after > before {
                    changes.push(Change::Limit {
                        limit,
                        before,
                        after,
                    });
                }
            }
        }
        CapabilityDiff {
            previous_version: prev.map(|p| p.version.clone()),
            new_origins,
            new_secrets,
            kept_origins,
            kept_secrets,
            changes,
        }
    }

    /// Installs (or updates) a checked package with what the user chose to grant of the new
    /// origins and secrets in [`Registry::diff`]. Grants kept from a previous version stay.
    pub fn install(
        &mut self,
        runtime: &Runtime,
        pkg: &Package,
        grant: &Grant,
    ) -> Result<LockEntry, Error> {
        self.install_with(runtime, pkg, grant, None)
    }

    /// [`Registry::install`], recording `dev` (the crate folder) for a development install.
    pub fn install_with(
        &mut self,
        runtime: &Runtime,
        pkg: &Package,
        grant: &Grant,
        dev: Option<&Path>,
    ) -> Result<LockEntry, Error> {
        let m = &pkg.manifest;
        // Compile and check imports/exports before touching anything on disk.
        let component = runtime.compile_checked(m, &pkg.component)?;
        let diff = self.diff(pkg);
        // Secrets that changed are simply not granted without consent; a raised limit or a
        // configurable endpoint cannot be half-granted, so installing them needs a yes.
        if matches!(grant, Grant::Nothing) {
            let changes: Vec<String> = diff.other_changes().map(Change::describe).collect();
            if !changes.is_empty() {
                return Err(Error::ConsentNeeded(format!(
                    "plugin `{}` {} asks for more than the installed version: {}",
                    m.id,
                    m.version,
                    changes.join("; ")
                )));
            }
        }

        let plugins_dir = self.home.plugins_dir();
        crate::fsperm::create_private_dir(&plugins_dir).map_err(Error::io(format!(
            "cannot create {}",
            plugins_dir.display()
        )))?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".staging-{}-", m.id))
            .tempdir_in(&plugins_dir)
            .map_err(Error::io("cannot stage the plugin"))?;
        std::fs::write(staging.path().join(MANIFEST_FILE), &pkg.manifest_text)
            .map_err(Error::io("cannot stage the plugin"))?;
        std::fs::write(staging.path().join(&m.component.file), &pkg.component)
            .map_err(Error::io("cannot stage the plugin"))?;
        runtime.store_precompiled(&m.component.sha256, &component)?;

        let target = self.home.plugin_dir(&m.id);
        let old = plugins_dir.join(format!(".old-{}-{}", m.id, std::process::id()));
        if target.exists() {
            std::fs::rename(&target, &old)
                .map_err(Error::io(format!("cannot replace {}", target.display())))?;
        }
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, &target) {
            let _ = std::fs::rename(&old, &target);
            return Err(Error::io(format!(
                "cannot install into {}",
                target.display()
            ))(e));
        }
        let _ = std::fs::remove_dir_all(&old);

        let (granted_origins, granted_secrets) = grant.resolve(m, &diff)?;
        if let Some(prev) = self.lock.plugins.iter().find(|p| p.id == m.id)
            && prev.sha256 != m.component.sha256
        {
            runtime.forget_precompiled(&prev.sha256);
        }
        let entry = LockEntry {
            id: m.id.clone(),
            version: m.version.clone(),
            kind: m.kind,
            sha256: m.component.sha256.clone(),
            manifest_sha256: Some(sha256_hex(pkg.manifest_text.as_bytes())),
            installed_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            granted_origins,
            granted_secrets,
            dev: dev.map(Path::to_path_buf),
        };
        self.lock.plugins.retain(|p| p.id != m.id);
        self.lock.plugins.push(entry.clone());
        self.lock.plugins.sort_by(|a, b| a.id.cmp(&b.id));
        self.save()?;
        Ok(entry)
    }

    /// Grants an installed plugin one more origin (`minutes plugin allow`), with the secrets
    /// that go there. Says what was granted, so that no secret is granted silently.
    pub fn allow(&mut self, id: &str, origin: &str) -> Result<Allowed, Error> {
        let m = self.manifest(id)?;
        let canonical = grantable(&m, origin)?;
        let entry = self
            .lock
            .plugins
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotInstalled(id.into()))?;
        let newly = !entry.granted_origins.contains(&canonical);
        let mut changed = newly;
        if newly {
            entry.granted_origins.push(canonical.clone());
        }
        // A configurable plugin's secrets go to whatever endpoint the user grants.
        let mut secrets = Vec::new();
        for d in m.secrets.iter().filter(|d| {
            d.origins.is_empty()
                || d.origins
                    .iter()
                    .any(|o| AllowedOrigin::parse(o).is_ok_and(|p| p.canonical() == canonical))
        }) {
            if !entry.granted_secrets.contains(&d.name) {
                entry.granted_secrets.push(d.name.clone());
                changed = true;
            }
            secrets.push((d.name.clone(), header_line(d)));
        }
        if changed {
            self.save()?;
        }
        Ok(Allowed {
            origin: canonical,
            newly,
            secrets,
        })
    }

    /// The origins `entry` may reach now: declared (any, for a configurable endpoint) and
    /// granted.
    pub fn reachable(&self, manifest: &Manifest, entry: &LockEntry) -> Result<Allowlist, Error> {
        if !manifest.kind.uses_network() {
            return Ok(Allowlist::default());
        }
        let mut declared = manifest.network.origins.clone();
        if manifest.network.configurable {
            // The user chooses the endpoint (e.g. a custom OpenAI-compatible server): whatever
            // they granted is what the plugin may reach.
            declared.extend(entry.granted_origins.iter().cloned());
        }
        Allowlist::effective(&declared, &entry.granted_origins).map_err(|e| Error::Lock {
            path: self.home.lock_path().display().to_string(),
            message: e.to_string(),
        })
    }

    /// Takes an origin back (`minutes plugin deny`). Returns whether it had been granted.
    pub fn deny(&mut self, id: &str, origin: &str) -> Result<bool, Error> {
        let canonical = AllowedOrigin::parse(origin)
            .map_err(|e| Error::ConsentNeeded(e.to_string()))?
            .canonical();
        let entry = self
            .lock
            .plugins
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotInstalled(id.into()))?;
        let before = entry.granted_origins.len();
        entry.granted_origins.retain(|o| {
            AllowedOrigin::parse(o).map(|p| p.canonical()).as_deref() != Ok(canonical.as_str())
        });
        let changed = entry.granted_origins.len() != before;
        if changed {
            self.save()?;
        }
        Ok(changed)
    }

    /// Removes a plugin's files, its compiled artifacts and its lock entry.
    pub fn remove(&mut self, runtime: Option<&Runtime>, id: &str) -> Result<LockEntry, Error> {
        let entry = self.get(id)?.clone();
        // Read before the files go: the keyring cannot list what a plugin stored.
        let names: Vec<String> = self
            .read_manifest(id, false)
            .map(|m| m.secrets.into_iter().map(|s| s.name).collect())
            .unwrap_or_default();
        let dir = self.home.plugin_dir(id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(Error::io(format!("cannot remove {}", dir.display())))?;
        }
        match runtime {
            Some(rt) => rt.forget_precompiled(&entry.sha256),
            None => remove_cached(&self.home.cache_dir(), &entry.sha256),
        }
        if let Err(e) = SecretStore::new(self.home.secrets_dir()).remove_all(id, &names) {
            tracing::warn!("plugin `{id}` removed, but its secrets could not be: {e}");
        }
        self.lock.plugins.retain(|p| p.id != id);
        self.save()?;
        Ok(entry)
    }

    /// Loads an installed plugin with its effective configuration.
    pub fn load(&self, runtime: &Runtime, id: &str) -> Result<LoadedPlugin, Error> {
        let entry = self.get(id)?;
        let manifest = self.manifest(id)?;
        if manifest.component.sha256 != entry.sha256 {
            return Err(Error::Lock {
                path: self.home.lock_path().display().to_string(),
                message: format!(
                    "plugin `{id}` on disk is not the one that was installed; reinstall it"
                ),
            });
        }
        let config = self.effective_config(&manifest)?;
        let grant = self.net_grant(&manifest, entry)?;
        let component = self.home.plugin_dir(id).join(&manifest.component.file);
        runtime.load(&manifest, &component, config, grant)
    }

    /// The effective network rights: declared AND granted origins, and the granted secrets
    /// that are set, each limited to origins that are themselves effective.
    pub fn net_grant(&self, manifest: &Manifest, entry: &LockEntry) -> Result<NetGrant, Error> {
        if !manifest.kind.uses_network() {
            return Ok(NetGrant::default());
        }
        let allowlist = self.reachable(manifest, entry)?;
        let store = SecretStore::new(self.home.secrets_dir());
        let mut secrets = Vec::new();
        for decl in manifest
            .secrets
            .iter()
            .filter(|d| entry.granted_secrets.contains(&d.name))
        {
            let value = store.get(&manifest.id, &decl.name).map_err(|e| Error::Io {
                context: e.to_string(),
                source: std::io::Error::other("secret store"),
            })?;
            let Some(value) = value else {
                // Not a warning: keyless local endpoints are common, and a service that wants
                // the key answers 401, which the plugin turns into this same advice.
                tracing::debug!(
                    "plugin '{}' has a secret `{}`, which is not set: minutes secret set {} {}",
                    manifest.id,
                    decl.name,
                    manifest.id,
                    decl.name
                );
                continue;
            };
            let origins = secret_destinations(decl, &allowlist);
            let header = reqwest::header::HeaderName::from_bytes(decl.header.as_bytes());
            let mut header_value =
                reqwest::header::HeaderValue::from_str(&decl.format.replace("{}", value.trim()));
            if let Ok(v) = header_value.as_mut() {
                v.set_sensitive(true);
            }
            match (header, header_value) {
                (Ok(header), Ok(header_value)) => secrets.push(SecretRule {
                    name: decl.name.clone(),
                    header,
                    value: header_value,
                    secret: value.trim().to_string(),
                    origins,
                }),
                _ => tracing::warn!(
                    "the secret `{}` of plugin '{}' cannot be sent as an HTTP header (control characters?); set it again",
                    decl.name,
                    manifest.id
                ),
            }
        }
        Ok(NetGrant { allowlist, secrets })
    }

    /// Defaults from the manifest, overridden by `[plugins.<id>]` in config.toml.
    pub fn effective_config(&self, manifest: &Manifest) -> Result<ConfigMap, Error> {
        let mut values = manifest.config_defaults();
        let path = self.home.config_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(values),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
        };
        // config.toml is the user's settings, not a plugin's manifest: say so in its errors.
        let bad = |message: String| Error::Settings {
            file: path.display().to_string(),
            message,
        };
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| bad(super::manifest::toml_message(&text, &e)))?;
        let Some(user) = table.get("plugins").and_then(|p| p.get(&manifest.id)) else {
            return Ok(values);
        };
        let user = user
            .as_table()
            .ok_or_else(|| bad(format!("`plugins.{}` must be a table", manifest.id)))?;
        for (key, value) in user {
            let field = manifest.config.get(key).ok_or_else(|| {
                bad(format!(
                    "`plugins.{}.{key}`: plugin `{}` has no setting `{key}` (it has: {})",
                    manifest.id,
                    manifest.id,
                    manifest
                        .config
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let v: ConfigValue = config_value(field.ty, value)
                .map_err(|why| bad(format!("`plugins.{}.{key}` {why}", manifest.id)))?;
            values.insert(key.clone(), v);
        }
        Ok(values)
    }

    fn save(&self) -> Result<(), Error> {
        let path = self.home.lock_path();
        let text = format!(
            "# Installed minutes plugins: their sha256 and what you granted them. Written by minutes.\n{}",
            toml::to_string(&self.lock).map_err(|e| Error::Lock {
                path: path.display().to_string(),
                message: e.to_string()
            })?
        );
        crate::fsperm::create_private_dir(self.home.root()).map_err(Error::io(format!(
            "cannot create {}",
            self.home.root().display()
        )))?;
        let tmp = tempfile::NamedTempFile::new_in(self.home.root())
            .map_err(Error::io("cannot write the lock file"))?;
        std::fs::write(tmp.path(), text).map_err(Error::io("cannot write the lock file"))?;
        tmp.as_file()
            .sync_all()
            .map_err(Error::io("cannot write the lock file"))?;
        tmp.persist(&path)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()))(e.error))?;
        Ok(())
    }
}

/// What `minutes plugin allow` granted.
#[derive(Debug, Clone, Serialize)]
pub struct Allowed {
    /// The origin, in canonical form.
    pub origin: String,
    /// False when it had been granted already.
    pub newly: bool,
    /// The secrets (name, header) minutes now adds to requests to this origin.
    pub secrets: Vec<(String, String)>,
}

/// Where a granted secret goes: its declared origins that are reachable, or, when it declares
/// none (a configurable plugin), every reachable origin.
pub fn secret_destinations(decl: &SecretDecl, reachable: &Allowlist) -> Vec<AllowedOrigin> {
    match decl.origins.is_empty() {
        true => reachable.entries().to_vec(),
        false => decl
            .origins
            .iter()
            .filter_map(|o| AllowedOrigin::parse(o).ok())
            .filter(|o| reachable.entries().contains(o))
            .collect(),
    }
}

pub(crate) fn remove_cached(cache: &Path, sha256: &str) {
    if let Ok(entries) = std::fs::read_dir(cache) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(sha256) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
