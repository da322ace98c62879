//! Minutiae extraction: normalise, enhance with Gabor filters tuned to the local ridge orientation
//! and period, binarise, thin (Zhang and Suen), find ridge endings and bifurcations by the
//! crossing number, and remove the spurious ones (near the print's border, spurs, short ridges,
//! bridges and breaks).
//!
//! Angles follow ISO/IEC 19794-2: counter-clockwise from the x axis with y pointing up, in
//! radians here. A ridge ending points from the ridge towards its tip; a bifurcation points along
//! the valley that ends at it (away from the two branches), so that an ending that a wet press
//! joins to its neighbour keeps its angle.

use std::f32::consts::PI;

use serde::{Deserialize, Serialize};

use crate::field::{Field, BLOCK};
use crate::gabor;
use crate::grey::GreyImage;
use crate::quality::BlockMap;

/// Most minutiae kept per image (the most reliable first).
pub const MAX_MINUTIAE: usize = 80;
/// Minutiae closer than this to the print's border are dropped, in pixels.
const BORDER: f32 = 14.0;
/// How far a ridge is followed from a minutia, in pixels.
const TRACE: usize = 10;

/// The kind of a minutia.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinutiaKind {
    /// Where a ridge stops.
    Ending,
    /// Where a ridge forks in two.
    Bifurcation,
}

/// One minutia: position in pixels (origin top left), direction, kind and reliability.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minutia {
    /// Column.
    pub x: u16,
    /// Row.
    pub y: u16,
    /// Direction in radians in [0, 2π), counter-clockwise from the x axis (y up).
    pub angle: f32,
    /// Ending or bifurcation.
    pub kind: MinutiaKind,
    /// Reliability, 0 to 100.
    pub quality: u8,
}

/// Extracts the minutiae of `image` (any size; the sensor's is 256 × 288).
pub fn extract(image: &GreyImage) -> Vec<Minutia> {
    let field = Field::estimate(image);
    extract_with_field(image, &field)
}

