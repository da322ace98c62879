//! Passive liveness: is the face in front of the camera a live person, or a printed photo or a
//! screen held up to the lens? [`LivenessEngine`] is the contract (a picture and the detector's
//! face box in, a [`Liveness`] out), so a bureau can plug in its certified presentation-attack
//! detector; [`MiniFasNetEngine`] is the implementation shipped.
//!
//! [`MiniFasNetEngine`] runs the two MiniFASNet models of `minivision-ai/Silent-Face-Anti-Spoofing`
//! (Apache-2.0) with candle on the CPU, from safetensors copied beside the dlib weights by
//! `scripts/setup/20-face.sh`: `MiniFASNetV2` on a crop 2.7 times the face box and
//! `MiniFASNetV1SE` on a crop 4.0 times it, each resized to 80 × 80, BGR, 0–255 floats. Each
//! gives three logits (class 1 live, 0 and 2 two kinds of attack); the softmax vectors are added,
//! the label is the argmax and the live score is the sum's class 1 divided by 2.
//!
//! Every BatchNorm is folded into the convolution before it when the weights are loaded. candle
//! does the full and 1 × 1 convolutions (matrix products); the depth-wise convolutions are a
//! direct loop, because candle's grouped convolution runs one convolution per channel (hundreds
//! per layer), and bias and PReLU are applied in one pass over each layer's output instead of
//! four tensor operations: together that took a forward pass from ~13 ms to ~4 ms on one core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use candle_core::{DType, Device, Tensor};
use image::imageops::FilterType;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::engine::single_face;
use crate::{FaceBox, FaceEngine, FaceError, Picture};

/// The model on the 2.7 × crop.
pub const MODEL_V2_27: &str = "MiniFASNetV2_2.7_80x80.safetensors";
/// The model on the 4.0 × crop.
pub const MODEL_V1SE_40: &str = "MiniFASNetV1SE_4.0_80x80.safetensors";
/// The models' licence, copied beside them.
pub const LICENSE_FILE: &str = "MiniFASNet-LICENSE";
/// The folder (under the models' folder) of the two sample frames the setup copies with them.
pub const SAMPLES_DIR: &str = "MiniFASNet-samples";
/// The side of the square the models read.
pub const INPUT_SIDE: u32 = 80;
/// The engine's name as stored with each score.
pub const ENGINE_NAME: &str = "minifasnet-v2-2.7+v1se-4.0";

/// What the engine made of the face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessLabel {
    /// A live person in front of the camera.
    Live,
    /// A presentation attack: a print, a screen or a cut-out (the models' classes 0 and 2).
    Attack,
}

impl LivenessLabel {
    /// `live` or `attack`.
    pub fn as_str(self) -> &'static str {
        match self {
            LivenessLabel::Live => "live",
            LivenessLabel::Attack => "attack",
        }
    }
}

/// The engine's verdict on one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// True when the label is [`LivenessLabel::Live`].
    pub live: bool,
    /// The live score, 0 to 1 (the models' mean live probability).
    pub score: f32,
    /// The label.
    pub label: LivenessLabel,
}

impl Liveness {
    /// The verdict from the sum of the models' softmax vectors (each of `[attack, live, attack]`)
    /// and the number of models summed.
    pub fn from_summed(sum: [f32; 3], models: usize) -> Liveness {
        let class = (0..3)
            .max_by(|&a, &b| sum[a].total_cmp(&sum[b]))
            .unwrap_or(0);
        let label = if class == 1 {
            LivenessLabel::Live
        } else {
            LivenessLabel::Attack
        };
        Liveness {
            live: label == LivenessLabel::Live,
            score: sum[1] / models.max(1) as f32,
            label,
        }
    }
}

/// A passive liveness (presentation attack) detector. Implementations load their models once and
/// are shared by reference across threads.
pub trait LivenessEngine: Send + Sync {
    /// The engine's name, stored with each score.
    fn name(&self) -> &str;

    /// The engine's version (models and runtime), stored with each score.
    fn version(&self) -> &str;

    /// The verdict on the face at `face` (the face detector's box) in `picture`.
    fn check(&self, picture: &Picture, face: &FaceBox) -> Result<Liveness, FaceError>;
}

