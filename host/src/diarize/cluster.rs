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
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut k = n;
    for (dist, a, b) in merges {
        match clusters {
            Some(c) if k <= c => break,
            None if dist > threshold => break,
            _ => {}
        }
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[rb] = ra;
        k -= 1;
    }
    let mut ids: Vec<usize> = Vec::new();
    (0..n)
        .map(|i| {
            let r = find(&mut parent, i);
            match ids.iter().position(|&x| x == r) {
                Some(p) => p,
                None => {
                    ids.push(r);
                    ids.len() - 1
                }
            }
        })
        .collect()
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
}
