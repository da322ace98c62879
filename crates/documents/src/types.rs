//! The typed data each document is rendered from. Every value is parsed once into a type that
//! cannot be wrong (an ID number, a business, a date, an amount in fen, a PNG); the documents
//! format and mask them themselves, so no caller hands in a pre-formatted string that could
//! disagree with the record (an unmasked number on a certificate, a wrong issue-by date).

use std::fmt;

use domain::session::PortraitApplication;
use domain::{Business, CitizenId, MobileNumber};
use time::{Date, OffsetDateTime};

/// Why a value was refused; the caller adds the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(message.into()))
}

/// One line of text printed as is (a name, an office, an address): non-empty after trimming, no
/// control characters, at most a given number of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine(String);

impl TextLine {
    /// Trims `text` and checks it is 1..=`max_chars` characters without control characters.
    pub fn parse(text: &str, max_chars: usize) -> Result<TextLine, ValueError> {
        let text = text.trim();
        if text.is_empty() {
            return refuse("must not be empty");
        }
        if text.chars().any(char::is_control) {
            return refuse("must be one line without control characters");
        }
        let count = text.chars().count();
        if count > max_chars {
            return refuse(format!(
                "is {count} characters long, at most {max_chars} fit"
            ));
        }
        Ok(TextLine(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as on the card: 1–15 characters (the text block's 30 bytes of UCS-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Checks `text`: 1–15 characters, no digits, no control characters.
    pub fn parse(text: &str) -> Result<PersonName, ValueError> {
        let line = TextLine::parse(text, 15)?;
        if line.as_str().chars().any(|c| c.is_ascii_digit()) {
            return refuse("must not contain digits");
        }
        Ok(PersonName(line.0))
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with the surname masked (`王小明` → `*小明`, `欧阳娜娜` → `**娜娜`).
    pub fn masked(&self) -> String {
        domain::mask::mask_name(&self.0)
    }
}

/// 受理编号: the application number the center gives an accepted application, printed with a
/// Code 128 barcode. 6–32 characters of `A–Z 0–9 -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationNumber(String);

impl ApplicationNumber {
    /// Checks `text` (upper-case letters, digits and `-`, 6–32 characters).
    pub fn parse(text: &str) -> Result<ApplicationNumber, ValueError> {
        let len = text.len();
        if !(6..=32).contains(&len) {
            return refuse(format!("must be 6 to 32 characters, got {len}"));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return refuse("may contain only A-Z, 0-9 and '-'");
        }
        Ok(ApplicationNumber(text.to_owned()))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use domain::money::Fen;

impl From<domain::money::MoneyError> for ValueError {
    fn from(err: domain::money::MoneyError) -> ValueError {
        ValueError(err.to_string())
    }
}

/// A PNG image (the signature), checked to decode its header.
#[derive(Clone, PartialEq, Eq)]
pub struct PngImage {
    pub(crate) image: krilla::image::Image,
    width: u32,
    height: u32,
}

impl PngImage {
    /// Checks `bytes` are a PNG (signature and header).
    pub fn parse(bytes: Vec<u8>) -> Result<PngImage, ValueError> {
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return refuse("is not a PNG image");
        }
        let image = krilla::image::Image::from_png(bytes.into(), true)
            .map_err(|e| ValueError(format!("is not a readable PNG image: {e}")))?;
        let (width, height) = image.size();
        if width == 0 || height == 0 {
            return refuse("has no pixels");
        }
        Ok(PngImage {
            image,
            width,
            height,
        })
    }

    /// Height over width.
    pub fn aspect(&self) -> f32 {
        self.height as f32 / self.width as f32
    }
}

impl fmt::Debug for PngImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PngImage({}x{})", self.width, self.height)
    }
}

/// A JPEG image (the ID photo, GA 461: 358 × 441), checked to decode its header.
#[derive(Clone, PartialEq, Eq)]
pub struct JpegImage {
    pub(crate) image: krilla::image::Image,
    width: u32,
    height: u32,
}

impl JpegImage {
    /// Checks `bytes` are a JPEG (start-of-image marker and frame header).
    pub fn parse(bytes: Vec<u8>) -> Result<JpegImage, ValueError> {
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return refuse("is not a JPEG image");
        }
        let image = krilla::image::Image::from_jpeg(bytes.into(), true)
            .map_err(|e| ValueError(format!("is not a readable JPEG image: {e}")))?;
        let (width, height) = image.size();
        if width == 0 || height == 0 {
            return refuse("has no pixels");
        }
        Ok(JpegImage {
            image,
            width,
            height,
        })
    }

    /// Height over width.
    pub fn aspect(&self) -> f32 {
        self.height as f32 / self.width as f32
    }
}

impl fmt::Debug for JpegImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JpegImage({}x{})", self.width, self.height)
    }
}

/// 民族: a nation of GB 3304, by its code 01–56 (the card's text block carries the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nation(u8);

impl Nation {
    /// The nation of code `code` (1 is 汉).
    pub fn from_code(code: u8) -> Result<Nation, ValueError> {
        if (1..=56).contains(&code) {
            Ok(Nation(code))
        } else {
            refuse(format!("must be a GB 3304 code from 1 to 56, got {code}"))
        }
    }

