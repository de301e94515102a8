//! The first-party exporters as a user runs them: install the package, export a meeting
//! document with `minutes export --document ... --to <id> --dir <dir>`, read the files. And
//! what no exporter may write: hidden files, undeclared extensions, more files than declared,
//! or over a file minutes did not write.

use crate::common::*;
use crate::server::TestServer;
use serde_json::Value;
use std::path::Path;

const STEM: &str = "2026-11-28-atlas-weekly-release-sync";

/// A meeting that makes subtitles hard: two channels talking over each other, segments out of
/// order, empty and zero-length ones, a long monologue, and times past the first hour.
const TRICKY_DOCUMENT: &str = r#"{
  "metadata": {"id": "m-tricky", "title": "Atlas: weekly release sync", "started_at": "2026-11-28T10:00:00Z",
               "duration_ms": 3720000, "labels": [], "language": "en", "channel_names": ["me", "others"]},
  "transcript": {"language": "en", "segments": [
    {"start_ms": 3605000, "end_ms": 3609000, "channel": 1, "speaker": null, "text": "Past the hour <now> & still going."},
    {"start_ms": 1000, "end_ms": 6000, "channel": 0, "speaker": "Maria", "text": "We move the launch to March 17th."},
    {"start_ms": 3000, "end_ms": 5000, "channel": 1, "speaker": null, "text": "Agreed."},
    {"start_ms": 7000, "end_ms": 7000, "channel": 0, "speaker": null, "text": "zero length"},
    {"start_ms": 8000, "end_ms": 9000, "channel": 0, "speaker": null, "text": "   "},
    {"start_ms": 10000, "end_ms": 40000, "channel": 0, "speaker": null, "text": "LONG"}
  ]},
  "summary": null
}"#;

fn export(env: &Env, doc: &Path, plugin: &str, dir: &str) -> String {
    env.ok(&[
        "export",
        "--document",
        doc.to_str().expect("utf-8"),
        "--to",
        plugin,
        "--dir",
        dir,
    ])
}

