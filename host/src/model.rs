//! The host's own data model: meetings, transcripts, speakers, summaries and the language-model
//! requests the summary code makes.
//!
//! These types are what the store, the pipeline, the summaries, export and the CLI work with.
//! They are not the plugin contract: each contract version (`plugins::wit::since_v0_*`) converts
//! between its generated types and these, so a new contract never silently changes the
//! meetings store, and plugins built for an older contract keep working.
//!
//! Their serde form is the store's and the CLI's JSON format (`minutes show --json`,
//! `export --document`). It reads documents written before speakers had ids and summary items had
//! citations: a segment's `speaker` (a display name) becomes a speaker id with that name, and a
//! decision or open question given as plain text becomes an item without citations.

use serde::{Deserialize, Deserializer, Serialize};

/// The version of the summary JSON this code writes into the store (`summaries.format`).
/// 1: the v0.1 contract's `summary` record (decisions and open questions as strings);
/// 2: [`Summary`] with cited items.
pub const SUMMARY_FORMAT: i64 = 2;

/// The speaker ids the capture pipeline gives the two channels of a recording.
pub const SPEAKER_ME: &str = "me";
pub const SPEAKER_OTHERS: &str = "others";

/// A word with its own times, when the transcriber gave them (ms from the start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

/// Who spoke. `id` is stable within a meeting ("me", "others", "speaker-1", …) and never changes
/// when the user renames the speaker; `name` is what is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speaker {
    pub id: String,
    pub name: String,
    /// The channel this speaker was heard on (0 = microphone or mono, 1 = system audio).
    #[serde(default)]
    pub channel: u32,
    /// When an enrolled voiceprint named this speaker: which, how similar, and the label it
    /// had. Only the name and similarity: the voiceprint itself never leaves the store (and
    /// plugins get id, name and channel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<crate::diarize::voiceprint::VoiceMatch>,
}

impl Speaker {
    /// A diarized speaker's id and default name: `speaker-1` / "Speaker 1".
    pub fn diarized(number: u32, channel: u32) -> Speaker {
        Speaker {
            id: format!("speaker-{number}"),
            name: format!("Speaker {number}"),
            channel,
            voice: None,
        }
    }
}

/// One stretch of speech. Times are milliseconds from the start of the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Stable within a meeting; citations name it.
    pub id: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    /// 0 = the local microphone, 1 = system audio; 0 for mono files.
    pub channel: u32,
    /// The [`Speaker::id`] of who spoke, when known.
    #[serde(default)]
    pub speaker_id: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "TranscriptRepr")]
pub struct Transcript {
    pub segments: Vec<Segment>,
    /// Everyone `segments` names, in order of first appearance.
    pub speakers: Vec<Speaker>,
    /// BCP-47 code of the spoken language when known.
    pub language: Option<String>,
}

impl Transcript {
    pub fn speaker(&self, id: &str) -> Option<&Speaker> {
        self.speakers.iter().find(|s| s.id == id)
    }

    /// The name to show for a segment's speaker.
    pub fn speaker_name<'a>(&'a self, segment: &'a Segment) -> Option<&'a str> {
        let id = segment.speaker_id.as_deref()?;
        Some(self.speaker(id).map_or(id, |s| s.name.as_str()))
    }

    /// Builds a transcript from segments that carry speaker display names (the capture
    /// pipeline's channel labels, an older contract, a file from another tool): each distinct
    /// name gets an id, segments get ids by position.
    pub fn from_named(
        segments: impl IntoIterator<Item = NamedSegment>,
        language: Option<String>,
    ) -> Transcript {
        let mut speakers: Vec<Speaker> = Vec::new();
        let segments = segments
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let speaker_id = s.speaker.as_deref().map(|name| {
                    match speakers.iter().find(|sp| sp.name == name) {
                        Some(sp) => sp.id.clone(),
                        None => {
                            let id = speaker_id_for(name, &speakers);
                            speakers.push(Speaker {
                                id: id.clone(),
                                name: name.to_string(),
                                channel: s.channel,
                                voice: None,
                            });
                            id
                        }
                    }
                });
                Segment {
                    id: s.id.unwrap_or(i as u32),
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    channel: s.channel,
                    speaker_id,
                    text: s.text,
                    words: s.words,
                }
            })
            .collect();
        Transcript {
            segments,
            speakers,
            language,
        }
    }
}

