//! The ridge structure of an image, block by block: orientation and its coherence from averaged
//! squared gradients, grey mean and spread, and the ridge period from an oriented projection
//! (Hong, Wan and Jain's x-signature). Quality and minutiae extraction both start from it.

use std::f32::consts::PI;

use crate::grey::GreyImage;

/// Block side in pixels.
pub(crate) const BLOCK: usize = 8;
/// Shortest ridge period accepted as a fingerprint's, in pixels (about 500 dpi).
const PERIOD_MIN: f32 = 5.0;
/// Longest ridge period accepted.
const PERIOD_MAX: f32 = 15.0;

/// Per-block measurements, row-major over `cols × rows` blocks.
pub(crate) struct Field {
    /// Blocks across.
    pub cols: usize,
    /// Blocks down.
    pub rows: usize,
    /// Ridge direction in [0, π), image coordinates (y down), smoothed over neighbouring blocks.
    pub orientation: Vec<f32>,
    /// Orientation coherence in [0, 1] over a 24 × 24 window.
    pub coherence: Vec<f32>,
    /// Grey mean over a 16 × 16 window.
    pub mean: Vec<f32>,
    /// Grey standard deviation over a 16 × 16 window.
    pub std: Vec<f32>,
    /// Ridge period in pixels, or 0 where no clear period was found.
    pub period: Vec<f32>,
}

/// Summed-area table with one extra row and column of zeros.
struct Integral {
    w: usize,
    sums: Vec<f64>,
}

impl Integral {
    fn new(values: &[f32], w: usize, h: usize) -> Integral {
        let mut sums = vec![0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0f64;
            for x in 0..w {
                row += f64::from(values[y * w + x]);
                sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
            }
        }
        Integral { w, sums }
    }

    /// Sum over [x0, x1) × [y0, y1).
    fn sum(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
        let s = |x: usize, y: usize| self.sums[y * (self.w + 1) + x];
        s(x1, y1) - s(x0, y1) - s(x1, y0) + s(x0, y0)
    }
}

/// A window of `half` pixels around block (bx, by), clipped to the image.
fn window(bx: usize, by: usize, half: usize, w: usize, h: usize) -> (usize, usize, usize, usize) {
    let cx = bx * BLOCK + BLOCK / 2;
    let cy = by * BLOCK + BLOCK / 2;
    (
        cx.saturating_sub(half),
        cy.saturating_sub(half),
        (cx + half).min(w),
        (cy + half).min(h),
    )
}

impl Field {
    /// Measures `image`.
    pub(crate) fn estimate(image: &GreyImage) -> Field {
        let (w, h) = (image.width(), image.height());
        let grey: Vec<f32> = image.pixels().iter().map(|&p| f32::from(p)).collect();
        let (cols, rows) = (w / BLOCK, h / BLOCK);

        // Sobel gradients.
        let mut gxx = vec![0f32; w * h];
        let mut gyy = vec![0f32; w * h];
        let mut gxy = vec![0f32; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let p = |dx: isize, dy: isize| {
                    grey[(y as isize + dy) as usize * w + (x as isize + dx) as usize]
                };
                let gx =
                    (p(1, -1) + 2.0 * p(1, 0) + p(1, 1)) - (p(-1, -1) + 2.0 * p(-1, 0) + p(-1, 1));
                let gy =
                    (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1)) - (p(-1, -1) + 2.0 * p(0, -1) + p(1, -1));
                let i = y * w + x;
                gxx[i] = gx * gx;
                gyy[i] = gy * gy;
                gxy[i] = gx * gy;
            }
        }
        let (ixx, iyy, ixy) = (
            Integral::new(&gxx, w, h),
            Integral::new(&gyy, w, h),
            Integral::new(&gxy, w, h),
        );
        let squares: Vec<f32> = grey.iter().map(|v| v * v).collect();
        let (i1, i2) = (Integral::new(&grey, w, h), Integral::new(&squares, w, h));

        let n = cols * rows;
        let mut raw = vec![(0f32, 0f32); n];
        let mut coherence = vec![0f32; n];
        let mut mean = vec![0f32; n];
        let mut std = vec![0f32; n];
        for by in 0..rows {
            for bx in 0..cols {
                let b = by * cols + bx;
                let (x0, y0, x1, y1) = window(bx, by, 12, w, h);
                let sxx = ixx.sum(x0, y0, x1, y1);
                let syy = iyy.sum(x0, y0, x1, y1);
                let sxy = ixy.sum(x0, y0, x1, y1);
                let (a, c) = ((sxx - syy) as f32, (2.0 * sxy) as f32);
                raw[b] = (a, c);
                coherence[b] = ((a * a + c * c).sqrt() / ((sxx + syy) as f32 + 1e-3)).min(1.0);
                let (x0, y0, x1, y1) = window(bx, by, 8, w, h);
                let count = ((x1 - x0) * (y1 - y0)) as f64;
                let m = i1.sum(x0, y0, x1, y1) / count;
                let var = (i2.sum(x0, y0, x1, y1) / count - m * m).max(0.0);
                mean[b] = m as f32;
                std[b] = var.sqrt() as f32;
            }
        }
        // Smooth the doubled-angle vectors over 3 × 3 blocks, then turn the gradient direction
        // into the ridge direction.
        let mut orientation = vec![0f32; n];
        for by in 0..rows {
            for bx in 0..cols {
                let (mut a, mut c) = (0f32, 0f32);
                for dy in -1isize..=1 {
                    for dx in -1isize..=1 {
                        let (x, y) = (bx as isize + dx, by as isize + dy);
                        if x >= 0 && y >= 0 && (x as usize) < cols && (y as usize) < rows {
                            let (ra, rc) = raw[y as usize * cols + x as usize];
                            let weight = if dx == 0 && dy == 0 { 2.0 } else { 1.0 };
                            a += weight * ra;
                            c += weight * rc;
                        }
                    }
                }
                let gradient = 0.5 * c.atan2(a);
                orientation[by * cols + bx] = (gradient + PI / 2.0).rem_euclid(PI);
            }
        }
        let mut period = vec![0f32; n];
        for by in 0..rows {
            for bx in 0..cols {
                let b = by * cols + bx;
                if std[b] >= 3.0 {
                    period[b] = ridge_period(&grey, w, h, bx, by, orientation[b], std[b]);
                }
            }
        }
        Field {
            cols,
            rows,
            orientation,
            coherence,
            mean,
            std,
            period,
        }
    }
}

