//! export-obsidian: a meeting as a note in an Obsidian vault — properties (front matter) with
//! tags, the summary, tasks in the Obsidian Tasks format with `[[Owner]]` links, a link to the
//! day's daily note, and the transcript folded away in a callout. The user names the vault with
//! `minutes export --dir <vault>`; the note goes to `<folder>/<date>-<title>.md` inside it.

use minutes_sdk::exporter::{Exporter, OneFormat, export_exporter};
use minutes_sdk::meeting::{
    clock, iso_date, known_speaker, markdown_summary, one_line, participants,
};
use minutes_sdk::types::{ActionItem, Document, ExporterInfo, OutputFile, PluginError};
use minutes_sdk::yaml;
use std::fmt::Write;

pub struct Obsidian;

const OBSIDIAN: OneFormat = OneFormat {
    plugin: "export-obsidian",
    name: "Obsidian",
    format: "md",
    description: "An Obsidian note with properties, tags, tasks and a daily-note link",
    media_type: "text/markdown",
};

impl Exporter for Obsidian {
    fn info() -> ExporterInfo {
        OBSIDIAN.info()
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        OBSIDIAN.check(&format)?;
        let options = Options {
            folder: clean_folder(
                &minutes_sdk::config::string("folder").unwrap_or_else(|| "Meetings".into()),
            )?,
            tag: minutes_sdk::config::string("tag").unwrap_or_else(|| "meeting".into()),
            daily_note_link: minutes_sdk::config::boolean("daily_note_link").unwrap_or(true),
            include_transcript: minutes_sdk::config::boolean("include_transcript").unwrap_or(true),
        };
        Ok(vec![note(&doc, &options)])
    }
}

export_exporter!(Obsidian);

pub struct Options {
    /// Already cleaned by [`clean_folder`]; empty = the vault's top level.
    pub folder: String,
    /// Added to every note's tags; empty for none.
    pub tag: String,
    pub daily_note_link: bool,
    pub include_transcript: bool,
}

/// The note for `doc`, at `<folder>/<date>-<slug>.md`.
pub fn note(doc: &Document, options: &Options) -> OutputFile {
    let name = OBSIDIAN.file_name(doc);
    let path = if options.folder.is_empty() {
        name
    } else {
        format!("{}/{name}", options.folder)
    };
    OutputFile::text(path, OBSIDIAN.media_type, render(doc, options))
}

/// The `folder` setting as a relative path inside the vault: `.`, empty parts and backslashes
/// are tidied; an absolute path or `..` is refused, since the note must stay in the vault.
pub fn clean_folder(raw: &str) -> Result<String, PluginError> {
    let refuse = |why: &str| {
        PluginError::Config(format!(
            "`folder` = {raw:?} {why}. Name a folder inside the vault, e.g. \"Meetings\" or \"Work/Meetings\", under \
             [plugins.export-obsidian] in config.toml; the vault itself is chosen with `minutes export --dir <vault>`"
        ))
    };
    let text = raw.trim().replace('\\', "/");
    let bytes = text.as_bytes();
    if text.starts_with(['/', '~'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    {
        return Err(refuse("is an absolute path"));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse("contains control characters"));
    }
    let parts: Vec<&str> = text
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(refuse("leads out of the vault with `..`"));
    }
    Ok(parts.join("/"))
}

