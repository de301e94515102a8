//! Messages for the user's log; the host prefixes them with the plugin's id.
//!
//! ```no_run
//! minutes_sdk::log::info("exported 3 files");
//! ```

use crate::bindings::minutes::plugin::log::{Level, log};

pub fn trace(message: &str) {
    log(Level::Trace, message)
}
pub fn debug(message: &str) {
    log(Level::Debug, message)
}
pub fn info(message: &str) {
    log(Level::Info, message)
}
pub fn warn(message: &str) {
    log(Level::Warn, message)
}
pub fn error(message: &str) {
    log(Level::Error, message)
}
