//! Contract v0.2 (`wit/v0.2`): its bindings and the conversions between its types and the host
//! model. The host interfaces are implemented once over host types (`host_api`); these
//! conversions expose them to v0.2 plugins.

/// Every interface the host implements, with the shared data types.
pub mod host {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2",
        inline: "
            package minutes:host;
            world host-interfaces {
                import minutes:plugin/log@0.2.0;
                import minutes:plugin/config@0.2.0;
                import minutes:plugin/http@0.2.0;
                import minutes:plugin/llm@0.2.0;
            }
        ",
        world: "minutes:host/host-interfaces",
        imports: { default: async | trappable },
        with: {
            "minutes:plugin/http.response-stream": crate::plugins::net::ResponseStream,
        },
    });
}

pub use host::minutes::plugin::types;

macro_rules! world_bindings {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit/v0.2",
                world: $world,
                exports: { default: async },
                imports: { default: async | trappable },
                with: {
                    "minutes:plugin": crate::plugins::wit::since_v0_2::host::minutes::plugin,
                },
            });
        }
    };
}

world_bindings!(provider, "minutes:plugin/provider@0.2.0");
world_bindings!(template, "minutes:plugin/template@0.2.0");
world_bindings!(exporter, "minutes:plugin/exporter@0.2.0");
world_bindings!(
    networked_exporter,
    "minutes:plugin/networked-exporter@0.2.0"
);

use super::since_v0_1::host::minutes::plugin as v1;
use crate::model;
pub use host::minutes::plugin::{config, http, llm, log};

// Host model -> v0.2.

pub fn word_to_wit(w: &model::Word) -> types::Word {
    types::Word {
        start_ms: w.start_ms,
        end_ms: w.end_ms,
        text: w.text.clone(),
        probability: w.probability,
    }
}

pub fn speaker_to_wit(s: &model::Speaker) -> types::Speaker {
    types::Speaker {
        id: s.id.clone(),
        name: s.name.clone(),
        channel: s.channel,
    }
}

pub fn segment_to_wit(s: &model::Segment) -> types::Segment {
    types::Segment {
        id: s.id,
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        channel: s.channel,
        speaker_id: s.speaker_id.clone(),
        text: s.text.clone(),
        words: s.words.iter().map(word_to_wit).collect(),
    }
}

pub fn transcript_to_wit(t: &model::Transcript) -> types::Transcript {
    types::Transcript {
        segments: t.segments.iter().map(segment_to_wit).collect(),
        speakers: t.speakers.iter().map(speaker_to_wit).collect(),
        language: t.language.clone(),
    }
}

/// The metadata carries the meeting's speakers too; the host keeps them with the transcript.
pub fn metadata_to_wit(
    m: &model::MeetingMetadata,
    speakers: &[model::Speaker],
) -> types::MeetingMetadata {
    types::MeetingMetadata {
        id: m.id.clone(),
        title: m.title.clone(),
        started_at: m.started_at.clone(),
        duration_ms: m.duration_ms,
        labels: m.labels.clone(),
        language: m.language.clone(),
        channel_names: m.channel_names.clone(),
        speakers: speakers.iter().map(speaker_to_wit).collect(),
    }
}

fn citation_to_wit(c: &model::Citation) -> types::Citation {
    types::Citation {
        segment_id: c.segment_id,
        at_ms: c.at_ms,
        meeting_id: c.meeting_id.clone(),
    }
}

fn grounding_to_wit(g: model::Grounding) -> types::Grounding {
    match g {
        model::Grounding::Unchecked => types::Grounding::Unchecked,
        model::Grounding::Supported => types::Grounding::Supported,
        model::Grounding::Uncited => types::Grounding::Uncited,
        model::Grounding::Unsupported => types::Grounding::Unsupported,
    }
}

