//! `minutes models pull diarization`: the two ONNX files from the sherpa-onnx project's
//! published exports of the same models (pyannote segmentation-3.0, MIT; 3D-Speaker CAM++
//! zh-en common advanced, Apache-2.0), downloaded like the whisper models (resumable, checked),
//! then loaded and run once before they count as installed.

use super::{EMBEDDING_FILE, Models, SEGMENTATION_FILE};
use crate::transcribe::models::{Download, ModelError, pull_checked};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file to fetch and where upstream serves it.
pub struct Source {
    /// The name it gets in the models folder.
    pub file: &'static str,
    pub url: &'static str,
    pub size_mb: u32,
}

/// sherpa-onnx's exports (k2-fsa/sherpa-onnx releases `speaker-segmentation-models` and
/// `speaker-recongition-models` [sic]; the segmentation model's file is served on its own from
/// the sherpa-onnx maintainer's Hugging Face copy of that release, as the release has it only in
/// a .tar.bz2). Upstream publishes no checksums: the SHA-256 of each download is recorded beside
/// it, and the files must load and give the expected tensors before they are kept.
pub const SOURCES: [Source; 2] = [
    Source {
        file: SEGMENTATION_FILE,
        url: "https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0/resolve/main/model.onnx",
        size_mb: 6,
    },
    Source {
        file: EMBEDDING_FILE,
        url: "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models/3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx",
        size_mb: 28,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Download(#[from] ModelError),
    #[error("{0}; the downloaded files were deleted")]
    Unusable(super::DiarizeError),
}

/// An ONNX model is a protobuf `ModelProto` whose first field is `ir_version` (field 1, varint).
fn looks_like_onnx(path: &Path) -> bool {
    let mut first = [0u8; 1];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut first))
        .is_ok()
        && first[0] == 0x08
}

/// The download of `source`: `MINUTES_DIARIZATION_BASE_URL` (mirrors, tests) serves both files
/// under their installed names.
pub fn download(source: &Source) -> Download {
    let url = match std::env::var("MINUTES_DIARIZATION_BASE_URL") {
        Ok(base) => format!("{}/{}", base.trim_end_matches('/'), source.file),
        Err(_) => source.url.to_string(),
    };
    Download {
        name: source.file.to_string(),
        url,
        sha256: None,
    }
}

/// Downloads whatever of the two files `dir` lacks, then checks that both load and run.
pub async fn pull(
    dir: &Path,
    progress: &dyn Fn(&str, u64, Option<u64>),
) -> Result<Vec<PathBuf>, PullError> {
    let mut fetched = Vec::new();
    for source in &SOURCES {
        let dest = dir.join(source.file);
        if dest.is_file() {
            continue;
        }
        let dl = download(source);
        pull_checked(
            &dl,
            &dest,
            &|done, total| progress(source.file, done, total),
            &looks_like_onnx,
        )
        .await?;
        fetched.push(dest);
    }
    if let Err(e) = check(dir) {
        for f in &fetched {
            let _ = std::fs::remove_file(f);
            let mut sidecar = f.as_os_str().to_owned();
            sidecar.push(".sha256");
            let _ = std::fs::remove_file(PathBuf::from(sidecar));
        }
        return Err(PullError::Unusable(e));
    }
    Ok(SOURCES.iter().map(|s| dir.join(s.file)).collect())
}

/// Loads both models and runs each once on a second of quiet noise: a file that is ONNX but not
/// these models fails here, not in the middle of someone's meeting.
pub fn check(dir: &Path) -> Result<(), super::DiarizeError> {
    let models = Models::load(dir)?;
    let noise: Vec<f32> = (0..16_000u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) >> 16) as f32 / 65_536.0 - 0.5) * 0.01)
        .collect();
    models.segmenter.run(&noise)?;
    let mut fb = super::fbank::Fbank::new().compute(&noise);
    super::fbank::mean_normalise(&mut fb);
    models.embedder.run(&fb)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves files by name with Range support; the first `cut_first` responses stop halfway.
    fn serve(files: Vec<(&'static str, Vec<u8>)>, cut_first: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!(
            "http://127.0.0.1:{}/models",
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
                let head = String::from_utf8_lossy(&req[..len]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let Some((_, body)) = files.iter().find(|(name, _)| path.ends_with(name)) else {
                    let _ = conn.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                };
                let from: usize = head
                    .to_lowercase()
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes=").map(str::to_string))
                    .and_then(|r| r.trim_end_matches('-').trim().parse().ok())
                    .unwrap_or(0);
                let rest = &body[from.min(body.len())..];
                let status = if from > 0 {
                    "206 Partial Content"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rest.len()
                );
                let send = if n < cut_first {
                    &rest[..rest.len() / 2]
                } else {
                    rest
                };
                let _ = conn.write_all(send);
            }
        });
        (base, served)
    }

    fn shared_model(name: &str) -> Vec<u8> {
        std::fs::read(super::super::tests::models_dir().join(name)).expect("shared model")
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// Env vars are process-wide: tests that set the base URL run one at a time.
    static BASE_URL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn pull_resumes_a_cut_download_and_installs_models_that_load() {
        let _guard = BASE_URL.lock().unwrap_or_else(|e| e.into_inner());
        let (base, served) = serve(
            vec![
                (SEGMENTATION_FILE, shared_model(SEGMENTATION_FILE)),
                (EMBEDDING_FILE, shared_model(EMBEDDING_FILE)),
            ],
            1,
        );
        let dir = tempfile::tempdir().expect("tempdir");
        // SAFETY: tests that read or write this variable hold BASE_URL.
        unsafe { std::env::set_var("MINUTES_DIARIZATION_BASE_URL", &base) };
        let first = block_on(pull(dir.path(), &|_, _, _| {}));
        assert!(
            first.is_err(),
            "the first response was cut: the pull must fail"
        );
        assert!(!dir.path().join(SEGMENTATION_FILE).exists());
        let installed = block_on(pull(dir.path(), &|_, _, _| {})).expect("the second pull resumes");
        unsafe { std::env::remove_var("MINUTES_DIARIZATION_BASE_URL") };
        assert_eq!(installed.len(), 2);
        assert!(served.load(Ordering::SeqCst) >= 3);
        assert_eq!(
            std::fs::read(dir.path().join(SEGMENTATION_FILE)).expect("installed"),
            shared_model(SEGMENTATION_FILE)
        );
        assert!(Models::load(dir.path()).is_ok());
    }

    #[test]
    fn a_server_handing_out_the_wrong_files_installs_nothing() {
        let _guard = BASE_URL.lock().unwrap_or_else(|e| e.into_inner());
        // Valid ONNX, wrong models: each file is the other one.
        let (base, _) = serve(
            vec![
                (SEGMENTATION_FILE, shared_model(EMBEDDING_FILE)),
                (EMBEDDING_FILE, shared_model(SEGMENTATION_FILE)),
            ],
            0,
        );
        let dir = tempfile::tempdir().expect("tempdir");
        unsafe { std::env::set_var("MINUTES_DIARIZATION_BASE_URL", &base) };
        let Err(err) = block_on(pull(dir.path(), &|_, _, _| {})) else {
            panic!("wrong models are refused");
        };
        unsafe { std::env::remove_var("MINUTES_DIARIZATION_BASE_URL") };
        assert!(err.to_string().contains("deleted"), "{err}");
        assert!(!dir.path().join(SEGMENTATION_FILE).exists());
        assert!(!dir.path().join(EMBEDDING_FILE).exists());
    }
}
