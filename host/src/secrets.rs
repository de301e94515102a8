//! Secrets (API keys) held by the host for plugins. A plugin never reads them: the host writes
//! them into requests to the origins the manifest names.
//!
//! Stored in the OS keyring when one answers (Secret Service on Linux desktops, the macOS
//! Keychain, the Windows Credential Manager; service `minutes`, account `<plugin>/<name>`), else
//! per plugin in `<home>/secrets/<plugin>.toml`, readable only by the user (0600 in a 0700
//! folder) — headless machines usually have no keyring. `MINUTES_SECRET_<PLUGIN>__<NAME>` (see
//! [`env_name`]) overrides a stored value, for CI and scripts; `MINUTES_SECRETS=file` skips the
//! keyring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({message}); remove it and set the secrets again")]
    Damaged { path: PathBuf, message: String },
}

pub struct SecretStore {
    dir: PathBuf,
    use_keyring: bool,
}

/// Where a secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Keyring,
    File,
}

const KEYRING_SERVICE: &str = "minutes";

/// Runs a keyring call where it may block. The Secret Service client drives its own tokio
/// runtime for each call, which panics on a thread that is already running one (a provider
/// loaded inside a summary's async task, a handler of `minutes app`): there it runs on a
/// thread of its own.
fn outside_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|s| match s.spawn(call).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn keyring_entry(plugin: &str, name: &str) -> Option<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("{plugin}/{name}")).ok()
}

/// Why the keyring could not be used, for the debug log; `NoEntry` is not a failure.
fn keyring_unavailable(e: &keyring::Error) {
    tracing::debug!("OS keyring not used: {e}");
}

/// The environment variable that overrides a stored secret: `MINUTES_SECRET_`, the plugin id,
/// `__`, the secret's name, in upper case; in each part one `-` becomes `_`, and a run of n > 1
/// dashes becomes n + 1 underscores. Plugin ids and secret names are slugs (lower-case letters,
/// digits and `-`, starting with a letter, not ending with `-`), so the separator is the only
/// run of exactly two underscores, and two different (plugin, secret) pairs never share a
/// variable: `fireworks`/`api-key` is `MINUTES_SECRET_FIREWORKS__API_KEY`, and `a-b`/`c`
/// (`MINUTES_SECRET_A_B__C`) no longer meets `a`/`b-c` (`MINUTES_SECRET_A__B_C`).
pub fn env_name(plugin: &str, name: &str) -> String {
    format!("MINUTES_SECRET_{}__{}", env_part(plugin), env_part(name))
}

fn env_part(slug: &str) -> String {
    let mut out = String::with_capacity(slug.len() + 2);
    let mut dashes = 0;
    for c in slug.chars().chain(std::iter::once('\0')) {
        if c == '-' {
            dashes += 1;
            continue;
        }
        match dashes {
            0 => {}
            1 => out.push('_'),
            n => out.push_str(&"_".repeat(n + 1)),
        }
        dashes = 0;
        if c != '\0' {
            out.push(c.to_ascii_uppercase());
        }
    }
    out
}

/// The name earlier versions read (`-` as `_`, one `_` between the parts), which two
/// different pairs could share; only used to tell a user to rename it.
fn legacy_env_name(plugin: &str, name: &str) -> String {
    format!("MINUTES_SECRET_{plugin}_{name}")
        .to_ascii_uppercase()
        .replace('-', "_")
}

/// The override from the environment, warning about a variable under the old, ambiguous name.
fn env_value(plugin: &str, name: &str) -> Option<String> {
    let var = env_name(plugin, name);
    if let Some(v) = std::env::var_os(&var).and_then(|v| v.into_string().ok()) {
        return Some(v);
    }
    let legacy = legacy_env_name(plugin, name);
    if std::env::var_os(&legacy).is_some() {
        tracing::warn!(
            "{legacy} is not read any more (another plugin's secret could have the same name); \
             rename it to {var}"
        );
    }
    None
}

impl SecretStore {
    pub fn new(dir: impl Into<PathBuf>) -> SecretStore {
        let use_keyring = std::env::var("MINUTES_SECRETS")
            .map(|v| v != "file")
            .unwrap_or(true);
        SecretStore {
            dir: dir.into(),
            use_keyring,
        }
    }