/// A segment that names its speaker by display name (what v0.1 and other tools give).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSegment {
    pub id: Option<u32>,
    pub start_ms: u64,
    pub end_ms: u64,
    pub channel: u32,
    pub speaker: Option<String>,
    pub text: String,
    pub words: Vec<Word>,
}

/// The id a speaker known only by name gets: the pipeline's "me" and "others" keep theirs,
/// other names their slug ("Maria López" -> "maria-l-pez"), else `speaker-N`; never one taken.
pub fn speaker_id_for(name: &str, taken: &[Speaker]) -> String {
    let free = |id: &str| !id.is_empty() && taken.iter().all(|s| s.id != id);
    let slug = crate::store::slug(name);
    if free(&slug) {
        return slug;
    }
    (1..)
        .map(|n| format!("speaker-{n}"))
        .find(|id| free(id))
        .unwrap_or_default()
}

/// The serde form of a transcript, also accepting the form written before speaker ids:
/// segments without `id`, with `speaker` as a display name and no `speakers` table.
#[derive(Deserialize)]
struct TranscriptRepr {
    segments: Vec<SegmentRepr>,
    #[serde(default)]
    speakers: Option<Vec<Speaker>>,
    #[serde(default)]
    language: Option<String>,
}

#[derive(Deserialize)]
struct SegmentRepr {
    #[serde(default)]
    id: Option<u32>,
    start_ms: u64,
    end_ms: u64,
    #[serde(default)]
    channel: u32,
    #[serde(default)]
    speaker_id: Option<String>,
    /// Before speaker ids: the speaker's display name.
    #[serde(default)]
    speaker: Option<String>,
    text: String,
    #[serde(default)]
    words: Vec<Word>,
}

impl From<TranscriptRepr> for Transcript {
    fn from(r: TranscriptRepr) -> Transcript {
        let current = r.speakers.is_some() || r.segments.iter().any(|s| s.speaker_id.is_some());
        if current {
            // Ids must be unique for citations to mean anything: a file missing some gets all
            // renumbered by position.
            let complete = r.segments.iter().all(|s| s.id.is_some());
            let segments = r
                .segments
                .into_iter()
                .enumerate()
                .map(|(i, s)| Segment {
                    id: if complete {
                        s.id.unwrap_or(i as u32)
                    } else {
                        i as u32
                    },
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    channel: s.channel,
                    speaker_id: s.speaker_id,
                    text: s.text,
                    words: s.words,
                })
                .collect();
            return Transcript {
                segments,
                speakers: r.speakers.unwrap_or_default(),
                language: r.language,
            };
        }
        let complete = r.segments.iter().all(|s| s.id.is_some());
        Transcript::from_named(
            r.segments.into_iter().map(|s| NamedSegment {
                id: s.id.filter(|_| complete),
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                channel: s.channel,
                speaker: s.speaker,
                text: s.text,
                words: s.words,
            }),
            r.language,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MeetingMetadata {
    pub id: String,
    pub title: String,
    /// RFC 3339 start time.
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Display names of the channels, by channel index.
    #[serde(default)]
    pub channel_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub body: String,
}

/// Where in a meeting a summary item comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub segment_id: u32,
    pub at_ms: u64,
    /// The meeting cited, for answers across meetings; none means this meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<String>,
}

/// How the host judged an item's citations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grounding {
    /// Not checked yet.
    // The aliases read documents written by export-json, whose SDK serialises the WIT enum by
    // its Rust case names.
    #[serde(alias = "Unchecked")]
    Unchecked,
    /// Every citation points at a segment that supports the item.
    #[serde(alias = "Supported")]
    Supported,
    /// The item cites nothing (every item made before citations existed): shown as uncited.
    #[default]
    #[serde(alias = "Uncited")]
    Uncited,
    /// A citation failed the check; kept but flagged.
    #[serde(alias = "Unsupported")]
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub text: String,
    #[serde(default)]
    pub citations: Vec<Citation>,
    #[serde(default)]
    pub grounding: Grounding,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenQuestion {
    pub text: String,
    #[serde(default)]
    pub citations: Vec<Citation>,
    #[serde(default)]
    pub grounding: Grounding,
}

impl Decision {
    pub fn uncited(text: impl Into<String>) -> Decision {
        Decision {
            text: text.into(),
            citations: Vec::new(),
            grounding: Grounding::Uncited,
        }
    }
}

impl OpenQuestion {
    pub fn uncited(text: impl Into<String>) -> OpenQuestion {
        OpenQuestion {
            text: text.into(),
            citations: Vec::new(),
            grounding: Grounding::Uncited,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    /// A speaker's name as the transcript shows it, or a name said in the meeting.
    #[serde(default)]
    pub owner: Option<String>,
    /// The owner's speaker id when the owner is a speaker of this meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_speaker_id: Option<String>,
    pub task: String,
    #[serde(default)]
    pub due: Option<String>,
    /// Ticked off by the user.
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub citations: Vec<Citation>,
    #[serde(default)]
    pub grounding: Grounding,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// The whole summary rendered as Markdown.
    #[serde(default)]
    pub markdown: String,
    #[serde(default)]
    pub sections: Vec<Section>,
    #[serde(default)]
    pub action_items: Vec<ActionItem>,
    #[serde(default, deserialize_with = "text_or_item")]
    pub decisions: Vec<Decision>,
    #[serde(default, deserialize_with = "text_or_item")]
    pub open_questions: Vec<OpenQuestion>,
}

/// Reads a list whose entries are items or, as before citations, plain text.
fn text_or_item<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + From<String>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry<T> {
        Text(String),
        Item(T),
    }
    let entries = Vec::<Entry<T>>::deserialize(d)?;
    Ok(entries
        .into_iter()
        .map(|e| match e {
            Entry::Text(t) => T::from(t),
            Entry::Item(i) => i,
        })
        .collect())
}

impl From<String> for Decision {
    fn from(text: String) -> Decision {
        Decision::uncited(text)
    }
}

impl From<String> for OpenQuestion {
    fn from(text: String) -> OpenQuestion {
        OpenQuestion::uncited(text)
    }
}

/// How a stored summary was made, as an exporter shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentProvenance {
    pub template: String,
    pub template_version: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// RFC 3339 time the summary was made.
    pub created_at: String,
}

/// A meeting with its transcript and, when made, its summary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Document {
    pub metadata: MeetingMetadata,
    pub transcript: Transcript,
    #[serde(default)]
    pub summary: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<DocumentProvenance>,
}

/// A plugin's error, in terms the host can explain to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    Config(String),
    Denied(String),
    Network(String),
    Upstream { status: u16, message: String },
    InvalidInput(String),
    ContextLengthExceeded(String),
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// A JSON Schema an answer must follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonSchema {
    pub name: String,
    /// The schema as JSON text.
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    #[default]
    Text,
    JsonObject,
    JsonSchema(JsonSchema),
}

