//! JSON in and out of plugin data, mapping failures to [`PluginError`].
//!
//! ```
//! use minutes_sdk::types::ActionItem;
//! let item = ActionItem { owner: Some("Sam".into()), ..ActionItem::new("Draft the post") };
//! let text = minutes_sdk::json::to_string(&item).unwrap();
//! let back: ActionItem = minutes_sdk::json::from_str(&text).unwrap();
//! assert_eq!(back, item);
//! ```

use crate::types::PluginError;
use serde::{Serialize, de::DeserializeOwned};

pub fn to_string<T: Serialize>(value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::Other(format!("cannot encode JSON: {e}")))
}

pub fn to_string_pretty<T: Serialize>(value: &T) -> Result<String, PluginError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| PluginError::Other(format!("cannot encode JSON: {e}")))
}

/// Parses JSON that came from outside (a model's answer, an HTTP body).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::InvalidInput(format!("malformed JSON: {e}")))
}

pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PluginError> {
    serde_json::from_slice(bytes)
        .map_err(|e| PluginError::InvalidInput(format!("malformed JSON: {e}")))
}
