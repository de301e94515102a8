//! The settings every first-party provider reads (declared with defaults in its plugin.toml;
//! the user overrides them under `[plugins.<id>]` in config.toml).

use minutes_sdk::config;
use minutes_sdk::types::PluginError;
use std::time::Duration;

/// Setting names, shared with the host's documentation and `minutes providers`.
pub mod keys {
    pub const BASE_URL: &str = "base_url";
    pub const MODEL: &str = "model";
    pub const STREAM: &str = "stream";
    pub const CONTEXT_WINDOW: &str = "context_window";
    pub const MAX_OUTPUT: &str = "max_output";
    pub const TIMEOUT_SECS: &str = "timeout_secs";
    pub const MAX_RETRIES: &str = "max_retries";
    pub const JSON_MODE: &str = "json_mode";
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub model: String,
    pub stream: bool,
    pub context_window: u32,
    pub max_output: u32,
    pub timeout: Duration,
    pub max_retries: u32,
    /// Ask for JSON output (`response_format`) when a request wants it.
    pub json_mode: bool,
}

fn positive(key: &str, default: i64, max: i64) -> Result<i64, PluginError> {
    let v = config::integer(key).unwrap_or(default);
    if v < 1 || v > max {
        return Err(PluginError::Config(format!(
            "`{key}` = {v} must be between 1 and {max}"
        )));
    }
    Ok(v)
}

impl Settings {
    /// The model a request names, else the `model` setting.
    pub fn model_for(&self, request: &minutes_sdk::types::CompletionRequest) -> String {
        request
            .model
            .clone()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| self.model.clone())
    }

    /// Reads the settings; `fallback_base_url` is used when the manifest declares none.
    pub fn read(fallback_base_url: &str) -> Result<Settings, PluginError> {
        let base_url =
            config::string(keys::BASE_URL).unwrap_or_else(|| fallback_base_url.to_string());
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if base_url.is_empty() {
            return Err(PluginError::Config(format!(
                "`{}` is not set: set it to your endpoint, e.g. base_url = \"http://127.0.0.1:8080/v1\"",
                keys::BASE_URL
            )));
        }
        if !(base_url.starts_with("https://") || base_url.starts_with("http://"))
            || base_url.contains(['?', '#', ' '])
        {
            return Err(PluginError::Config(format!(
                "`{}` = {base_url:?} is not an http(s) URL such as https://api.example.com/v1",
                keys::BASE_URL
            )));
        }
        let model = config::string(keys::MODEL)
            .unwrap_or_default()
            .trim()
            .to_string();
        if model.is_empty() {
            return Err(PluginError::Config(format!(
                "`{}` is not set: name the model to use",
                keys::MODEL
            )));
        }
        let context_window = positive(keys::CONTEXT_WINDOW, 8192, 100_000_000)? as u32;
        let max_output = positive(keys::MAX_OUTPUT, 4096, 10_000_000)? as u32;
        if max_output >= context_window {
            return Err(PluginError::Config(format!(
                "`{}` = {max_output} must be smaller than `{}` = {context_window}",
                keys::MAX_OUTPUT,
                keys::CONTEXT_WINDOW
            )));
        }
        Ok(Settings {
            base_url,
            model,
            stream: config::boolean(keys::STREAM).unwrap_or(true),
            context_window,
            max_output,
            timeout: Duration::from_secs(positive(keys::TIMEOUT_SECS, 300, 3600)? as u64),
            max_retries: config::integer(keys::MAX_RETRIES).unwrap_or(3).clamp(0, 10) as u32,
            json_mode: config::boolean(keys::JSON_MODE).unwrap_or(true),
        })
    }
}
