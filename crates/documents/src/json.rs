//! The JSON form of each document's data (documented in `docs/documents.md`): plain wire structs,
//! converted by hand into the typed data of [`crate::types`]. Every refusal names the field, as a
//! path (`collection.office`, `fingers[1].quality`).

use base64::Engine;
use domain::session::PortraitApplication;
use domain::{Business, CitizenId, MobileNumber};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::types::{
    parse_finger, ApplicationNumber, Collection, CollectionCertificate, CollectionMethod, Fen,
    FingerCapture, JpegImage, MaskedCard, Nation, PersonName, PngImage, PortraitForm,
    RegistrationForm, TextLine, TransactionId, UnionPayNotice, ValueError, WechatNotice,
};
use crate::{Document, Kind};

/// Bad data: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DataError {
    /// The field's path in the JSON (`.` for the document itself).
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

fn at(field: &str) -> impl FnOnce(ValueError) -> DataError + '_ {
    move |e| DataError {
        field: field.to_owned(),
        message: e.0,
    }
}

fn error(field: &str, message: impl Into<String>) -> DataError {
    DataError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Parses the JSON of a `kind` document into typed data.
pub fn parse(kind: Kind, json: &[u8]) -> Result<Document, DataError> {
    Ok(match kind {
        Kind::Certificate => Document::Certificate(certificate(deserialize(json)?)?),
        Kind::Form => Document::Form(form(deserialize(json)?)?),
        Kind::NoticeWechat => Document::NoticeWechat(wechat(deserialize(json)?)?),
        Kind::NoticeUnionPay => Document::NoticeUnionPay(unionpay(deserialize(json)?)?),
        Kind::Portrait => Document::Portrait(portrait(deserialize(json)?)?),
    })
}

fn deserialize<T: DeserializeOwned>(json: &[u8]) -> Result<T, DataError> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A missing field is reported by serde at its parent; name the field itself.
        let message = inner.to_string();
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        DataError {
            field,
            message: strip_position(&message),
        }
    })
}

/// serde_json appends " at line 1 column 12"; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// 居民身份证领取凭证 as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateJson {
    /// 受理编号.
    pub application_number: String,
    /// Full name (printed masked).
    pub name: String,
    /// ID number (printed masked).
    pub id_number: String,
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// `YYYY-MM-DD`.
    pub accepted_on: String,
    /// Remote area: the issue-by date is 90 days instead of 60.
    #[serde(default)]
    pub remote_area: bool,
    /// Where and how to collect.
    pub collection: CollectionJson,
    /// The signature, a PNG in base64.
    pub signature_png: String,
    /// 受理单位.
    pub bureau: String,
}

/// Where and how to collect, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionJson {
    /// `in_person` or `post`.
    pub method: String,
    /// With `post`: the delivery address.
    #[serde(default)]
    pub post_address: Option<String>,
    /// 领证地点.
    pub office: String,
    /// The office's address.
    pub address: String,
    /// Opening hours.
    pub hours: String,
}

/// 居民身份证申领登记表 as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormJson {
    /// 受理编号.
    pub application_number: String,
    /// Full name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// GB 3304 nation code, 1–56.
    pub nation: u8,
    /// 住址.
    pub address: String,
    /// The ID photo, a JPEG in base64.
    pub photo_jpeg: String,
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// Mobile number.
    pub mobile: String,
    /// The fingers captured.
    pub fingers: Vec<FingerJson>,
    /// The signature, a PNG in base64.
    pub signature_png: String,
    /// `YYYY-MM-DD`.
    pub accepted_on: String,
    /// 受理单位.
    pub bureau: String,
}

/// One captured finger, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerJson {
    /// `right_thumb` … `left_little`.
    pub finger: String,
    /// 0–100.
    pub quality: u8,
}

/// The WeChat payment notice as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatJson {
    /// 受理编号.
    pub application_number: String,
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// The fee in fen; must be the business's fee.
    pub amount_fen: u32,
    /// The order's `out_trade_no`.
    pub out_trade_no: String,
    /// WeChat Pay's `transaction_id` of the paid order.
    pub transaction_id: String,
    /// The order's `success_time`, RFC 3339.
    pub paid_at: String,
    /// 收款单位.
    pub bureau: String,
}

/// The UnionPay payment notice as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionPayJson {
    /// 受理编号.
    pub application_number: String,
    /// `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// The fee in fen; must be the business's fee.
    pub amount_fen: u32,
    /// The masked card number from the POS.
    pub card: String,
    /// 参考号, 12 characters.
    pub reference: String,
    /// 授权码, 6 characters.
    pub auth_code: String,
    /// Time of the transaction, RFC 3339.
    pub paid_at: String,
    /// 收款单位.
    pub bureau: String,
}

/// 人像采集表 as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortraitJson {
    /// Full name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// `first_time`, `expiry_renewal`, `lost` or `damaged`.
    pub business: String,
    /// `YYYY-MM-DD`.
    pub printed_on: String,
    /// The bureau whose kiosk prints it.
    pub bureau: String,
}

