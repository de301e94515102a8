use super::*;
use crate::model::{ActionItem, NamedSegment, Section};

fn seg(start_ms: u64, speaker: Option<&str>, text: &str) -> NamedSegment {
    NamedSegment {
        id: None,
        start_ms,
        end_ms: start_ms + 3000,
        channel: 0,
        speaker: speaker.map(String::from),
        text: text.into(),
        words: vec![],
    }
}

fn doc(id: &str, title: &str, texts: &[&str]) -> Document {
    Document {
        metadata: MeetingMetadata {
            id: id.into(),
            title: title.into(),
            started_at: "2026-11-28T10:00:00Z".into(),
            duration_ms: 60_000,
            labels: vec!["atlas".into()],
            language: Some("en".into()),
            channel_names: vec!["me".into(), "others".into()],
        },
        transcript: Transcript::from_named(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| seg(i as u64 * 5000, Some("Maria"), t)),
            Some("en".into()),
        ),
        summary: None,
        provenance: None,
    }
}

fn summary(text: &str) -> Summary {
    Summary {
        markdown: String::new(),
        sections: vec![Section {
            title: "Overview".into(),
            body: text.into(),
        }],
        action_items: vec![ActionItem {
            owner: Some("Sam".into()),
            owner_speaker_id: None,
            task: "Draft the announcement".into(),
            due: None,
            done: false,
            citations: vec![],
            grounding: crate::model::Grounding::Uncited,
        }],
        decisions: vec![],
        open_questions: vec![],
    }
}

fn provenance() -> Provenance {
    Provenance {
        template: PluginRef {
            id: "tpl-standard".into(),
            version: "0.1.0".into(),
        },
        provider: Some(PluginRef {
            id: "fireworks".into(),
            version: "0.2.0".into(),
        }),
        model: Some("llama-v3".into()),
        chunk_plan: serde_json::json!({"chunks": 2}),
        prompt_sha256: vec!["ab".repeat(32)],
        usage: TokenUsage {
            input_tokens: 1200,
            output_tokens: 300,
        },
        duration_ms: 4500,
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&Home::at(dir.path())).expect("open store");
    (dir, store)
}

fn ids(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.meeting_id.as_str()).collect()
}

#[test]
fn a_meeting_round_trips_with_its_summary_and_provenance() {
    let (_dir, store) = open();
    let id = store
        .save_meeting(
            &doc(
                "2026-11-28-atlas",
                "Atlas sync",
                &["Hello there.", "We ship in March."],
            ),
            None,
        )
        .expect("save");
    assert_eq!(id, "2026-11-28-atlas");
    store
        .save_summary(&id, &summary("The launch moves."), &provenance())
        .expect("summary");
    let d = store.document(&id).expect("document");
    assert_eq!(d.metadata.title, "Atlas sync");
    assert_eq!(d.metadata.labels, vec!["atlas"]);
    assert_eq!(d.metadata.channel_names, vec!["me", "others"]);
    assert_eq!(d.transcript.segments.len(), 2);
    assert_eq!(d.transcript.segments[1].text, "We ship in March.");
    assert_eq!(d.transcript.segments[1].start_ms, 5000);
    assert_eq!(
        d.transcript.speaker_name(&d.transcript.segments[1]),
        Some("Maria")
    );
    assert_eq!(d.transcript.segments[1].id, 1);
    assert_eq!(
        d.summary.expect("summary").sections[0].body,
        "The launch moves."
    );
    let stored = store.summary(&id).expect("read").expect("present");
    assert_eq!(stored.provenance, provenance());
    assert!(store.list(&ListFilter::default()).expect("list")[0].has_summary);
}

