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
