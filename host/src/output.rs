//! Writing the files a plugin returns. A plugin names paths; the host decides where they go:
//! only inside the directory the user chose, never through a symlink, never over an existing
//! file unless asked.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "plugin `{plugin}` asked to write `{path}`, which is outside the output folder ({why}); nothing was written"
    )]
    Escapes {
        plugin: String,
        path: String,
        why: &'static str,
    },
    #[error("{0} already exists; pass --force to overwrite it")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Checks a plugin-chosen relative path and returns its parts.
fn safe_parts<'a>(plugin: &str, path: &'a str) -> Result<Vec<&'a str>, OutputError> {
    let refuse = |why| OutputError::Escapes {
        plugin: plugin.to_string(),
        path: path.to_string(),
        why,
    };
    if path.is_empty() || path.len() > 1024 {
        return Err(refuse("empty or too long"));
    }
    if path.contains(['\\', '\0']) || path.chars().any(char::is_control) {
        return Err(refuse("backslashes and control characters are not allowed"));
    }
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().ok_or_else(|| refuse("not UTF-8"))?),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("absolute paths are not allowed"));
            }
        }
    }
    if parts.is_empty() {
        return Err(refuse("no file name"));
    }
    Ok(parts)
}

/// Writes `files` (path, bytes) under `dir`. All paths are checked before anything is written.
pub fn write_files(
    plugin: &str,
    dir: &Path,
    files: &[(String, Vec<u8>)],
    force: bool,
) -> Result<Vec<PathBuf>, OutputError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Io { path, source }
    };
    let mut planned = Vec::new();
    for (name, _) in files {
        let parts = safe_parts(plugin, name)?;
        let mut target = dir.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            target.push(part);
            // A symlink anywhere below `dir` could lead out of it.
            match std::fs::symlink_metadata(&target) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(OutputError::Escapes {
                        plugin: plugin.to_string(),
                        path: name.clone(),
                        why: "it goes through a symbolic link",
                    });
                }
                Ok(m) if i + 1 < parts.len() && !m.is_dir() => {
                    return Err(OutputError::Io {
                        path: target.clone(),
                        source: std::io::Error::other("exists and is not a folder"),
                    });
                }
                Ok(m) if i + 1 == parts.len() && (m.is_dir() || !force) => {
                    return Err(OutputError::Exists(target));
                }
                _ => {}
            }
        }
        if planned.contains(&target) {
            return Err(OutputError::Escapes {
                plugin: plugin.to_string(),
                path: name.clone(),
                why: "it names the same file twice",
            });
        }
        planned.push(target);
    }
    if planned.is_empty() {
        return Ok(planned);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (target, (_, bytes)) in planned.iter().zip(files) {
        let parent = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        // Write beside the target, then rename: a crash never leaves a half-written file. The
        // file gets the usual permissions (0666 less the umask), not a temp file's 0600.
        let mut builder = tempfile::Builder::new();
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(parent).map_err(io(parent))?;
        std::fs::write(tmp.path(), bytes).map_err(io(target))?;
        tmp.persist(target).map_err(|e| OutputError::Io {
            path: target.clone(),
            source: e.error,
        })?;
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn exports_are_readable_like_any_file_the_user_writes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let written = write_files("p", dir.path(), &files(&["notes.md"]), false).unwrap();
        let mode = std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777;
        // 0666 less this process's umask (Linux reports it), not a temp file's 0600.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
        match umask {
            Some(umask) => assert_eq!(mode, 0o666 & !umask, "{mode:o} with umask {umask:o}"),
            None => assert!(mode & 0o600 == 0o600, "{mode:o}"),
        }
    }

    #[test]
    fn nothing_to_write_creates_no_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("not-made");
        assert!(write_files("p", &out, &[], false).unwrap().is_empty());
        assert!(!out.exists());
    }

    fn files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
        names
            .iter()
            .map(|n| (n.to_string(), b"x".to_vec()))
            .collect()
    }

    #[test]
    fn escapes_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in [
            "../x.md",
            "/etc/passwd",
            "a/../../x",
            "",
            "a\\b",
            "ok/\u{7}bell",
        ] {
            let err =
                write_files("p", dir.path(), &files(&["fine.md", bad]), false).expect_err(bad);
            assert!(matches!(err, OutputError::Escapes { .. }), "{bad}: {err}");
        }
        assert!(
            !dir.path().join("fine.md").exists(),
            "a refused batch wrote a file"
        );
    }

    #[test]
    fn symlinks_out_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).expect("symlink");
        let err = write_files("p", dir.path(), &files(&["link/x.md"]), true).expect_err("symlink");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!outside.path().join("x.md").exists());
    }

    #[test]
    fn existing_files_need_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_files("p", dir.path(), &files(&["sub/a.md"]), false).expect("first write");
        let err = write_files("p", dir.path(), &files(&["sub/a.md"]), false).expect_err("exists");
        assert!(err.to_string().contains("--force"), "{err}");
        write_files(
            "p",
            dir.path(),
            &[("sub/a.md".into(), b"new".to_vec())],
            true,
        )
        .expect("forced");
        assert_eq!(
            std::fs::read(dir.path().join("sub/a.md")).expect("read"),
            b"new"
        );
    }
}
