//! Whisper models: the known catalog, where installed models live, and `pull` — a download with
//! progress, resume, checksum and an atomic rename, so a broken download is never used.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where models are downloaded from; `MINUTES_MODEL_BASE_URL` overrides it (mirrors, tests).
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct KnownModel {
    pub name: &'static str,
    /// Approximate size in MB.
    pub size_mb: u32,
    pub english_only: bool,
    pub quantization: &'static str,
}

impl KnownModel {
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }
}

const fn m(
    name: &'static str,
    size_mb: u32,
    english_only: bool,
    quantization: &'static str,
) -> KnownModel {
    KnownModel {
        name,
        size_mb,
        english_only,
        quantization,
    }
}

/// The models whisper.cpp publishes. Upstream publishes no SHA-256 for them, so the hash of a
/// download is recorded beside it and checked on every later `verify`.
pub const CATALOG: &[KnownModel] = &[
    m("tiny", 75, false, "f16"),
    m("tiny.en", 75, true, "f16"),
    m("tiny-q5_1", 31, false, "q5_1"),
    m("tiny.en-q5_1", 31, true, "q5_1"),
    m("tiny-q8_0", 42, false, "q8_0"),
    m("base", 142, false, "f16"),
    m("base.en", 142, true, "f16"),
    m("base-q5_1", 57, false, "q5_1"),
    m("base.en-q5_1", 57, true, "q5_1"),
    m("base-q8_0", 78, false, "q8_0"),
    m("small", 466, false, "f16"),
    m("small.en", 466, true, "f16"),
    m("small-q5_1", 181, false, "q5_1"),
    m("small.en-q5_1", 181, true, "q5_1"),
    m("small-q8_0", 252, false, "q8_0"),
    m("medium", 1500, false, "f16"),
    m("medium.en", 1500, true, "f16"),
    m("medium-q5_0", 514, false, "q5_0"),
    m("medium.en-q5_0", 514, true, "q5_0"),
    m("medium-q8_0", 785, false, "q8_0"),
    m("large-v3-turbo", 1620, false, "f16"),
    m("large-v3-turbo-q5_0", 547, false, "q5_0"),
    m("large-v3-turbo-q8_0", 834, false, "q8_0"),
];

/// Preference when no model is named: the best installed one that is quick on a laptop CPU.
const PREFERENCE: &[&str] = &[
    "base.en-q5_1",
    "base-q5_1",
    "base.en",
    "base",
    "small.en-q5_1",
    "small-q5_1",
    "tiny.en-q5_1",
    "tiny-q5_1",
    "tiny.en",
    "tiny",
];

pub fn find(name: &str) -> Option<&'static KnownModel> {
    let name = name
        .strip_prefix("ggml-")
        .unwrap_or(name)
        .trim_end_matches(".bin");
    CATALOG.iter().find(|k| k.name == name)
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "unknown model `{0}`; `minutes models list` shows the names (or give a path to a .bin file)"
    )]
    Unknown(String),
    #[error(
        "model `{name}` is not installed; get it with `minutes models pull {name}` (or pass --model PATH)"
    )]
    NotInstalled { name: String },
    #[error(
        "no whisper model is installed; get one with `minutes models pull base.en-q5_1` (57 MB) or pass --model PATH"
    )]
    NoneInstalled,
    #[error(
        "download of {url} failed: {message}. Run the same command again to resume once the \
         connection works, or download the .bin file another way and pass it with --model PATH"
    )]
    Download { url: String, message: String },
    #[error(
        "no model file at {0}; give the path of a whisper .bin file, or a name from `minutes models list`"
    )]
    NoFile(PathBuf),
    #[error(
        "{0} is a folder; --model takes a whisper .bin file (or a name from `minutes models list`)"
    )]
    Folder(PathBuf),
    #[error("{url} answered {status}; check the model name or MINUTES_MODEL_BASE_URL")]
    Status { url: String, status: u16 },
    #[error(
        "the download of {name} is incomplete ({got} of {expected} bytes); run the same command again to resume"
    )]
    Truncated {
        name: String,
        got: u64,
        expected: u64,
    },
    #[error(
        "the download of {name} is corrupt (sha256 {actual}, expected {expected}); it was deleted — pull it again"
    )]
    Checksum {
        name: String,
        expected: String,
        actual: String,
    },
    #[error(
        "the download of {name} is not the model file expected (wrong file signature); it was deleted"
    )]
    NotAModel { name: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ModelError {
    let context = context.into();
    move |source| ModelError::Io { context, source }
}

pub fn models_dir(home: &Path) -> PathBuf {
    home.join("models")
}

/// A model argument: a path to a file, or a catalog name installed under the home.
pub fn resolve(spec: &str, home: &Path) -> Result<PathBuf, ModelError> {
    let as_path = Path::new(spec);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    if as_path.is_dir() {
        return Err(ModelError::Folder(as_path.to_path_buf()));
    }
    let known = find(spec).ok_or_else(|| {
        // Something with a folder or a .bin in it was meant as a file, not a catalog name.
        let looks_like_path = spec.contains(['/', std::path::MAIN_SEPARATOR])
            || as_path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("bin"));
        match looks_like_path {
            true => ModelError::NoFile(as_path.to_path_buf()),
            false => ModelError::Unknown(spec.to_string()),
        }
    })?;
    let path = models_dir(home).join(known.file_name());
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::NotInstalled {
            name: known.name.to_string(),
        })
    }
}

