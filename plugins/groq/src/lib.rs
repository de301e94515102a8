//! Groq through its OpenAI-compatible chat-completions API.
provider_common::export_openai_preset!(Groq, include_str!("../plugin.toml"));
