//! 1:1 matching of two minutiae templates. Each minutia gets a local descriptor (its nearest
//! neighbours' distances and relative angles, which do not change under rotation and
//! translation); pairs of minutiae with similar descriptors vote for a rotation and translation
//! (a Hough accumulator); the strongest alignments are tried in full, and the best one pairs the
//! minutiae one to one. The score is the number of paired minutiae, squared, over the product of
//! the minutiae counts in the two prints' overlap, as a percentage.
//!
//! [`brute_force`] is the reference this is measured against: every pair of minutiae proposes an
//! alignment and every alignment is tried.

use std::f32::consts::PI;

use serde::{Deserialize, Serialize};

use crate::minutiae::{angle_gap, Minutia};

/// Matching tolerances and the decision threshold (configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchConfig {
    /// Lowest score, 0 to 100, for two prints to count as the same finger.
    pub threshold: u8,
    /// Largest distance between paired minutiae after alignment, in pixels.
    pub distance_tolerance: f32,
    /// Largest direction difference between paired minutiae, in degrees.
    pub angle_tolerance: f32,
}

impl Default for MatchConfig {
    fn default() -> MatchConfig {
        MatchConfig {
            threshold: 24,
            distance_tolerance: 10.0,
            angle_tolerance: 20.0,
        }
    }
}

/// The outcome of one comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchResult {
    /// 0 (nothing in common) to 100.
    pub score: u8,
    /// Whether the score reaches the threshold.
    pub matched: bool,
    /// Minutiae paired one to one under the best alignment.
    pub pairs: usize,
}

/// Neighbours in a local descriptor.
const NEIGHBOURS: usize = 6;

/// A minutia in y-up coordinates, so that ISO angles and rotations agree.
#[derive(Clone, Copy, Debug)]
struct Point {
    x: f32,
    y: f32,
    angle: f32,
}

fn points(minutiae: &[Minutia]) -> Vec<Point> {
    minutiae
        .iter()
        .map(|m| Point {
            x: f32::from(m.x),
            y: -f32::from(m.y),
            angle: m.angle,
        })
        .collect()
}

/// One neighbour seen from a minutia: distance, direction of the neighbour relative to the
/// minutia's direction, and the neighbour's own direction relative to it.
#[derive(Clone, Copy, Debug)]
struct Neighbour {
    distance: f32,
    bearing: f32,
    turn: f32,
}

fn descriptors(p: &[Point]) -> Vec<Vec<Neighbour>> {
    p.iter()
        .enumerate()
        .map(|(i, a)| {
            let mut near: Vec<(f32, usize)> = p
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, b)| (((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt(), j))
                .collect();
            near.sort_by(|x, y| x.0.total_cmp(&y.0));
            near.truncate(NEIGHBOURS);
            near.into_iter()
                .map(|(d, j)| {
                    let b = &p[j];
                    Neighbour {
                        distance: d,
                        bearing: ((b.y - a.y).atan2(b.x - a.x) - a.angle).rem_euclid(2.0 * PI),
                        turn: (b.angle - a.angle).rem_euclid(2.0 * PI),
                    }
                })
                .collect()
        })
        .collect()
}

/// How many neighbours two descriptors share.
fn local_similarity(a: &[Neighbour], b: &[Neighbour]) -> usize {
    let mut used = [false; NEIGHBOURS];
    let mut n = 0;
    for x in a {
        for (k, y) in b.iter().enumerate() {
            if !used[k]
                && (x.distance - y.distance).abs() < 6.0 + 0.08 * x.distance
                && angle_gap(x.bearing, y.bearing) < 0.35
                && angle_gap(x.turn, y.turn) < 0.45
            {
                used[k] = true;
                n += 1;
                break;
            }
        }
    }
    n
}

/// A rigid alignment: rotate by `rotation` then translate.
#[derive(Clone, Copy, Debug)]
struct Alignment {
    rotation: f32,
    dx: f32,
    dy: f32,
}

impl Alignment {
    fn between(a: &Point, b: &Point) -> Alignment {
        let rotation = b.angle - a.angle;
        let (s, c) = rotation.sin_cos();
        Alignment {
            rotation,
            dx: b.x - (c * a.x - s * a.y),
            dy: b.y - (s * a.x + c * a.y),
        }
    }

    fn apply(&self, p: &Point) -> Point {
        let (s, c) = self.rotation.sin_cos();
        Point {
            x: c * p.x - s * p.y + self.dx,
            y: s * p.x + c * p.y + self.dy,
            angle: p.angle + self.rotation,
        }
    }
}