pub fn render(doc: &Document, options: &Options) -> String {
    let meta = &doc.metadata;
    let date = iso_date(&meta.started_at);
    let mut out = String::from("---\n");
    let _ = writeln!(out, "title: {}", yaml::string(&one_line(&meta.title)));
    if let Some(d) = &date {
        // Unquoted, so Obsidian shows it as a date property.
        let _ = writeln!(out, "date: {d}");
    }
    let _ = writeln!(out, "started: {}", yaml::string(&meta.started_at));
    let _ = writeln!(out, "duration: {}", yaml::string(&clock(meta.duration_ms)));
    // Unknown speakers (a mono recording without labels) are not "nobody": no key at all.
    let people: Vec<String> = participants(doc)
        .iter()
        .map(|p| person(p, &meta.channel_names))
        .collect();
    if !people.is_empty() {
        yaml::list(&mut out, "participants", &people);
    }
    yaml::list(&mut out, "tags", &tags(&options.tag, &meta.labels));
    let _ = writeln!(out, "meeting_id: {}", yaml::string(&meta.id));
    out.push_str("---\n\n");

    let _ = writeln!(out, "# {}\n", one_line(&meta.title));
    if let (true, Some(d)) = (options.daily_note_link, &date) {
        let _ = writeln!(out, "Daily note: [[{d}]]\n");
    }
    if let Some(summary) = &doc.summary {
        markdown_summary(&mut out, summary, task);
    }
    if options.include_transcript {
        transcript(&mut out, doc);
    }
    out
}

/// `- [ ] task [[Owner]] 📅 2026-03-10`: the Obsidian Tasks due-date signifier needs an ISO
/// date at the end of the line; any other due text is kept as words.
pub fn task(item: &ActionItem) -> String {
    let mut line = format!("- [ ] {}", one_line(&item.task));
    if let Some(owner) = item
        .owner
        .as_deref()
        .map(link_target)
        .filter(|o| !o.is_empty())
    {
        let _ = write!(line, " [[{owner}]]");
    }
    if let Some(due) = item.due.as_deref().map(one_line).filter(|d| !d.is_empty()) {
        let _ = match iso_date(&due) {
            Some(d) => write!(line, " 📅 {d}"),
            None => write!(line, " (due {due})"),
        };
    }
    line
}

/// A participant as a property value: a person's name as a link (`[[Tom]]`: one note per
/// person that every meeting with them links to, as the tasks' owners do); a channel label
/// ("me", "others") or a diarized speaker nobody named ("Speaker 2") as plain text, since
/// they are a different person in every meeting.
fn person(name: &str, channel_names: &[String]) -> String {
    let unnamed = channel_names.iter().any(|c| c == name)
        || name == "me"
        || name == "others"
        || name
            .strip_prefix("Speaker ")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let target = link_target(name);
    if unnamed || target.is_empty() {
        name.to_string()
    } else {
        format!("[[{target}]]")
    }
}

/// A name usable inside `[[...]]`: Obsidian reserves `[ ] | # ^` there.
fn link_target(name: &str) -> String {
    one_line(&name.replace(['[', ']', '|', '#', '^'], " "))
}

/// Obsidian tags: letters, digits, `_`, `-`, `/`, not only digits. Labels are tidied into
/// that shape (spaces become `-`); the default tag comes first; duplicates are dropped.
pub fn tags(default_tag: &str, labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in std::iter::once(default_tag).chain(labels.iter().map(String::as_str)) {
        let words: Vec<String> = raw
            .trim()
            .trim_start_matches('#')
            .split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
                    .collect()
            })
            .collect();
        let tag = words
            .into_iter()
            .filter(|w: &String| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let tag = tag.trim_matches('/').to_string();
        if tag.is_empty() || tag.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            out.push(tag);
        }
    }
    out
}

