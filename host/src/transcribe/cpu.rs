//! How many threads whisper should use for the next window: the cores that other programs
//! leave free, at most the configured number.
//!
//! Why: ggml's threads wait for each other at a spinning barrier after every operation. With
//! more runnable threads than cores (a call, a browser, a build beside the recording), a thread
//! that is descheduled keeps the others spinning for its whole time slice: measured with tiny.en
//! on a 2-core machine with one core kept busy, 2 threads took 4.2x their quiet time and 2.5x
//! what one thread took beside the same load. One thread per free core does not fight the other
//! program. Waiting barriers instead (OpenMP with a passive wait policy) lost 50 % in quiet runs,
//! and still lost against one thread under load.

use std::time::{Duration, Instant};

/// Two readings of the machine's and this process's CPU time tell how busy the other programs
/// kept the cores in between.
#[derive(Debug)]
pub struct CpuShare {
    last: Option<Reading>,
    chosen: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    /// Ticks every CPU spent busy, summed over CPUs (user, nice, system, irq, softirq, steal).
    busy: u64,
    /// All ticks summed over CPUs, idle included.
    all: u64,
    /// Ticks this process spent (user + system, all its threads).
    own: u64,
    cpus: usize,
}

/// Readings closer together than this say little (a tick is 10 ms).
const MIN_SPAN: Duration = Duration::from_millis(100);

/// A core counts as free when others leave at least this much of it, so that background work
/// (an idle browser, the recorder's own threads of another process) does not halve the
/// threads, while a program that keeps a core mostly busy does. A choice, not a measurement.
const FREE_ENOUGH: f64 = 0.75;

impl CpuShare {
    pub fn new() -> Self {
        CpuShare {
            last: read(),
            chosen: None,
        }
    }

    /// Threads for the next whisper call: `max` on a quiet machine, fewer (at least one) when
    /// other programs keep cores busy. Where /proc cannot be read, `max`.
    pub fn threads(&mut self, max: usize) -> usize {
        let max = max.max(1);
        if max == 1 {
            return 1;
        }
        let Some(earlier) = self.last else {
            return max;
        };
        if self.chosen.is_none() && earlier.at.elapsed() < MIN_SPAN {
            // The first window: no history yet, so look for a moment.
            std::thread::sleep(MIN_SPAN - earlier.at.elapsed());
        }
        let Some(now) = read() else {
            return max;
        };
        if now.at.duration_since(earlier.at) < MIN_SPAN {
            // Too short to say anything new: keep the last choice, measure over a longer span.
            return self.chosen.unwrap_or(max);
        }
        self.last = Some(now);
        let threads = match others_busy(&earlier, &now) {
            Some(busy) => free_threads(now.cpus, busy, max),
            None => max,
        };
        if self.chosen != Some(threads) {
            tracing::debug!(threads, "whisper threads chosen from the free cores");
        }
        self.chosen = Some(threads);
        threads
    }
}

impl Default for CpuShare {
    fn default() -> Self {
        Self::new()
    }
}

/// Cores' worth of CPU that other processes used between two readings.
fn others_busy(a: &Reading, b: &Reading) -> Option<f64> {
    let all = b.all.checked_sub(a.all)?;
    let busy = b.busy.checked_sub(a.busy)?;
    let own = b.own.checked_sub(a.own)?;
    if all == 0 || b.cpus == 0 {
        return None;
    }
    let span = all as f64 / b.cpus as f64;
    Some((busy.saturating_sub(own)) as f64 / span)
}

/// Whole cores left free by `busy` cores' worth of other work, between 1 and `max`.
fn free_threads(cpus: usize, busy: f64, max: usize) -> usize {
    let free = (cpus as f64 - busy).max(0.0);
    let whole = (free + (1.0 - FREE_ENOUGH)).floor() as usize;
    whole.clamp(1, max)
}

fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse(&stat, &own, Instant::now())
}

fn parse(stat: &str, own: &str, at: Instant) -> Option<Reading> {
    let total = stat.lines().find(|l| l.starts_with("cpu "))?;
    let t: Vec<u64> = total
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let field = |i: usize| t.get(i).copied().unwrap_or(0);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
    let all = busy + field(3) + field(4);
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &own[own.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12th and 13th after the name.
    let own = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Reading {
        at,
        busy,
        all,
        own,
        cpus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(busy_user: u64, idle: u64) -> String {
        format!(
            "cpu  {busy_user} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 5\n"
        )
    }

    fn own(utime: u64, stime: u64) -> String {
        format!("4242 (minutes (x) y) R 1 1 1 0 -1 4194304 100 0 0 0 {utime} {stime} 0 0 20 0 3 0")
    }

    #[test]
    fn readings_are_parsed_from_proc_including_odd_command_names() {
        let r = parse(&stat(300, 100), &own(40, 2), Instant::now()).expect("parsed");
        assert_eq!((r.busy, r.all, r.own, r.cpus), (300, 400, 42, 2));
        assert!(parse("intr 5\n", &own(1, 1), Instant::now()).is_none());
        assert!(parse(&stat(1, 1), "garbage", Instant::now()).is_none());
    }

    #[test]
    fn another_programs_busy_core_is_told_apart_from_our_own_work() {
        let at = Instant::now();
        // 1 s on 2 CPUs = 200 ticks; both cores busy, 100 ticks of it ours: one core is others'.
        let a = parse(&stat(1000, 1000), &own(0, 0), at).expect("a");
        let b = parse(&stat(1200, 1000), &own(90, 10), at).expect("b");
        let busy = others_busy(&a, &b).expect("busy");
        assert!((busy - 1.0).abs() < 1e-9, "{busy}");
        assert_eq!(free_threads(2, busy, 2), 1);
        // All of it ours: nothing else runs, both threads.
        let c = parse(&stat(1400, 1000), &own(300, 0), at).expect("c");
        assert_eq!(free_threads(2, others_busy(&b, &c).expect("quiet"), 2), 2);
    }

    #[test]
    fn threads_follow_the_free_cores_within_the_configured_range() {
        let cases = [
            // (cpus, others' cores busy, max) -> threads
            ((2, 0.0, 2), 2),
            ((2, 0.2, 2), 2),
            ((2, 0.3, 2), 1),
            ((2, 1.0, 2), 1),
            ((2, 2.0, 2), 1),
            ((2, 3.5, 2), 1),
            ((4, 1.0, 4), 3),
            ((4, 1.0, 2), 2),
            ((8, 0.1, 4), 4),
            ((8, 5.9, 4), 2),
            ((1, 0.0, 4), 1),
        ];
        for ((cpus, busy, max), want) in cases {
            assert_eq!(free_threads(cpus, busy, max), want, "{cpus} {busy} {max}");
        }
    }

    #[test]
    fn busy_processes_beside_us_leave_whisper_fewer_threads() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 {
            return;
        }
        let mut share = CpuShare::new();
        let spinners: Vec<_> = (0..cpus)
            .filter_map(|_| {
                std::process::Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .spawn()
                    .ok()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        let threads = share.threads(cpus);
        for mut s in spinners {
            let _ = s.kill();
            let _ = s.wait();
        }
        assert!(
            threads < cpus,
            "{cpus} busy processes, yet all {threads} threads chosen"
        );
    }

    #[test]
    fn one_configured_thread_is_never_measured() {
        let mut share = CpuShare {
            last: None,
            chosen: None,
        };
        assert_eq!(share.threads(1), 1);
        assert_eq!(share.threads(0), 1);
        assert_eq!(share.threads(3), 3, "no reading: the configured number");
    }
}
