//! The two ONNX models, run with tract (pure Rust: nothing to install beside minutes, nothing
//! downloaded at build time). Tensors are addressed by position, not name, so other exports of
//! the same models (sherpa-onnx names them `x`/`y`) load as well; shapes are checked instead.

use super::DiarizeError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;

/// 10 s of 16 kHz audio: segmentation-3.0's chunk.
pub const WINDOW_SAMPLES: usize = 160_000;
/// Frames per chunk in the segmentation output.
pub const SEG_FRAMES: usize = 589;
/// Powerset classes: none, A, B, C, A+B, A+C, B+C.
pub const SEG_CLASSES: usize = 7;
pub const EMBEDDING_DIM: usize = 192;

type Plan = Arc<TypedRunnableModel>;

fn model_error(path: &Path, e: impl std::fmt::Display) -> DiarizeError {
    DiarizeError::Model {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

pub struct Segmenter {
    plan: Plan,
    path: PathBuf,
}

impl Segmenter {
    pub fn load(path: &Path) -> Result<Segmenter, DiarizeError> {
        // A concrete input shape: with the batch left symbolic tract cannot build the LSTM.
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact([1, 1, WINDOW_SAMPLES]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| model_error(path, format!("{e:#}")))?;
        let seg = Segmenter {
            plan,
            path: path.to_path_buf(),
        };
        Ok(seg)
    }

    /// Log-probabilities of the 7 powerset classes for each of the 589 frames of a 10 s chunk
    /// (shorter input is zero-padded).
    pub fn run(&self, chunk: &[f32]) -> Result<Vec<f32>, DiarizeError> {
        let mut data = vec![0.0f32; WINDOW_SAMPLES];
        let n = chunk.len().min(WINDOW_SAMPLES);
        data[..n].copy_from_slice(&chunk[..n]);
        let input = Tensor::from_shape(&[1, 1, WINDOW_SAMPLES], &data)
            .map_err(|e| model_error(&self.path, e))?;
        let out = self
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| model_error(&self.path, format!("{e:#}")))?;
        let t = out
            .first()
            .ok_or_else(|| model_error(&self.path, "the model has no output"))?;
        if t.shape() != [1, SEG_FRAMES, SEG_CLASSES] {
            return Err(model_error(
                &self.path,
                format!(
                    "output shape {:?}, expected [1, {SEG_FRAMES}, {SEG_CLASSES}]: not segmentation-3.0",
                    t.shape()
                ),
            ));
        }
        let v = t
            .to_plain_array_view::<f32>()
            .map_err(|e| model_error(&self.path, e))?;
        Ok(v.iter().copied().collect())
    }
}

/// CAM++ with one optimised plan per input length. tract's plan for a symbolic length is 3-4x
/// slower than a concrete one, and optimising one costs about a second, so inputs are cut to a
/// few fixed lengths (`bucket`) and their plans made on first use and kept.
pub struct Embedder {
    model: InferenceModel,
    plans: Mutex<HashMap<usize, Plan>>,
    path: PathBuf,
    identity: String,
}

/// Embedding input lengths in fbank frames (10 ms each), about 1.5x apart: an input is cut to
/// the longest that fits, losing at most a third of it, and a long recording needs at most 11
/// plans.
pub const BUCKETS: [usize; 11] = [20, 30, 45, 70, 100, 150, 225, 340, 500, 750, 1000];

/// The input length for `frames` frames of speech, or `None` if too short for an embedding.
pub fn bucket(frames: usize) -> Option<usize> {
    BUCKETS.iter().rev().copied().find(|&b| b <= frames)
}

impl Embedder {
    pub fn load(path: &Path) -> Result<Embedder, DiarizeError> {
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| model_error(path, format!("{e:#}")))?;
        let bytes = std::fs::read(path).map_err(|e| model_error(path, e))?;
        let emb = Embedder {
            model,
            plans: Mutex::new(HashMap::new()),
            path: path.to_path_buf(),
            identity: identity_of(&bytes),
        };
        // A plan every recording needs: a file that is ONNX but not CAM++ fails here.
        emb.plan(100)?;
        Ok(emb)
    }

    /// Which model file this is, by content: voiceprints record it, and prints made by another
    /// file (another model, or another export whose numbers may differ) are not compared.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn plan(&self, frames: usize) -> Result<Plan, DiarizeError> {
        if let Some(p) = self
            .plans
            .lock()
            .map_err(|_| model_error(&self.path, "a worker panicked"))?
            .get(&frames)
        {
            return Ok(p.clone());
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, frames, super::fbank::MEL_BINS]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| model_error(&self.path, format!("{e:#}")))?;
        self.plans
            .lock()
            .map_err(|_| model_error(&self.path, "a worker panicked"))?
            .insert(frames, plan.clone());
        Ok(plan)
    }

    /// A 192-dim embedding of mean-normalised fbank frames (frames x 80, row-major), not
    /// normalised. The frame count must be at least 3.
    pub fn run(&self, fbank: &[f32]) -> Result<Vec<f32>, DiarizeError> {
        let frames = fbank.len() / super::fbank::MEL_BINS;
        let plan = self.plan(frames)?;
        let input = Tensor::from_shape(&[1, frames, super::fbank::MEL_BINS], fbank)
            .map_err(|e| model_error(&self.path, e))?;
        let out = plan
            .run(tvec!(input.into()))
            .map_err(|e| model_error(&self.path, format!("{e:#}")))?;
        let t = out
            .first()
            .ok_or_else(|| model_error(&self.path, "the model has no output"))?;
        if t.shape() != [1, EMBEDDING_DIM] {
            return Err(model_error(
                &self.path,
                format!(
                    "output shape {:?}, expected [1, {EMBEDDING_DIM}]: not the CAM++ embedding model",
                    t.shape()
                ),
            ));
        }
        let v: Vec<f32> = t
            .to_plain_array_view::<f32>()
            .map_err(|e| model_error(&self.path, e))?
            .iter()
            .copied()
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(model_error(&self.path, "the embedding is not finite"));
        }
        Ok(v)
    }
}

/// "sha256:<hex>" of a model file's bytes.
pub fn identity_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
