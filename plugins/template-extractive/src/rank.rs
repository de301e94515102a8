//! Key sentences by TextRank: sentences that share content words with many others rank high.
//! Deterministic: fixed iterations, ties broken by position.

use std::collections::HashSet;

/// Indexes of the `k` best-ranked sentences among those with at least `min_words` content words,
/// in their original order.
pub fn key_sentences(words: &[Vec<String>], k: usize, min_words: usize) -> Vec<usize> {
    let candidates: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].len() >= min_words)
        .collect();
    if candidates.len() <= k {
        return candidates;
    }
    let sets: Vec<HashSet<&str>> = candidates
        .iter()
        .map(|&i| words[i].iter().map(String::as_str).collect())
        .collect();
    let n = sets.len();
    // Edge weights as in TextRank (Mihalcea & Tarau 2004): shared words over log lengths.
    let mut weights = vec![vec![0f64; n]; n];
    for a in 0..n {
        for b in a + 1..n {
            let shared = sets[a].intersection(&sets[b]).count();
            if shared > 0 {
                let w = shared as f64
                    / ((sets[a].len() as f64).ln_1p() + (sets[b].len() as f64).ln_1p());
                weights[a][b] = w;
                weights[b][a] = w;
            }
        }
    }
    let out_sum: Vec<f64> = weights.iter().map(|row| row.iter().sum()).collect();
    let damping = 0.85;
    let mut score = vec![1.0; n];
    for _ in 0..40 {
        let next: Vec<f64> = (0..n)
            .map(|b| {
                let incoming: f64 = (0..n)
                    .filter(|&a| out_sum[a] > 0.0)
                    .map(|a| weights[a][b] / out_sum[a] * score[a])
                    .sum();
                (1.0 - damping) + damping * incoming
            })
            .collect();
        score = next;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut picked: Vec<usize> = order.into_iter().take(k).map(|i| candidates[i]).collect();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn central_sentences_win_and_order_is_kept() {
        let words = vec![
            w("launch date march moves"),
            w("weather nice today sunny"),
            w("launch march seventeenth date agreed"),
            w("pizza lunch order"),
            w("launch date crash rate march"),
        ];
        assert_eq!(key_sentences(&words, 2, 3), vec![0, 2]);
        assert_eq!(
            key_sentences(&words, 2, 3),
            key_sentences(&words, 2, 3),
            "deterministic"
        );
        assert_eq!(
            key_sentences(&words, 10, 5),
            vec![2, 4],
            "short sentences are not candidates"
        );
    }
}