const LINE: usize = 60;

fn date(field: &str, text: &str) -> Result<Date, DataError> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| error(field, format!("must be a date YYYY-MM-DD, got {text:?}")))
}

fn timestamp(field: &str, text: &str) -> Result<OffsetDateTime, DataError> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| {
        error(
            field,
            format!("must be an RFC 3339 time like 2026-11-25T10:40:00+08:00, got {text:?}"),
        )
    })
}

fn business(text: &str) -> Result<Business, DataError> {
    Business::parse(text)
        .ok_or_else(|| error("business", "must be expiry_renewal, lost or damaged"))
}

fn citizen_id(text: &str, today: Date) -> Result<CitizenId, DataError> {
    CitizenId::parse(text, today).map_err(|e| error("id_number", e.message))
}

fn base64_bytes(field: &str, text: &str) -> Result<Vec<u8>, DataError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| error(field, format!("must be base64: {e}")))
}

fn fee(business: Business, amount_fen: u32) -> Result<Fen, DataError> {
    let expected = business.fee_cny() * 100;
    if amount_fen != expected {
        return Err(error(
            "amount_fen",
            format!(
                "must be the fee of {}: {expected} fen, got {amount_fen}",
                business.as_str()
            ),
        ));
    }
    Fen::new(amount_fen)
        .map_err(ValueError::from)
        .map_err(at("amount_fen"))
}

fn code(
    field: &str,
    text: &str,
    len: std::ops::RangeInclusive<usize>,
) -> Result<TextLine, DataError> {
    if !len.contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(error(
            field,
            format!("must be {} to {} letters or digits", len.start(), len.end()),
        ));
    }
    TextLine::parse(text, *len.end()).map_err(at(field))
}

/// The typed certificate of its JSON.
pub fn certificate(json: CertificateJson) -> Result<CollectionCertificate, DataError> {
    let accepted_on = date("accepted_on", &json.accepted_on)?;
    let c = json.collection;
    let method = match c.method.as_str() {
        "in_person" => CollectionMethod::InPerson,
        "post" => {
            let address = c.post_address.as_deref().ok_or_else(|| {
                error(
                    "collection.post_address",
                    "is required when the method is post",
                )
            })?;
            CollectionMethod::Post {
                address: TextLine::parse(address, LINE).map_err(at("collection.post_address"))?,
            }
        }
        _ => return Err(error("collection.method", "must be in_person or post")),
    };
    Ok(CollectionCertificate {
        application_number: ApplicationNumber::parse(&json.application_number)
            .map_err(at("application_number"))?,
        name: PersonName::parse(&json.name).map_err(at("name"))?,
        id_number: citizen_id(&json.id_number, accepted_on)?,
        business: business(&json.business)?,
        accepted_on,
        remote_area: json.remote_area,
        collection: Collection {
            method,
            office: TextLine::parse(&c.office, LINE).map_err(at("collection.office"))?,
            address: TextLine::parse(&c.address, LINE).map_err(at("collection.address"))?,
            hours: TextLine::parse(&c.hours, 40).map_err(at("collection.hours"))?,
        },
        signature: PngImage::parse(base64_bytes("signature_png", &json.signature_png)?)
            .map_err(at("signature_png"))?,
        bureau: TextLine::parse(&json.bureau, 30).map_err(at("bureau"))?,
    })
}

/// The typed registration form of its JSON.
pub fn form(json: FormJson) -> Result<RegistrationForm, DataError> {
    let accepted_on = date("accepted_on", &json.accepted_on)?;
    if json.fingers.is_empty() || json.fingers.len() > 10 {
        return Err(error("fingers", "must list 1 to 10 fingers"));
    }
    let mut fingers: Vec<FingerCapture> = Vec::with_capacity(json.fingers.len());
    for (i, f) in json.fingers.iter().enumerate() {
        let finger = parse_finger(&f.finger).map_err(at(&format!("fingers[{i}].finger")))?;
        if fingers.iter().any(|seen| seen.finger == finger) {
            return Err(error(
                &format!("fingers[{i}].finger"),
                format!("{} is listed twice", f.finger),
            ));
        }
        if f.quality > 100 {
            return Err(error(&format!("fingers[{i}].quality"), "must be 0 to 100"));
        }
        fingers.push(FingerCapture {
            finger,
            quality: f.quality,
        });
    }
    Ok(RegistrationForm {
        application_number: ApplicationNumber::parse(&json.application_number)
            .map_err(at("application_number"))?,
        name: PersonName::parse(&json.name).map_err(at("name"))?,
        id_number: citizen_id(&json.id_number, accepted_on)?,
        nation: Nation::from_code(json.nation).map_err(at("nation"))?,
        address: TextLine::parse(&json.address, 70).map_err(at("address"))?,
        photo: JpegImage::parse(base64_bytes("photo_jpeg", &json.photo_jpeg)?)
            .map_err(at("photo_jpeg"))?,
        business: business(&json.business)?,
        mobile: MobileNumber::parse(&json.mobile).map_err(|e| error("mobile", e.prompt().en))?,
        fingers,
        signature: PngImage::parse(base64_bytes("signature_png", &json.signature_png)?)
            .map_err(at("signature_png"))?,
        accepted_on,
        bureau: TextLine::parse(&json.bureau, 30).map_err(at("bureau"))?,
    })
}

