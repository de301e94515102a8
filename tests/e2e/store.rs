//! The meetings store through the binary: list, show, search, delete, rename, labels,
//! retention, exporting a stored meeting, and `process` saving what it transcribed.

use crate::common::*;
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Stores the sample document (id m-42) and returns the env.
fn with_sample() -> Env {
    let env = Env::new();
    let doc = env.document();
    let out = json(&env.ok(&[
        "store",
        "add-document",
        doc.to_str().expect("utf-8"),
        "--json",
    ]));
    assert_eq!(out["id"], "m-42");
    env
}

#[test]
fn list_show_and_search_a_stored_meeting() {
    let env = with_sample();
    let list = json(&env.ok(&["list", "--json"]));
    assert_eq!(list.as_array().expect("array").len(), 1);
    assert_eq!(list[0]["id"], "m-42");
    assert_eq!(list[0]["title"], "Atlas: weekly release sync");
    assert_eq!(list[0]["has_summary"], true);
    let text = env.ok(&["list"]);
    assert!(
        text.contains("m-42")
            && text.contains("Atlas: weekly release sync")
            && text.contains("[atlas, release]"),
        "{text}"
    );

    // A unique prefix is enough; the summary comes first, then the transcript with times and speakers.
    let show = env.ok(&["show", "m-4"]);
    let summary_at = show
        .find("The launch moves two weeks.")
        .expect("summary shown");
    let transcript_at = show
        .find("[00:01] Maria: We move the launch to March 17th.")
        .expect("timed line with speaker");
    assert!(summary_at < transcript_at, "{show}");
    assert!(
        show.contains("[01:05] others: Agreed, no soft launch."),
        "channel name stands in for a missing speaker: {show}"
    );
    assert!(
        show.contains("- [ ] Draft the announcement (Sam, due March 10th)"),
        "{show}"
    );
    let show = json(&env.ok(&["show", "m-42", "--json"]));
    assert_eq!(
        show["document"]["transcript"]["segments"][1]["text"],
        "Agreed, no soft launch."
    );
    assert_eq!(show["summary"]["provenance"]["template"]["id"], "imported");

    // Piped: plain markers around the matched words, with the meeting and the time.
    let found = env.ok(&["search", "launch", "march"]);
    assert!(
        found.contains("m-42  Atlas: weekly release sync · [00:01] Maria\n    We move the **launch** to **March** 17th."),
        "{found}"
    );
    let hits = json(&env.ok(&["search", "soft launch", "--json"]));
    assert_eq!(hits[0]["source"], "transcript");
    assert_eq!(hits[0]["start_ms"], 65000);
    assert_eq!(hits[0]["exact"], true);
    // Words only the summary has.
    let hits = json(&env.ok(&["search", "announcement", "--json"]));
    assert_eq!(hits.as_array().expect("array").len(), 1);
    assert_eq!(hits[0]["source"], "summary");
    // FTS syntax in a query is just text.
    assert!(
        env.ok(&["search", "\"launch AND (NEAR"])
            .contains("No meeting mentions")
    );

    let err = env.fails(&["show", "nope"]);
    assert!(
        err.contains("no meeting `nope`") && err.contains("minutes list"),
        "{err}"
    );
}