/// Pairs the minutiae of `a` (aligned) with those of `b` one to one, closest first.
fn pair_count(a: &[Point], b: &[Point], config: &MatchConfig) -> usize {
    let d2max = config.distance_tolerance * config.distance_tolerance;
    let amax = config.angle_tolerance.to_radians();
    let mut close: Vec<(f32, u16, u16)> = Vec::new();
    for (i, p) in a.iter().enumerate() {
        for (j, q) in b.iter().enumerate() {
            let d2 = (p.x - q.x).powi(2) + (p.y - q.y).powi(2);
            if d2 <= d2max && angle_gap(p.angle, q.angle) <= amax {
                close.push((d2, i as u16, j as u16));
            }
        }
    }
    close.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut used_a = vec![false; a.len()];
    let mut used_b = vec![false; b.len()];
    let mut n = 0;
    for (_, i, j) in close {
        let (i, j) = (usize::from(i), usize::from(j));
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            n += 1;
        }
    }
    n
}

/// The minutiae of `a` (aligned) that fall inside `b`'s extent, and the converse.
fn overlap(a: &[Point], b: &[Point]) -> (usize, usize) {
    let bounds = |p: &[Point]| {
        p.iter().fold(
            (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
            |(x0, y0, x1, y1), q| (x0.min(q.x), y0.min(q.y), x1.max(q.x), y1.max(q.y)),
        )
    };
    let inside = |q: &Point, (x0, y0, x1, y1): (f32, f32, f32, f32)| {
        q.x >= x0 - 12.0 && q.x <= x1 + 12.0 && q.y >= y0 - 12.0 && q.y <= y1 + 12.0
    };
    let (ba, bb) = (bounds(a), bounds(b));
    (
        a.iter().filter(|q| inside(q, bb)).count(),
        b.iter().filter(|q| inside(q, ba)).count(),
    )
}

/// The score of `pairs` paired minutiae when `na` and `nb` minutiae lie in the overlap.
fn score_of(pairs: usize, na: usize, nb: usize) -> u8 {
    if pairs < 3 {
        return 0;
    }
    // Few minutiae in the overlap should not make a handful of pairs look certain.
    let (na, nb) = (na.max(pairs).max(12) as f32, nb.max(pairs).max(12) as f32);
    (100.0 * (pairs * pairs) as f32 / (na * nb))
        .round()
        .min(100.0) as u8
}

fn best_of(
    a: &[Point],
    b: &[Point],
    alignments: impl Iterator<Item = Alignment>,
    config: &MatchConfig,
) -> MatchResult {
    let mut best = (0u8, 0usize);
    let mut moved = vec![
        Point {
            x: 0.0,
            y: 0.0,
            angle: 0.0
        };
        a.len()
    ];
    for alignment in alignments {
        for (m, p) in moved.iter_mut().zip(a) {
            *m = alignment.apply(p);
        }
        let pairs = pair_count(&moved, b, config);
        let (na, nb) = overlap(&moved, b);
        // An alignment that slides the prints apart must not make a few pairs look like many.
        let na = na.max(a.len() * 3 / 4);
        let nb = nb.max(b.len() * 3 / 4);
        let score = score_of(pairs, na, nb);
        if (score, pairs) > best {
            best = (score, pairs);
        }
    }
    MatchResult {
        score: best.0,
        matched: best.0 >= config.threshold,
        pairs: best.1,
    }
}

/// Compares two prints' minutiae.
pub fn compare(a: &[Minutia], b: &[Minutia], config: &MatchConfig) -> MatchResult {
    let (pa, pb) = (points(a), points(b));
    if pa.len() < 3 || pb.len() < 3 {
        return MatchResult {
            score: 0,
            matched: false,
            pairs: 0,
        };
    }
    let (da, db) = (descriptors(&pa), descriptors(&pb));
    // Hough accumulator over rotation (10° bins) and translation (8 px bins).
    const ROT_BINS: usize = 36;
    const SHIFT: f32 = 8.0;
    const SHIFT_BINS: usize = 96; // ±384 px
    let mut votes: std::collections::HashMap<(usize, usize, usize), (f32, Vec<Alignment>)> =
        std::collections::HashMap::new();
    let mut strongest: Vec<(usize, Alignment)> = Vec::new();
    for (i, x) in da.iter().enumerate() {
        for (j, y) in db.iter().enumerate() {
            let s = local_similarity(x, y);
            if s < 2 {
                continue;
            }
            let al = Alignment::between(&pa[i], &pb[j]);
            let r = ((al.rotation.rem_euclid(2.0 * PI) / (2.0 * PI) * ROT_BINS as f32) as usize)
                % ROT_BINS;
            let tx =
                ((al.dx / SHIFT + (SHIFT_BINS / 2) as f32).max(0.0) as usize).min(SHIFT_BINS - 1);
            let ty =
                ((al.dy / SHIFT + (SHIFT_BINS / 2) as f32).max(0.0) as usize).min(SHIFT_BINS - 1);
            let cell = votes.entry((r, tx, ty)).or_insert((0.0, Vec::new()));
            cell.0 += s as f32;
            cell.1.push(al);
            strongest.push((s, al));
        }
    }
    // Candidates: the densest Hough cells (with their neighbours' votes) and the most similar
    // single pairs.
    let mut cells: Vec<(f32, (usize, usize, usize))> = votes
        .keys()
        .map(|&(r, tx, ty)| {
            let mut total = 0.0;
            for dr in [ROT_BINS - 1, 0, 1] {
                for dx in [-1isize, 0, 1] {
                    for dy in [-1isize, 0, 1] {
                        let key = (
                            (r + dr) % ROT_BINS,
                            (tx as isize + dx) as usize,
                            (ty as isize + dy) as usize,
                        );
                        if let Some(v) = votes.get(&key) {
                            total += v.0;
                        }
                    }
                }
            }
            (total, (r, tx, ty))
        })
        .collect();
    cells.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut candidates: Vec<Alignment> = Vec::new();
    for &(_, key) in cells.iter().take(4) {
        let members = &votes[&key].1;
        // The cell's mean alignment (rotation averaged as a vector).
        let n = members.len() as f32;
        let (s, c) = members.iter().fold((0.0, 0.0), |(s, c), m| {
            (s + m.rotation.sin(), c + m.rotation.cos())
        });
        candidates.push(Alignment {
            rotation: s.atan2(c),
            dx: members.iter().map(|m| m.dx).sum::<f32>() / n,
            dy: members.iter().map(|m| m.dy).sum::<f32>() / n,
        });
        candidates.extend(members.iter().take(3));
    }
    strongest.sort_by_key(|x| std::cmp::Reverse(x.0));
    candidates.extend(strongest.iter().take(6).map(|&(_, al)| al));
    best_of(&pa, &pb, candidates.into_iter(), config)
}

/// The baseline: every pair of minutiae proposes an alignment and every one is tried.
pub fn brute_force(a: &[Minutia], b: &[Minutia], config: &MatchConfig) -> MatchResult {
    let (pa, pb) = (points(a), points(b));
    if pa.len() < 3 || pb.len() < 3 {
        return MatchResult {
            score: 0,
            matched: false,
            pairs: 0,
        };
    }
    let alignments = pa
        .iter()
        .flat_map(|x| pb.iter().map(move |y| Alignment::between(x, y)));
    best_of(&pa, &pb, alignments, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutiae::MinutiaKind;

    fn m(x: u16, y: u16, degrees: f32) -> Minutia {
        Minutia {
            x,
            y,
            angle: degrees.to_radians(),
            kind: MinutiaKind::Ending,
            quality: 80,
        }
    }

    fn sample() -> Vec<Minutia> {
        let mut v = Vec::new();
        for k in 0..20u16 {
            v.push(m(
                30 + (k * 37) % 190,
                40 + (k * 53) % 200,
                (k as f32 * 71.0) % 360.0,
            ));
        }
        v
    }

    #[test]
    fn a_print_matches_itself_fully() {
        let a = sample();
        let r = compare(&a, &a, &MatchConfig::default());
        assert_eq!((r.score, r.pairs, r.matched), (100, 20, true));
    }

    #[test]
    fn rotation_and_translation_do_not_matter() {
        let a = sample();
        // Rotate by 20° about (128, 144) (y down: clockwise on screen is negative) and shift.
        let t = 20f32.to_radians();
        let b: Vec<Minutia> = a
            .iter()
            .map(|p| {
                let (x, y) = (f32::from(p.x) - 128.0, -(f32::from(p.y) - 144.0));
                let (s, c) = t.sin_cos();
                let (rx, ry) = (c * x - s * y, s * x + c * y);
                Minutia {
                    x: (rx + 128.0 + 9.0).round() as u16,
                    y: (-ry + 144.0 - 5.0).round() as u16,
                    angle: (p.angle + t).rem_euclid(2.0 * PI),
                    ..*p
                }
            })
            .collect();
        let r = compare(&a, &b, &MatchConfig::default());
        assert!(r.pairs >= 18 && r.matched, "{r:?}");
        assert_eq!(brute_force(&a, &b, &MatchConfig::default()).pairs, r.pairs);
    }

    #[test]
    fn too_few_minutiae_score_zero() {
        let a = sample();
        assert_eq!(compare(&a[..2], &a, &MatchConfig::default()).score, 0);
        assert_eq!(compare(&[], &[], &MatchConfig::default()).score, 0);
    }
}