/// The single face of `picture`, found by `faces`, checked by `liveness`: an error naming the
/// picture when it has no face or several.
pub fn check_picture(
    faces: &dyn FaceEngine,
    liveness: &dyn LivenessEngine,
    picture: &Picture,
) -> Result<Liveness, FaceError> {
    let face = single_face(picture, faces.detect(picture)?)?;
    liveness.check(picture, &face)
}

/// The crop rectangle (left, top, right, bottom, inclusive) of Silent-Face-Anti-Spoofing: the
/// face box scaled by `scale` (less if the picture is too small for it) about its centre, shifted
/// back inside the picture where it crosses an edge.
pub fn crop_box(width: u32, height: u32, face: &FaceBox, scale: f64) -> (u32, u32, u32, u32) {
    let (src_w, src_h) = (width as f64, height as f64);
    let box_w = face.width().max(1) as f64;
    let box_h = face.height().max(1) as f64;
    let scale = scale.min((src_h - 1.0) / box_h).min((src_w - 1.0) / box_w);
    let (new_w, new_h) = (box_w * scale, box_h * scale);
    let (cx, cy) = (
        face.left as f64 + box_w / 2.0,
        face.top as f64 + box_h / 2.0,
    );
    let (mut l, mut t) = (cx - new_w / 2.0, cy - new_h / 2.0);
    let (mut r, mut b) = (cx + new_w / 2.0, cy + new_h / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > src_w - 1.0 {
        l -= r - src_w + 1.0;
        r = src_w - 1.0;
    }
    if b > src_h - 1.0 {
        t -= b - src_h + 1.0;
        b = src_h - 1.0;
    }
    let clamp = |v: f64, max: f64| v.clamp(0.0, max) as u32;
    (
        clamp(l, src_w - 1.0),
        clamp(t, src_h - 1.0),
        clamp(r, src_w - 1.0),
        clamp(b, src_h - 1.0),
    )
}

/// The model input for one crop: the rectangle of [`crop_box`] resized to `side` × `side` with
/// an antialiased bilinear (triangle) filter, as BGR 0–255 floats, C × H × W.
///
/// Why antialiased: the crops are 3 to 8 times the model's side, and plain bilinear sampling
/// (OpenCV's `INTER_LINEAR`) then reads one pixel in 25–60, so the score follows the sampling
/// phase and the JPEG decoder. With the triangle filter the scores are close to those the
/// models' README gives (live sample 0.970 against 0.969, spoof sample 0.134 against 0.115);
/// with plain bilinear they were 0.995 and 0.200.
pub fn model_input(image: &RgbImage, face: &FaceBox, scale: f64, side: u32) -> Vec<f32> {
    let (l, t, r, b) = crop_box(image.width(), image.height(), face, scale);
    let crop = image::imageops::crop_imm(image, l, t, r - l + 1, b - t + 1);
    let small = image::imageops::resize(&*crop, side, side, FilterType::Triangle);
    let plane = (side * side) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, px) in small.pixels().enumerate() {
        // BGR: red goes to channel 2.
        out[2 * plane + i] = px.0[0] as f32;
        out[plane + i] = px.0[1] as f32;
        out[i] = px.0[2] as f32;
    }
    out
}

fn candle_err(path: &Path) -> impl Fn(candle_core::Error) -> FaceError + '_ {
    move |e| FaceError::ModelLoad {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// A convolution's weights with its BatchNorm folded in: the values, their shape, the bias.
type Folded = (Vec<f32>, Vec<usize>, Vec<f32>);

/// The weights of one file, read tensor by tensor with BatchNorm folded in.
struct Weights<'a> {
    path: &'a Path,
    tensors: HashMap<String, Tensor>,
}

