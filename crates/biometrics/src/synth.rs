//! Synthetic fingerprints in the manner of SFinGe (Cappelli, Maio and Maltoni): a fingertip shape,
//! an orientation field from singular points (Sherlock and Monro's zero-pole model for loops,
//! whorls and tented arches; a smooth bump for plain arches), a ridge-period map, and a master
//! fingerprint grown by iterated, space-variant Gabor filtering from random seeds. An impression
//! of the master is then taken on the 256 × 288 sensor with a translation, a rotation, an elastic
//! (plastic) distortion around the contact centre, a skin condition from dry to wet, blur and
//! noise. Degraded presses for the simulator (smudged, partial, blank) are made from the same
//! impression.
//!
//! Everything is deterministic: a master from its finger id, an impression from (finger id,
//! impression number, kind), through ChaCha8 generators seeded from those numbers.

use std::f32::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::gabor;
use crate::grey::{GreyImage, HEIGHT, WIDTH};

/// Master canvas width (larger than the sensor so impressions can move and rotate).
const MW: usize = 320;
/// Master canvas height.
const MH: usize = 400;
/// Growth iterations of the Gabor filter.
const ITERATIONS: usize = 8;

/// The Henry class of a synthetic finger (the singular points it was made with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FingerClass {
    /// Plain arch: no singular point.
    Arch,
    /// Tented arch: a core right above a delta.
    TentedArch,
    /// Left loop: the delta on the right.
    LeftLoop,
    /// Right loop: the delta on the left.
    RightLoop,
    /// Whorl: two cores, two deltas.
    Whorl,
}

/// What kind of press to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressKind {
    /// A normal press of the whole fingertip.
    Good,
    /// A smeared press: the ridges are blurred away.
    Smudged,
    /// Only an edge of the finger touches the sensor.
    Partial,
    /// Nothing on the sensor.
    Blank,
}

impl PressKind {
    /// Parses `good`, `smudged`, `partial` or `blank`.
    pub fn parse(text: &str) -> Option<PressKind> {
        match text {
            "good" => Some(PressKind::Good),
            "smudged" => Some(PressKind::Smudged),
            "partial" => Some(PressKind::Partial),
            "blank" => Some(PressKind::Blank),
            _ => None,
        }
    }
}

/// The fingertip's elliptical contact outline in master coordinates.
#[derive(Clone, Copy, Debug)]
struct Shape {
    cx: f32,
    cy: f32,
    half_width: f32,
    half_height: f32,
}

impl Shape {
    /// Normalised elliptical distance: below 1 inside.
    fn distance(&self, x: f32, y: f32) -> f32 {
        let dx = (x - self.cx) / self.half_width;
        let dy = (y - self.cy) / self.half_height;
        (dx * dx + dy * dy).sqrt()
    }
}

/// A master fingerprint: the whole ridge pattern of one synthetic finger, from which impressions
/// are taken. Building one costs a few tens of milliseconds; keep it to take several impressions.
#[derive(Clone, Debug)]
pub struct MasterFinger {
    id: u64,
    class: FingerClass,
    shape: Shape,
    /// Ridge map in [-1, 1]: +1 on a ridge's centre line, -1 in a valley.
    ridges: Vec<f32>,
}

