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
fn the_system_channel_of_the_shared_meeting_is_split_into_its_two_voices() {
    // David (espeak en-gb) and Sam (en-us+m3) take turns on the system audio. Segmentation
    // often calls both one local speaker of a window; embedded per window they merged into
    // one speaker (DER 43.4 %, and 44.6 % with the count given).
    let audio = channel("corpus/synthetic/meeting_a_2ch.wav", 1);
    let reference = meeting_reference(1);
    // What channel labels alone can do: every reference turn given to one "others" speaker.
    let one: der::Rttm = reference
        .iter()
        .map(|(s, e, _)| (*s, *e, "others".to_string()))
        .collect();
    let channel_only = der::score(&reference, &one, 0.25).der();
    let mut options = Options::new(models_dir());
    let analysis = analyse(models(), &audio, &options).expect("diarizes");
    for given in [None, Some(2)] {
        options.speakers = given;
        let d = analysis.diarization(&options);
        let ours = der::score(&reference, &as_rttm(&d.turns), 0.25).der();
        eprintln!(
            "system channel, count {given:?}: {} speakers, DER {:.1} % (one label: {:.1} %), {:?}",
            d.speakers,
            ours * 100.0,
            channel_only * 100.0,
            d.timings
        );
        assert_eq!(d.speakers, 2, "count {given:?}");
        assert!(
            ours < 0.15 && ours < channel_only - 0.2,
            "count {given:?}: DER {ours} (one label for the channel: {channel_only})"
        );
    }
}

#[test]
fn a_local_speaker_is_embedded_per_run_between_pauses() {
    // One window where local speaker 0 talks twice with a 0.5 s pause between (two people
    // segmentation did not tell apart), and speaker 1 once, overlapping the second run.
    let mut act = vec![[false; 3]; SEG_FRAMES];
    let frames = |s: f64| (s / FRAME_STEP_S).round() as usize;
    let mut set = |from: f64, to: f64, local: usize, on: bool| {
        for frame in &mut act[frames(from)..frames(to)] {
            frame[local] = on;
        }
    };
    set(0.5, 3.5, 0, true);
    set(4.0, 7.0, 0, true);
    // A breath of 35 ms does not end a run.
    set(5.0, 5.035, 0, false);
    set(6.0, 9.0, 1, true);
    // A blip too short to embed.
    set(9.5, 9.6, 0, true);
    let (jobs, short) = embedding_jobs(1_000, &[act], &[0]);
    let spans: Vec<(usize, f64, f64)> = jobs
        .iter()
        .map(|j| {
            (
                j.span.local,
                j.span.first as f64 * FRAME_STEP_S,
                j.span.last as f64 * FRAME_STEP_S,
            )
        })
        .collect();
    assert_eq!(spans.len(), 3, "{spans:?}");
    assert_eq!(spans.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 0, 1]);
    assert!((spans[0].1 - 0.5).abs() < 0.02 && (spans[0].2 - 3.5).abs() < 0.03);
    assert!((spans[1].1 - 4.0).abs() < 0.02 && (spans[1].2 - 7.0).abs() < 0.03);
    // Each job embeds its own run's fbank frames only (10 ms each).
    for j in &jobs {
        let (from, to) = (
            j.span.first as f64 * FRAME_STEP_S - 0.05,
            j.span.last as f64 * FRAME_STEP_S + 0.1,
        );
        assert!(
            j.frames
                .iter()
                .all(|&f| (f as f64 / 100.0) >= from && (f as f64 / 100.0) <= to),
            "job {:?} embeds frames outside its run",
            j.span
        );
    }
    assert_eq!(short.len(), 1);
    assert_eq!(short[0].local, 0);
}

