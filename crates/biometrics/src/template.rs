//! Minutiae templates in the ISO/IEC 19794-2:2005 finger minutiae record format, one finger view
//! per record: what goes onto the card's chip and into the application record.
//!
//! Layout (big-endian): `"FMR\0"`, `" 20\0"`, record length (4 bytes), capture equipment
//! (certification 4 bits, device type 12 bits), image width and height (2 bytes each), x and y
//! resolution in pixels per centimetre (2 bytes each), number of finger views (1), reserved (1);
//! then the view: finger position (1), view number (4 bits) and impression type (4 bits), finger
//! quality (1), number of minutiae (1); each minutia in 6 bytes: type (2 bits: 01 ending,
//! 10 bifurcation) and x (14 bits), reserved (2 bits) and y (14 bits), angle (1 byte, units of
//! 360/256 degrees, counter-clockwise), quality (1); and the extended data length (2, zero).

use std::f32::consts::PI;

use thiserror::Error;

use crate::minutiae::{Minutia, MinutiaKind};

/// Header and view bytes before the first minutia.
const HEAD: usize = 28;
/// Pixels per centimetre at 500 dpi.
pub const RESOLUTION_PPCM: u16 = 197;

/// A minutiae template of one finger view.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Finger position code (ISO/IEC 19794-2 table: 0 unknown, 2 right index, 7 left index …).
    pub position: u8,
    /// Impression quality, 0 to 100.
    pub quality: u8,
    /// The minutiae, at most 255.
    pub minutiae: Vec<Minutia>,
}

/// Why bytes are not a template this crate reads.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Fewer bytes than the header and the minutiae it announces.
    #[error("template truncated: {0} bytes")]
    Truncated(usize),
    /// The record does not start with `FMR\0 20\0`.
    #[error("not an ISO/IEC 19794-2:2005 record (bad format identifier or version)")]
    BadHeader,
    /// The record length field differs from the bytes given.
    #[error("record length field says {field} bytes, {actual} given")]
    LengthMismatch {
        /// The length written in the record.
        field: u32,
        /// The bytes given.
        actual: usize,
    },
    /// Only single-view records are read.
    #[error("{0} finger views; one is supported")]
    Views(u8),
    /// A minutia's type bits are 11 (reserved).
    #[error("minutia {0} has a reserved type")]
    MinutiaType(usize),
    /// Extended data is present (not written by this crate).
    #[error("extended data of {0} bytes is not supported")]
    ExtendedData(u16),
}

/// Angle in radians to the ISO byte (360/256 degree units), rounding to the nearest.
fn angle_to_byte(angle: f32) -> u8 {
    ((angle.rem_euclid(2.0 * PI) / (2.0 * PI) * 256.0).round() as u32 % 256) as u8
}

fn byte_to_angle(byte: u8) -> f32 {
    f32::from(byte) * 2.0 * PI / 256.0
}

