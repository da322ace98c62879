//! Bad inputs: each is a clear error with its reason, or a correct result; never a panic.

use face::{DecodeLimits, FaceEngine, FaceError, Picture};
use image::DynamicImage;

use crate::common::{engine, face_path, flat_grey_jpeg, jpeg_of, picture, png_of, Scratch};

fn open(name: &str, bytes: &[u8]) -> Result<Picture, FaceError> {
    let scratch = Scratch::new("bad");
    Picture::open(scratch.file(name, bytes), &DecodeLimits::default())
}

fn check_error(name: &str, bytes: &[u8], reason: &str) -> FaceError {
    let err = open(name, bytes).expect_err(name);
    assert_eq!(err.reason(), reason, "{name}: {err}");
    assert!(err.picture().is_some_and(|p| p.ends_with(name)), "{err}");
    assert!(
        err.to_string().contains(name),
        "the message names the picture: {err}"
    );
    err
}

fn obama_similarity(picture: &Picture) -> f64 {
    let engine = engine();
    engine
        .compare_pictures(picture, &crate::common::picture("obama.jpg"))
        .unwrap()
        .similarity
}

#[test]
fn empty_file_is_not_an_image() {
    let err = check_error("empty.jpg", b"", "not_an_image");
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn text_named_jpg_is_not_an_image() {
    check_error("notes.jpg", b"this is not a photo\n", "not_an_image");
}

#[test]
fn missing_file_is_unreadable() {
    let err = Picture::open("/nonexistent/face.jpg", &DecodeLimits::default()).unwrap_err();
    assert_eq!(err.reason(), "unreadable");
}

#[test]
fn gif_is_an_unsupported_format() {
    check_error(
        "anim.jpg",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "unsupported_format",
    );
}

#[test]
fn one_by_one_images_are_too_small() {
    let pixel = image::RgbImage::from_pixel(1, 1, image::Rgb([10, 20, 30]));
    check_error("dot.jpg", &jpeg_of(&pixel), "too_small");
    check_error(
        "dot.png",
        &png_of(&DynamicImage::ImageRgb8(pixel)),
        "too_small",
    );
}

#[test]
fn huge_png_is_refused_from_its_header() {
    // 12,000 × 12,000 declared; the header alone decides, nothing is decoded.
    let err = check_error("huge.png", &huge_png_header(12_000, 12_000), "too_large");
    assert!(err.to_string().contains("12000x12000"), "{err}");
}

#[test]
fn huge_jpeg_is_decoded_smaller_by_the_decoder() {
    if !crate::common::models_and_faces(
        "face::bad_inputs::huge_jpeg_is_decoded_smaller_by_the_decoder",
    ) {
        return;
    }
    // 144 Mpx; the limit is 16 Mpx, so the decoder's DCT scaling gives 1/4: 3,000 × 3,000.
    let picture = open("huge.jpg", &flat_grey_jpeg(12_000, 12_000)).expect("decoded smaller");
    assert_eq!(picture.original_size(), (12_000, 12_000));
    assert_eq!(picture.dimensions(), (3_000, 3_000));
    assert_eq!(picture.image().get_pixel(700, 700).0, [128, 128, 128]);
    let err = engine().describe(&picture).unwrap_err();
    assert_eq!(err.reason(), "no_face");
}

#[test]
fn large_real_photo_above_the_limit_is_scaled_and_still_recognised() {
    if !crate::common::models_and_faces(
        "face::bad_inputs::large_real_photo_above_the_limit_is_scaled_and_still_recognised",
    ) {
        return;
    }
    // obama.jpg with a 200,000-pixel limit decodes at 1/2 or 1/4 and keeps the face.
    let limits = DecodeLimits {
        max_pixels: 300_000,
        ..DecodeLimits::default()
    };
    let bytes = std::fs::read(face_path("obama.jpg")).unwrap();
    let small = Picture::from_bytes("obama.jpg", &bytes, &limits).unwrap();
    let (w, h) = small.dimensions();
    assert!(u64::from(w) * u64::from(h) <= 300_000, "{w}x{h}");
    assert!(w < 910 / 2 + 1);
}

#[test]
fn truncated_jpeg_is_corrupt_or_still_a_face() {
    if !crate::common::models_and_faces(
        "face::bad_inputs::truncated_jpeg_is_corrupt_or_still_a_face",
    ) {
        return;
    }
    let bytes = std::fs::read(face_path("obama.jpg")).unwrap();
    // Cut inside the header: corrupt.
    check_error("cut-header.jpg", &bytes[..300], "corrupt_image");
    // Cut halfway through the scan: the decoder gives what it has; no panic either way.
    match open("cut-scan.jpg", &bytes[..bytes.len() / 2]) {
        Ok(picture) => assert_eq!(picture.dimensions(), (910, 1137)),
        Err(err) => assert_eq!(err.reason(), "corrupt_image", "{err}"),
    }
}

#[test]
fn png_with_alpha_is_flattened_on_white_and_recognised() {
    if !crate::common::models_and_faces(
        "face::bad_inputs::png_with_alpha_is_flattened_on_white_and_recognised",
    ) {
        return;
    }
    let obama = picture("obama.jpg");
    let mut rgba = DynamicImage::ImageRgb8(obama.image().clone()).to_rgba8();
    // A transparent band down the left side.
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        if x < 100 {
            p.0[3] = 0;
        }
    }
    let picture = open("alpha.png", &png_of(&DynamicImage::ImageRgba8(rgba))).unwrap();
    assert_eq!(picture.image().get_pixel(10, 10).0, [255, 255, 255]);
    assert!(obama_similarity(&picture) > 95.0);
}