    /// The name as printed on the card (`汉`).
    pub fn name(self) -> &'static str {
        // from_code keeps the code in 1..=56, where the table has a name.
        domain::nation::nation_name(self.0).unwrap_or_default()
    }
}

/// A finger: the domain's (`right_index` …, its GA 1011 position code and its names).
pub use domain::session::Finger;

/// The finger named `text` (`right_thumb` … `left_little`), or why not.
pub fn parse_finger(text: &str) -> Result<Finger, ValueError> {
    Finger::parse(text).ok_or_else(|| {
        ValueError(format!(
            "must be one of right_thumb … left_little, got {text:?}"
        ))
    })
}

/// One finger captured at step 9 and the quality score of its image (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FingerCapture {
    /// Which finger.
    pub finger: Finger,
    /// Quality score, 0–100.
    pub quality: u8,
}

/// How the citizen collects the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionMethod {
    /// 本人凭本凭证到领证地点领取.
    InPerson,
    /// 邮寄送达: posted to an address.
    Post {
        /// The delivery address.
        address: TextLine,
    },
}

/// Where and how the card is collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// How.
    pub method: CollectionMethod,
    /// The office (领证地点), e.g. 南京市公安局玄武分局户政办证大厅.
    pub office: TextLine,
    /// The office's address.
    pub address: TextLine,
    /// Opening hours, e.g. 周一至周五 9:00–17:00.
    pub hours: TextLine,
}

/// 居民身份证领取凭证: given to the citizen at step 12 (A5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionCertificate {
    /// 受理编号, printed with a Code 128 barcode.
    pub application_number: ApplicationNumber,
    /// Printed masked.
    pub name: PersonName,
    /// Printed masked.
    pub id_number: CitizenId,
    /// 申领类型.
    pub business: Business,
    /// 受理日期 (Asia/Shanghai calendar date).
    pub accepted_on: Date,
    /// A remote area adds 30 days to the issue deadline (docs/domain.md section 3.5).
    pub remote_area: bool,
    /// Where and how to collect.
    pub collection: Collection,
    /// The signature of step 10.
    pub signature: PngImage,
    /// 受理单位.
    pub bureau: TextLine,
}

impl CollectionCertificate {
    /// The issue-by date: 60 days from acceptance, 90 in a remote area
    /// ([`domain::rules::issue_by`]); never given by the caller, so it cannot disagree.
    pub fn issue_by(&self) -> Date {
        domain::rules::issue_by(self.accepted_on, self.remote_area)
    }
}

/// 居民身份证申领登记表: the application's full record for the bureau's file (A4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationForm {
    /// 受理编号.
    pub application_number: ApplicationNumber,
    /// Full name.
    pub name: PersonName,
    /// Full ID number; sex and birth date are printed from it.
    pub id_number: CitizenId,
    /// 民族.
    pub nation: Nation,
    /// 住址 (household register address).
    pub address: TextLine,
    /// The ID photo (GA 461).
    pub photo: JpegImage,
    /// 申领类型.
    pub business: Business,
    /// 联系电话.
    pub mobile: MobileNumber,
    /// Fingers captured, 1–10 distinct fingers.
    pub fingers: Vec<FingerCapture>,
    /// The signature of step 10.
    pub signature: PngImage,
    /// 受理日期.
    pub accepted_on: Date,
    /// 受理单位.
    pub bureau: TextLine,
}

