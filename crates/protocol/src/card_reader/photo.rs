//! The card's 1024-byte photo block.
//!
//! Real cards carry the vendors' WLT format, decoded only by a vendor library. Our cards (and the
//! simulator's) carry a 102 × 126 JPEG of at most 1024 bytes, zero-padded (docs/domain.md 4);
//! these helpers pad and unpad it.

/// Size of the photo block.
pub const PHOTO_LEN: usize = 1024;

/// Why a JPEG cannot go into a photo block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// Larger than the block.
    #[error("photo of {0} bytes does not fit the 1024-byte block")]
    TooLarge(usize),
    /// Does not start with SOI `FF D8` and end with EOI `FF D9`.
    #[error("not a complete JPEG (SOI/EOI markers missing)")]
    NotJpeg,
}

/// The JPEG inside a photo block, without the zero padding after its EOI marker; `None` when the
/// block does not hold one (e.g. a real card's WLT data, which needs the vendor decoder).
pub fn photo_jpeg(block: &[u8]) -> Option<&[u8]> {
    let end = block.iter().rposition(|&b| b != 0)? + 1;
    let jpeg = &block[..end];
    (jpeg.len() >= 4 && jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]))
        .then_some(jpeg)
}

/// Pads a JPEG with zeros into a photo block.
pub fn encode_photo(jpeg: &[u8]) -> Result<[u8; PHOTO_LEN], PhotoError> {
    if jpeg.len() > PHOTO_LEN {
        return Err(PhotoError::TooLarge(jpeg.len()));
    }
    if jpeg.len() < 4 || !jpeg.starts_with(&[0xFF, 0xD8]) || !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err(PhotoError::NotJpeg);
    }
    let mut block = [0u8; PHOTO_LEN];
    block[..jpeg.len()].copy_from_slice(jpeg);
    Ok(block)
}
