//! Speakers through the binary: diarized transcripts carry the host model's speakers, and
//! `minutes speakers rename` names them in every view, export, summary owner and search.

use crate::common::*;
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A diarized meeting as `process` stores it: `me` on the microphone, Speaker 1 and 2 on the
/// system audio; the summary names an owner by label.
const DIARIZED: &str = r#"{
  "metadata": {"id": "standup", "title": "Standup", "started_at": "2026-11-28T10:00:00Z",
               "duration_ms": 60000, "language": "en", "channel_names": ["me", "others"]},
  "transcript": {"language": "en",
    "speakers": [{"id": "me", "name": "me", "channel": 0},
                 {"id": "speaker-1", "name": "Speaker 1", "channel": 1},
                 {"id": "speaker-2", "name": "Speaker 2", "channel": 1}],
    "segments": [
      {"id": 0, "start_ms": 1000, "end_ms": 3000, "channel": 0, "speaker_id": "me", "text": "Where are the quarterly numbers?"},
      {"id": 1, "start_ms": 4000, "end_ms": 7000, "channel": 1, "speaker_id": "speaker-1", "text": "They are in the shared folder."},
      {"id": 2, "start_ms": 8000, "end_ms": 11000, "channel": 1, "speaker_id": "speaker-2", "text": "I will send the forecast tomorrow."}
  ]},
  "summary": {"markdown": "", "sections": [{"title": "Overview", "body": "Speaker 2 sends the forecast."}],
              "action_items": [{"owner": "Speaker 2", "task": "Send the forecast", "due": "tomorrow"}],
              "decisions": [], "open_questions": []}
}"#;

fn with_diarized() -> Env {
    let env = Env::new();
    let doc = env.path("standup.json");
    std::fs::write(&doc, DIARIZED).expect("write");
    env.ok(&["store", "add-document", doc.to_str().expect("utf-8")]);
    env
}

#[test]
fn renamed_speakers_are_shown_exported_summarised_and_searched_by_name() {
    let env = with_diarized();
    env.install(&package("export-markdown"));
    let before = env.ok(&["show", "standup"]);
    assert!(
        before.contains("[00:08] Speaker 2: I will send the forecast tomorrow."),
        "{before}"
    );
    assert!(env.ok(&["search", "Tom"]).contains("No meeting mentions"));

    let out = env.ok(&["speakers", "rename", "standup", "Speaker 2", "Tom"]);
    assert!(out.contains("Speaker 2 is now shown as Tom"), "{out}");
    env.ok(&["speakers", "rename", "stand", "me", "Ana"]);
    let list = json(&env.ok(&["speakers", "list", "standup", "--json"]));
    let rows: Vec<(&str, &str, &str)> = list["speakers"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id"),
                s["label"].as_str().expect("label"),
                s["name"].as_str().expect("name"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("me", "me", "Ana"),
            ("speaker-1", "Speaker 1", "Speaker 1"),
            ("speaker-2", "Speaker 2", "Tom")
        ]
    );
    let table = env.ok(&["speakers", "list", "standup"]);
    assert!(
        table.contains("speaker-2") && table.contains("Tom") && table.contains("Speaker 2"),
        "{table}"
    );

    // Every view: the text, the JSON (ids kept, names from the table) and the summary owner.
    let show = env.ok(&["show", "standup"]);
    assert!(
        show.contains("[00:08] Tom: I will send the forecast tomorrow.")
            && show.contains("[00:01] Ana: Where are the quarterly numbers?")
            && show.contains("[00:04] Speaker 1: They are in the shared folder."),
        "{show}"
    );
    assert!(
        show.contains("- [ ] Send the forecast (Tom, due tomorrow)")
            && show.contains("Tom sends the forecast."),
        "{show}"
    );
    let doc = json(&env.ok(&["show", "standup", "--json"]));
    assert_eq!(
        doc["document"]["transcript"]["segments"][2]["speaker_id"],
        "speaker-2"
    );
    let speakers = &doc["document"]["transcript"]["speakers"];
    assert_eq!(speakers[2]["name"], "Tom");
    assert_eq!(speakers[2]["id"], "speaker-2");
    assert_eq!(
        doc["document"]["summary"]["action_items"][0]["owner"],
        "Tom"
    );
    assert_eq!(
        doc["document"]["summary"]["action_items"][0]["owner_speaker_id"],
        "speaker-2"
    );

    // Search finds his lines by his name.
    let hits = json(&env.ok(&["search", "Tom", "--json"]));
    let lines: Vec<&Value> = hits
        .as_array()
        .expect("array")
        .iter()
        .filter(|h| h["source"] == "transcript")
        .collect();
    assert_eq!(lines.len(), 1, "{hits}");
    assert_eq!(lines[0]["speaker"], "Tom");
    assert_eq!(lines[0]["start_ms"], 8000);

    // An export plugin gets the names.
    let out = json(&env.ok(&[
        "export",
        "standup",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--json",
    ]));
    let md = std::fs::read_to_string(env.path(out[0].as_str().expect("path"))).expect("written");
    assert!(md.contains("Tom"), "{md}");
    assert!(!md.contains("Speaker 2"), "{md}");
}