#[test]
fn sixteen_bit_png_is_read() {
    if !crate::common::models_and_faces("face::bad_inputs::sixteen_bit_png_is_read") {
        return;
    }
    let obama = picture("obama.jpg");
    let deep = DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(obama.image().clone()).to_rgb16());
    let picture = open("deep.png", &png_of(&deep)).unwrap();
    assert!(obama_similarity(&picture) > 95.0);
}

#[test]
fn grayscale_jpeg_is_read_and_recognised() {
    if !crate::common::models_and_faces("face::bad_inputs::grayscale_jpeg_is_read_and_recognised") {
        return;
    }
    let grey = DynamicImage::ImageRgb8(picture("obama2.jpg").image().clone()).to_luma8();
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode(
            grey.as_raw(),
            grey.width(),
            grey.height(),
            image::ColorType::L8,
        )
        .unwrap();
    let picture = open("grey.jpg", &bytes).unwrap();
    let p = picture.image().get_pixel(300, 300).0;
    assert!(p[0] == p[1] && p[1] == p[2]);
    assert!(obama_similarity(&picture) >= 60.0);
}

#[test]
fn exif_rotated_jpeg_is_turned_upright() {
    if !crate::common::models_and_faces("face::bad_inputs::exif_rotated_jpeg_is_turned_upright") {
        return;
    }
    // The pixels stored sideways, with EXIF orientation 6 ("rotate 90° clockwise to view"), as
    // phones and many cameras write them. Upright, the face is found and is obama's.
    let obama = picture("obama.jpg");
    let sideways = image::imageops::rotate270(obama.image());
    let bytes = with_exif_orientation(&jpeg_of(&sideways), 6);
    let picture = open("rotated.jpg", &bytes).unwrap();
    assert_eq!(picture.dimensions(), obama.dimensions());
    assert!(obama_similarity(&picture) > 95.0);
    // Without the tag the same pixels hold no upright face for the HOG detector.
    let plain = open("sideways.jpg", &jpeg_of(&sideways)).unwrap();
    assert_eq!(
        plain.dimensions(),
        (obama.dimensions().1, obama.dimensions().0)
    );
}

#[test]
fn broken_exif_is_ignored() {
    if !crate::common::models_and_faces("face::bad_inputs::broken_exif_is_ignored") {
        return;
    }
    let bytes = jpeg_of(picture("obama.jpg").image());
    let mut broken = bytes[..2].to_vec();
    broken.extend([0xFF, 0xE1, 0x00, 0x0A]);
    broken.extend(b"Exif\0\0MM");
    broken.extend(&bytes[2..]);
    let picture = open("broken-exif.jpg", &broken).unwrap();
    assert_eq!(picture.dimensions(), (910, 1137));
}

/// Inserts an APP1 EXIF segment holding only the orientation tag after the SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend(1u16.to_be_bytes()); // one entry
    tiff.extend(0x0112u16.to_be_bytes()); // Orientation
    tiff.extend(3u16.to_be_bytes()); // SHORT
    tiff.extend(1u32.to_be_bytes()); // count
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]);
    tiff.extend(0u32.to_be_bytes()); // no next IFD
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(u16::try_from(segment.len() + 2).unwrap().to_be_bytes());
    out.extend(segment);
    out.extend(&jpeg[2..]);
    out
}

/// A PNG signature and IHDR chunk declaring `width × height` RGB, then nothing.
fn huge_png_header(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc32(&ihdr).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
