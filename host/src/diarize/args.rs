//! The diarization flags of every command that transcribes.

use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DiarizeArgs {
    /// Do not split the system audio (or a mono file) into speakers
    #[arg(long)]
    pub no_diarize: bool,
    /// The number of speakers to find on the system audio (or in a mono file) [default:
    /// estimated]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=20))]
    pub speakers: Option<u16>,
    /// Folder holding segmentation-3.0.onnx and campplus.onnx [default: the models folder's
    /// diarization/, filled by `minutes models pull diarization`]
    #[arg(long, value_name = "DIR", env = "MINUTES_DIARIZATION_MODELS")]
    pub diarization_models: Option<PathBuf>,
}

impl DiarizeArgs {
    /// The diarization settings, or `None` when turned off.
    pub fn options(&self, home: &Path) -> Option<super::Options> {
        if self.no_diarize {
            return None;
        }
        let dir = self
            .diarization_models
            .clone()
            .unwrap_or_else(|| super::default_models_dir(home));
        let mut options = super::Options::new(dir);
        options.speakers = self.speakers.map(usize::from);
        options.voiceprints = enrolled(home);
        Some(options)
    }
}

/// The voiceprints enrolled in the store of the minutes home `home`, if it has a store. A
/// store that cannot be read costs the names, not the transcript: logged, and none are used.
fn enrolled(home: &Path) -> Vec<super::voiceprint::Known> {
    let path = home.join(crate::store::FILE_NAME);
    if !path.is_file() {
        return Vec::new();
    }
    match crate::store::Store::open_path(&path).and_then(|s| s.voiceprint_vectors()) {
        Ok(prints) => prints
            .into_iter()
            .map(|p| super::voiceprint::Known {
                name: p.name,
                embedding: p.embedding,
                model: p.model,
            })
            .collect(),
        Err(e) => {
            tracing::warn!("voiceprints not used: {e}");
            Vec::new()
        }
    }
}
