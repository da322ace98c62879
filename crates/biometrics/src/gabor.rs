//! A bank of even-symmetric Gabor kernels, quantised by ridge orientation and ridge period, shared
//! by the generator (growing ridges from seeds) and the extractor (enhancing before binarising).

use std::f32::consts::PI;
use std::sync::OnceLock;

/// Kernel radius: kernels are (2 R + 1)² taps.
pub(crate) const RADIUS: usize = 6;
/// Kernel side.
pub(crate) const SIDE: usize = 2 * RADIUS + 1;
/// Orientation bins over [0, π).
pub(crate) const ORIENTATIONS: usize = 32;
/// Smallest ridge period in the bank, in pixels.
pub(crate) const PERIOD_MIN: f32 = 5.0;
/// Period step between bins.
pub(crate) const PERIOD_STEP: f32 = 0.5;
/// Period bins.
pub(crate) const PERIODS: usize = 19; // 5.0 ..= 14.0

/// The kernels, flattened: `[orientation][period][SIDE * SIDE]`.
pub(crate) struct Bank {
    taps: Vec<f32>,
}

impl Bank {
    /// The bank (built once, about 600 kernels of 169 taps).
    pub(crate) fn get() -> &'static Bank {
        static BANK: OnceLock<Bank> = OnceLock::new();
        BANK.get_or_init(Bank::build)
    }

    fn build() -> Bank {
        let mut taps = Vec::with_capacity(ORIENTATIONS * PERIODS * SIDE * SIDE);
        for o in 0..ORIENTATIONS {
            let theta = o as f32 * PI / ORIENTATIONS as f32;
            let (s, c) = theta.sin_cos();
            for p in 0..PERIODS {
                let period = PERIOD_MIN + p as f32 * PERIOD_STEP;
                let sigma_across = 0.36 * period;
                let sigma_along = 0.48 * period;
                let mut kernel = [0f32; SIDE * SIDE];
                let mut envelope_sum = 0.0;
                let mut cos_sum = 0.0;
                let mut env = [0f32; SIDE * SIDE];
                for ky in 0..SIDE {
                    for kx in 0..SIDE {
                        let x = kx as f32 - RADIUS as f32;
                        let y = ky as f32 - RADIUS as f32;
                        // Across the ridges (along the normal) and along them.
                        let u = -x * s + y * c;
                        let v = x * c + y * s;
                        let e = (-(u * u) / (2.0 * sigma_across * sigma_across)
                            - (v * v) / (2.0 * sigma_along * sigma_along))
                            .exp();
                        let i = ky * SIDE + kx;
                        env[i] = e;
                        kernel[i] = e * (2.0 * PI * u / period).cos();
                        envelope_sum += e;
                        cos_sum += kernel[i];
                    }
                }
                // Remove the DC so that flat areas answer zero, then normalise the gain.
                let dc = cos_sum / envelope_sum;
                let mut abs_sum = 0.0;
                for i in 0..SIDE * SIDE {
                    kernel[i] -= dc * env[i];
                    abs_sum += kernel[i].abs();
                }
                for k in &mut kernel {
                    *k /= abs_sum * 0.5;
                }
                taps.extend_from_slice(&kernel);
            }
        }
        Bank { taps }
    }
}

/// The orientation bin of a ridge direction in radians (any value; taken modulo π).
pub(crate) fn orientation_bin(theta: f32) -> usize {
    let t = theta.rem_euclid(PI) / PI * ORIENTATIONS as f32;
    (t.round() as usize) % ORIENTATIONS
}

/// The period bin of a ridge period in pixels (clamped to the bank).
pub(crate) fn period_bin(period: f32) -> usize {
    let p = ((period - PERIOD_MIN) / PERIOD_STEP).round();
    p.clamp(0.0, (PERIODS - 1) as f32) as usize
}

/// Filters `src` (width `w`, height `h`) at the pixels where `active[i]` is set with the kernel
/// index `kernel_of[i]` (orientation bin × PERIODS + period bin), writing into `dst`; pixels near
/// the border see zeros outside.
pub(crate) fn filter(
    src: &[f32],
    dst: &mut [f32],
    w: usize,
    h: usize,
    kernel_of: &[u16],
    active: &[bool],
) {
    let bank = Bank::get();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !active[i] {
                continue;
            }
            let k = usize::from(kernel_of[i]);
            let kernel = &bank.taps[k * SIDE * SIDE..(k + 1) * SIDE * SIDE];
            let mut acc = 0.0f32;
            if x >= RADIUS && y >= RADIUS && x + RADIUS < w && y + RADIUS < h {
                for ky in 0..SIDE {
                    let row = (y + ky - RADIUS) * w + x - RADIUS;
                    let s = &src[row..row + SIDE];
                    let kr = &kernel[ky * SIDE..ky * SIDE + SIDE];
                    for j in 0..SIDE {
                        acc += s[j] * kr[j];
                    }
                }
            } else {
                for ky in 0..SIDE {
                    let sy = y as isize + ky as isize - RADIUS as isize;
                    if sy < 0 || sy >= h as isize {
                        continue;
                    }
                    for kx in 0..SIDE {
                        let sx = x as isize + kx as isize - RADIUS as isize;
                        if sx < 0 || sx >= w as isize {
                            continue;
                        }
                        acc += src[sy as usize * w + sx as usize] * kernel[ky * SIDE + kx];
                    }
                }
            }
            dst[i] = acc;
        }
    }
}

/// The flat kernel index of a bin pair, as `filter` takes it.
pub(crate) fn kernel_index(orientation_bin: usize, period_bin: usize) -> u16 {
    (orientation_bin * PERIODS + period_bin) as u16
}
