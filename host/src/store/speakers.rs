//! Speaker names per meeting: the label the transcript gave a speaker ("Speaker 2", "me",
//! "others") and the name the user chose ("Tom"). Segments keep their speaker ids; renaming
//! changes one row of `speakers`, and triggers carry the name into the search index.

use super::{Store, StoreError, get_u64, require, summary_search_text};
use crate::model::Summary;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Longest name `rename_speaker` accepts, in characters.
pub const MAX_SPEAKER_NAME_CHARS: usize = 100;

/// One speaker of a meeting as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeakerEntry {
    /// Stable within the meeting ("me", "others", "speaker-2"); segments name it.
    pub id: String,
    /// What the transcript called the speaker before any rename.
    pub label: String,
    /// What is shown.
    pub name: String,
    /// 0 = microphone or mono, 1 = system audio.
    pub channel: u32,
    /// Segments the speaker has in the transcript, and their length summed.
    pub segments: u64,
    pub talk_ms: u64,
    /// The enrolled voiceprint that gave the name, and how similar the voice was (-1..1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voiceprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
}

impl SpeakerEntry {
    /// "Tom (was Speaker 2)", or the name alone when it is still the label.
    pub fn describe(&self) -> String {
        if self.name == self.label {
            self.name.clone()
        } else {
            format!("{} (was {})", self.name, self.label)
        }
    }
}

impl Store {
    /// A meeting's speakers in order of first appearance, with their labels and talk time.
    pub fn speaker_table(&self, meeting_id: &str) -> Result<Vec<SpeakerEntry>, StoreError> {
        let conn = self.lock();
        require(&conn, meeting_id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
        read_entries(&conn, meeting_id).map_err(|e| self.error(e))
    }

    /// Gives one speaker of a meeting a new name. `who` is the speaker's id ("speaker-2", "me"),
    /// current name or original label ("Speaker 2"), letter case ignored for names and labels.
    /// The transcript keeps its speaker ids; every view, export, summary owner and the search
    /// index show the new name from then on. Returns the speaker as renamed.
    pub fn rename_speaker(
        &self,
        meeting_id: &str,
        who: &str,
        name: &str,
    ) -> Result<SpeakerEntry, StoreError> {
        let name = checked_name(name)?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))?;
        require(&tx, meeting_id)
            .map_err(|e| self.error(e))?
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))?;
        let entries = read_entries(&tx, meeting_id).map_err(|e| self.error(e))?;
        let id = lookup(&entries, meeting_id, who)?.id.clone();
        // The user's name: no longer one a voiceprint gave, so processing again keeps it.
        tx.execute(
            "UPDATE speakers SET name = ?3, voiceprint = NULL, similarity = NULL WHERE meeting_id = ?1 AND id = ?2",
            params![meeting_id, id, name],
        )
        .map_err(|e| self.error(e))?;
        let entries = read_entries(&tx, meeting_id).map_err(|e| self.error(e))?;
        reindex_summary(&tx, meeting_id, &entries).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        entries
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| StoreError::NotFound(meeting_id.into()))
    }
}

impl Store {
    /// The speaker of a meeting that `who` names (its id, current name or original label, as
    /// [`Store::rename_speaker`] takes them).
    pub fn find_speaker(&self, meeting_id: &str, who: &str) -> Result<SpeakerEntry, StoreError> {
        let entries = self.speaker_table(meeting_id)?;
        lookup(&entries, meeting_id, who).cloned()
    }
}

/// A name as shown (trimmed), or why it cannot be one: empty, too long, or with characters
/// that would break a view.
pub(super) fn checked_name(name: &str) -> Result<&str, StoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid {
            what: "speaker name",
            why: "it is empty".into(),
        });
    }
    if name.chars().count() > MAX_SPEAKER_NAME_CHARS {
        return Err(StoreError::Invalid {
            what: "speaker name",
            why: format!("it is longer than {MAX_SPEAKER_NAME_CHARS} characters"),
        });
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            what: "speaker name",
            why: "it contains control characters (a line break, a tab, a terminal code)".into(),
        });
    }
    Ok(name)
}

