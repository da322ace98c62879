//! Every citizen-facing text of the kiosk as data, Chinese first and English second (all listed in
//! docs/domain.md section 11). This module holds what the rules and the session say: the rules'
//! texts word for word, and where the rules give none, texts marked **our wording**. [`screen`]
//! holds the touchscreen's own buttons, instructions and captions, all our wording. No other
//! module or crate types a citizen-facing text.

pub mod screen;

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

/// A 15-digit first-generation number was typed. **our wording**
pub const ID_FIRST_GENERATION: Prompt = prompt(
    "请输入18位居民身份证号码。",
    "Please enter the 18-digit ID number.",
);
/// The number typed does not have 18 characters. **our wording**
pub const ID_LENGTH: Prompt = prompt(
    "身份证号码应为18位，请重新输入。",
    "An ID number has 18 characters; please enter it again.",
);
/// The number typed holds other characters than digits and a final X. **our wording**
pub const ID_CHARACTERS: Prompt = prompt(
    "身份证号码只能包含数字和末位X，请重新输入。",
    "An ID number holds only digits and a final X; please enter it again.",
);
/// The first six digits were never a region code. **our wording**
pub const ID_REGION: Prompt = prompt(
    "身份证号码的地区代码不正确，请重新输入。",
    "The region code of the ID number is not valid; please enter it again.",
);
/// The birth date digits are not a possible date. **our wording**
pub const ID_BIRTH_DATE: Prompt = prompt(
    "身份证号码的出生日期不正确，请重新输入。",
    "The birth date in the ID number is not valid; please enter it again.",
);
/// The check character does not match. **our wording**
pub const ID_CHECK_DIGIT: Prompt = prompt(
    "身份证号码的校验码不正确，请重新输入。",
    "The check character of the ID number is wrong; please enter it again.",
);
/// 首次申领: the application type on a first-time applicant's portrait collection form.
/// **our wording**
pub const FIRST_APPLICATION: Prompt = prompt("首次申领", "First application");
/// The portrait form was printed. **our wording**
pub const PORTRAIT_FORM_PRINTED: Prompt = prompt(
    "请取走人像采集表，到照相馆拍照后再来办理。",
    "Please take the portrait collection form to a photo studio, then come back.",
);

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

