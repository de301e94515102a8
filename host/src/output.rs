//! Writing the files a plugin returns. A plugin names paths; the host decides where they go:
//! only inside the directory the user chose, never through a symlink, only with an extension
//! the plugin's manifest declares for the format, never as a hidden file (`.bashrc`,
//! `.git/config`), and never over an existing file unless asked — and even then only over a
//! file minutes wrote itself.
//!
//! Everything is checked before anything is written, and [`plan`] runs the same checks without
//! writing, so a command can refuse before it spends minutes on transcription.

use crate::plugins::manifest::FormatDecl;
use std::io::Write;
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
    #[error(
        "plugin `{plugin}` asked to write `{path}`, which is refused: {why}; nothing was written"
    )]
    Refused {
        plugin: String,
        path: String,
        why: String,
    },
    #[error(
        "plugin `{plugin}` asked to write {count} files, but its manifest allows at most {max} for this format; nothing was written"
    )]
    TooMany {
        plugin: String,
        count: usize,
        max: u32,
    },
    #[error("{0} already exists; pass --force to overwrite it, or choose another --dir")]
    Exists(PathBuf),
    #[error(
        "{0} already exists and minutes did not write it, so --force does not replace it (--force replaces only files minutes exported before); move it away or choose another --dir"
    )]
    NotOurs(PathBuf),
    #[error("{path} is not a folder; --dir must name a folder (it is created if missing)")]
    NotAFolder { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Io { path, source }
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

/// Files minutes has written as exports, one JSON line each in the minutes home, so that
/// `--force` replaces only those and never a file the user (or anyone else) put there. A
/// separate file rather than the store: exports of `--document` files have no meeting, and a
/// deleted meeting's notes are still files minutes wrote.
#[derive(Debug, Clone)]
pub struct WrittenLog {
    path: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct WrittenEntry {
    path: String,
    plugin: String,
    at_ms: i64,
}

impl WrittenLog {
    pub const FILE_NAME: &'static str = "exports-written.jsonl";

    pub fn in_home(home: &crate::plugins::Home) -> WrittenLog {
        WrittenLog {
            path: home.root().join(Self::FILE_NAME),
        }
    }

    /// Whether minutes wrote `file` before.
    pub fn contains(&self, file: &Path) -> Result<bool, OutputError> {
        let Some(wanted) = identity(file).to_str().map(str::to_string) else {
            return Ok(false);
        };
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(&self.path)(e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<WrittenEntry>(l).ok())
            .any(|e| e.path == wanted))
    }

    /// Adds `files`, written just now by `plugin`. One `write` per line to a file opened for
    /// appending: two minutes writing at once do not mix their lines.
    pub fn record(&self, plugin: &str, files: &[PathBuf]) -> Result<(), OutputError> {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        // The log lives in the private minutes home: created 0600 like the rest of it.
        crate::fsperm::create_private_file(&self.path).map_err(io_error(&self.path))?;
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io_error(&self.path))?;
        for file in files {
            // A path that is not UTF-8 is not recorded: --force then refuses it, which is safe.
            let Some(path) = identity(file).to_str().map(str::to_string) else {
                continue;
            };
            let entry = WrittenEntry {
                path,
                plugin: plugin.to_string(),
                at_ms,
            };
            let mut line = serde_json::to_string(&entry).map_err(|e| OutputError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })?;
            line.push('\n');
            out.write_all(line.as_bytes())
                .map_err(io_error(&self.path))?;
        }
        Ok(())
    }
}

/// The path by which a written file is known: its folder with symlinks resolved, so that
/// `--dir notes`, `--dir ./notes` and `--dir /abs/notes` name the same file.
fn identity(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|p| p.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

/// Fails unless files can be written under `dir`: it is a folder, or can be created as one in
/// a folder this process may write to.
pub fn check_dir(dir: &Path) -> Result<(), OutputError> {
    let mut existing = dir;
    loop {
        match std::fs::metadata(existing) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(OutputError::NotAFolder {
                    path: existing.to_path_buf(),
                });
            }
            // Not there, or a file on the way (then the walk up finds it and names it).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) && existing != Path::new(".") =>
            {
                existing = match existing.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
            }
            Err(e) => return Err(io_error(existing)(e)),
        }
    }
    // Permission bits do not tell (root, ACLs, read-only mounts): try. The probe file is
    // hidden and removed at once.
    tempfile::Builder::new()
        .prefix(".minutes-probe-")
        .tempfile_in(existing)
        .map(drop)
        .map_err(io_error(existing))
}

