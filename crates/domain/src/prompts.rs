//! Every citizen-facing text of the kiosk as data, Chinese first and English second, word for word
//! as the product's rules give them (all listed in docs/domain.md section 11); texts marked
//! **our wording** are ours.

use serde::Serialize;

/// One citizen-facing text in both languages; the screen shows `zh` above `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Prompt {
    /// Chinese, shown first.
    pub zh: &'static str,
    /// English, shown below.
    pub en: &'static str,
}

const fn prompt(zh: &'static str, en: &'static str) -> Prompt {
    Prompt { zh, en }
}

// Step 1: business.

/// 到期换领: the card is expiring or has expired.
pub const BUSINESS_EXPIRY_RENEWAL: Prompt = prompt("到期换领", "Expiry renewal");
/// 丢失补领: the card was lost.
pub const BUSINESS_LOST: Prompt = prompt("丢失补领", "Lost replacement");
/// 损坏换领: the card is damaged.
pub const BUSINESS_DAMAGED: Prompt = prompt("损坏换领", "Damaged replacement");
/// Note on the step-1 screen. **our wording**
pub const NO_TEMPORARY_CARDS: Prompt = prompt(
    "本机不办理临时居民身份证。",
    "Temporary resident ID cards are not issued at this kiosk.",
);

// Step 2: household.

/// 本市户籍: household registered in the kiosk's city.
pub const HOUSEHOLD_LOCAL: Prompt = prompt("本市户籍", "Local household registration");
/// 省内异地户籍: household registered elsewhere in the province.
pub const HOUSEHOLD_PROVINCE: Prompt =
    prompt("省内异地户籍", "Registered elsewhere in the province");

// Step 3: ID number.

/// The card on the reader could not be read; the session goes back to step 1.
pub const CARD_UNREADABLE: Prompt = prompt(
    "无法读取，请联系工作人员",
    "Unable to read, please contact the staff",
);
/// The number typed differs from the number on the card on the reader.
pub const CARD_MISMATCH: Prompt = prompt(
    "身份证号码与所放证件不一致。",
    "The ID number does not match the card on the reader.",
);
/// 人像采集表: the pre-filled form a first-time applicant takes to the photo studio.
pub const PORTRAIT_COLLECTION_FORM: Prompt = prompt("人像采集表", "Portrait collection form");

// Step 5: scope.

/// The generic refusal of step 5; every refusal without a prompt of its own uses it.
pub const OUT_OF_SCOPE: Prompt = prompt(
    "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。",
    "Your resident ID card is not within the self-service acceptance scope. If you need help, please contact the staff.",
);
/// The acceptance of step 5 (the rules give no text; docs/domain.md 3.2). **our wording**
pub const IN_SCOPE: Prompt = prompt(
    "您的业务在自助受理范围内，请继续办理。",
    "Your application is within the self-service acceptance scope; please continue.",
);
/// Refusal: under 16 in full years.
pub const UNDER_16: Prompt = prompt(
    "未满16周岁的申请人不能自助办理，请由监护人陪同到户政窗口办理。",
    "Applicants under 16 cannot apply by themselves; please come to the window with a guardian.",
);
/// Refusal: renewal outside six months either side of the expiry date.
pub const NOT_IN_RENEWAL_WINDOW: Prompt = prompt(
    "您的居民身份证不在有效期满前后6个月的换领范围内。",
    "Your card is not within 6 months before or after its expiry date.",
);
/// Refusal: registered elsewhere in the province and not in this city's residence registry.
pub const NOT_REGISTERED_IN_CITY: Prompt = prompt(
    "未查询到您在本市的居住登记信息，请到户政窗口办理。",
    "No residence registration in this city was found for you; please go to the household administration window.",
);

// Step 6: photo receipt.

