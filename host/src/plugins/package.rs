//! A plugin package: a folder or a `.tar.gz` holding `plugin.toml` and the component.

use super::manifest::{Manifest, ManifestError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component as PathPart, Path, PathBuf};

pub const MANIFEST_FILE: &str = "plugin.toml";
/// Caps on what a package may make the host read; a package is a few hundred KiB.
const MAX_FILE: u64 = 64 * 1024 * 1024;
const MAX_TOTAL: u64 = 128 * 1024 * 1024;
const MAX_ENTRIES: usize = 256;
/// Largest GNU long name or link, or PAX extension, accepted in an archive. The tar crate reads
/// each of these whole into memory before anything else sees it, so they are checked first.
const MAX_EXTENSION: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("cannot read plugin package {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a plugin package: give a folder or a .tar.gz that contains plugin.toml")]
    NotAPackage(PathBuf),
    #[error("{path}: {message}")]
    Archive { path: PathBuf, message: String },
    #[error(
        "{0} is a plugin's source folder, not a built package: run `minutes plugin build` in it \
         and install what it writes (dist/<id>/ or dist/<id>-<version>.tar.gz), or use \
         `minutes plugin dev` while you work on it"
    )]
    SourceFolder(PathBuf),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{package}: the component file `{file}` named in plugin.toml is missing")]
    MissingComponent { package: PathBuf, file: String },
    #[error(
        "{package}: `{file}` does not match its manifest (sha256 {actual}, plugin.toml says {expected}); \
         the package is damaged or was tampered with — get it again from its source"
    )]
    Checksum {
        package: PathBuf,
        file: String,
        expected: String,
        actual: String,
    },
}

/// A package read into memory and checked: the manifest parses and the component matches its hash.
#[derive(Debug)]
pub struct Package {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub component: Vec<u8>,
    pub source: PathBuf,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Package {
    pub fn open(path: &Path) -> Result<Package, PackageError> {
        let io = |source| PackageError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let files = if meta.is_dir() {
            let files = read_dir_package(path)?;
            // A crate's own plugin.toml has no sha256 yet: `plugin build` fills it in.
            if path.join("Cargo.toml").is_file() && !names_a_sha256(&files) {
                return Err(PackageError::SourceFolder(path.to_path_buf()));
            }
            files
        } else if is_tar_gz(path) {
            read_tar_gz(path)?
        } else {
            return Err(PackageError::NotAPackage(path.to_path_buf()));
        };
        Self::from_files(path, files)
    }

    fn from_files(
        path: &Path,
        mut files: BTreeMap<String, Vec<u8>>,
    ) -> Result<Package, PackageError> {
        let manifest_bytes = files
            .remove(MANIFEST_FILE)
            .ok_or_else(|| PackageError::NotAPackage(path.to_path_buf()))?;
        let manifest_path = path.join(MANIFEST_FILE);
        let manifest_text = String::from_utf8(manifest_bytes).map_err(|_| ManifestError {
            file: manifest_path.display().to_string(),
            message: "not UTF-8 text".into(),
        })?;
        let manifest = Manifest::parse(&manifest_text, &manifest_path)?;
        let file = manifest.component.file.clone();
        let component = files
            .remove(&file)
            .ok_or_else(|| PackageError::MissingComponent {
                package: path.to_path_buf(),
                file: file.clone(),
            })?;
        let actual = sha256_hex(&component);
        if actual != manifest.component.sha256 {
            return Err(PackageError::Checksum {
                package: path.to_path_buf(),
                file,
                expected: manifest.component.sha256.clone(),
                actual,
            });
        }
        Ok(Package {
            manifest,
            manifest_text,
            component,
            source: path.to_path_buf(),
        })
    }
}

fn names_a_sha256(files: &BTreeMap<String, Vec<u8>>) -> bool {
    files
        .get(MANIFEST_FILE)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
        .is_some_and(|t| t.get("component").and_then(|c| c.get("sha256")).is_some())
}

fn is_tar_gz(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Reads only the two files that matter, never following symlinks out of the folder.
fn read_dir_package(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let mut files = BTreeMap::new();
    let manifest_path = dir.join(MANIFEST_FILE);
    let text =
        read_capped(&manifest_path)?.ok_or_else(|| PackageError::NotAPackage(dir.to_path_buf()))?;
    // Find the component's name without trusting the manifest yet: errors come from parsing.
    let component = toml::from_str::<toml::Table>(std::str::from_utf8(&text).unwrap_or(""))
        .ok()
        .and_then(|t| t.get("component")?.get("file")?.as_str().map(str::to_owned));
    files.insert(MANIFEST_FILE.to_string(), text);
    if let Some(name) = component.filter(|n| is_plain_name(n))
        && let Some(bytes) = read_capped(&dir.join(&name))?
    {
        files.insert(name, bytes);
    }
    Ok(files)
}

fn is_plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(PathPart::Normal(_)), None)
    )
}