pub fn summary_to_wit(s: &model::Summary) -> types::Summary {
    types::Summary {
        markdown: s.markdown.clone(),
        sections: s
            .sections
            .iter()
            .map(|x| types::Section {
                title: x.title.clone(),
                body: x.body.clone(),
            })
            .collect(),
        action_items: s
            .action_items
            .iter()
            .map(|a| types::ActionItem {
                owner: a.owner.clone(),
                owner_speaker_id: a.owner_speaker_id.clone(),
                task: a.task.clone(),
                due: a.due.clone(),
                done: a.done,
                citations: a.citations.iter().map(citation_to_wit).collect(),
                grounding: grounding_to_wit(a.grounding),
            })
            .collect(),
        decisions: s
            .decisions
            .iter()
            .map(|d| types::Decision {
                text: d.text.clone(),
                citations: d.citations.iter().map(citation_to_wit).collect(),
                grounding: grounding_to_wit(d.grounding),
            })
            .collect(),
        open_questions: s
            .open_questions
            .iter()
            .map(|q| types::OpenQuestion {
                text: q.text.clone(),
                citations: q.citations.iter().map(citation_to_wit).collect(),
                grounding: grounding_to_wit(q.grounding),
            })
            .collect(),
    }
}

pub fn document_to_wit(d: &model::Document) -> types::Document {
    types::Document {
        metadata: metadata_to_wit(&d.metadata, &d.transcript.speakers),
        transcript: transcript_to_wit(&d.transcript),
        summary: d.summary.as_ref().map(summary_to_wit),
        provenance: d.provenance.as_ref().map(|p| types::Provenance {
            template: p.template.clone(),
            template_version: p.template_version.clone(),
            provider: p.provider.clone(),
            model: p.model.clone(),
            created_at: p.created_at.clone(),
        }),
    }
}

pub fn passage_to_wit(p: &model::Passage) -> types::Passage {
    types::Passage {
        meeting_id: p.meeting_id.clone(),
        meeting_title: p.meeting_title.clone(),
        started_at: p.started_at.clone(),
        segments: p.segments.iter().map(segment_to_wit).collect(),
        speakers: p.speakers.iter().map(speaker_to_wit).collect(),
    }
}

pub fn request_to_wit(r: &model::CompletionRequest) -> types::CompletionRequest {
    types::CompletionRequest {
        messages: r
            .messages
            .iter()
            .map(|m| types::Message {
                role: match m.role {
                    model::Role::System => types::Role::System,
                    model::Role::User => types::Role::User,
                    model::Role::Assistant => types::Role::Assistant,
                },
                content: m.content.clone(),
            })
            .collect(),
        model: r.model.clone(),
        max_tokens: r.max_tokens,
        temperature: r.temperature,
        response_format: match &r.response_format {
            model::ResponseFormat::Text => types::ResponseFormat::Text,
            model::ResponseFormat::JsonObject => types::ResponseFormat::JsonObject,
            model::ResponseFormat::JsonSchema(s) => {
                types::ResponseFormat::JsonSchema(types::JsonSchema {
                    name: s.name.clone(),
                    schema: s.schema.clone(),
                })
            }
        },
    }
}

pub fn completion_to_wit(c: model::Completion) -> types::Completion {
    types::Completion {
        text: c.text,
        model: c.model,
        usage: types::TokenUsage {
            input_tokens: c.usage.input_tokens,
            output_tokens: c.usage.output_tokens,
        },
        truncated: c.truncated,
    }
}

pub fn error_to_wit(e: model::PluginError) -> types::PluginError {
    use model::PluginError as E;
    match e {
        E::Config(m) => types::PluginError::Config(m),
        E::Denied(m) => types::PluginError::Denied(m),
        E::Network(m) => types::PluginError::Network(m),
        E::Upstream { status, message } => {
            types::PluginError::Upstream(types::UpstreamError { status, message })
        }
        E::InvalidInput(m) => types::PluginError::InvalidInput(m),
        E::ContextLengthExceeded(m) => types::PluginError::ContextLengthExceeded(m),
        E::Other(m) => types::PluginError::Other(m),
    }
}