#[test]
fn the_filter_bank_is_computed_a_stretch_at_a_time_with_the_same_frames() {
    // A frame depends on its own 400 samples only: a stretch's rows are the whole file's.
    let audio = channel("corpus/synthetic/meeting_a_2ch.wav", 1);
    let audio = &audio[..16_000 * 30];
    let frontend = fbank::Fbank::new();
    let whole = frontend.compute(audio);
    assert_eq!(whole.len() / fbank::MEL_BINS, fbank::frames_of(audio.len()));
    let (first, last) = (1_234, 2_345);
    let part = frontend
        .compute(&audio[first * fbank::FRAME_SHIFT..last * fbank::FRAME_SHIFT + fbank::FRAME_LEN]);
    assert_eq!(part.len() / fbank::MEL_BINS, last - first + 1);
    assert_eq!(
        &part[..],
        &whole[first * fbank::MEL_BINS..(last + 1) * fbank::MEL_BINS]
    );

    // Stretches take the jobs in order, each once, within the frame limit unless one job alone
    // is longer; a job without frames goes with the one before.
    let job = |frames: std::ops::Range<usize>| EmbeddingJob {
        span: Span {
            window: 0,
            local: 0,
            first: 0,
            last: 0,
        },
        frames: frames.collect(),
        clean_s: 0.0,
    };
    let jobs = vec![
        job(0..300),
        job(200..600),
        job(900..1_000),
        job(0..0),
        job(1_000..2_600),
        job(2_500..2_700),
    ];
    let stretches = fbank_stretches(&jobs, 1_000);
    let ranges: Vec<_> = stretches
        .iter()
        .map(|s| (s.jobs.clone(), s.first_frame, s.last_frame))
        .collect();
    assert_eq!(
        ranges,
        vec![(0..4, 0, 999), (4..5, 1_000, 2_599), (5..6, 2_500, 2_699)]
    );
}

fn pipeline_segment(
    start_ms: u64,
    end_ms: u64,
    channel: u32,
    text: &str,
) -> crate::transcribe::pipeline::Segment {
    crate::transcribe::pipeline::Segment {
        start_ms,
        end_ms,
        channel,
        speaker: Some(if channel == 0 { "me" } else { "others" }.into()),
        text: text.into(),
        confidence: 0.9,
    }
}

fn write_wav(path: &Path, channels: &[Vec<f32>]) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: SAMPLE_RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for i in 0..channels[0].len() {
        for c in channels {
            w.write_sample((c[i] * 32767.0) as i16).expect("sample");
        }
    }
    w.finalize().expect("finalize");
}

#[test]
fn without_usable_models_the_transcript_keeps_its_channel_labels_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = dir.path().join("call.wav");
    write_wav(
        &audio,
        &[vec![0.0; 4 * SAMPLE_RATE], vec![0.1; 4 * SAMPLE_RATE]],
    );
    let segments = vec![
        pipeline_segment(0, 1_000, 0, "Hello."),
        pipeline_segment(1_000, 3_000, 1, "Hi, can you hear me?"),
    ];
    let empty = dir.path().join("no-models");
    std::fs::create_dir(&empty).expect("mkdir");
    let corrupt = dir.path().join("corrupt");
    std::fs::create_dir(&corrupt).expect("mkdir");
    std::fs::write(corrupt.join(SEGMENTATION_FILE), b"\x08\x07garbage").expect("write");
    std::fs::write(corrupt.join(EMBEDDING_FILE), b"").expect("write");
    for (models, says) in [
        (empty, "minutes models pull diarization"),
        (corrupt.clone(), SEGMENTATION_FILE),
    ] {
        let out = label(
            &audio,
            segments.clone(),
            vec![Vec::new(); 2],
            true,
            &Options::new(models),
        );
        assert_eq!(out.segments, segments, "the transcript is kept as it was");
        assert!(out.speakers.is_empty());
        let note = out.fallback.expect("a reason is given");
        assert!(
            note.contains(says) && note.contains("keeps one label"),
            "{note}"
        );
    }
    // A recording that is gone by the time diarization reads it: the same.
    let out = label(
        &dir.path().join("deleted.wav"),
        segments.clone(),
        vec![Vec::new(); 2],
        true,
        &Options::new(models_dir()),
    );
    assert_eq!(out.segments, segments);
    assert!(out.fallback.expect("reason").contains("audio"));
}

#[test]
fn a_silent_system_channel_keeps_its_label_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = dir.path().join("call.wav");
    write_wav(
        &audio,
        &[vec![0.0; 12 * SAMPLE_RATE], vec![0.0; 12 * SAMPLE_RATE]],
    );
    // Whisper heard something on a channel that holds digital silence.
    let segments = vec![pipeline_segment(1_000, 3_000, 1, "Thank you.")];
    let out = label(
        &audio,
        segments.clone(),
        vec![Vec::new()],
        true,
        &Options::new(models_dir()),
    );
    assert_eq!(out.segments, segments);
    assert!(
        out.fallback.expect("reason").contains("no speech"),
        "silence is named"
    );
}

