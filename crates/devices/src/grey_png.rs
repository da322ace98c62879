//! An 8-bit grey PNG: how the operators' tool saves a captured fingerprint image (and the
//! simulators their drawn ones).

/// Why an image could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("encoding PNG: {0}")]
pub struct PngError(#[from] png::EncodingError);

/// An 8-bit grey PNG.
pub fn grey_png(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>, PngError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}