fn read(env: &Env, rel: &str) -> String {
    std::fs::read_to_string(env.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn tricky(env: &Env) -> std::path::PathBuf {
    let long =
        "the churn in the pro tier worries everyone and we need numbers before we decide anything "
            .repeat(4);
    let path = env.path("tricky.json");
    std::fs::write(
        &path,
        TRICKY_DOCUMENT.replace("\"LONG\"", &format!("\"{}\"", long.trim())),
    )
    .expect("write");
    path
}

#[test]
fn export_json_writes_the_document_and_minutes_reads_it_back() {
    let env = Env::new();
    env.install(&archive("export-json"));
    let doc = env.document();
    let out = export(&env, &doc, "export-json", "out");
    assert!(out.contains(&format!("{STEM}.json")), "{out}");
    let text = read(&env, &format!("out/{STEM}.json"));
    let json: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(text.starts_with("{\n  \""), "not pretty-printed: {text}");
    assert_eq!(json["metadata"]["started_at"], "2026-11-28T10:00:00Z");
    assert_eq!(json["transcript"]["segments"][1]["start_ms"], 65000);
    assert_eq!(json["transcript"]["segments"][1]["speaker_id"], Value::Null);
    assert_eq!(json["summary"]["action_items"][0]["due"], "March 10th");
    let sample: Value = serde_json::from_str(SAMPLE_DOCUMENT).expect("sample");
    for (key, value) in sample["metadata"].as_object().expect("object") {
        assert_eq!(
            &json["metadata"][key], value,
            "metadata.{key} changed on the way out"
        );
    }
    // The sample is a v0.1-shaped document: its speaker names become speaker ids with those
    // names, its segments get ids, and its plain-string decisions become uncited items.
    let segments = json["transcript"]["segments"].as_array().expect("segments");
    let before = sample["transcript"]["segments"]
        .as_array()
        .expect("segments");
    assert_eq!(segments.len(), before.len());
    for (i, (seg, old)) in segments.iter().zip(before).enumerate() {
        assert_eq!(seg["id"], i, "segment ids are positions");
        for key in ["start_ms", "end_ms", "channel", "text"] {
            assert_eq!(
                seg[key], old[key],
                "segment {i}.{key} changed on the way out"
            );
        }
    }
    assert_eq!(segments[0]["speaker_id"], "maria");
    assert!(
        json["transcript"]["speakers"]
            .as_array()
            .expect("speakers")
            .iter()
            .any(|s| s["id"] == "maria" && s["name"] == "Maria"),
        "{json}"
    );
    let decisions = json["summary"]["decisions"].as_array().expect("decisions");
    let old_decisions = sample["summary"]["decisions"]
        .as_array()
        .expect("decisions");
    assert_eq!(decisions.len(), old_decisions.len());
    for (d, old) in decisions.iter().zip(old_decisions) {
        assert_eq!(&d["text"], old, "{json}");
        // The SDK writes WIT enum cases by their Rust names ("Uncited"); minutes reads both.
        assert!(
            d["grounding"]
                .as_str()
                .is_some_and(|g| g.eq_ignore_ascii_case("uncited")),
            "{json}"
        );
    }

    // The round trip: what export-json wrote is a document `minutes export` accepts, and
    // exporting it again gives the same bytes.
    let again = env.path(&format!("out/{STEM}.json"));
    export(&env, &again, "export-json", "out2");
    assert_eq!(read(&env, &format!("out2/{STEM}.json")), text);
    env.install(&archive("export-markdown"));
    export(&env, &again, "export-markdown", "md");
    assert!(
        read(&env, &format!("md/{STEM}.md"))
            .contains("- [ ] Draft the announcement (Sam, due March 10th)")
    );
}

#[test]
fn export_txt_puts_the_summary_first_then_timed_lines() {
    let env = Env::new();
    env.install(&archive("export-txt"));
    export(&env, &env.document(), "export-txt", "out");
    let text = read(&env, &format!("out/{STEM}.txt"));
    assert!(
        text.starts_with(
            "Atlas: weekly release sync\n2026-11-28 · 00:03:01 · Maria, others\n\nOverview\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("- [ ] Draft the announcement (Sam, due March 10th)\n"),
        "{text}"
    );
    assert!(text.ends_with("Transcript\n----------\n[00:00:01] Maria: We move the launch to March 17th.\n[00:01:05] others: Agreed, no soft launch.\n"), "{text}");

    std::fs::write(
        env.home.path().join("config.toml"),
        "[plugins.export-txt]\ninclude_summary = false\n",
    )
    .expect("config");
    export(&env, &env.document(), "export-txt", "plain");
    let plain = read(&env, &format!("plain/{STEM}.txt"));
    assert!(
        !plain.contains("Overview") && plain.contains("[00:01:05] others:"),
        "{plain}"
    );
}

/// Parses SRT (`sep` = ',') or WebVTT (`sep` = '.') cues, checking times and order: start
/// strictly increasing, end after start, no overlap. Returns (start, end, text) per cue.
fn cues(text: &str, sep: char) -> Vec<(u64, u64, String)> {
    let body = if sep == '.' {
        text.strip_prefix("WEBVTT\n\n").expect("WEBVTT header")
    } else {
        text
    };
    let time = |t: &str| -> u64 {
        let (hms, ms) = t
            .split_once(sep)
            .unwrap_or_else(|| panic!("{t:?} lacks `{sep}mmm`"));
        let f: Vec<u64> = hms
            .split(':')
            .map(|p| p.parse().unwrap_or_else(|_| panic!("{t:?}")))
            .collect();
        assert!(
            f.len() == 3 && f[1] < 60 && f[2] < 60 && ms.len() == 3 && hms.len() >= 8,
            "{t:?}"
        );
        ((f[0] * 60 + f[1]) * 60 + f[2]) * 1000 + ms.parse::<u64>().expect("ms")
    };
    let mut out: Vec<(u64, u64, String)> = Vec::new();
    for (i, block) in body.trim_end_matches('\n').split("\n\n").enumerate() {
        let mut lines = block.lines();
        if sep == ',' {
            assert_eq!(
                lines.next(),
                Some((i + 1).to_string().as_str()),
                "cue index"
            );
        }
        let timing = lines.next().expect("timing line");
        let (a, b) = timing
            .split_once(" --> ")
            .unwrap_or_else(|| panic!("bad timing line {timing:?}"));
        let (start, end) = (time(a), time(b));
        let cue_text = lines.collect::<Vec<_>>().join("|");
        assert!(
            end > start && !cue_text.trim().is_empty(),
            "cue {i}: {block:?}"
        );
        if let Some((s, e, _)) = out.last() {
            assert!(
                start > *s && start >= *e,
                "cue {i} overlaps or goes back: {block:?}"
            );
        }
        out.push((start, end, cue_text));
    }
    out
}

#[test]
fn export_srt_and_vtt_write_valid_subtitles_from_a_messy_transcript() {
    let env = Env::new();
    env.install(&archive("export-srt"));
    env.install(&archive("export-vtt"));
    let doc = tricky(&env);
    export(&env, &doc, "export-srt", "subs");
    export(&env, &doc, "export-vtt", "subs");

    let srt = cues(&read(&env, &format!("subs/{STEM}.srt")), ',');
    assert_eq!(
        srt[0],
        (
            1000,
            3000,
            "Maria: We move the launch to March 17th.".to_string()
        )
    );
    assert_eq!(srt[1], (3000, 5000, "others: Agreed.".to_string()));
    let long: Vec<_> = srt
        .iter()
        .filter(|c| c.0 >= 10_000 && c.1 <= 40_000)
        .collect();
    assert!(long.len() >= 4, "the long segment was not split: {srt:?}");
    assert!(long.iter().all(|c| c.2.split('|').count() <= 2), "{long:?}");
    assert_eq!(
        (long[0].0, long.last().map(|c| c.1)),
        (10_000, Some(40_000))
    );
    assert_eq!(srt.last().map(|c| (c.0, c.1)), Some((3_605_000, 3_609_000)));
    assert!(!srt.iter().any(|c| c.2.contains("zero length")), "{srt:?}");

    let vtt_text = read(&env, &format!("subs/{STEM}.vtt"));
    let vtt = cues(&vtt_text, '.');
    assert_eq!(vtt.len(), srt.len());
    assert_eq!(
        vtt[0],
        (
            1000,
            3000,
            "<v Maria>We move the launch to March 17th.".to_string()
        )
    );
    assert!(vtt_text.contains("01:00:05.000 --> 01:00:09.000\n<v others>Past the hour &lt;now&gt; &amp; still going.\n"), "{vtt_text}");
}

#[test]
fn export_obsidian_writes_into_a_folder_of_the_vault_and_refuses_to_leave_it() {
    let env = Env::new();
    env.install(&archive("export-obsidian"));
    let doc = env.document();
    let out = export(&env, &doc, "export-obsidian", "vault");
    assert!(out.contains(&format!("Meetings/{STEM}.md")), "{out}");
    let note = read(&env, &format!("vault/Meetings/{STEM}.md"));
    assert!(
        note.starts_with("---\ntitle: \"Atlas: weekly release sync\"\ndate: 2026-11-28\n"),
        "{note}"
    );
    assert!(
        note.contains("tags:\n  - \"meeting\"\n  - \"atlas\"\n  - \"release\"\n"),
        "{note}"
    );
    assert!(note.contains("Daily note: [[2026-11-28]]"), "{note}");
    assert!(
        note.contains("- [ ] Draft the announcement [[Sam]] (due March 10th)\n"),
        "{note}"
    );
    assert!(
        note.contains(
            "> [!quote]- Transcript\n> **[00:00:01] Maria:** We move the launch to March 17th."
        ),
        "{note}"
    );

    let config = env.home.path().join("config.toml");
    std::fs::write(
        &config,
        "[plugins.export-obsidian]\nfolder = \"Work/Meetings/2026\"\ntag = \"\"\n",
    )
    .expect("config");
    export(&env, &doc, "export-obsidian", "vault");
    let nested = read(&env, &format!("vault/Work/Meetings/2026/{STEM}.md"));
    assert!(
        nested.contains("tags:\n  - \"atlas\"\n  - \"release\"\nmeeting_id"),
        "{nested}"
    );

    for bad in ["../outside", "/tmp/elsewhere"] {
        std::fs::write(
            &config,
            format!("[plugins.export-obsidian]\nfolder = \"{bad}\"\n"),
        )
        .expect("config");
        let err = env.fails(&[
            "export",
            "--document",
            doc.to_str().unwrap(),
            "--to",
            "export-obsidian",
            "--dir",
            "vault2",
        ]);
        assert!(
            err.contains("`folder`")
                && err.contains("config.toml")
                && err.contains("inside the vault"),
            "{bad}: {err}"
        );
        assert!(
            !env.path("outside").exists() && !env.path("vault2").exists(),
            "{bad}: something was written"
        );
    }
}

#[test]
fn export_webhook_posts_the_document_only_once_granted_and_the_ledger_shows_it() {
    let server = TestServer::start();
    let env = Env::new();
    env.install(&archive("export-webhook"));
    env.install(&archive("export-json"));
    let doc = env.document();
    let args = [
        "export",
        "--document",
        doc.to_str().unwrap(),
        "--to",
        "export-webhook",
        "--dir",
        "out",
    ];

    let err = env.fails(&args);
    assert!(
        err.contains("`url` is not set") && err.contains("config.toml"),
        "{err}"
    );

    let config = env.home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.export-webhook]\nurl = \"{}\"\n",
            server.url("/ok")
        ),
    )
    .expect("config");
    let err = env.fails(&args);
    assert!(
        err.contains(&format!(
            "minutes plugin allow export-webhook {}",
            server.origin()
        )),
        "{err}"
    );
    assert!(
        server.hits().is_empty(),
        "reached the endpoint before it was granted"
    );

    env.ok(&["plugin", "allow", "export-webhook", &server.origin()]);
    let out = env.ok(&args);
    assert!(
        out.contains("export-webhook: done") && out.contains("it wrote no files"),
        "the webhook wrote files: {out}"
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].method.as_str(), hits[0].path.as_str()),
        ("POST", "/ok")
    );
    assert_eq!(hits[0].header("content-type"), Some("application/json"));
    assert_eq!(hits[0].header("authorization"), None, "no token was set");
    let body: Value = serde_json::from_slice(&hits[0].body).expect("the body is JSON");
    export(&env, &doc, "export-json", "json");
    let written: Value =
        serde_json::from_str(&read(&env, &format!("json/{STEM}.json"))).expect("json");
    assert_eq!(
        body, written,
        "the webhook body is not the document export-json writes"
    );

    // The optional token goes along as a bearer header, added by the host.
    let mut set = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"))
        .args(["secret", "set", "export-webhook", "token"])
        .env("MINUTES_HOME", env.home.path())
        .env("HOME", env.user.path())
        .env("MINUTES_SECRETS", "file")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut set.stdin.take().expect("stdin"), b"hook-token\n")
        .expect("write");
    assert!(set.wait().expect("wait").success());
    env.ok(&args);
    assert_eq!(
        server.hits()[1].header("authorization"),
        Some("Bearer hook-token")
    );

    // An endpoint that refuses is an error naming the status.
    std::fs::write(
        &config,
        format!(
            "[plugins.export-webhook]\nurl = \"{}\"\n",
            server.url("/missing")
        ),
    )
    .expect("config");
    let err = env.fails(&args);
    assert!(
        err.contains("answered 404") && err.contains("did not accept the meeting"),
        "{err}"
    );

    let audit = env.ok(&["audit", "--plugin", "export-webhook"]);
    assert!(
        audit.contains("DENIED") && audit.contains(&format!("{}/ok", server.origin())),
        "{audit}"
    );
    let json: Value =
        serde_json::from_str(&env.ok(&["audit", "--plugin", "export-webhook", "--json"]))
            .expect("json");
    let rows = json["records"].as_array().expect("records");
    assert_eq!(
        rows.len(),
        4,
        "one denied, two delivered, one refused: {json}"
    );
    let posts: Vec<&Value> = rows
        .iter()
        .filter(|r| r["method"] == "POST" && r["status"] == 200)
        .collect();
    assert_eq!(posts.len(), 2, "{json}");
    assert!(
        posts
            .iter()
            // The body plus the request line and headers, which leave the machine too.
            .all(|r| r["bytes_sent"].as_u64() > Some(hits[0].body.len() as u64)),
        "{json}"
    );
}