pub fn llm_info_to_wit(i: model::LlmInfo) -> llm::LlmInfo {
    llm::LlmInfo {
        provider: i.provider,
        model: i.model,
        context_window: i.context_window,
        max_output: i.max_output,
    }
}

// v0.2 -> host model.

fn citation_from_wit(c: types::Citation) -> model::Citation {
    model::Citation {
        segment_id: c.segment_id,
        at_ms: c.at_ms,
        meeting_id: c.meeting_id,
    }
}

fn grounding_from_wit(g: types::Grounding) -> model::Grounding {
    match g {
        types::Grounding::Unchecked => model::Grounding::Unchecked,
        types::Grounding::Supported => model::Grounding::Supported,
        types::Grounding::Uncited => model::Grounding::Uncited,
        types::Grounding::Unsupported => model::Grounding::Unsupported,
    }
}

/// What a template returns. Its `grounding` is kept as said; judging citations is the host's
/// job, done on the host model, not here.
pub fn summary_from_wit(s: types::Summary) -> model::Summary {
    model::Summary {
        markdown: s.markdown,
        sections: s
            .sections
            .into_iter()
            .map(|x| model::Section {
                title: x.title,
                body: x.body,
            })
            .collect(),
        action_items: s
            .action_items
            .into_iter()
            .map(|a| model::ActionItem {
                owner: a.owner,
                owner_speaker_id: a.owner_speaker_id,
                task: a.task,
                due: a.due,
                done: a.done,
                citations: a.citations.into_iter().map(citation_from_wit).collect(),
                grounding: grounding_from_wit(a.grounding),
            })
            .collect(),
        decisions: s
            .decisions
            .into_iter()
            .map(|d| model::Decision {
                text: d.text,
                citations: d.citations.into_iter().map(citation_from_wit).collect(),
                grounding: grounding_from_wit(d.grounding),
            })
            .collect(),
        open_questions: s
            .open_questions
            .into_iter()
            .map(|q| model::OpenQuestion {
                text: q.text,
                citations: q.citations.into_iter().map(citation_from_wit).collect(),
                grounding: grounding_from_wit(q.grounding),
            })
            .collect(),
    }
}

pub fn answer_from_wit(a: types::Answer) -> model::Answer {
    model::Answer {
        markdown: a.markdown,
        citations: a.citations.into_iter().map(citation_from_wit).collect(),
        grounding: grounding_from_wit(a.grounding),
    }
}

pub fn request_from_wit(r: types::CompletionRequest) -> model::CompletionRequest {
    model::CompletionRequest {
        messages: r
            .messages
            .into_iter()
            .map(|m| model::Message {
                role: match m.role {
                    types::Role::System => model::Role::System,
                    types::Role::User => model::Role::User,
                    types::Role::Assistant => model::Role::Assistant,
                },
                content: m.content,
            })
            .collect(),
        model: r.model,
        max_tokens: r.max_tokens,
        temperature: r.temperature,
        response_format: match r.response_format {
            types::ResponseFormat::Text => model::ResponseFormat::Text,
            types::ResponseFormat::JsonObject => model::ResponseFormat::JsonObject,
            types::ResponseFormat::JsonSchema(s) => {
                model::ResponseFormat::JsonSchema(model::JsonSchema {
                    name: s.name,
                    schema: s.schema,
                })
            }
        },
    }
}

pub fn completion_from_wit(c: types::Completion) -> model::Completion {
    model::Completion {
        text: c.text,
        model: c.model,
        usage: model::TokenUsage {
            input_tokens: c.usage.input_tokens,
            output_tokens: c.usage.output_tokens,
        },
        truncated: c.truncated,
    }
}

