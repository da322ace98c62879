//! `idkiosk finger`: synthetic fingerprints, press quality, templates and 1:1 matching, each
//! printing one JSON object on standard output.
//!
//! Exit codes: 0 when the press passed quality or the two prints matched, 1 when they did not (the
//! negative answer) or an image is bad (not an image, wrong size, empty, unreadable), with
//! `{"error": code, "file", "message"}` on standard output.

use crate::outcome::Outcome;
use std::path::{Path, PathBuf};

use anyhow::Context;
use biometrics::{
    assess, compare, extract, GreyImage, ImageError, MasterFinger, MatchConfig, PressKind,
    QualityConfig, Template,
};
use serde::Serialize;
use serde_json::json;

/// Arguments of `idkiosk finger`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: FingerCommand,
}

#[derive(clap::Subcommand)]
enum FingerCommand {
    /// Write a synthetic press (256 × 288 grey PNG), deterministic from finger and impression
    Synth {
        /// Finger id (any number; each is a different synthetic finger)
        #[arg(long)]
        finger: u64,
        /// Impression number of that finger
        #[arg(long, default_value_t = 0)]
        impression: u32,
        /// What kind of press
        #[arg(long, value_enum, default_value_t = Kind::Good)]
        kind: Kind,
        /// Output PNG file
        #[arg(long)]
        out: PathBuf,
    },
    /// Score a press's quality; exits 0 if it passes, 1 if not
    Quality {
        /// PNG file of the press
        image: PathBuf,
        /// Lowest passing score (0-100)
        #[arg(long)]
        threshold: Option<u8>,
    },
    /// Compare two presses; exits 0 if they match, 1 if not
    Match {
        /// First press (PNG)
        a: PathBuf,
        /// Second press (PNG)
        b: PathBuf,
        /// Lowest matching score (0-100)
        #[arg(long)]
        threshold: Option<u8>,
    },
    /// Extract a press's minutiae as an ISO/IEC 19794-2:2005 template
    Template {
        /// PNG file of the press
        image: PathBuf,
        /// Where to write the template
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    Good,
    Smudged,
    Partial,
    Blank,
}

impl From<Kind> for PressKind {
    fn from(kind: Kind) -> PressKind {
        match kind {
            Kind::Good => PressKind::Good,
            Kind::Smudged => PressKind::Smudged,
            Kind::Partial => PressKind::Partial,
            Kind::Blank => PressKind::Blank,
        }
    }
}

/// A bad input image: the answer printed for it.
struct BadImage {
    file: PathBuf,
    code: &'static str,
    message: String,
}

fn load(path: &Path) -> Result<GreyImage, BadImage> {
    let bytes = std::fs::read(path).map_err(|e| BadImage {
        file: path.to_owned(),
        code: "unreadable",
        message: format!("cannot read the file: {e}"),
    })?;
    GreyImage::from_png(&bytes).map_err(|e: ImageError| BadImage {
        file: path.to_owned(),
        code: e.code(),
        message: e.to_string(),
    })
}

fn print(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn answer(ok: bool) -> Outcome {
    Outcome::answer(ok)
}

fn bad(image: BadImage) -> anyhow::Result<Outcome> {
    print(&json!({
        "error": image.code,
        "file": image.file.display().to_string(),
        "message": image.message,
    }))?;
    Ok(Outcome::Negative)
}

/// Runs `idkiosk finger`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        FingerCommand::Synth {
            finger,
            impression,
            kind,
            out,
        } => {
            let master = MasterFinger::generate(finger);
            let image = master.impression(impression, kind.into());
            std::fs::write(&out, image.to_png())
                .with_context(|| format!("writing {}", out.display()))?;
            print(&json!({
                "finger": finger,
                "impression": impression,
                "kind": PressKind::from(kind),
                "class": master.class(),
                "width": image.width(),
                "height": image.height(),
                "out": out.display().to_string(),
            }))?;
            Ok(Outcome::Success)
        }
        FingerCommand::Quality { image, threshold } => {
            let image = match load(&image) {
                Ok(i) => i,
                Err(e) => return bad(e),
            };
            let mut config = QualityConfig::default();
            if let Some(t) = threshold {
                config.threshold = t;
            }
            let report = assess(&image, &config);
            print(&json!({
                "score": report.score,
                "passed": report.passed,
                "reasons": report.reasons,
                "threshold": config.threshold,
            }))?;
            Ok(answer(report.passed))
        }
        FingerCommand::Match { a, b, threshold } => {
            let (a, b) = match (load(&a), load(&b)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return bad(e),
            };
            let mut config = MatchConfig::default();
            if let Some(t) = threshold {
                config.threshold = t;
            }
            let (ma, mb) = (extract(&a), extract(&b));
            let result = compare(&ma, &mb, &config);
            print(&json!({
                "score": result.score,
                "matched": result.matched,
                "threshold": config.threshold,
                "minutiae_a": ma.len(),
                "minutiae_b": mb.len(),
                "paired": result.pairs,
            }))?;
            Ok(answer(result.matched))
        }
        FingerCommand::Template { image, out } => {
            let image = match load(&image) {
                Ok(i) => i,
                Err(e) => return bad(e),
            };
            let quality = assess(&image, &QualityConfig::default());
            let template = Template {
                width: image.width() as u16,
                height: image.height() as u16,
                position: 0,
                quality: quality.score,
                minutiae: extract(&image),
            };
            let bytes = template.to_bytes();
            if let Some(out) = &out {
                std::fs::write(out, &bytes)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            print(&json!({
                "minutiae": template.minutiae.len(),
                "bytes": bytes.len(),
                "quality": quality.score,
                "out": out.map(|o| o.display().to_string()),
            }))?;
            Ok(Outcome::Success)
        }
    }
}