fn seed(parts: &[u64]) -> u64 {
    // SplitMix64 over the parts: well-spread seeds from small consecutive numbers.
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

/// A smooth random field: bilinear interpolation of random values on a coarse grid.
struct ValueNoise {
    cell: f32,
    cols: usize,
    values: Vec<f32>,
}

impl ValueNoise {
    fn new(rng: &mut ChaCha8Rng, width: usize, height: usize, cell: f32) -> ValueNoise {
        let cols = (width as f32 / cell).ceil() as usize + 2;
        let rows = (height as f32 / cell).ceil() as usize + 2;
        let values = (0..cols * rows)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        ValueNoise { cell, cols, values }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let fx = (x / self.cell).max(0.0);
        let fy = (y / self.cell).max(0.0);
        let (ix, iy) = (fx as usize, fy as usize);
        let rows = self.values.len() / self.cols;
        let (ix, iy) = (ix.min(self.cols - 2), iy.min(rows - 2));
        let (tx, ty) = (smooth(fx - ix as f32), smooth(fy - iy as f32));
        let v = |c: usize, r: usize| self.values[r * self.cols + c];
        let top = v(ix, iy) * (1.0 - tx) + v(ix + 1, iy) * tx;
        let bottom = v(ix, iy + 1) * (1.0 - tx) + v(ix + 1, iy + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

fn smooth(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    smooth((x - edge0) / (edge1 - edge0))
}

/// Singular points: cores (loops) and deltas.
struct Singularities {
    cores: Vec<(f32, f32)>,
    deltas: Vec<(f32, f32)>,
}

impl MasterFinger {
    /// Builds the master fingerprint of finger `id`.
    pub fn generate(id: u64) -> MasterFinger {
        let mut rng = ChaCha8Rng::seed_from_u64(seed(&[id, 0x6d61_7374_6572]));
        let class = match rng.gen_range(0..100) {
            0..=5 => FingerClass::Arch,
            6..=11 => FingerClass::TentedArch,
            12..=43 => FingerClass::LeftLoop,
            44..=73 => FingerClass::RightLoop,
            _ => FingerClass::Whorl,
        };
        let shape = Shape {
            cx: MW as f32 / 2.0 + rng.gen_range(-4.0..4.0),
            cy: MH as f32 / 2.0 + rng.gen_range(-4.0..4.0),
            half_width: rng.gen_range(138.0..152.0),
            half_height: rng.gen_range(180.0..196.0),
        };
        // The core sits a little above the middle of the sensor window.
        let (ox, oy) = (
            shape.cx + rng.gen_range(-18.0..18.0),
            shape.cy - 10.0 + rng.gen_range(-22.0..16.0),
        );
        let side = rng.gen_range(62.0..90.0);
        let down = rng.gen_range(60.0..95.0);
        let singular = match class {
            FingerClass::Arch => Singularities {
                cores: vec![],
                deltas: vec![],
            },
            FingerClass::TentedArch => Singularities {
                cores: vec![(ox, oy)],
                deltas: vec![(
                    ox + rng.gen_range(-8.0..8.0),
                    oy + rng.gen_range(45.0..70.0),
                )],
            },
            FingerClass::LeftLoop => Singularities {
                cores: vec![(ox, oy)],
                deltas: vec![(ox + side, oy + down)],
            },
            FingerClass::RightLoop => Singularities {
                cores: vec![(ox, oy)],
                deltas: vec![(ox - side, oy + down)],
            },
            FingerClass::Whorl => {
                let gap = rng.gen_range(14.0..30.0);
                let tilt = rng.gen_range(-10.0..10.0);
                Singularities {
                    cores: vec![(ox - tilt, oy - gap / 2.0), (ox + tilt, oy + gap / 2.0)],
                    deltas: vec![
                        (ox - side - 10.0, oy + down + rng.gen_range(-10.0..10.0)),
                        (ox + side + 10.0, oy + down + rng.gen_range(-10.0..10.0)),
                    ],
                }
            }
        };
        let arch_height = rng.gen_range(0.6..1.1);
        let arch_width = rng.gen_range(60.0..90.0);
        let wobble = ValueNoise::new(&mut rng, MW, MH, 90.0);
        let wobble_amount = rng.gen_range(0.1..0.22);
        let period_noise = ValueNoise::new(&mut rng, MW, MH, 110.0);
        let base_period = rng.gen_range(8.2..9.8);

        // Orientation and period per pixel, as kernel indices; the region to grow in.
        let mut kernel_of = vec![0u16; MW * MH];
        let mut active = vec![false; MW * MH];
        for y in 0..MH {
            for x in 0..MW {
                let (fx, fy) = (x as f32, y as f32);
                let i = y * MW + x;
                active[i] = shape.distance(fx, fy) < 1.04;
                if !active[i] {
                    continue;
                }
                let theta = match class {
                    FingerClass::Arch => {
                        // Ridges y = y0 - a(y0) exp(-(x - ox)² / s²): a bump over the middle that
                        // flattens towards the finger's crease.
                        let dx = fx - ox;
                        let depth = ((fy - (shape.cy - shape.half_height))
                            / (1.6 * shape.half_height))
                            .clamp(0.0, 1.0);
                        let a = arch_height * (1.0 - depth) * 90.0;
                        let slope = a * 2.0 * dx / (arch_width * arch_width)
                            * (-(dx * dx) / (arch_width * arch_width)).exp();
                        slope.atan()
                    }
                    _ => zero_pole(&singular, fx, fy),
                } + wobble_amount * wobble.at(fx, fy);
                let dist = shape.distance(fx, fy);
                let period = base_period
                    + 0.7 * period_noise.at(fx, fy)
                    // Ridges run a little wider towards the finger's rim.
                    + 0.8 * smoothstep(0.5, 1.0, dist);
                kernel_of[i] =
                    gabor::kernel_index(gabor::orientation_bin(theta), gabor::period_bin(period));
            }
        }

        // Seeds: single pixels on a jittered grid, strong enough to saturate after the first
        // pass, so that the fronts growing from them meet within a few iterations.
        let mut ridges = vec![0f32; MW * MH];
        let spacing = rng.gen_range(26.0f32..34.0);
        let mut gy = spacing / 2.0;
        while gy < MH as f32 {
            let mut gx = spacing / 2.0;
            while gx < MW as f32 {
                let x = (gx + rng.gen_range(-0.4..0.4) * spacing) as usize;
                let y = (gy + rng.gen_range(-0.4..0.4) * spacing) as usize;
                if x < MW && y < MH && active[y * MW + x] {
                    ridges[y * MW + x] = if rng.gen_bool(0.5) { 4.0 } else { -4.0 };
                }
                gx += spacing;
            }
            gy += spacing;
        }
        let mut next = vec![0f32; MW * MH];
        let mut reached = vec![false; MW * MH];
        for _ in 0..ITERATIONS {
            // Only pixels within a kernel's reach of the pattern so far can change.
            near_nonzero(&ridges, &active, &mut reached);
            gabor::filter(&ridges, &mut next, MW, MH, &kernel_of, &reached);
            for ((r, n), &on) in ridges.iter_mut().zip(&next).zip(&reached) {
                if on {
                    *r = (2.5 * n).clamp(-1.0, 1.0);
                }
            }
        }
        // Where the growth has not reached (it should be nowhere), leave a valley, not a hole.
        MasterFinger {
            id,
            class,
            shape,
            ridges,
        }
    }

    /// The finger's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The finger's class.
    pub fn class(&self) -> FingerClass {
        self.class
    }

    fn ridge_at(&self, x: f32, y: f32) -> f32 {
        if x < 0.0 || y < 0.0 || x >= (MW - 1) as f32 || y >= (MH - 1) as f32 {
            return -1.0;
        }
        let (ix, iy) = (x as usize, y as usize);
        let (tx, ty) = (x - ix as f32, y - iy as f32);
        let i = iy * MW + ix;
        let r = &self.ridges;
        let top = r[i] * (1.0 - tx) + r[i + 1] * tx;
        let bottom = r[i + MW] * (1.0 - tx) + r[i + MW + 1] * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Renders impression number `impression` of this finger as `kind`.
    pub fn impression(&self, impression: u32, kind: PressKind) -> GreyImage {
        let mut rng = ChaCha8Rng::seed_from_u64(seed(&[self.id, u64::from(impression), 0x7072]));
        let pixels = match kind {
            PressKind::Blank => blank(&mut rng),
            _ => {
                let mut grey = self.render(&mut rng);
                let mut degrade =
                    ChaCha8Rng::seed_from_u64(seed(&[self.id, u64::from(impression), kind as u64]));
                match kind {
                    PressKind::Smudged => smudge(&mut grey, &mut degrade),
                    PressKind::Partial => {
                        let bg = background(&grey);
                        partial(&mut grey, bg, &mut degrade)
                    }
                    _ => {}
                }
                finish(&grey, &mut rng)
            }
        };
        GreyImage::sensor(pixels).expect("the generator makes sensor-sized images")
    }

    /// A good press: the rendered impression before noise, in grey levels (f32).
    fn render(&self, rng: &mut ChaCha8Rng) -> Vec<f32> {
        let rotation = rng.gen_range(-0.26f32..0.26); // ±15°
        let (tx, ty) = (rng.gen_range(-16.0f32..16.0), rng.gen_range(-16.0f32..16.0));
        // Skin condition: below 0 dry (thin, broken ridges), above 0 wet (thick, merged ridges).
        let wetness = rng.gen_range(-0.55f32..0.5);
        // How hard the finger presses: the contact ellipse grows with it.
        let contact = rng.gen_range(0.92f32..1.04);
        let light = rng.gen_range(212.0f32..238.0);
        let contrast = rng.gen_range(120.0f32..165.0);
        // Plastic distortion: no displacement inside the contact core, full outside.
        let core = (rng.gen_range(-30.0f32..30.0), rng.gen_range(-30.0f32..30.0));
        let shift = (rng.gen_range(-6.0f32..6.0), rng.gen_range(-6.0f32..6.0));
        let twist = rng.gen_range(-0.05f32..0.05);
        let warp_x = ValueNoise::new(rng, WIDTH, HEIGHT, 70.0);
        let warp_y = ValueNoise::new(rng, WIDTH, HEIGHT, 70.0);
        let breaks = ValueNoise::new(rng, WIDTH, HEIGHT, 5.0);
        let blotches = ValueNoise::new(rng, WIDTH, HEIGHT, 24.0);
        let rim = ValueNoise::new(rng, WIDTH, HEIGHT, 16.0);

        let (sin_r, cos_r) = rotation.sin_cos();
        let (sin_t, cos_t) = twist.sin_cos();
        let (half_w, half_h) = (WIDTH as f32 / 2.0, HEIGHT as f32 / 2.0);
        let threshold = -0.55 * wetness;
        let mut out = vec![light; WIDTH * HEIGHT];
        for oy in 0..HEIGHT {
            for ox in 0..WIDTH {
                // Sensor coordinates around the window's centre.
                let sx = ox as f32 - half_w;
                let sy = oy as f32 - half_h;
                // Undo the plastic distortion (defined on the sensor plane).
                let (rx, ry) = (sx - core.0, sy - core.1);
                let r = (rx * rx + ry * ry).sqrt();
                let k = smoothstep(45.0, 150.0, r);
                let twisted = (cos_t * rx - sin_t * ry - rx, sin_t * rx + cos_t * ry - ry);
                let dx = k * (shift.0 + twisted.0) + 2.0 * warp_x.at(ox as f32, oy as f32);
                let dy = k * (shift.1 + twisted.1) + 2.0 * warp_y.at(ox as f32, oy as f32);
                let (ux, uy) = (sx - dx - tx, sy - dy - ty);
                // Undo the rotation and place on the master.
                let mx = cos_r * ux + sin_r * uy + self.shape.cx;
                let my = -sin_r * ux + cos_r * uy + self.shape.cy - 8.0;
                let d = self.shape.distance(mx, my) / contact + 0.02 * rim.at(ox as f32, oy as f32);
                let inside = 1.0 - smoothstep(0.93, 1.0, d);
                if inside <= 0.0 {
                    continue;
                }
                let v = self.ridge_at(mx, my);
                let mut ink = smoothstep(threshold - 0.45, threshold + 0.45, v);
                if wetness < 0.0 {
                    // Dry skin leaves gaps along the ridges.
                    let gap =
                        smoothstep(0.25, 0.75, breaks.at(ox as f32, oy as f32) * -wetness * 2.2);
                    ink *= 1.0 - 0.85 * gap;
                }
                let pressure = 0.85 + 0.15 * blotches.at(ox as f32, oy as f32);
                out[oy * WIDTH + ox] = light - contrast * pressure * ink * inside;
            }
        }
        out
    }
}

/// Marks the pixels of `region` within a Gabor kernel's radius of a non-zero pixel of `values`.
fn near_nonzero(values: &[f32], region: &[bool], out: &mut [bool]) {
    let r = gabor::RADIUS;
    let mut rows = vec![false; MW * MH];
    for y in 0..MH {
        let row = &values[y * MW..(y + 1) * MW];
        let mut last: Option<usize> = None;
        // Forward pass then backward pass: distance to the nearest non-zero along the row.
        for x in 0..MW {
            if row[x] != 0.0 {
                last = Some(x);
            }
            rows[y * MW + x] = last.is_some_and(|l| x - l <= r);
        }
        last = None;
        for x in (0..MW).rev() {
            if row[x] != 0.0 {
                last = Some(x);
            }
            if last.is_some_and(|l| l - x <= r) {
                rows[y * MW + x] = true;
            }
        }
    }
    for x in 0..MW {
        let mut last: Option<usize> = None;
        for y in 0..MH {
            if rows[y * MW + x] {
                last = Some(y);
            }
            out[y * MW + x] = last.is_some_and(|l| y - l <= r);
        }
        last = None;
        for y in (0..MH).rev() {
            if rows[y * MW + x] {
                last = Some(y);
            }
            if last.is_some_and(|l| l - y <= r) {
                out[y * MW + x] = true;
            }
            out[y * MW + x] &= region[y * MW + x];
        }
    }
}

/// The zero-pole orientation model (Sherlock and Monro): half the sum of the angles seen from the
/// cores minus those seen from the deltas, in image coordinates (y down).
fn zero_pole(s: &Singularities, x: f32, y: f32) -> f32 {
    let mut theta = 0.0;
    for &(cx, cy) in &s.cores {
        theta += (-(y - cy)).atan2(x - cx);
    }
    for &(dx, dy) in &s.deltas {
        theta -= (-(y - dy)).atan2(x - dx);
    }
    // Back to y-down image coordinates.
    -0.5 * theta
}

/// The background grey of a rendered press (its brightest level).
fn background(grey: &[f32]) -> f32 {
    grey.iter().copied().fold(0.0, f32::max)
}

/// Blur, noise and quantisation to 8 bits.
fn finish(grey: &[f32], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let blurred = box_blur(grey, WIDTH, HEIGHT, 1);
    let sigma = rng.gen_range(4.0f32..9.0);
    blurred
        .iter()
        .map(|&v| (v + sigma * gaussian(rng)).round().clamp(0.0, 255.0) as u8)
        .collect()
}

fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    // Irwin-Hall approximation: cheap and good enough for sensor noise.
    let s: f32 = (0..4).map(|_| rng.gen::<f32>()).sum();
    (s - 2.0) * 1.732
}

/// A box blur of the given radius (one pass horizontal, one vertical).
pub(crate) fn box_blur(src: &[f32], w: usize, h: usize, radius: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    let mut out = vec![0f32; w * h];
    let r = radius as isize;
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0.0;
            let mut n = 0.0;
            for dx in -r..=r {
                let sx = x as isize + dx;
                if sx >= 0 && sx < w as isize {
                    sum += src[y * w + sx as usize];
                    n += 1.0;
                }
            }
            tmp[y * w + x] = sum / n;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0.0;
            let mut n = 0.0;
            for dy in -r..=r {
                let sy = y as isize + dy;
                if sy >= 0 && sy < h as isize {
                    sum += tmp[sy as usize * w + x];
                    n += 1.0;
                }
            }
            out[y * w + x] = sum / n;
        }
    }
    out
}

/// Smears the ridges away: a motion blur along a random direction, two wide box blurs (wider
/// than a ridge period) and dark smears of sweat.
fn smudge(grey: &mut [f32], rng: &mut ChaCha8Rng) {
    let angle = rng.gen_range(0.0f32..PI);
    let (dx, dy) = (angle.cos(), angle.sin());
    let length = rng.gen_range(10.0f32..16.0);
    let steps = length as i32;
    let mut motion = vec![0f32; WIDTH * HEIGHT];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let mut sum = 0.0;
            let mut n = 0.0;
            for s in -steps / 2..=steps / 2 {
                let sx = (x as f32 + s as f32 * dx).round() as isize;
                let sy = (y as f32 + s as f32 * dy).round() as isize;
                if sx >= 0 && sy >= 0 && (sx as usize) < WIDTH && (sy as usize) < HEIGHT {
                    sum += grey[sy as usize * WIDTH + sx as usize];
                    n += 1.0;
                }
            }
            motion[y * WIDTH + x] = sum / n;
        }
    }
    let once = box_blur(&motion, WIDTH, HEIGHT, 5);
    let twice = box_blur(&once, WIDTH, HEIGHT, 4);
    let smears = ValueNoise::new(rng, WIDTH, HEIGHT, 30.0);
    let light = background(grey);
    for (i, v) in grey.iter_mut().enumerate() {
        let (x, y) = ((i % WIDTH) as f32, (i / WIDTH) as f32);
        let coverage = ((light - twice[i]) / 80.0).clamp(0.0, 1.0);
        *v = twice[i] - 30.0 * coverage * smears.at(x, y).max(0.0);
    }
}

