//! The JSON of the popsys HTTP API (`docs/popsys.md`): plain structs that cross the wire, converted
//! by hand to and from the typed values on each side. Dates are `YYYY-MM-DD` text.

use base64::Engine;
use domain::id::{CitizenId, Sex};
use domain::rules::{CardExpiry, RecordStatus};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::Date;

use domain::mobile::MobileNumber;
use domain::money::Fen;
use domain::rules::{Business, Household};
use domain::session::{Finger, PaymentMethod};

use crate::{
    ApplicationStatus, ApplicationSubmission, BlobDigest, CardStatus, CitizenRecord,
    FiledApplication, IdCard, Receipt, ReceiptCode, SubmittedFinger,
};

/// `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// `GET /v1/citizens/{id}` answer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CitizenJson {
    pub id: String,
    pub name: String,
    pub sex: String,
    pub nation_code: String,
    pub birth_date: String,
    pub address: String,
    pub household_region: String,
    pub status: String,
    pub remote_area: bool,
    pub card: Option<CardJson>,
    /// The city the floating registration was checked for.
    pub city: String,
    /// The day the registration was checked for.
    pub on: String,
    pub floating_registered: bool,
    pub history_photo: bool,
    pub application_in_progress: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CardJson {
    pub valid_from: String,
    /// `YYYY-MM-DD` or `long_term`.
    pub valid_until: String,
    pub status: String,
    pub issuing_authority: String,
}

/// `POST /v1/receipts/{code}/resolve|redeem` body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReceiptRequest {
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// A usable receipt.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ReceiptJson {
    pub code: String,
    pub id_number: String,
    pub created_on: String,
    pub last_valid_day: String,
    pub used_on: Option<String>,
    /// The certified photo, base64 (standard alphabet, padded); null when not loaded.
    pub photo_jpeg_base64: Option<String>,
}

/// Every error answer: `{"error": "...", "field": "..."}` plus what the case needs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ErrorJson {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a malformed ID number: which check failed (`check_digit`, `birth_date`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_valid_day: Option<String>,
}

