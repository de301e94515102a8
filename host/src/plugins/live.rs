//! Plugins that follow what is installed and configured, for a process that runs for a while
//! (recording, a daemon, `minutes plugin dev`'s own checks): when `plugins.lock` or
//! `config.toml` changes — a `minutes plugin install`, a dev-mode reload, an edited setting,
//! a new grant — the next [`LivePlugins::get`] returns the plugin as it is now, without a
//! restart. When nothing changed a call costs two `stat`s and a clone.
//!
//! Callers must ask [`LivePlugins::get`] for each use: a [`LoadedPlugin`] kept aside stays
//! the version it was loaded as (its calls are still safe; it is simply not updated).

use super::error::Error;
use super::registry::{Home, Registry};
use super::runtime::{LoadedPlugin, Runtime};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What tells us a file changed: writes through minutes replace files by rename, so the inode
/// changes even when size and mtime would not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp(Option<(u64, SystemTime, u64)>);

impl FileStamp {
    fn of(path: &Path) -> FileStamp {
        let Ok(meta) = std::fs::metadata(path) else {
            return FileStamp(None);
        };
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp(Some((
            meta.len(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            inode,
        )))
    }
}

struct State {
    registry: Registry,
    lock: FileStamp,
    config: FileStamp,
    loaded: HashMap<String, LoadedPlugin>,
}

pub struct LivePlugins {
    home: Home,
    runtime: Runtime,
    state: Mutex<State>,
}

impl LivePlugins {
    pub fn open(home: Home, runtime: Runtime) -> Result<LivePlugins, Error> {
        let (lock, config) = (
            FileStamp::of(&home.lock_path()),
            FileStamp::of(&home.config_path()),
        );
        let registry = Registry::open(home.clone())?;
        Ok(LivePlugins {
            home,
            runtime,
            state: Mutex::new(State {
                registry,
                lock,
                config,
                loaded: HashMap::new(),
            }),
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The plugin `id` as installed and configured now. A new version (a changed sha256 in the
    /// lock file), a new grant or a changed setting reloads it; loading an installed plugin
    /// reads its precompiled code, so this takes milliseconds.
    pub fn get(&self, id: &str) -> Result<LoadedPlugin, Error> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.refresh(&mut state)?;
        if let Some(p) = state.loaded.get(id) {
            return Ok(p.clone());
        }
        let plugin = match state.registry.load(&self.runtime, id) {
            Ok(p) => p,
            // An install replaces the plugin's folder, then the lock file: a load that falls
            // between the two sees one without the other. Once it has settled, load again.
            Err(Error::Io { .. } | Error::Lock { .. } | Error::ManifestChanged { .. }) => {
                std::thread::sleep(Duration::from_millis(100));
                self.refresh(&mut state)?;
                state.registry.load(&self.runtime, id)?
            }
            Err(e) => return Err(e),
        };
        tracing::debug!(plugin = id, "loaded");
        state.loaded.insert(id.to_string(), plugin.clone());
        Ok(plugin)
    }

    /// Re-reads the lock file and forgets loaded plugins when either file changed. Everything
    /// is dropped rather than compared: grants, secrets and settings all feed a load, and a
    /// reload from the precompiled cache is cheap.
    fn refresh(&self, state: &mut State) -> Result<(), Error> {
        let lock = FileStamp::of(&self.home.lock_path());
        let config = FileStamp::of(&self.home.config_path());
        if lock == state.lock && config == state.config {
            return Ok(());
        }
        if lock != state.lock {
            state.registry = Registry::open(self.home.clone())?;
        }
        if !state.loaded.is_empty() {
            tracing::info!("plugins.lock or config.toml changed: plugins will be reloaded");
        }
        state.loaded.clear();
        (state.lock, state.config) = (lock, config);
        Ok(())
    }
}
