//! What the first-party provider plugins share. The OpenAI chat-completions client ([`openai`])
//! is the whole of the `openai-compatible`, `fireworks`, `openai`, `groq` and `openrouter`
//! plugins: each preset crate is its `plugin.toml` (origin, default model, context window, data
//! policy) plus one [`export_openai_preset!`] line. `anthropic` and `ollama` speak their own
//! protocols with the same pieces: [`transport`], [`sse`]/[`lines`] parsing, [`retry`], [`errors`],
//! [`budget`], and the request and usage helpers of [`openai`].

pub mod budget;
pub mod errors;
pub mod lines;
pub mod manifest;
pub mod openai;
pub mod retry;
pub mod settings;
pub mod sse;
pub mod structured;
pub mod transport;

pub use minutes_sdk;

/// Exports an OpenAI chat-completions provider described by the crate's `plugin.toml`.
///
/// ```ignore
/// provider_common::export_openai_preset!(Fireworks, include_str!("../plugin.toml"));
/// ```
#[macro_export]
macro_rules! export_openai_preset {
    ($ty:ident, $manifest:expr) => {
        $crate::export_openai_preset!($ty, $manifest, $crate::openai::Dialect::default());
    };
    ($ty:ident, $manifest:expr, $dialect:expr) => {
        struct $ty;
        impl $crate::minutes_sdk::provider::Provider for $ty {
            fn info() -> $crate::minutes_sdk::types::ProviderInfo {
                $crate::openai::info(&$crate::manifest::Facts::parse($manifest))
            }
            fn complete(
                request: $crate::minutes_sdk::types::CompletionRequest,
            ) -> Result<
                $crate::minutes_sdk::types::Completion,
                $crate::minutes_sdk::types::PluginError,
            > {
                $crate::openai::complete(
                    &$crate::manifest::Facts::parse($manifest),
                    &$dialect,
                    request,
                )
            }
        }
        $crate::minutes_sdk::provider::export_provider!($ty);
    };
}