pub(crate) fn sex_str(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

impl CitizenJson {
    pub fn from_record(record: &CitizenRecord, city: &str, on: Date) -> CitizenJson {
        CitizenJson {
            id: record.id.as_str().to_owned(),
            name: record.name.clone(),
            sex: sex_str(record.sex).to_owned(),
            nation_code: record.nation_code.clone(),
            birth_date: format_date(record.birth_date),
            address: record.address.clone(),
            household_region: record.household_region.clone(),
            status: record.status.as_str().to_owned(),
            remote_area: record.remote_area,
            card: record.card.as_ref().map(|card| CardJson {
                valid_from: format_date(card.valid_from),
                valid_until: match card.valid_until {
                    CardExpiry::On(date) => format_date(date),
                    CardExpiry::LongTerm => "long_term".to_owned(),
                },
                status: card.status.as_str().to_owned(),
                issuing_authority: card.issuing_authority.clone(),
            }),
            city: city.to_owned(),
            on: format_date(on),
            floating_registered: record.floating_registered,
            history_photo: record.history_photo,
            application_in_progress: record.application_in_progress,
        }
    }

    /// The typed record; an error names the field that is out of protocol.
    pub fn into_record(self) -> Result<CitizenRecord, String> {
        let date = |field: &str, text: &str| {
            parse_date(text).ok_or_else(|| format!("{field}: {text:?} is not a YYYY-MM-DD date"))
        };
        let card = match self.card {
            None => None,
            Some(card) => Some(IdCard {
                valid_from: date("card.valid_from", &card.valid_from)?,
                valid_until: if card.valid_until == "long_term" {
                    CardExpiry::LongTerm
                } else {
                    CardExpiry::On(date("card.valid_until", &card.valid_until)?)
                },
                status: CardStatus::parse(&card.status)
                    .ok_or_else(|| format!("card.status: unknown {:?}", card.status))?,
                issuing_authority: card.issuing_authority,
            }),
        };
        Ok(CitizenRecord {
            id: CitizenId::parse(&self.id, Date::MAX).map_err(|err| format!("id: {err}"))?,
            sex: match self.sex.as_str() {
                "male" => Sex::Male,
                "female" => Sex::Female,
                other => return Err(format!("sex: unknown {other:?}")),
            },
            status: RecordStatus::parse(&self.status)
                .ok_or_else(|| format!("status: unknown {:?}", self.status))?,
            birth_date: date("birth_date", &self.birth_date)?,
            name: self.name,
            nation_code: self.nation_code,
            address: self.address,
            household_region: self.household_region,
            card,
            floating_registered: self.floating_registered,
            history_photo: self.history_photo,
            application_in_progress: self.application_in_progress,
            remote_area: self.remote_area,
        })
    }
}

impl ReceiptJson {
    pub fn from_receipt(receipt: &Receipt) -> ReceiptJson {
        ReceiptJson {
            code: receipt.code.as_str().to_owned(),
            id_number: receipt.id.as_str().to_owned(),
            created_on: format_date(receipt.created_on),
            last_valid_day: format_date(receipt.last_valid_day),
            used_on: receipt.used_on.map(format_date),
            photo_jpeg_base64: receipt
                .jpeg
                .as_ref()
                .map(|jpeg| base64::engine::general_purpose::STANDARD.encode(jpeg)),
        }
    }

    pub fn into_receipt(self) -> Result<Receipt, String> {
        let date = |field: &str, text: &str| {
            parse_date(text).ok_or_else(|| format!("{field}: {text:?} is not a YYYY-MM-DD date"))
        };
        Ok(Receipt {
            code: ReceiptCode::parse(&self.code).map_err(|err| format!("code: {err}"))?,
            id: CitizenId::parse(&self.id_number, Date::MAX)
                .map_err(|err| format!("id_number: {err}"))?,
            created_on: date("created_on", &self.created_on)?,
            last_valid_day: date("last_valid_day", &self.last_valid_day)?,
            used_on: self
                .used_on
                .as_deref()
                .map(|text| date("used_on", text))
                .transpose()?,
            jpeg: self
                .photo_jpeg_base64
                .as_deref()
                .map(|text| {
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|err| format!("photo_jpeg_base64: {err}"))
                })
                .transpose()?,
        })
    }
}

/// `POST /v1/applications` body: an application a kiosk center submits. Blobs are base64
/// (standard alphabet, padded).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmissionJson {
    /// The center's session id: a repeat with the same key returns the first answer.
    pub idempotency_key: String,
    pub application_number: String,
    pub id_number: String,
    pub business: String,
    pub household: String,
    pub acceptance_unit: String,
    pub photo_jpeg_base64: String,
    pub fingers: Vec<SubmittedFingerJson>,
    pub signature_png_base64: String,
    pub mobile: String,
    pub fee_fen: u32,
    /// `wechat` or `unionpay`.
    pub payment_method: String,
    pub payment_reference: String,
    pub issue_by: String,
    /// The day of submission; the server's today when absent.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// One finger of a submission.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmittedFingerJson {
    pub position: String,
    pub quality: u8,
    pub template_base64: String,
}

/// The answer to an accepted submission (201 new, 200 a repeat).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SubmissionAnswerJson {
    pub application_number: String,
    pub received_on: String,
    pub created: bool,
}

/// `GET /v1/applications/{number}`: the application as the population system holds it; the
/// images are described (size, SHA-256), not sent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SubmissionViewJson {
    pub application_number: String,
    pub idempotency_key: String,
    pub id_number: String,
    pub business: String,
    pub household: String,
    pub acceptance_unit: String,
    pub photo: BlobJson,
    pub fingers: Vec<FingerViewJson>,
    pub signature: BlobJson,
    pub mobile: String,
    pub fee_fen: i64,
    pub payment_method: String,
    pub payment_reference: String,
    pub issue_by: String,
    pub received_on: String,
    /// `accepted`, `in_production`, `ready`, `collected`, `withdrawn` or `rejected`.
    pub status: String,
    /// Why a `rejected` application was refused (required then, absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An image or template held: its size and digest.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BlobJson {
    pub bytes: usize,
    pub sha256: String,
}

