//! Small numerical tools the baselines share: a Cholesky solver, weighted linear least squares,
//! Huber IRLS weights, a 1-D minimiser, and context subsampling. Plain Rust, no dependencies:
//! every system here is a handful of unknowns.

use crate::import::clean::median;

/// Cholesky factor (lower, row-major) of the symmetric positive-definite `n`×`n` matrix `a`;
/// `None` if it is not positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L y = b` (forward substitution) in place.
pub fn solve_lower(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Solves `Lᵀ x = y` (back substitution) in place.
pub fn solve_upper_t(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Solves `A x = b` for SPD `A` given its Cholesky factor.
pub fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    solve_lower(l, n, b);
    solve_upper_t(l, n, b);
}

/// Weighted least squares: minimises Σ wᵢ (yᵢ − Σⱼ βⱼ xⱼ(i))² over β, for `p` basis columns given
/// as functions of the row. A tiny relative ridge keeps near-collinear bases (two equal
/// exponentials) solvable. Returns β and the weighted sum of squared residuals.
pub fn weighted_lstsq(p: usize, rows: usize, x: impl Fn(usize, usize) -> f64, y: &[f64], w: &[f64]) -> Option<(Vec<f64>, f64)> {
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for i in 0..rows {
        for j in 0..p {
            let xj = x(i, j);
            b[j] += w[i] * xj * y[i];
            for k in 0..=j {
                a[j * p + k] += w[i] * xj * x(i, k);
            }
        }
    }
    for j in 0..p {
        for k in 0..j {
            a[k * p + j] = a[j * p + k];
        }
    }
    let trace: f64 = (0..p).map(|j| a[j * p + j]).sum::<f64>() / p as f64;
    for j in 0..p {
        a[j * p + j] += 1e-10 * trace.max(1e-300);
    }
    let l = cholesky(&a, p)?;
    cholesky_solve(&l, p, &mut b);
    let sse: f64 = (0..rows)
        .map(|i| {
            let r = y[i] - (0..p).map(|j| b[j] * x(i, j)).sum::<f64>();
            w[i] * r * r
        })
        .sum();
    sse.is_finite().then_some((b, sse))
}

/// Robust scale of residuals: 1.4826 · MAD, floored so exact fits keep finite weights.
pub fn robust_scale(res: &[f64]) -> f64 {
    let mut v: Vec<f64> = res.to_vec();
    let m = median(&mut v);
    let mut d: Vec<f64> = res.iter().map(|r| (r - m).abs()).collect();
    (1.4826 * median(&mut d)).max(1e-6)
}

/// Huber weights (tuning constant 1.345 × robust scale): 1 inside, δ/|r| outside.
pub fn huber_weights(res: &[f64]) -> Vec<f64> {
    let delta = 1.345 * robust_scale(res);
    res.iter().map(|r| if r.abs() <= delta { 1.0 } else { delta / r.abs() }).collect()
}

/// Minimises `f` over `grid` (sorted), then refines by golden-section search between the best
/// point's neighbours. Returns (argmin, min).
pub fn minimise_1d(grid: &[f64], f: impl Fn(f64) -> f64) -> (f64, f64) {
    let vals: Vec<f64> = grid.iter().map(|x| f(*x)).collect();
    let best = (0..grid.len()).min_by(|a, b| vals[*a].total_cmp(&vals[*b])).expect("non-empty grid");
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(grid.len() - 1)]);
    let (mut x_best, mut f_best) = (grid[best], vals[best]);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..40 {
        if fc < fd {
            hi = d;
            (d, fd) = (c, fc);
            c = hi - g * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            (c, fc) = (d, fd);
            d = lo + g * (hi - lo);
            fd = f(d);
        }
    }
    for (x, v) in [(c, fc), (d, fd)] {
        if v < f_best {
            (x_best, f_best) = (x, v);
        }
    }
    (x_best, f_best)
}

/// At most `max` evenly spaced indices of `0..n`, always keeping the last (the origin).
pub fn subsample(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..max).map(|k| k * (n - 1) / (max - 1)).collect();
    idx.dedup();
    idx
}

/// Ordinary least-squares line through (x, y): (intercept, slope). A single point gives slope 0.
pub fn line(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        let mut b = [2.0, 1.0];
        cholesky_solve(&l, 2, &mut b);
        // 4x + 2y = 2, 2x + 3y = 1  →  x = 0.5, y = 0
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn minimiser_finds_a_parabola_minimum() {
        let (x, v) = minimise_1d(&[-3.0, -1.0, 0.0, 1.0, 3.0], |x| (x - 0.37) * (x - 0.37));
        assert!((x - 0.37).abs() < 1e-6 && v < 1e-10);
    }

    #[test]
    fn huber_downweights_an_outlier() {
        let w = huber_weights(&[0.01, -0.01, 0.02, -0.02, 0.0, 1.0]);
        assert_eq!(w[0], 1.0);
        assert!(w[5] < 0.1, "{w:?}");
    }

    #[test]
    fn subsample_keeps_first_and_last() {
        let s = subsample(1000, 10);
        assert_eq!((s[0], *s.last().unwrap(), s.len()), (0, 999, 10));
    }
}