#[test]
fn migrates_a_version_1_database_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(FILE_NAME);
    {
        let conn = Connection::open(&path).expect("v1 db");
        conn.execute_batch(schema::V1).expect("v1 schema");
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO meetings (id, title, started_at, duration_ms, audio_path, audio_owned, language, channel_names, created_at)
                VALUES ('2025-01-02-old', 'Old planning', '2025-01-02T09:00:00Z', 3600000, '/rec/old.wav', 1, 'en', '[\"me\"]', 1735808400000);
             INSERT INTO labels VALUES ('2025-01-02-old', 'planning');
             INSERT INTO segments (meeting_id, idx, start_ms, end_ms, channel, speaker, text)
                VALUES ('2025-01-02-old', 0, 0, 4000, 0, 'me', 'The warehouse inventory is late.'),
                       ('2025-01-02-old', 1, 4000, 9000, 0, NULL, 'Budget review next week.');",
        )
        .expect("v1 data");
        let old =
            serde_json::to_string(&summary("superseded draft about zeppelins")).expect("json");
        let new = serde_json::to_string(&summary("Procurement escalates the inventory delay."))
            .expect("json");
        conn.execute(
            "INSERT INTO summaries (meeting_id, created_at, template_id, template_version, summary) VALUES ('2025-01-02-old', 1, 't', '1', ?1), ('2025-01-02-old', 2, 't', '1', ?2)",
            [old, new],
        )
        .expect("v1 summaries");
    }
    let store = Store::open_path(&path).expect("open migrates");
    assert_eq!(
        schema::user_version(&store.lock()).expect("version"),
        schema::VERSION
    );
    let d = store.document("2025-01-02-old").expect("document survived");
    assert_eq!(d.metadata.title, "Old planning");
    assert_eq!(d.metadata.labels, vec!["planning"]);
    assert_eq!(d.transcript.segments.len(), 2);
    assert_eq!(d.transcript.segments[0].speaker_id.as_deref(), Some("me"));
    assert_eq!(
        d.transcript.speaker_name(&d.transcript.segments[0]),
        Some("me")
    );
    assert_eq!(d.transcript.segments[1].speaker_id, None);
    assert_eq!(
        d.summary.expect("summary").sections[0].body,
        "Procurement escalates the inventory delay."
    );
    let info = store.meeting("2025-01-02-old").expect("info");
    assert_eq!(
        info.audio,
        Some(AudioRef {
            path: "/rec/old.wav".into(),
            owned: true
        })
    );
    // Search is the version-2 feature: it must cover the old rows (transcript and latest summary).
    assert_eq!(
        ids(&store.search("warehouse", 10, ("[", "]")).expect("search")),
        vec!["2025-01-02-old"]
    );
    let hits = store.search("procurement", 10, ("[", "]")).expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].source, HitSource::Summary);
    assert!(
        store
            .search("zeppelins", 10, ("[", "]"))
            .expect("search")
            .is_empty(),
        "superseded summaries are not searched"
    );
    store
        .lock()
        .execute_batch("INSERT INTO segments_fts (segments_fts, rank) VALUES ('integrity-check', 1); INSERT INTO summaries_fts (summaries_fts, rank) VALUES ('integrity-check', 1);")
        .expect("the backfilled index agrees with its content");
    // And new writes work on the migrated file.
    store
        .save_meeting(
            &doc("new", "New one", &["fresh words about turbines"]),
            None,
        )
        .expect("save after migration");
    assert_eq!(
        ids(&store.search("turbines", 10, ("[", "]")).expect("search")),
        vec!["new"]
    );
    drop(store);
    // Reopening an up-to-date file changes nothing.
    let store = Store::open_path(&path).expect("reopen");
    assert_eq!(store.list(&ListFilter::default()).expect("list").len(), 2);
}

#[test]
fn a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(FILE_NAME);
    Connection::open(&path)
        .expect("db")
        .execute_batch("PRAGMA user_version = 99;")
        .expect("version");
    let err = Store::open_path(&path).expect_err("too new");
    assert!(err.to_string().contains("upgrade minutes"), "{err}");
}