#[test]
fn delete_asks_rename_and_labels_change_the_meeting() {
    let env = with_sample();
    let audio = env.path("mine.wav");
    std::fs::write(&audio, b"RIFF").expect("audio");
    let doc = env.document();
    let id = json(&env.ok(&[
        "store",
        "add-document",
        doc.to_str().expect("utf-8"),
        "--audio",
        audio.to_str().expect("utf-8"),
        "--json",
    ]))["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(id, "m-42-2", "a taken id gets a suffix");
    let err = env.fails(&["show", "m-4"]);
    assert!(
        err.contains("matches 2 meetings") && err.contains("m-42-2"),
        "{err}"
    );

    env.ok(&["rename", "m-42-2", "Atlas: pricing follow-up"]);
    env.ok(&["label", "add", "m-42-2", "pricing", "Q4"]);
    env.ok(&["label", "remove", "m-42-2", "release"]);
    let labelled = json(&env.ok(&["list", "--label", "q4", "--json"]));
    assert_eq!(labelled.as_array().expect("array").len(), 1);
    assert_eq!(labelled[0]["title"], "Atlas: pricing follow-up");
    assert_eq!(
        labelled[0]["labels"],
        serde_json::json!(["atlas", "pricing", "Q4"])
    );

    // No terminal, no --yes: nothing happens.
    let err = env.fails(&["delete", "m-42-2"]);
    assert!(
        err.contains("not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(
        json(&env.ok(&["list", "--json"]))
            .as_array()
            .expect("array")
            .len(),
        2
    );
    let out = env.ok(&["delete", "m-42-2", "--yes"]);
    assert!(out.contains("deleted m-42-2"), "{out}");
    assert!(audio.exists(), "a user's own audio file is not deleted");
    assert!(
        env.ok(&["search", "pricing"])
            .contains("No meeting mentions")
    );
    assert_eq!(json(&env.ok(&["list", "--json"]))[0]["id"], "m-42");
}

#[test]
fn retention_removes_expired_recordings_on_start() {
    let env = Env::new();
    let audio = env.path("rec.wav");
    std::fs::write(&audio, b"RIFF").expect("audio");
    let doc = env.document();
    env.ok(&[
        "store",
        "add-document",
        doc.to_str().expect("utf-8"),
        "--audio",
        audio.to_str().expect("utf-8"),
        "--owned",
    ]);
    std::fs::write(
        env.home.path().join("config.toml"),
        "[retention]\ndelete_audio_after_days = 30\n",
    )
    .expect("config");
    let out = env.run(&["list"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "nothing has expired yet"
    );
    assert!(audio.exists());
    // Age the meeting by 31 days.
    let db = rusqlite::Connection::open(env.home.path().join("minutes.sqlite")).expect("db");
    db.execute(
        "UPDATE meetings SET created_at = created_at - 31 * 86400000",
        [],
    )
    .expect("age");
    drop(db);
    let out = env.run(&["list"]);
    assert!(out.status.success());
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("retention") && note.contains("1 expired recording"),
        "{note}"
    );
    assert!(!audio.exists(), "minutes' own recording is deleted");
    assert!(
        env.ok(&["search", "launch"]).contains("m-42"),
        "the transcript stays"
    );

    std::fs::write(
        env.home.path().join("config.toml"),
        "[retention]\ndelete_audio_days = 30\n",
    )
    .expect("config");
    let err = env.fails(&["list"]);
    assert!(
        err.contains("retention.delete_audio_days") && err.contains("delete_audio_after_days"),
        "{err}"
    );
}

#[test]
fn export_a_stored_meeting_by_id() {
    let env = with_sample();
    env.install(&package("export-markdown"));
    let out = json(&env.ok(&[
        "export",
        "m-4",
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--json",
    ]));
    let written = out[0].as_str().expect("path");
    let md = std::fs::read_to_string(env.path(written)).expect("written");
    assert!(md.contains("We move the launch to March 17th."), "{md}");
    let show = json(&env.ok(&["show", "m-42", "--json"]));
    assert_eq!(show["exports"][0]["plugin"], "export-markdown");
    assert!(
        show["exports"][0]["path"]
            .as_str()
            .expect("path")
            .ends_with(written),
        "{show}"
    );

    let err = env.fails(&["export", "--to", "export-markdown"]);
    assert!(
        err.contains("MEETING") && err.contains("--document"),
        "{err}"
    );
    let err = env.fails(&["export", "zzz", "--to", "export-markdown"]);
    assert!(err.contains("no meeting `zzz`"), "{err}");
}

#[test]
fn process_saves_the_meeting_in_the_store() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let shared = workspace().parent().expect("parent").join("shared");
    let jfk = shared.join("corpus/real/jfk.wav");
    let model = shared.join("models/ggml-tiny.en-q5_1.bin");
    let args = [
        "process",
        jfk.to_str().expect("utf-8"),
        "--model",
        model.to_str().expect("utf-8"),
        "--threads",
        "1",
        "--title",
        "Inaugural",
        "--dir",
        "notes",
    ];
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let report = json(&env.ok(&with_json));
    let id = report["meeting_id"]
        .as_str()
        .expect("meeting id in --json")
        .to_string();
    assert!(id.ends_with("-jfk"), "ids come from the file name: {id}");
    let hits = json(&env.ok(&["search", "fellow americans", "--json"]));
    assert_eq!(hits[0]["meeting_id"], id.as_str());
    let show = json(&env.ok(&["show", &id, "--json"]));
    assert_eq!(
        show["meeting"]["audio"]["owned"], false,
        "an imported file is referenced, not owned"
    );
    assert_eq!(
        show["meeting"]["audio"]["path"],
        std::fs::canonicalize(&jfk)
            .expect("canonical")
            .to_str()
            .expect("utf-8")
    );
    // The export process made is recorded against the meeting.
    let exports = show["exports"].to_string();
    assert!(
        exports.contains("export-markdown") && exports.contains("inaugural.md"),
        "{show}"
    );
    // The same recording again replaces that meeting's transcript instead of adding another.
    let mut again = args.to_vec();
    again.push("--force");
    let out = env.ok(&again);
    assert!(out.contains(&format!("meeting {id}")), "{out}");
    assert_eq!(
        json(&env.ok(&["list", "--json"]))
            .as_array()
            .expect("array")
            .len(),
        1
    );
}

#[test]
fn rename_and_label_answer_in_json() {
    let env = with_sample();
    let out = json(&env.ok(&["rename", "m-4", "  Atlas: launch moves  ", "--json"]));
    assert_eq!(out["id"], "m-42");
    assert_eq!(out["title"], "Atlas: launch moves");
    let out = json(&env.ok(&["label", "add", "m-42", "acme", "atlas", "--json"]));
    assert_eq!(out["id"], "m-42");
    assert_eq!(out["added"], serde_json::json!(["acme"]));
    assert!(
        out["labels"]
            .as_array()
            .expect("labels")
            .contains(&"acme".into()),
        "{out}"
    );
    let out = json(&env.ok(&["label", "remove", "m-42", "acme", "--json"]));
    assert_eq!(out["removed"], serde_json::json!(["acme"]));
    assert!(!out["labels"].to_string().contains("acme"), "{out}");
}

/// A recording whose file name is not UTF-8 (a Latin-1 name from an old disk) is still the
/// same file after a round trip through the store: deleting the meeting deletes it.
#[cfg(unix)]
#[test]
fn a_recording_with_a_non_utf8_name_is_found_again() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let doc = env.document();
    let name = std::ffi::OsStr::from_bytes(b"r\xe9union.wav");
    let audio = env.work.path().join(name);
    std::fs::write(&audio, b"RIFF").expect("write");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
            .args(args)
            .env("MINUTES_HOME", env.home.path())
            .env("HOME", env.user.path())
            .env("MINUTES_SECRETS", "file")
            .current_dir(env.work.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run")
    };
    let os = std::ffi::OsStr::new;
    let out = run(&[
        os("store"),
        os("add-document"),
        doc.as_os_str(),
        os("--audio"),
        audio.as_os_str(),
        os("--owned"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[os("delete"), os("m-42"), os("--yes")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !audio.exists(),
        "the recording is still there after: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