/// 缴费通知书 for a paid WeChat Native order (A5): proof of payment, printed once the order is
/// paid, so it carries the transaction and no QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatNotice {
    /// 受理编号.
    pub application_number: ApplicationNumber,
    /// What the fee is for.
    pub business: Business,
    /// 金额, as paid.
    pub amount: Fen,
    /// 商户订单号.
    pub out_trade_no: TextLine,
    /// 微信支付交易单号: WeChat Pay's `transaction_id` of the paid order.
    pub transaction_id: TransactionId,
    /// 支付时间: the order's `success_time`.
    pub paid_at: OffsetDateTime,
    /// 收款单位.
    pub bureau: TextLine,
}

/// A payment provider's transaction id (WeChat Pay's `transaction_id`, 28 digits in practice):
/// 1–32 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionId(String);

impl TransactionId {
    /// Checks `text`: 1–32 ASCII letters or digits.
    pub fn parse(text: &str) -> Result<TransactionId, ValueError> {
        if !(1..=32).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return refuse("must be 1 to 32 letters or digits");
        }
        Ok(TransactionId(text.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 缴费通知书 for a UnionPay card payment on the kiosk's POS (A5): the receipt's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionPayNotice {
    /// 受理编号.
    pub application_number: ApplicationNumber,
    /// What the fee is for.
    pub business: Business,
    /// 金额.
    pub amount: Fen,
    /// 卡号, already masked by the POS (`622848******1234`).
    pub card: MaskedCard,
    /// 参考号 (12 characters).
    pub reference: TextLine,
    /// 授权码 (6 characters).
    pub auth_code: TextLine,
    /// 交易时间.
    pub paid_at: OffsetDateTime,
    /// 收款单位.
    pub bureau: TextLine,
}

/// A card number as the POS prints it: digits with the middle replaced by `*`, 12–19 characters.
/// An unmasked number is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedCard(String);

impl MaskedCard {
    /// Checks `text`: digits and `*`, 12–19 characters, at least 4 `*` (so never a full number).
    pub fn parse(text: &str) -> Result<MaskedCard, ValueError> {
        if !(12..=19).contains(&text.len())
            || !text.bytes().all(|b| b.is_ascii_digit() || b == b'*')
        {
            return refuse("must be 12 to 19 digits and '*'");
        }
        if text.bytes().filter(|b| *b == b'*').count() < 4 {
            return refuse("must be masked (at least four '*')");
        }
        Ok(MaskedCard(text.to_owned()))
    }

    /// The masked number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 人像采集表 (step 3 variant): pre-filled identity the citizen takes to the photo studio (A5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortraitForm {
    /// Full name.
    pub name: PersonName,
    /// Full ID number, printed with a Code 128 barcode for the studio's scanner.
    pub id_number: CitizenId,
    /// 申领类型: a first application (首次申领) or the business the citizen came for.
    pub application: PortraitApplication,
    /// The day it was printed.
    pub printed_on: Date,
    /// The bureau whose kiosk printed it.
    pub bureau: TextLine,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_capital(fen: u32, expected: &str) {
        assert_eq!(Fen::new(fen).unwrap().capital(), expected, "{fen} fen");
    }

    #[test]
    fn capital_numerals() {
        check_capital(2000, "贰拾元整");
        check_capital(4000, "肆拾元整");
        check_capital(100_550, "壹仟零伍元伍角");
        check_capital(1, "壹分");
        check_capital(105, "壹元零伍分");
        check_capital(1_000_000, "壹万元整");
        check_capital(1_000_100, "壹万零壹元整");
        check_capital(12_345_678, "壹拾贰万叁仟肆佰伍拾陆元柒角捌分");
        check_capital(10_010_000, "壹拾万零壹佰元整");
    }

    #[test]
    fn masked_card_refuses_a_full_number() {
        assert!(MaskedCard::parse("6228480402564890018").is_err());
        assert!(MaskedCard::parse("622848*********0018").is_ok());
    }

    #[test]
    fn transaction_id_characters() {
        assert!(TransactionId::parse("4200002851202611252345678901").is_ok());
        assert!(TransactionId::parse("").is_err());
        assert!(TransactionId::parse("4200 0028").is_err());
        assert!(TransactionId::parse(&"1".repeat(33)).is_err());
    }

    #[test]
    fn application_number_characters() {
        assert!(ApplicationNumber::parse("320100-20261125-0001").is_ok());
        assert!(ApplicationNumber::parse("abc123").is_err());
        assert!(ApplicationNumber::parse("A1").is_err());
    }

    #[test]
    fn nation_names() {
        assert_eq!(Nation::from_code(1).unwrap().name(), "汉");
        assert_eq!(Nation::from_code(56).unwrap().name(), "基诺");
        assert!(Nation::from_code(57).is_err());
    }
}
