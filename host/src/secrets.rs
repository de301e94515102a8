//! Secrets (API keys) held by the host for plugins. A plugin never reads them: the host writes
//! them into requests to the origins the manifest names.
//!
//! Stored per plugin in `<home>/secrets/<plugin>.toml`, readable only by the user (0600 in a
//! 0700 folder). `MINUTES_SECRET_<PLUGIN>_<NAME>` (upper case, `-` as `_`) overrides a stored
//! value, for CI and scripts.
//
// No OS keyring yet: headless Linux (our CI, servers) usually has no Secret Service to talk to,
// and a file only the user can read is the documented fallback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot {action} {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{path} is damaged ({message}); remove it and set the secrets again")]
    Damaged { path: PathBuf, message: String },
}

pub struct SecretStore {
    dir: PathBuf,
}

/// The environment variable that overrides a stored secret.
pub fn env_name(plugin: &str, name: &str) -> String {
    format!("MINUTES_SECRET_{}_{}", plugin, name).to_ascii_uppercase().replace('-', "_")
}

impl SecretStore {
    pub fn new(dir: impl Into<PathBuf>) -> SecretStore {
        SecretStore { dir: dir.into() }
    }

    fn file(&self, plugin: &str) -> PathBuf {
        self.dir.join(format!("{plugin}.toml"))
    }

    fn read(&self, plugin: &str) -> Result<BTreeMap<String, String>, SecretError> {
        let path = self.file(plugin);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| SecretError::Damaged { path, message: e.message().to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(source) => Err(SecretError::Io { action: "read", path, source }),
        }
    }

    fn write(&self, plugin: &str, values: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let path = self.file(plugin);
        let io = |action, source| SecretError::Io { action, path: path.clone(), source };
        create_private_dir(&self.dir).map_err(|e| io("create the folder of", e))?;
        if values.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", e)),
                _ => Ok(()),
            };
        }
        let text = toml::to_string(values).map_err(|e| SecretError::Damaged { path: path.clone(), message: e.to_string() })?;
        // NamedTempFile is created 0600; the rename keeps that mode.
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| io("write", e))?;
        std::fs::write(tmp.path(), text).map_err(|e| io("write", e))?;
        tmp.persist(&path).map_err(|e| io("write", e.error))?;
        Ok(())
    }

    /// The secret's value: the environment override, else the stored value.
    pub fn get(&self, plugin: &str, name: &str) -> Result<Option<String>, SecretError> {
        if let Some(v) = std::env::var_os(env_name(plugin, name)).and_then(|v| v.into_string().ok()) {
            return Ok(Some(v));
        }
        Ok(self.read(plugin)?.remove(name))
    }

    pub fn set(&self, plugin: &str, name: &str, value: &str) -> Result<(), SecretError> {
        let mut values = self.read(plugin)?;
        values.insert(name.to_string(), value.to_string());
        self.write(plugin, &values)
    }

    /// Returns whether a stored value was removed.
    pub fn remove(&self, plugin: &str, name: &str) -> Result<bool, SecretError> {
        let mut values = self.read(plugin)?;
        let had = values.remove(name).is_some();
        self.write(plugin, &values)?;
        Ok(had)
    }

    /// Forgets every secret of a plugin (when it is removed).
    pub fn remove_all(&self, plugin: &str) -> Result<(), SecretError> {
        self.write(plugin, &BTreeMap::new())
    }

    /// Where a secret's value comes from, without revealing it.
    pub fn source(&self, plugin: &str, name: &str) -> Result<Option<&'static str>, SecretError> {
        if std::env::var_os(env_name(plugin, name)).is_some() {
            return Ok(Some("environment"));
        }
        Ok(self.read(plugin)?.contains_key(name).then_some("stored"))
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
        let store = SecretStore::new(dir.path().join("secrets"));
        store.set("fireworks", "api-key", "fw-123").expect("set");
        assert_eq!(store.get("fireworks", "api-key").expect("get").as_deref(), Some("fw-123"));
        assert_eq!(store.get("other", "api-key").expect("get"), None, "secrets are per plugin");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets/fireworks.toml")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "secret file readable by others: {mode:o}");
            let mode = std::fs::metadata(dir.path().join("secrets")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "secret folder open to others: {mode:o}");
        }
        assert!(store.remove("fireworks", "api-key").expect("remove"));
        assert_eq!(store.get("fireworks", "api-key").expect("get"), None);
        assert!(!dir.path().join("secrets/fireworks.toml").exists());
    }

    #[test]
    fn environment_overrides_use_upper_case_names() {
        assert_eq!(env_name("open-ai", "api-key"), "MINUTES_SECRET_OPEN_AI_API_KEY");
    }
}