pub fn error_from_wit(e: types::PluginError) -> model::PluginError {
    use model::PluginError as E;
    match e {
        types::PluginError::Config(m) => E::Config(m),
        types::PluginError::Denied(m) => E::Denied(m),
        types::PluginError::Network(m) => E::Network(m),
        types::PluginError::Upstream(u) => E::Upstream {
            status: u.status,
            message: u.message,
        },
        types::PluginError::InvalidInput(m) => E::InvalidInput(m),
        types::PluginError::ContextLengthExceeded(m) => E::ContextLengthExceeded(m),
        types::PluginError::Other(m) => E::Other(m),
    }
}

pub fn plan_from_wit(p: llm::Plan) -> model::Plan {
    model::Plan {
        chunks: p
            .chunks
            .into_iter()
            .map(|c| model::Chunk {
                first_segment: c.first_segment,
                last_segment: c.last_segment,
                estimated_tokens: c.estimated_tokens,
            })
            .collect(),
        overlap_segments: p.overlap_segments,
        expected_requests: p.expected_requests,
    }
}

fn tristate_from_wit(t: types::Tristate) -> model::Tristate {
    match t {
        types::Tristate::Yes => model::Tristate::Yes,
        types::Tristate::No => model::Tristate::No,
        types::Tristate::Unknown => model::Tristate::Unknown,
    }
}

pub fn provider_info_from_wit(i: types::ProviderInfo) -> model::ProviderInfo {
    let p = i.data_policy;
    model::ProviderInfo {
        id: i.id,
        name: i.name,
        models: i
            .models
            .into_iter()
            .map(|m| model::ModelInfo {
                id: m.id,
                context_window: m.context_window,
                max_output: m.max_output,
            })
            .collect(),
        default_model: i.default_model,
        data_policy: model::DataPolicy {
            retention: p.retention,
            trains_on_data: tristate_from_wit(p.trains_on_data),
            zero_retention_available: tristate_from_wit(p.zero_retention_available),
            zero_retention_default: tristate_from_wit(p.zero_retention_default),
            region: p.region,
            certifications: p.certifications,
            sources: p.sources,
            last_verified: p.last_verified,
        },
        structured_output: match i.structured_output {
            types::SchemaSupport::PromptOnly => model::SchemaSupport::PromptOnly,
            types::SchemaSupport::Enforced => model::SchemaSupport::Enforced,
        },
    }
}

pub fn template_info_from_wit(i: types::TemplateInfo) -> model::TemplateInfo {
    model::TemplateInfo {
        id: i.id,
        name: i.name,
        description: i.description,
        uses_llm: i.uses_llm,
        answers_questions: i.answers_questions,
    }
}

pub fn exporter_info_from_wit(i: types::ExporterInfo) -> model::ExporterInfo {
    model::ExporterInfo {
        id: i.id,
        name: i.name,
        formats: i
            .formats
            .into_iter()
            .map(|f| model::FormatInfo {
                id: f.id,
                description: f.description,
                media_type: f.media_type,
            })
            .collect(),
    }
}

pub fn output_file_from_wit(f: types::OutputFile) -> model::OutputFile {
    model::OutputFile {
        path: f.path,
        media_type: f.media_type,
        bytes: f.bytes,
    }
}

// The host's http and config interfaces are written over the v0.1 types (the network layer
// speaks them); their shapes are the same in v0.2, so these are field-for-field.

pub fn log_level_to_v1(l: log::Level) -> v1::log::Level {
    match l {
        log::Level::Trace => v1::log::Level::Trace,
        log::Level::Debug => v1::log::Level::Debug,
        log::Level::Info => v1::log::Level::Info,
        log::Level::Warn => v1::log::Level::Warn,
        log::Level::Error => v1::log::Level::Error,
    }
}

pub fn config_value_from_v1(v: v1::config::Value) -> config::Value {
    match v {
        v1::config::Value::Text(s) => config::Value::Text(s),
        v1::config::Value::Integer(i) => config::Value::Integer(i),
        v1::config::Value::Number(n) => config::Value::Number(n),
        v1::config::Value::Boolean(b) => config::Value::Boolean(b),
    }
}

