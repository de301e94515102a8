//! The `template` kind: turn a transcript into a summary, calling [`crate::llm`] when it needs a
//! model (the host routes that to the provider the user chose), and answer questions over
//! passages the host found (`minutes ask`). A template that never calls `llm` works fully offline.

mod world {
    wit_bindgen::generate!({
        path: "../wit/v0.2",
        world: "minutes:plugin/template@0.2.0",
        with: {
            "minutes:plugin/types@0.2.0": crate::bindings::minutes::plugin::types,
            "minutes:plugin/log@0.2.0": crate::bindings::minutes::plugin::log,
            "minutes:plugin/config@0.2.0": crate::bindings::minutes::plugin::config,
            "minutes:plugin/llm@0.2.0": crate::bindings::minutes::plugin::llm,
        },
        export_macro_name: "__export_template_world",
        pub_export_macro: true,
        runtime_path: "::minutes_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub use world::*;

// Named by path: `world::*` above re-exports these names, and an import would shadow it.
use crate::types as t;

/// What a template implements: `info` and `summarize`, and `ask` when the default does not fit.
pub trait Template {
    fn info() -> t::TemplateInfo;

    /// The meeting's summary. Decisions, action items and open questions should cite the
    /// segments they come from (see [`crate::notes::citations`]); the host checks the citations.
    fn summarize(
        transcript: t::Transcript,
        metadata: t::MeetingMetadata,
    ) -> Result<t::Summary, t::PluginError>;

    /// Answers `question` from `passages` only. By default: when [`t::TemplateInfo::answers_questions`]
    /// is set, the SDK's prompt through the user's model ([`crate::answer::run`]); otherwise
    /// [`crate::answer::not_answered`], after which the host lists the passages instead.
    fn ask(question: String, passages: Vec<t::Passage>) -> Result<t::Answer, t::PluginError> {
        let info = Self::info();
        if info.answers_questions {
            crate::answer::run(&info.id, &question, &passages)
        } else {
            Err(crate::answer::not_answered(&info.id))
        }
    }
}

impl<T: Template> world::Guest for T {
    fn info() -> t::TemplateInfo {
        <T as Template>::info()
    }
    fn summarize(
        transcript: t::Transcript,
        metadata: t::MeetingMetadata,
    ) -> Result<t::Summary, t::PluginError> {
        <T as Template>::summarize(transcript, metadata)
    }
    fn ask(question: String, passages: Vec<t::Passage>) -> Result<t::Answer, t::PluginError> {
        <T as Template>::ask(question, passages)
    }
}

/// Exports `$ty` (which implements [`Template`]) as this plugin's template.
#[macro_export]
macro_rules! export_template {
    ($ty:ident) => {
        $crate::template::__export_template_world!($ty with_types_in $crate::template);
    };
}
pub use crate::export_template;
