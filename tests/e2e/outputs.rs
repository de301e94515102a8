//! Output that cannot be written is found before the work, not after it: `transcribe --out`
//! and `process` check where their results go before loading a model, and when writing still
//! fails at the end the result is kept and the error says where.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Well below transcribing jfk.wav (11 s of speech) with tiny.en on one thread.
const FAST: Duration = Duration::from_secs(2);

fn jfk() -> String {
    shared("corpus/real/jfk.wav").display().to_string()
}

/// Runs and times `minutes args`; returns (succeeded, stderr, elapsed).
fn timed(env: &Env, args: &[&str]) -> (bool, String, Duration) {
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let start = Instant::now();
    let out = env.run(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

#[test]
fn transcribe_out_is_checked_before_transcribing() {
    let env = Env::new();
    let (jfk, model) = (jfk(), tiny());
    let transcribe = |out: &str| {
        timed(
            &env,
            &[
                "transcribe",
                &jfk,
                "--model",
                &model,
                "--threads",
                "1",
                "--out",
                out,
            ],
        )
    };
    std::fs::create_dir(env.path("adir")).expect("mkdir");
    let (ok, err, took) = transcribe("adir");
    assert!(!ok && took < FAST, "took {took:?}: {err}");
    assert!(
        err.contains("--out adir is a folder") && err.contains("adir/transcript.txt"),
        "{err}"
    );
    // A file where a folder should be.
    std::fs::write(env.path("afile"), "x").expect("write");
    let (ok, err, took) = transcribe("afile/t.txt");
    assert!(!ok && took < FAST, "took {took:?}: {err}");
    assert!(err.contains("afile is not a folder"), "{err}");
    // A folder that does not exist yet is made, like `--dir` does.
    let (ok, err, _) = transcribe("new/folder/t.txt");
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(env.path("new/folder/t.txt")).expect("transcript");
    assert!(text.to_lowercase().contains("fellow americans"), "{text}");
}

fn process_args<'a>(jfk: &'a str, model: &'a str) -> Vec<&'a str> {
    vec![
        "process",
        jfk,
        "--model",
        model,
        "--threads",
        "1",
        "--no-summary",
        "--dir",
        "notes",
    ]
}

#[test]
fn process_refuses_existing_notes_before_transcribing() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let (jfk, model) = (jfk(), tiny());
    let args = process_args(&jfk, &model);
    let (ok, err, first) = timed(&env, &args);
    assert!(ok, "{err}");
    let notes: Vec<_> = std::fs::read_dir(env.path("notes"))
        .expect("notes")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");

    let (ok, err, again) = timed(&env, &args);
    assert!(!ok, "the second run overwrote the notes");
    assert!(
        err.contains(&notes[0]) && err.contains("--force") && err.contains("nothing was done"),
        "{err}"
    );
    assert!(
        again < FAST && again * 3 < first,
        "refused only after {again:?} (the first run took {first:?})"
    );
    // Nothing of the transcription ran: a model that does not exist is not even looked at.
    let mut no_model = args.clone();
    no_model[3] = "/nonexistent/model.bin";
    let (ok, err, _) = timed(&env, &no_model);
    assert!(
        !ok && err.contains(&notes[0]) && !err.contains("model"),
        "{err}"
    );
    // --force replaces the notes minutes wrote.
    let mut forced = args.clone();
    forced.push("--force");
    let (ok, err, _) = timed(&env, &forced);
    assert!(ok, "{err}");
}

#[test]
fn process_refuses_a_hostile_exporter_before_transcribing() {
    let env = Env::new();
    env.install(&package("hostile-exporter"));
    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.hostile-exporter]\nattack = \"bashrc\"\n",
    )
    .expect("config");
    let (jfk, model) = (jfk(), tiny());
    let mut args = process_args(&jfk, &model);
    args.extend(["--to", "hostile-exporter"]);
    let (ok, err, took) = timed(&env, &args);
    assert!(!ok && took < FAST, "took {took:?}: {err}");
    assert!(
        err.contains(".bashrc") && err.contains("start with a dot"),
        "{err}"
    );
    assert!(!env.path("notes").exists());
    let list: Value = serde_json::from_str(&env.ok(&["list", "--json"])).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

#[test]
fn a_write_that_fails_at_the_end_keeps_the_meeting_and_says_where() {
    let env = Env::new();
    env.install(&package("hostile-exporter"));
    // `late`: the exporter names its file after the content, so the dry run on the metadata
    // sees `notes.md` and the real export `late/notes.md`, where a file is in the way.
    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.hostile-exporter]\nattack = \"late\"\n",
    )
    .expect("config");
    std::fs::create_dir_all(env.path("notes")).expect("mkdir");
    std::fs::write(env.path("notes/late"), "in the way").expect("write");
    let (jfk, model) = (jfk(), tiny());
    let mut args = process_args(&jfk, &model);
    args.extend(["--to", "hostile-exporter"]);
    let (ok, err, _) = timed(&env, &args);
    assert!(!ok, "{err}");
    assert!(err.contains("notes/late"), "{err}");
    let list: Value = serde_json::from_str(&env.ok(&["list", "--json"])).expect("json");
    let id = list[0]["id"].as_str().expect("the meeting was stored");
    assert!(
        err.contains(&format!("The meeting is kept: stored as {id}"))
            && err.contains(&format!("minutes export {id} --to hostile-exporter")),
        "{err}"
    );
    let show: Value = serde_json::from_str(&env.ok(&["show", id, "--json"])).expect("json");
    assert!(
        show.to_string().to_lowercase().contains("fellow americans"),
        "{show}"
    );
}
