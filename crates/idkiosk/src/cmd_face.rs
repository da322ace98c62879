//! `idkiosk face`: compare two photos, crop an ID photo from a camera frame, run step 7's
//! verification, tell a live face from a print or a screen (liveness), and refit the score's
//! calibration on a bureau's labelled pairs.
//!
//! Every answer is one JSON object on standard output. Exit codes: 0 done (the faces compared,
//! the photo is good, step 7 passed, the face is live), 1 a negative answer about the pictures
//! (no face, several faces, not an image, failed quality, failed verification, a presentation
//! attack), 2 a malformed pairs file, 3 the engine itself cannot run (weights missing: run
//! `scripts/setup/20-face.sh`).

use crate::outcome::Outcome;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use face::calibration::{fit, LabelledDistance};
use face::liveness::check_picture;
use face::{
    crop_id_photo, verify, Calibration, CropConfig, DecodeLimits, DlibEngine, FaceEngine,
    FaceError, MiniFasNetEngine, ModelPaths, Picture, QualityConfig, QualityReason, Thresholds,
};
use serde_json::{json, Value};

/// Arguments of `idkiosk face`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: FaceCommand,
}

/// A calibration other than the reference one (both or neither).
#[derive(clap::Args, Clone, Copy)]
struct CalibrationArgs {
    /// Distance that scores 50 (default 0.64, dlib's reference calibration)
    #[arg(long, requires = "w")]
    c: Option<f64>,
    /// Width of the logistic (default 0.0985)
    #[arg(long, requires = "c")]
    w: Option<f64>,
}

#[derive(clap::Subcommand)]
enum FaceCommand {
    /// Compare the faces of two photos: prints {"similarity","distance","engine"}, exits 0; exits
    /// 1 naming the picture and the reason when one has no face, several, or is not an image
    Compare {
        /// First photo (JPEG or PNG)
        a: PathBuf,
        /// Second photo
        b: PathBuf,
        #[command(flatten)]
        calibration: CalibrationArgs,
    },
    /// Crop the 358x441, 350 dpi ID photo from a camera frame and print its quality report;
    /// writes OUT and exits 0 when the photo is good, exits 1 with the reason when not
    Crop {
        /// The camera frame
        input: PathBuf,
        /// Where to write the ID photo (JPEG)
        output: PathBuf,
    },
    /// Step 7: certified vs historical above 95, live vs historical above 60; exits 0 when both
    /// pass, 1 when not
    Verify {
        /// The photo studio's certified photo
        #[arg(long)]
        certified: PathBuf,
        /// The historical photo from the population system
        #[arg(long)]
        historical: PathBuf,
        /// The live photo taken at the kiosk
        #[arg(long)]
        live: PathBuf,
        /// Threshold for live vs historical
        #[arg(long, default_value_t = Thresholds::default().live)]
        live_threshold: f64,
        /// Threshold for certified vs historical
        #[arg(long, default_value_t = Thresholds::default().certified)]
        certified_threshold: f64,
        #[command(flatten)]
        calibration: CalibrationArgs,
    },
    /// Passive liveness of the one face in a photo (MiniFASNet): prints {"live","score","label"};
    /// exits 0 when live, 1 for an attack (a print or a screen), and 1 naming the picture and
    /// the reason when it has no face, several, or is not an image
    Liveness {
        /// The camera frame
        image: PathBuf,
    },
    /// Fit the score's calibration (c, w) by logistic regression on labelled pairs. Each CSV line
    /// is `distance,same` or `photo_a,photo_b,same`, with same = 1/0 (or true/false); a header
    /// line is allowed
    Calibrate {
        /// The labelled pairs
        #[arg(long)]
        pairs: PathBuf,
    },
}

