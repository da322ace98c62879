//! Words for the codes the console shows (Chinese first, English beside it): businesses,
//! households, validities, statuses, payments, referral reasons, fingers, documents, deliveries.
//! The citizen-facing words come from `domain` where it has them (the step-1 and step-2 buttons);
//! the rest are the office's words. Every function answers a [`Label`]: the words, or a code this
//! module does not know shown in `<code>`, so a new code is visible rather than hidden.

use std::fmt;

use askama::filters::{Escaper, Html, HtmlSafe};
use domain::journey::ApplicationState;
use domain::rules::{Business, Household, NewCardValidity, Reason};
use domain::session::{PaymentMethod, ReferralReason};
use domain::trade_state::TradeState;
use store::deliveries::{DeliveryRecord, DeliveryState};
use store::sessions::KioskStatus;

/// Words for a code; as HTML (its `Display`), escaped by askama's HTML escaper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// Chinese, then English.
    Words(&'static str, &'static str),
    /// A code this module does not know.
    Unknown(String),
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Words(zh, en) => {
                Html.write_escaped_str(&mut *f, zh)?;
                f.write_str(" ")?;
                Html.write_escaped_str(&mut *f, en)
            }
            Label::Unknown(code) => {
                f.write_str("<code>")?;
                Html.write_escaped_str(&mut *f, code)?;
                f.write_str("</code>")
            }
        }
    }
}

impl HtmlSafe for Label {}

fn unknown(code: &str) -> Label {
    Label::Unknown(code.to_owned())
}

fn words(zh: &'static str, en: &'static str) -> Label {
    Label::Words(zh, en)
}

/// 到期换领 Expiry renewal … (the step-1 button's words).
pub fn business(business: Business) -> Label {
    let prompt = business.prompt();
    words(prompt.zh, prompt.en)
}

/// 本市户籍 … (the step-2 button's words).
pub fn household(household: Household) -> Label {
    let prompt = household.prompt();
    words(prompt.zh, prompt.en)
}

/// The new card's validity.
pub fn validity(validity: NewCardValidity) -> Label {
    match validity {
        NewCardValidity::TenYears => words("10年", "10 years"),
        NewCardValidity::TwentyYears => words("20年", "20 years"),
        NewCardValidity::LongTerm => words("长期", "Long-term"),
    }
}

/// Where an application stands at the kiosk.
pub fn application_status(status: KioskStatus) -> Label {
    match status {
        KioskStatus::Accepted => words("已受理，办理中", "Accepted, in progress"),
        KioskStatus::Completed => words("已办结", "Completed"),
        KioskStatus::Referred => words("已转窗口", "Referred to the window"),
    }
}

/// A payment's state (the store refuses a row whose state is not one of them).
pub fn payment_state(state: TradeState) -> Label {
    match state {
        TradeState::NotPay => words("未支付", "Not paid"),
        TradeState::UserPaying => words("支付中", "Paying"),
        TradeState::Success => words("已支付", "Paid"),
        TradeState::Closed => words("已关闭", "Closed"),
        TradeState::PayError => words("支付失败", "Failed"),
        TradeState::Revoked => words("已撤销", "Voided"),
        TradeState::Refund => words("已退款", "Refunded"),
    }
}

/// WeChat Pay or a UnionPay card.
pub fn payment_method(method: PaymentMethod) -> Label {
    match method {
        PaymentMethod::WeChat => words("微信支付", "WeChat Pay"),
        PaymentMethod::UnionPay => words("银联刷卡", "UnionPay card"),
    }
}

/// Why a session was sent to the window, in the office's words.
pub fn referral_reason(reason: &ReferralReason) -> Label {
    let (zh, en) = match reason {
        ReferralReason::Scope(reason) => scope_reason(*reason),
        ReferralReason::CardUnreadable => ("旧证无法读取", "The old card could not be read"),
        ReferralReason::ReceiptNotFound => ("未找到照片回执", "Photo receipt not found"),
        ReferralReason::PhotoUnusable => ("现场照片不合格", "No usable live photo"),
        ReferralReason::FaceMismatch => ("人像比对未通过", "Face comparison failed"),
        ReferralReason::LivenessFailed => ("活体检测未通过", "Liveness check failed"),
        ReferralReason::FingerprintFailed => ("指纹采集失败", "Fingerprints not captured"),
        ReferralReason::PaymentFailed => ("缴费未成功", "Payment failed"),
        ReferralReason::PrinterFault => ("打印故障", "Printer fault"),
        ReferralReason::PaidNotPrinted => (
            "已缴费，凭证未打印，请按受理编号补打",
            "Paid, papers not printed: print them by the application number",
        ),
        ReferralReason::ServiceUnavailable => {
            ("系统或设备无响应", "The center or a device did not answer")
        }
        ReferralReason::Cancelled => ("群众取消办理", "Cancelled by the citizen"),
        ReferralReason::Timeout => ("长时间无操作", "Timed out: no activity"),
    };
    words(zh, en)
}