/// No certified photo for the scanned receipt code.
pub const PHOTO_RECEIPT_NOT_FOUND: Prompt = prompt(
    "未查询到您的照片回执信息，请确认后重新扫描。",
    "No photo matches this receipt; please check it and scan again.",
);
/// The receipt was already redeemed by an application (docs/domain.md section 11).
pub const PHOTO_RECEIPT_USED: Prompt = prompt(
    "该照片回执已使用，请联系照相馆或工作人员。",
    "This photo receipt has already been used; please ask the photo studio or the staff.",
);
/// The receipt's validity is over (docs/domain.md section 11).
pub const PHOTO_RECEIPT_EXPIRED: Prompt = prompt(
    "该照片回执已过期，请重新拍摄证件照。",
    "This photo receipt has expired; please have a new ID photo taken.",
);
/// The receipt was made for another citizen (docs/domain.md section 11). Saying so tells the one
/// who holds the paper only that it is not theirs; the scans of a session are bounded.
pub const PHOTO_RECEIPT_OTHER_PERSON: Prompt = prompt(
    "该照片回执不属于您，请确认后重新扫描。",
    "This photo receipt belongs to someone else; please check it and scan again.",
);

// Step 7: live photo.

/// **Our wording.** The photo just taken, shown before it is compared.
pub const PHOTO_REVIEW: Prompt = prompt(
    "请确认照片：满意请点击“使用此照片”，不满意可重新拍摄。",
    "Check your photo: use it, or take it again.",
);
/// **Our wording.** The review once the retakes are used up: only "use this photo" is left.
pub const PHOTO_RETAKES_USED: Prompt = prompt(
    "已达到重拍次数上限，请使用此照片。",
    "No more retakes are possible; please use this photo.",
);
/// **Our wording.** The review's button that sends the photo to the comparison.
pub const USE_PHOTO: Prompt = prompt("使用此照片", "Use this photo");
/// **Our wording.** The review's button that goes back to the camera.
pub const RETAKE_PHOTO: Prompt = prompt("重新拍摄", "Retake");
/// **Our wording.** What the review's image shows, for screen readers.
pub const REVIEW_PHOTO_ALT: Prompt = prompt("刚拍摄的照片", "The photo just taken");

/// A comparison fell below its threshold.
pub const FACE_COMPARISON_FAILED: Prompt = prompt(
    "人像比对未通过，请联系工作人员。",
    "Photo comparison failed; please contact the staff.",
);

// Step 8: mobile.

/// The number does not follow the numbering rules.
pub const MOBILE_INVALID: Prompt = prompt(
    "手机号码格式不正确，请重新输入。",
    "The mobile number is not valid; please enter it again.",
);
/// The two entries differ.
pub const MOBILE_MISMATCH: Prompt = prompt(
    "两次输入的手机号码不一致，请重新输入。",
    "The two numbers do not match; please enter them again.",
);

// Step 9: fingerprints.

/// Two fingers could not be captured to quality.
pub const FINGERPRINT_FAILED: Prompt = prompt(
    "指纹信息采集失败，请到户政窗口办理。",
    "Fingerprint information collection failed, please go to the household administration window.",
);
/// A poor press (smudged, partial, too light): try the same finger again
/// (docs/domain.md section 11).
pub const FINGERPRINT_POOR_PRESS: Prompt = prompt(
    "指纹图像不清晰，请抬起手指后重新按压。",
    "The fingerprint was not clear; lift your finger and press again.",
);
/// Which finger to place, a template: `{finger}` and `{n}` are filled by [`place_finger`]
/// (docs/domain.md section 11).
pub const PLACE_FINGER_OF_TWO: Prompt = prompt(
    "请将{finger}平放在指纹采集器上（第{n}枚，共2枚）",
    "Place your {finger} flat on the sensor ({n} of 2)",
);

