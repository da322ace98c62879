//! Reading a picture with bounded memory: the format is taken from the signature, the size from
//! the header, and only then is anything decoded. JPEGs larger than the pixel limit are decoded at
//! 1/2, 1/4 or 1/8 scale by the decoder itself (the DCT scaling of libjpeg), so a 12,000 × 12,000
//! photo costs a 1,500 × 1,500 buffer; other formats above the limit are refused. The EXIF
//! orientation of a JPEG is applied, transparency is flattened onto white and grey becomes RGB.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageFormat, RgbImage};
use serde::{Deserialize, Serialize};

use crate::FaceError;

/// Limits that keep a hostile or mistaken file from using unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecodeLimits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest decoded picture, in pixels (width × height). A JPEG above it is decoded smaller.
    pub max_pixels: u64,
    /// Smallest width and height that can hold a face.
    pub min_side: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_file_bytes: 64 << 20,
            // 16 Mpx = 48 MB of RGB: every camera and scanner the kiosks use fits.
            max_pixels: 16_000_000,
            min_side: 32,
        }
    }
}

/// A decoded picture: upright, 8-bit RGB, with the name errors refer to it by.
#[derive(Debug, Clone)]
pub struct Picture {
    name: String,
    image: RgbImage,
    original_size: (u32, u32),
}

impl Picture {
    /// Reads and decodes a file; the picture is named by the path as given.
    pub fn open(path: impl AsRef<Path>, limits: &DecodeLimits) -> Result<Picture, FaceError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |source| FaceError::Io {
            picture: name.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > limits.max_file_bytes {
            return Err(FaceError::NotAnImage {
                picture: name,
                detail: format!(
                    "{len} bytes, more than the {} allowed",
                    limits.max_file_bytes
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Picture::from_bytes(name, &bytes, limits)
    }

    /// Decodes bytes already in memory.
    pub fn from_bytes(
        name: impl Into<String>,
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<Picture, FaceError> {
        let name = name.into();
        if bytes.is_empty() {
            return Err(FaceError::NotAnImage {
                picture: name,
                detail: "the file is empty".into(),
            });
        }
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(FaceError::NotAnImage {
                picture: name,
                detail: format!(
                    "{} bytes, more than the {} allowed",
                    bytes.len(),
                    limits.max_file_bytes
                ),
            });
        }
        let format = image::guess_format(bytes).map_err(|_| FaceError::NotAnImage {
            picture: name.clone(),
            detail: "no known image signature".into(),
        })?;
        let (image, original_size) = match format {
            ImageFormat::Jpeg => decode_jpeg(&name, bytes, limits)?,
            ImageFormat::Png => decode_png(&name, bytes, limits)?,
            other => {
                return Err(FaceError::UnsupportedFormat {
                    picture: name,
                    format: format!("{other:?}"),
                })
            }
        };
        Picture::checked(name, image, original_size, limits)
    }

    /// Wraps an image already decoded (a camera frame, a test image).
    pub fn from_rgb(name: impl Into<String>, image: RgbImage) -> Picture {
        let original_size = image.dimensions();
        Picture {
            name: name.into(),
            image,
            original_size,
        }
    }

    fn checked(
        name: String,
        image: RgbImage,
        original_size: (u32, u32),
        limits: &DecodeLimits,
    ) -> Result<Picture, FaceError> {
        let (width, height) = image.dimensions();
        if width < limits.min_side || height < limits.min_side {
            return Err(FaceError::TooSmall {
                picture: name,
                width,
                height,
            });
        }
        Ok(Picture {
            name,
            image,
            original_size,
        })
    }

    /// The name errors use for this picture.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The decoded pixels, upright.
    pub fn image(&self) -> &RgbImage {
        &self.image
    }

    /// Width and height of the decoded pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        self.image.dimensions()
    }

    /// Width and height as stored in the file (before orientation and any decode-time scaling).
    pub fn original_size(&self) -> (u32, u32) {
        self.original_size
    }
}

fn corrupt(name: &str, detail: impl ToString) -> FaceError {
    FaceError::Corrupt {
        picture: name.to_owned(),
        detail: detail.to_string(),
    }
}

fn decode_jpeg(
    name: &str,
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(RgbImage, (u32, u32)), FaceError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|e| corrupt(name, e))?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt(name, "no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width == 0 || height == 0 {
        return Err(corrupt(name, "zero width or height"));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        // Progressive JPEGs keep every coefficient of the full image whatever the output scale.
        if info.coding_process != jpeg_decoder::CodingProcess::DctSequential {
            return Err(FaceError::TooLarge {
                picture: name.to_owned(),
                width,
                height,
                limit: limits.max_pixels,
            });
        }
        let denominator = [2u32, 4, 8]
            .into_iter()
            .find(|d| {
                u64::from(width.div_ceil(*d)) * u64::from(height.div_ceil(*d)) <= limits.max_pixels
            })
            .ok_or(FaceError::TooLarge {
                picture: name.to_owned(),
                width,
                height,
                limit: limits.max_pixels,
            })?;
        let request = |side: u32| u16::try_from(side.div_ceil(denominator)).unwrap_or(u16::MAX);
        decoder
            .scale(request(width), request(height))
            .map_err(|e| corrupt(name, e))?;
    }
    decoder
        .set_max_decoding_buffer_size(usize::try_from(limits.max_pixels * 4).unwrap_or(usize::MAX));
    let data = decoder.decode().map_err(|e| corrupt(name, e))?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt(name, "no frame header"))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let expected = |channels: usize| (w as usize) * (h as usize) * channels;
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 if data.len() == expected(3) => {
            RgbImage::from_raw(w, h, data)
        }
        jpeg_decoder::PixelFormat::L8 if data.len() == expected(1) => {
            image::GrayImage::from_raw(w, h, data).map(|g| DynamicImage::ImageLuma8(g).to_rgb8())
        }
        jpeg_decoder::PixelFormat::L16 if data.len() == expected(2) => {
            let samples: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, samples)
                .map(|g| DynamicImage::ImageLuma16(g).to_rgb8())
        }
        jpeg_decoder::PixelFormat::CMYK32 if data.len() == expected(4) => {
            // The same conversion as the image crate's, so a CMYK photo looks the same here.
            let mut rgb = Vec::with_capacity(expected(3));
            for px in data.chunks_exact(4) {
                let k = 255 - u16::from(px[3]);
                for c in &px[..3] {
                    rgb.push((k * (255 - u16::from(*c)) / 255) as u8);
                }
            }
            RgbImage::from_raw(w, h, rgb)
        }
        _ => None,
    }
    .ok_or_else(|| corrupt(name, "decoded data does not match the header"))?;
    let orientation = decoder.exif_data().map(exif_orientation).unwrap_or(1);
    Ok((orient(rgb, orientation), (width, height)))
}

