//! 缴费通知书, the payment notices (A5), printed once the fee is paid: proof of payment with the
//! transaction's fields (WeChat Pay's transaction id, the POS receipt's card, reference and auth
//! code) and the state 已支付. An unpaid order is never printed: the kiosk shows its QR code on
//! screen, and an order left unpaid closes.

use krilla::page::PageSettings;
use krilla::Document as PdfDocument;

use domain::prompts::Prompt;

use crate::fonts::{Fonts, Style};
use crate::layout::{label, Align, Canvas, Label, A5};
use crate::types::{UnionPayNotice, WechatNotice};
use crate::{time_zh, RenderError};

const TITLE: &str = "缴费通知书";
const PAID: &str = "已支付 Paid";

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
        (
            label("交易单号", "Transaction ID"),
            data.transaction_id.as_str().to_owned(),
        ),
        (label("支付时间", "Paid at"), time_zh(data.paid_at)),
        (label("支付状态", "Status"), PAID.to_owned()),
    ];
    draw_paid(
        pdf,
        fonts,
        domain::prompts::PAYMENT_WECHAT,
        &rows,
        "2. 如申请未能受理，款项将原路退回微信支付账户。If the application cannot be completed, the payment is refunded to the WeChat Pay account.",
        data.bureau.as_str(),
    )
}

pub(crate) fn draw_unionpay(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    data: &UnionPayNotice,
) -> Result<&'static str, RenderError> {
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
        (label("支付状态", "Status"), PAID.to_owned()),
    ];
    draw_paid(
        pdf,
        fonts,
        domain::prompts::PAYMENT_UNIONPAY,
        &rows,
        "2. 如申请未能受理，款项将原路退回。If the application cannot be completed, the payment is voided or refunded to the card.",
        data.bureau.as_str(),
    )
}

/// The page of a paid notice: title, method, the rows, the notes and the payee's seal.
fn draw_paid(
    pdf: &mut PdfDocument,
    fonts: &Fonts,
    method: Prompt,
    rows: &[(Label, String)],
    refund_note: &str,
    bureau: &str,
) -> Result<&'static str, RenderError> {
    let (page_w, page_h) = A5;
    let mut page = pdf.start_page_with(page_settings()?);
    let mut surface = page.surface();
    let mut c = Canvas::new(&mut surface, fonts);

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
    for (row_label, value) in rows {
        y += c.field(x, y, w, 10.0, lw, *row_label, value);
    }
    y += 6.0;
    c.text(x, y, 9.0, Style::Regular, Align::Left, "说明 Notes");
    y += 4.5;
    y = c.paragraph(x, y, w, 7.5, "1. 本通知书为缴纳居民身份证工本费的凭据，请与领取凭证一并保管。Keep this notice with your collection certificate as proof of payment.");
    c.paragraph(x, y, w, 7.5, refund_note);

    c.seal(page_w - 30.0, page_h - 38.0, 11.0, bureau, "");
    c.text(
        x,
        page_h - 12.0,
        9.0,
        Style::Regular,
        Align::Left,
        &format!("收款单位 Payee: {bureau}"),
    );

    surface.finish();
    page.finish();
    Ok(TITLE)
}