/// [`PLACE_FINGER_OF_TWO`] filled in: `finger` is the finger's name in both languages, `n` 1 or 2.
pub fn place_finger(finger: Prompt, n: u8) -> (String, String) {
    let fill = |template: &str, name: &str| {
        template
            .replace("{finger}", name)
            .replace("{n}", &n.to_string())
    };
    (
        fill(PLACE_FINGER_OF_TWO.zh, finger.zh),
        fill(PLACE_FINGER_OF_TWO.en, finger.en),
    )
}

// Step 11: payment.

/// 微信扫码支付.
pub const PAYMENT_WECHAT: Prompt = prompt("微信扫码支付", "WeChat scan-code payment");
/// 银联刷卡支付.
pub const PAYMENT_UNIONPAY: Prompt = prompt("银联刷卡支付", "UnionPay card payment");

// Step 12: print.

/// 居民身份证领取凭证: what the kiosk prints for the citizen.
pub const COLLECTION_CERTIFICATE: Prompt = prompt("居民身份证领取凭证", "Collection Certificate");
/// The printer failed.
pub const PRINT_FAILED: Prompt = prompt(
    "打印失败，请联系工作人员。",
    "Printing failed; please contact the staff.",
);

// Any screen.

/// The kiosk cannot go on (it could not keep the session's state): docs/domain.md section 1's
/// "printer or camera down" case.
pub const OUT_OF_SERVICE: Prompt = prompt(
    "本机暂停服务，请到窗口办理。",
    "This kiosk is out of service; please go to the window.",
);

// A way out of every screen, and what happens next (issue 15 items 2-4). **our wording**

/// The confirm step of "end the session": asked once, so one stray touch ends nothing.
pub const END_SESSION_QUESTION: Prompt = prompt(
    "确定要结束本次办理吗？已填写的信息将不会保存。",
    "End this session? What you have entered will not be kept.",
);
/// Step 5: the household type chosen does not match the register; the citizen may choose the
/// other type (it is the choice that was wrong, not the card).
pub const WRONG_HOUSEHOLD_CHOICE: Prompt = prompt(
    "您选择的户籍类型与户籍登记不一致，请重新选择户籍类型，或联系工作人员。",
    "The household type you chose does not match the register. Please choose the household type again, or contact the staff.",
);
/// Step 12: paid, but the documents could not be printed.
pub const PAID_NOT_PRINTED: Prompt = prompt(
    "打印未完成。您的缴费已记录，无需再次缴费，请凭受理编号到窗口，工作人员将为您打印凭证。",
    "Printing did not finish. Your payment is recorded, so you need not pay again. Please go to the window with the application number; the staff will print your papers.",
);
/// Finished, renewal: the old card is still on the reader.
pub const TAKE_OLD_CARD: Prompt = prompt(
    "请取回您的旧居民身份证。",
    "Please take back your old ID card.",
);
/// Finished, UnionPay: the bank card may still be in the terminal.
pub const TAKE_BANK_CARD: Prompt = prompt("请取回您的银行卡。", "Please take back your bank card.");

/// The inactivity timeout ran out.
pub const INACTIVITY: Prompt = prompt(
    "操作超时，即将返回首页。",
    "No activity; returning to the start.",
);
/// The start screen's notice: the session is recorded and biometrics must be one's own.
/// **our wording** of docs/domain.md section 1.
pub const VIDEO_AND_LEGAL_NOTICE: Prompt = prompt(
    "办理过程全程录像。采集的指纹和照片必须是本人的，冒用他人身份将承担法律责任。",
    "This session is video-recorded. Fingerprints and photos must be your own; impersonating another person carries legal liability.",
);

/// The titles of the twelve steps, in order, for the progress bar. **our wording**
pub const STEP_TITLES: [Prompt; 12] = [
    prompt("选择业务", "Business"),
    prompt("户籍类型", "Household registration"),
    prompt("身份证号码", "ID number"),
    prompt("信息确认", "Confirmation"),
    prompt("受理范围", "Scope check"),
    prompt("照片回执", "Photo receipt"),
    prompt("现场拍照", "Live photo"),
    prompt("手机号码", "Mobile number"),
    prompt("指纹采集", "Fingerprints"),
    prompt("签名", "Signature"),
    prompt("缴费", "Payment"),
    prompt("打印凭证", "Print"),
];

