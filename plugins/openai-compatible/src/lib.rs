//! Chat completions against any OpenAI-compatible server the user chooses (llama.cpp, vLLM,
//! LM Studio, a company gateway). Everything is in `provider-common`; the manifest says what
//! this plugin may do: nothing on the network until the user grants their endpoint's origin.
provider_common::export_openai_preset!(OpenAiCompatible, include_str!("../plugin.toml"));