#[test]
fn a_failing_write_midway_leaves_the_previous_transcript() {
    let (dir, store) = open();
    let audio = AudioRef {
        path: dir.path().join("a.wav"),
        owned: false,
    };
    let id = store
        .save_meeting(
            &doc(
                "m",
                "Atlas",
                &["original alpha", "original beta", "original gamma"],
            ),
            Some(audio.clone()),
        )
        .expect("save");
    // The same recording processed again replaces the transcript; make its fourth insert fail.
    store
        .lock()
        .execute_batch(
            "CREATE TEMP TRIGGER fail_midway BEFORE INSERT ON main.segments WHEN NEW.idx = 3 BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .expect("trigger");
    let replacement = doc(
        "m",
        "Renamed",
        &[
            "replaced one",
            "replaced two",
            "replaced three",
            "replaced four",
            "replaced five",
        ],
    );
    let err = store
        .save_meeting(&replacement, Some(audio.clone()))
        .expect_err("must fail");
    assert!(err.to_string().contains("injected failure"), "{err}");
    let d = store.document(&id).expect("document");
    assert_eq!(
        d.metadata.title, "Atlas",
        "the metadata update was rolled back"
    );
    let texts: Vec<&str> = d
        .transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(texts, ["original alpha", "original beta", "original gamma"]);
    assert_eq!(
        ids(&store.search("original", 10, ("", "")).expect("search")).len(),
        3
    );
    assert!(
        store
            .search("replaced", 10, ("", ""))
            .expect("search")
            .is_empty(),
        "the index was rolled back too"
    );
    store
        .lock()
        .execute_batch("DROP TRIGGER temp.fail_midway;")
        .expect("drop trigger");
    assert_eq!(
        store
            .save_meeting(&replacement, Some(audio))
            .expect("retry"),
        "m",
        "same recording: replaced in place"
    );
    assert_eq!(
        store.document("m").expect("doc").transcript.segments.len(),
        5
    );
    assert!(
        store
            .search("original", 10, ("", ""))
            .expect("search")
            .is_empty()
    );
}

#[test]
fn search_finds_words_from_transcripts_and_summaries_with_times() {
    let (_dir, store) = open();
    let a = store
        .save_meeting(
            &doc(
                "a",
                "Atlas sync",
                &["Good morning.", "The Zurich office opens in May."],
            ),
            None,
        )
        .expect("a");
    let b = store
        .save_meeting(&doc("b", "Budget", &["Numbers first."]), None)
        .expect("b");
    store
        .save_summary(
            &b,
            &summary("Zurich headcount is frozen until Q3."),
            &provenance(),
        )
        .expect("summary");
    let hits = store.search("zurich", 10, ("<b>", "</b>")).expect("search");
    assert_eq!(hits.len(), 2, "{hits:?}");
    let t = hits
        .iter()
        .find(|h| h.source == HitSource::Transcript)
        .expect("transcript hit");
    assert_eq!(
        (
            t.meeting_id.as_str(),
            t.meeting_title.as_str(),
            t.start_ms,
            t.speaker.as_deref()
        ),
        (a.as_str(), "Atlas sync", Some(5000), Some("Maria"))
    );
    assert!(t.snippet.contains("<b>Zurich</b>"), "{}", t.snippet);
    let s = hits
        .iter()
        .find(|h| h.source == HitSource::Summary)
        .expect("summary hit");
    assert_eq!(s.meeting_id, b);
    assert!(
        s.snippet.contains("<b>Zurich</b> headcount"),
        "{}",
        s.snippet
    );
    // Action items are searchable too; diacritics and case do not matter.
    assert_eq!(
        ids(&store.search("ANNOUNCEMENT", 10, ("", "")).expect("search")),
        vec!["b"]
    );
    store
        .save_meeting(
            &doc("c", "Café", &["Wir treffen uns im Café Zürich."]),
            None,
        )
        .expect("c");
    assert!(ids(&store.search("cafe", 10, ("", "")).expect("search")).contains(&"c"));
    // Prefix search.
    assert_eq!(
        ids(&store.search("headc*", 10, ("", "")).expect("search")),
        vec!["b"]
    );
}

#[test]
fn an_exact_phrase_ranks_above_scattered_words() {
    let (_dir, store) = open();
    store
        .save_meeting(
            &doc(
                "phrase",
                "Phrase",
                &["After a long discussion about pricing tiers and regional rollout we agreed the launch date moves to March."],
            ),
            None,
        )
        .expect("phrase");
    store
        .save_meeting(
            &doc(
                "scattered",
                "Scattered",
                &["Date first, launch later: date, launch.", "date? launch!"],
            ),
            None,
        )
        .expect("scattered");
    // bm25 alone prefers the short segments that repeat both words.
    let raw: String = store
        .lock()
        .query_row(
            "SELECT s.meeting_id FROM segments_fts JOIN segments s ON s.id = segments_fts.rowid WHERE segments_fts MATCH 'launch date' ORDER BY rank LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("raw");
    assert_eq!(
        raw, "scattered",
        "the fixture must make plain bm25 put the scattered segments first"
    );
    let hits = store.search("launch date", 10, ("", "")).expect("search");
    assert_eq!(ids(&hits), vec!["phrase", "scattered", "scattered"]);
    assert!(hits[0].exact && !hits[1].exact && !hits[2].exact);
}

#[test]
fn query_syntax_from_users_never_fails() {
    let (_dir, store) = open();
    store
        .save_meeting(
            &doc(
                "a",
                "A",
                &["We need the launch text NEAR March and OR April."],
            ),
            None,
        )
        .expect("save");
    let queries = [
        ("launch AND (", true),
        ("\"launch", true),
        ("NEAR(launch march", false),
        ("text: launch", true),
        ("launch -march", true),
        ("OR", true),
        ("^launch", true),
        ("launch*", true),
    ];
    for (q, finds) in queries {
        let hits = store
            .search(q, 10, ("", ""))
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
        assert_eq!(!hits.is_empty(), finds, "{q:?}: {hits:?}");
    }
    let err = store
        .search("  ** \"\" ", 10, ("", ""))
        .expect_err("no words");
    assert!(err.to_string().contains("no words"), "{err}");
}

#[test]
fn delete_removes_rows_index_entries_and_only_owned_audio() {
    let (dir, store) = open();
    let owned = dir.path().join("audio").join("rec.wav");
    std::fs::create_dir_all(owned.parent().expect("parent")).expect("mkdir");
    std::fs::write(&owned, b"RIFF").expect("audio");
    let users = dir.path().join("users.wav");
    std::fs::write(&users, b"RIFF").expect("audio");
    let a = store
        .save_meeting(
            &doc("a", "A", &["unique pelican words"]),
            Some(AudioRef {
                path: owned.clone(),
                owned: true,
            }),
        )
        .expect("a");
    let b = store
        .save_meeting(
            &doc("b", "B", &["another pelican"]),
            Some(AudioRef {
                path: users.clone(),
                owned: false,
            }),
        )
        .expect("b");
    store
        .save_summary(&a, &summary("pelican summary"), &provenance())
        .expect("summary");
    store
        .record_export(&a, "export-markdown", "md", &[PathBuf::from("notes/a.md")])
        .expect("export");
    assert_eq!(
        store.search("pelican", 10, ("", "")).expect("search").len(),
        3
    );

    let deleted = store.delete(&a).expect("delete a");
    assert_eq!(deleted.audio_removed.as_deref(), Some(owned.as_path()));
    assert!(!owned.exists());
    assert_eq!(
        ids(&store.search("pelican", 10, ("", "")).expect("search")),
        vec!["b"]
    );
    let conn = store.lock();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
    assert_eq!(
        count("SELECT count(*) FROM segments_fts WHERE segments_fts MATCH 'unique'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'pelican'"),
        0
    );
    assert_eq!(count("SELECT count(*) FROM exports"), 0);
    assert_eq!(
        count("SELECT count(*) FROM labels WHERE meeting_id = 'a'"),
        0
    );
    conn.execute_batch("INSERT INTO segments_fts (segments_fts, rank) VALUES ('integrity-check', 1); INSERT INTO summaries_fts (summaries_fts, rank) VALUES ('integrity-check', 1);")
        .expect("FTS index agrees with its content");
    drop(conn);

    let deleted = store.delete(&b).expect("delete b");
    assert_eq!(deleted.audio_removed, None);
    assert!(users.exists(), "a user's own file is never deleted");
    assert!(matches!(store.delete(&b), Err(StoreError::NotFound(_))));
}

#[test]
fn ids_are_unique_and_resolve_from_prefixes() {
    let (_dir, store) = open();
    let d = doc("2026-11-28-atlas", "Atlas", &["x"]);
    assert_eq!(store.save_meeting(&d, None).expect("1"), "2026-11-28-atlas");
    assert_eq!(
        store.save_meeting(&d, None).expect("2"),
        "2026-11-28-atlas-2"
    );
    assert_eq!(
        store.save_meeting(&d, None).expect("3"),
        "2026-11-28-atlas-3"
    );
    assert_eq!(
        store
            .save_meeting(&doc("", "Budget Review!", &["y"]), None)
            .expect("derived"),
        "2026-11-28-budget-review"
    );
    assert_eq!(
        store
            .save_meeting(&doc("../evil id", "Evil", &["z"]), None)
            .expect("sanitised"),
        "2026-11-28-evil"
    );
    assert_eq!(
        store
            .resolve("2026-11-28-atlas")
            .expect("exact wins over longer ids"),
        "2026-11-28-atlas"
    );
    assert_eq!(
        store.resolve("2026-11-28-b").expect("prefix"),
        "2026-11-28-budget-review"
    );
    match store.resolve("2026-11-28-a") {
        Err(StoreError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 3),
        other => panic!("expected ambiguous, got {other:?}"),
    }
    assert!(matches!(
        store.resolve("2027"),
        Err(StoreError::NotFound(_))
    ));
    assert!(
        matches!(store.resolve("%"), Err(StoreError::NotFound(_))),
        "LIKE wildcards are not wildcards"
    );
}

#[test]
fn labels_rename_and_list_filters() {
    let (_dir, store) = open();
    let mut d = doc("a", "A", &["x"]);
    d.metadata.started_at = "2026-01-01T00:00:00Z".into();
    store.save_meeting(&d, None).expect("a");
    let mut d = doc("b", "B", &["x"]);
    d.metadata.started_at = "2026-02-01T00:00:00Z".into();
    d.metadata.labels = vec![];
    store.save_meeting(&d, None).expect("b");
    assert_eq!(
        store
            .add_labels("b", &["Sales".into(), "atlas".into()])
            .expect("add"),
        vec!["Sales", "atlas"]
    );
    assert_eq!(
        store.add_labels("b", &["sales".into()]).expect("again"),
        Vec::<String>::new(),
        "labels ignore case"
    );
    let all = store.list(&ListFilter::default()).expect("list");
    assert_eq!(
        all.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"],
        "newest first"
    );
    let sales = store
        .list(&ListFilter {
            label: Some("SALES".into()),
            limit: 0,
        })
        .expect("label");
    assert_eq!(sales.len(), 1);
    assert_eq!(
        store
            .list(&ListFilter {
                label: None,
                limit: 1
            })
            .expect("limit")
            .len(),
        1
    );
    assert_eq!(
        store
            .remove_labels("b", &["sales".into(), "nope".into()])
            .expect("remove"),
        vec!["sales"]
    );
    assert_eq!(store.meeting("b").expect("b").labels, vec!["atlas"]);
    store.rename("b", "  Better title ").expect("rename");
    assert_eq!(store.meeting("b").expect("b").title, "Better title");
    assert!(matches!(
        store.rename("b", "\n"),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        store.rename("zzz", "x"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.add_labels("zzz", &["x".into()]),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn retention_deletes_expired_audio_and_meetings() {
    let (dir, store) = open();
    let rec = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"RIFF").expect("audio");
        p
    };
    let (owned, users) = (rec("owned.wav"), rec("users.wav"));
    store
        .save_meeting(
            &doc("owned", "Owned", &["kept words"]),
            Some(AudioRef {
                path: owned.clone(),
                owned: true,
            }),
        )
        .expect("owned");
    store
        .save_meeting(
            &doc("users", "Users", &["x"]),
            Some(AudioRef {
                path: users.clone(),
                owned: false,
            }),
        )
        .expect("users");
    let now = now_ms();
    let audio_policy = RetentionPolicy {
        delete_audio_after_days: Some(30),
        delete_meetings_after_days: None,
    };
    assert!(
        store
            .apply_retention(&audio_policy, now + 29 * DAY)
            .expect("early")
            .is_empty(),
        "nothing has expired yet"
    );
    let report = store
        .apply_retention(&audio_policy, now + 31 * DAY)
        .expect("audio");
    assert_eq!(report.audio_deleted, vec![owned.clone()]);
    assert!(!owned.exists() && users.exists());
    assert_eq!(store.meeting("owned").expect("meeting kept").audio, None);
    assert_eq!(
        ids(&store.search("kept", 5, ("", "")).expect("search")),
        vec!["owned"],
        "the transcript stays"
    );
    assert!(
        store
            .apply_retention(&audio_policy, now + 31 * DAY)
            .expect("again")
            .is_empty(),
        "idempotent"
    );

    let all = RetentionPolicy {
        delete_audio_after_days: None,
        delete_meetings_after_days: Some(365),
    };
    let report = store
        .apply_retention(&all, now + 366 * DAY)
        .expect("meetings");
    assert_eq!(report.meetings_deleted.len(), 2);
    assert!(store.list(&ListFilter::default()).expect("list").is_empty());
    assert!(
        users.exists(),
        "deleting a meeting never deletes a user's own file"
    );
}

const DAY: i64 = 86_400_000;

#[test]
fn retention_config_is_read_strictly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    assert!(
        RetentionPolicy::from_config(&path)
            .expect("missing file")
            .is_unset()
    );
    std::fs::write(&path, "offline = true\n[retention]\ndelete_audio_after_days = 30\ndelete_meetings_after_days = 400\n").expect("write");
    assert_eq!(
        RetentionPolicy::from_config(&path).expect("parse"),
        RetentionPolicy {
            delete_audio_after_days: Some(30),
            delete_meetings_after_days: Some(400)
        }
    );
    std::fs::write(&path, "[retention]\naudio_days = 3\n").expect("write");
    let err = RetentionPolicy::from_config(&path)
        .expect_err("unknown key")
        .to_string();
    assert!(
        err.contains("retention.audio_days") && err.contains("delete_audio_after_days"),
        "{err}"
    );
    std::fs::write(&path, "[retention]\ndelete_audio_after_days = 0\n").expect("write");
    assert!(
        RetentionPolicy::from_config(&path)
            .expect_err("zero")
            .to_string()
            .contains("at least 1")
    );
}

#[test]
fn fts_queries_quote_everything() {
    assert_eq!(
        search::fts_queries("launch date"),
        Some(("\"launch date\"".into(), "\"launch\" \"date\"".into()))
    );
    assert_eq!(
        search::fts_queries("a\"b OR c*"),
        Some(("\"ab OR c\"*".into(), "\"ab\" \"OR\" \"c\"*".into()))
    );
    assert_eq!(search::fts_queries(" - * "), None);
}

/// A store written by the release before the host model (schema 2, v0.1-shaped summary JSON,
/// speakers as names on segments), made by `minutes process` on meeting_a_2ch.wav with the
/// extractive template. It opens with every meeting, segment, speaker and summary item.
#[test]
fn a_store_written_by_the_v0_1_release_opens_with_everything_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(FILE_NAME);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store-v0.1/minutes.sqlite"),
        &path,
    )
    .expect("copy fixture");
    let before = Connection::open(&path).expect("raw");
    assert_eq!(schema::user_version(&before).expect("version"), 2);
    drop(before);

    let store = Store::open_path(&path).expect("the old store opens");
    assert_eq!(
        schema::user_version(&store.lock()).expect("version"),
        schema::VERSION
    );
    let list = store.list(&ListFilter::default()).expect("list");
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(
        (m.id.as_str(), m.title.as_str(), m.has_summary),
        ("2026-12-02-meeting-a-2ch", "Atlas release sync", true)
    );
    assert_eq!(m.labels, ["atlas"]);

    let d = store.document(&m.id).expect("document");
    let t = &d.transcript;
    assert_eq!(t.segments.len(), 36);
    assert_eq!(
        t.segments.iter().map(|s| s.id).collect::<Vec<_>>(),
        (0..36).collect::<Vec<_>>()
    );
    let ids: Vec<(&str, &str, u32)> = t
        .speakers
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str(), s.channel))
        .collect();
    assert_eq!(ids, [("me", "me", 0), ("others", "others", 1)]);
    assert!(t.segments.iter().all(|s| {
        let want = if s.channel == 0 { "me" } else { "others" };
        s.speaker_id.as_deref() == Some(want)
    }));
    assert!(
        t.segments[0].text.contains("Atlas release"),
        "{:?}",
        t.segments[0]
    );

    let s = d.summary.expect("summary survived");
    assert_eq!(s.decisions.len(), 4);
    assert!(
        s.decisions[2].text.contains("$9 per month"),
        "{:?}",
        s.decisions
    );
    assert!(
        s.decisions
            .iter()
            .all(|x| x.grounding == crate::model::Grounding::Uncited && x.citations.is_empty())
    );
    assert_eq!(s.action_items.len(), 4);
    assert_eq!(s.action_items[2].task, "Summarize the beta feedback");
    assert_eq!(s.action_items[2].owner.as_deref(), Some("me"));
    assert_eq!(s.action_items[2].due.as_deref(), Some("Wednesday"));
    assert!(s.action_items.iter().all(|a| !a.done));
    assert!(s.markdown.contains("Key sentences") || !s.markdown.is_empty());
    let p = d.provenance.expect("provenance");
    assert_eq!(
        (p.template.as_str(), p.template_version.as_str()),
        ("template-extractive", "0.1.0")
    );

    // The summary row is rewritten in the current format, and search still finds both.
    let (format, json): (i64, String) = store
        .lock()
        .query_row("SELECT format, summary FROM summaries", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("row");
    assert_eq!(format, crate::model::SUMMARY_FORMAT);
    assert!(json.contains("\"grounding\":\"uncited\""), "{json}");
    let hits = store.search("pricing", 10, ("[", "]")).expect("search");
    assert!(
        hits.iter().any(|h| h.source == HitSource::Summary),
        "{hits:?}"
    );
    let hits = store
        .search("landing page", 10, ("[", "]"))
        .expect("search");
    assert!(
        hits.iter()
            .any(|h| h.source == HitSource::Transcript && h.speaker.as_deref() == Some("others")),
        "{hits:?}"
    );
    drop(store);
    // Opening again finds nothing to do.
    Store::open_path(&path).expect("reopens");
}