/// Every file below `dir`, as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(
                    path.strip_prefix(dir)
                        .expect("below dir")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    found
}

#[test]
fn a_hostile_exporter_cannot_write_hidden_files_undeclared_extensions_or_extra_files() {
    // Each is code execution or worse if written into a home or a repository folder.
    let attacks = [
        ("bashrc", ".bashrc", "start with a dot"),
        (
            "autostart",
            ".config/autostart/x.desktop",
            "start with a dot",
        ),
        ("git-config", ".git/config", "start with a dot"),
        // A declared extension does not make a hidden folder acceptable.
        ("hidden-folder", ".config/notes.md", "start with a dot"),
        ("extension", "notes.sh", "allows only .md files"),
        ("many", "3 files", "at most 2"),
    ];
    for (attack, path, why) in attacks {
        let env = Env::new();
        env.install(&package("hostile-exporter"));
        std::fs::write(
            env.home.path().join("config.toml"),
            format!("[plugins.hostile-exporter]\nattack = \"{attack}\"\n"),
        )
        .expect("config");
        // The user's home as the output folder: the worst case.
        let home = env.path("home");
        std::fs::create_dir_all(home.join(".git")).expect("mkdir");
        std::fs::write(home.join(".bashrc"), "# mine\n").expect("bashrc");
        std::fs::write(home.join(".git/config"), "[core]\n").expect("git config");
        let doc = env.document();
        for force in [false, true] {
            let mut args = vec![
                "export",
                "--document",
                doc.to_str().expect("utf-8"),
                "--to",
                "hostile-exporter",
                "--dir",
                home.to_str().expect("utf-8"),
            ];
            if force {
                args.push("--force");
            }
            let err = env.fails(&args);
            assert!(
                err.contains(path) && err.contains(why) && err.contains("hostile-exporter"),
                "{attack} (force {force}): {err}"
            );
        }
        let mut left = files_under(&home);
        left.sort();
        assert_eq!(left, [".bashrc", ".git/config"], "{attack} wrote a file");
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).expect("bashrc"),
            "# mine\n"
        );
    }
    // The same plugin, doing what it declared, is fine.
    let env = Env::new();
    env.install(&package("hostile-exporter"));
    let doc = env.document();
    export(&env, &doc, "hostile-exporter", "out");
    assert_eq!(files_under(&env.path("out")), ["notes.md"]);
}