#[test]
fn renaming_a_speaker_the_meeting_does_not_have_names_the_ones_it_has() {
    let env = with_diarized();
    let err = env.fails(&["speakers", "rename", "standup", "Speaker 7", "Tom"]);
    assert!(
        err.contains("no speaker `Speaker 7`")
            && err.contains("me")
            && err.contains("Speaker 1")
            && err.contains("Speaker 2"),
        "{err}"
    );
    let err = env.fails(&["speakers", "rename", "standup", "others", "Tom"]);
    assert!(err.contains("no speaker `others`"), "{err}");
    let err = env.fails(&["speakers", "rename", "standup", "Speaker 1", " "]);
    assert!(err.contains("speaker name"), "{err}");
    let err = env.fails(&["speakers", "list", "nope"]);
    assert!(err.contains("no meeting `nope`"), "{err}");
    // Nothing changed.
    assert!(env.ok(&["show", "standup"]).contains("Speaker 1: They are"));
}

fn diarization_models() -> String {
    shared("models/diarization").to_str().expect("utf-8").into()
}

#[test]
fn a_mono_recording_of_two_people_gets_speaker_1_and_2_in_the_transcript_and_the_store() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let audio = shared("corpus/real_rttm_only/ami_excerpt_dev00.wav");
    let audio = audio.to_str().expect("utf-8");
    let model = tiny();
    let models = diarization_models();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let t = json(&env.ok(&[
        "transcribe",
        audio,
        "--model",
        &model,
        "--threads",
        "1",
        "--diarization-models",
        &models,
        "--json",
    ]));
    let speakers = t["speakers"].as_array().expect("speakers");
    let ids: Vec<&str> = speakers
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    let names: Vec<&str> = speakers
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert!(speakers.len() >= 2, "two people talk: {t}");
    assert_eq!(ids[..2], ["speaker-1", "speaker-2"], "{t}");
    assert_eq!(names[..2], ["Speaker 1", "Speaker 2"], "{t}");
    // Every segment names one of them.
    for s in t["segments"].as_array().expect("segments") {
        let who = s["speaker"].as_str().expect("speaker");
        assert!(names.contains(&who), "{who} is not a listed speaker: {t}");
    }

    // Processed and stored: the model's ids and names, which a rename then changes.
    env.ok(&[
        "process",
        audio,
        "--model",
        &model,
        "--threads",
        "1",
        "--diarization-models",
        &models,
        "--title",
        "AMI",
        "--no-summary",
        "--dir",
        "notes",
    ]);
    let list = json(&env.ok(&["list", "--json"]));
    let id = list[0]["id"].as_str().expect("id").to_string();
    let doc = json(&env.ok(&["show", &id, "--json"]));
    let stored = &doc["document"]["transcript"];
    assert_eq!(stored["speakers"][0]["id"], "speaker-1", "{stored}");
    assert_eq!(stored["speakers"][0]["name"], "Speaker 1", "{stored}");
    assert!(
        stored["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .any(|s| s["speaker_id"] == "speaker-2"),
        "{stored}"
    );
    env.ok(&["speakers", "rename", &id, "Speaker 1", "Tom"]);
    assert!(env.ok(&["show", &id]).contains("] Tom: "));

    // Turned off: the channel label, no speakers.
    let t = json(&env.ok(&[
        "transcribe",
        audio,
        "--model",
        &model,
        "--threads",
        "1",
        "--no-diarize",
        "--json",
    ]));
    assert!(
        t["segments"]
            .as_array()
            .expect("segments")
            .iter()
            .all(|s| !s["speaker"].as_str().unwrap_or("").starts_with("Speaker")),
        "{t}"
    );
}

