//! Diarization error rate, scored as the models' reference tool `der.py` does: 1 ms frames,
//! overlapped speech scored, an optimal one-to-one mapping of hypothesis to reference speakers,
//! the region from 0 to the last end of either side, and no scoring within `collar` of a
//! reference boundary.

/// (start s, end s, speaker) turns, e.g. from an RTTM file.
pub type Rttm = Vec<(f64, f64, String)>;

pub fn parse_rttm(text: &str) -> Rttm {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 || f[0] != "SPEAKER" {
                return None;
            }
            let start: f64 = f[3].parse().ok()?;
            let dur: f64 = f[4].parse().ok()?;
            Some((start, start + dur, f[7].to_string()))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Score {
    /// Scored reference speaker time, seconds.
    pub total_s: f64,
    pub missed_s: f64,
    pub false_alarm_s: f64,
    pub confusion_s: f64,
}

impl Score {
    pub fn der(&self) -> f64 {
        if self.total_s <= 0.0 {
            return 0.0;
        }
        (self.missed_s + self.false_alarm_s + self.confusion_s) / self.total_s
    }

    pub fn add(&mut self, other: &Score) {
        self.total_s += other.total_s;
        self.missed_s += other.missed_s;
        self.false_alarm_s += other.false_alarm_s;
        self.confusion_s += other.confusion_s;
    }
}

fn speakers(turns: &Rttm) -> Vec<String> {
    let mut s: Vec<String> = Vec::new();
    for (_, _, n) in turns {
        if !s.contains(n) {
            s.push(n.clone());
        }
    }
    s
}

fn ms(t: f64) -> usize {
    (t * 1000.0).round().max(0.0) as usize
}

/// Best one-to-one mapping maximising the summed overlap (`overlap[r][h]`): exhaustive for the
/// small counts of a meeting.
fn best_mapping(overlap: &[Vec<u64>]) -> Vec<Option<usize>> {
    let nh = overlap.first().map_or(0, Vec::len);
    fn go(
        o: &[Vec<u64>],
        nh: usize,
        r: usize,
        used: &mut Vec<bool>,
        cur: &mut Vec<Option<usize>>,
        val: u64,
        best: &mut (u64, Vec<Option<usize>>),
    ) {
        if r == o.len() {
            if val >= best.0 {
                *best = (val, cur.clone());
            }
            return;
        }
        for h in 0..nh {
            if !used[h] && o[r][h] > 0 {
                used[h] = true;
                cur.push(Some(h));
                go(o, nh, r + 1, used, cur, val + o[r][h], best);
                cur.pop();
                used[h] = false;
            }
        }
        cur.push(None);
        go(o, nh, r + 1, used, cur, val, best);
        cur.pop();
    }
    let mut best = (0, vec![None; overlap.len()]);
    go(
        overlap,
        nh,
        0,
        &mut vec![false; nh],
        &mut Vec::new(),
        0,
        &mut best,
    );
    best.1
}

pub fn score(reference: &Rttm, hypothesis: &Rttm, collar_s: f64) -> Score {
    let rs = speakers(reference);
    let hs = speakers(hypothesis);
    let end = reference
        .iter()
        .chain(hypothesis)
        .map(|t| ms(t.1))
        .max()
        .unwrap_or(0);
    let mut scored = vec![true; end];
    if collar_s > 0.0 {
        let c = ms(collar_s);
        for (s, e, _) in reference {
            for b in [ms(*s), ms(*e)] {
                for f in scored
                    .iter_mut()
                    .take((b + c).min(end))
                    .skip(b.saturating_sub(c))
                {
                    *f = false;
                }
            }
        }
    }
    let fill = |turns: &Rttm, names: &[String]| {
        let mut m = vec![vec![false; end]; names.len()];
        for (s, e, n) in turns {
            if let Some(i) = names.iter().position(|x| x == n) {
                for f in m[i].iter_mut().take(ms(*e).min(end)).skip(ms(*s)) {
                    *f = true;
                }
            }
        }
        m
    };
    let r = fill(reference, &rs);
    let h = fill(hypothesis, &hs);
    let overlap: Vec<Vec<u64>> = r
        .iter()
        .map(|rv| {
            h.iter()
                .map(|hv| (0..end).filter(|&f| scored[f] && rv[f] && hv[f]).count() as u64)
                .collect()
        })
        .collect();
    let mapping = best_mapping(&overlap);
    let mut out = Score::default();
    for f in 0..end {
        if !scored[f] {
            continue;
        }
        let nr = r.iter().filter(|v| v[f]).count();
        let nh = h.iter().filter(|v| v[f]).count();
        let correct = mapping
            .iter()
            .enumerate()
            .filter(|&(ri, m)| r[ri][f] && matches!(*m, Some(hi) if h[hi][f]))
            .count();
        out.total_s += nr as f64;
        out.missed_s += nr.saturating_sub(nh) as f64;
        out.false_alarm_s += nh.saturating_sub(nr) as f64;
        out.confusion_s += (nr.min(nh) - correct) as f64;
    }
    for v in [
        &mut out.total_s,
        &mut out.missed_s,
        &mut out.false_alarm_s,
        &mut out.confusion_s,
    ] {
        *v /= 1000.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64, e: f64, n: &str) -> (f64, f64, String) {
        (s, e, n.to_string())
    }

    #[test]
    fn der_counts_miss_false_alarm_and_confusion_after_the_best_mapping() {
        let reference = vec![t(0.0, 10.0, "A"), t(10.0, 20.0, "B")];
        // Names differ but map one to one: perfect.
        let same = vec![t(0.0, 10.0, "x"), t(10.0, 20.0, "y")];
        assert!(score(&reference, &same, 0.0).der() < 1e-9);
        // One speaker for all: half the time confused.
        let merged = vec![t(0.0, 20.0, "x")];
        assert!((score(&reference, &merged, 0.0).der() - 0.5).abs() < 1e-6);
        // 2 s missed at the end, scored with and without a collar.
        let short = vec![t(0.0, 10.0, "x"), t(10.0, 18.0, "y")];
        assert!((score(&reference, &short, 0.0).der() - 0.1).abs() < 1e-6);
        let collared = score(&reference, &short, 0.25);
        assert!((collared.missed_s - 1.75).abs() < 1e-6, "{collared:?}");
    }
}