impl Template {
    /// Writes the record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let count = self.minutiae.len().min(255);
        let length = (HEAD + 6 * count + 2) as u32;
        let mut out = Vec::with_capacity(length as usize);
        out.extend_from_slice(b"FMR\0");
        out.extend_from_slice(b" 20\0");
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes()); // no certification, device type unreported
        out.extend_from_slice(&self.width.to_be_bytes());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&RESOLUTION_PPCM.to_be_bytes());
        out.extend_from_slice(&RESOLUTION_PPCM.to_be_bytes());
        out.push(1); // one finger view
        out.push(0); // reserved
        out.push(self.position);
        out.push(0); // view 0, impression type 0: live-scan plain
        out.push(self.quality.min(100));
        out.push(count as u8);
        for m in &self.minutiae[..count] {
            let kind: u16 = match m.kind {
                MinutiaKind::Ending => 0b01,
                MinutiaKind::Bifurcation => 0b10,
            };
            out.extend_from_slice(&((kind << 14) | (m.x & 0x3FFF)).to_be_bytes());
            out.extend_from_slice(&(m.y & 0x3FFF).to_be_bytes());
            out.push(angle_to_byte(m.angle));
            out.push(m.quality.min(100));
        }
        out.extend_from_slice(&0u16.to_be_bytes()); // no extended data
        out
    }

    /// Reads a single-view record.
    pub fn parse(bytes: &[u8]) -> Result<Template, TemplateError> {
        if bytes.len() < HEAD + 2 {
            return Err(TemplateError::Truncated(bytes.len()));
        }
        if &bytes[0..8] != b"FMR\0 20\0" {
            return Err(TemplateError::BadHeader);
        }
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let field = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if field as usize != bytes.len() {
            return Err(TemplateError::LengthMismatch {
                field,
                actual: bytes.len(),
            });
        }
        let (width, height) = (u16_at(14), u16_at(16));
        if bytes[22] != 1 {
            return Err(TemplateError::Views(bytes[22]));
        }
        let position = bytes[24];
        let quality = bytes[26];
        let count = usize::from(bytes[27]);
        let end = HEAD + 6 * count;
        if bytes.len() < end + 2 {
            return Err(TemplateError::Truncated(bytes.len()));
        }
        let mut minutiae = Vec::with_capacity(count);
        for n in 0..count {
            let at = HEAD + 6 * n;
            let first = u16_at(at);
            let kind = match first >> 14 {
                0b01 | 0b00 => MinutiaKind::Ending,
                0b10 => MinutiaKind::Bifurcation,
                _ => return Err(TemplateError::MinutiaType(n)),
            };
            minutiae.push(Minutia {
                x: first & 0x3FFF,
                y: u16_at(at + 2) & 0x3FFF,
                angle: byte_to_angle(bytes[at + 4]),
                kind,
                quality: bytes[at + 5],
            });
        }
        let extended = u16_at(end);
        if extended != 0 {
            return Err(TemplateError::ExtendedData(extended));
        }
        Ok(Template {
            width,
            height,
            position,
            quality,
            minutiae,
        })
    }

    /// This template with every angle rounded to the record's 1.40625° steps (what a
    /// write-then-parse gives back).
    pub fn quantised(&self) -> Template {
        let mut t = self.clone();
        for m in &mut t.minutiae {
            m.angle = byte_to_angle(angle_to_byte(m.angle));
            m.quality = m.quality.min(100);
        }
        t.minutiae.truncate(255);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Template {
        Template {
            width: 256,
            height: 288,
            position: 2,
            quality: 87,
            minutiae: vec![
                Minutia {
                    x: 10,
                    y: 20,
                    angle: 0.0,
                    kind: MinutiaKind::Ending,
                    quality: 90,
                },
                Minutia {
                    x: 255,
                    y: 287,
                    angle: 3.0,
                    kind: MinutiaKind::Bifurcation,
                    quality: 40,
                },
                Minutia {
                    x: 16383,
                    y: 1,
                    angle: 6.2825,
                    kind: MinutiaKind::Ending,
                    quality: 100,
                },
            ],
        }
    }

    #[test]
    fn writes_the_iso_layout_byte_for_byte() {
        let bytes = sample().to_bytes();
        assert_eq!(bytes.len(), 28 + 3 * 6 + 2);
        assert_eq!(&bytes[..12], b"FMR\0 20\0\0\0\0\x30");
        assert_eq!(
            &bytes[12..28],
            &[0, 0, 1, 0, 1, 0x20, 0, 197, 0, 197, 1, 0, 2, 0, 87, 3]
        );
        // Ending at (10, 20), angle 0, quality 90.
        assert_eq!(&bytes[28..34], &[0x40, 10, 0, 20, 0, 90]);
        // Bifurcation: type bits 10; angle 3 rad = 171.9° = 122.2 units.
        assert_eq!(&bytes[34..40], &[0x80, 0xFF, 0x01, 0x1F, 122, 40]);
        // 6.2825 rad rounds to 256 units, which wraps to 0.
        assert_eq!(&bytes[40..46], &[0x7F, 0xFF, 0, 1, 0, 100]);
        assert_eq!(&bytes[46..], &[0, 0]);
    }

    #[test]
    fn round_trips() {
        let t = sample();
        assert_eq!(Template::parse(&t.to_bytes()).unwrap(), t.quantised());
        let q = t.quantised();
        assert_eq!(Template::parse(&q.to_bytes()).unwrap(), q);
    }

    #[test]
    fn rejects_malformed_records() {
        let good = sample().to_bytes();
        assert_eq!(
            Template::parse(&good[..10]),
            Err(TemplateError::Truncated(10))
        );
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(Template::parse(&bad), Err(TemplateError::BadHeader));
        let mut short = good.clone();
        short.pop();
        assert_eq!(
            Template::parse(&short),
            Err(TemplateError::LengthMismatch {
                field: 48,
                actual: 47
            })
        );
        let mut reserved = good.clone();
        reserved[28] |= 0xC0;
        assert_eq!(
            Template::parse(&reserved),
            Err(TemplateError::MinutiaType(0))
        );
        let mut views = good.clone();
        views[22] = 2;
        assert_eq!(Template::parse(&views), Err(TemplateError::Views(2)));
        let mut lying = good;
        lying[27] = 9; // announces more minutiae than there are
        assert_eq!(Template::parse(&lying), Err(TemplateError::Truncated(48)));
    }
}
