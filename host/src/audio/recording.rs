//! A recording's folder, `<home>/recordings/<id>/`: `audio.wav` (2 channels: mic, system) and
//! `recording.json`, the state that tells an interrupted recording (the process died while it
//! said "recording" or "transcribing") from a finished one.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Recording,
    Transcribing,
    Done,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingState {
    pub id: String,
    pub title: String,
    pub started_at: String,
    /// The process that writes it; a recording whose process is gone was interrupted.
    pub pid: u32,
    pub phase: Phase,
    pub mic: Option<String>,
    pub system: Option<String>,
    pub channel_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Why it stopped, when not by the user (disk full, write error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(
        "cannot create the recording folder {path}: {source}; check that the minutes home is writable (--home / MINUTES_HOME)"
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({why}); move the folder away to skip it")]
    BadState { path: PathBuf, why: String },
}

pub struct Recording {
    pub dir: PathBuf,
    pub state: RecordingState,
}

pub fn recordings_dir(home: &Path) -> PathBuf {
    home.join("recordings")
}

impl Recording {
    /// A new folder named by the start time (a second counter if two start in the same second).
    pub fn create(
        home: &Path,
        title: &str,
        mic: Option<String>,
        system: Option<String>,
        channel_names: Vec<String>,
    ) -> Result<Recording, RecordingError> {
        let now = crate::time::now_secs();
        let started_at = crate::time::rfc3339(now);
        let base = started_at
            .replace([':', 'T'], "-")
            .trim_end_matches('Z')
            .to_string();
        let root = recordings_dir(home);
        crate::fsperm::create_private_dir(&root).map_err(|source| RecordingError::Create {
            path: root.clone(),
            source,
        })?;
        let mut id = base.clone();
        let mut n = 1;
        let dir = loop {
            let dir = root.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    // Not fatal: the recordings folder around it is private already.
                    let _ = crate::fsperm::restrict(&dir);
                    break dir;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => {
                    n += 1;
                    id = format!("{base}-{n}");
                }
                Err(source) => return Err(RecordingError::Create { path: dir, source }),
            }
        };
        let state = RecordingState {
            id,
            title: title.to_string(),
            started_at,
            pid: std::process::id(),
            phase: Phase::Recording,
            mic,
            system,
            channel_names,
            duration_ms: None,
            stopped_by: None,
            exports: Vec::new(),
        };
        let rec = Recording { dir, state };
        rec.save()?;
        Ok(rec)
    }

    pub fn open(dir: &Path) -> Result<Recording, RecordingError> {
        let path = dir.join("recording.json");
        let bad = |why: String| RecordingError::BadState {
            path: path.clone(),
            why,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        let state = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        Ok(Recording {
            dir: dir.to_path_buf(),
            state,
        })
    }

    pub fn audio_path(&self) -> PathBuf {
        self.dir.join("audio.wav")
    }

    /// Writes the state atomically (a crash leaves the old or the new one, never half).
    pub fn save(&self) -> Result<(), RecordingError> {
        let path = self.dir.join("recording.json");
        let write = |source| RecordingError::Write {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(&self.state)
            .map_err(|e| write(std::io::Error::other(e)))?;
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(write)?;
        std::fs::write(tmp.path(), text).map_err(write)?;
        tmp.as_file().sync_all().map_err(write)?;
        tmp.persist(&path).map_err(|e| write(e.error))?;
        Ok(())
    }

    pub fn set_phase(&mut self, phase: Phase) -> Result<(), RecordingError> {
        self.state.phase = phase;
        self.save()
    }
}

/// Recordings whose process died before they were done, oldest first.
pub fn interrupted(home: &Path) -> Vec<Result<Recording, RecordingError>> {
    let Ok(entries) = std::fs::read_dir(recordings_dir(home)) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("recording.json").exists())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| Recording::open(d))
        .filter(|r| match r {
            Ok(rec) => rec.state.phase != Phase::Done && !process_alive(rec.state.pid),
            Err(_) => true,
        })
        .collect()
}

/// Whether `pid` is a running process (another minutes still recording into that folder).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        // A zombie (killed, not yet reaped) is not alive.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
                .unwrap_or(true),
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        // Without /proc: ask the OS whether the process exists.
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording is the meeting itself: no other user of the machine may read it.
    #[cfg(unix)]
    #[test]
    fn a_recording_and_its_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().join("home");
        let rec = Recording::create(&home, "private", None, None, vec![]).expect("create");
        let writer = crate::audio::wav::WavWriter::create(&rec.audio_path(), 1, 16_000);
        writer.expect("wav");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&recordings_dir(&home)), 0o700);
        assert_eq!(mode(&rec.dir), 0o700);
        assert_eq!(mode(&rec.dir.join("recording.json")), 0o600);
        assert_eq!(mode(&rec.audio_path()), 0o600);
    }

    #[test]
    fn a_recording_whose_process_died_is_interrupted_and_a_done_one_is_not() {
        let home = tempfile::tempdir().expect("tempdir");
        let mut live = Recording::create(home.path(), "live", None, None, vec![]).expect("create");
        let mut dead = Recording::create(home.path(), "dead", None, None, vec![]).expect("create");
        assert_ne!(live.dir, dead.dir);
        // A pid that cannot be running.
        dead.state.pid = u32::MAX - 1;
        dead.save().expect("save");
        let found: Vec<String> = interrupted(home.path())
            .into_iter()
            .map(|r| r.expect("ok").state.title)
            .collect();
        assert_eq!(found, vec!["dead".to_string()]);
        dead.set_phase(Phase::Done).expect("done");
        live.set_phase(Phase::Transcribing).expect("save");
        assert!(interrupted(home.path()).is_empty());
    }
}
