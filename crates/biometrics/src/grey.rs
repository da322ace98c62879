//! The 8-bit grey image of one press, and its PNG encoding and decoding with the errors a bad
//! file gives (not an image, wrong size, empty).

use thiserror::Error;

/// Width of the R30x sensor image in pixels (docs/domain.md section 9.2).
pub const WIDTH: usize = 256;
/// Height of the R30x sensor image in pixels.
pub const HEIGHT: usize = 288;

/// An 8-bit grey image, row-major, 0 black to 255 white.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreyImage {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// Why bytes or pixels are not a usable fingerprint image.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Zero bytes were given.
    #[error("the image is empty (0 bytes)")]
    Empty,
    /// The bytes are not a PNG image that can be decoded.
    #[error("not an image: {0}")]
    NotAnImage(String),
    /// The image is not 256 × 288 pixels.
    #[error("wrong size: {width} × {height} pixels, the sensor gives {WIDTH} × {HEIGHT}")]
    WrongSize {
        /// Width found.
        width: usize,
        /// Height found.
        height: usize,
    },
    /// The pixel buffer does not hold width × height bytes.
    #[error("{len} pixel bytes do not make a {width} × {height} image")]
    PixelCount {
        /// Bytes given.
        len: usize,
        /// Width asked for.
        width: usize,
        /// Height asked for.
        height: usize,
    },
}

impl ImageError {
    /// A short machine-readable code: `empty`, `not_an_image`, `wrong_size`.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "empty",
            ImageError::NotAnImage(_) => "not_an_image",
            ImageError::WrongSize { .. } | ImageError::PixelCount { .. } => "wrong_size",
        }
    }
}

impl GreyImage {
    /// Wraps row-major pixels of any size (the sensor's own is checked by [`GreyImage::sensor`]).
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> Result<GreyImage, ImageError> {
        if pixels.len() != width * height || width == 0 || height == 0 {
            return Err(ImageError::PixelCount {
                len: pixels.len(),
                width,
                height,
            });
        }
        Ok(GreyImage {
            width,
            height,
            pixels,
        })
    }

    /// Wraps 256 × 288 sensor pixels.
    pub fn sensor(pixels: Vec<u8>) -> Result<GreyImage, ImageError> {
        GreyImage::new(WIDTH, HEIGHT, pixels)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixels, row-major, by value (for `protocol::fingerprint::FingerImage::from_pixels`).
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The pixel at (x, y); the caller keeps inside the image.
    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    /// This image as the R30x module sends it: 4 bits a pixel, expanded back (n × 17).
    pub fn quantised_4bit(&self) -> GreyImage {
        let pixels = self.pixels.iter().map(|&p| (p >> 4) * 17).collect();
        GreyImage {
            width: self.width,
            height: self.height,
            pixels,
        }
    }

    /// Encodes as an 8-bit greyscale PNG.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            // Writing into a Vec cannot fail and the header matches the data by construction.
            let mut writer = encoder.write_header().expect("png header into memory");
            writer
                .write_image_data(&self.pixels)
                .expect("png data into memory");
        }
        out
    }

    /// Decodes a PNG (grey, grey+alpha, RGB, RGBA or palette; 1 to 16 bits) of any size.
    pub fn from_png_any_size(bytes: &[u8]) -> Result<GreyImage, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Empty);
        }
        let bad = |e: png::DecodingError| ImageError::NotAnImage(e.to_string());
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(bad)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ImageError::NotAnImage("image too large".into()))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(bad)?;
        let (width, height) = (info.width as usize, info.height as usize);
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => {
                return Err(ImageError::NotAnImage("unexpanded palette".into()))
            }
        };
        let line = info.line_size;
        let mut pixels = Vec::with_capacity(width * height);
        for y in 0..height {
            let row = &buf[y * line..y * line + width * channels];
            for px in row.chunks_exact(channels) {
                let grey = if channels >= 3 {
                    // ITU-R BT.601 luma.
                    (u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114 + 500)
                        / 1000
                } else {
                    u32::from(px[0])
                };
                pixels.push(grey as u8);
            }
        }
        GreyImage::new(width, height, pixels)
    }

    /// Decodes a PNG and checks that it is a 256 × 288 sensor image.
    pub fn from_png(bytes: &[u8]) -> Result<GreyImage, ImageError> {
        let image = GreyImage::from_png_any_size(bytes)?;
        if (image.width, image.height) != (WIDTH, HEIGHT) {
            return Err(ImageError::WrongSize {
                width: image.width,
                height: image.height,
            });
        }
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let pixels: Vec<u8> = (0..WIDTH * HEIGHT).map(|i| (i % 251) as u8).collect();
        let image = GreyImage::sensor(pixels).unwrap();
        assert_eq!(GreyImage::from_png(&image.to_png()).unwrap(), image);
    }

    #[test]
    fn bad_images_are_errors() {
        assert_eq!(GreyImage::from_png(b""), Err(ImageError::Empty));
        assert_eq!(
            GreyImage::from_png(b"hello").unwrap_err().code(),
            "not_an_image"
        );
        let small = GreyImage::new(10, 12, vec![0; 120]).unwrap();
        assert_eq!(
            GreyImage::from_png(&small.to_png()),
            Err(ImageError::WrongSize {
                width: 10,
                height: 12
            })
        );
        assert_eq!(
            GreyImage::sensor(vec![0; 5]).unwrap_err().code(),
            "wrong_size"
        );
    }

    #[test]
    fn four_bit_quantisation_keeps_white_white() {
        let image = GreyImage::new(2, 1, vec![255, 0]).unwrap();
        assert_eq!(image.quantised_4bit().pixels(), &[255, 0]);
    }
}
