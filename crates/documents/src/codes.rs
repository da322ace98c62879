//! Barcode modules for the layout: Code 128 (set B) for application and ID numbers.

use barcoders::sym::code128::Code128;

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
