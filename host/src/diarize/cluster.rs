//! Linking the local speakers of every window into speakers of the whole recording:
//! average-linkage agglomerative clustering on cosine distance.

/// Average-linkage clustering of L2-normalised rows (nearest-neighbour chain: O(n²) time and
/// memory). Stops before the first merge farther than `threshold`, or at `clusters` clusters.
/// Returns a label 0..k per row.
pub fn average_linkage(x: &[Vec<f32>], threshold: f32, clusters: Option<usize>) -> Vec<usize> {
    let n = x.len();
    if n <= 1 {
        return vec![0; n];
    }
    let mut d = vec![f32::INFINITY; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v = 1.0 - dot(&x[i], &x[j]);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    let mut size = vec![1.0f32; n];
    let mut active = vec![true; n];
    let mut remaining = n;
    let mut merges: Vec<(f32, usize, usize)> = Vec::with_capacity(n - 1);
    let mut chain: Vec<usize> = Vec::new();
    while remaining > 1 {
        if chain.is_empty() {
            chain.push(active.iter().position(|&a| a).unwrap_or(0));
        }
        let a = chain[chain.len() - 1];
        let row = &d[a * n..(a + 1) * n];
        let mut b = usize::MAX;
        let mut best = f32::INFINITY;
        for (j, &v) in row.iter().enumerate() {
            if j != a && active[j] && (v < best || b == usize::MAX) {
                best = v;
                b = j;
            }
        }
        if chain.len() > 1 {
            let prev = chain[chain.len() - 2];
            if row[prev] <= best {
                b = prev;
            }
        }
        if chain.len() > 1 && b == chain[chain.len() - 2] {
            chain.pop();
            chain.pop();
            merges.push((d[a * n + b], a, b));
            let (na, nb) = (size[a], size[b]);
            for j in 0..n {
                if active[j] && j != a && j != b {
                    let v = (na * d[a * n + j] + nb * d[b * n + j]) / (na + nb);
                    d[a * n + j] = v;
                    d[j * n + a] = v;
                }
            }
            for j in 0..n {
                d[b * n + j] = f32::INFINITY;
                d[j * n + b] = f32::INFINITY;
            }
            size[a] = na + nb;
            active[b] = false;
            remaining -= 1;
        } else {
            chain.push(b);
        }
    }
    // Average linkage is monotone: replaying the merges by distance gives the dendrogram.
    merges.sort_by(|p, q| p.0.total_cmp(&q.0));
    let mut parent: Vec<usize> = (0..n).collect();
    let mut k = n;
    for (dist, a, b) in merges {
        match clusters {
            Some(c) if k <= c => break,
            None if dist > threshold => break,
            _ => {}
        }
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[rb] = ra;
        k -= 1;
    }
    let roots: Vec<usize> = (0..n).map(|i| root(&mut parent, i)).collect();
    numbered(&roots)
}

/// The root of `i`'s group in a union-find forest (halving the path on the way).
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Group ids numbered 0..k in order of first appearance.
fn numbered(groups: &[usize]) -> Vec<usize> {
    let mut ids: Vec<usize> = Vec::new();
    groups
        .iter()
        .map(|&g| match ids.iter().position(|&x| x == g) {
            Some(p) => p,
            None => {
                ids.push(g);
                ids.len() - 1
            }
        })
        .collect()
}

/// A cluster holding this share of the embeddings is a speaker whatever its distance to others.
const SPEAKER_SHARE: f64 = 0.12;
/// Below this many embeddings a cluster is overlap or noise, never a speaker.
const MIN_SPEAKER_EMBEDDINGS: usize = 12;
/// A cluster between those two sizes is a speaker only if its centroid is at least this cosine
/// distance from every speaker's: a voice that shifts in pitch or pace over a long recording
/// leaves groups of a few dozen runs that stand apart from its main cluster (0.11-0.32 on the
/// one-hour meeting) while tune4's fourth voice, 12 embeddings, stands 0.44 from the nearest.
/// Chosen on the tune split and the hour (0.34-0.42 gave the same); see the README.
pub const FOLD_DISTANCE: f32 = 0.38;

/// Fewer embeddings in the whole recording than a speaker needs in a long one: some 15-30 s of
/// speech, where a cluster's size says next to nothing.
pub fn few_embeddings(n: usize) -> bool {
    n < MIN_SPEAKER_EMBEDDINGS
}

/// The size from which a cluster of `n` embeddings is a speaker whatever its distance.
pub fn large_cluster(n: usize) -> usize {
    ((SPEAKER_SHARE * n as f64).round() as usize).max(2)
}

/// Which clusters of an estimate are speakers, largest first. `sizes[c]` counts cluster c's
/// embeddings, `centroids[c]` is its L2-normalised mean. A recording's length must not decide
/// the count: a fixed minimum size lets the fragments of one voice over an hour pass as dozens
/// of speakers, and a share alone swallows someone who speaks for a minute of it.
pub fn speaker_clusters(sizes: &[usize], centroids: &[Vec<f32>], fold_distance: f32) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    let large = large_cluster(n);
    let small = MIN_SPEAKER_EMBEDDINGS.min(large);
    let mut order: Vec<usize> = (0..sizes.len()).filter(|&c| sizes[c] >= small).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut speakers: Vec<usize> = Vec::new();
    for c in order {
        let apart = speakers
            .iter()
            .all(|&s| 1.0 - dot(&centroids[c], &centroids[s]) >= fold_distance);
        if sizes[c] >= large || apart || speakers.is_empty() {
            speakers.push(c);
        }
    }
    if speakers.is_empty() {
        // Nothing reached the floor (a few seconds of audio): one speaker, not one per run.
        speakers.extend((0..sizes.len()).max_by_key(|&c| (sizes[c], usize::MAX - c)));
    }
    speakers
}

