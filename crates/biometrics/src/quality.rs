//! Image quality of one press, 0 to 100 with the reasons for a low score, from the ridge
//! structure in 8 × 8 blocks in the manner of NIST MINDTCT's quality map: where the finger touches
//! (contact), where the ridges are clear (contrast, a coherent orientation and a valid ridge
//! period), and where the contact lies on the sensor.

use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::grey::GreyImage;

/// Thresholds of the quality check (configuration, with the defaults the tests were run with).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityConfig {
    /// The lowest passing score, 0 to 100.
    pub threshold: u8,
    /// Below this share of the sensor in contact the press is blank.
    pub blank_area: f32,
    /// Below this share of the sensor in contact (or with the contact this far off-centre) the
    /// press is partial.
    pub partial_area: f32,
    /// The largest distance of the contact's centroid from the sensor's centre, as a share of the
    /// sensor's half size, before the press counts as partial.
    pub partial_offset: f32,
    /// Below this grey spread (standard deviation) in the contact the contrast is too low.
    pub min_contrast: f32,
    /// Below this share of the contact with clear ridges the press is smudged.
    pub min_clarity: f32,
    /// Below this share of the sensor with clear ridges there is too little ridge area.
    pub min_ridge_area: f32,
}

impl Default for QualityConfig {
    fn default() -> QualityConfig {
        QualityConfig {
            threshold: 50,
            blank_area: 0.04,
            partial_area: 0.45,
            partial_offset: 0.3,
            min_contrast: 12.0,
            min_clarity: 0.5,
            min_ridge_area: 0.35,
        }
    }
}

/// Why a press is poor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityReason {
    /// Nothing, or almost nothing, touches the sensor.
    Blank,
    /// Only an edge of the finger touches the sensor, or the finger is far off-centre.
    Partial,
    /// The ridges are too faint against the valleys.
    LowContrast,
    /// The finger touches the sensor but its ridges are smeared (no coherent ridge flow).
    Smudged,
    /// Too little of the sensor shows clear ridges.
    TooLittleRidgeArea,
}

impl QualityReason {
    /// The reason as the JSON and the logs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityReason::Blank => "blank",
            QualityReason::Partial => "partial",
            QualityReason::LowContrast => "low_contrast",
            QualityReason::Smudged => "smudged",
            QualityReason::TooLittleRidgeArea => "too_little_ridge_area",
        }
    }
}

/// The measurements behind a score, each a share of blocks or a grey level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityMetrics {
    /// Share of the sensor the finger touches.
    pub contact_area: f32,
    /// Share of the sensor with clear ridges.
    pub ridge_area: f32,
    /// Share of the contact with clear ridges.
    pub clarity: f32,
    /// Median grey spread in the contact.
    pub contrast: f32,
    /// Mean orientation coherence over the clear-ridge blocks.
    pub coherence: f32,
    /// Distance of the contact's centroid from the centre, as a share of the half size.
    pub offset: f32,
}

/// The quality of one press.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// 0 (nothing usable) to 100.
    pub score: u8,
    /// Whether the score reaches the threshold with no reason against the press.
    pub passed: bool,
    /// Why the press is poor (empty when it passed).
    pub reasons: Vec<QualityReason>,
    /// The measurements.
    pub metrics: QualityMetrics,
}

/// Which blocks touch and which show clear ridges.
pub(crate) struct BlockMap {
    pub contact: Vec<bool>,
    pub ridge: Vec<bool>,
    /// The grey of the empty glass.
    pub light: f32,
}

impl BlockMap {
    pub(crate) fn new(field: &Field) -> BlockMap {
        let mut means = field.mean.clone();
        means.sort_by(f32::total_cmp);
        // The sensor's empty glass: the brightest blocks (a full press still leaves some).
        let light = means[means.len() * 98 / 100];
        let contact: Vec<bool> = (0..field.mean.len())
            .map(|b| {
                field.mean[b] < light - 35.0
                    || field.std[b] > 22.0
                    // Faint but regular ridges are a light touch, not empty glass.
                    || (field.period[b] > 0.0 && field.coherence[b] >= 0.5 && field.std[b] >= 3.0)
            })
            .collect();
        let ridge = (0..field.mean.len())
            .map(|b| {
                contact[b]
                    && field.std[b] >= 10.0
                    && field.coherence[b] >= 0.35
                    && field.period[b] > 0.0
            })
            .collect();
        BlockMap {
            contact,
            ridge,
            light,
        }
    }
}