/// A regular file's bytes (None when absent); symlinks and oversized files are refused.
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>, PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if !meta.is_file() {
        return Err(PackageError::Archive {
            path: path.to_path_buf(),
            message: "not a regular file (symlinks are refused)".into(),
        });
    }
    if meta.len() > MAX_FILE {
        return Err(PackageError::Archive {
            path: path.to_path_buf(),
            message: format!("larger than {MAX_FILE} bytes"),
        });
    }
    std::fs::read(path).map(Some).map_err(io)
}

/// Reads regular files from a .tar.gz into memory, with caps; a single top-level folder is
/// stripped. Links, devices, absolute paths and `..` are refused.
fn read_tar_gz(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bad = |message: String| PackageError::Archive {
        path: path.to_path_buf(),
        message,
    };
    check_tar_headers(path)?;
    let file = std::fs::File::open(path).map_err(io)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut raw: Vec<(Vec<String>, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    let too_large = || {
        bad(format!(
            "package too large: more than {MAX_TOTAL} bytes unpacked"
        ))
    };
    for (n, entry) in archive.entries().map_err(io)?.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let kind = entry.header().entry_type();
        let name = entry
            .path()
            .map_err(|e| bad(format!("bad entry name: {e}")))?
            .into_owned();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!(
                "entry {} is not a regular file (links are refused)",
                name.display()
            )));
        }
        let mut parts = Vec::new();
        for part in name.components() {
            match part {
                PathPart::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                PathPart::CurDir => {}
                _ => return Err(bad(format!("entry {} escapes the package", name.display()))),
            }
        }
        // The size that is read (a PAX record may replace the header's), and no more than
        // what is left of the budget, whatever any header claims.
        let size = entry.size();
        let budget = MAX_FILE.min(MAX_TOTAL - total);
        if size > budget {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(budget + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("corrupt archive: {e}")))?;
        if bytes.len() as u64 > budget {
            return Err(too_large());
        }
        total += bytes.len() as u64;
        raw.push((parts, bytes));
    }
    // Strip one common top-level folder (`export-markdown-0.1.0/plugin.toml`).
    let common = raw
        .first()
        .filter(|(p, _)| p.len() > 1)
        .map(|(p, _)| p[0].clone());
    let strip = common
        .filter(|c| raw.iter().all(|(p, _)| p.len() > 1 && &p[0] == c))
        .is_some();
    Ok(raw
        .into_iter()
        .map(|(parts, bytes)| (parts[usize::from(strip)..].join("/"), bytes))
        .collect())
}

