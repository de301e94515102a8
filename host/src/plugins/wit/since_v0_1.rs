//! Contract v0.1 (`wit/v0.1`, frozen as released): its bindings and the conversions between its
//! types and the host model. The host interfaces are generated once; each world's bindings
//! reuse them and add only its exports.

/// Every interface the host implements, with the shared data types.
pub mod host {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        inline: "
            package minutes:host;
            world host-interfaces {
                import minutes:plugin/log@0.1.0;
                import minutes:plugin/config@0.1.0;
                import minutes:plugin/http@0.1.0;
                import minutes:plugin/llm@0.1.0;
            }
        ",
        world: "minutes:host/host-interfaces",
        imports: { default: async | trappable },
        with: {
            "minutes:plugin/http.response-stream": crate::plugins::net::ResponseStream,
        },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

pub use host::minutes::plugin::types;

macro_rules! world_bindings {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit/v0.1",
                world: $world,
                exports: { default: async },
                imports: { default: async | trappable },
                with: {
                    "minutes:plugin": crate::plugins::wit::since_v0_1::host::minutes::plugin,
                },
            });
        }
    };
}

world_bindings!(provider, "minutes:plugin/provider@0.1.0");
world_bindings!(template, "minutes:plugin/template@0.1.0");
world_bindings!(exporter, "minutes:plugin/exporter@0.1.0");
world_bindings!(
    networked_exporter,
    "minutes:plugin/networked-exporter@0.1.0"
);

use crate::model;
use host::minutes::plugin::llm;

// Host model -> v0.1: what a v0.1 plugin is given.

/// A v0.1 segment names its speaker by display name; the id is the host's.
pub fn transcript_to_wit(t: &model::Transcript) -> types::Transcript {
    types::Transcript {
        segments: t
            .segments
            .iter()
            .map(|s| types::Segment {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                channel: s.channel,
                speaker: t.speaker_name(s).map(str::to_string),
                text: s.text.clone(),
            })
            .collect(),
        language: t.language.clone(),
    }
}

pub fn metadata_to_wit(m: &model::MeetingMetadata) -> types::MeetingMetadata {
    types::MeetingMetadata {
        id: m.id.clone(),
        title: m.title.clone(),
        started_at: m.started_at.clone(),
        duration_ms: m.duration_ms,
        labels: m.labels.clone(),
        language: m.language.clone(),
        channel_names: m.channel_names.clone(),
    }
}

/// Decisions and open questions lose their citations: v0.1 has only their text.
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
                task: a.task.clone(),
                due: a.due.clone(),
            })
            .collect(),
        decisions: s.decisions.iter().map(|d| d.text.clone()).collect(),
        open_questions: s.open_questions.iter().map(|q| q.text.clone()).collect(),
    }
}

pub fn document_to_wit(d: &model::Document) -> types::Document {
    types::Document {
        metadata: metadata_to_wit(&d.metadata),
        transcript: transcript_to_wit(&d.transcript),
        summary: d.summary.as_ref().map(summary_to_wit),
    }
}

/// A response format v0.1 cannot say is asked as a JSON object: a v0.1 provider prompts for the
/// shape and the host validates the answer either way.
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
        json_output: !matches!(r.response_format, model::ResponseFormat::Text),
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

// v0.1 -> host model: what a v0.1 plugin returns.

fn tristate_from_wit(t: types::Tristate) -> model::Tristate {
    match t {
        types::Tristate::Yes => model::Tristate::Yes,
        types::Tristate::No => model::Tristate::No,
        types::Tristate::Unknown => model::Tristate::Unknown,
    }
}

/// A v0.1 provider cannot be asked to enforce a schema: it is `prompt-only`.
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
        structured_output: model::SchemaSupport::PromptOnly,
    }
}