/// Scores `image` against `config`.
pub fn assess(image: &GreyImage, config: &QualityConfig) -> QualityReport {
    let field = Field::estimate(image);
    assess_field(&field, config)
}

pub(crate) fn assess_field(field: &Field, config: &QualityConfig) -> QualityReport {
    let blocks = BlockMap::new(field);
    let total = blocks.contact.len() as f32;
    let contact_count = blocks.contact.iter().filter(|&&c| c).count();
    let ridge_count = blocks.ridge.iter().filter(|&&r| r).count();
    let contact_area = contact_count as f32 / total;
    let ridge_area = ridge_count as f32 / total;
    let clarity = if contact_count == 0 {
        0.0
    } else {
        ridge_count as f32 / contact_count as f32
    };
    let mut spreads: Vec<f32> = (0..blocks.contact.len())
        .filter(|&b| blocks.contact[b])
        .map(|b| field.std[b])
        .collect();
    spreads.sort_by(f32::total_cmp);
    let contrast = spreads.get(spreads.len() / 2).copied().unwrap_or(0.0);
    let coherence = if ridge_count == 0 {
        0.0
    } else {
        (0..blocks.ridge.len())
            .filter(|&b| blocks.ridge[b])
            .map(|b| field.coherence[b])
            .sum::<f32>()
            / ridge_count as f32
    };
    let darkness = if contact_count == 0 {
        0.0
    } else {
        (0..blocks.contact.len())
            .filter(|&b| blocks.contact[b])
            .map(|b| blocks.light - field.mean[b])
            .sum::<f32>()
            / contact_count as f32
    };
    let offset = if contact_count == 0 {
        1.0
    } else {
        let (mut sx, mut sy) = (0f32, 0f32);
        for b in (0..blocks.contact.len()).filter(|&b| blocks.contact[b]) {
            sx += (b % field.cols) as f32 + 0.5;
            sy += (b / field.cols) as f32 + 0.5;
        }
        let (cx, cy) = (sx / contact_count as f32, sy / contact_count as f32);
        let (hx, hy) = (field.cols as f32 / 2.0, field.rows as f32 / 2.0);
        (((cx - hx) / hx).powi(2) + ((cy - hy) / hy).powi(2)).sqrt()
    };

    let mut reasons = Vec::new();
    if contact_area < config.blank_area {
        reasons.push(QualityReason::Blank);
    } else if contact_area < config.partial_area || offset > config.partial_offset {
        // The rim of a partial press is blurred and unclear by nature: no further reasons.
        reasons.push(QualityReason::Partial);
    } else if clarity < config.min_clarity {
        // No clear ridges in the contact: smeared when the contact is dark (sweat, a sliding
        // finger), faint when it is hardly darker than the glass.
        if darkness >= 40.0 {
            reasons.push(QualityReason::Smudged);
        } else {
            reasons.push(QualityReason::LowContrast);
        }
    } else if contrast < config.min_contrast {
        reasons.push(QualityReason::LowContrast);
    } else if ridge_area < config.min_ridge_area {
        reasons.push(QualityReason::TooLittleRidgeArea);
    }
    // The score: clear ridge area (a full press shows 70 to 80 % of the sensor) weighted by how
    // clear and contrasted those ridges are.
    let area_factor = (ridge_area / 0.75).min(1.0);
    let clarity_factor = (coherence / 0.75).min(1.0);
    let contrast_factor = (contrast / 30.0).min(1.0);
    let score =
        (100.0 * area_factor * clarity_factor.sqrt() * contrast_factor.sqrt()).round() as u8;
    let passed = reasons.is_empty() && score >= config.threshold;
    QualityReport {
        score,
        passed,
        reasons,
        metrics: QualityMetrics {
            contact_area,
            ridge_area,
            clarity,
            contrast,
            coherence,
            offset,
        },
    }
}