/// Runs `idkiosk face`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        FaceCommand::Compare { a, b, calibration } => compare(&a, &b, calibration),
        FaceCommand::Crop { input, output } => crop(&input, &output),
        FaceCommand::Verify {
            certified,
            historical,
            live,
            live_threshold,
            certified_threshold,
            calibration,
        } => run_verify(
            [&certified, &historical, &live],
            Thresholds {
                live: live_threshold,
                certified: certified_threshold,
            },
            calibration,
        ),
        FaceCommand::Liveness { image } => liveness(&image),
        FaceCommand::Calibrate { pairs } => calibrate(&pairs),
    }
}

fn engine(calibration: CalibrationArgs) -> anyhow::Result<Arc<dyn FaceEngine>> {
    let engine: Arc<dyn FaceEngine> = match (calibration.c, calibration.w) {
        (Some(c), Some(w)) => Arc::new(
            DlibEngine::load(&ModelPaths::from_env(), Calibration { c, w })
                .context("loading the face engine")?,
        ),
        _ => DlibEngine::shared().context("loading the face engine")?,
    };
    Ok(engine)
}

/// Prints the JSON answer for an error about a picture and returns exit 1; other errors (the
/// engine itself) go up as exit 3.
fn picture_error(err: FaceError) -> anyhow::Result<Outcome> {
    if !err.is_about_picture() {
        return Err(err.into());
    }
    let mut answer = json!({
        "error": err.to_string(),
        "picture": err.picture(),
        "reason": err.reason(),
    });
    if let Some(reason) = QualityReason::from_error(&err) {
        let (zh, en) = reason.prompt();
        answer["prompt_zh"] = zh.into();
        answer["prompt_en"] = en.into();
    }
    println!("{answer}");
    Ok(Outcome::Negative)
}