/// The model to use when none is named: the first installed one in order of preference.
pub fn default_model(home: &Path) -> Result<PathBuf, ModelError> {
    let dir = models_dir(home);
    PREFERENCE
        .iter()
        .filter_map(|n| find(n))
        .map(|k| dir.join(k.file_name()))
        .find(|p| p.is_file())
        .ok_or(ModelError::NoneInstalled)
}

/// An error with its causes: reqwest's own text ("error sending request for url") hides the
/// part a user can act on (DNS failure, connection refused, certificate).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// What to download and what it must be.
#[derive(Debug, Clone)]
pub struct Download {
    pub name: String,
    pub url: String,
    /// Known SHA-256 of the whole file, when the source publishes one.
    pub sha256: Option<String>,
}

impl Download {
    pub fn for_model(model: &KnownModel) -> Download {
        let base = std::env::var("MINUTES_MODEL_BASE_URL")
            .unwrap_or_else(|_| DEFAULT_BASE_URL.to_string());
        Download {
            name: model.name.to_string(),
            url: format!("{}/{}", base.trim_end_matches('/'), model.file_name()),
            sha256: None,
        }
    }
}

/// Downloads `dl` to `dest` (a file path). Resumes a previous `.part`; verifies length, the
/// ggml signature and the checksum before renaming into place; records the SHA-256 beside it.
pub async fn pull(
    dl: &Download,
    dest: &Path,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<PathBuf, ModelError> {
    pull_checked(dl, dest, progress, &has_ggml_magic).await
}

/// `pull` for any kind of file: `accept` checks the finished download's signature.
pub async fn pull_checked(
    dl: &Download,
    dest: &Path,
    progress: &dyn Fn(u64, Option<u64>),
    accept: &(dyn Fn(&Path) -> bool + Sync),
) -> Result<PathBuf, ModelError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    let ext = dest
        .extension()
        .map_or(String::new(), |e| e.to_string_lossy().into_owned());
    let part = dest.with_extension(format!("{ext}.part"));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| ModelError::Download {
            url: dl.url.clone(),
            message: error_chain(&e),
        })?;
    let mut req = client.get(&dl.url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let fail = |e: reqwest::Error| ModelError::Download {
        url: dl.url.clone(),
        message: error_chain(&e),
    };
    let mut resp = req.send().await.map_err(fail)?;
    let status = resp.status();
    let resumed = status == reqwest::StatusCode::PARTIAL_CONTENT;
    if !status.is_success() {
        return Err(ModelError::Status {
            url: dl.url.clone(),
            status: status.as_u16(),
        });
    }
    if !resumed {
        have = 0; // the server ignored the range: start over
    }
    let total = resp.content_length().map(|n| n + have);
    let mut hasher = Sha256::new();
    let mut file = if resumed {
        // Hash what is already there so the final checksum covers the whole file.
        hash_file(&part, &mut hasher).map_err(io("cannot read the partial download"))?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&part)
            .map_err(io("cannot append to the partial download"))?
    } else {
        std::fs::File::create(&part).map_err(io(format!("cannot write {}", part.display())))?
    };
    let mut done = have;
    progress(done, total);
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                // Keep what arrived: the next pull resumes from here.
                let _ = file.flush();
                return Err(ModelError::Download {
                    url: dl.url.clone(),
                    message: error_chain(&e),
                });
            }
        };
        file.write_all(&chunk)
            .map_err(io(format!("cannot write {}", part.display())))?;
        hasher.update(&chunk);
        done += chunk.len() as u64;
        progress(done, total);
    }
    file.sync_all()
        .map_err(io(format!("cannot write {}", part.display())))?;
    drop(file);
    if let Some(expected) = total.filter(|t| done < *t) {
        return Err(ModelError::Truncated {
            name: dl.name.clone(),
            got: done,
            expected,
        });
    }
    let actual: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Some(expected) = &dl.sha256
        && &actual != expected
    {
        let _ = std::fs::remove_file(&part);
        return Err(ModelError::Checksum {
            name: dl.name.clone(),
            expected: expected.clone(),
            actual,
        });
    }
    if !accept(&part) {
        let _ = std::fs::remove_file(&part);
        return Err(ModelError::NotAModel {
            name: dl.name.clone(),
        });
    }
    std::fs::rename(&part, dest).map_err(io(format!("cannot install {}", dest.display())))?;
    std::fs::write(
        sidecar(dest),
        format!(
            "{actual}  {}\n",
            dest.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ),
    )
    .map_err(io("cannot record the checksum"))?;
    Ok(dest.to_path_buf())
}