/// A version-2 row whose summary JSON nobody can read stays as it was; showing it names the
/// store file and the way out, and the meeting and transcript are still there.
#[test]
fn an_unreadable_old_summary_is_kept_and_named_not_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(FILE_NAME);
    {
        let conn = Connection::open(&path).expect("v1 db");
        conn.execute_batch(schema::V1).expect("v1 schema");
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO meetings (id, title, started_at, duration_ms, channel_names, created_at)
                VALUES ('m', 'Broken', '2025-01-02T09:00:00Z', 1000, '[]', 1);
             INSERT INTO segments (meeting_id, idx, start_ms, end_ms, channel, speaker, text)
                VALUES ('m', 0, 0, 900, 1, 'Maria López', 'Hello.');
             INSERT INTO summaries (meeting_id, created_at, template_id, template_version, summary)
                VALUES ('m', 1, 't', '1', '{\"decisions\": 42}');",
        )
        .expect("v1 data");
    }
    let store = Store::open_path(&path).expect("opens");
    let err = store
        .document("m")
        .expect_err("unreadable summary")
        .to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("minutes summarize m"),
        "{err}"
    );
    let json: String = store
        .lock()
        .query_row("SELECT summary FROM summaries", [], |r| r.get(0))
        .expect("row");
    assert_eq!(json, r#"{"decisions": 42}"#);
    let speakers = store.speakers("m").expect("speakers");
    assert_eq!(speakers[0].name, "Maria López");
    assert_eq!(speakers[0].channel, 1);
}