/// A finger held.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FingerViewJson {
    pub position: String,
    pub quality: u8,
    pub template: BlobJson,
}

/// `POST /v1/cards/{id}/report-lost` body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportLostJson {
    pub application_number: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// The card's status (`GET /v1/cards/{id}`, and the answer to a loss report).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CardStatusJson {
    pub id_masked: String,
    /// `valid`, `reported_lost`, `in_production`; null when the citizen has no card.
    pub status: Option<String>,
    pub reported_lost_on: Option<String>,
}

/// `GET /v1/residence/{city}/registrations/{id}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ResidenceJson {
    pub city: String,
    pub id_masked: String,
    pub valid_until: String,
    pub on: String,
    pub in_force: bool,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(field: &str, text: &str) -> Result<Vec<u8>, (String, String)> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|err| (field.to_owned(), format!("{field}: not base64: {err}")))
}

impl SubmissionJson {
    pub fn from_submission(submission: &ApplicationSubmission, on: Date) -> SubmissionJson {
        SubmissionJson {
            idempotency_key: submission.idempotency_key.clone(),
            application_number: submission.application_number.clone(),
            id_number: submission.id.as_str().to_owned(),
            business: submission.business.as_str().to_owned(),
            household: submission.household.as_str().to_owned(),
            acceptance_unit: submission.acceptance_unit.clone(),
            photo_jpeg_base64: b64(&submission.photo_jpeg),
            fingers: submission
                .fingers
                .iter()
                .map(|finger| SubmittedFingerJson {
                    position: finger.position.code().to_owned(),
                    quality: finger.quality,
                    template_base64: b64(&finger.template),
                })
                .collect(),
            signature_png_base64: b64(&submission.signature_png),
            mobile: submission.mobile.as_str().to_owned(),
            fee_fen: submission.fee_fen.get(),
            payment_method: submission.payment_method.as_str().to_owned(),
            payment_reference: submission.payment_reference.clone(),
            issue_by: format_date(submission.issue_by),
            on: Some(format_date(on)),
        }
    }

