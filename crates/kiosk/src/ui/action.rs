//! The touchscreen's form posts, parsed into [`UiAction`]s. Form values are the stable names of
//! docs/ui.md; anything else is a client error that names the field.

use base64::Engine as _;
use domain::rules::{Business, Household};
use domain::session::PaymentMethod;
use serde::Deserialize;

use crate::view::UiAction;

/// Longest text a keypad field may send: an ID number has 18 characters and a mobile number 11,
/// so anything much longer did not come from the keypad.
const MAX_TYPED: usize = 32;

/// The largest signature PNG accepted, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 1024 * 1024;

/// The PNG file signature.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The fields of `POST /action` (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// Which button: see [`parse_action`].
    pub action: Option<String>,
    /// The button's value (a business, a household, what was typed, `on`/`off`…).
    pub value: Option<String>,
    /// Step 8: first entry.
    pub first: Option<String>,
    /// Step 8: second entry.
    pub second: Option<String>,
}

/// A form field that is missing or holds a value the screen never sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {why}")]
pub struct BadField {
    /// The form field.
    pub field: &'static str,
    /// What is wrong with it.
    pub why: String,
}

impl BadField {
    fn new(field: &'static str, why: impl Into<String>) -> BadField {
        BadField {
            field,
            why: why.into(),
        }
    }
}

/// The `action` values, in the order of docs/ui.md.
pub const ACTIONS: [&str; 17] = [
    "start",
    "business",
    "portrait_form",
    "household",
    "id_number",
    "portrait_form_requested",
    "confirm",
    "back",
    "cancel",
    "take_photo",
    "use_photo",
    "retake_photo",
    "mobile",
    "payment_method",
    "activity",
    "voice",
    "large_type",
];

/// The form value of a payment method.
pub fn payment_method_value(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::WeChat => "wechat",
        PaymentMethod::UnionPay => "unionpay",
    }
}

/// Parses one form post.
pub fn parse_action(form: &ActionForm) -> Result<UiAction, BadField> {
    let action = form
        .action
        .as_deref()
        .ok_or_else(|| BadField::new("action", "missing"))?;
    Ok(match action {
        "start" => UiAction::Start,
        "business" => {
            let value = required(form.value.as_deref(), "value")?;
            UiAction::Business(Business::parse(value).ok_or_else(|| {
                BadField::new(
                    "value",
                    format!("unknown business {value:?} (expiry_renewal, lost or damaged)"),
                )
            })?)
        }
        "portrait_form" => UiAction::PortraitFormChosen,
        "household" => {
            let value = required(form.value.as_deref(), "value")?;
            UiAction::Household(Household::parse(value).ok_or_else(|| {
                BadField::new(
                    "value",
                    format!("unknown household {value:?} (local or province)"),
                )
            })?)
        }
        "id_number" => UiAction::IdNumber(typed(form.value.as_deref(), "value")?),
        "portrait_form_requested" => {
            UiAction::PortraitFormRequested(typed(form.value.as_deref(), "value")?)
        }
        "confirm" => UiAction::Confirm,
        "back" => UiAction::Back,
        "cancel" => UiAction::Cancel,
        "take_photo" => UiAction::TakePhoto,
        "use_photo" => UiAction::UsePhoto,
        "retake_photo" => UiAction::RetakePhoto,
        "mobile" => UiAction::Mobile {
            first: typed(form.first.as_deref(), "first")?,
            second: typed(form.second.as_deref(), "second")?,
        },
        "payment_method" => {
            let value = required(form.value.as_deref(), "value")?;
            UiAction::PaymentMethod(match value {
                "wechat" => PaymentMethod::WeChat,
                "unionpay" => PaymentMethod::UnionPay,
                other => {
                    return Err(BadField::new(
                        "value",
                        format!("unknown payment method {other:?} (wechat or unionpay)"),
                    ))
                }
            })
        }
        "activity" => UiAction::Activity,
        "voice" => UiAction::Voice(on_off(form.value.as_deref(), "voice")?),
        "large_type" => UiAction::LargeType(on_off(form.value.as_deref(), "large type")?),
        other => {
            return Err(BadField::new(
                "action",
                format!("unknown action {other:?} (one of {})", ACTIONS.join(", ")),
            ))
        }
    })
}