#[test]
fn force_replaces_only_files_minutes_wrote() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let doc = env.document();
    let mine = env.path(&format!("notes/{STEM}.md"));
    std::fs::create_dir_all(env.path("notes")).expect("mkdir");
    std::fs::write(&mine, "my own notes, not from minutes\n").expect("write");
    let args = [
        "export",
        "--document",
        doc.to_str().expect("utf-8"),
        "--to",
        "export-markdown",
        "--dir",
        "notes",
        "--force",
    ];
    let err = env.fails(&args);
    assert!(
        err.contains(&format!("{STEM}.md")) && err.contains("minutes did not write it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&mine).expect("read"),
        "my own notes, not from minutes\n"
    );
    // Once minutes wrote the file itself, --force replaces it, under any spelling of the folder.
    std::fs::remove_file(&mine).expect("rm");
    export(&env, &doc, "export-markdown", "notes");
    std::fs::write(&mine, "edited by the user\n").expect("edit");
    let again = env.path("notes");
    let mut forced = args.to_vec();
    forced[6] = again.to_str().expect("utf-8");
    env.ok(&forced);
    assert!(
        std::fs::read_to_string(&mine)
            .expect("read")
            .starts_with("---\ntitle:"),
        "not replaced"
    );
}

#[test]
fn exports_go_to_the_notes_folder_not_the_current_one() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    let doc = env.document();
    let run = |extra_env: &[(&str, &Path)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_minutes"));
        cmd.args([
            "export",
            "--document",
            doc.to_str().expect("utf-8"),
            "--to",
            "export-markdown",
        ])
        .env("MINUTES_HOME", env.home.path())
        .env("HOME", env.user.path())
        .env("MINUTES_SECRETS", "file")
        .env_remove("XDG_CONFIG_HOME")
        .current_dir(env.work.path());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // No setting: the `minutes` folder in the user's Documents folder.
    let user = tempfile::tempdir().expect("home");
    let out = run(&[("HOME", user.path())]);
    let expected = user.path().join(format!("Documents/minutes/{STEM}.md"));
    assert!(expected.is_file(), "{out}");
    assert!(out.contains(&expected.display().to_string()), "{out}");
    // `[export] dir` in config.toml.
    let vault = env.path("vault");
    std::fs::write(
        env.home.path().join("config.toml"),
        format!("[export]\ndir = \"{}\"\n", vault.display()),
    )
    .expect("config");
    run(&[("HOME", user.path())]);
    assert_eq!(files_under(&vault), [format!("{STEM}.md")]);
    assert!(
        files_under(env.work.path())
            .iter()
            .all(|f| f == "meeting.json" || f.starts_with("vault/")),
        "wrote into the current folder: {:?}",
        files_under(env.work.path())
    );
}