/// Referral after the allowed receipt scans. **our wording**
pub const RECEIPT_REFERRED: Prompt = prompt(
    "未查询到您的照片回执信息，请联系工作人员。",
    "No photo matches this receipt; please contact the staff.",
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

/// The live photo failed a quality check. **our wording**
pub const PHOTO_UNUSABLE: Prompt = prompt(
    "照片不符合要求，请正对镜头重新拍摄。",
    "The photo does not meet the requirements; please face the camera and try again.",
);
/// Referral after the allowed live photos. **our wording**
pub const PHOTO_REFERRED: Prompt = prompt(
    "未能拍摄合格的照片，请联系工作人员。",
    "No usable photo could be taken; please contact the staff.",
);

// Step 7: why a photo failed its quality check (`face::quality::QualityReason`). **our wording**

/// No face in the frame.
pub const PHOTO_NO_FACE: Prompt = prompt(
    "未检测到人脸，请正对摄像头。",
    "No face was found; please face the camera.",
);
/// More than one face in the frame.
pub const PHOTO_SEVERAL_FACES: Prompt = prompt(
    "检测到多张人脸，请确保画面中只有您本人。",
    "More than one face was found; please make sure only you are in view.",
);
/// The face is too small in the frame.
pub const PHOTO_FACE_TOO_SMALL: Prompt = prompt(
    "人脸过小，请靠近摄像头。",
    "Your face is too small in the picture; please come closer to the camera.",
);
/// The head is turned or tilted.
pub const PHOTO_HEAD_TURNED: Prompt = prompt(
    "请正对摄像头，不要转头或歪头。",
    "Please look straight at the camera without turning or tilting your head.",
);
/// The photo is blurred.
pub const PHOTO_BLURRED: Prompt = prompt(
    "照片模糊，请保持不动。",
    "The photo is blurred; please hold still.",
);
/// The light is too dark.
pub const PHOTO_TOO_DARK: Prompt = prompt(
    "光线过暗，请调整位置或联系工作人员。",
    "The light is too dark; please adjust your position or contact the staff.",
);
/// The light is too bright.
pub const PHOTO_TOO_BRIGHT: Prompt = prompt(
    "光线过亮，请调整位置或联系工作人员。",
    "The light is too bright; please adjust your position or contact the staff.",
);
/// The eyes are closed or covered.
pub const PHOTO_EYES_NOT_VISIBLE: Prompt = prompt(
    "请睁开双眼，并摘下眼镜、帽子等遮挡物。",
    "Please open your eyes and remove glasses, hats or anything covering your face.",
);
/// The camera's picture could not be decoded.
pub const PHOTO_NOT_AN_IMAGE: Prompt = prompt(
    "无法读取照片，请重新拍摄。",
    "The photo cannot be read; please take it again.",
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

/// Step 9: why a press was poor: smudged. **our wording**
pub const PRESS_SMUDGED: Prompt = prompt(
    "指纹模糊，请擦干净手指，按压时不要移动。",
    "The print was smudged; wipe your finger and keep it still.",
);
/// Step 9: why a press was poor: only part of the finger. **our wording**
pub const PRESS_PARTIAL: Prompt = prompt(
    "只采集到部分指纹，请将手指放在采集器中央。",
    "Only part of the finger was read; place it in the middle of the sensor.",
);
/// Step 9: why a press was poor: too light. **our wording**
pub const PRESS_TOO_LIGHT: Prompt = prompt(
    "按压太轻，请稍用力按压。",
    "The press was too light; press a little harder.",
);

// Step 9: the fingers' names, for `{finger}` and the printed form (`session::Finger::prompt`).

/// 右手拇指.
pub const FINGER_RIGHT_THUMB: Prompt = prompt("右手拇指", "right thumb");
/// 右手食指.
pub const FINGER_RIGHT_INDEX: Prompt = prompt("右手食指", "right index finger");
/// 右手中指.
pub const FINGER_RIGHT_MIDDLE: Prompt = prompt("右手中指", "right middle finger");
/// 右手环指.
pub const FINGER_RIGHT_RING: Prompt = prompt("右手环指", "right ring finger");
/// 右手小指.
pub const FINGER_RIGHT_LITTLE: Prompt = prompt("右手小指", "right little finger");
/// 左手拇指.
pub const FINGER_LEFT_THUMB: Prompt = prompt("左手拇指", "left thumb");
/// 左手食指.
pub const FINGER_LEFT_INDEX: Prompt = prompt("左手食指", "left index finger");
/// 左手中指.
pub const FINGER_LEFT_MIDDLE: Prompt = prompt("左手中指", "left middle finger");
/// 左手环指.
pub const FINGER_LEFT_RING: Prompt = prompt("左手环指", "left ring finger");
/// 左手小指.
pub const FINGER_LEFT_LITTLE: Prompt = prompt("左手小指", "left little finger");

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

/// A payment attempt was declined. **our wording**
pub const PAYMENT_DECLINED: Prompt = prompt(
    "支付未成功，请重试或选择其他支付方式。",
    "The payment did not go through; please try again or choose another method.",
);
/// A payment attempt expired. **our wording**
pub const PAYMENT_EXPIRED: Prompt = prompt(
    "支付已超时，请重试或选择其他支付方式。",
    "The payment timed out; please try again or choose another method.",
);
/// Referral after the allowed payment attempts. **our wording**
pub const PAYMENT_REFERRED: Prompt = prompt(
    "支付未成功，请联系工作人员。",
    "The payment did not go through; please contact the staff.",
);

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

/// The center or a device did not answer. **our wording**
pub const SERVICE_UNAVAILABLE: Prompt = prompt(
    "系统暂时无法办理，请联系工作人员。",
    "The service is unavailable at the moment; please contact the staff.",
);
/// The citizen ended the session. **our wording**
pub const CANCELLED: Prompt = prompt("已取消办理。", "The application was cancelled.");
/// Step 12 done. **our wording**
pub const FINISHED: Prompt = prompt(
    "办理完成，请取走居民身份证领取凭证、申领登记表和缴费通知。",
    "Done. Please take your Collection Certificate, the registration form and the payment notice.",
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

/// Every prompt of this module (not [`STEP_TITLES`] nor [`screen`]), in the order defined, for
/// checks that apply to all of them (and for translators).
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
    ID_FIRST_GENERATION,
    ID_LENGTH,
    ID_CHARACTERS,
    ID_REGION,
    ID_BIRTH_DATE,
    ID_CHECK_DIGIT,
    FIRST_APPLICATION,
    PORTRAIT_FORM_PRINTED,
    OUT_OF_SCOPE,
    IN_SCOPE,
    UNDER_16,
    NOT_IN_RENEWAL_WINDOW,
    NOT_REGISTERED_IN_CITY,
    PHOTO_RECEIPT_NOT_FOUND,
    PHOTO_RECEIPT_USED,
    PHOTO_RECEIPT_EXPIRED,
    PHOTO_RECEIPT_OTHER_PERSON,
    RECEIPT_REFERRED,
    PHOTO_REVIEW,
    PHOTO_RETAKES_USED,
    USE_PHOTO,
    RETAKE_PHOTO,
    REVIEW_PHOTO_ALT,
    FACE_COMPARISON_FAILED,
    PHOTO_UNUSABLE,
    PHOTO_REFERRED,
    PHOTO_NO_FACE,
    PHOTO_SEVERAL_FACES,
    PHOTO_FACE_TOO_SMALL,
    PHOTO_HEAD_TURNED,
    PHOTO_BLURRED,
    PHOTO_TOO_DARK,
    PHOTO_TOO_BRIGHT,
    PHOTO_EYES_NOT_VISIBLE,
    PHOTO_NOT_AN_IMAGE,
    MOBILE_INVALID,
    MOBILE_MISMATCH,
    FINGERPRINT_FAILED,
    FINGERPRINT_POOR_PRESS,
    PLACE_FINGER_OF_TWO,
    PRESS_SMUDGED,
    PRESS_PARTIAL,
    PRESS_TOO_LIGHT,
    FINGER_RIGHT_THUMB,
    FINGER_RIGHT_INDEX,
    FINGER_RIGHT_MIDDLE,
    FINGER_RIGHT_RING,
    FINGER_RIGHT_LITTLE,
    FINGER_LEFT_THUMB,
    FINGER_LEFT_INDEX,
    FINGER_LEFT_MIDDLE,
    FINGER_LEFT_RING,
    FINGER_LEFT_LITTLE,
    PAYMENT_WECHAT,
    PAYMENT_UNIONPAY,
    PAYMENT_DECLINED,
    PAYMENT_EXPIRED,
    PAYMENT_REFERRED,
    COLLECTION_CERTIFICATE,
    PRINT_FAILED,
    OUT_OF_SERVICE,
    SERVICE_UNAVAILABLE,
    CANCELLED,
    FINISHED,
    END_SESSION_QUESTION,
    WRONG_HOUSEHOLD_CHOICE,
    PAID_NOT_PRINTED,
    TAKE_OLD_CARD,
    TAKE_BANK_CARD,
    INACTIVITY,
    VIDEO_AND_LEGAL_NOTICE,
    LIVENESS_RETAKE,
    LIVENESS_REFERRED,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `Prompt` under `domain::prompts`: the constants, the step titles, and what the
    /// functions give for every input they know.
    fn every_prompt() -> Vec<Prompt> {
        let mut all: Vec<Prompt> = ALL
            .iter()
            .chain(&STEP_TITLES)
            .chain(screen::ALL)
            .copied()
            .collect();
        all.extend(
            [
                crate::rules::NewCardValidity::TenYears,
                crate::rules::NewCardValidity::TwentyYears,
                crate::rules::NewCardValidity::LongTerm,
            ]
            .map(screen::validity),
        );
        all
    }

    #[test]
    fn every_prompt_has_both_languages() {
        for prompt in every_prompt() {
            assert!(
                !prompt.zh.trim().is_empty() && !prompt.en.trim().is_empty(),
                "{prompt:?}"
            );
            assert!(!prompt.zh.is_ascii(), "Chinese first: {prompt:?}");
            assert!(prompt.en.is_ascii(), "English second: {prompt:?}");
        }
    }

    #[test]
    fn every_constant_is_listed_and_no_text_is_typed_twice() {
        let source = concat!(include_str!("mod.rs"), include_str!("screen.rs"));
        let consts = source
            .lines()
            .filter(|line| line.starts_with("pub const ") && line.contains(": Prompt "))
            .count();
        assert_eq!(
            consts,
            ALL.len() + screen::ALL.len(),
            "a constant missing from ALL"
        );
        // The step titles are a list of their own: step 3's title is also step 4's caption.
        let consts: Vec<Prompt> = ALL.iter().chain(screen::ALL).copied().collect();
        for (i, prompt) in consts.iter().enumerate() {
            assert!(!consts[..i].contains(prompt), "defined twice: {prompt:?}");
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