/// The transcript in a folded callout, one line per segment.
fn transcript(out: &mut String, doc: &Document) {
    let lines: Vec<String> = doc
        .transcript
        .segments
        .iter()
        .filter_map(|seg| {
            let text = one_line(&seg.text);
            (!text.is_empty()).then(|| {
                match known_speaker(&doc.transcript, seg, &doc.metadata.channel_names) {
                    Some(who) => format!(
                        "> **[{}] {}:** {text}  ",
                        clock(seg.start_ms),
                        one_line(&who)
                    ),
                    None => format!("> **[{}]** {text}  ", clock(seg.start_ms)),
                }
            })
        })
        .collect();
    if lines.is_empty() {
        return;
    }
    out.push_str("> [!quote]- Transcript\n");
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minutes_sdk::types::{
        Citation, Decision, Grounding, MeetingMetadata, OpenQuestion, Section, Segment, Speaker,
        Summary, Transcript,
    };

    fn doc() -> Document {
        Document {
            metadata: MeetingMetadata {
                id: "m-42".into(),
                title: "Atlas: weekly \"release\" sync".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 3_725_000,
                labels: vec![
                    "atlas".into(),
                    "Release Planning".into(),
                    "#meeting".into(),
                    "2026".into(),
                ],
                language: None,
                channel_names: vec!["me".into(), "others".into()],
                speakers: speakers(),
            },
            transcript: Transcript {
                segments: vec![
                    Segment {
                        id: 1,
                        start_ms: 1_000,
                        end_ms: 4_000,
                        channel: 0,
                        speaker_id: Some("speaker-1".into()),
                        text: "We move the launch.".into(),
                        words: vec![],
                    },
                    Segment {
                        id: 2,
                        start_ms: 3_665_000,
                        end_ms: 3_668_000,
                        channel: 1,
                        speaker_id: None,
                        text: "Agreed.\n".into(),
                        words: vec![],
                    },
                ],
                speakers: speakers(),
                language: None,
            },
            provenance: None,
            summary: Some(Summary {
                markdown: String::new(),
                sections: vec![Section {
                    title: "Overview".into(),
                    body: "The launch moves.".into(),
                }],
                action_items: vec![
                    ActionItem {
                        owner: Some("Sam".into()),
                        due: Some("2026-03-10".into()),
                        citations: vec![cite(2, 3_665_000)],
                        ..ActionItem::new("Draft the announcement")
                    },
                    ActionItem {
                        owner: Some("Ana [PM]|x".into()),
                        due: Some("March 10th".into()),
                        ..ActionItem::new("Check\nprices")
                    },
                    ActionItem::new("Book a room"),
                ],
                decisions: vec![
                    Decision::new("Launch on March 17th", vec![cite(1, 1_000)]),
                    Decision {
                        grounding: Grounding::Unsupported,
                        ..Decision::new("Price at 99 dollars", vec![cite(2, 3_665_000)])
                    },
                ],
                open_questions: vec![OpenQuestion {
                    grounding: Grounding::Uncited,
                    ..OpenQuestion::new("Pro tier price?", vec![])
                }],
            }),
        }
    }

    /// Speaker 1 is Maria: the transcript names her by id only.
    fn speakers() -> Vec<Speaker> {
        vec![Speaker {
            id: "speaker-1".into(),
            name: "Maria".into(),
            channel: 0,
        }]
    }

    fn cite(segment_id: u32, at_ms: u64) -> Citation {
        Citation {
            segment_id,
            at_ms,
            meeting_id: None,
        }
    }

    fn options() -> Options {
        Options {
            folder: "Meetings".into(),
            tag: "meeting".into(),
            daily_note_link: true,
            include_transcript: true,
        }
    }

    #[test]
    fn named_people_are_linked_and_labels_nobody_named_are_not() {
        let channels = ["me".to_string(), "others".to_string()];
        assert_eq!(person("Tom", &channels), "[[Tom]]");
        assert_eq!(person("Ana | PM", &channels), "[[Ana PM]]");
        for plain in ["me", "others", "Speaker 2"] {
            assert_eq!(person(plain, &channels), plain);
        }
        // A diarized speaker named by a rename or a voiceprint reaches the exporter by name.
        let mut d = doc();
        let tom = Speaker {
            id: "speaker-2".into(),
            name: "Tom".into(),
            channel: 1,
        };
        d.metadata.speakers.push(tom.clone());
        d.transcript.speakers.push(tom);
        d.transcript.segments[1].speaker_id = Some("speaker-2".into());
        let md = render(&d, &options());
        let front = md.split("---\n").nth(1).expect("front matter");
        assert!(
            front.contains("participants:\n  - \"[[Maria]]\"\n  - \"[[Tom]]\"\n"),
            "{front}"
        );
    }

    #[test]
    fn front_matter_has_properties_and_obsidian_tags() {
        let md = render(&doc(), &options());
        let front = md.split("---\n").nth(1).expect("front matter");
        assert_eq!(
            front,
            "title: \"Atlas: weekly \\\"release\\\" sync\"\ndate: 2026-11-28\nstarted: \"2026-11-28T10:00:00Z\"\n\
             duration: \"01:02:05\"\nparticipants:\n  - \"[[Maria]]\"\n  - \"others\"\n\
             tags:\n  - \"meeting\"\n  - \"atlas\"\n  - \"Release-Planning\"\nmeeting_id: \"m-42\"\n"
        );
    }

    #[test]
    fn tasks_link_owners_and_use_the_tasks_due_date_only_for_iso_dates() {
        let md = render(&doc(), &options());
        assert!(
            md.contains(
                "## Action items\n\n- [ ] Draft the announcement [[Sam]] 📅 2026-03-10 [1:01:05]\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("- [ ] Check prices [[Ana PM x]] (due March 10th)\n"),
            "{md}"
        );
        assert!(md.contains("- [ ] Book a room\n"), "{md}");
    }

    #[test]
    fn cited_items_show_when_they_were_said_and_unsupported_ones_are_flagged() {
        let md = render(&doc(), &options());
        assert!(
            md.contains(
                "## Decisions\n\n- Launch on March 17th [00:01]\n\
                 - Price at 99 dollars [1:01:05] (unsupported: the cited moment does not say this)\n"
            ),
            "{md}"
        );
        // Uncited: no mark, no flag.
        assert!(
            md.contains("## Open questions\n\n- Pro tier price?\n"),
            "{md}"
        );
    }

    #[test]
    fn daily_note_link_and_folded_transcript() {
        let md = render(&doc(), &options());
        assert!(
            md.contains("# Atlas: weekly \"release\" sync\n\nDaily note: [[2026-11-28]]\n"),
            "{md}"
        );
        assert!(md.ends_with("> [!quote]- Transcript\n> **[00:00:01] Maria:** We move the launch.  \n> **[01:01:05] others:** Agreed.  \n"), "{md}");
        let plain = render(
            &doc(),
            &Options {
                daily_note_link: false,
                include_transcript: false,
                ..options()
            },
        );
        assert!(
            !plain.contains("[[2026-11-28]]") && !plain.contains("[!quote]"),
            "{plain}"
        );
    }

    #[test]
    fn the_note_goes_into_the_folder_and_escapes_are_refused() {
        assert_eq!(
            note(&doc(), &options()).path,
            "Meetings/2026-11-28-atlas-weekly-release-sync.md"
        );
        let top = Options {
            folder: String::new(),
            ..options()
        };
        assert_eq!(
            note(&doc(), &top).path,
            "2026-11-28-atlas-weekly-release-sync.md"
        );
        for (raw, clean) in [
            ("Meetings", "Meetings"),
            ("./Work//Meetings/", "Work/Meetings"),
            ("Work\\Notes", "Work/Notes"),
            ("", ""),
            (" . ", ""),
        ] {
            assert_eq!(clean_folder(raw).ok().as_deref(), Some(clean), "{raw:?}");
        }
        for raw in [
            "../elsewhere",
            "Meetings/../../x",
            "/etc",
            "~/notes",
            "C:\\Users",
            "\\\\server\\share",
            "a\u{7}b",
        ] {
            match clean_folder(raw) {
                Err(PluginError::Config(m)) => {
                    assert!(m.contains("`folder`") && m.contains("config.toml"), "{m}")
                }
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn tags_are_tidied_and_deduplicated() {
        assert_eq!(
            tags(
                "",
                &[
                    "a b".into(),
                    "#x".into(),
                    "X".into(),
                    "123".into(),
                    "q&a".into()
                ]
            ),
            ["a-b", "x", "qa"]
        );
    }
}
