//! The WeChat `code_url` as an inline SVG QR code, drawn on the server so the page needs no
//! script or network to show it.

use std::fmt::Write as _;

use qrcode::{EcLevel, QrCode};

/// Quiet zone around the code, in modules (ISO/IEC 18004 asks for 4).
const QUIET: usize = 4;

/// An `<svg>` element drawing `text` as a QR code (error correction M), one path of unit squares
/// on a white background; `None` when the text does not fit in a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET;
    let mut path = String::new();
    for (index, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let (x, y) = (index % width + QUIET, index / width + QUIET);
            // Writing to a String cannot fail.
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Some(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" "#,
            r#"shape-rendering="crispEdges" class="qr" id="wechat-qr" data-testid="wechat-qr" "#,
            r#"data-modules="{width}" role="img" aria-label="QR">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        size = size,
        width = width,
        path = path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_url_draws_a_square_of_modules() {
        let svg = svg("weixin://wxpay/bizpayurl?pr=abc123").expect("fits");
        assert!(svg.starts_with("<svg"), "{svg}");
        // A 34-character URL at level M needs version 3: 29 modules a side.
        assert!(svg.contains(r#"data-modules="29""#), "{svg}");
        assert!(svg.contains(r#"viewBox="0 0 37 37""#), "{svg}");
        assert!(svg.matches('M').count() > 29 * 29 / 3);
    }
}