/// A start-screen toggle's `on` or `off`.
fn on_off(value: Option<&str>, what: &str) -> Result<bool, BadField> {
    match required(value, "value")? {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(BadField::new(
            "value",
            format!("{what} is {other:?}, expected on or off"),
        )),
    }
}

fn required<'a>(value: Option<&'a str>, field: &'static str) -> Result<&'a str, BadField> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(BadField::new(field, "missing")),
    }
}

/// Keypad text: passed on as typed (the state machine checks it and says what is wrong on the
/// screen), but only what a keypad can produce.
fn typed(value: Option<&str>, field: &'static str) -> Result<String, BadField> {
    let value = value.ok_or_else(|| BadField::new(field, "missing"))?;
    if value.chars().count() > MAX_TYPED {
        return Err(BadField::new(
            field,
            format!("longer than {MAX_TYPED} characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || c == 'X' || c == 'x')
    {
        return Err(BadField::new(
            field,
            "only digits and X come from the keypad",
        ));
    }
    Ok(value.to_owned())
}

/// Why a signature upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not a PNG, or not a `data:image/png;base64,` URL.
    #[error("body: {0}")]
    NotPng(String),
    /// Larger than [`MAX_SIGNATURE_BYTES`].
    #[error("body: the signature is larger than {MAX_SIGNATURE_BYTES} bytes")]
    TooLarge,
}

/// The PNG of a signature upload: a raw `image/png` body, or a `data:image/png;base64,` URL as
/// the whole body (any other content type).
pub fn parse_signature(is_png: bool, body: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let png = if is_png {
        body.to_vec()
    } else {
        let text = std::str::from_utf8(body)
            .map_err(|_| SignatureError::NotPng("neither image/png nor a data URL".into()))?
            .trim();
        let data = text.strip_prefix("data:image/png;base64,").ok_or_else(|| {
            SignatureError::NotPng("expected image/png or a data:image/png;base64, URL".into())
        })?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|error| SignatureError::NotPng(format!("bad base64: {error}")))?
    };
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::TooLarge);
    }
    if !png.starts_with(PNG_MAGIC) {
        return Err(SignatureError::NotPng("not a PNG image".into()));
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(action: &str, value: Option<&str>) -> ActionForm {
        ActionForm {
            action: Some(action.into()),
            value: value.map(Into::into),
            ..ActionForm::default()
        }
    }

    #[test]
    fn every_action_name_parses_or_names_its_missing_field() {
        for action in ACTIONS {
            match parse_action(&form(action, None)) {
                Ok(_) => {}
                Err(bad) => assert!(["value", "first"].contains(&bad.field), "{action}: {bad}"),
            }
        }
    }

    #[test]
    fn keypad_text_is_limited_to_what_a_keypad_types() {
        assert_eq!(
            parse_action(&form("id_number", Some("11010519491231002x"))),
            Ok(UiAction::IdNumber("11010519491231002x".into()))
        );
        assert_eq!(
            parse_action(&form("id_number", Some("1101<script>"))).map_err(|e| e.field),
            Err("value")
        );
        assert_eq!(
            parse_action(&form("id_number", Some(&"1".repeat(33)))).map_err(|e| e.field),
            Err("value")
        );
    }

    #[test]
    fn signature_data_url_and_raw_png() {
        let png = [PNG_MAGIC, b"rest"].concat();
        let url = format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        );
        assert_eq!(parse_signature(false, url.as_bytes()), Ok(png.clone()));
        assert_eq!(parse_signature(true, &png), Ok(png.clone()));
        assert!(matches!(
            parse_signature(true, b"GIF89a"),
            Err(SignatureError::NotPng(_))
        ));
        let big = [PNG_MAGIC, &vec![0; MAX_SIGNATURE_BYTES]].concat();
        assert_eq!(parse_signature(true, &big), Err(SignatureError::TooLarge));
    }
}
