//! The paper of an application, as PDF: the collection certificate (居民身份证领取凭证), the
//! application registration form (居民身份证申领登记表), the payment notices (缴费通知书) for WeChat
//! and UnionPay, and the portrait collection form (人像采集表).
//!
//! Each document is rendered from typed data ([`types`]), one page, in Noto CJK faces embedded as
//! subsets ([`fonts`]). [`json`] turns the documented JSON of `idkiosk docs render` into that data,
//! naming the field at fault. No I/O apart from reading the font files once in [`Fonts::load`].
#![warn(missing_docs)]

mod certificate;
mod codes;
pub mod fonts;
mod form;
pub mod json;
mod layout;
mod notice;
mod portrait;
pub mod types;

pub use fonts::{FontError, FontSources, Fonts};
pub use types::{
    CollectionCertificate, PortraitForm, RegistrationForm, UnionPayNotice, WechatNotice,
};

use krilla::{Document as PdfDocument, SerializeSettings};

/// Any one of the documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// 居民身份证领取凭证 (A5).
    Certificate(CollectionCertificate),
    /// 居民身份证申领登记表 (A4).
    Form(RegistrationForm),
    /// 缴费通知书, WeChat Native (A5).
    NoticeWechat(WechatNotice),
    /// 缴费通知书, UnionPay card (A5).
    NoticeUnionPay(UnionPayNotice),
    /// 人像采集表 (A5).
    Portrait(PortraitForm),
}

/// The kinds of document, by the names the CLI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `certificate`.
    Certificate,
    /// `form`.
    Form,
    /// `notice-wechat`.
    NoticeWechat,
    /// `notice-unionpay`.
    NoticeUnionPay,
    /// `portrait`.
    Portrait,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Certificate,
        Kind::Form,
        Kind::NoticeWechat,
        Kind::NoticeUnionPay,
        Kind::Portrait,
    ];

    /// The CLI name: `certificate`, `form`, `notice-wechat`, `notice-unionpay`, `portrait`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Certificate => "certificate",
            Kind::Form => "form",
            Kind::NoticeWechat => "notice-wechat",
            Kind::NoticeUnionPay => "notice-unionpay",
            Kind::Portrait => "portrait",
        }
    }

    /// The inverse of [`Kind::as_str`].
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl Document {
    /// Which kind of document this is.
    pub fn kind(&self) -> Kind {
        match self {
            Document::Certificate(_) => Kind::Certificate,
            Document::Form(_) => Kind::Form,
            Document::NoticeWechat(_) => Kind::NoticeWechat,
            Document::NoticeUnionPay(_) => Kind::NoticeUnionPay,
            Document::Portrait(_) => Kind::Portrait,
        }
    }
}

/// A document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A barcode or QR code could not encode the value.
    #[error("cannot encode {what} as a barcode: {message}")]
    Barcode {
        /// Which value.
        what: &'static str,
        /// Why.
        message: String,
    },
    /// The PDF writer failed (for example an image whose body does not decode).
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

/// Renders documents with fonts loaded once.
#[derive(Debug, Clone)]
pub struct Renderer {
    fonts: Fonts,
}

impl Renderer {
    /// A renderer setting text in `fonts`.
    pub fn new(fonts: Fonts) -> Renderer {
        Renderer { fonts }
    }

    /// The PDF of `document`: one page, fonts embedded as subsets.
    pub fn render(&self, document: &Document) -> Result<Vec<u8>, RenderError> {
        let mut pdf = PdfDocument::new_with(SerializeSettings {
            // Byte-for-byte reproducible output: no creation date or random document id.
            xmp_metadata: false,
            ..SerializeSettings::default()
        });
        let title = match document {
            Document::Certificate(data) => certificate::draw(&mut pdf, &self.fonts, data)?,
            Document::Form(data) => form::draw(&mut pdf, &self.fonts, data)?,
            Document::NoticeWechat(data) => notice::draw_wechat(&mut pdf, &self.fonts, data)?,
            Document::NoticeUnionPay(data) => notice::draw_unionpay(&mut pdf, &self.fonts, data)?,
            Document::Portrait(data) => portrait::draw(&mut pdf, &self.fonts, data)?,
        };
        pdf.set_metadata(
            krilla::metadata::Metadata::new()
                .title(title.to_owned())
                .creator("idkiosk".to_owned())
                .language("zh-CN".to_owned()),
        );
        pdf.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
    }
}

/// `2026年11月25日`.
pub(crate) fn date_zh(date: time::Date) -> String {
    format!(
        "{}年{:02}月{:02}日",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The time in Beijing: `2026年11月25日 10:40 (UTC+8)`.
pub(crate) fn time_zh(at: time::OffsetDateTime) -> String {
    let beijing = at.to_offset(domain::time_zone::CHINA_STANDARD_TIME);
    format!(
        "{} {:02}:{:02} (UTC+8)",
        date_zh(beijing.date()),
        beijing.hour(),
        beijing.minute()
    )
}
