//! Retries on 429 and 5xx: exponential backoff, or what the service's `Retry-After` asks for,
//! and never a wait that would not leave time for the next attempt within the call's budget.

use crate::budget::Budget;
use minutes_sdk::types::{PluginError, UpstreamError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// First backoff wait; doubled per attempt.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A retry is only worth it with at least this much time left after the wait.
const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

/// Statuses worth another try: rate limits, overload, and server errors.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// What one attempt produced.
pub enum Step<T> {
    Done(T),
    /// A retryable failure: `error` is what the user sees if no retry is left.
    Retry {
        after: Option<Duration>,
        error: PluginError,
    },
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110); `None` when absent or unreadable.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let at = http_date(v)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds.
fn http_date(s: &str) -> Option<u64> {
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, sec] = hms[..] else { return None };
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + (h * 3600 + m * 60 + sec) as i64).ok()
}

/// The wait before retry number `attempt` (0-based) when the service did not say.
pub fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.min(10))
        .min(MAX_BACKOFF)
}

/// Runs `attempt` until it is done, fails for good, or retries (`max_retries`) or the budget
/// run out. `attempt` gets the attempt number.
pub fn run<T>(
    budget: &Budget,
    max_retries: u32,
    mut attempt: impl FnMut(u32) -> Result<Step<T>, PluginError>,
) -> Result<T, PluginError> {
    let mut n = 0;
    loop {
        match attempt(n)? {
            Step::Done(v) => return Ok(v),
            Step::Retry { after, error } => {
                if n >= max_retries {
                    return Err(annotate(
                        error,
                        &format!(
                            "gave up after {} attempts (setting `max_retries` = {max_retries})",
                            n + 1
                        ),
                    ));
                }
                let wait = after.unwrap_or_else(|| backoff(n));
                if wait + MIN_ATTEMPT_TIME > budget.remaining() {
                    return Err(annotate(
                        error,
                        &format!(
                            "not retried: waiting {:.1} s would leave no time within the {} s budget (setting `timeout_secs`)",
                            wait.as_secs_f64(),
                            budget.total().as_secs()
                        ),
                    ));
                }
                minutes_sdk::log::info(&format!(
                    "attempt {} failed ({}); retrying in {:.1} s",
                    n + 1,
                    short(&error),
                    wait.as_secs_f64()
                ));
                std::thread::sleep(wait);
                n += 1;
            }
        }
    }
}

fn short(e: &PluginError) -> String {
    match e {
        PluginError::Upstream(u) => format!("status {}", u.status),
        PluginError::Network(m) => m.clone(),
        other => format!("{other:?}"),
    }
}

fn annotate(e: PluginError, note: &str) -> PluginError {
    match e {
        PluginError::Upstream(UpstreamError { status, message }) => {
            PluginError::Upstream(UpstreamError {
                status,
                message: format!("{message}; {note}"),
            })
        }
        PluginError::Network(m) => PluginError::Network(format!("{m}; {note}")),
        PluginError::Other(m) => PluginError::Other(format!("{m}; {note}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("1.5", now), Some(Duration::from_millis(1500)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        for bad in [
            "",
            "soon",
            "-3",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn a_wait_longer_than_the_budget_is_not_taken() {
        let budget = Budget::new(Duration::from_secs(5));
        let mut calls = 0;
        let err = run::<()>(&budget, 3, |_| {
            calls += 1;
            Ok(Step::Retry {
                after: Some(Duration::from_secs(60)),
                error: PluginError::Upstream(UpstreamError {
                    status: 429,
                    message: "slow down".into(),
                }),
            })
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        match err {
            PluginError::Upstream(u) => {
                assert_eq!(u.status, 429);
                assert!(
                    u.message.contains("slow down") && u.message.contains("60.0 s"),
                    "{}",
                    u.message
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_retry_when_none_are_allowed() {
        let budget = Budget::new(Duration::from_secs(60));
        let err = run::<()>(&budget, 0, |_| {
            Ok(Step::Retry {
                after: None,
                error: PluginError::Upstream(UpstreamError {
                    status: 503,
                    message: "busy".into(),
                }),
            })
        })
        .unwrap_err();
        let PluginError::Upstream(u) = err else {
            panic!()
        };
        assert!(
            u.message.contains("gave up after 1 attempts"),
            "{}",
            u.message
        );
    }
}