fn open(path: &Path) -> Result<Picture, FaceError> {
    Picture::open(path, &DecodeLimits::default())
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn compare(a: &Path, b: &Path, calibration: CalibrationArgs) -> anyhow::Result<Outcome> {
    let engine = engine(calibration)?;
    let described = std::thread::scope(|scope| {
        let first = scope.spawn(|| open(a).and_then(|p| engine.describe(&p)));
        let second = open(b).and_then(|p| engine.describe(&p));
        let first = first
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        first.and_then(|first| Ok((first, second?)))
    });
    let (first, second) = match described {
        Ok(both) => both,
        Err(err) => return picture_error(err),
    };
    let comparison = engine.compare(&first.embedding, &second.embedding);
    println!(
        "{}",
        json!({
            "similarity": round(comparison.similarity, 1),
            "distance": round(comparison.distance, 4),
            "engine": engine.name(),
        })
    );
    Ok(Outcome::Success)
}

fn crop(input: &Path, output: &Path) -> anyhow::Result<Outcome> {
    let engine = engine(CalibrationArgs { c: None, w: None })?;
    let photo = match open(input).and_then(|frame| {
        crop_id_photo(
            &*engine,
            &frame,
            &CropConfig::default(),
            &QualityConfig::default(),
        )
    }) {
        Ok(photo) => photo,
        Err(err) => return picture_error(err),
    };
    let mut answer = serde_json::to_value(&photo.report)?;
    if let Some(problem) = photo.report.problems.first() {
        answer["picture"] = Value::from(input.display().to_string());
        answer["reason"] = Value::from(problem.reason.code());
        println!("{answer}");
        return Ok(Outcome::Negative);
    }
    std::fs::write(output, &photo.jpeg)
        .with_context(|| format!("writing the ID photo to {}", output.display()))?;
    answer["output"] = Value::from(output.display().to_string());
    println!("{answer}");
    Ok(Outcome::Success)
}

fn liveness(image: &Path) -> anyhow::Result<Outcome> {
    let faces = engine(CalibrationArgs { c: None, w: None })?;
    let models = MiniFasNetEngine::shared().context("loading the liveness models")?;
    let verdict = match open(image).and_then(|p| check_picture(&*faces, &*models, &p)) {
        Ok(verdict) => verdict,
        Err(err) => return picture_error(err),
    };
    println!(
        "{}",
        json!({
            "live": verdict.live,
            "score": round(f64::from(verdict.score), 3),
            "label": verdict.label.as_str(),
        })
    );
    Ok(if verdict.live {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

fn run_verify(
    [certified, historical, live]: [&PathBuf; 3],
    thresholds: Thresholds,
    calibration: CalibrationArgs,
) -> anyhow::Result<Outcome> {
    let engine = engine(calibration)?;
    let pictures = (|| Ok::<_, FaceError>((open(certified)?, open(historical)?, open(live)?)))();
    let report = match pictures.and_then(|(c, h, l)| verify(&*engine, &thresholds, &c, &h, &l)) {
        Ok(report) => report,
        Err(err) => return picture_error(err),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

/// One line of the pairs file, before any distance is computed.
enum PairLine {
    Distance(f64, bool),
    Photos(PathBuf, PathBuf, bool),
}

fn parse_label(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "same" => Some(true),
        "0" | "false" | "no" | "different" => Some(false),
        _ => None,
    }
}

fn parse_pairs(text: &str, base: &Path) -> Result<Vec<PairLine>, String> {
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed = match fields.as_slice() {
            [distance, same] => distance
                .parse::<f64>()
                .ok()
                .zip(parse_label(same))
                .map(|(d, s)| PairLine::Distance(d, s)),
            [a, b, same] => {
                parse_label(same).map(|s| PairLine::Photos(base.join(a), base.join(b), s))
            }
            _ => None,
        };
        match parsed {
            Some(pair) => lines.push(pair),
            // A first line that does not parse is a header.
            None if lines.is_empty() && number == 0 => continue,
            None => {
                return Err(format!(
                    "line {}: expected `distance,same` or `photo_a,photo_b,same` with same = 1 or 0, got {line:?}",
                    number + 1
                ))
            }
        }
    }
    Ok(lines)
}

fn calibrate(path: &Path) -> anyhow::Result<Outcome> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let lines = match parse_pairs(&text, base) {
        Ok(lines) => lines,
        Err(error) => {
            println!(
                "{}",
                json!({ "error": error, "file": path.display().to_string() })
            );
            return Ok(Outcome::Usage);
        }
    };
    let needs_engine = lines.iter().any(|l| matches!(l, PairLine::Photos(..)));
    let engine = if needs_engine {
        Some(engine(CalibrationArgs { c: None, w: None })?)
    } else {
        None
    };
    let mut pairs = Vec::with_capacity(lines.len());
    for line in lines {
        let pair = match (line, &engine) {
            (PairLine::Distance(distance, same), _) => LabelledDistance { distance, same },
            (PairLine::Photos(a, b, same), Some(engine)) => {
                let comparison = match open(&a)
                    .and_then(|a| Ok((a, open(&b)?)))
                    .and_then(|(a, b)| engine.compare_pictures(&a, &b))
                {
                    Ok(comparison) => comparison,
                    Err(err) => return picture_error(err),
                };
                LabelledDistance {
                    distance: comparison.distance,
                    same,
                }
            }
            (PairLine::Photos(..), None) => {
                unreachable!("the engine is loaded when photos are listed")
            }
        };
        pairs.push(pair);
    }
    let calibration = match fit(&pairs) {
        Ok(calibration) => calibration,
        Err(err) => {
            println!(
                "{}",
                json!({ "error": err.to_string(), "file": path.display().to_string() })
            );
            return Ok(Outcome::Usage);
        }
    };
    let same = pairs.iter().filter(|p| p.same).count();
    let thresholds = Thresholds::default();
    println!(
        "{}",
        json!({
            "c": round(calibration.c, 4),
            "w": round(calibration.w, 4),
            "pairs": pairs.len(),
            "same": same,
            "different": pairs.len() - same,
            "distance_at_live_threshold": round(calibration.distance_for(thresholds.live), 4),
            "distance_at_certified_threshold": round(calibration.distance_for(thresholds.certified), 4),
        })
    );
    Ok(Outcome::Success)
}
