//! Photo-studio receipt codes (照相回执码, docs/domain.md section 9.3): the one definition the scanner
//! protocol, the session, the store and the population system all use.

use serde::{Deserialize, Serialize};

/// A photo-studio receipt code: 8–32 characters of `A–Z a–z 0–9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReceiptCode(String);

/// Why a scanned or typed code is not a receipt code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptCodeError {
    /// Fewer than 8 characters.
    #[error("receipt code of {0} characters is too short (8 to 32)")]
    TooShort(usize),
    /// More than 32 characters.
    #[error("receipt code of {0} characters is too long (8 to 32)")]
    TooLong(usize),
    /// A character other than `A–Z a–z 0–9 -`.
    #[error("receipt code has {ch:?} at position {position}; only A-Z a-z 0-9 - allowed")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its index, in characters.
        position: usize,
    },
}

impl ReceiptCode {
    /// Checks characters, then length. Whitespace around the code (a scanner's terminator) is
    /// dropped.
    pub fn parse(code: &str) -> Result<ReceiptCode, ReceiptCodeError> {
        let code = code.trim();
        if let Some((position, ch)) = code
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(ReceiptCodeError::InvalidChar { ch, position });
        }
        match code.len() {
            len @ 0..=7 => Err(ReceiptCodeError::TooShort(len)),
            8..=32 => Ok(ReceiptCode(code.to_owned())),
            len => Err(ReceiptCodeError::TooLong(len)),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReceiptCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReceiptCode {
    type Error = ReceiptCodeError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        ReceiptCode::parse(&text)
    }
}

impl From<ReceiptCode> for String {
    fn from(code: ReceiptCode) -> String {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_characters() {
        assert_eq!(
            ReceiptCode::parse("PS2026112500001")
                .map(|c| c.to_string())
                .as_deref(),
            Ok("PS2026112500001")
        );
        assert!(ReceiptCode::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            ReceiptCode::parse("ABC1234"),
            Err(ReceiptCodeError::TooShort(7))
        );
        assert_eq!(
            ReceiptCode::parse(&"a".repeat(33)),
            Err(ReceiptCodeError::TooLong(33))
        );
        assert_eq!(
            ReceiptCode::parse("AB12_cd34"),
            Err(ReceiptCodeError::InvalidChar {
                ch: '_',
                position: 4
            })
        );
        assert_eq!(
            ReceiptCode::parse(" AB12-cd34\r").map(|c| c.as_str().len()),
            Ok(9)
        );
    }
}
