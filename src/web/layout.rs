//! A force-directed layout for the network page (Fruchterman & Reingold 1991, as Gephi's and
//! NetworkX's `spring_layout` do it): nodes repel each other as k²/d, ties pull as d²/k,
//! the step is capped by a temperature that cools linearly. Deterministic: the start is a
//! golden-angle spiral around the first node, not random, so a page draws the same twice.
//! O(n²) per iteration: the page shows at most `MAX_NODES` nodes.

/// The most nodes the page lays out (about 50 ms for 300 iterations here).
pub const MAX_NODES: usize = 150;

/// Positions in the unit square for `n` nodes tied by `edges` (a, b, weight ≥ 0).
pub fn force_layout(n: usize, edges: &[(usize, usize, f64)], iterations: usize) -> Vec<(f64, f64)> {
    if n == 0 {
        return Vec::new();
    }
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let mut pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let r = 0.45 * ((i as f64) / n as f64).sqrt();
            let a = i as f64 * golden;
            (0.5 + r * a.cos(), 0.5 + r * a.sin())
        })
        .collect();
    if n == 1 {
        return pos;
    }
    let k = (1.0 / n as f64).sqrt();
    let mut temperature = 0.1;
    let cooling = temperature / (iterations as f64 + 1.0);
    let mut shift = vec![(0.0f64, 0.0f64); n];
    for _ in 0..iterations {
        shift.iter_mut().for_each(|s| *s = (0.0, 0.0));
        for i in 0..n {
            for j in i + 1..n {
                // The repulsion k²/d along (dx, dy)/d is (dx, dy)·k²/d²: no square root in
                // the O(n²) loop (half the layout's time for 150 nodes).
                let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
                let f = k * k / (dx * dx + dy * dy).max(1e-8);
                let (fx, fy) = (dx * f, dy * f);
                shift[i].0 += fx;
                shift[i].1 += fy;
                shift[j].0 -= fx;
                shift[j].1 -= fy;
            }
        }
        for &(a, b, w) in edges {
            if a == b || a >= n || b >= n {
                continue;
            }
            let (dx, dy) = (pos[a].0 - pos[b].0, pos[a].1 - pos[b].1);
            let d = (dx * dx + dy * dy).sqrt().max(1e-4);
            // Heavier ties pull harder, by the logarithm so one busy pair does not collapse.
            let f = d * d / k * (1.0 + w.max(0.0).ln_1p()) * 0.5;
            let (fx, fy) = (dx / d * f, dy / d * f);
            shift[a].0 -= fx;
            shift[a].1 -= fy;
            shift[b].0 += fx;
            shift[b].1 += fy;
        }
        for i in 0..n {
            let (sx, sy) = shift[i];
            let len = (sx * sx + sy * sy).sqrt().max(1e-9);
            let step = len.min(temperature);
            pos[i].0 = (pos[i].0 + sx / len * step).clamp(0.02, 0.98);
            pos[i].1 = (pos[i].1 + sy / len * step).clamp(0.02, 0.98);
        }
        temperature -= cooling;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::force_layout;

    #[test]
    fn ties_draw_closer_than_strangers_and_the_layout_repeats() {
        // Two triangles joined by one tie.
        let edges = [
            (0, 1, 1.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (5, 3, 1.0),
            (2, 3, 1.0),
        ];
        let a = force_layout(6, &edges, 300);
        assert_eq!(a, force_layout(6, &edges, 300), "deterministic");
        assert!(
            a.iter()
                .all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y))
        );
        let d = |i: usize, j: usize| ((a[i].0 - a[j].0).powi(2) + (a[i].1 - a[j].1).powi(2)).sqrt();
        let within = (d(0, 1) + d(1, 2) + d(3, 4) + d(4, 5)) / 4.0;
        let across = (d(0, 4) + d(1, 5) + d(0, 5) + d(1, 4)) / 4.0;
        assert!(within < across, "within {within} across {across}");
        assert!(d(0, 1) > 0.01, "nodes do not collapse");
    }
}