impl Weights<'_> {
    fn vec(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), FaceError> {
        let t = self.tensors.get(name).ok_or_else(|| FaceError::ModelLoad {
            path: self.path.to_path_buf(),
            detail: format!("no tensor {name}"),
        })?;
        let dims = t.dims().to_vec();
        let v = t
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(candle_err(self.path))?;
        Ok((v, dims))
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The weight `{conv}` (out channels first) times the BatchNorm `{bn}`'s scale, and the
    /// BatchNorm's shift as a bias: conv → BN becomes one conv with a bias.
    fn folded(&self, conv: &str, bn: &str) -> Result<Folded, FaceError> {
        let (mut w, dims) = self.vec(conv)?;
        let (gamma, _) = self.vec(&format!("{bn}.weight"))?;
        let (beta, _) = self.vec(&format!("{bn}.bias"))?;
        let (mean, _) = self.vec(&format!("{bn}.running_mean"))?;
        let (var, _) = self.vec(&format!("{bn}.running_var"))?;
        let out = dims[0];
        if [gamma.len(), beta.len(), mean.len(), var.len()] != [out; 4] || w.len() % out != 0 {
            return Err(FaceError::ModelLoad {
                path: self.path.to_path_buf(),
                detail: format!("{bn} does not match {conv} {dims:?}"),
            });
        }
        let per = w.len() / out;
        let mut bias = vec![0f32; out];
        for o in 0..out {
            let s = gamma[o] / (var[o] + 1e-5).sqrt();
            w[o * per..(o + 1) * per].iter_mut().for_each(|v| *v *= s);
            bias[o] = beta[o] - mean[o] * s;
        }
        Ok((w, dims, bias))
    }

    fn tensor(&self, v: Vec<f32>, dims: &[usize]) -> Result<Tensor, FaceError> {
        Tensor::from_vec(v, dims, &Device::Cpu).map_err(candle_err(self.path))
    }

    fn prelu(&self, prefix: &str) -> Result<Vec<f32>, FaceError> {
        Ok(self.vec(&format!("{prefix}.prelu.weight"))?.0)
    }

    /// A 1 × 1 conv (+ BN, + PReLU when `prelu`) at `{prefix}.conv` / `{prefix}.bn`.
    fn pointwise(&self, prefix: &str, prelu: bool) -> Result<Pointwise, FaceError> {
        self.pointwise_at(&format!("{prefix}.conv.weight"), &format!("{prefix}.bn"))
            .and_then(|mut p| {
                if prelu {
                    p.prelu = Some(self.prelu(prefix)?);
                }
                Ok(p)
            })
    }

    fn pointwise_at(&self, conv: &str, bn: &str) -> Result<Pointwise, FaceError> {
        let (w, dims, bias) = self.folded(conv, bn)?;
        let (out, inp) = (dims[0], dims[1]);
        Ok(Pointwise {
            w: self.tensor(w, &[out, inp])?,
            b: bias,
            prelu: None,
        })
    }

    /// A depth-wise k × k conv (+ BN, + PReLU when `prelu`) at `{prefix}.conv` / `{prefix}.bn`.
    fn depthwise(
        &self,
        prefix: &str,
        prelu: bool,
        pad: usize,
        stride: usize,
    ) -> Result<Depthwise, FaceError> {
        let (w, dims, bias) =
            self.folded(&format!("{prefix}.conv.weight"), &format!("{prefix}.bn"))?;
        if dims.len() != 4 || dims[1] != 1 || dims[2] != dims[3] {
            return Err(FaceError::ModelLoad {
                path: self.path.to_path_buf(),
                detail: format!("{prefix} is not a depth-wise square kernel: {dims:?}"),
            });
        }
        Ok(Depthwise {
            w,
            k: dims[2],
            b: bias,
            prelu: if prelu {
                Some(self.prelu(prefix)?)
            } else {
                None
            },
            pad,
            stride,
        })
    }

    /// A depth-wise unit (`{prefix}.conv`, `.conv_dw`, `.project`, optional `.se_module`).
    fn unit(&self, prefix: &str, stride: usize, residual: bool) -> Result<Unit, FaceError> {
        let se = if self.has(&format!("{prefix}.se_module.fc1.weight")) {
            Some((
                self.pointwise_at(
                    &format!("{prefix}.se_module.fc1.weight"),
                    &format!("{prefix}.se_module.bn1"),
                )?,
                self.pointwise_at(
                    &format!("{prefix}.se_module.fc2.weight"),
                    &format!("{prefix}.se_module.bn2"),
                )?,
            ))
        } else {
            None
        };
        Ok(Unit {
            expand: self.pointwise(&format!("{prefix}.conv"), true)?,
            dw: self.depthwise(&format!("{prefix}.conv_dw"), true, 1, stride)?,
            project: self.pointwise(&format!("{prefix}.project"), false)?,
            se,
            residual,
        })
    }
}

type Res<T> = candle_core::Result<T>;