/// `find_speaker` with the errors that name the meeting's speakers.
fn lookup<'a>(
    entries: &'a [SpeakerEntry],
    meeting_id: &str,
    who: &str,
) -> Result<&'a SpeakerEntry, StoreError> {
    find_speaker(entries, who).map_err(|candidates| match candidates {
        None => StoreError::NoSuchSpeaker {
            meeting: meeting_id.into(),
            speaker: who.into(),
            known: entries.iter().map(SpeakerEntry::describe).collect(),
        },
        Some(ids) => StoreError::AmbiguousSpeaker {
            meeting: meeting_id.into(),
            speaker: who.into(),
            ids,
        },
    })
}

/// The speaker `who` names: by id, else by current name, else by original label. `Err(None)`:
/// nobody; `Err(Some(ids))`: several speakers share that name.
fn find_speaker<'a>(
    entries: &'a [SpeakerEntry],
    who: &str,
) -> Result<&'a SpeakerEntry, Option<Vec<String>>> {
    let who = who.trim();
    if let Some(e) = entries.iter().find(|e| e.id == who) {
        return Ok(e);
    }
    let who = who.to_lowercase();
    for by_label in [false, true] {
        let hits: Vec<&SpeakerEntry> = entries
            .iter()
            .filter(|e| {
                let key = if by_label { &e.label } else { &e.name };
                key.trim().to_lowercase() == who
            })
            .collect();
        match hits.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            many => return Err(Some(many.iter().map(|e| e.id.clone()).collect())),
        }
    }
    Err(None)
}

fn read_entries(conn: &Connection, meeting_id: &str) -> rusqlite::Result<Vec<SpeakerEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sp.id, sp.label, sp.name, sp.channel, \
         (SELECT count(*) FROM segments s WHERE s.meeting_id = sp.meeting_id AND s.speaker_id = sp.id), \
         (SELECT coalesce(sum(s.end_ms - s.start_ms), 0) FROM segments s WHERE s.meeting_id = sp.meeting_id AND s.speaker_id = sp.id), \
         sp.voiceprint, sp.similarity \
         FROM speakers sp WHERE sp.meeting_id = ?1 ORDER BY sp.ord, sp.id",
    )?;
    stmt.query_map([meeting_id], |r| {
        let name: String = r.get(2)?;
        let label: String = r.get(1)?;
        Ok(SpeakerEntry {
            id: r.get(0)?,
            // A row written before labels were kept has its name as label.
            label: if label.is_empty() {
                name.clone()
            } else {
                label
            },
            name,
            channel: r.get(3)?,
            segments: get_u64(r, 4)?,
            talk_ms: get_u64(r, 5)?,
            voiceprint: r.get(6)?,
            similarity: r.get::<_, Option<f64>>(7)?.map(|x| x as f32),
        })
    })?
    .collect()
}

