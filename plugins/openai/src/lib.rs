//! OpenAI's chat-completions API (not the Responses API). OpenAI wants the answer limit in
//! `max_completion_tokens`.
provider_common::export_openai_preset!(
    OpenAi,
    include_str!("../plugin.toml"),
    provider_common::openai::Dialect {
        max_tokens_field: "max_completion_tokens",
        secret: Some("api-key")
    }
);
