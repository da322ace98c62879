//! 居民身份证申领登记表, the application registration form (A4): the full record for the bureau's
//! file, with the ID photo, the fingers captured and the signature. Sex and birth date are printed
//! from the ID number, so they cannot disagree with it.

use domain::Sex;
use krilla::page::PageSettings;
use krilla::Document as PdfDocument;

use crate::fonts::{Fonts, Style};
use crate::layout::{label, Align, Canvas, A4};
use crate::types::RegistrationForm;
use crate::{codes, date_zh, RenderError};

const TITLE: &str = "居民身份证申领登记表";

pub(crate) fn draw(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &RegistrationForm,
) -> Result<&'static str, RenderError> {
    let bars = codes::code128("application_number", data.application_number.as_str())?;
    let (page_w, page_h) = A4;
    let settings = PageSettings::from_wh(page_w * 72.0 / 25.4, page_h * 72.0 / 25.4)
        .ok_or_else(|| RenderError::Pdf("bad page size".into()))?;
    let mut page = pdf.start_page_with(settings);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

    let mut y = c.heading(
        page_w,
        24.0,
        label(
            TITLE,
            "Resident Identity Card Application Registration Form",
        ),
        22.0,
    );
    let (x, w) = (15.0, page_w - 30.0);

    let module = 0.3;
    let bars_w = bars.len() as f32 * module;
    c.bars(&bars, x + w - bars_w, y, module, 9.0);
    let number = format!(
        "受理编号 Application No. {}",
        data.application_number.as_str()
    );
    c.text(x, y + 6.0, 10.0, Style::Regular, Align::Left, &number);
    y += 13.0;

    // Identity block beside the photo.
    let (lw, row) = (38.0, 11.0);
    let photo_w = 38.0;
    let left_w = w - photo_w;
    let sex = match data.id_number.sex() {
        Sex::Male => "男 Male",
        Sex::Female => "女 Female",
    };
    let identity = [
        (label("姓名", "Name"), data.name.as_str().to_owned()),
        (label("性别", "Sex"), sex.to_owned()),
        (label("民族", "Nation"), data.nation.name().to_owned()),
        (
            label("出生日期", "Date of birth"),
            date_zh(data.id_number.birth_date()),
        ),
    ];
    let top = y;
    for (row_label, value) in &identity {
        y += c.field(x, y, left_w, row, lw, *row_label, value);
    }
    c.rect(x + left_w, top, photo_w, y - top, 0.6);
    let ph = y - top - 4.0;
    let pw = (ph / data.photo.aspect()).min(photo_w - 4.0);
    let ph = pw * data.photo.aspect();
    c.image(
        &data.photo.image,
        x + left_w + (photo_w - pw) / 2.0,
        top + (y - top - ph) / 2.0,
        pw,
        ph,
    );

    let business = data.business.prompt();
    let fingers = data
        .fingers
        .iter()
        .map(|f| {
            format!(
                "{}（指位 {}）质量 {}",
                f.finger.prompt().zh,
                f.finger.position_code(),
                f.quality
            )
        })
        .collect::<Vec<_>>()
        .join("；");
    let rows: [(_, String, f32); 7] = [
        (
            label("公民身份号码", "ID number"),
            data.id_number.as_str().to_owned(),
            row,
        ),
        (
            label("住址", "Address"),
            data.address.as_str().to_owned(),
            14.0,
        ),
        (
            label("申领类型", "Application"),
            format!("{} {}", business.zh, business.en),
            row,
        ),
        (
            label("联系电话", "Mobile"),
            data.mobile.as_str().to_owned(),
            row,
        ),
        (
            label("指纹信息", "Fingerprints"),
            format!("已采集 {} 枚：{}", data.fingers.len(), fingers),
            14.0,
        ),
        (
            label("受理日期", "Accepted on"),
            date_zh(data.accepted_on),
            row,
        ),
        (
            label("受理单位", "Bureau"),
            data.bureau.as_str().to_owned(),
            row,
        ),
    ];
    for (row_label, value, h) in &rows {
        y += c.field(x, y, w, *h, lw, *row_label, value);
    }
    let sig_h = 24.0;
    c.field(x, y, w, sig_h, lw, label("申请人签名", "Signature"), "");
    let img_h = sig_h - 4.0;
    let img_w = (img_h / data.signature.aspect()).min(w - lw - 6.0);
    c.image(
        &data.signature.image,
        x + lw + 4.0,
        y + 2.0,
        img_w,
        img_w * data.signature.aspect(),
    );
    y += sig_h + 8.0;

    c.text(
        x,
        y,
        10.0,
        Style::Regular,
        Align::Left,
        "申请人声明 Declaration",
    );
    y += 5.5;
    c.paragraph(
        x,
        y,
        w,
        9.0,
        "本人承诺以上信息真实，所采集的人像和指纹均为本人所有，冒用他人身份须承担法律责任。I declare that the information above is true and that the photo and fingerprints are my own; impersonation carries legal liability.",
    );

    let bureau = data.bureau.as_str();
    c.seal(
        page_w - 45.0,
        page_h - 55.0,
        16.0,
        bureau,
        &date_zh(data.accepted_on),
    );
    c.text(
        x,
        page_h - 30.0,
        10.0,
        Style::Regular,
        Align::Left,
        "受理人 Accepted by: 自助受理 Self-service kiosk",
    );

    surface.finish();
    page.finish();
    Ok(TITLE)
}
