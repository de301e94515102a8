//! The time one `complete` call may take (setting `timeout_secs`): every request gets what is
//! left of it, and retries wait only when the wait still fits.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    start: Instant,
    total: Duration,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        Budget {
            start: Instant::now(),
            total,
        }
    }

    pub fn total(&self) -> Duration {
        self.total
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn remaining(&self) -> Duration {
        self.total.saturating_sub(self.start.elapsed())
    }

    /// What is left, as an HTTP request deadline (at least 1 ms so a request is never unbounded).
    pub fn timeout_ms(&self) -> u32 {
        self.remaining().as_millis().clamp(1, u32::MAX as u128) as u32
    }
}