/// A v0.1 template has no `ask`.
pub fn template_info_from_wit(i: types::TemplateInfo) -> model::TemplateInfo {
    model::TemplateInfo {
        id: i.id,
        name: i.name,
        description: i.description,
        uses_llm: i.uses_llm,
        answers_questions: false,
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

/// A v0.1 template's decisions, action items and open questions cite nothing: they become
/// items graded `uncited`, shown as such and never dropped.
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
                owner_speaker_id: None,
                task: a.task,
                due: a.due,
                done: false,
                citations: Vec::new(),
                grounding: model::Grounding::Uncited,
            })
            .collect(),
        decisions: s
            .decisions
            .into_iter()
            .map(model::Decision::uncited)
            .collect(),
        open_questions: s
            .open_questions
            .into_iter()
            .map(model::OpenQuestion::uncited)
            .collect(),
    }
}

/// v0.1 `json-output` is the latest `json-object` format.
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
        response_format: if r.json_output {
            model::ResponseFormat::JsonObject
        } else {
            model::ResponseFormat::Text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v0_1_summary_keeps_every_item_as_uncited() {
        let s = summary_from_wit(types::Summary {
            markdown: "m".into(),
            sections: vec![],
            action_items: vec![types::ActionItem {
                owner: Some("Sam".into()),
                task: "Draft".into(),
                due: None,
            }],
            decisions: vec!["Ship".into(), "Ship".into()],
            open_questions: vec!["Price?".into()],
        });
        assert_eq!(s.decisions.len(), 2);
        assert!(
            s.decisions
                .iter()
                .all(|d| d.grounding == model::Grounding::Uncited)
        );
        assert_eq!(s.action_items[0].grounding, model::Grounding::Uncited);
        assert_eq!(s.open_questions[0].text, "Price?");
        let back = summary_to_wit(&s);
        assert_eq!(back.decisions, ["Ship", "Ship"]);
        assert_eq!(back.action_items[0].owner.as_deref(), Some("Sam"));
    }

    #[test]
    fn a_v0_1_segment_names_its_speaker() {
        let t = model::Transcript {
            segments: vec![model::Segment {
                id: 3,
                start_ms: 0,
                end_ms: 1,
                channel: 1,
                speaker_id: Some("speaker-1".into()),
                text: "hi".into(),
                words: vec![],
            }],
            speakers: vec![model::Speaker {
                id: "speaker-1".into(),
                name: "Tom".into(),
                channel: 1,
                voice: None,
            }],
            language: None,
        };
        assert_eq!(
            transcript_to_wit(&t).segments[0].speaker.as_deref(),
            Some("Tom")
        );
    }

    #[test]
    fn a_v0_1_provider_is_prompt_only_and_a_v0_1_template_answers_no_questions() {
        let info = provider_info_from_wit(types::ProviderInfo {
            id: "p".into(),
            name: "P".into(),
            models: vec![types::ModelInfo {
                id: "m".into(),
                context_window: 8192,
                max_output: 512,
            }],
            default_model: "m".into(),
            data_policy: types::DataPolicy {
                retention: "none".into(),
                trains_on_data: types::Tristate::No,
                zero_retention_available: types::Tristate::Unknown,
                zero_retention_default: types::Tristate::Yes,
                region: Some("eu".into()),
                certifications: vec![],
                sources: vec![],
                last_verified: None,
            },
        });
        assert_eq!(info.structured_output, model::SchemaSupport::PromptOnly);
        assert_eq!(info.models[0].context_window, 8192);
        assert_eq!(info.data_policy.region.as_deref(), Some("eu"));
        let t = template_info_from_wit(types::TemplateInfo {
            id: "t".into(),
            name: "T".into(),
            description: String::new(),
            uses_llm: true,
        });
        assert!(t.uses_llm && !t.answers_questions);
    }

    #[test]
    fn json_output_is_the_json_object_format_both_ways() {
        let r = types::CompletionRequest {
            messages: vec![],
            model: None,
            max_tokens: None,
            temperature: None,
            json_output: true,
        };
        let m = request_from_wit(r);
        assert_eq!(m.response_format, model::ResponseFormat::JsonObject);
        assert!(request_to_wit(&m).json_output);
        let schema = model::CompletionRequest {
            response_format: model::ResponseFormat::JsonSchema(model::JsonSchema {
                name: "s".into(),
                schema: "{}".into(),
            }),
            ..m
        };
        assert!(request_to_wit(&schema).json_output);
    }
}