pub fn http_request_to_v1(r: http::Request) -> v1::http::Request {
    v1::http::Request {
        method: match r.method {
            http::Method::Get => v1::http::Method::Get,
            http::Method::Head => v1::http::Method::Head,
            http::Method::Post => v1::http::Method::Post,
            http::Method::Put => v1::http::Method::Put,
            http::Method::Patch => v1::http::Method::Patch,
            http::Method::Delete => v1::http::Method::Delete,
        },
        url: r.url,
        headers: r.headers,
        body: r.body,
        timeout_ms: r.timeout_ms,
        follow_redirects: r.follow_redirects,
    }
}

pub fn http_response_from_v1(r: v1::http::Response) -> http::Response {
    http::Response {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

pub fn http_error_from_v1(e: v1::http::HttpError) -> http::HttpError {
    use v1::http::HttpError as E;
    match e {
        E::Denied(d) => http::HttpError::Denied(http::Denial {
            origin: d.origin,
            reason: d.reason,
        }),
        E::Timeout(m) => http::HttpError::Timeout(m),
        E::TooLarge(n) => http::HttpError::TooLarge(n),
        E::Connect(m) => http::HttpError::Connect(m),
        E::Protocol(m) => http::HttpError::Protocol(m),
        E::UpstreamStatus(s) => http::HttpError::UpstreamStatus(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript() -> model::Transcript {
        model::Transcript {
            segments: vec![model::Segment {
                id: 4,
                start_ms: 1000,
                end_ms: 2500,
                channel: 1,
                speaker_id: Some("speaker-2".into()),
                text: "We ship Friday.".into(),
                words: vec![model::Word {
                    start_ms: 1000,
                    end_ms: 1200,
                    text: "We".into(),
                    probability: Some(0.9),
                }],
            }],
            speakers: vec![model::Speaker {
                id: "speaker-2".into(),
                name: "Tom".into(),
                channel: 1,
                voice: None,
            }],
            language: Some("en".into()),
        }
    }

    #[test]
    fn a_document_reaches_a_v0_2_exporter_with_ids_speakers_words_and_provenance() {
        let doc = model::Document {
            metadata: model::MeetingMetadata {
                id: "m".into(),
                title: "t".into(),
                ..Default::default()
            },
            transcript: transcript(),
            summary: Some(model::Summary {
                action_items: vec![model::ActionItem {
                    owner: Some("Tom".into()),
                    owner_speaker_id: Some("speaker-2".into()),
                    task: "Ship".into(),
                    due: Some("Friday".into()),
                    done: true,
                    citations: vec![model::Citation {
                        segment_id: 4,
                        at_ms: 1000,
                        meeting_id: None,
                    }],
                    grounding: model::Grounding::Supported,
                }],
                decisions: vec![model::Decision::uncited("Ship Friday")],
                ..Default::default()
            }),
            provenance: Some(model::DocumentProvenance {
                template: "template-standard".into(),
                template_version: "0.2.0".into(),
                provider: Some("ollama".into()),
                model: None,
                created_at: "2026-11-28T10:00:00Z".into(),
            }),
        };
        let w = document_to_wit(&doc);
        let seg = &w.transcript.segments[0];
        assert_eq!((seg.id, seg.speaker_id.as_deref()), (4, Some("speaker-2")));
        assert_eq!(seg.words[0].probability, Some(0.9));
        assert_eq!(w.metadata.speakers[0].name, "Tom");
        assert_eq!(w.transcript.speakers[0].name, "Tom");
        let s = w.summary.as_ref().expect("summary");
        assert!(s.action_items[0].done);
        assert_eq!(s.action_items[0].citations[0].segment_id, 4);
        assert!(matches!(
            s.decisions[0].grounding,
            types::Grounding::Uncited
        ));
        assert_eq!(
            w.provenance.expect("provenance").provider.as_deref(),
            Some("ollama")
        );
    }

    #[test]
    fn a_v0_2_summary_keeps_citations_and_grounding() {
        let back = summary_from_wit(summary_to_wit(&model::Summary {
            markdown: "m".into(),
            decisions: vec![model::Decision {
                text: "Ship".into(),
                citations: vec![model::Citation {
                    segment_id: 4,
                    at_ms: 1100,
                    meeting_id: Some("other".into()),
                }],
                grounding: model::Grounding::Unchecked,
            }],
            open_questions: vec![model::OpenQuestion::uncited("When?")],
            ..Default::default()
        }));
        assert_eq!(back.decisions[0].citations[0].at_ms, 1100);
        assert_eq!(
            back.decisions[0].citations[0].meeting_id.as_deref(),
            Some("other")
        );
        assert_eq!(back.decisions[0].grounding, model::Grounding::Unchecked);
        assert_eq!(back.open_questions[0].grounding, model::Grounding::Uncited);
    }

    #[test]
    fn a_v0_2_http_request_reaches_the_network_layer_unchanged_and_its_errors_come_back() {
        let r = http_request_to_v1(http::Request {
            method: http::Method::Patch,
            url: "https://api.example/v1".into(),
            headers: vec![("a".into(), "b".into())],
            body: Some(b"{}".to_vec()),
            timeout_ms: Some(5),
            follow_redirects: true,
        });
        assert!(matches!(r.method, v1::http::Method::Patch));
        assert_eq!(
            (
                r.url.as_str(),
                r.body.as_deref(),
                r.timeout_ms,
                r.follow_redirects
            ),
            ("https://api.example/v1", Some(&b"{}"[..]), Some(5), true)
        );
        match http_error_from_v1(v1::http::HttpError::Denied(v1::http::Denial {
            origin: "https://evil.example".into(),
            reason: "not granted".into(),
        })) {
            http::HttpError::Denied(d) => assert_eq!(d.origin, "https://evil.example"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            http_error_from_v1(v1::http::HttpError::TooLarge(9)),
            http::HttpError::TooLarge(9)
        ));
    }

    #[test]
    fn a_v0_2_provider_says_whether_it_enforces_schemas() {
        let info = provider_info_from_wit(types::ProviderInfo {
            id: "p".into(),
            name: "P".into(),
            models: vec![],
            default_model: "m".into(),
            data_policy: types::DataPolicy {
                retention: "none".into(),
                trains_on_data: types::Tristate::No,
                zero_retention_available: types::Tristate::Unknown,
                zero_retention_default: types::Tristate::Yes,
                region: None,
                certifications: vec![],
                sources: vec![],
                last_verified: None,
            },
            structured_output: types::SchemaSupport::Enforced,
        });
        assert_eq!(info.structured_output, model::SchemaSupport::Enforced);
        assert_eq!(info.data_policy.trains_on_data, model::Tristate::No);
    }

    #[test]
    fn response_formats_round_trip_with_their_schema() {
        let req = model::CompletionRequest {
            messages: vec![model::Message {
                role: model::Role::User,
                content: "hi".into(),
            }],
            model: Some("m".into()),
            max_tokens: Some(10),
            temperature: None,
            response_format: model::ResponseFormat::JsonSchema(model::JsonSchema {
                name: "meeting_summary".into(),
                schema: r#"{"type":"object"}"#.into(),
            }),
        };
        assert_eq!(request_from_wit(request_to_wit(&req)), req);
        let answer = answer_from_wit(types::Answer {
            markdown: "Yes.".into(),
            citations: vec![types::Citation {
                segment_id: 1,
                at_ms: 5,
                meeting_id: Some("m".into()),
            }],
            grounding: types::Grounding::Unchecked,
        });
        assert_eq!(answer.citations[0].meeting_id.as_deref(), Some("m"));
        let p = passage_to_wit(&model::Passage {
            meeting_id: "m".into(),
            meeting_title: "t".into(),
            started_at: "2026-11-28T10:00:00Z".into(),
            segments: transcript().segments,
            speakers: transcript().speakers,
        });
        assert_eq!(p.segments[0].id, 4);
    }
}
