//! 缴费通知书, the payment notices (A5): WeChat Native with the `code_url` as a QR code and how to
//! pay it before the order expires; UnionPay with the fields of the POS receipt.

use krilla::page::PageSettings;
use krilla::Document as PdfDocument;

use crate::fonts::{Fonts, Style};
use crate::layout::{label, Align, Canvas, A5};
use crate::types::{UnionPayNotice, WechatNotice};
use crate::{codes, time_zh, RenderError};

const TITLE: &str = "缴费通知书";

fn page_settings() -> Result<PageSettings, RenderError> {
    let (w, h) = A5;
    PageSettings::from_wh(w * 72.0 / 25.4, h * 72.0 / 25.4)
        .ok_or_else(|| RenderError::Pdf("bad page size".into()))
}

pub(crate) fn draw_wechat(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &WechatNotice,
) -> Result<&'static str, RenderError> {
    let (modules, width) = codes::qr("code_url", data.code_url.as_str())?;
    let (page_w, page_h) = A5;
    let mut page = pdf.start_page_with(page_settings()?);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

    let method = domain::prompts::PAYMENT_WECHAT;
    let mut y = c.heading(page_w, 20.0, label(TITLE, "Payment Notice"), 20.0);
    c.text(
        page_w / 2.0,
        y + 2.0,
        11.0,
        Style::Regular,
        Align::Center,
        &format!("{} {}", method.zh, method.en),
    );
    y += 7.0;

    let (x, w, lw) = (12.0, page_w - 24.0, 34.0);
    let business = data.business.prompt();
    let rows = [
        (
            label("受理编号", "Application No."),
            data.application_number.as_str().to_owned(),
        ),
        (
            label("缴费项目", "Fee"),
            format!(
                "居民身份证工本费（{}）ID card fee ({})",
                business.zh, business.en
            ),
        ),
        (
            label("金额", "Amount"),
            format!(
                "{}（人民币{}）",
                data.amount.display(),
                data.amount.capital()
            ),
        ),
        (
            label("商户订单号", "Order No."),
            data.out_trade_no.as_str().to_owned(),
        ),
        (label("支付截止", "Pay before"), time_zh(data.expires_at)),
    ];
    for (row_label, value) in &rows {
        y += c.field(x, y, w, 9.0, lw, *row_label, value);
    }

    // Quiet zone of four modules on each side is part of the square.
    let qr_size = 46.0;
    let quiet = qr_size / (width as f32 + 8.0) * 4.0;
    let qx = (page_w - qr_size) / 2.0;
    y += 3.0;
    c.qr(
        &modules,
        width,
        qx + quiet,
        y + quiet,
        qr_size - 2.0 * quiet,
    );
    c.rect(qx, y, qr_size, qr_size, 0.4);
    y += qr_size + 5.0;
    c.text(
        page_w / 2.0,
        y,
        9.0,
        Style::Regular,
        Align::Center,
        "请使用微信扫一扫 Scan with WeChat",
    );
    y += 6.0;

    c.text(
        x,
        y,
        9.0,
        Style::Regular,
        Align::Left,
        "支付方式 How to pay",
    );
    y += 4.5;
    for step in [
        "1. 打开微信，点击右上角“+”，选择“扫一扫”。Open WeChat, tap + and choose Scan.",
        "2. 扫描上方二维码，核对金额后确认支付。Scan the code above, check the amount and confirm.",
        "3. 支付成功后，自助机自动打印领取凭证。Once paid, the kiosk prints your collection certificate.",
        "4. 逾期未支付，订单自动关闭，请重新办理。An unpaid order closes at the time above; start again.",
    ] {
        y = c.paragraph(x, y, w, 7.5, step);
    }

    c.seal(page_w - 30.0, page_h - 38.0, 11.0, data.bureau.as_str(), "");
    c.text(
        x,
        page_h - 12.0,
        9.0,
        Style::Regular,
        Align::Left,
        &format!("收款单位 Payee: {}", data.bureau.as_str()),
    );

    surface.finish();
    page.finish();
    Ok(TITLE)
}

pub(crate) fn draw_unionpay(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &UnionPayNotice,
) -> Result<&'static str, RenderError> {
    let (page_w, page_h) = A5;
    let mut page = pdf.start_page_with(page_settings()?);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

    let method = domain::prompts::PAYMENT_UNIONPAY;
    let mut y = c.heading(page_w, 20.0, label(TITLE, "Payment Notice"), 20.0);
    c.text(
        page_w / 2.0,
        y + 2.0,
        11.0,
        Style::Regular,
        Align::Center,
        &format!("{} {}", method.zh, method.en),
    );
    y += 7.0;

    let (x, w, lw) = (12.0, page_w - 24.0, 34.0);
    let business = data.business.prompt();
    let rows = [
        (
            label("受理编号", "Application No."),
            data.application_number.as_str().to_owned(),
        ),
        (
            label("缴费项目", "Fee"),
            format!(
                "居民身份证工本费（{}）ID card fee ({})",
                business.zh, business.en
            ),
        ),
        (
            label("金额", "Amount"),
            format!(
                "{}（人民币{}）",
                data.amount.display(),
                data.amount.capital()
            ),
        ),
        (label("卡号", "Card"), data.card.as_str().to_owned()),
        (
            label("参考号", "Reference"),
            data.reference.as_str().to_owned(),
        ),
        (
            label("授权码", "Auth code"),
            data.auth_code.as_str().to_owned(),
        ),
        (label("交易时间", "Time"), time_zh(data.paid_at)),
        (label("支付状态", "Status"), "已支付 Paid".to_owned()),
    ];
    for (row_label, value) in &rows {
        y += c.field(x, y, w, 10.0, lw, *row_label, value);
    }
    y += 6.0;
    c.text(x, y, 9.0, Style::Regular, Align::Left, "说明 Notes");
    y += 4.5;
    y = c.paragraph(x, y, w, 7.5, "1. 本通知书为缴纳居民身份证工本费的凭据，请与领取凭证一并保管。Keep this notice with your collection certificate as proof of payment.");
    c.paragraph(x, y, w, 7.5, "2. 如申请未能受理，款项将原路退回。If the application cannot be completed, the payment is voided or refunded to the card.");

    c.seal(page_w - 30.0, page_h - 38.0, 11.0, data.bureau.as_str(), "");
    c.text(
        x,
        page_h - 12.0,
        9.0,
        Style::Regular,
        Align::Left,
        &format!("收款单位 Payee: {}", data.bureau.as_str()),
    );

    surface.finish();
    page.finish();
    Ok(TITLE)
}