/// Every single-voice clip of the shared corpus is one speaker. JFK's 11 s were 3: his runs
/// of 1-2.4 s embed 0.29-0.65 apart in cosine distance (an AMI meeting's two voices lie
/// 0.31-1.14 apart), so only segmentation, which gives all his speech to one local speaker of
/// each window, can tell that it is one voice (`cluster::join_one_voice`).
#[test]
fn one_voice_is_one_speaker() {
    for clip in [
        "jfk",
        "librispeech_2412-153948-0000",
        "librivox_ss01_0870",
        "librivox_ss01_0880",
        "ljspeech_LJ002-0020",
        "ljspeech_LJ002-0035",
    ] {
        let audio = channel(&format!("corpus/real/{clip}.wav"), 0);
        let d = diarize(models(), &audio, &Options::new(models_dir())).expect("diarizes");
        assert_eq!(d.speakers, 1, "{clip}: {:?}", d.turns);
    }
    // JFK's inaugural excerpt through the labelling a transcript gets: one man, 11 s, mono.
    let path = shared("corpus/real/jfk.wav");
    let segments = vec![
        pipeline_segment(300, 4_000, 0, "And so my fellow Americans,"),
        pipeline_segment(
            4_000,
            10_500,
            0,
            "ask not what your country can do for you.",
        ),
    ];
    let out = label(
        &path,
        segments,
        vec![Vec::new(); 2],
        false,
        &Options::new(models_dir()),
    );
    assert!(out.fallback.is_none());
    assert_eq!(out.speakers, vec![crate::model::Speaker::diarized(1, 0)]);
    assert!(
        out.segments
            .iter()
            .all(|s| s.speaker.as_deref() == Some("Speaker 1")),
        "{:?}",
        out.segments
    );
}

/// A scripted meeting rendered by the corpus generator: its mono mix, reference turns, and each
/// name's espeak voice.
struct Rendered {
    id: String,
    samples: Vec<f32>,
    turns: der::Rttm,
    voices: Vec<(String, String)>,
}

fn rendered(wav: &Path) -> Rendered {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wav.with_extension("json")).expect("the meeting's json"),
    )
    .expect("json");
    let speakers = json["speakers"].as_object().expect("speakers");
    let voices = speakers
        .values()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["voice"].as_str().expect("voice").to_string(),
            )
        })
        .collect();
    let (_, channels) = crate::audio::decode::decode_file(wav).expect("decodes");
    Rendered {
        id: wav
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        samples: crate::audio::decode::mix_to_mono(&channels),
        turns: der::parse_rttm(
            &std::fs::read_to_string(wav.with_extension("rttm")).expect("the meeting's rttm"),
        ),
        voices,
    }
}

fn overlap_ms(turns: &der::Rttm, name: &str, start_ms: u64, end_ms: u64) -> u64 {
    turns
        .iter()
        .filter(|t| t.2 == name)
        .map(|t| {
            let (a, b) = ((t.0 * 1000.0) as u64, (t.1 * 1000.0) as u64);
            b.min(end_ms).saturating_sub(a.max(start_ms))
        })
        .sum()
}

