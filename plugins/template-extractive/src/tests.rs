use super::*;
use minutes_sdk::types::{Segment, Speaker};
use serde_json::Value;

fn corpus(rel: &str) -> Value {
    let path = format!(
        "{}/../../../shared/corpus/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A corpus JSON's segments (seconds) as a transcript, speakers by `name` (synthetic) or
/// `speaker`, each with the lower-cased name as id. Segment ids start at 100, so that an index
/// passed off as an id shows.
fn transcript(doc: &Value) -> Transcript {
    let segments: Vec<Segment> = doc["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .enumerate()
        .map(|(i, s)| Segment {
            id: 100 + i as u32,
            start_ms: (s["start"].as_f64().expect("start") * 1000.0).round() as u64,
            end_ms: (s["end"].as_f64().expect("end") * 1000.0).round() as u64,
            channel: s["channel"].as_u64().unwrap_or(0) as u32,
            speaker_id: s["name"]
                .as_str()
                .or(s["speaker"].as_str())
                .map(str::to_lowercase),
            text: s["text"].as_str().expect("text").to_string(),
            words: vec![],
        })
        .collect();
    let mut speakers: Vec<Speaker> = Vec::new();
    for s in doc["segments"].as_array().expect("segments") {
        let Some(name) = s["name"].as_str().or(s["speaker"].as_str()) else {
            continue;
        };
        if !speakers.iter().any(|p| p.name == name) {
            speakers.push(Speaker {
                id: name.to_lowercase(),
                name: name.to_string(),
                channel: 0,
            });
        }
    }
    Transcript {
        segments,
        speakers,
        language: doc["language"].as_str().map(str::to_string),
    }
}

fn meta() -> MeetingMetadata {
    MeetingMetadata {
        id: "meeting_a".into(),
        title: "Atlas app - weekly release sync".into(),
        started_at: "2026-11-28T10:00:00Z".into(),
        duration_ms: 181_436,
        labels: vec![],
        language: Some("en".into()),
        channel_names: vec!["me".into(), "others".into()],
        speakers: vec![],
    }
}

#[test]
fn meeting_a_action_items_include_every_reference_owner_with_their_dues() {
    let t = transcript(&corpus("synthetic/meeting_a.json"));
    let reference = corpus("synthetic/meeting_a_summary_ref.json");
    let summary = extract(&t, &meta(), KEY_SENTENCES).expect("summary");
    println!("{}", summary.markdown);
    for item in &summary.action_items {
        println!(
            "candidate: {:?} | {} | {:?}",
            item.owner, item.task, item.due
        );
    }
    for r in reference["action_items"]
        .as_array()
        .expect("reference action items")
    {
        let owner = r["owner"].as_str().expect("owner");
        assert!(
            summary
                .action_items
                .iter()
                .any(|a| a.owner.as_deref() == Some(owner)),
            "no candidate owned by {owner} (reference {})",
            r["id"]
        );
    }
    // Each reference (owner, due) pair is found, dues as stated ("next week's sync" for A4).
    let found = |owner: &str, due: &str| {
        summary.action_items.iter().any(|a| {
            a.owner.as_deref() == Some(owner) && a.due.as_deref().is_some_and(|d| d.contains(due))
        })
    };
    for (owner, due) in [
        ("David", "March 10th"),
        ("Sam", "Friday"),
        ("Maria", "Wednesday"),
        ("David", "next week"),
    ] {
        assert!(found(owner, due), "{owner} / {due} missing");
    }
    assert_eq!(
        summary.action_items.len(),
        4,
        "no spurious candidates in meeting_a"
    );
}

#[test]
fn meeting_a_decision_candidates_cover_the_reference_decisions() {
    let t = transcript(&corpus("synthetic/meeting_a.json"));
    let summary = extract(&t, &meta(), KEY_SENTENCES).expect("summary");
    let all = summary
        .decisions
        .iter()
        .map(|d| d.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // D1 launch date, D2 no soft launch, D3 price, D4 crash-rate criterion.
    for needle in [
        "March 17th",
        "No soft launch",
        "9 dollars",
        "crash rate must be below 1 percent",
    ] {
        assert!(all.contains(needle), "{needle} not among\n{all}");
    }
    // The rejected proposals are not presented as decisions.
    assert!(!all.contains("soft launch for the beta users"), "{all}");
    assert!(!all.contains("12 dollars"), "{all}");
}

#[test]
fn every_candidate_cites_the_segment_it_was_taken_from() {
    let t = transcript(&corpus("synthetic/meeting_a.json"));
    let summary = extract(&t, &meta(), KEY_SENTENCES).expect("summary");
    let cited = |citations: &[minutes_sdk::types::Citation]| -> &Segment {
        let [c] = citations else {
            panic!("one citation each: {citations:?}")
        };
        let seg = t
            .segment(c.segment_id)
            .expect("a segment of this transcript");
        assert_eq!(c.at_ms, seg.start_ms);
        assert_eq!(c.meeting_id, None);
        seg
    };
    assert!(!summary.decisions.is_empty());
    for d in &summary.decisions {
        let seg = cited(&d.citations);
        // The item is "<sentence> (<speaker>)": its sentence is in the cited segment.
        let sentence = d.text.rsplit_once(" (").expect("speaker suffix").0;
        let said = seg.text.replace(['’', '‘'], "'");
        assert!(
            said.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(sentence),
            "{sentence:?} not in {:?}",
            seg.text
        );
        assert_eq!(d.grounding, minutes_sdk::types::Grounding::Unchecked);
    }
    for a in &summary.action_items {
        cited(&a.citations);
        if let Some(owner) = &a.owner
            && t.speakers.iter().any(|s| &s.name == owner)
        {
            assert_eq!(a.owner_speaker_id, Some(owner.to_lowercase()), "{a:?}");
        }
    }
    assert!(
        summary
            .action_items
            .iter()
            .any(|a| a.owner_speaker_id.is_some()),
        "some owners are speakers of meeting_a"
    );
}

#[test]
fn meeting_a_talk_time_and_key_sentences() {
    let t = transcript(&corpus("synthetic/meeting_a.json"));
    let summary = extract(&t, &meta(), 5).expect("summary");
    let times = talk_time(&t, &[]);
    assert_eq!(times.len(), 3);
    assert_eq!(
        times[0].speaker, "Maria",
        "the host speaks longest: {times:?}"
    );
    let total: u64 = times.iter().map(|t| t.ms).sum();
    let expected: u64 = t.segments.iter().map(|s| s.end_ms - s.start_ms).sum();
    assert_eq!(total, expected);
    let key = &summary.sections[0];
    assert_eq!(key.title, "Key sentences");
    assert_eq!(key.body.lines().count(), 5);
    assert!(
        summary.sections[1].body.contains("| Maria |"),
        "{}",
        summary.sections[1].body
    );
    assert!(summary.markdown.contains("## Action-item candidates"));
    // Deterministic.
    assert_eq!(extract(&t, &meta(), 5).expect("again"), summary);
}

#[test]
fn ami_upper_case_meeting_gives_notes_without_panicking() {
    let t = transcript(&corpus("text/ami_ES2011a_transcript.json"));
    let summary = extract(&t, &meta(), KEY_SENTENCES).expect("summary");
    assert_eq!(summary.sections[0].body.lines().count(), KEY_SENTENCES);
    assert_eq!(talk_time(&t, &[]).len(), 4);
}

#[test]
fn an_empty_transcript_is_invalid_input() {
    let t = Transcript {
        segments: vec![],
        speakers: vec![],
        language: None,
    };
    assert!(matches!(
        extract(&t, &meta(), 8),
        Err(PluginError::InvalidInput(_))
    ));
}

#[test]
fn info_says_it_uses_no_model() {
    assert!(!Extractive::info().uses_llm);
}