/// The title of step `number` (1 to 12), or `None` outside that range.
pub fn step_title(number: usize) -> Option<Prompt> {
    number
        .checked_sub(1)
        .and_then(|index| STEP_TITLES.get(index))
        .copied()
}

/// Step 7: the live photo scored as a photo or screen held up; take it again. **our wording**
pub const LIVENESS_RETAKE: Prompt = prompt(
    "请本人正对摄像头，不要使用照片或屏幕。",
    "Please face the camera yourself; no photo or screen.",
);
/// Step 7: scored not live again after the retake; referral `liveness_failed`. **our wording**
pub const LIVENESS_REFERRED: Prompt = prompt(
    "未能确认为本人现场拍摄，请联系工作人员。",
    "The photo could not be confirmed as taken of you in person; please contact the staff.",
);

/// Every prompt of this module, for checks that apply to all of them (and for translators).
pub const ALL: &[Prompt] = &[
    BUSINESS_EXPIRY_RENEWAL,
    BUSINESS_LOST,
    BUSINESS_DAMAGED,
    NO_TEMPORARY_CARDS,
    HOUSEHOLD_LOCAL,
    HOUSEHOLD_PROVINCE,
    CARD_UNREADABLE,
    CARD_MISMATCH,
    PORTRAIT_COLLECTION_FORM,
    OUT_OF_SCOPE,
    IN_SCOPE,
    UNDER_16,
    NOT_IN_RENEWAL_WINDOW,
    NOT_REGISTERED_IN_CITY,
    PHOTO_RECEIPT_NOT_FOUND,
    PHOTO_REVIEW,
    PHOTO_RETAKES_USED,
    USE_PHOTO,
    RETAKE_PHOTO,
    REVIEW_PHOTO_ALT,
    FACE_COMPARISON_FAILED,
    LIVENESS_RETAKE,
    LIVENESS_REFERRED,
    MOBILE_INVALID,
    MOBILE_MISMATCH,
    FINGERPRINT_FAILED,
    PAYMENT_WECHAT,
    PAYMENT_UNIONPAY,
    COLLECTION_CERTIFICATE,
    PRINT_FAILED,
    OUT_OF_SERVICE,
    END_SESSION_QUESTION,
    WRONG_HOUSEHOLD_CHOICE,
    PAID_NOT_PRINTED,
    TAKE_OLD_CARD,
    TAKE_BANK_CARD,
    INACTIVITY,
    VIDEO_AND_LEGAL_NOTICE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prompt_has_both_languages() {
        for prompt in ALL.iter().chain(STEP_TITLES.iter()) {
            assert!(
                !prompt.zh.trim().is_empty() && !prompt.en.trim().is_empty(),
                "{prompt:?}"
            );
            assert!(!prompt.zh.is_ascii(), "Chinese first: {prompt:?}");
            assert!(prompt.en.is_ascii(), "English second: {prompt:?}");
        }
    }

    #[test]
    fn section_1_texts_word_for_word() {
        assert_eq!(
            OUT_OF_SCOPE.zh,
            "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。"
        );
        assert_eq!(
            CARD_UNREADABLE.en,
            "Unable to read, please contact the staff"
        );
        assert_eq!(INACTIVITY.zh, "操作超时，即将返回首页。");
        assert_eq!(
            MOBILE_MISMATCH.en,
            "The two numbers do not match; please enter them again."
        );
    }

    #[test]
    fn step_titles_are_numbered_from_one() {
        assert_eq!(step_title(0), None);
        assert_eq!(step_title(1), Some(STEP_TITLES[0]));
        assert_eq!(step_title(12).map(|p| p.en), Some("Print"));
        assert_eq!(step_title(13), None);
    }
}
