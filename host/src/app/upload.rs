//! Request bodies written to files (imported recordings, plugin packages): streamed, never
//! held whole in memory, capped in size, and the partial file removed when anything fails.

use axum::body::Body;
use futures_util::StreamExt;
use std::path::Path;
use tokio::io::AsyncWriteExt;

#[derive(Debug)]
pub enum ReceiveError {
    /// The file could not be made or written.
    Io(std::io::Error),
    /// The client stopped sending.
    Stopped(String),
    /// More than the cap arrived.
    TooLarge,
}

/// Streams `body` into a new private file at `path` (its folder is created private), at most
/// `cap` bytes; returns how many arrived.
pub async fn receive(body: Body, path: &Path, cap: u64) -> Result<u64, ReceiveError> {
    let outcome = write(body, path, cap).await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    outcome
}

async fn write(body: Body, path: &Path, cap: u64) -> Result<u64, ReceiveError> {
    if let Some(dir) = path.parent() {
        crate::fsperm::create_private_dir(dir).map_err(ReceiveError::Io)?;
    }
    let file = crate::fsperm::create_new_private(path).map_err(ReceiveError::Io)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ReceiveError::Stopped(e.to_string()))?;
        received += chunk.len() as u64;
        if received > cap {
            return Err(ReceiveError::TooLarge);
        }
        file.write_all(&chunk).await.map_err(ReceiveError::Io)?;
    }
    file.sync_all().await.map_err(ReceiveError::Io)?;
    Ok(received)
}

/// The last part of a file name a browser or a plugin gave, with only letters, digits and
/// `.-_` (at most `max_chars` of them) and no leading dot, else `fallback`: it becomes a file
/// on this machine or goes into a header.
pub fn safe_file_name(name: &str, max_chars: usize, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let safe: String = base
        .chars()
        .take(max_chars)
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => fallback.to_string(),
        s => s.to_string(),
    }
}