    fn keyring_get(&self, plugin: &str, name: &str) -> Option<String> {
        if !self.use_keyring {
            return None;
        }
        let entry = keyring_entry(plugin, name)?;
        match outside_runtime(|| entry.get_password()) {
            Ok(v) => Some(v),
            Err(keyring::Error::NoEntry) => None,
            Err(e) => {
                keyring_unavailable(&e);
                None
            }
        }
    }

    fn file(&self, plugin: &str) -> PathBuf {
        self.dir.join(format!("{plugin}.toml"))
    }

    fn read(&self, plugin: &str) -> Result<BTreeMap<String, String>, SecretError> {
        let path = self.file(plugin);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| SecretError::Damaged {
                path,
                message: e.message().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(SecretError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    fn write(&self, plugin: &str, values: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let path = self.file(plugin);
        let io = |action, source| SecretError::Io {
            action,
            path: path.clone(),
            source,
        };
        create_private_dir(&self.dir).map_err(|e| io("create the folder of", e))?;
        if values.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", e)),
                _ => Ok(()),
            };
        }
        let text = toml::to_string(values).map_err(|e| SecretError::Damaged {
            path: path.clone(),
            message: e.to_string(),
        })?;
        // NamedTempFile is created 0600; the rename keeps that mode.
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io("write", e))?;
        std::fs::write(tmp.path(), text).map_err(|e| io("write", e))?;
        tmp.persist(&path).map_err(|e| io("write", e.error))?;
        Ok(())
    }

    /// The secret's value: the environment override, else the keyring, else the file.
    pub fn get(&self, plugin: &str, name: &str) -> Result<Option<String>, SecretError> {
        if let Some(v) = env_value(plugin, name) {
            return Ok(Some(v));
        }
        if let Some(v) = self.keyring_get(plugin, name) {
            return Ok(Some(v));
        }
        Ok(self.read(plugin)?.remove(name))
    }

    /// Stores in the keyring when it answers (and drops any copy in the file), else in the file.
    pub fn set(&self, plugin: &str, name: &str, value: &str) -> Result<Backend, SecretError> {
        if self.use_keyring {
            match keyring_entry(plugin, name).map(|e| outside_runtime(|| e.set_password(value))) {
                Some(Ok(())) => {
                    let mut values = self.read(plugin)?;
                    if values.remove(name).is_some() {
                        self.write(plugin, &values)?;
                    }
                    return Ok(Backend::Keyring);
                }
                Some(Err(e)) => keyring_unavailable(&e),
                None => {}
            }
        }
        let mut values = self.read(plugin)?;
        values.insert(name.to_string(), value.to_string());
        self.write(plugin, &values)?;
        Ok(Backend::File)
    }

    /// Returns whether a stored value was removed (from the keyring or the file).
    pub fn remove(&self, plugin: &str, name: &str) -> Result<bool, SecretError> {
        let in_keyring = self.use_keyring
            && keyring_entry(plugin, name)
                .is_some_and(|e| outside_runtime(|| e.delete_credential()).is_ok());
        let mut values = self.read(plugin)?;
        let in_file = values.remove(name).is_some();
        self.write(plugin, &values)?;
        Ok(in_keyring || in_file)
    }

    /// Forgets the named secrets of a plugin (when it is removed).
    pub fn remove_all(&self, plugin: &str, names: &[String]) -> Result<(), SecretError> {
        for name in names {
            self.remove(plugin, name)?;
        }
        self.write(plugin, &BTreeMap::new())
    }

    /// Where a secret's value comes from, without revealing it.
    pub fn source(&self, plugin: &str, name: &str) -> Result<Option<&'static str>, SecretError> {
        if env_value(plugin, name).is_some() {
            return Ok(Some("environment"));
        }
        if self.keyring_get(plugin, name).is_some() {
            return Ok(Some("keyring"));
        }
        Ok(self.read(plugin)?.contains_key(name).then_some("file"))
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_secrets_are_private_and_removable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SecretStore {
            dir: dir.path().join("secrets"),
            use_keyring: false,
        };
        assert_eq!(
            store.set("fireworks", "api-key", "fw-123").expect("set"),
            Backend::File
        );
        assert_eq!(
            store.get("fireworks", "api-key").expect("get").as_deref(),
            Some("fw-123")
        );
        assert_eq!(
            store.get("other", "api-key").expect("get"),
            None,
            "secrets are per plugin"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets/fireworks.toml"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "secret file readable by others: {mode:o}");
            let mode = std::fs::metadata(dir.path().join("secrets"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "secret folder open to others: {mode:o}");
        }
        assert!(store.remove("fireworks", "api-key").expect("remove"));
        assert_eq!(store.get("fireworks", "api-key").expect("get"), None);
        assert!(!dir.path().join("secrets/fireworks.toml").exists());
    }

