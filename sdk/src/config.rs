//! The plugin's settings: the user's values over the defaults declared in `plugin.toml`.
//!
//! ```no_run
//! let heading = minutes_sdk::config::string("heading").unwrap_or_else(|| "Notes".into());
//! let with_timestamps = minutes_sdk::config::boolean("timestamps").unwrap_or(true);
//! ```

pub use crate::bindings::minutes::plugin::config::{Value, get};

/// A text setting; `None` when unset or of another type.
pub fn string(key: &str) -> Option<String> {
    match get(key)? {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

/// A boolean setting; `None` when unset or of another type.
pub fn boolean(key: &str) -> Option<bool> {
    match get(key)? {
        Value::Boolean(b) => Some(b),
        _ => None,
    }
}

/// An integer setting; `None` when unset or of another type.
pub fn integer(key: &str) -> Option<i64> {
    match get(key)? {
        Value::Integer(i) => Some(i),
        _ => None,
    }
}

/// A number setting (integers are widened); `None` when unset or of another type.
pub fn number(key: &str) -> Option<f64> {
    match get(key)? {
        Value::Number(n) => Some(n),
        Value::Integer(i) => Some(i as f64),
        _ => None,
    }
}