/// Processing a recording again keeps the names the user gave its speakers.
#[test]
fn processing_again_keeps_a_renamed_speaker() {
    let (_dir, store) = open();
    let audio = Some(AudioRef {
        path: "/rec/a.wav".into(),
        owned: false,
    });
    let d = doc("2026-11-28-atlas", "Atlas", &["One.", "Two."]);
    let id = store.save_meeting(&d, audio.clone()).expect("save");
    store
        .lock()
        .execute(
            "UPDATE speakers SET name = 'Maria L.' WHERE id = 'maria'",
            [],
        )
        .expect("rename");
    store.save_meeting(&d, audio).expect("again");
    let again = store.document(&id).expect("doc");
    assert_eq!(
        again.transcript.speaker_name(&again.transcript.segments[0]),
        Some("Maria L.")
    );
}

#[test]
fn ticked_action_items_stay_ticked_and_survive_a_new_summary_of_the_same_tasks() {
    let (_dir, store) = open();
    let id = store
        .save_meeting(&doc("m", "Atlas sync", &["We ship in March."]), None)
        .expect("save");
    let err = store.set_action_done(&id, 1, true).unwrap_err();
    assert!(err.to_string().contains("no summary yet"), "{err}");
    let mut first = summary("The launch moves.");
    first.action_items.push(ActionItem {
        task: "Book the venue".into(),
        ..first.action_items[0].clone()
    });
    store
        .save_summary(&id, &first, &provenance())
        .expect("summary");
    let item = store.set_action_done(&id, 2, true).expect("tick");
    assert_eq!((item.task.as_str(), item.done), ("Book the venue", true));
    let shown = store.summary(&id).expect("read").expect("summary").summary;
    assert_eq!(
        shown
            .action_items
            .iter()
            .map(|a| a.done)
            .collect::<Vec<_>>(),
        [false, true]
    );
    for bad in [0, 3] {
        let err = store.set_action_done(&id, bad, true).unwrap_err();
        assert!(err.to_string().contains("action items 1 to 2"), "{err}");
    }
    // A new summary repeating the task (spelt a little differently) keeps the tick; a new task
    // starts unticked.
    let mut second = summary("The launch moves again.");
    second.action_items[0].task = "Write the press release".into();
    second.action_items.push(ActionItem {
        task: "book the venue.".into(),
        ..second.action_items[0].clone()
    });
    store
        .save_summary(&id, &second, &provenance())
        .expect("second");
    let shown = store.summary(&id).expect("read").expect("summary").summary;
    assert_eq!(
        shown
            .action_items
            .iter()
            .map(|a| (a.task.as_str(), a.done))
            .collect::<Vec<_>>(),
        [
            ("Write the press release", false),
            ("book the venue.", true)
        ]
    );
    let item = store.set_action_done(&id, 2, false).expect("untick");
    assert!(!item.done);
    assert!(
        !store
            .summary(&id)
            .expect("read")
            .expect("s")
            .summary
            .action_items[1]
            .done,
        "unticking is stored"
    );
}
