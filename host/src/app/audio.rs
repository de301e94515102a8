//! A meeting's recording for the page's player, with HTTP range requests (tower-http's
//! ServeFile), so the player can seek without loading the whole file. Audio a browser may not
//! play (M4A/AAC and anything else not listed) is decoded by the host's own decoder into a
//! WAV, cached in the minutes home, and served instead.

use super::App;
use super::server::{Failure, with_store};
use crate::store::MeetingInfo;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeFile;

/// Extensions every current browser plays as they are.
const PLAYABLE: &[&str] = &["wav", "mp3", "ogg", "oga", "opus", "flac", "webm"];

/// Why a meeting's recording cannot be played, or `None` when it can.
pub fn problem(info: &MeetingInfo) -> Option<String> {
    match &info.audio {
        None => Some("This meeting has no recording.".into()),
        Some(a) if !a.path.is_file() => Some(format!(
            "The recording {} is gone (moved or deleted): the transcript is all that is left.",
            a.path.display()
        )),
        Some(_) => None,
    }
}

pub async fn serve(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Failure> {
    let file = with_store(&app, move |app, store| {
        let info = store.meeting(&id)?;
        if let Some(why) = problem(&info) {
            return Err(Failure::NotFound(why));
        }
        let path = info.audio.map(|a| a.path).unwrap_or_default();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if PLAYABLE.contains(&ext.as_str()) {
            return Ok(path);
        }
        as_wav(app, &path)
    })
    .await?;
    let response = ServeFile::new(&file)
        .try_call(request)
        .await
        .map_err(|e| Failure::Internal(format!("cannot read {}: {e}", file.display())))?;
    Ok(response.map(axum::body::Body::new).into_response())
}

/// The recording decoded into a WAV in the cache, made once per file version.
fn as_wav(app: &App, source: &std::path::Path) -> Result<PathBuf, Failure> {
    let modified = std::fs::metadata(source)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let key = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(source.as_os_str().as_encoded_bytes());
        h.update(modified.to_le_bytes());
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let dir = app.ctx.home.root().join("cache").join("app-audio");
    let wav = dir.join(format!("{key}.wav"));
    if wav.is_file() {
        return Ok(wav);
    }
    let failed = |what: String| {
        Failure::Internal(format!(
            "cannot convert {} for the browser: {what}",
            source.display()
        ))
    };
    crate::fsperm::create_private_dir(&dir).map_err(|e| failed(e.to_string()))?;
    let mut reader =
        crate::audio::decode::AudioReader::open(source).map_err(|e| failed(e.to_string()))?;
    let channels = reader.info().channels.clamp(1, 2) as u16;
    // Written beside the final name and renamed: a half-made file is never served.
    let partial = tempfile::NamedTempFile::new_in(&dir).map_err(|e| failed(e.to_string()))?;
    let spec = hound::WavSpec {
        channels,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(std::io::BufWriter::new(partial.as_file()), spec)
        .map_err(|e| failed(e.to_string()))?;
    while let Some(block) = reader.next_block().map_err(|e| failed(e.to_string()))? {
        let frames = block.first().map_or(0, Vec::len);
        for i in 0..frames {
            for c in 0..usize::from(channels) {
                let s = block
                    .get(c)
                    .and_then(|ch| ch.get(i))
                    .copied()
                    .unwrap_or(0.0);
                let v = (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16;
                writer.write_sample(v).map_err(|e| failed(e.to_string()))?;
            }
        }
    }
    writer.finalize().map_err(|e| failed(e.to_string()))?;
    partial.persist(&wav).map_err(|e| failed(e.to_string()))?;
    Ok(wav)
}