/// The EXIF orientation tag (1–8) from the TIFF data of an APP1 segment; 1 when absent or
/// unreadable, because a broken EXIF block should not lose an otherwise good photo.
fn exif_orientation(tiff: &[u8]) -> u32 {
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

fn orient(image: RgbImage, orientation: u32) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate180, rotate270, rotate90};
    match orientation {
        2 => flip_horizontal(&image),
        3 => rotate180(&image),
        4 => flip_vertical(&image),
        5 => flip_horizontal(&rotate90(&image)),
        6 => rotate90(&image),
        7 => flip_horizontal(&rotate270(&image)),
        8 => rotate270(&image),
        _ => image,
    }
}

fn decode_png(
    name: &str,
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(RgbImage, (u32, u32)), FaceError> {
    // The IHDR chunk comes first and holds the size: read it before anything is decoded.
    let header = bytes
        .get(12..24)
        .filter(|h| &h[..4] == b"IHDR")
        .ok_or_else(|| corrupt(name, "no IHDR chunk"))?;
    let width = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let height = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(FaceError::TooLarge {
            picture: name.to_owned(),
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    let mut decode_limits = image::io::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // RGBA at 16 bits per channel is the worst case: 8 bytes per pixel.
    decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    let mut reader = image::io::Reader::with_format(Cursor::new(bytes), ImageFormat::Png);
    reader.limits(decode_limits);
    let image = reader.decode().map_err(|e| corrupt(name, e))?;
    let rgb = if image.color().has_alpha() {
        flatten_on_white(&image.to_rgba8())
    } else {
        image.to_rgb8()
    };
    Ok((rgb, (width, height)))
}

/// Composites a picture with transparency onto white, the ID photo's background.
fn flatten_on_white(rgba: &image::RgbaImage) -> RgbImage {
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u32::from(a);
        let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([mix(r), mix(g), mix(b)])
    })
}