fn sidecar(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

fn has_ggml_magic(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && u32::from_le_bytes(magic) == 0x6767_6d6c
}

/// Re-hashes an installed model against the checksum recorded at download.
pub fn verify(model: &Path) -> Result<bool, ModelError> {
    let Ok(recorded) = std::fs::read_to_string(sidecar(model)) else {
        return Ok(true);
    };
    let expected = recorded.split_whitespace().next().unwrap_or("").to_string();
    let mut hasher = Sha256::new();
    hash_file(model, &mut hasher).map_err(io(format!("cannot read {}", model.display())))?;
    Ok(hex(&hasher.finalize()) == expected)
}

/// Feeds a whole file to `hasher` without reading it into memory at once.
fn hash_file(path: &Path, hasher: &mut Sha256) -> std::io::Result<()> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves `body` with Range support; the first `cut_first` responses stop halfway.
    fn serve(body: Vec<u8>, cut_first: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/ggml-test.bin",
            listener.local_addr().expect("addr").port()
        );
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let mut conn = conn;
                let mut req = [0u8; 4096];
                let len = conn.read(&mut req).unwrap_or(0);
                let head = String::from_utf8_lossy(&req[..len]).to_lowercase();
                let from: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes="))
                    .and_then(|r| r.trim_end_matches('-').parse().ok())
                    .unwrap_or(0);
                let rest = &body[from.min(body.len())..];
                let status = if from > 0 {
                    "206 Partial Content"
                } else {
                    "200 OK"
                };
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        rest.len()
                    )
                    .as_bytes(),
                );
                let send = if n < cut_first {
                    &rest[..rest.len() / 2]
                } else {
                    rest
                };
                let _ = conn.write_all(send);
            }
        });
        (url, served)
    }

    fn fake_model(len: usize) -> Vec<u8> {
        let mut v = 0x6767_6d6cu32.to_le_bytes().to_vec();
        let mut x: u32 = 12345;
        while v.len() < len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push(x as u8);
        }
        v
    }

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt")
            .block_on(f)
    }

    #[test]
    fn a_download_is_checked_and_installed_atomically() {
        let body = fake_model(300_000);
        let (url, _) = serve(body.clone(), 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("ggml-test.bin");
        let dl = Download {
            name: "test".into(),
            url,
            sha256: Some(sha(&body)),
        };
        let seen = std::sync::Mutex::new(Vec::new());
        block_on(pull(&dl, &dest, &|d, t| {
            seen.lock().expect("lock").push((d, t))
        }))
        .expect("pull");
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert!(verify(&dest).expect("verify"));
        let seen = seen.into_inner().expect("seen");
        assert_eq!(
            seen.last(),
            Some(&(300_000, Some(300_000))),
            "progress reaches the total"
        );
    }

    #[test]
    fn a_truncated_download_is_never_used_and_resumes() {
        let body = fake_model(400_000);
        let (url, served) = serve(body.clone(), 1);
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("ggml-test.bin");
        let dl = Download {
            name: "test".into(),
            url,
            sha256: Some(sha(&body)),
        };
        let err = block_on(pull(&dl, &dest, &|_, _| {})).expect_err("cut short");
        assert!(
            matches!(
                err,
                ModelError::Truncated { .. } | ModelError::Download { .. }
            ),
            "{err}"
        );
        assert!(!dest.exists(), "a truncated model was installed");
        assert!(err.to_string().contains("again to resume"), "{err}");
        block_on(pull(&dl, &dest, &|_, _| {})).expect("resumed");
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert_eq!(served.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_corrupted_download_is_deleted() {
        let body = fake_model(100_000);
        let (url, _) = serve(body.clone(), 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("ggml-test.bin");
        let dl = Download {
            name: "test".into(),
            url,
            sha256: Some(sha(b"something else")),
        };
        let err = block_on(pull(&dl, &dest, &|_, _| {})).expect_err("corrupt");
        assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
        assert!(!dest.exists() && !dest.with_extension("bin.part").exists());
    }

    #[test]
    fn something_that_is_not_a_model_is_refused() {
        let (url, _) = serve(b"<html>not found</html>".to_vec(), 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("ggml-test.bin");
        let err = block_on(pull(
            &Download {
                name: "test".into(),
                url,
                sha256: None,
            },
            &dest,
            &|_, _| {},
        ))
        .expect_err("html");
        assert!(matches!(err, ModelError::NotAModel { .. }), "{err}");
        assert!(!dest.exists());
    }

    #[test]
    fn names_and_paths_resolve() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            resolve("base.en", dir.path()),
            Err(ModelError::NotInstalled { .. })
        ));
        assert!(matches!(
            resolve("huge-v9", dir.path()),
            Err(ModelError::Unknown(_))
        ));
        assert!(matches!(
            default_model(dir.path()),
            Err(ModelError::NoneInstalled)
        ));
        std::fs::create_dir_all(models_dir(dir.path())).expect("mkdir");
        std::fs::write(models_dir(dir.path()).join("ggml-tiny.en-q5_1.bin"), b"x").expect("write");
        assert_eq!(
            default_model(dir.path()).expect("default"),
            models_dir(dir.path()).join("ggml-tiny.en-q5_1.bin")
        );
        assert_eq!(find("ggml-base.en.bin").map(|k| k.name), Some("base.en"));
    }
}