#[test]
fn broken_diarization_models_keep_the_transcript_with_channel_labels_and_say_why() {
    let env = Env::new();
    let models = env.path("broken-models");
    std::fs::create_dir(&models).expect("mkdir");
    std::fs::write(models.join("segmentation-3.0.onnx"), b"not onnx").expect("write");
    std::fs::write(models.join("campplus.onnx"), b"").expect("write");
    let audio = shared("corpus/real/stereo_librispeech_2ch.wav");
    let model = tiny();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let out = env
        .command(&[
            "transcribe",
            audio.to_str().expect("utf-8"),
            "--model",
            &model,
            "--threads",
            "1",
            "--diarization-models",
            models.to_str().expect("utf-8"),
            "--json",
        ])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let t = json(&String::from_utf8_lossy(&out.stdout));
    let segments = t["segments"].as_array().expect("segments");
    assert!(!segments.is_empty(), "the transcript is kept: {t}");
    assert!(
        segments
            .iter()
            .all(|s| s["speaker"] == "me" || s["speaker"] == "others"),
        "{t}"
    );
    assert!(
        stderr.contains("segmentation-3.0.onnx")
            && stderr.contains("minutes models pull diarization")
            && stderr.contains("keeps one label"),
        "{stderr}"
    );
}

/// `seconds` of meeting_a.wav (mono: Maria, David and Sam, three espeak voices) as a file of
/// its own: a "meeting" that is cheap to transcribe.
fn clip(env: &Env, name: &str, seconds: std::ops::Range<f64>) -> String {
    let mut reader =
        hound::WavReader::open(shared("corpus/synthetic/meeting_a.wav")).expect("meeting_a");
    let spec = reader.spec();
    let rate = f64::from(spec.sample_rate);
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .skip((seconds.start * rate) as usize)
        .take(((seconds.end - seconds.start) * rate) as usize)
        .map(|s| s.expect("sample"))
        .collect();
    let path = env.path(name);
    let mut w = hound::WavWriter::create(&path, spec).expect("create");
    for s in samples {
        w.write_sample(s).expect("write");
    }
    w.finalize().expect("finalize");
    path.to_str().expect("utf-8").into()
}

/// David's turns in meeting_a (seconds), from its reference.
fn davids_turns() -> Vec<(f64, f64)> {
    std::fs::read_to_string(shared("corpus/synthetic/meeting_a.rttm"))
        .expect("rttm")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (start, dur): (f64, f64) = (f.get(3)?.parse().ok()?, f.get(4)?.parse().ok()?);
            (f.get(7) == Some(&"David")).then_some((start, start + dur))
        })
        .collect()
}

fn process(env: &Env, audio: &str, title: &str) -> String {
    let model = tiny();
    let models = diarization_models();
    env.ok(&[
        "process",
        audio,
        "--model",
        &model,
        "--threads",
        "1",
        "--language",
        "en",
        "--diarization-models",
        &models,
        "--title",
        title,
        "--no-summary",
        "--dir",
        "notes",
        "--force",
    ]);
    let list = json(&env.ok(&["list", "--json"]));
    list.as_array()
        .expect("list")
        .iter()
        .find(|m| m["title"] == title)
        .and_then(|m| m["id"].as_str())
        .expect("the processed meeting")
        .to_string()
}