/// Where each of `names` would be written under `dir`, after every check that can be made
/// before writing: the format's declared extensions and file count, the path itself, and what
/// is there already. Writes nothing.
pub fn plan(
    plugin: &str,
    dir: &Path,
    format: &FormatDecl,
    names: &[&str],
    force: bool,
    log: &WrittenLog,
) -> Result<Vec<PathBuf>, OutputError> {
    if names.len() > format.max_files as usize {
        return Err(OutputError::TooMany {
            plugin: plugin.to_string(),
            count: names.len(),
            max: format.max_files,
        });
    }
    let mut planned = Vec::new();
    for name in names {
        let parts = safe_parts(plugin, name)?;
        let refuse = |why: String| OutputError::Refused {
            plugin: plugin.to_string(),
            path: name.to_string(),
            why,
        };
        if parts.iter().any(|p| p.starts_with('.')) {
            return Err(refuse(
                "no part of the path may start with a dot (hidden files and folders such as .bashrc or .git)".into(),
            ));
        }
        let file_name = parts.last().copied().unwrap_or_default();
        if !format.allows(file_name) {
            return Err(refuse(if format.extensions.is_empty() {
                "its manifest declares no files for this format".into()
            } else {
                format!(
                    "its manifest allows only {} files for this format",
                    format
                        .extensions
                        .iter()
                        .map(|e| format!(".{e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }));
        }
        let mut target = dir.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            target.push(part);
            // A symlink anywhere below `dir` could lead out of it.
            match std::fs::symlink_metadata(&target) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(OutputError::Escapes {
                        plugin: plugin.to_string(),
                        path: name.to_string(),
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
                Ok(_) if i + 1 == parts.len() && !log.contains(&target)? => {
                    return Err(OutputError::NotOurs(target));
                }
                _ => {}
            }
        }
        if planned.contains(&target) {
            return Err(OutputError::Escapes {
                plugin: plugin.to_string(),
                path: name.to_string(),
                why: "it names the same file twice",
            });
        }
        planned.push(target);
    }
    if !planned.is_empty() {
        check_dir(dir)?;
    }
    Ok(planned)
}

/// Writes `files` (path, bytes) under `dir` after [`plan`] accepts all of them, and records
/// them in `log`.
pub fn write_files(
    plugin: &str,
    dir: &Path,
    format: &FormatDecl,
    files: &[(String, Vec<u8>)],
    force: bool,
    log: &WrittenLog,
) -> Result<Vec<PathBuf>, OutputError> {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let planned = plan(plugin, dir, format, &names, force, log)?;
    if planned.is_empty() {
        return Ok(planned);
    }
    let mut written = Vec::new();
    let result = write_planned(dir, &planned, files, &mut written);
    // Remember what was written, even when a later file failed: failing to remember only
    // costs a later --force.
    if !written.is_empty()
        && let Err(e) = log.record(plugin, &written)
    {
        tracing::warn!("the files were written, but not recorded for --force: {e}");
    }
    result?;
    Ok(planned)
}

fn write_planned(
    dir: &Path,
    planned: &[PathBuf],
    files: &[(String, Vec<u8>)],
    written: &mut Vec<PathBuf>,
) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    for (target, (_, bytes)) in planned.iter().zip(files) {
        let parent = target.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        // Write beside the target, then rename: a crash never leaves a half-written file. The
        // file gets the usual permissions (0666 less the umask), not a temp file's 0600.
        let mut builder = tempfile::Builder::new();
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(parent).map_err(io_error(parent))?;
        std::fs::write(tmp.path(), bytes).map_err(io_error(target))?;
        tmp.persist(target).map_err(|e| OutputError::Io {
            path: target.clone(),
            source: e.error,
        })?;
        written.push(target.clone());
    }
    Ok(())
}

/// Keeps a result that could not be written where the user asked (`<home>/unsaved/`, private
/// like the rest of the home) and returns where it went.
pub fn keep_unsaved(
    home: &crate::plugins::Home,
    stem: &str,
    ext: &str,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    let dir = home.root().join("unsaved");
    crate::fsperm::create_private_dir(&dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("{stem}-{stamp}.{ext}"));
    let mut file = crate::fsperm::create_new_private(&path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes with a format that allows .md, .txt and .json, up to 3 files, and a log in `log`.
    struct Out {
        dir: tempfile::TempDir,
        home: tempfile::TempDir,
        format: FormatDecl,
    }

    impl Out {
        fn new() -> Out {
            Out {
                dir: tempfile::tempdir().expect("dir"),
                home: tempfile::tempdir().expect("home"),
                format: FormatDecl {
                    extensions: vec!["md".into(), "txt".into(), "json".into()],
                    max_files: 3,
                },
            }
        }
        fn log(&self) -> WrittenLog {
            WrittenLog::in_home(&crate::plugins::Home::at(self.home.path()))
        }
        fn write(&self, names: &[&str], force: bool) -> Result<Vec<PathBuf>, OutputError> {
            write_files(
                "p",
                self.dir.path(),
                &self.format,
                &files(names),
                force,
                &self.log(),
            )
        }
    }

    fn files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
        names
            .iter()
            .map(|n| (n.to_string(), b"x".to_vec()))
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn exports_are_readable_like_any_file_the_user_writes() {
        use std::os::unix::fs::PermissionsExt;
        let out = Out::new();
        let written = out.write(&["notes.md"], false).unwrap();
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
        let out = Out::new();
        let missing = out.dir.path().join("not-made");
        let none = write_files("p", &missing, &out.format, &[], false, &out.log()).unwrap();
        assert!(none.is_empty());
        assert!(!missing.exists());
    }

    #[test]
    fn escapes_are_refused_and_nothing_is_written() {
        let out = Out::new();
        for bad in [
            "../x.md",
            "/etc/passwd",
            "a/../../x",
            "",
            "a\\b",
            "ok/\u{7}bell",
        ] {
            let err = out.write(&["fine.md", bad], false).expect_err(bad);
            assert!(matches!(err, OutputError::Escapes { .. }), "{bad}: {err}");
        }
        assert!(
            !out.dir.path().join("fine.md").exists(),
            "a refused batch wrote a file"
        );
    }

    #[test]
    fn hidden_files_undeclared_extensions_and_too_many_files_are_refused() {
        let out = Out::new();
        for (bad, why) in [
            (".bashrc", "start with a dot"),
            (".config/autostart/x.desktop", "start with a dot"),
            (".git/config", "start with a dot"),
            ("notes/.hidden.md", "start with a dot"),
            ("run.sh", "only .md, .txt, .json files"),
            ("notes.md.desktop", "only .md, .txt, .json files"),
            ("md", "only .md, .txt, .json files"),
        ] {
            let err = out.write(&["fine.md", bad], true).expect_err(bad);
            let msg = err.to_string();
            assert!(msg.contains(why) && msg.contains(bad), "{bad}: {msg}");
        }
        let err = out
            .write(&["a.md", "b.md", "c.md", "d.md"], false)
            .expect_err("four files");
        assert!(err.to_string().contains("at most 3"), "{err}");
        let webhook = FormatDecl {
            extensions: vec![],
            max_files: 0,
        };
        let err = write_files(
            "p",
            out.dir.path(),
            &webhook,
            &files(&["x.md"]),
            false,
            &out.log(),
        )
        .expect_err("a format that writes nothing");
        assert!(err.to_string().contains("at most 0"), "{err}");
        assert_eq!(std::fs::read_dir(out.dir.path()).unwrap().count(), 0);
        // The user may choose a hidden folder; only the plugin's part of the path is checked.
        let vault = out.dir.path().join(".vault");
        write_files(
            "p",
            &vault,
            &out.format,
            &files(&["a.md"]),
            false,
            &out.log(),
        )
        .expect("a hidden --dir is the user's choice");
        assert!(vault.join("a.md").is_file());
    }

    #[test]
    fn symlinks_out_are_refused() {
        let out = Out::new();
        let outside = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), out.dir.path().join("link")).expect("symlink");
        let err = out.write(&["link/x.md"], true).expect_err("symlink");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(!outside.path().join("x.md").exists());
    }

    #[test]
    fn existing_files_need_force() {
        let out = Out::new();
        out.write(&["sub/a.md"], false).expect("first write");
        let err = out.write(&["sub/a.md"], false).expect_err("exists");
        assert!(err.to_string().contains("--force"), "{err}");
        write_files(
            "p",
            out.dir.path(),
            &out.format,
            &[("sub/a.md".into(), b"new".to_vec())],
            true,
            &out.log(),
        )
        .expect("forced");
        assert_eq!(
            std::fs::read(out.dir.path().join("sub/a.md")).expect("read"),
            b"new"
        );
    }

    #[test]
    fn force_replaces_only_files_minutes_wrote() {
        let out = Out::new();
        std::fs::write(out.dir.path().join("mine.md"), "the user's own notes").unwrap();
        let err = out.write(&["mine.md"], true).expect_err("a user's file");
        assert!(
            matches!(&err, OutputError::NotOurs(p) if p.ends_with("mine.md")),
            "{err}"
        );
        assert!(
            err.to_string().contains("minutes did not write it"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(out.dir.path().join("mine.md")).unwrap(),
            "the user's own notes"
        );
        // Written once by minutes, under another spelling of the same folder: replaceable.
        out.write(&["ours.md"], false).expect("first");
        let dotted = out.dir.path().join(".");
        let again = write_files(
            "p",
            &dotted,
            &out.format,
            &files(&["ours.md"]),
            true,
            &out.log(),
        );
        again.expect("minutes wrote it, so --force replaces it");
    }

    #[test]
    fn a_folder_that_is_a_file_is_named() {
        let out = Out::new();
        let file = out.dir.path().join("taken");
        std::fs::write(&file, "x").unwrap();
        let err = check_dir(&file.join("sub")).expect_err("file in the way");
        assert!(
            matches!(&err, OutputError::NotAFolder { path } if *path == file),
            "{err}"
        );
        check_dir(&out.dir.path().join("new/deeper")).expect("creatable");
    }
}