/// The figures behind `voiceprint::MATCH_THRESHOLD`. Every rendered meeting is diarized; each
/// of its speakers is enrolled from its reference turns (as `speakers enroll` would, from the
/// segments a transcript gives it), and each diarized speaker's centroid is compared with the
/// prints of the *other* meetings: the same espeak voice (at another speed and pitch) against
/// different voices. Render the meetings first:
///   for m in b c d e f g; do python3 ../shared/corpus/synthetic/gen_meeting.py tests/fixtures/meetings/meeting_${m}_script.json /tmp/meetings; done
///   for m in tune3 tune4 test3 test4; do python3 … tests/fixtures/meetings/${m}_script.json /tmp/meetings; done
///   MINUTES_VOICEPRINT_MEETINGS=/tmp/meetings cargo test -p minutes --lib voiceprint_similarities -- --ignored --nocapture
#[test]
#[ignore = "a measurement over rendered meetings (minutes of CPU), not a check"]
fn voiceprint_similarities() {
    let dir = std::env::var("MINUTES_VOICEPRINT_MEETINGS").unwrap_or("/tmp/meetings".into());
    let mut wavs: Vec<PathBuf> = vec![shared("corpus/synthetic/meeting_a.wav")];
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the rendered meetings' folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "wav")
                && !p.to_string_lossy().ends_with("_2ch.wav")
                && p.with_extension("rttm").is_file()
        })
        .collect();
    found.sort();
    wavs.extend(found);
    // (meeting, voice, name, print); (meeting, voice, name, purity, centroid)
    let mut prints: Vec<(String, String, String, Vec<f32>)> = Vec::new();
    let mut clusters: Vec<(String, String, String, f32, Vec<f32>)> = Vec::new();
    for wav in &wavs {
        let m = rendered(wav);
        let d = diarize(models(), &m.samples, &Options::new(models_dir())).expect("diarizes");
        for (name, voice) in &m.voices {
            let spans: Vec<(u64, u64)> = m
                .turns
                .iter()
                .filter(|t| &t.2 == name)
                .map(|t| ((t.0 * 1000.0) as u64, (t.1 * 1000.0) as u64))
                .collect();
            if let Some(p) = voiceprint::embed_spans(models(), &m.samples, &spans).expect("embeds")
            {
                prints.push((m.id.clone(), voice.clone(), name.clone(), p));
            }
        }
        for (n, centroid) in d.centroids.iter().enumerate() {
            let mut talk: Vec<(u64, &str)> = m
                .voices
                .iter()
                .map(|(name, _)| {
                    let o = d
                        .turns
                        .iter()
                        .filter(|t| t.speaker == n)
                        .map(|t| overlap_ms(&m.turns, name, t.start_ms, t.end_ms))
                        .sum();
                    (o, name.as_str())
                })
                .collect();
            talk.sort();
            let Some(&(best, name)) = talk.last() else {
                continue;
            };
            let total: u64 = talk.iter().map(|t| t.0).sum();
            let purity = best as f32 / total.max(1) as f32;
            let voice = m
                .voices
                .iter()
                .find(|v| v.0 == name)
                .map(|v| v.1.clone())
                .unwrap_or_default();
            clusters.push((m.id.clone(), voice, name.into(), purity, centroid.clone()));
        }
        println!(
            "{}: {} speakers found, {} in the script",
            m.id,
            d.speakers,
            m.voices.len()
        );
    }
    let mut same: Vec<(f32, String)> = Vec::new();
    let mut different: Vec<(f32, String)> = Vec::new();
    for (pm, pv, pn, p) in &prints {
        for (cm, cv, cn, purity, c) in &clusters {
            if pm == cm || *purity < 0.8 {
                continue;
            }
            let sim = cluster::dot(p, c);
            let what = format!("{pn}@{pm} ({pv}) vs {cn}@{cm} ({cv})");
            if pv == cv {
                same.push((sim, what));
            } else {
                different.push((sim, what));
            }
        }
    }
    let impure = clusters.iter().filter(|c| c.3 < 0.8).count();
    println!(
        "{impure} of {} clusters below 80 % purity left out",
        clusters.len()
    );
    print_similarities(
        "same voice, other meeting",
        &mut same,
        &mut different,
        &[0.6, 0.65, 0.7, 0.725, 0.75, 0.775, 0.8, 0.825, 0.85],
    );
    // As a user would: each voice that recurs enrolled once, from the first meeting it is in;
    // every other meeting named by `best_matches`' rule.
    let mut enrolled: Vec<&(String, String, String, Vec<f32>)> = Vec::new();
    for p in &prints {
        let recurs = prints.iter().any(|q| q.1 == p.1 && q.0 != p.0);
        if recurs && !enrolled.iter().any(|e| e.1 == p.1) {
            enrolled.push(p);
        }
    }
    println!(
        "enrolled once: {}",
        enrolled
            .iter()
            .map(|e| format!("{}@{} ({})", e.2, e.0, e.1))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for threshold in [0.65f32, 0.7, 0.725, 0.75, 0.775, 0.8, 0.825, 0.85] {
        let (mut right, mut wrong, mut missed) = (0, 0, 0);
        let meetings: std::collections::BTreeSet<String> =
            clusters.iter().map(|c| c.0.clone()).collect();
        for m in meetings {
            let mine: Vec<&(String, String, String, f32, Vec<f32>)> =
                clusters.iter().filter(|c| c.0 == m).collect();
            let known: Vec<voiceprint::Known> = enrolled
                .iter()
                .filter(|e| e.0 != m)
                .map(|e| voiceprint::Known {
                    name: e.1.clone(),
                    embedding: e.3.clone(),
                    model: "m".into(),
                })
                .collect();
            let centroids: Vec<(usize, Vec<f32>)> = mine
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.4.clone()))
                .collect();
            let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
            for (s, c) in &centroids {
                for (p, k) in known.iter().enumerate() {
                    let sim = cluster::dot(c, &k.embedding);
                    if sim >= threshold {
                        pairs.push((*s, p, sim));
                    }
                }
            }
            pairs.sort_by(|a, b| b.2.total_cmp(&a.2));
            let mut named: Vec<usize> = Vec::new();
            let mut used: Vec<usize> = Vec::new();
            for (s, p, _) in pairs {
                if named.contains(&s) || used.contains(&p) {
                    continue;
                }
                named.push(s);
                used.push(p);
                if known[p].name == mine[s].1 {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
            missed += mine
                .iter()
                .enumerate()
                .filter(|(i, c)| known.iter().any(|k| k.name == c.1) && !named.contains(i))
                .count();
        }
        println!(
            "enrolled once, threshold {threshold:.3}: {right} named right, {wrong} named wrong, {missed} enrolled voices not named"
        );
    }
    // Naming as diarization does it: per meeting, all other meetings' prints, best match wins.
    for threshold in [0.6f32, 0.65, 0.7, 0.75, 0.8] {
        let (mut right, mut wrong, mut missed) = (0, 0, 0);
        for wav_id in clusters
            .iter()
            .map(|c| c.0.clone())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let mine: Vec<&(String, String, String, f32, Vec<f32>)> =
                clusters.iter().filter(|c| c.0 == wav_id).collect();
            let known: Vec<voiceprint::Known> = prints
                .iter()
                .filter(|p| p.0 != wav_id)
                .map(|p| voiceprint::Known {
                    name: format!("{}@{}", p.1, p.0),
                    embedding: p.3.clone(),
                    model: "m".into(),
                })
                .collect();
            let centroids: Vec<(usize, Vec<f32>)> = mine
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.4.clone()))
                .collect();
            let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
            for (s, c) in &centroids {
                for (p, k) in known.iter().enumerate() {
                    let sim = cluster::dot(c, &k.embedding);
                    if sim >= threshold {
                        pairs.push((*s, p, sim));
                    }
                }
            }
            pairs.sort_by(|a, b| b.2.total_cmp(&a.2));
            let mut named: Vec<usize> = Vec::new();
            let mut used: Vec<String> = Vec::new();
            for (s, p, _) in pairs {
                let voice = known[p]
                    .name
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if named.contains(&s) || used.contains(&voice) {
                    continue;
                }
                named.push(s);
                used.push(voice.clone());
                if voice == mine[s].1 {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
            let enrolled_elsewhere = |c: &&(String, String, String, f32, Vec<f32>)| {
                prints.iter().any(|p| p.0 != wav_id && p.1 == c.1)
            };
            missed += mine
                .iter()
                .enumerate()
                .filter(|(i, c)| enrolled_elsewhere(c) && !named.contains(i))
                .count();
        }
        println!(
            "threshold {threshold:.2}: {right} named right, {wrong} named wrong, {missed} enrolled voices not named"
        );
    }
}