    /// Runs only where a Secret Service answers (a desktop session, or CI's gnome-keyring
    /// under dbus-run-session); says so when it cannot.
    #[test]
    fn the_os_keyring_is_used_when_one_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SecretStore {
            dir: dir.path().join("secrets"),
            use_keyring: true,
        };
        let plugin = format!("keyring-test-{}", std::process::id());
        match store.set(&plugin, "api-key", "kr-secret").expect("set") {
            Backend::File => {
                eprintln!(
                    "no OS keyring answered here: the file fallback was used (covered by the test above)"
                );
                assert_eq!(
                    store.get(&plugin, "api-key").expect("get").as_deref(),
                    Some("kr-secret")
                );
            }
            Backend::Keyring => {
                assert!(
                    !dir.path()
                        .join("secrets")
                        .join(format!("{plugin}.toml"))
                        .exists(),
                    "a keyring secret also went to the file"
                );
                assert_eq!(
                    store.get(&plugin, "api-key").expect("get").as_deref(),
                    Some("kr-secret")
                );
                assert_eq!(
                    store.source(&plugin, "api-key").expect("source"),
                    Some("keyring")
                );
                // A provider reads its key inside the summary's async task, and `minutes app`
                // inside its server: the keyring must answer there too.
                for threads in [1, 2] {
                    let rt = match threads {
                        1 => tokio::runtime::Builder::new_current_thread().build(),
                        _ => tokio::runtime::Builder::new_multi_thread()
                            .worker_threads(threads)
                            .build(),
                    }
                    .expect("runtime");
                    let got = rt.block_on(async { store.get(&plugin, "api-key") });
                    assert_eq!(got.expect("get").as_deref(), Some("kr-secret"));
                }
                assert!(store.remove(&plugin, "api-key").expect("remove"));
                assert_eq!(store.get(&plugin, "api-key").expect("get"), None);
            }
        }
    }

    #[test]
    fn environment_overrides_use_upper_case_names() {
        assert_eq!(
            env_name("open-ai", "api-key"),
            "MINUTES_SECRET_OPEN_AI__API_KEY"
        );
        assert_eq!(
            env_name("fireworks", "api-key"),
            "MINUTES_SECRET_FIREWORKS__API_KEY"
        );
        assert_eq!(env_name("a--b", "c"), "MINUTES_SECRET_A___B__C");
    }

    /// Issue 15.4: plugin `a-b` with secret `c` and plugin `a` with secret `b-c` both read
    /// MINUTES_SECRET_A_B_C, so a variable set for one plugin was handed to the other. Every
    /// pair of different (plugin, secret) slugs must get its own variable.
    #[test]
    fn environment_names_never_collide() {
        assert_ne!(env_name("a-b", "c"), env_name("a", "b-c"));
        // Every slug over {a, 1, -} up to 5 characters, as plugin and as secret name.
        let mut slugs = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            slugs = slugs
                .iter()
                .flat_map(|s| ["a", "1", "-"].map(|c| format!("{s}{c}")))
                .collect();
            all.extend(
                slugs
                    .iter()
                    .filter(|s| s.starts_with('a') && !s.ends_with('-'))
                    .cloned(),
            );
        }
        let mut seen = std::collections::HashMap::new();
        for plugin in &all {
            for name in &all {
                let var = env_name(plugin, name);
                assert!(
                    var.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "{var}"
                );
                if let Some(other) = seen.insert(var.clone(), (plugin.clone(), name.clone())) {
                    panic!("{var} is read by both {other:?} and {:?}", (plugin, name));
                }
            }
        }
    }
}
