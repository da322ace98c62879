//! 居民身份证领取凭证, the collection certificate (A5): what the citizen keeps until the card is
//! ready. Name and ID number are masked; the issue-by date comes from the domain's rule.

use krilla::page::PageSettings;
use krilla::Document as PdfDocument;

use crate::fonts::{Fonts, Style};
use crate::layout::{label, Align, Canvas, A5};
use crate::types::{CollectionCertificate, CollectionMethod};
use crate::{codes, date_zh, RenderError};

pub(crate) fn draw(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &CollectionCertificate,
) -> Result<&'static str, RenderError> {
    let bars = codes::code128("application_number", data.application_number.as_str())?;
    let (page_w, page_h) = A5;
    let settings = PageSettings::from_wh(page_w * 72.0 / 25.4, page_h * 72.0 / 25.4)
        .ok_or_else(|| RenderError::Pdf("bad page size".into()))?;
    let mut page = pdf.start_page_with(settings);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

    let title = domain::prompts::COLLECTION_CERTIFICATE;
    let mut y = c.heading(
        page_w,
        20.0,
        label(title.zh, "Resident Identity Card Collection Certificate"),
        20.0,
    );

    // Application number and its barcode, centred.
    let module = 0.3;
    let bars_w = bars.len() as f32 * module;
    c.bars(&bars, (page_w - bars_w) / 2.0, y, module, 10.0);
    y += 14.0;
    let number = format!(
        "受理编号 Application No. {}",
        data.application_number.as_str()
    );
    c.text(page_w / 2.0, y, 9.0, Style::Regular, Align::Center, &number);
    y += 4.0;

    let (x, w, lw) = (12.0, page_w - 24.0, 36.0);
    let business = data.business.prompt();
    let method = match &data.collection.method {
        CollectionMethod::InPerson => "本人凭本凭证领取 In person with this certificate".to_owned(),
        CollectionMethod::Post { address } => format!("邮寄送达 By post: {}", address.as_str()),
    };
    let rows: [(_, String, f32); 7] = [
        (label("姓名", "Name"), data.name.masked(), 9.0),
        (
            label("公民身份号码", "ID number"),
            data.id_number.masked(),
            9.0,
        ),
        (
            label("申领类型", "Application"),
            format!("{} {}", business.zh, business.en),
            9.0,
        ),
        (
            label("受理日期", "Accepted on"),
            date_zh(data.accepted_on),
            9.0,
        ),
        (
            label("制证期限", "Card ready by"),
            format!("{}前 by {}", date_zh(data.issue_by()), data.issue_by()),
            9.0,
        ),
        (
            label("领证地点", "Where to collect"),
            format!(
                "{}（{}）",
                data.collection.office.as_str(),
                data.collection.address.as_str()
            ),
            9.0,
        ),
        (
            label("领证方式", "How to collect"),
            format!(
                "{}；办公时间 Hours: {}",
                method,
                data.collection.hours.as_str()
            ),
            9.0,
        ),
    ];
    for (row_label, value, h) in &rows {
        y += c.field(x, y, w, *h, lw, *row_label, value);
    }
    let sig_h = 18.0;
    c.field(x, y, w, sig_h, lw, label("申请人签名", "Signature"), "");
    let img_h = sig_h - 3.0;
    let img_w = (img_h / data.signature.aspect()).min(w - lw - 4.0);
    c.image(
        &data.signature.image,
        x + lw + 3.0,
        y + 1.5,
        img_w,
        img_w * data.signature.aspect(),
    );
    y += sig_h + 6.0;

    c.text(x, y, 9.0, Style::Regular, Align::Left, "注意事项 Notes");
    y += 4.5;
    y = c.paragraph(x, y, w - 38.0, 7.5, "1. 请妥善保管本凭证，领取居民身份证时交回。Keep this certificate and hand it in when you collect your card.");
    c.paragraph(x, y, w - 38.0, 7.5, "2. 委托他人代领的，代领人须持本人居民身份证和本凭证。A proxy brings this certificate and the proxy's own ID card.");

    let bureau = data.bureau.as_str();
    c.seal(
        page_w - 32.0,
        page_h - 40.0,
        13.0,
        bureau,
        &date_zh(data.accepted_on),
    );
    c.text(
        x,
        page_h - 12.0,
        9.0,
        Style::Regular,
        Align::Left,
        &format!("受理单位 Bureau: {bureau}"),
    );

    surface.finish();
    page.finish();
    Ok(title.zh)
}