/// Of a stored meeting: each speaker id with its segments' times (seconds).
fn lines_by_speaker(doc: &Value) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for s in doc["document"]["transcript"]["segments"]
        .as_array()
        .expect("segments")
    {
        let id = s["speaker_id"].as_str().unwrap_or("").to_string();
        let t = (
            s["start_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            s["end_ms"].as_f64().unwrap_or(0.0) / 1000.0,
        );
        match out.iter_mut().find(|(i, _)| *i == id) {
            Some((_, v)) => v.push(t),
            None => out.push((id, vec![t])),
        }
    }
    out
}

/// How much of `lines` (seconds, shifted by `offset` into meeting_a) David speaks, 0..1.
fn davids_share(lines: &[(f64, f64)], offset: f64) -> f64 {
    let turns = davids_turns();
    let (mut his, mut all) = (0.0, 0.0);
    for (a, b) in lines {
        let (a, b) = (a + offset, b + offset);
        all += b - a;
        his += turns
            .iter()
            .map(|(s, e)| (b.min(*e) - a.max(*s)).max(0.0))
            .sum::<f64>();
    }
    his / all.max(1e-9)
}

#[test]
fn an_enrolled_voice_is_named_in_a_later_meeting_until_it_is_forgotten() {
    let env = Env::new();
    for p in [
        "export-markdown",
        "export-json",
        "export-vtt",
        "template-extractive",
    ] {
        env.install(&package(p));
    }
    let first = clip(&env, "monday.wav", 0.0..64.0);
    let later = clip(&env, "thursday.wav", 95.0..155.0);
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let monday = process(&env, &first, "Monday");

    // David talks from 13.4 s to 24.1 s: the diarized speaker of that stretch is him.
    let doc = json(&env.ok(&["show", &monday, "--json"]));
    let david = lines_by_speaker(&doc)
        .into_iter()
        .max_by(|a, b| davids_share(&a.1, 0.0).total_cmp(&davids_share(&b.1, 0.0)))
        .map(|(id, _)| id)
        .expect("speakers");
    assert!(david.starts_with("speaker-"), "{doc}");

    // Without a terminal and without --yes nothing is kept.
    let err = env.fails(&["speakers", "enroll", "David", "--from", &monday, &david]);
    assert!(
        err.contains("--yes") && err.contains("not a terminal"),
        "{err}"
    );
    assert!(env.ok(&["speakers", "list"]).contains("Nobody is enrolled"));
    let models = diarization_models();
    let enroll = |extra: &[&str]| {
        let mut args = vec![
            "speakers",
            "enroll",
            "David",
            "--from",
            &monday,
            &david,
            "--yes",
            "--diarization-models",
            &models,
        ];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    let out = enroll(&[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("kept a voiceprint of David") && said.contains("minutes.sqlite"),
        "{said}"
    );
    // Twice: it exists, from Monday; --replace replaces it.
    let out = enroll(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("exists already")
            && err.contains(&monday)
            && err.contains("--replace"),
        "{err}"
    );
    assert!(enroll(&["--replace"]).status.success());
    let listed = json(&env.ok(&["speakers", "list", "--json"]));
    assert_eq!(listed["voiceprints"][0]["name"], "David", "{listed}");
    assert_eq!(listed["voiceprints"][0]["meeting_id"], monday.as_str());
    assert!(!listed.to_string().contains("embedding"));

    // A later meeting: the speaker with David's voice is shown as David, with the similarity.
    let thursday = process(&env, &later, "Thursday");
    let doc = json(&env.ok(&["show", &thursday, "--json"]));
    let speakers = doc["document"]["transcript"]["speakers"]
        .as_array()
        .expect("speakers");
    let named: Vec<&Value> = speakers.iter().filter(|s| s["name"] == "David").collect();
    assert_eq!(named.len(), 1, "one speaker is David: {speakers:?}");
    let voice = &named[0]["voice"];
    assert_eq!(voice["voiceprint"], "David");
    assert!(
        voice["label"]
            .as_str()
            .expect("label")
            .starts_with("Speaker ")
    );
    let similarity = voice["similarity"].as_f64().expect("similarity");
    let threshold = f64::from(minutes::diarize::voiceprint::MATCH_THRESHOLD);
    assert!((threshold..=1.0).contains(&similarity), "{voice}");
    let id = named[0]["id"].as_str().expect("id").to_string();
    let his = lines_by_speaker(&doc)
        .into_iter()
        .find(|(i, _)| *i == id)
        .map(|(_, l)| l)
        .expect("David's lines");
    assert!(
        davids_share(&his, 95.0) > 0.7,
        "David's lines are his: {his:?}"
    );
    assert!(env.ok(&["show", &thursday]).contains("] David: "));
    let table = env.ok(&["speakers", "list", &thursday]);
    assert!(table.contains("David (0."), "{table}");

    // What plugins get has the name and nothing of the voice.
    let vector: Vec<f32> = {
        let store = minutes::store::Store::open_path(&env.home.path().join("minutes.sqlite"))
            .expect("store");
        store
            .voiceprint_vectors()
            .expect("vectors")
            .remove(0)
            .embedding
    };
    let out = json(&env.ok(&[
        "export",
        &thursday,
        "--to",
        "export-json",
        "--dir",
        "out",
        "--json",
    ]));
    let exported =
        std::fs::read_to_string(env.path(out[0].as_str().expect("path"))).expect("export");
    assert!(exported.contains("David"), "{exported}");
    for leak in ["similarity", "voiceprint", "embedding"] {
        assert!(!exported.contains(leak), "{leak} in the export: {exported}");
    }
    for x in &vector[..4] {
        let shown = format!("{x}");
        assert!(
            !exported.contains(&shown[..shown.len().min(8)]),
            "a vector value in the export"
        );
    }

    // The name reaches the subtitles' voice tags and the offline template's talk time.
    let out = json(&env.ok(&[
        "export",
        &thursday,
        "--to",
        "export-vtt",
        "--dir",
        "out",
        "--json",
    ]));
    let vtt = std::fs::read_to_string(env.path(out[0].as_str().expect("path"))).expect("vtt");
    assert!(vtt.contains("<v David>"), "{vtt}");
    let summary = json(&env.ok(&["summarize", &thursday, "--template", "extractive", "--json"]));
    assert!(summary.to_string().contains("| David | "), "{summary}");

    // Forgotten: gone from the store file, and the meeting processed again has no David.
    let on_disk = || {
        let mut file = std::fs::read(env.home.path().join("minutes.sqlite")).expect("store");
        file.extend(std::fs::read(env.home.path().join("minutes.sqlite-wal")).unwrap_or_default());
        let needle: Vec<u8> = vector[..8].iter().flat_map(|x| x.to_le_bytes()).collect();
        file.windows(needle.len()).any(|w| w == needle)
    };
    assert!(on_disk(), "the probe finds the stored vector");
    let out = env.ok(&["speakers", "forget", "david"]);
    assert!(out.contains("forgot the voiceprint of David"), "{out}");
    let err = env.fails(&["speakers", "forget", "David"]);
    assert!(
        err.contains("no voiceprint named `David`") && err.contains("nobody is enrolled"),
        "{err}"
    );
    assert!(!on_disk(), "the vector is still in the store file");
    process(&env, &later, "Thursday");
    let doc = json(&env.ok(&["show", &thursday, "--json"]));
    let speakers = doc["document"]["transcript"]["speakers"]
        .as_array()
        .expect("speakers");
    assert!(
        speakers
            .iter()
            .all(|s| s["name"] != "David" && s.get("voice").is_none()),
        "{speakers:?}"
    );
}