/// Serialized only to fingerprint the prompts sent (the summary's provenance).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionRequest {
    pub messages: Vec<Message>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub response_format: ResponseFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub usage: TokenUsage,
    pub truncated: bool,
}

/// How a provider's endpoint can hold an answer to a JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaSupport {
    /// The schema goes into the prompt; the host validates the answer.
    #[default]
    PromptOnly,
    /// The endpoint constrains generation to the schema.
    Enforced,
}

/// The language model a template sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmInfo {
    pub provider: String,
    pub model: String,
    pub context_window: u32,
    pub max_output: u32,
}

/// One stretch of the transcript that a template sends in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub first_segment: u32,
    pub last_segment: u32,
    pub estimated_tokens: u32,
}

/// How a template splits a long transcript.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub chunks: Vec<Chunk>,
    pub overlap_segments: u32,
    pub expected_requests: u32,
}

/// yes / no / unknown: an unverified data-policy answer is `unknown`, never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tristate {
    Yes,
    No,
    Unknown,
}

/// What a provider says it does with the data sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPolicy {
    pub retention: String,
    pub trains_on_data: Tristate,
    pub zero_retention_available: Tristate,
    pub zero_retention_default: Tristate,
    pub region: Option<String>,
    pub certifications: Vec<String>,
    pub sources: Vec<String>,
    pub last_verified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub context_window: u32,
    pub max_output: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub id: String,
    pub name: String,
    pub models: Vec<ModelInfo>,
    pub default_model: String,
    pub data_policy: DataPolicy,
    /// A v0.1 provider can only be prompted for a shape: `prompt-only`.
    pub structured_output: SchemaSupport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub uses_llm: bool,
    /// False for v0.1 templates, which have no `ask`.
    pub answers_questions: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatInfo {
    pub id: String,
    pub description: String,
    pub media_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExporterInfo {
    pub id: String,
    pub name: String,
    pub formats: Vec<FormatInfo>,
}

/// A file an exporter wants written (inside the folder the user chose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A stretch of one meeting the host's search found for a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub meeting_id: String,
    pub meeting_title: String,
    pub started_at: String,
    pub segments: Vec<Segment>,
    pub speakers: Vec<Speaker>,
}