/// The ridge period around block (bx, by): the mean distance between the dark troughs of the grey
/// profile taken across the ridges (averaged along them), or 0 when the troughs are not regular.
fn ridge_period(
    grey: &[f32],
    w: usize,
    h: usize,
    bx: usize,
    by: usize,
    theta: f32,
    std: f32,
) -> f32 {
    const HALF: isize = 16;
    const ALONG: isize = 6;
    let cx = (bx * BLOCK + BLOCK / 2) as f32;
    let cy = (by * BLOCK + BLOCK / 2) as f32;
    let (s, c) = theta.sin_cos();
    let (nx, ny) = (-s, c);
    let mut signature = [0f32; (2 * HALF + 1) as usize];
    for k in -HALF..=HALF {
        let mut sum = 0.0;
        let mut count = 0.0;
        for l in -ALONG..=ALONG {
            let x = (cx + k as f32 * nx + l as f32 * c).round();
            let y = (cy + k as f32 * ny + l as f32 * s).round();
            if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h {
                sum += grey[y as usize * w + x as usize];
                count += 1.0;
            }
        }
        signature[(k + HALF) as usize] = if count > 0.0 { sum / count } else { f32::NAN };
    }
    if signature.iter().any(|v| v.is_nan()) {
        return 0.0;
    }
    let smoothed: Vec<f32> = (0..signature.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(signature.len() - 1);
            (signature[lo] + signature[i] + signature[hi]) / 3.0
        })
        .collect();
    let (lo, hi) = smoothed
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if hi - lo < 0.6 * std {
        return 0.0;
    }
    let middle = (hi + lo) / 2.0;
    // Troughs: local minima below the middle line, at least 3 samples apart.
    let mut troughs: Vec<f32> = Vec::new();
    for i in 1..smoothed.len() - 1 {
        let v = smoothed[i];
        if v < middle && v <= smoothed[i - 1] && v < smoothed[i + 1] {
            if let Some(&last) = troughs.last() {
                if (i as f32) - last < 3.0 {
                    continue;
                }
            }
            troughs.push(i as f32);
        }
    }
    if troughs.len() < 3 {
        return 0.0;
    }
    let gaps: Vec<f32> = troughs.windows(2).map(|p| p[1] - p[0]).collect();
    let (gmin, gmax) = gaps
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &g| (a.min(g), b.max(g)));
    if gmax > 1.7 * gmin {
        return 0.0;
    }
    let period = (troughs[troughs.len() - 1] - troughs[0]) / gaps.len() as f32;
    if (PERIOD_MIN..=PERIOD_MAX).contains(&period) {
        period
    } else {
        0.0
    }
}
