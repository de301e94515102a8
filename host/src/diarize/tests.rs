//! Against the shared models and corpus (../shared): the Rust runtime must give what the Python
//! reference (onnxruntime + numpy) gives on the same input, and the pipeline must tell the
//! voices of the shared meeting apart.

use super::*;
use std::sync::OnceLock;

fn shared(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative)
}

pub(crate) fn models_dir() -> PathBuf {
    shared("models/diarization")
}

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| Models::load(&models_dir()).expect("the shared diarization models load"))
}

fn channel(path: &str, c: usize) -> Vec<f32> {
    let (_, mut channels) =
        crate::audio::decode::decode_file(&shared(path)).expect("the corpus file decodes");
    channels.swap_remove(c)
}

/// Tensors the Python reference computed (`testdata/reference.json`: onnxruntime 1.32 on
/// ami_excerpt_dev00, a 10 s chunk from 2 s and a 3 s fbank/embedding from 2 s).
struct Reference {
    log_probs: Vec<Vec<f32>>,
    argmax: Vec<usize>,
    fbank_frames: usize,
    fbank_first_rows: Vec<Vec<f32>>,
    fbank_mean: Vec<f32>,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("testdata/reference.json")).expect("valid json");
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect()
    };
    let rows = |v: &serde_json::Value| -> Vec<Vec<f32>> {
        v.as_array().expect("array").iter().map(floats).collect()
    };
    Reference {
        log_probs: rows(&v["log_probs"]),
        argmax: v["argmax"]
            .as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_u64().expect("int") as usize)
            .collect(),
        fbank_frames: v["fbank_frames"].as_u64().expect("int") as usize,
        fbank_first_rows: rows(&v["fbank_first_rows"]),
        fbank_mean: floats(&v["fbank_mean"]),
        embedding: floats(&v["embedding"]),
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn fbank_matches_the_python_reference() {
    let r = reference();
    let audio = channel("corpus/real_rttm_only/ami_excerpt_dev00.wav", 0);
    let fb = fbank::Fbank::new().compute(&audio[32_000..80_000]);
    assert_eq!(fb.len() / fbank::MEL_BINS, r.fbank_frames);
    let first: Vec<f32> = r.fbank_first_rows.concat();
    let d = max_abs_diff(&fb[..first.len()], &first);
    assert!(d < 2e-3, "first fbank rows differ by {d}");
    let mut mean = vec![0.0f32; fbank::MEL_BINS];
    for row in fb.chunks_exact(fbank::MEL_BINS) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v / r.fbank_frames as f32;
        }
    }
    let d = max_abs_diff(&mean, &r.fbank_mean);
    assert!(d < 1e-3, "fbank means differ by {d}");
}