fn scope_reason(reason: Reason) -> (&'static str, &'static str) {
    match reason {
        Reason::NotFound => ("人口信息系统无此人记录", "No population record"),
        Reason::RecordNotNormal => (
            "户籍状态非正常（注销、死亡、迁出）",
            "Record not in force (cancelled, deceased, moved out)",
        ),
        Reason::Under16 => ("未满16周岁", "Under 16"),
        Reason::HouseholdOutsideProvince => {
            ("户籍不在本省", "Household registered outside the province")
        }
        Reason::WrongHouseholdChoice => ("户籍类型选择有误", "Wrong household type chosen"),
        Reason::NotFloatingRegistered => (
            "省内异地户籍，未在本市办理居住登记",
            "Registered elsewhere in the province, no residence registration in the city",
        ),
        Reason::CardMismatch => (
            "所读证件号码与输入不符",
            "The card read carries another number",
        ),
        Reason::NotInRenewalWindow => ("不在换领期内", "Not within the renewal window"),
        Reason::NoHistoryPhoto => ("无历史证件照片", "No historical photo to compare with"),
        Reason::ApplicationInProgress => ("已有在办申请", "An application is already in progress"),
    }
}

/// The step a session was at, with its name.
pub fn step(step: u8) -> String {
    let name = match step {
        1 => ("选择业务", "business"),
        2 => ("选择户籍", "household"),
        3 => ("身份号码或读卡", "ID number or card"),
        4 => ("信息核对", "details"),
        5 => ("受理条件", "eligibility"),
        6 => ("照片回执", "photo receipt"),
        7 => ("人像比对", "face comparison"),
        8 => ("手机号码", "mobile number"),
        9 => ("指纹", "fingerprints"),
        10 => ("签名", "signature"),
        11 => ("缴费", "payment"),
        12 => ("打印", "printing"),
        _ => return format!("第 {step} 步 Step {step}"),
    };
    format!("第 {step} 步 {} · Step {step} {}", name.0, name.1)
}

/// A finger by its stable name (`right_index` …).
pub fn finger(code: &str) -> Label {
    let (zh, en) = match code {
        "right_thumb" => ("右手拇指", "Right thumb"),
        "right_index" => ("右手食指", "Right index finger"),
        "right_middle" => ("右手中指", "Right middle finger"),
        "right_ring" => ("右手环指", "Right ring finger"),
        "right_little" => ("右手小指", "Right little finger"),
        "left_thumb" => ("左手拇指", "Left thumb"),
        "left_index" => ("左手食指", "Left index finger"),
        "left_middle" => ("左手中指", "Left middle finger"),
        "left_ring" => ("左手环指", "Left ring finger"),
        "left_little" => ("左手小指", "Left little finger"),
        _ => return unknown(code),
    };
    words(zh, en)
}

/// A printed document kind (`crate::paper::DOCUMENT_KINDS`).
pub fn document(kind: &str) -> Label {
    match kind {
        "certificate" => words("领取凭证", "Collection certificate"),
        "form" => words("申请表", "Application form"),
        "notice" => words("告知书", "Notice"),
        _ => unknown(kind),
    }
}

/// An image kind of the record page.
pub fn image(kind: &str) -> &'static str {
    match kind {
        "live_photo" => "现场照片 Live photo",
        "certified_photo" => "回执照片 Certified photo",
        "signature" => "签名 Signature",
        "fingerprint_image_1" => "指纹图像 1 Fingerprint image 1",
        "fingerprint_image_2" => "指纹图像 2 Fingerprint image 2",
        _ => "图像 Image",
    }
}

/// Where an application's delivery to the population system stands, in one phrase.
pub fn delivery(delivery: Option<&DeliveryRecord>) -> &'static str {
    match delivery {
        None => "未上报：会话未完成 not queued: the session has not completed",
        Some(d) => match d.state {
            DeliveryState::Pending if d.attempts == 0 => "待上报 queued",
            DeliveryState::Pending => "重试中 retrying",
            DeliveryState::Delivered => "已上报 delivered",
            DeliveryState::Rejected => "被拒绝，需人工处理 refused: staff must act",
        },
    }
}

/// Where an application stands after the kiosk (`domain::journey`'s Chinese label, English beside).
pub fn journey_state(state: ApplicationState) -> Label {
    let en = match state {
        ApplicationState::Submitted => "Submitted",
        ApplicationState::Accepted => "Accepted by the population system",
        ApplicationState::Rejected => "Rejected",
        ApplicationState::InProduction => "In production",
        ApplicationState::Ready => "Ready for collection",
        ApplicationState::Collected => "Collected",
        ApplicationState::Returned => "Returned",
        ApplicationState::Cancelled => "Cancelled",
    };
    words(state.label_zh(), en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_become_words_and_unknown_ones_stay_visible() {
        assert_eq!(
            business(Business::ExpiryRenewal).to_string(),
            "到期换领 Expiry renewal"
        );
        assert_eq!(
            validity(NewCardValidity::TenYears).to_string(),
            "10年 10 years"
        );
        assert_eq!(
            payment_state(TradeState::PayError).to_string(),
            "支付失败 Failed"
        );
        // Askama's HTML escaper writes numeric entities (`&#60;` for `<`).
        assert_eq!(unknown("<x>").to_string(), "<code>&#60;x&#62;</code>");
        assert_eq!(
            referral_reason(&ReferralReason::parse("under_16").unwrap()).to_string(),
            "未满16周岁 Under 16"
        );
    }
}