/// A template's answer to a question about meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub markdown: String,
    pub citations: Vec<Citation>,
    pub grounding: Grounding,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_written_before_speaker_ids_reads_with_named_speakers() {
        let doc: Document = serde_json::from_str(
            r#"{"metadata": {"id": "m", "title": "t", "started_at": "2026-11-28T10:00:00Z", "duration_ms": 5},
                "transcript": {"language": "en", "segments": [
                  {"start_ms": 0, "end_ms": 1, "channel": 0, "speaker": "me", "text": "a"},
                  {"start_ms": 1, "end_ms": 2, "channel": 1, "speaker": "Maria López", "text": "b"},
                  {"start_ms": 2, "end_ms": 3, "channel": 1, "speaker": null, "text": "c"},
                  {"start_ms": 3, "end_ms": 4, "channel": 0, "speaker": "me", "text": "d"}]},
                "summary": {"markdown": "", "sections": [], "decisions": ["Launch on March 17th"],
                            "open_questions": ["Price?"],
                            "action_items": [{"owner": "Sam", "task": "Draft", "due": null}]}}"#,
        )
        .expect("reads");
        let t = &doc.transcript;
        assert_eq!(
            t.segments.iter().map(|s| s.id).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(t.segments[0].speaker_id.as_deref(), Some("me"));
        assert_eq!(t.segments[3].speaker_id.as_deref(), Some("me"));
        assert_eq!(t.speaker_name(&t.segments[1]), Some("Maria López"));
        assert_eq!(t.segments[2].speaker_id, None);
        assert_eq!(t.speakers.len(), 2);
        assert_eq!(t.speakers[1].channel, 1);
        let s = doc.summary.expect("summary");
        assert_eq!(s.decisions, [Decision::uncited("Launch on March 17th")]);
        assert_eq!(s.open_questions[0].grounding, Grounding::Uncited);
        assert!(!s.action_items[0].done);
        assert_eq!(s.action_items[0].grounding, Grounding::Uncited);
    }

    #[test]
    fn the_current_form_round_trips() {
        let doc = Document {
            metadata: MeetingMetadata {
                id: "m".into(),
                title: "t".into(),
                started_at: "2026-11-28T10:00:00Z".into(),
                duration_ms: 9,
                ..Default::default()
            },
            transcript: Transcript {
                segments: vec![Segment {
                    id: 7,
                    start_ms: 0,
                    end_ms: 9,
                    channel: 1,
                    speaker_id: Some("speaker-1".into()),
                    text: "We ship.".into(),
                    words: vec![Word {
                        start_ms: 0,
                        end_ms: 3,
                        text: "We".into(),
                        probability: Some(0.5),
                    }],
                }],
                speakers: vec![Speaker {
                    id: "speaker-1".into(),
                    name: "Tom".into(),
                    channel: 1,
                    voice: None,
                }],
                language: None,
            },
            summary: Some(Summary {
                decisions: vec![Decision {
                    text: "Ship".into(),
                    citations: vec![Citation {
                        segment_id: 7,
                        at_ms: 0,
                        meeting_id: None,
                    }],
                    grounding: Grounding::Supported,
                }],
                ..Default::default()
            }),
            provenance: None,
        };
        let json = serde_json::to_string(&doc).expect("json");
        let back: Document = serde_json::from_str(&json).expect("reads");
        assert_eq!(back, doc);
    }

    #[test]
    fn named_speakers_get_distinct_ids() {
        let t = Transcript::from_named(
            ["me", "Me!", "", "others"]
                .into_iter()
                .map(|n| NamedSegment {
                    id: None,
                    start_ms: 0,
                    end_ms: 0,
                    channel: 0,
                    speaker: Some(n.into()),
                    text: String::new(),
                    words: vec![],
                }),
            None,
        );
        let ids: Vec<&str> = t.speakers.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["me", "speaker-1", "speaker-2", "others"]);
    }
}
