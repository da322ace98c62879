//! 人像采集表, the portrait collection form (A5, step 3 variant): the identity pre-filled for the
//! photo studio, with the ID number as a Code 128 barcode for the studio's scanner, the photo
//! requirements of GA 461 and the studio's seal area.

use domain::Sex;
use krilla::page::PageSettings;
use krilla::Document as PdfDocument;

use crate::fonts::{Fonts, Style};
use crate::layout::{label, Align, Canvas, A5};
use crate::types::PortraitForm;
use crate::{codes, date_zh, RenderError};

pub(crate) fn draw(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &PortraitForm,
) -> Result<&'static str, RenderError> {
    let bars = codes::code128("id_number", data.id_number.as_str())?;
    let (page_w, page_h) = A5;
    let settings = PageSettings::from_wh(page_w * 72.0 / 25.4, page_h * 72.0 / 25.4)
        .ok_or_else(|| RenderError::Pdf("bad page size".into()))?;
    let mut page = pdf.start_page_with(settings);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

    let title = domain::prompts::PORTRAIT_COLLECTION_FORM;
    let mut y = c.heading(page_w, 20.0, label(title.zh, title.en), 20.0);

    let module = 0.33;
    let bars_w = bars.len() as f32 * module;
    c.bars(&bars, (page_w - bars_w) / 2.0, y, module, 11.0);
    y += 15.0;
    c.text(
        page_w / 2.0,
        y,
        10.0,
        Style::Regular,
        Align::Center,
        data.id_number.as_str(),
    );
    y += 4.0;

    let (x, w, lw) = (12.0, page_w - 24.0, 32.0);
    let sex = match data.id_number.sex() {
        Sex::Male => "男 Male",
        Sex::Female => "女 Female",
    };
    let application = data.application.prompt();
    let rows = [
        (label("姓名", "Name"), data.name.as_str().to_owned()),
        (
            label("公民身份号码", "ID number"),
            data.id_number.as_str().to_owned(),
        ),
        (label("性别", "Sex"), sex.to_owned()),
        (
            label("出生日期", "Date of birth"),
            date_zh(data.id_number.birth_date()),
        ),
        (
            label("申领类型", "Application"),
            format!("{} {}", application.zh, application.en),
        ),
        (label("打印日期", "Printed on"), date_zh(data.printed_on)),
    ];
    let row = 9.0;
    for (row_label, value) in &rows {
        y += c.field(x, y, w, row, lw, *row_label, value);
    }
    y += 6.0;
    c.text(
        x,
        y,
        9.0,
        Style::Regular,
        Align::Left,
        "照相要求（GA 461）Photo requirements",
    );
    y += 4.5;
    for line in [
        "1. 白色背景，正面免冠，双眼睁开可见，不戴饰品。White background, frontal, bare head, eyes open.",
        "2. 358×441 像素，350 dpi，24 位真彩色 JPEG。358 × 441 pixels, 350 dpi, 24-bit colour JPEG.",
        "3. 照相馆采集后出具照片回执，请持回执回到自助机扫描办理。Bring the studio's photo receipt back to the kiosk and scan it.",
    ] {
        y = c.paragraph(x, y, w - 40.0, 7.5, line);
    }

    // The studio's seal area and the bureau that printed the form.
    c.rect(page_w - 48.0, page_h - 62.0, 36.0, 36.0, 0.6);
    c.text(
        page_w - 30.0,
        page_h - 46.0,
        8.0,
        Style::Regular,
        Align::Center,
        "照相馆盖章",
    );
    c.text(
        page_w - 30.0,
        page_h - 42.0,
        6.0,
        Style::Regular,
        Align::Center,
        "Photo studio seal",
    );
    c.text(
        x,
        page_h - 12.0,
        9.0,
        Style::Regular,
        Align::Left,
        &format!("打印单位 Printed by: {}", data.bureau.as_str()),
    );

    surface.finish();
    page.finish();
    Ok(title.zh)
}