/// Joins clusters that segmentation heard as one voice: two clusters whose runs share a
/// window's local speaker, and are never different local speakers of one window, are one
/// speaker, if one of them has `speaker_size` rows or more (fragments join a voice; two
/// fragments do not make one). `runs[i]` is row i's (window, local speaker); `labels[i]` its
/// cluster. Returns the new labels, numbered 0..k in order of first row.
///
/// Why: embeddings of short runs of a noisy recording lie as far apart as different people's
/// (JFK's 11 s: runs of 1-2.4 s at cosine distance 0.29-0.65, an AMI meeting's two voices
/// 0.31-1.14), but segmentation, which hears a 10 s window at once, gave all of JFK's speech to
/// one local speaker. Two clusters that segmentation tells apart in any window they share stay
/// apart, and so do clusters that never share a window: there it has no say.
pub fn join_one_voice(
    labels: &[usize],
    runs: &[(usize, usize)],
    speaker_size: usize,
) -> Vec<usize> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut size = vec![0usize; k];
    for &l in labels {
        size[l] += 1;
    }
    // Per window: which (cluster, local speaker) pairs occur.
    let mut by_window: std::collections::BTreeMap<usize, Vec<(usize, usize)>> = Default::default();
    for (&l, &(window, local)) in labels.iter().zip(runs) {
        let pairs = by_window.entry(window).or_default();
        if !pairs.contains(&(l, local)) {
            pairs.push((l, local));
        }
    }
    let mut together = vec![false; k * k];
    let mut apart = vec![false; k * k];
    for pairs in by_window.values() {
        for &(a, la) in pairs {
            for &(b, lb) in pairs {
                if a != b {
                    if la == lb {
                        together[a * k + b] = true;
                    } else {
                        apart[a * k + b] = true;
                    }
                }
            }
        }
    }
    // Union-find; a join must not bring together clusters that segmentation told apart.
    let mut parent: Vec<usize> = (0..k).collect();
    for a in 0..k {
        for b in a + 1..k {
            if !together[a * k + b] || apart[a * k + b] {
                continue;
            }
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra == rb {
                continue;
            }
            let members = |r: usize, parent: &mut [usize]| -> Vec<usize> {
                (0..k).filter(|&c| root(parent, c) == r).collect()
            };
            let (ma, mb) = (members(ra, &mut parent), members(rb, &mut parent));
            if ma.iter().any(|&x| mb.iter().any(|&y| apart[x * k + y]))
                || size[ra].max(size[rb]) < speaker_size
            {
                continue;
            }
            parent[rb] = ra;
            size[ra] += size[rb];
        }
    }
    let roots: Vec<usize> = labels.iter().map(|&l| root(&mut parent, l)).collect();
    numbered(&roots)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn normalise(v: &mut [f32]) {
    let norm = dot(v, v).sqrt().max(1e-8);
    for x in v {
        *x /= norm;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalise(&mut v);
        v
    }

    #[test]
    fn clusters_follow_directions_and_the_requested_count() {
        let x = vec![
            unit(&[1.0, 0.05, 0.0]),
            unit(&[1.0, -0.05, 0.0]),
            unit(&[0.0, 1.0, 0.05]),
            unit(&[0.05, 1.0, 0.0]),
            unit(&[0.0, 0.0, 1.0]),
        ];
        assert_eq!(average_linkage(&x, 0.5, None), vec![0, 0, 1, 1, 2]);
        let two = average_linkage(&x, 0.5, Some(2));
        assert_eq!(two.iter().max(), Some(&1));
        assert_eq!(two[0], two[1]);
        assert_eq!(average_linkage(&x, 5.0, None), vec![0; 5]);
    }

    /// Centroids at given cosine distances from the first (unit vectors in the x-y plane).
    fn at_distances(d: &[f32]) -> Vec<Vec<f32>> {
        d.iter()
            .map(|&d| {
                let cos = 1.0 - d;
                vec![cos, (1.0 - cos * cos).max(0.0).sqrt(), 0.0]
            })
            .collect()
    }

    #[test]
    fn clusters_segmentation_heard_as_one_voice_are_joined() {
        // JFK-like: one window, every run local speaker 0, embedded into three clusters.
        let runs = [(0, 0), (0, 0), (0, 0), (1, 0), (1, 0)];
        assert_eq!(join_one_voice(&[0, 1, 2, 1, 2], &runs, 2), vec![0; 5]);
        // Two fragments heard as one voice do not make a speaker of their own.
        let runs = [(0, 0), (0, 0), (0, 1), (0, 1), (0, 1)];
        assert_eq!(
            join_one_voice(&[0, 1, 2, 2, 2], &runs, 2),
            vec![0, 1, 2, 2, 2]
        );
        // Two voices segmentation tells apart in a window they share stay apart, even where
        // another window calls them one local speaker.
        let runs = [(0, 0), (0, 1), (1, 0), (1, 0)];
        assert_eq!(join_one_voice(&[0, 1, 0, 1], &runs, 1), vec![0, 1, 0, 1]);
        // Clusters that never share a window: segmentation has no say.
        let runs = [(0, 0), (1, 0), (2, 0)];
        assert_eq!(join_one_voice(&[0, 1, 2], &runs, 1), vec![0, 1, 2]);
        // A join never brings together two clusters that were told apart: 0 and 1 are apart,
        // 2 is heard as one voice with each of them, and joins the first only.
        let runs = [(0, 0), (0, 1), (1, 0), (1, 0), (2, 1), (2, 1)];
        assert_eq!(
            join_one_voice(&[0, 1, 0, 2, 1, 2], &runs, 1),
            vec![0, 1, 0, 0, 1, 0]
        );
        assert!(join_one_voice(&[], &[], 2).is_empty());
    }

    #[test]
    fn an_hour_of_one_voice_in_fragments_is_one_speaker() {
        // 1000 embeddings: a main cluster and five fragments of 30-90 near it.
        let sizes = [700, 90, 60, 50, 40, 30, 5];
        let centroids = at_distances(&[0.0, 0.2, 0.3, 0.15, 0.25, 0.3, 0.9]);
        assert_eq!(speaker_clusters(&sizes, &centroids, FOLD_DISTANCE), vec![0]);
    }

    #[test]
    fn a_voice_with_a_minute_of_an_hour_stays_a_speaker() {
        // 2000 embeddings; 35 (under 2 %) that stand far from both main voices.
        let sizes = [1000, 900, 35, 40];
        let mut centroids = at_distances(&[0.0, 0.6, 0.0, 0.1]);
        centroids[2] = vec![0.0, 0.0, 1.0];
        assert_eq!(
            speaker_clusters(&sizes, &centroids, FOLD_DISTANCE),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn large_clusters_are_speakers_however_close_and_tiny_ones_never() {
        let sizes = [100, 80, 30, 11];
        let mut centroids = at_distances(&[0.0, 0.1, 0.05, 0.0]);
        centroids[3] = vec![0.0, 0.0, 1.0];
        // 221 embeddings: 12 % is 27, so the three largest count; 11 is below the floor.
        assert_eq!(
            speaker_clusters(&sizes, &centroids, FOLD_DISTANCE),
            vec![0, 1, 2]
        );
        // Short recordings: the share, not the floor of 12, decides.
        assert_eq!(
            speaker_clusters(&[8, 6, 1], &at_distances(&[0.0, 0.1, 0.5]), 0.38),
            vec![0, 1]
        );
        assert!(speaker_clusters(&[], &[], 0.38).is_empty());
        assert_eq!(
            speaker_clusters(&[1, 1, 1], &at_distances(&[0.0, 0.5, 0.9]), 0.38),
            vec![0]
        );
    }
}
