//! OpenRouter through its OpenAI-compatible chat-completions API.
provider_common::export_openai_preset!(OpenRouter, include_str!("../plugin.toml"));