/// A first pass over the raw headers, before the tar crate reads anything into memory: long
/// names and PAX extensions larger than [`MAX_EXTENSION`], and more data than the package may
/// hold, are refused without being read.
fn check_tar_headers(path: &Path) -> Result<(), PackageError> {
    let io = |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bad = |message: String| PackageError::Archive {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut total = 0u64;
    let mut pax_size: Option<u64> = None;
    // Each file may come with a long name, a long link and a PAX header of its own.
    for (n, entry) in archive.entries().map_err(io)?.raw(true).enumerate() {
        if n >= MAX_ENTRIES * 4 {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let header = entry.header();
        let kind = header.entry_type();
        let size = header
            .size()
            .map_err(|e| bad(format!("corrupt archive: {e}")))?;
        let extension = if kind.is_gnu_longname() {
            Some("long name")
        } else if kind.is_gnu_longlink() {
            Some("long link name")
        } else if kind.is_pax_local_extensions() || kind.is_pax_global_extensions() {
            Some("PAX extended header")
        } else {
            None
        };
        if let Some(what) = extension
            && size > MAX_EXTENSION
        {
            return Err(bad(format!(
                "entry {} is a {what} of {size} bytes (at most {MAX_EXTENSION} are accepted); refused",
                n + 1
            )));
        }
        total = total.saturating_add(size);
        if size > MAX_FILE || total > MAX_TOTAL {
            return Err(bad(format!(
                "package too large: more than {MAX_TOTAL} bytes unpacked"
            )));
        }
        if kind.is_pax_local_extensions() {
            let mut records = Vec::new();
            entry
                .by_ref()
                .take(MAX_EXTENSION)
                .read_to_end(&mut records)
                .map_err(|e| bad(format!("corrupt archive: {e}")))?;
            for record in tar::PaxExtensions::new(&records) {
                let record = record.map_err(|e| bad(format!("corrupt PAX header: {e}")))?;
                if record.key_bytes() == b"size" {
                    let value = std::str::from_utf8(record.value_bytes())
                        .ok()
                        .and_then(|v| v.parse().ok());
                    pax_size = Some(value.ok_or_else(|| bad("corrupt PAX size".into()))?);
                }
            }
        } else if extension.is_none()
            && let Some(claimed) = pax_size.take()
            && claimed != size
        {
            // The tar crate would read the PAX size, this pass the header's: the two would
            // see different entries after this one. Packages never need sizes beyond what a
            // tar header holds, so the two must agree.
            return Err(bad(format!(
                "entry {}: its PAX header says {claimed} bytes but its tar header {size}; refused",
                n + 1
            )));
        }
    }
    Ok(())
}

/// Assembles an installable package from a source manifest (whose `component.sha256` may be
/// absent) and a built component: `<out>/<id>/` plus `<out>/<id>-<version>.tar.gz`.
/// Returns the folder.
pub fn assemble(source_manifest: &Path, wasm: &Path, out: &Path) -> Result<PathBuf, PackageError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| PackageError::Io { path: p, source }
    };
    let text = std::fs::read_to_string(source_manifest).map_err(io(source_manifest))?;
    let component = std::fs::read(wasm).map_err(io(wasm))?;
    let text = with_sha256(&text, &sha256_hex(&component));
    let manifest = Manifest::parse(&text, source_manifest)?;
    let dir = out.join(&manifest.id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    std::fs::write(dir.join(MANIFEST_FILE), &text).map_err(io(&dir))?;
    std::fs::write(dir.join(&manifest.component.file), &component).map_err(io(&dir))?;

    let archive_path = out.join(format!("{}-{}.tar.gz", manifest.id, manifest.version));
    let file = std::fs::File::create(&archive_path).map_err(io(&archive_path))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let prefix = format!("{}-{}", manifest.id, manifest.version);
    for (name, bytes) in [
        (MANIFEST_FILE, text.as_bytes()),
        (manifest.component.file.as_str(), &component[..]),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("{prefix}/{name}"), bytes)
            .map_err(io(&archive_path))?;
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(io(&archive_path))?;
    Ok(dir)
}

/// Parses a plugin crate's own `plugin.toml`, which has no `component.sha256` until it is
/// packaged: errors name the key and the file, before anything is built.
pub fn parse_source_manifest(path: &Path) -> Result<Manifest, PackageError> {
    let text = std::fs::read_to_string(path).map_err(|source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Manifest::parse(&with_sha256(&text, &"0".repeat(64)), path)?)
}

/// Sets `sha256` in the `[component]` table, keeping the rest of the text (and its comments).
fn with_sha256(text: &str, sha: &str) -> String {
    let mut out = String::with_capacity(text.len() + 80);
    let mut in_component = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_component = trimmed == "[component]";
            out.push_str(line);
            out.push('\n');
            if in_component {
                out.push_str(&format!("sha256 = \"{sha}\"\n"));
            }
            continue;
        }
        if in_component && trimmed.starts_with("sha256") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_filled_in_once() {
        let text = "id = \"x\"\n[component]\nfile = \"x.wasm\"\nsha256 = \"old\"\n[limits]\nmemory_mib = 1\n";
        let out = with_sha256(text, "abc");
        assert_eq!(out.matches("sha256").count(), 1);
        assert!(out.contains("[component]\nsha256 = \"abc\"\nfile = \"x.wasm\"\n[limits]"));
    }

    #[test]
    fn tar_entries_that_escape_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("evil.tar.gz");
        let file = std::fs::File::create(&path).expect("create");
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        // tar::Builder refuses `..` in paths, so write the name bytes directly.
        header.as_gnu_mut().expect("gnu").name[..13].copy_from_slice(b"../plugin.tom");
        header.set_cksum();
        tar.append(&header, &b"abc"[..]).expect("append");
        tar.into_inner().expect("gz").finish().expect("finish");
        let err = Package::open(&path)
            .expect_err("escape refused")
            .to_string();
        assert!(err.contains("escapes the package"), "{err}");
    }

    /// A .tar.gz of `entries` (header, data) as written, whatever they claim.
    fn archive_of(entries: &[(tar::Header, Vec<u8>)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hostile.tar.gz");
        let file = std::fs::File::create(&path).expect("create");
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        for (header, data) in entries {
            tar.append(header, &data[..]).expect("append");
        }
        tar.into_inner().expect("gz").finish().expect("finish");
        (dir, path)
    }

    fn header(kind: tar::EntryType, name: &[u8], size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        header
    }

    /// 32 MiB of name (a few KiB gzipped) made the tar crate allocate 32 MiB before any check.
    #[test]
    fn huge_long_names_and_pax_headers_are_refused_unread() {
        let huge = vec![b'a'; 32 * 1024 * 1024];
        let file = |name: &[u8]| (header(tar::EntryType::Regular, name, 3), b"abc".to_vec());
        for (kind, what) in [
            (tar::EntryType::GNULongName, "long name"),
            (tar::EntryType::GNULongLink, "long link name"),
            (tar::EntryType::XHeader, "PAX extended header"),
            (tar::EntryType::XGlobalHeader, "PAX extended header"),
        ] {
            let extension = header(kind, b"././@LongLink", huge.len() as u64);
            let (_dir, path) = archive_of(&[(extension, huge.clone()), file(b"plugin.toml")]);
            let err = Package::open(&path).expect_err(what).to_string();
            assert!(
                err.contains(&format!("is a {what} of 33554432 bytes")),
                "{what}: {err}"
            );
        }
    }

    /// A PAX `size` record replaces the header's size: headers saying 0 must not let 3 × 50 MiB
    /// through a 128 MiB cap (nor hide entries from the check of the headers).
    #[test]
    fn pax_sizes_cannot_smuggle_data_past_the_caps() {
        let data = vec![0u8; 50 * 1024 * 1024];
        let record = |size: usize| {
            let body = format!(" size={size}\n");
            // The record's length counts its own digits.
            let mut len = body.len() + 2;
            while format!("{len}{body}").len() != len {
                len += 1;
            }
            format!("{len}{body}").into_bytes()
        };
        let mut entries = Vec::new();
        for i in 0..3 {
            let pax = record(data.len());
            entries.push((
                header(tar::EntryType::XHeader, b"pax", pax.len() as u64),
                pax,
            ));
            let name = format!("f{i}");
            entries.push((
                header(tar::EntryType::Regular, name.as_bytes(), 0),
                data.clone(),
            ));
        }
        let (_dir, path) = archive_of(&entries);
        let err = Package::open(&path).expect_err("too large").to_string();
        assert!(
            err.contains("entry 2: its PAX header says 52428800 bytes but its tar header 0"),
            "{err}"
        );
    }

    #[test]
    fn a_random_file_is_not_a_package() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "hello").expect("write");
        let err = Package::open(&path).expect_err("not a package").to_string();
        assert!(err.contains("not a plugin package"), "{err}");
    }
}