/// Adds the per-channel bias and applies the per-channel PReLU slope (if any) in place, on a
/// C × `plane` buffer: one pass instead of four tensor operations and their allocations.
fn bias_prelu(v: &mut [f32], plane: usize, bias: &[f32], slope: Option<&[f32]>) {
    for (c, chunk) in v.chunks_mut(plane).enumerate() {
        let b = bias[c];
        match slope {
            Some(a) => {
                let a = a[c];
                for x in chunk {
                    let y = *x + b;
                    *x = if y > 0.0 { y } else { a * y };
                }
            }
            None => chunk.iter_mut().for_each(|x| *x += b),
        }
    }
}

/// A 1 × 1 convolution with folded BatchNorm, as a matrix product on C × (H·W).
struct Pointwise {
    w: Tensor,
    b: Vec<f32>,
    prelu: Option<Vec<f32>>,
}

impl Pointwise {
    fn forward(&self, x: &Tensor) -> Res<Tensor> {
        let (c, h, w) = x.dims3()?;
        let mut y = self
            .w
            .matmul(&x.reshape((c, h * w))?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        bias_prelu(&mut y, h * w, &self.b, self.prelu.as_deref());
        Tensor::from_vec(y, (self.b.len(), h, w), &Device::Cpu)
    }
}

/// A depth-wise k × k convolution with folded BatchNorm (and PReLU), written as a direct loop:
/// candle's grouped convolution would run one convolution per channel.
struct Depthwise {
    /// C × k × k.
    w: Vec<f32>,
    k: usize,
    b: Vec<f32>,
    prelu: Option<Vec<f32>>,
    pad: usize,
    stride: usize,
}

impl Depthwise {
    fn forward(&self, x: &Tensor) -> Res<Tensor> {
        let (c, h, w) = x.dims3()?;
        let input = x.flatten_all()?.to_vec1::<f32>()?;
        let (k, pad, stride) = (self.k as isize, self.pad as isize, self.stride);
        let oh = (h + 2 * self.pad - self.k) / stride + 1;
        let ow = (w + 2 * self.pad - self.k) / stride + 1;
        let mut out = vec![0f32; c * oh * ow];
        for ch in 0..c {
            let src = &input[ch * h * w..(ch + 1) * h * w];
            let kernel = &self.w[ch * self.k * self.k..(ch + 1) * self.k * self.k];
            let dst = &mut out[ch * oh * ow..(ch + 1) * oh * ow];
            for oy in 0..oh {
                let y0 = (oy * stride) as isize - pad;
                for ox in 0..ow {
                    let x0 = (ox * stride) as isize - pad;
                    let mut acc = 0f32;
                    for ky in 0..k {
                        let y = y0 + ky;
                        if y < 0 || y >= h as isize {
                            continue;
                        }
                        let row = &src[y as usize * w..(y as usize + 1) * w];
                        let krow = &kernel[(ky * k) as usize..((ky + 1) * k) as usize];
                        for (kx, kv) in krow.iter().enumerate() {
                            let xx = x0 + kx as isize;
                            if xx >= 0 && xx < w as isize {
                                acc += row[xx as usize] * kv;
                            }
                        }
                    }
                    dst[oy * ow + ox] = acc;
                }
            }
        }
        bias_prelu(&mut out, oh * ow, &self.b, self.prelu.as_deref());
        Tensor::from_vec(out, (c, oh, ow), &Device::Cpu)
    }
}

/// expand (1 × 1) → depth-wise 3 × 3 → project (1 × 1), with squeeze-and-excitation on the
/// projection in the last unit of a stage of the SE model, and the input added in residual units.
struct Unit {
    expand: Pointwise,
    dw: Depthwise,
    project: Pointwise,
    se: Option<(Pointwise, Pointwise)>,
    residual: bool,
}

impl Unit {
    fn forward(&self, x: &Tensor) -> Res<Tensor> {
        let y = self
            .project
            .forward(&self.dw.forward(&self.expand.forward(x)?)?)?;
        let y = match &self.se {
            Some((fc1, fc2)) => {
                let pooled = y.mean_keepdim(1)?.mean_keepdim(2)?;
                let g = fc1.forward(&pooled)?.relu()?;
                let g = candle_nn::ops::sigmoid(&fc2.forward(&g)?)?;
                y.broadcast_mul(&g)?
            }
            None => y,
        };
        if self.residual {
            x + y
        } else {
            Ok(y)
        }
    }
}

/// One MiniFASNet (V2 or V1SE; the tensor names say which layers exist).
pub struct MiniFasNet {
    conv1_w: Tensor,
    conv1_b: Vec<f32>,
    conv1_prelu: Vec<f32>,
    conv2_dw: Depthwise,
    units: Vec<Unit>,
    conv_6_sep: Pointwise,
    conv_6_dw: Depthwise,
    linear_w: Tensor,
    linear_b: Tensor,
    prob: Tensor,
}

impl std::fmt::Debug for MiniFasNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniFasNet")
            .field("units", &self.units.len())
            .finish_non_exhaustive()
    }
}