#[test]
fn segmentation_matches_the_python_reference() {
    let r = reference();
    let audio = channel("corpus/real_rttm_only/ami_excerpt_dev00.wav", 0);
    let lp = models()
        .segmenter
        .run(&audio[32_000..32_000 + WINDOW_SAMPLES])
        .expect("segmentation runs");
    let d = max_abs_diff(&lp, &r.log_probs.concat());
    assert!(d < 2e-3, "log-probs differ from onnxruntime's by {d}");
    let argmax: Vec<usize> = lp
        .chunks_exact(SEG_CLASSES)
        .map(|f| {
            f.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    assert_eq!(argmax, r.argmax, "speaker activity differs");
}

#[test]
fn embedding_matches_the_python_reference() {
    let r = reference();
    let audio = channel("corpus/real_rttm_only/ami_excerpt_dev00.wav", 0);
    let mut fb = fbank::Fbank::new().compute(&audio[32_000..80_000]);
    fbank::mean_normalise(&mut fb);
    let e = models().embedder.run(&fb).expect("embedding runs");
    let norm = |v: &[f32]| cluster::dot(v, v).sqrt();
    let cosine = cluster::dot(&e, &r.embedding) / (norm(&e) * norm(&r.embedding));
    assert!(
        cosine > 0.9999,
        "cosine to the reference embedding {cosine}"
    );
    let d = max_abs_diff(&e, &r.embedding);
    assert!(
        d < 1e-2 * norm(&r.embedding) / (EMBEDDING_DIM as f32).sqrt(),
        "embedding differs by {d}"
    );
}

#[test]
fn missing_and_corrupt_models_are_named_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Models::load(dir.path()).err().expect("no models: an error");
    let msg = err.to_string();
    assert!(
        msg.contains("minutes models pull diarization") && msg.contains(SEGMENTATION_FILE),
        "{msg}"
    );
    std::fs::write(dir.path().join(SEGMENTATION_FILE), b"not a model").expect("write");
    std::fs::copy(
        models_dir().join(EMBEDDING_FILE),
        dir.path().join(EMBEDDING_FILE),
    )
    .expect("copy");
    let msg = Models::load(dir.path())
        .err()
        .expect("garbage model: an error")
        .to_string();
    assert!(
        msg.contains(SEGMENTATION_FILE) && msg.contains("minutes models pull diarization"),
        "{msg}"
    );
    // The two files swapped: each loads as ONNX but gives the wrong tensors.
    std::fs::copy(
        models_dir().join(EMBEDDING_FILE),
        dir.path().join(SEGMENTATION_FILE),
    )
    .expect("copy");
    std::fs::copy(
        models_dir().join(SEGMENTATION_FILE),
        dir.path().join(EMBEDDING_FILE),
    )
    .expect("copy");
    assert!(Models::load(dir.path()).is_err());
}

#[test]
fn silence_gives_no_speakers_and_no_error() {
    let d = diarize(
        models(),
        &vec![0.0; 30 * SAMPLE_RATE],
        &Options::new(models_dir()),
    )
    .expect("silence diarizes");
    assert!(d.turns.is_empty(), "{:?}", d.turns);
    assert_eq!(d.speakers, 0);
}

/// The reference turns of one channel of the synthetic meeting.
fn meeting_reference(channel: u64) -> der::Rttm {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared("corpus/synthetic/meeting_a.json")).expect("read"),
    )
    .expect("json");
    v["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter(|s| s["channel"].as_u64() == Some(channel))
        .map(|s| {
            (
                s["start"].as_f64().expect("start"),
                s["end"].as_f64().expect("end"),
                s["speaker"].as_str().expect("speaker").to_string(),
            )
        })
        .collect()
}

#[test]
#[ignore = "fails today: David and Sam (espeak en-gb / en-us+m3) are not told apart (DER 44.6 % with 2 speakers given, 43.4 % estimated, 39.7 % with one label); open"]
fn given_two_speakers_the_system_channel_of_the_shared_meeting_is_split_into_its_two_voices() {
    let audio = channel("corpus/synthetic/meeting_a_2ch.wav", 1);
    // With the count given (`--speakers 2`): the estimate merges these two espeak voices (CAM++
    // puts them 0.25 apart in cosine distance, as close as the tuned threshold).
    let mut options = Options::new(models_dir());
    options.speakers = Some(2);
    let d = diarize(models(), &audio, &options).expect("diarizes");
    let reference = meeting_reference(1);
    let ours = der::score(&reference, &as_rttm(&d.turns), 0.25).der();
    // What channel labels alone can do: every reference turn given to one "others" speaker.
    let one: der::Rttm = reference
        .iter()
        .map(|(s, e, _)| (*s, *e, "others".to_string()))
        .collect();
    let channel_only = der::score(&reference, &one, 0.25).der();
    eprintln!(
        "system channel: {} speakers, DER {:.1} % (one label: {:.1} %), {:?}",
        d.speakers,
        ours * 100.0,
        channel_only * 100.0,
        d.timings
    );
    assert!(d.speakers >= 2, "{} speakers found", d.speakers);
    assert!(
        ours < 0.2 && ours < channel_only - 0.1,
        "DER {ours} (one label for the channel: {channel_only})"
    );
}