/// The typed WeChat notice of its JSON.
pub fn wechat(json: WechatJson) -> Result<WechatNotice, DataError> {
    let business = business(&json.business)?;
    let out_trade_no = &json.out_trade_no;
    if !(6..=32).contains(&out_trade_no.len())
        || !out_trade_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
    {
        return Err(error(
            "out_trade_no",
            "must be 6 to 32 characters of letters, digits and _-|*",
        ));
    }
    Ok(WechatNotice {
        application_number: ApplicationNumber::parse(&json.application_number)
            .map_err(at("application_number"))?,
        business,
        amount: fee(business, json.amount_fen)?,
        out_trade_no: TextLine::parse(out_trade_no, 32).map_err(at("out_trade_no"))?,
        transaction_id: TransactionId::parse(&json.transaction_id).map_err(at("transaction_id"))?,
        paid_at: timestamp("paid_at", &json.paid_at)?,
        bureau: TextLine::parse(&json.bureau, 30).map_err(at("bureau"))?,
    })
}

/// The typed UnionPay notice of its JSON.
pub fn unionpay(json: UnionPayJson) -> Result<UnionPayNotice, DataError> {
    let business = business(&json.business)?;
    Ok(UnionPayNotice {
        application_number: ApplicationNumber::parse(&json.application_number)
            .map_err(at("application_number"))?,
        business,
        amount: fee(business, json.amount_fen)?,
        card: MaskedCard::parse(&json.card).map_err(at("card"))?,
        reference: code("reference", &json.reference, 12..=12)?,
        auth_code: code("auth_code", &json.auth_code, 6..=6)?,
        paid_at: timestamp("paid_at", &json.paid_at)?,
        bureau: TextLine::parse(&json.bureau, 30).map_err(at("bureau"))?,
    })
}

/// The typed portrait collection form of its JSON.
pub fn portrait(json: PortraitJson) -> Result<PortraitForm, DataError> {
    let printed_on = date("printed_on", &json.printed_on)?;
    Ok(PortraitForm {
        name: PersonName::parse(&json.name).map_err(at("name"))?,
        id_number: citizen_id(&json.id_number, printed_on)?,
        application: PortraitApplication::parse(&json.business).ok_or_else(|| {
            error(
                "business",
                "must be first_time, expiry_renewal, lost or damaged",
            )
        })?,
        printed_on,
        bureau: TextLine::parse(&json.bureau, 30).map_err(at("bureau"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_field(kind: Kind, json: &str, field: &str) {
        let err = parse(kind, json.as_bytes()).expect_err("must be refused");
        assert_eq!(err.field, field, "{err}");
    }

    const PORTRAIT: &str = r#"{"name":"王小明","id_number":"320104200012100044","business":"lost","printed_on":"2026-11-25","bureau":"南京市公安局"}"#;

    #[test]
    fn portrait_parses() {
        assert!(matches!(
            parse(Kind::Portrait, PORTRAIT.as_bytes()),
            Ok(Document::Portrait(_))
        ));
    }

    #[test]
    fn portrait_application_types() {
        let application = |business: &str| match parse(
            Kind::Portrait,
            PORTRAIT
                .replace("\"lost\"", &format!("\"{business}\""))
                .as_bytes(),
        ) {
            Ok(Document::Portrait(form)) => form.application,
            other => panic!("{business}: {other:?}"),
        };
        assert_eq!(application("first_time"), PortraitApplication::FirstTime);
        assert_eq!(
            application("lost"),
            PortraitApplication::Business(Business::Lost)
        );
        assert_eq!(
            application("damaged"),
            PortraitApplication::Business(Business::Damaged)
        );
    }

    #[test]
    fn refusals_name_the_field() {
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("320104200012100044", "320104200012100045"),
            "id_number",
        );
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("\"lost\"", "\"temporary\""),
            "business",
        );
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("2026-11-25", "25/11/2026"),
            "printed_on",
        );
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("\"name\":\"王小明\",", ""),
            "name",
        );
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("\"name\":\"王小明\"", "\"name\":7"),
            "name",
        );
        check_field(
            Kind::Portrait,
            &PORTRAIT.replace("\"bureau\":\"南京市公安局\"", "\"bureau\":\"  \""),
            "bureau",
        );
        check_field(Kind::Portrait, "[]", ".");
    }
}