impl MiniFasNet {
    /// Loads a model from its safetensors file.
    pub fn load(path: &Path) -> Result<MiniFasNet, FaceError> {
        if !path.is_file() {
            return Err(FaceError::ModelsMissing {
                path: path.to_path_buf(),
            });
        }
        let tensors =
            candle_core::safetensors::load(path, &Device::Cpu).map_err(candle_err(path))?;
        let wt = Weights { path, tensors };

        let (w, dims, b) = wt.folded("conv1.conv.weight", "conv1.bn")?;
        let conv1_w = wt.tensor(w, &dims)?;
        let conv1_b = b;
        let conv1_prelu = wt.prelu("conv1")?;

        let mut units = Vec::new();
        for (down, stage) in [
            ("conv_23", "conv_3"),
            ("conv_34", "conv_4"),
            ("conv_45", "conv_5"),
        ] {
            units.push(wt.unit(down, 2, false)?);
            let mut i = 0;
            while wt.has(&format!("{stage}.model.{i}.conv.conv.weight")) {
                units.push(wt.unit(&format!("{stage}.model.{i}"), 1, true)?);
                i += 1;
            }
        }
        let (w, dims, b) = wt.folded("linear.weight", "bn")?;
        let (p, pdims) = wt.vec("prob.weight")?;
        Ok(MiniFasNet {
            conv1_w,
            conv1_b,
            conv1_prelu,
            conv2_dw: wt.depthwise("conv2_dw", true, 1, 1)?,
            units,
            conv_6_sep: wt.pointwise("conv_6_sep", true)?,
            conv_6_dw: wt.depthwise("conv_6_dw", false, 0, 1)?,
            linear_w: wt.tensor(w, &dims)?,
            linear_b: wt.tensor(b, &[dims[0], 1])?,
            prob: wt.tensor(p, &pdims)?,
        })
    }

    /// The three logits for one 3 × 80 × 80 input (BGR, 0–255).
    pub fn logits(&self, input: &[f32]) -> candle_core::Result<[f32; 3]> {
        let side = INPUT_SIDE as usize;
        let x = Tensor::from_slice(input, (1, 3, side, side), &Device::Cpu)?;
        let x = x.conv2d(&self.conv1_w, 1, 2, 1, 1)?.squeeze(0)?;
        let (c, h, w) = x.dims3()?;
        let mut v = x.flatten_all()?.to_vec1::<f32>()?;
        bias_prelu(&mut v, h * w, &self.conv1_b, Some(&self.conv1_prelu));
        let x = Tensor::from_vec(v, (c, h, w), &Device::Cpu)?;
        let mut x = self.conv2_dw.forward(&x)?;
        for unit in &self.units {
            x = unit.forward(&x)?;
        }
        let x = self.conv_6_dw.forward(&self.conv_6_sep.forward(&x)?)?;
        let c = x.dim(0)?;
        let x = x.reshape((c, 1))?;
        let x = self.linear_w.matmul(&x)?.broadcast_add(&self.linear_b)?;
        let v = self.prob.matmul(&x)?.flatten_all()?.to_vec1::<f32>()?;
        Ok([v[0], v[1], v[2]])
    }

    /// The softmax of [`MiniFasNet::logits`].
    pub fn probabilities(&self, input: &[f32]) -> candle_core::Result<[f32; 3]> {
        let l = self.logits(input)?;
        let t = Tensor::from_slice(&l, 3, &Device::Cpu)?;
        let v = candle_nn::ops::softmax_last_dim(&t)?.to_vec1::<f32>()?;
        Ok([v[0], v[1], v[2]])
    }
}