/// The current summary's search text again, with the names as they now are.
fn reindex_summary(
    conn: &Connection,
    meeting_id: &str,
    entries: &[SpeakerEntry],
) -> rusqlite::Result<()> {
    let current: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, summary FROM summaries WHERE meeting_id = ?1 AND search_text != '' ORDER BY id DESC LIMIT 1",
            [meeting_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((row, json)) = current else {
        return Ok(());
    };
    // An unreadable summary keeps its search text; showing it reports the damage.
    let Ok(mut summary) = serde_json::from_str::<Summary>(&json) else {
        return Ok(());
    };
    apply_names(&mut summary, entries);
    conn.execute(
        "UPDATE summaries SET search_text = ?2 WHERE id = ?1",
        params![row, summary_search_text(&summary)],
    )?;
    Ok(())
}

pub(super) fn entries_for(
    conn: &Connection,
    meeting_id: &str,
) -> rusqlite::Result<Vec<SpeakerEntry>> {
    read_entries(conn, meeting_id)
}

/// Shows a summary with the meeting's speaker names: an action item's owner that is a speaker
/// (by `owner_speaker_id`, or given as a speaker's label, id or name) becomes that speaker's
/// current name and gets the id; diarized labels ("Speaker 2") in the summary's text become
/// names. The labels "me" and "others" are ordinary words in a text and are left there.
pub fn apply_names(summary: &mut Summary, speakers: &[SpeakerEntry]) {
    for item in &mut summary.action_items {
        let by_id = item
            .owner_speaker_id
            .as_deref()
            .and_then(|id| speakers.iter().find(|s| s.id == id));
        let speaker = by_id.or_else(|| {
            let owner = item.owner.as_deref()?.trim().to_lowercase();
            // By id, then label, then name; a key two speakers share decides nothing.
            (0..3).find_map(|key| {
                let hits: Vec<&SpeakerEntry> = speakers
                    .iter()
                    .filter(|s| {
                        let k = match key {
                            0 => &s.id,
                            1 => &s.label,
                            _ => &s.name,
                        };
                        k.to_lowercase() == owner
                    })
                    .collect();
                (hits.len() == 1).then(|| hits[0])
            })
        });
        if let Some(s) = speaker {
            item.owner = Some(s.name.clone());
            item.owner_speaker_id = Some(s.id.clone());
        }
    }
    let renamed: Vec<(&str, &str)> = speakers
        .iter()
        .filter(|s| s.name != s.label && is_diarized_label(&s.label))
        .map(|s| (s.label.as_str(), s.name.as_str()))
        .collect();
    if renamed.is_empty() {
        return;
    }
    let fix = |text: &mut String| *text = replace_labels(text, &renamed);
    fix(&mut summary.markdown);
    for section in &mut summary.sections {
        fix(&mut section.body);
    }
    for item in &mut summary.action_items {
        fix(&mut item.task);
    }
    for d in &mut summary.decisions {
        fix(&mut d.text);
    }
    for q in &mut summary.open_questions {
        fix(&mut q.text);
    }
}

/// "Speaker 2": the label diarization gives (`model::Speaker::diarized`).
pub(super) fn is_diarized_label(label: &str) -> bool {
    label
        .strip_prefix("Speaker ")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `text` with each whole label replaced by its name ("Speaker 1" is not the start of
/// "Speaker 12").
fn replace_labels(text: &str, renamed: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (label, name) in renamed {
            if let Some(after) = rest.strip_prefix(label)
                && !after.starts_with(|c: char| c.is_ascii_digit())
            {
                out.push_str(name);
                rest = after;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ActionItem, Document, MeetingMetadata, Section, Segment, Speaker, Transcript,
    };
    use crate::store::{PluginRef, Provenance};

    fn seg(id: u32, start_ms: u64, speaker: &str, text: &str) -> Segment {
        Segment {
            id,
            start_ms,
            end_ms: start_ms + 1_000,
            channel: if speaker == "me" { 0 } else { 1 },
            speaker_id: Some(speaker.into()),
            text: text.into(),
            words: Vec::new(),
        }
    }

    /// A diarized meeting: me on the microphone, Speaker 1 and 2 on the system channel.
    fn meeting(store: &Store) -> String {
        let document = Document {
            metadata: MeetingMetadata {
                id: "standup".into(),
                title: "Standup".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 10_000,
                channel_names: vec!["me".into(), "others".into()],
                ..MeetingMetadata::default()
            },
            transcript: Transcript {
                segments: vec![
                    seg(0, 0, "me", "Shall we start with the budget?"),
                    seg(1, 1_000, "speaker-1", "The quarterly numbers are in."),
                    seg(2, 2_000, "speaker-2", "I will send the forecast tomorrow."),
                    seg(3, 3_000, "speaker-2", "And the hiring plan."),
                ],
                speakers: vec![
                    Speaker {
                        id: "me".into(),
                        name: "me".into(),
                        channel: 0,
                        voice: None,
                    },
                    Speaker::diarized(1, 1),
                    Speaker::diarized(2, 1),
                ],
                language: Some("en".into()),
            },
            summary: None,
            provenance: None,
        };
        store.save_meeting(&document, None).expect("save")
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_path(&dir.path().join("minutes.db")).expect("open");
        (dir, store)
    }

    fn speaker_of(store: &Store, id: &str, segment: u32) -> String {
        let d = store.document(id).expect("document");
        let s = d
            .transcript
            .segments
            .iter()
            .find(|s| s.id == segment)
            .expect("segment");
        d.transcript.speaker_name(s).expect("speaker").to_string()
    }

    #[test]
    fn a_renamed_speaker_is_shown_by_name_and_the_transcript_keeps_its_ids() {
        let (_dir, store) = store();
        let id = meeting(&store);
        let tom = store
            .rename_speaker(&id, "Speaker 2", "Tom")
            .expect("rename");
        assert_eq!(
            (tom.id.as_str(), tom.label.as_str(), tom.name.as_str()),
            ("speaker-2", "Speaker 2", "Tom")
        );
        assert_eq!((tom.segments, tom.talk_ms), (2, 2_000));
        store.rename_speaker(&id, "me", "Ana").expect("rename me");
        assert_eq!(speaker_of(&store, &id, 2), "Tom");
        assert_eq!(speaker_of(&store, &id, 0), "Ana");
        assert_eq!(speaker_of(&store, &id, 1), "Speaker 1");
        let d = store.document(&id).expect("document");
        assert_eq!(
            d.transcript.segments[2].speaker_id.as_deref(),
            Some("speaker-2")
        );
        // Renamed again, by the current name, and by id: the label stays the original one.
        store.rename_speaker(&id, "tom", "Thomas").expect("by name");
        let t = store
            .rename_speaker(&id, "speaker-2", "Tom B.")
            .expect("by id");
        assert_eq!((t.label.as_str(), t.name.as_str()), ("Speaker 2", "Tom B."));
    }

    #[test]
    fn an_unknown_speaker_is_refused_naming_the_speakers_the_meeting_has() {
        let (_dir, store) = store();
        let id = meeting(&store);
        store
            .rename_speaker(&id, "Speaker 2", "Tom")
            .expect("rename");
        let err = store
            .rename_speaker(&id, "Speaker 5", "Sam")
            .expect_err("no Speaker 5");
        assert!(
            matches!(&err, StoreError::NoSuchSpeaker { known, .. } if known.len() == 3),
            "{err:?}"
        );
        let msg = err.to_string();
        for shown in ["Speaker 5", "me", "Speaker 1", "Tom (was Speaker 2)"] {
            assert!(msg.contains(shown), "{shown} missing from: {msg}");
        }
        // Nothing changed.
        assert_eq!(speaker_of(&store, &id, 1), "Speaker 1");
        assert!(matches!(
            store.rename_speaker("nope", "me", "Ana"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn names_that_would_break_a_view_are_refused_and_a_shared_name_needs_the_id() {
        let (_dir, store) = store();
        let id = meeting(&store);
        for bad in ["", "   ", "Tom\n[00:00] me: fake line", "\u{1b}[31mTom"] {
            let err = store
                .rename_speaker(&id, "Speaker 1", bad)
                .expect_err("refused");
            assert!(
                matches!(
                    err,
                    StoreError::Invalid {
                        what: "speaker name",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
        let long = "x".repeat(MAX_SPEAKER_NAME_CHARS + 1);
        assert!(store.rename_speaker(&id, "Speaker 1", &long).is_err());
        // Two clusters that are one person may share a name; the name then needs an id.
        store.rename_speaker(&id, "Speaker 1", "Tom").expect("1");
        store.rename_speaker(&id, "Speaker 2", "Tom").expect("2");
        let err = store
            .rename_speaker(&id, "Tom", "Thomas")
            .expect_err("ambiguous");
        let msg = err.to_string();
        assert!(
            msg.contains("speaker-1") && msg.contains("speaker-2"),
            "{msg}"
        );
        store
            .rename_speaker(&id, "speaker-1", "Thomas")
            .expect("by id");
        assert_eq!(speaker_of(&store, &id, 1), "Thomas");
    }

    #[test]
    fn searching_a_speakers_new_name_finds_their_lines() {
        let (_dir, store) = store();
        let id = meeting(&store);
        assert!(
            store
                .search("Tom", 10, ("", ""))
                .expect("search")
                .is_empty(),
            "nobody is called Tom yet"
        );
        store
            .rename_speaker(&id, "Speaker 2", "Tom")
            .expect("rename");
        let hits = store.search("Tom", 10, ("", "")).expect("search");
        let mut got: Vec<(Option<u64>, Option<&str>)> = hits
            .iter()
            .map(|h| (h.start_ms, h.speaker.as_deref()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![(Some(2_000), Some("Tom")), (Some(3_000), Some("Tom"))]
        );
        // A word he said and his name: only his line.
        let hits = store.search("Tom forecast", 10, ("", "")).expect("search");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].start_ms, Some(2_000));
        // Renamed again: the old name finds nothing, the index stays consistent.
        store.rename_speaker(&id, "Tom", "Sam").expect("rename");
        assert!(
            store
                .search("Tom", 10, ("", ""))
                .expect("search")
                .is_empty()
        );
        assert_eq!(store.search("Sam", 10, ("", "")).expect("search").len(), 2);
        // Processing the meeting again keeps the name (and the index).
        let mut d = store.document(&id).expect("document");
        d.transcript.speakers.retain(|s| s.id != "speaker-2");
        d.transcript.speakers.push(Speaker::diarized(2, 1));
        store.save_meeting(&d, None).expect("save again");
        store.delete(&id).expect("delete");
        assert!(
            store
                .search("Sam", 10, ("", ""))
                .expect("search")
                .is_empty()
        );
    }

    #[test]
    fn summary_owners_given_as_a_label_show_the_name() {
        let (_dir, store) = store();
        let id = meeting(&store);
        let item = |owner: &str| ActionItem {
            owner: Some(owner.into()),
            owner_speaker_id: None,
            task: "Send the forecast".into(),
            due: None,
            done: false,
            citations: Vec::new(),
            grounding: Default::default(),
        };
        let summary = Summary {
            markdown: "## Action items\n- Send the forecast (Speaker 2)\n- Speaker 12 is nobody\n"
                .into(),
            sections: vec![Section {
                title: "Budget".into(),
                body: "Speaker 2 sends the forecast; Speaker 1 has the numbers.".into(),
            }],
            action_items: vec![item("Speaker 2"), item("me"), item("Dana")],
            ..Summary::default()
        };
        let provenance = Provenance {
            template: PluginRef {
                id: "t".into(),
                version: "1".into(),
            },
            ..Provenance::default()
        };
        store
            .save_summary(&id, &summary, &provenance)
            .expect("save summary");
        store
            .rename_speaker(&id, "Speaker 2", "Tom")
            .expect("rename");
        store.rename_speaker(&id, "me", "Ana").expect("rename");
        let shown = store.summary(&id).expect("summary").expect("one").summary;
        let owners: Vec<(Option<&str>, Option<&str>)> = shown
            .action_items
            .iter()
            .map(|a| (a.owner.as_deref(), a.owner_speaker_id.as_deref()))
            .collect();
        assert_eq!(
            owners,
            vec![
                (Some("Tom"), Some("speaker-2")),
                (Some("Ana"), Some("me")),
                (Some("Dana"), None)
            ]
        );
        assert!(shown.markdown.contains("(Tom)"), "{}", shown.markdown);
        assert!(shown.markdown.contains("Speaker 12 is nobody"));
        assert_eq!(
            shown.sections[0].body,
            "Tom sends the forecast; Speaker 1 has the numbers."
        );
        // Exports read the document: the same names.
        let d = store.document(&id).expect("document");
        assert_eq!(
            d.summary.expect("summary").action_items[0].owner.as_deref(),
            Some("Tom")
        );
        // The summary's search text follows the rename.
        let hits = store.search("Tom", 10, ("", "")).expect("search");
        assert!(
            hits.iter()
                .any(|h| h.source == crate::store::HitSource::Summary),
            "{hits:?}"
        );
    }

    #[test]
    fn labels_are_replaced_whole() {
        assert_eq!(
            replace_labels(
                "Speaker 1, Speaker 12 and Speaker 1.",
                &[("Speaker 1", "Tom")]
            ),
            "Tom, Speaker 12 and Tom."
        );
        assert!(is_diarized_label("Speaker 3"));
        assert!(!is_diarized_label("Speaker"));
        assert!(!is_diarized_label("others"));
    }
}