/// Enrolling a voice from one meeting's reference turns and diarizing another part of the
/// same recording: the speaker with that voice is named, the others are not.
#[test]
fn a_voiceprint_names_the_matching_speaker_and_no_other() {
    let system = channel("corpus/synthetic/meeting_a_2ch.wav", 1);
    let rttm = der::parse_rttm(
        &std::fs::read_to_string(shared("corpus/synthetic/meeting_a.rttm")).expect("rttm"),
    );
    // David's turns in the first half make his print; the second half is the "later meeting".
    let half_ms = (system.len() / 2 * 1000 / SAMPLE_RATE) as u64;
    let spans: Vec<(u64, u64)> = rttm
        .iter()
        .filter(|t| t.2 == "David" && t.1 * 1000.0 < half_ms as f64)
        .map(|t| ((t.0 * 1000.0) as u64, (t.1 * 1000.0) as u64))
        .collect();
    let print = voiceprint::embed_spans(models(), &system, &spans)
        .expect("embeds")
        .expect("enough speech");
    let later = system[system.len() / 2..].to_vec();
    let dir = tempfile::tempdir().expect("tempdir");
    let audio = dir.path().join("later.wav");
    write_wav(&audio, &[vec![0.0; later.len()], later]);
    // Whisper's segments stand in: David's and Sam's reference turns of the second half.
    let segments: Vec<crate::transcribe::pipeline::Segment> = rttm
        .iter()
        .filter(|t| t.2 != "Maria" && t.0 * 1000.0 >= half_ms as f64)
        .map(|t| {
            pipeline_segment(
                (t.0 * 1000.0) as u64 - half_ms,
                (t.1 * 1000.0) as u64 - half_ms,
                1,
                &t.2,
            )
        })
        .collect();
    let mut options = Options::new(models_dir());
    options.voiceprints = vec![voiceprint::Known {
        name: "Dave".into(),
        embedding: print,
        model: models().embedder.identity().to_string(),
    }];
    let words = vec![Vec::new(); segments.len()];
    let out = label(&audio, segments, words, true, &options);
    assert!(out.fallback.is_none(), "{:?}", out.fallback);
    let named: Vec<&crate::model::Speaker> =
        out.speakers.iter().filter(|s| s.voice.is_some()).collect();
    assert_eq!(named.len(), 1, "one speaker named: {:?}", out.speakers);
    let dave = named[0];
    assert_eq!(dave.name, "Dave");
    let m = dave.voice.as_ref().expect("match");
    assert!(m.similarity >= voiceprint::MATCH_THRESHOLD && m.label.starts_with("Speaker "));
    // Dave's lines are David's, by the text the stand-in segments carry.
    let his: Vec<&str> = out
        .segments
        .iter()
        .filter(|s| s.speaker.as_deref() == Some("Dave"))
        .map(|s| s.text.as_str())
        .collect();
    assert!(!his.is_empty());
    let david = his.iter().filter(|t| **t == "David").count();
    assert!(david * 10 >= his.len() * 8, "{his:?}");
}