pub(crate) fn extract_with_field(image: &GreyImage, field: &Field) -> Vec<Minutia> {
    let (w, h) = (image.width(), image.height());
    let (cols, rows) = (field.cols, field.rows);
    let blocks = BlockMap::new(field);
    let foreground = clean_mask(&blocks, cols, rows);
    if !foreground.iter().any(|&f| f) {
        return Vec::new();
    }
    let periods = fill_periods(field, &foreground);

    // Block index of each pixel (pixels beyond the last whole block use the last block).
    let block_of =
        |x: usize, y: usize| (y / BLOCK).min(rows - 1) * cols + (x / BLOCK).min(cols - 1);

    // Normalised, inverted grey: ridges positive, about unit spread.
    let mut normal = vec![0f32; w * h];
    let mut kernel_of = vec![0u16; w * h];
    let mut active = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let b = block_of(x, y);
            let i = y * w + x;
            normal[i] = (field.mean[b] - f32::from(image.pixels()[i])) / field.std[b].max(4.0);
            active[i] = foreground[b];
            kernel_of[i] = gabor::kernel_index(
                gabor::orientation_bin(field.orientation[b]),
                gabor::period_bin(periods[b]),
            );
        }
    }
    let mut enhanced = vec![0f32; w * h];
    gabor::filter(&normal, &mut enhanced, w, h, &kernel_of, &active);
    let mut skeleton: Vec<bool> = (0..w * h).map(|i| active[i] && enhanced[i] > 0.0).collect();
    thin(&mut skeleton, w, h);

    // Distance-to-border test on the block mask.
    let inside = |x: f32, y: f32| -> bool {
        if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
            return false;
        }
        foreground[block_of(x as usize, y as usize)]
    };
    let deep = |x: usize, y: usize| -> bool {
        let (fx, fy) = (x as f32, y as f32);
        (0..12).all(|k| {
            let a = k as f32 * PI / 6.0;
            inside(fx + BORDER * a.cos(), fy + BORDER * a.sin())
        }) && inside(fx, fy)
    };

    // Candidates by crossing number.
    let mut candidates = Vec::new();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            if !skeleton[y * w + x] {
                continue;
            }
            let cn = crossing_number(&skeleton, w, x, y);
            let kind = match cn {
                1 => MinutiaKind::Ending,
                3 => MinutiaKind::Bifurcation,
                _ => continue,
            };
            if deep(x, y) {
                candidates.push((x, y, kind));
            }
        }
    }
    let is_candidate =
        |x: usize, y: usize| candidates.iter().any(|&(cx, cy, _)| cx == x && cy == y);

    let mut keep = vec![true; candidates.len()];
    let mut angles = vec![0f32; candidates.len()];
    for (n, &(x, y, kind)) in candidates.iter().enumerate() {
        let branches = neighbours(&skeleton, w, h, x, y);
        let mut ends = Vec::new();
        for start in branches {
            let (end, length, hit) = trace(&skeleton, w, h, (x, y), start, &is_candidate);
            if hit && length < TRACE {
                // A spur, a short ridge, a bridge or a hole: both ends are artefacts.
                keep[n] = false;
                if let Some(m) = candidates.iter().position(|&(cx, cy, _)| (cx, cy) == end) {
                    keep[m] = false;
                }
            }
            ends.push(end);
        }
        let direction =
            |(ex, ey): (usize, usize)| (-(ey as f32 - y as f32)).atan2(ex as f32 - x as f32);
        angles[n] = match kind {
            MinutiaKind::Ending => match ends.first() {
                Some(&e) => direction(e) + PI,
                None => {
                    keep[n] = false;
                    0.0
                }
            },
            MinutiaKind::Bifurcation => {
                if ends.len() != 3 {
                    keep[n] = false;
                    0.0
                } else {
                    let d: Vec<f32> = ends.iter().map(|&e| direction(e)).collect();
                    // The two branches closest in direction are the fork; the third is the stem.
                    let gap = |a: f32, b: f32| angle_gap(a, b);
                    let pairs = [(0, 1, 2), (0, 2, 1), (1, 2, 0)];
                    let &(_, _, stem) = pairs
                        .iter()
                        .min_by(|p, q| gap(d[p.0], d[p.1]).total_cmp(&gap(d[q.0], d[q.1])))
                        .expect("three pairs");
                    d[stem]
                }
            }
        };
    }
    // Ridge breaks: two endings facing each other across a small gap.
    for a in 0..candidates.len() {
        for b in a + 1..candidates.len() {
            let (xa, ya, ka) = candidates[a];
            let (xb, yb, kb) = candidates[b];
            let d2 = (xa as f32 - xb as f32).powi(2) + (ya as f32 - yb as f32).powi(2);
            if d2 > 12.0 * 12.0 {
                continue;
            }
            let opposite = angle_gap(angles[a], angles[b] + PI) < PI / 4.0;
            if (ka == MinutiaKind::Ending && kb == MinutiaKind::Ending && opposite)
                || d2 < 5.0 * 5.0
            {
                keep[a] = false;
                keep[b] = false;
            }
        }
    }
    let mut minutiae: Vec<Minutia> = candidates
        .iter()
        .zip(&angles)
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|((&(x, y, kind), &angle), _)| {
            let b = block_of(x, y);
            let quality = (100.0 * field.coherence[b]).clamp(1.0, 100.0) as u8;
            Minutia {
                x: x as u16,
                y: y as u16,
                angle: angle.rem_euclid(2.0 * PI),
                kind,
                quality,
            }
        })
        .collect();
    minutiae.sort_by(|a, b| {
        b.quality
            .cmp(&a.quality)
            .then(a.y.cmp(&b.y))
            .then(a.x.cmp(&b.x))
    });
    minutiae.truncate(MAX_MINUTIAE);
    minutiae
}

/// The smallest difference between two angles, in [0, π].
pub(crate) fn angle_gap(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(2.0 * PI);
    d.min(2.0 * PI - d)
}

/// The foreground blocks: clear-ridge blocks with their holes filled and strays removed.
fn clean_mask(blocks: &BlockMap, cols: usize, rows: usize) -> Vec<bool> {
    let count = |mask: &[bool], bx: usize, by: usize| {
        let mut n = 0;
        for dy in -1isize..=1 {
            for dx in -1isize..=1 {
                let (x, y) = (bx as isize + dx, by as isize + dy);
                if (dx, dy) != (0, 0)
                    && x >= 0
                    && y >= 0
                    && (x as usize) < cols
                    && (y as usize) < rows
                    && mask[y as usize * cols + x as usize]
                {
                    n += 1;
                }
            }
        }
        n
    };
    let mut mask = blocks.ridge.clone();
    for _ in 0..2 {
        let before = mask.clone();
        for by in 0..rows {
            for bx in 0..cols {
                let b = by * cols + bx;
                let n = count(&before, bx, by);
                if !before[b] && blocks.contact[b] && n >= 5 {
                    mask[b] = true;
                } else if before[b] && n <= 2 {
                    mask[b] = false;
                }
            }
        }
    }
    mask
}