/// Keeps only a band of the press along one edge of the sensor (a fingertip touching the rim).
fn partial(grey: &mut [f32], light: f32, rng: &mut ChaCha8Rng) {
    let angle = rng.gen_range(0.0f32..2.0 * PI);
    let (nx, ny) = (angle.cos(), angle.sin());
    // The kept band starts this far out from the centre along the direction (n_x, n_y).
    let reach = (WIDTH as f32 / 2.0 * nx.abs()) + (HEIGHT as f32 / 2.0 * ny.abs());
    let offset = reach * rng.gen_range(0.3f32..0.5);
    let edge = ValueNoise::new(rng, WIDTH, HEIGHT, 20.0);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let px = x as f32 - WIDTH as f32 / 2.0;
            let py = y as f32 - HEIGHT as f32 / 2.0;
            let along = px * nx + py * ny + 6.0 * edge.at(x as f32, y as f32);
            let keep = smoothstep(offset - 4.0, offset + 4.0, along);
            let i = y * WIDTH + x;
            grey[i] = light - (light - grey[i]) * keep;
        }
    }
}

/// An empty sensor: a light, slightly uneven field with faint latent marks.
fn blank(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let light = rng.gen_range(215.0f32..240.0);
    let shade = ValueNoise::new(rng, WIDTH, HEIGHT, 60.0);
    let grey: Vec<f32> = (0..WIDTH * HEIGHT)
        .map(|i| light + 4.0 * shade.at((i % WIDTH) as f32, (i / WIDTH) as f32))
        .collect();
    finish(&grey, rng)
}

/// Impression `impression` of finger `finger` as `kind` (builds the master each time; keep a
/// [`MasterFinger`] to take several impressions of one finger).
pub fn impression(finger: u64, impression: u32, kind: PressKind) -> GreyImage {
    MasterFinger::generate(finger).impression(impression, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_numbers_same_image() {
        let a = impression(7, 2, PressKind::Good);
        let b = impression(7, 2, PressKind::Good);
        assert_eq!(a, b);
        assert_ne!(a, impression(7, 3, PressKind::Good));
        assert_ne!(a, impression(8, 2, PressKind::Good));
    }

    #[test]
    fn dark_ridges_on_light_background() {
        let image = impression(1, 0, PressKind::Good);
        assert_eq!((image.width(), image.height()), (WIDTH, HEIGHT));
        let p = image.pixels();
        let corner = p[2 * WIDTH + 2];
        let dark = p.iter().filter(|&&v| v < 120).count();
        assert!(corner > 180, "corner {corner}");
        assert!(dark > WIDTH * HEIGHT / 6, "dark pixels {dark}");
    }

    #[test]
    fn blank_has_nothing_dark() {
        let image = impression(1, 0, PressKind::Blank);
        assert!(image.pixels().iter().all(|&v| v > 150));
    }
}