/// Voiceprints of real voices, print against print (the product compares a print with a
/// diarized speaker's centroid; the shared clips are too short to diarize well, so this is the
/// nearest measure they allow): each real speaker's speech split in two (a clip's halves, two
/// clips of one reader, an AMI speaker's turns before and after the excerpt's middle, with the
/// parts where others talk cut out), the same voice against every other voice.
///   cargo test -p minutes --lib real_voiceprint_similarities -- --ignored --nocapture
#[test]
#[ignore = "a measurement over the shared real clips, not a check"]
fn real_voiceprint_similarities() {
    let mono = |path: &str| {
        let (_, channels) =
            crate::audio::decode::decode_file(&shared(path)).expect("the corpus file decodes");
        crate::audio::decode::mix_to_mono(&channels)
    };
    let print = |samples: &[f32], spans: &[(u64, u64)]| {
        voiceprint::embed_spans(models(), samples, spans).expect("embeds")
    };
    // (speaker, part, print)
    let mut prints: Vec<(String, u8, Vec<f32>)> = Vec::new();
    let mut add = |who: &str, part: u8, p: Option<Vec<f32>>| {
        if let Some(p) = p {
            prints.push((who.to_string(), part, p));
        }
    };
    for (clip, who, ms) in [
        ("corpus/real/jfk.wav", "JFK", 11_000),
        (
            "corpus/real/librispeech_2412-153948-0000.wav",
            "LS2412",
            11_660,
        ),
    ] {
        let s = mono(clip);
        add(who, 0, print(&s, &[(0, ms / 2)]));
        add(who, 1, print(&s, &[(ms / 2, ms)]));
    }
    for (part, clip) in ["librivox_ss01_0870", "librivox_ss01_0880"]
        .iter()
        .enumerate()
    {
        let s = mono(&format!("corpus/real/{clip}.wav"));
        add("reader", part as u8, print(&s, &[(0, 60_000)]));
    }
    for (part, clip) in ["ljspeech_LJ002-0020", "ljspeech_LJ002-0035"]
        .iter()
        .enumerate()
    {
        let s = mono(&format!("corpus/real/{clip}.wav"));
        add("LJ", part as u8, print(&s, &[(0, 60_000)]));
    }
    for clip in [
        "ami_excerpt_dev00",
        "ami_excerpt_trn05",
        "ami_excerpt_tst00",
    ] {
        let base = format!("corpus/real_rttm_only/{clip}");
        let s = mono(&format!("{base}.wav"));
        let turns = der::parse_rttm(
            &std::fs::read_to_string(shared(&format!("{base}.rttm"))).expect("rttm"),
        );
        let names: std::collections::BTreeSet<&str> = turns.iter().map(|t| t.2.as_str()).collect();
        for name in names {
            // This speaker alone: each turn minus every other speaker's turns.
            let mut alone: Vec<(f64, f64)> = Vec::new();
            for t in turns.iter().filter(|t| t.2 == name) {
                let mut pieces = vec![(t.0, t.1)];
                for o in turns.iter().filter(|o| o.2 != name) {
                    pieces = pieces
                        .into_iter()
                        .flat_map(|(a, b)| {
                            if o.1 <= a || o.0 >= b {
                                vec![(a, b)]
                            } else {
                                vec![(a, o.0.max(a)), (o.1.min(b), b)]
                            }
                        })
                        .filter(|(a, b)| b - a >= 1.0)
                        .collect();
                }
                alone.extend(pieces);
            }
            for (part, range) in [(0u8, 0.0..15.0), (1, 15.0..30.0)] {
                let spans: Vec<(u64, u64)> = alone
                    .iter()
                    .filter(|(a, _)| range.contains(a))
                    .map(|(a, b)| ((a * 1000.0) as u64, (b * 1000.0) as u64))
                    .collect();
                add(&format!("{clip}:{name}"), part, print(&s, &spans));
            }
        }
    }
    let mut same: Vec<(f32, String)> = Vec::new();
    let mut different: Vec<(f32, String)> = Vec::new();
    for (i, (a, pa, x)) in prints.iter().enumerate() {
        for (b, pb, y) in &prints[i + 1..] {
            // As `best_matches` compares: the dot product of two means of normalised
            // embeddings, the average similarity between their pieces.
            let sim = cluster::dot(x, y);
            let what = format!("{a}#{pa} vs {b}#{pb}");
            if a == b {
                same.push((sim, what));
            } else if pa == pb {
                different.push((sim, what));
            }
        }
    }
    print_similarities(
        "same voice",
        &mut same,
        &mut different,
        &[0.5, 0.6, 0.65, 0.7, 0.75, 0.8],
    );
}

/// The voiceprint measurements' report: every same-voice pair (least similar first), the ten
/// most similar pairs of different voices, and how many of each reach each threshold.
fn print_similarities(
    same_title: &str,
    same: &mut [(f32, String)],
    different: &mut [(f32, String)],
    thresholds: &[f32],
) {
    same.sort_by(|a, b| a.0.total_cmp(&b.0));
    different.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("{same_title} ({} pairs):", same.len());
    for (s, what) in same.iter() {
        println!("  {s:.3}  {what}");
    }
    println!(
        "different voices ({} pairs), the 10 most similar:",
        different.len()
    );
    for (s, what) in different.iter().take(10) {
        println!("  {s:.3}  {what}");
    }
    for &t in thresholds {
        println!(
            "pairs at or above {t:.3}: same voice {}/{}, different voices {}/{}",
            same.iter().filter(|p| p.0 >= t).count(),
            same.len(),
            different.iter().filter(|p| p.0 >= t).count(),
            different.len()
        );
    }
}