/// A ridge period for every foreground block: the mean of the valid periods around it, or the
/// median of the whole print.
fn fill_periods(field: &Field, foreground: &[bool]) -> Vec<f32> {
    let (cols, rows) = (field.cols, field.rows);
    let mut valid: Vec<f32> = field.period.iter().copied().filter(|&p| p > 0.0).collect();
    valid.sort_by(f32::total_cmp);
    let median = valid.get(valid.len() / 2).copied().unwrap_or(9.0);
    let mut out = vec![median; cols * rows];
    for by in 0..rows {
        for bx in 0..cols {
            if !foreground[by * cols + bx] {
                continue;
            }
            let (mut sum, mut n) = (0.0, 0.0);
            for dy in -2isize..=2 {
                for dx in -2isize..=2 {
                    let (x, y) = (bx as isize + dx, by as isize + dy);
                    if x >= 0 && y >= 0 && (x as usize) < cols && (y as usize) < rows {
                        let p = field.period[y as usize * cols + x as usize];
                        if p > 0.0 {
                            sum += p;
                            n += 1.0;
                        }
                    }
                }
            }
            if n > 0.0 {
                out[by * cols + bx] = sum / n;
            }
        }
    }
    out
}

/// The 8 neighbours of (x, y) clockwise from the top: N, NE, E, SE, S, SW, W, NW.
const RING: [(isize, isize); 8] = [
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
];

fn at(skeleton: &[bool], w: usize, h: usize, x: isize, y: isize) -> bool {
    x >= 0
        && y >= 0
        && (x as usize) < w
        && (y as usize) < h
        && skeleton[y as usize * w + x as usize]
}

fn crossing_number(skeleton: &[bool], w: usize, x: usize, y: usize) -> usize {
    let h = skeleton.len() / w;
    let p: Vec<bool> = RING
        .iter()
        .map(|&(dx, dy)| at(skeleton, w, h, x as isize + dx, y as isize + dy))
        .collect();
    (0..8).filter(|&i| p[i] != p[(i + 1) % 8]).count() / 2
}

/// The skeleton neighbours of (x, y) that start separate branches (a diagonal neighbour touching
/// an orthogonal one belongs to the same branch).
fn neighbours(skeleton: &[bool], w: usize, h: usize, x: usize, y: usize) -> Vec<(usize, usize)> {
    let on: Vec<bool> = RING
        .iter()
        .map(|&(dx, dy)| at(skeleton, w, h, x as isize + dx, y as isize + dy))
        .collect();
    let mut starts = Vec::new();
    for i in 0..8 {
        // One start per run of set neighbours around the ring.
        if on[i] && !on[(i + 7) % 8] {
            let (dx, dy) = RING[i];
            starts.push(((x as isize + dx) as usize, (y as isize + dy) as usize));
        }
    }
    if starts.is_empty() && on.iter().all(|&b| b) {
        let (dx, dy) = RING[0];
        starts.push(((x as isize + dx) as usize, (y as isize + dy) as usize));
    }
    starts
}

/// Follows the skeleton from `origin` through `start` for up to [`TRACE`] pixels. Returns the
/// last pixel, the length walked, and whether the walk stopped at another candidate minutia.
fn trace(
    skeleton: &[bool],
    w: usize,
    h: usize,
    origin: (usize, usize),
    start: (usize, usize),
    is_candidate: &dyn Fn(usize, usize) -> bool,
) -> ((usize, usize), usize, bool) {
    let mut visited = vec![origin, start];
    let mut current = start;
    for length in 1..=TRACE {
        if is_candidate(current.0, current.1) {
            return (current, length, true);
        }
        let next = RING
            .iter()
            // Orthogonal steps first, so that staircases are walked pixel by pixel.
            .enumerate()
            .map(|(k, &(dx, dy))| (k % 2, current.0 as isize + dx, current.1 as isize + dy))
            .filter(|&(_, nx, ny)| at(skeleton, w, h, nx, ny))
            .map(|(k, nx, ny)| (k, (nx as usize, ny as usize)))
            .filter(|(_, p)| !visited.contains(p))
            .min_by_key(|&(k, _)| k);
        match next {
            Some((_, p)) => {
                visited.push(p);
                current = p;
            }
            None => return (current, length, false),
        }
    }
    (current, TRACE, false)
}

/// Zhang and Suen's thinning, in place.
fn thin(image: &mut [bool], w: usize, h: usize) {
    let mut remove = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            remove.clear();
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    if !image[y * w + x] {
                        continue;
                    }
                    let p: Vec<bool> = RING
                        .iter()
                        .map(|&(dx, dy)| {
                            image[(y as isize + dy) as usize * w + (x as isize + dx) as usize]
                        })
                        .collect();
                    let b = p.iter().filter(|&&v| v).count();
                    if !(2..=6).contains(&b) {
                        continue;
                    }
                    let a = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                    if a != 1 {
                        continue;
                    }
                    // p[0] N, p[2] E, p[4] S, p[6] W.
                    let ok = if pass == 0 {
                        !(p[2] && p[4] && (p[0] || p[6]))
                    } else {
                        !(p[0] && p[6] && (p[2] || p[4]))
                    };
                    if ok {
                        remove.push(y * w + x);
                    }
                }
            }
            for &i in &remove {
                image[i] = false;
            }
            changed |= !remove.is_empty();
        }
        if !changed {
            break;
        }
    }
}
