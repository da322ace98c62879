//! Barcode and QR code modules for the layout: Code 128 (set B) for application and ID numbers,
//! QR (error correction M) for the WeChat `code_url`.

use barcoders::sym::code128::Code128;
use qrcode::{EcLevel, QrCode};

use crate::RenderError;

/// The modules (1 = bar) of `text` in Code 128 set B, without quiet zones.
pub(crate) fn code128(what: &'static str, text: &str) -> Result<Vec<u8>, RenderError> {
    // 'Ɓ' selects set B in barcoders: all printable ASCII.
    Code128::new(format!("Ɓ{text}"))
        .map(|code| code.encode())
        .map_err(|e| RenderError::Barcode {
            what,
            message: e.to_string(),
        })
}

/// The modules of `text` as a QR code: (row-major modules, width).
pub(crate) fn qr(what: &'static str, text: &str) -> Result<(Vec<bool>, usize), RenderError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| {
        RenderError::Barcode {
            what,
            message: e.to_string(),
        }
    })?;
    let width = code.width();
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((modules, width))
}