    /// The typed submission; an error is `(field, message)`.
    pub fn into_submission(self, today: Date) -> Result<ApplicationSubmission, (String, String)> {
        let bad = |field: &str, message: String| (field.to_owned(), format!("{field}: {message}"));
        if self.idempotency_key.is_empty() || self.idempotency_key.len() > 64 {
            return Err(bad("idempotency_key", "must be 1 to 64 characters".into()));
        }
        if self.application_number.len() != 18
            || !self.application_number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("application_number", "must be 18 digits".into()));
        }
        let id = CitizenId::parse(&self.id_number, today)
            .map_err(|err| bad("id_number", err.message.to_string()))?;
        let business = Business::parse(&self.business).ok_or_else(|| {
            bad(
                "business",
                "must be one of expiry_renewal, lost, damaged".into(),
            )
        })?;
        let household = Household::parse(&self.household)
            .ok_or_else(|| bad("household", "must be one of local, province".into()))?;
        if self.acceptance_unit.trim().is_empty() {
            return Err(bad("acceptance_unit", "must not be empty".into()));
        }
        let photo_jpeg = unb64("photo_jpeg_base64", &self.photo_jpeg_base64)?;
        if !photo_jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(bad("photo_jpeg_base64", "is not a JPEG".into()));
        }
        let signature_png = unb64("signature_png_base64", &self.signature_png_base64)?;
        if !signature_png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(bad("signature_png_base64", "is not a PNG".into()));
        }
        if self.fingers.len() != 2 {
            return Err(bad("fingers", "must hold the two fingers captured".into()));
        }
        let mut fingers = Vec::with_capacity(2);
        for (i, finger) in self.fingers.into_iter().enumerate() {
            let Some(position) = Finger::parse(&finger.position) else {
                return Err(bad(
                    &format!("fingers[{i}].position"),
                    format!(
                        "{:?} is not a finger (right_thumb … left_little)",
                        finger.position
                    ),
                ));
            };
            if finger.quality > 100 {
                return Err(bad(
                    &format!("fingers[{i}].quality"),
                    "must be 0 to 100".into(),
                ));
            }
            let template = unb64(
                &format!("fingers[{i}].template_base64"),
                &finger.template_base64,
            )?;
            if template.is_empty() {
                return Err(bad(
                    &format!("fingers[{i}].template_base64"),
                    "is empty".into(),
                ));
            }
            fingers.push(SubmittedFinger {
                position,
                quality: finger.quality,
                template,
            });
        }
        if fingers[0].position == fingers[1].position {
            return Err(bad(
                "fingers[1].position",
                "is the same finger twice".into(),
            ));
        }
        let fingers: [SubmittedFinger; 2] = fingers
            .try_into()
            .map_err(|_| bad("fingers", "must hold two fingers".into()))?;
        let mobile =
            MobileNumber::parse(&self.mobile).map_err(|err| bad("mobile", err.to_string()))?;
        let fee_fen = Fen::new(self.fee_fen).map_err(|err| bad("fee_fen", err.to_string()))?;
        let payment_method = match self.payment_method.as_str() {
            "wechat" => PaymentMethod::WeChat,
            "unionpay" => PaymentMethod::UnionPay,
            _ => return Err(bad("payment_method", "must be wechat or unionpay".into())),
        };
        if self.payment_reference.trim().is_empty() || self.payment_reference.len() > 64 {
            return Err(bad(
                "payment_reference",
                "must be 1 to 64 characters".into(),
            ));
        }
        let issue_by = parse_date(&self.issue_by).ok_or_else(|| {
            bad(
                "issue_by",
                format!("{:?} is not a YYYY-MM-DD date", self.issue_by),
            )
        })?;
        Ok(ApplicationSubmission {
            idempotency_key: self.idempotency_key,
            application_number: self.application_number,
            id,
            business,
            household,
            acceptance_unit: self.acceptance_unit,
            photo_jpeg,
            fingers,
            signature_png,
            mobile,
            fee_fen,
            payment_method,
            payment_reference: self.payment_reference,
            issue_by,
        })
    }
}

fn blob_json(digest: &BlobDigest) -> BlobJson {
    BlobJson {
        bytes: digest.bytes,
        sha256: digest.sha256.clone(),
    }
}

impl SubmissionViewJson {
    pub fn from_filed(filed: &FiledApplication) -> SubmissionViewJson {
        SubmissionViewJson {
            application_number: filed.application_number.clone(),
            idempotency_key: filed.idempotency_key.clone(),
            id_number: filed.id.as_str().to_owned(),
            business: filed.business.as_str().to_owned(),
            household: filed.household.as_str().to_owned(),
            acceptance_unit: filed.acceptance_unit.clone(),
            photo: blob_json(&filed.photo),
            fingers: filed
                .fingers
                .iter()
                .map(|(position, quality, template)| FingerViewJson {
                    position: position.code().to_owned(),
                    quality: *quality,
                    template: blob_json(template),
                })
                .collect(),
            signature: blob_json(&filed.signature),
            mobile: filed.mobile.clone(),
            fee_fen: filed.fee_fen.as_i64(),
            payment_method: filed.payment_method.as_str().to_owned(),
            payment_reference: filed.payment_reference.clone(),
            issue_by: format_date(filed.issue_by),
            received_on: format_date(filed.received_on),
            status: filed.status.as_str().to_owned(),
            reason: filed.rejection_reason.clone(),
        }
    }
}

fn digest(field: &str, blob: BlobJson) -> Result<BlobDigest, String> {
    if blob.sha256.len() != 64 || !blob.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{field}.sha256: not a hex SHA-256"));
    }
    Ok(BlobDigest {
        bytes: blob.bytes,
        sha256: blob.sha256,
    })
}