/// The two MiniFASNet models with their crop scales.
pub struct MiniFasNetEngine {
    models: Vec<(f64, MiniFasNet)>,
    version: String,
}

impl std::fmt::Debug for MiniFasNetEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniFasNetEngine")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl MiniFasNetEngine {
    /// The files the engine loads from `dir`, with their crop scales.
    pub fn files(dir: &Path) -> [(f64, PathBuf); 2] {
        [(2.7, dir.join(MODEL_V2_27)), (4.0, dir.join(MODEL_V1SE_40))]
    }

    /// Loads both models from `dir` (the dlib weights' folder, [`crate::paths::models_dir`]).
    pub fn load(dir: &Path) -> Result<MiniFasNetEngine, FaceError> {
        let models = MiniFasNetEngine::files(dir)
            .into_iter()
            .map(|(scale, path)| Ok((scale, MiniFasNet::load(&path)?)))
            .collect::<Result<Vec<_>, FaceError>>()?;
        Ok(MiniFasNetEngine {
            models,
            version: format!(
                "Silent-Face-Anti-Spoofing {MODEL_V2_27} + {MODEL_V1SE_40}; candle {}",
                candle_version()
            ),
        })
    }

    /// The process-wide engine, loaded from [`crate::paths::models_dir`] on first use; a failed
    /// load is not cached, so running the setup and trying again works.
    pub fn shared() -> Result<Arc<MiniFasNetEngine>, FaceError> {
        static ENGINE: OnceLock<Arc<MiniFasNetEngine>> = OnceLock::new();
        static LOADING: Mutex<()> = Mutex::new(());
        if let Some(engine) = ENGINE.get() {
            return Ok(engine.clone());
        }
        let _loading = LOADING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = ENGINE.get() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(MiniFasNetEngine::load(&crate::paths::models_dir())?);
        Ok(ENGINE.get_or_init(|| engine).clone())
    }

    /// Each model's softmax vector for the face at `face` in `image`, in the order of
    /// [`MiniFasNetEngine::files`].
    pub fn probabilities(
        &self,
        image: &RgbImage,
        face: &FaceBox,
    ) -> candle_core::Result<Vec<[f32; 3]>> {
        self.models
            .iter()
            .map(|(scale, model)| {
                model.probabilities(&model_input(image, face, *scale, INPUT_SIDE))
            })
            .collect()
    }
}

fn candle_version() -> &'static str {
    "0.9"
}

impl LivenessEngine for MiniFasNetEngine {
    fn name(&self) -> &str {
        ENGINE_NAME
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn check(&self, picture: &Picture, face: &FaceBox) -> Result<Liveness, FaceError> {
        let probabilities =
            self.probabilities(picture.image(), face)
                .map_err(|e| FaceError::ModelLoad {
                    path: crate::paths::models_dir(),
                    detail: format!("liveness forward pass failed: {e}"),
                })?;
        let mut sum = [0f32; 3];
        for p in &probabilities {
            for (s, v) in sum.iter_mut().zip(p) {
                *s += v;
            }
        }
        Ok(Liveness::from_summed(sum, probabilities.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_stays_inside_the_picture() {
        let face = FaceBox {
            left: 10,
            top: 10,
            right: 60,
            bottom: 60,
        };
        // 2.7 × 50 = 135 wide, centred at 35: shifted right to start at 0.
        assert_eq!(crop_box(640, 480, &face, 2.7), (0, 0, 135, 135));
        // The scale shrinks to fit a small picture: (100 − 1) / 50.
        let (l, t, r, b) = crop_box(100, 100, &face, 4.0);
        assert_eq!((l, t, r, b), (0, 0, 99, 99));
    }

    #[test]
    fn the_label_is_the_argmax_of_the_sum() {
        let live = Liveness::from_summed([0.2, 1.6, 0.2], 2);
        assert_eq!(live.label, LivenessLabel::Live);
        assert!(live.live);
        assert!((live.score - 0.8).abs() < 1e-6);
        let attack = Liveness::from_summed([1.2, 0.5, 0.3], 2);
        assert_eq!(attack.label, LivenessLabel::Attack);
        assert!(!attack.live);
    }
}
