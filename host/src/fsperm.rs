//! Who may read what minutes keeps: the home and everything minutes writes into it are the
//! user's alone (folders 0700, files 0600), because meetings are private. Exports written to a
//! notes folder are not made private: they are meant to be shared, so this never touches the
//! process umask.

use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents readable by the owner only (0700). A folder that
/// already exists is left as it is: [`tighten_home`] mends old ones.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Makes sure `path` exists as a file only its owner may read, before a library such as SQLite
/// opens it: SQLite gives its -wal and -shm files the database file's permissions.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    restrict(path)?;
    Ok(())
}

/// Opens a new file (failing if it exists) that only its owner may read.
pub fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Takes group and other permissions away from `path` (file or folder) if it has any. Returns
/// whether it changed anything; a missing path is not an error.
pub fn restrict(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        // A link's target may be anything of the user's (a notes folder); leave it alone.
        if meta.file_type().is_symlink() {
            return Ok(false);
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

/// A SQLite database and the -wal, -shm and -journal files beside it.
pub fn sqlite_files(db: &Path) -> Vec<PathBuf> {
    let mut files = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_os_string();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files
}

/// Restricts the files of a SQLite database that exist; returns the ones it changed.
pub fn restrict_sqlite(db: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for f in sqlite_files(db) {
        if restrict(&f)? {
            changed.push(f);
        }
    }
    Ok(changed)
}

/// Creates the database file private (SQLite gives its -wal and -shm files the same
/// permissions) or mends an older one. Not fatal: opening the database reports what matters.
pub fn make_sqlite_private(db: &Path) {
    let done = create_private_file(db).and_then(|()| restrict_sqlite(db));
    if let Err(e) = done {
        tracing::warn!("cannot make {} private to you: {e}", db.display());
    }
}

/// minutes' own files in the home (not the models or the component cache, which hold nothing
/// of the user's): the ones a home made before minutes kept them private may expose.
/// config.toml is the user's to edit (an editor may write it anew each time), so it is left as
/// the user keeps it.
const PRIVATE_ENTRIES: &[&str] = &[
    "minutes.sqlite",
    "egress.sqlite",
    "recordings",
    "plugins.lock",
    "secrets",
    "exports-written.jsonl",
    "unsaved",
];

/// Makes an existing home and minutes' own files in it private to the user. Returns the paths
/// it changed (empty when all was already private, or when there is no home yet).
pub fn tighten_home(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    if !root.is_dir() {
        return Ok(changed);
    }
    if restrict(root)? {
        changed.push(root.to_path_buf());
    }
    for name in PRIVATE_ENTRIES {
        let path = root.join(name);
        let paths = if name.ends_with(".sqlite") {
            sqlite_files(&path)
        } else {
            vec![path]
        };
        for p in paths {
            tighten_tree(&p, &mut changed)?;
        }
    }
    Ok(changed)
}

/// [`tighten_home`], telling the user on stderr what it changed: a notice, since it mends a home
/// an older minutes left readable.
pub fn tighten_home_with_notice(root: &Path) {
    match tighten_home(root) {
        // A home folder that holds nothing of minutes' yet (one the user just made and pointed
        // MINUTES_HOME at) is made private without a word: no meeting was ever exposed.
        Ok(changed) if changed.iter().any(|p| p != root) => eprintln!(
            "notice: other users of this machine could read your meetings in {}; minutes made {} \
             of its files and folders private to you (owner only)",
            root.display(),
            changed.len()
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(
            "cannot make the minutes home {} private to you: {e}",
            root.display()
        ),
    }
}

fn tighten_tree(path: &Path, changed: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if restrict(path)? {
        changed.push(path.to_path_buf());
    }
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir {
        for entry in std::fs::read_dir(path)? {
            tighten_tree(&entry?.path(), changed)?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_old_home_is_made_private_and_a_second_pass_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("home");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = root.join("minutes.sqlite");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(root.join("minutes.sqlite-wal"), b"").unwrap();
        let rec = root.join("recordings").join("2026-01-01");
        std::fs::create_dir_all(&rec).unwrap();
        std::fs::write(rec.join("audio.wav"), b"").unwrap();
        for p in [&db, &rec.join("audio.wav")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        // Models are not the user's data: left as they are.
        std::fs::create_dir(root.join("models")).unwrap();
        std::fs::set_permissions(root.join("models"), std::fs::Permissions::from_mode(0o755))
            .unwrap();

        let changed = tighten_home(&root).unwrap();
        assert!(changed.contains(&root), "{changed:?}");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&rec.join("audio.wav")), 0o600);
        assert_eq!(mode(&rec), 0o700);
        assert_eq!(mode(&root.join("models")), 0o755);
        assert!(tighten_home(&root).unwrap().is_empty());
    }

    #[test]
    fn new_folders_and_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let f = dir.join("x.sqlite");
        create_private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
    }
}