impl SubmissionViewJson {
    /// The typed view; an error names the field out of protocol.
    pub fn into_filed(self) -> Result<FiledApplication, String> {
        let date = |field: &str, text: &str| {
            parse_date(text).ok_or_else(|| format!("{field}: {text:?} is not a YYYY-MM-DD date"))
        };
        let status = ApplicationStatus::parse(&self.status)
            .ok_or_else(|| format!("status: {:?} is not an application status", self.status))?;
        let rejection_reason = match (status, self.reason) {
            (ApplicationStatus::Rejected, Some(reason)) if !reason.trim().is_empty() => {
                Some(reason.trim().to_owned())
            }
            (ApplicationStatus::Rejected, _) => {
                return Err("reason: a rejected application needs its reason".into())
            }
            (_, _) => None,
        };
        Ok(FiledApplication {
            id: CitizenId::parse(&self.id_number, Date::MAX)
                .map_err(|err| format!("id_number: {err}"))?,
            issue_by: date("issue_by", &self.issue_by)?,
            received_on: date("received_on", &self.received_on)?,
            photo: digest("photo", self.photo)?,
            signature: digest("signature", self.signature)?,
            fingers: self
                .fingers
                .into_iter()
                .map(|finger| {
                    Ok((
                        Finger::parse(&finger.position).ok_or_else(|| {
                            format!("fingers: {:?} is not a finger", finger.position)
                        })?,
                        finger.quality,
                        digest("fingers", finger.template)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
            application_number: self.application_number,
            idempotency_key: self.idempotency_key,
            business: Business::parse(&self.business)
                .ok_or_else(|| format!("business: {:?} is not a business", self.business))?,
            household: Household::parse(&self.household)
                .ok_or_else(|| format!("household: {:?} is not a household", self.household))?,
            acceptance_unit: self.acceptance_unit,
            mobile: self.mobile,
            fee_fen: Fen::try_from(self.fee_fen).map_err(|err| format!("fee_fen: {err}"))?,
            payment_method: PaymentMethod::try_from(self.payment_method)
                .map_err(|err| format!("payment_method: {err}"))?,
            payment_reference: self.payment_reference,
            status,
            rejection_reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GET /v1/applications/{number}` of an application in `status`, with `reason` if given.
    fn view(status: &str, reason: Option<&str>) -> Result<FiledApplication, String> {
        let blob = format!(r#"{{"bytes":3,"sha256":"{}"}}"#, "ab".repeat(32));
        let reason = reason.map_or(String::new(), |r| format!(r#","reason":"{r}""#));
        let text = format!(
            r#"{{"application_number":"320100202611250001","idempotency_key":"s-1",
            "id_number":"320104200012100044","business":"lost","household":"local",
            "acceptance_unit":"南京市公安局","photo":{blob},"fingers":[],"signature":{blob},
            "mobile":"13912345678","fee_fen":4000,"payment_method":"wechat",
            "payment_reference":"T1","issue_by":"2027-01-24","received_on":"2026-11-25",
            "status":"{status}"{reason}}}"#
        );
        serde_json::from_str::<SubmissionViewJson>(&text)
            .map_err(|err| err.to_string())?
            .into_filed()
    }

    #[test]
    fn a_rejected_application_carries_its_reason_and_needs_one() {
        let filed = view("rejected", Some("照片不符合要求")).unwrap();
        assert_eq!(filed.status, ApplicationStatus::Rejected);
        assert_eq!(filed.rejection_reason.as_deref(), Some("照片不符合要求"));
        assert_eq!(
            view("rejected", None).unwrap_err(),
            "reason: a rejected application needs its reason"
        );
        let ready = view("ready", None).unwrap();
        assert_eq!(
            (ready.status, ready.rejection_reason),
            (ApplicationStatus::Ready, None)
        );
        // Written back as it came.
        let json = serde_json::to_value(SubmissionViewJson::from_filed(&filed)).unwrap();
        assert_eq!(
            (&json["status"], &json["reason"]),
            (
                &serde_json::json!("rejected"),
                &serde_json::json!("照片不符合要求")
            )
        );
    }
}
