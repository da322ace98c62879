//! The touchscreen's own texts: button labels, instructions and captions that the product's rules
//! do not give and the session does not choose (all listed in docs/domain.md section 11).
//! **our wording**, all of it; Chinese first, English second, like every [`Prompt`]. Texts the
//! rules give, and the session's own prompts, are in [`crate::prompts`] and never retyped here.

use super::Prompt;
use crate::rules::NewCardValidity;
use crate::session::Finger;

const fn label(zh: &'static str, en: &'static str) -> Prompt {
    Prompt { zh, en }
}

// Buttons.

/// The voice prompts toggle on the start screen.
pub const VOICE_PROMPTS: Prompt = label("语音提示", "Voice prompts");
/// The toggle's state when on.
pub const VOICE_ON: Prompt = label("已开启", "On");
/// The toggle's state when off.
pub const VOICE_OFF: Prompt = label("已关闭", "Off");
/// The voice toggle when the kiosk has no speech engine: says so rather than pretend.
pub const VOICE_UNAVAILABLE: Prompt = label("暂不可用", "Unavailable on this kiosk");
/// The large-type toggle on the start screen.
pub const LARGE_TYPE: Prompt = label("大字模式", "Large type");
/// Step 1: the first-time applicant's button (with the form's name from `prompts`).
pub const FIRST_TIME_APPLICANT: Prompt = label("首次申领", "First-time applicant");
/// Step 3: the button that prints the portrait collection form.
pub const PRINT_PORTRAIT_FORM: Prompt =
    label("打印人像采集表", "Print the portrait collection form");
/// Confirm what is shown or typed.
pub const CONFIRM: Prompt = label("确认", "Confirm");
/// Go on to the next step.
pub const CONTINUE: Prompt = label("继续办理", "Continue");
/// Back to the previous step.
pub const BACK: Prompt = label("返回上一步", "Back");
/// End the session.
pub const CANCEL: Prompt = label("结束办理", "End the session");
/// Back to the start after a result screen.
pub const BACK_TO_START: Prompt = label("返回首页", "Back to the start");
/// Keypad: delete the last character.
pub const KEY_DELETE: Prompt = label("删除", "Delete");
/// Keypad: clear the field.
pub const KEY_CLEAR: Prompt = label("清空", "Clear");
/// Step 7: take the photo.
pub const TAKE_PHOTO: Prompt = label("拍照", "Take photo");
/// Step 10: wipe the signature canvas.
pub const CLEAR_SIGNATURE: Prompt = label("重新签名", "Clear and sign again");
/// Wrong household: choose the household again.
pub const CHOOSE_HOUSEHOLD_AGAIN: Prompt = label("重新选择户籍类型", "Choose the household again");
/// Wrong household: go to the staff.
pub const CONTACT_STAFF: Prompt = label("联系工作人员", "Contact the staff");

// Instructions.

/// Step 1.
pub const CHOOSE_BUSINESS: Prompt = label("请选择您要办理的业务", "Please choose your application");
/// Step 2.
pub const CHOOSE_HOUSEHOLD: Prompt = label(
    "请选择您的户籍类型",
    "Please choose your household registration",
);
/// Step 3, keypad.
pub const ENTER_ID_NUMBER: Prompt = label(
    "请使用屏幕键盘输入您的居民身份证号码",
    "Please enter your ID number on the on-screen keypad",
);
/// Step 3, first-time applicant's keypad.
pub const ENTER_ID_NUMBER_FOR_FORM: Prompt = label(
    "请输入身份证号码，打印人像采集表后到照相馆拍照",
    "Enter your ID number to print the portrait collection form for the photo studio",
);
/// Step 3, renewal.
pub const PLACE_CARD: Prompt = label(
    "请将居民身份证放在读卡区",
    "Please place your ID card on the card reader",
);
/// Step 4.
pub const CHECK_DETAILS: Prompt = label("请核对以下信息", "Please check the details below");
/// Step 4: the ID number caption.
pub const ID_NUMBER: Prompt = label("身份证号码", "ID number");
/// Step 4: the name caption.
pub const NAME: Prompt = label("姓名", "Name");
/// Step 5: the fee caption.
pub const FEE: Prompt = label("工本费", "Card fee");
/// Step 5: the validity caption.
pub const VALIDITY: Prompt = label("新证有效期限", "Validity of the new card");
/// Step 5: the due date caption.
pub const ISSUE_BY: Prompt = label("最迟发证日期", "New card issued by");
/// Step 6.
pub const SCAN_RECEIPT: Prompt = label(
    "请将照片回执上的条形码对准扫描口",
    "Please hold the barcode of your photo receipt to the scanner",
);
/// Step 7.
pub const FACE_THE_CAMERA: Prompt = label(
    "请正对镜头，将面部置于椭圆框内",
    "Please face the camera and keep your face inside the oval",
);
/// Step 7 without a preview.
pub const NO_CAMERA_PREVIEW: Prompt = label("摄像头预览暂不可用", "Camera preview unavailable");
/// Step 8, first field.
pub const MOBILE_FIRST: Prompt = label("请输入手机号码", "Enter your mobile number");
/// Step 8, second field.
pub const MOBILE_SECOND: Prompt = label("请再次输入手机号码", "Enter it again");
/// Step 9.
pub const PLACE_FINGER: Prompt = label(
    "请按提示将手指平放在指纹采集器上",
    "Please place your finger flat on the fingerprint scanner as prompted",
);
/// Step 10.
pub const SIGN_HERE: Prompt = label("请在框内签名", "Please sign inside the box");
/// Step 11.
pub const CHOOSE_PAYMENT: Prompt = label("请选择缴费方式", "Please choose how to pay");
/// Step 11, WeChat.
pub const SCAN_QR_WITH_WECHAT: Prompt = label(
    "请使用微信扫描二维码完成支付",
    "Scan the QR code with WeChat to pay",
);
/// Step 11, WeChat, before the order's code arrived.
pub const QR_PENDING: Prompt = label(
    "正在生成支付二维码，请稍候",
    "Preparing the QR code, please wait",
);
/// Step 11, UnionPay.
pub const INSERT_UNIONPAY_CARD: Prompt = label(
    "请在刷卡机上插入或刷银联卡，并按提示输入密码",
    "Insert or swipe your UnionPay card on the terminal and follow its prompts",
);
/// Step 12: the application number caption.
pub const APPLICATION_NO: Prompt = label("受理编号", "Application number");
/// Step 12: the payment caption.
pub const PAID_WITH: Prompt = label("缴费方式", "Paid with");
/// Countdown: under the seconds.
pub const SECONDS_LEFT: Prompt = label("秒后返回首页", "seconds until the start screen");
/// The WeChat QR screen: the caption of the time left to pay.
pub const TIME_TO_PAY: Prompt = label("剩余支付时间（秒）", "Time left to pay (seconds)");
/// The WeChat QR screen: switch to the card terminal (the QR order is closed).
pub const USE_UNIONPAY_INSTEAD: Prompt = label("改用银联刷卡", "Use UnionPay instead");
/// "End the session?": yes.
pub const END_YES: Prompt = label("是，结束办理", "Yes, end the session");
/// "End the session?": no.
pub const END_NO: Prompt = label("否，继续办理", "No, carry on");
/// The wrong-household screen: the caption of the other household type's button.
pub const CHOOSE_INSTEAD: Prompt = label("改选为", "Choose instead");
/// The finished screen: the collection office.
pub const COLLECTION_OFFICE: Prompt = label("领证地点", "Collect your card at");
/// The finished screen: the office's address.
pub const ADDRESS: Prompt = label("地址", "Address");
/// The finished screen: the office's opening hours.
pub const OPENING_HOURS: Prompt = label("办公时间", "Opening hours");
/// The finished screen: the day the card is ready.
pub const READY_BY: Prompt = label("可领证日期（最迟）", "Ready by");
/// The finished screen: before the seconds until the start screen.
pub const RETURNS_IN: Prompt = label("返回首页倒计时（秒）", "Back to the start in (seconds)");
/// Countdown: the button that keeps the session.
pub const KEEP_GOING: Prompt = label("继续办理", "Continue my application");
/// The center could not be reached on the last call.
pub const CENTER_OFFLINE: Prompt = label(
    "网络连接异常，正在重试",
    "The connection to the service center is down; retrying",
);

// Waits.

/// Step 3: printing the portrait collection form.
pub const PRINTING_PORTRAIT_FORM: Prompt = label(
    "正在打印人像采集表，请稍候",
    "Printing the portrait collection form, please wait",
);
/// Step 4.
pub const CHECKING: Prompt = label("正在查询，请稍候", "Checking, please wait");
/// Step 6.
pub const FETCHING_PHOTO: Prompt = label(
    "正在获取照片信息，请稍候",
    "Fetching your photo, please wait",
);
/// Step 7.
pub const CAPTURING_PHOTO: Prompt = label(
    "正在拍照，请保持不动",
    "Taking the photo, please hold still",
);
/// Step 7.
pub const COMPARING_FACES: Prompt =
    label("正在进行人像比对，请稍候", "Comparing photos, please wait");
/// Step 12.
pub const PRINTING: Prompt = label("正在打印，请稍候", "Printing, please wait");

/// Step 9: the caption before the finger to place.
pub const PLACE_THIS_FINGER: Prompt = label("请放置", "Place your");

/// Step 9: a finger by its stable name (`right_thumb` … `left_little`, [`Finger::code`]); `None`
/// for a name we do not know, which the screen then leaves out rather than show raw.
pub fn finger(name: &str) -> Option<Prompt> {
    Finger::parse(name).map(Finger::prompt)
}

/// Every constant of this module, for checks that apply to all of them (and for translators).
pub const ALL: &[Prompt] = &[
    VOICE_PROMPTS,
    VOICE_ON,
    VOICE_OFF,
    VOICE_UNAVAILABLE,
    LARGE_TYPE,
    FIRST_TIME_APPLICANT,
    PRINT_PORTRAIT_FORM,
    CONFIRM,
    CONTINUE,
    BACK,
    CANCEL,
    BACK_TO_START,
    KEY_DELETE,
    KEY_CLEAR,
    TAKE_PHOTO,
    CLEAR_SIGNATURE,
    CHOOSE_HOUSEHOLD_AGAIN,
    CONTACT_STAFF,
    CHOOSE_BUSINESS,
    CHOOSE_HOUSEHOLD,
    ENTER_ID_NUMBER,
    ENTER_ID_NUMBER_FOR_FORM,
    PLACE_CARD,
    CHECK_DETAILS,
    ID_NUMBER,
    NAME,
    FEE,
    VALIDITY,
    ISSUE_BY,
    SCAN_RECEIPT,
    FACE_THE_CAMERA,
    NO_CAMERA_PREVIEW,
    MOBILE_FIRST,
    MOBILE_SECOND,
    PLACE_FINGER,
    SIGN_HERE,
    CHOOSE_PAYMENT,
    SCAN_QR_WITH_WECHAT,
    QR_PENDING,
    INSERT_UNIONPAY_CARD,
    APPLICATION_NO,
    PAID_WITH,
    SECONDS_LEFT,
    TIME_TO_PAY,
    USE_UNIONPAY_INSTEAD,
    END_YES,
    END_NO,
    CHOOSE_INSTEAD,
    COLLECTION_OFFICE,
    ADDRESS,
    OPENING_HOURS,
    READY_BY,
    RETURNS_IN,
    KEEP_GOING,
    CENTER_OFFLINE,
    PRINTING_PORTRAIT_FORM,
    CHECKING,
    FETCHING_PHOTO,
    CAPTURING_PHOTO,
    COMPARING_FACES,
    PRINTING,
    PLACE_THIS_FINGER,
];

/// The validity of the new card as the citizen reads it.
pub fn validity(validity: NewCardValidity) -> Prompt {
    match validity {
        NewCardValidity::TenYears => label("10年", "10 years"),
        NewCardValidity::TwentyYears => label("20年", "20 years"),
        NewCardValidity::LongTerm => label("长期", "Long-term"),
    }
}

/// A spoken option: "按1，到期换领" (the physical keypad's digit picks it).
pub fn press_for(number: usize, option: Prompt) -> String {
    format!("按{number}，{}", option.zh)
}

/// "Step n" in both languages.
pub fn step_number(step: u8) -> (String, String) {
    (format!("第{step}步"), format!("Step {step}"))
}

/// An amount in yuan in both languages.
pub fn yuan(amount: u32) -> (String, String) {
    (format!("{amount}元"), format!("CNY {amount}"))
}

/// A date in both languages: `2026年12月25日` and `2026-12-25`.
pub fn date(date: time::Date) -> (String, String) {
    (
        format!(
            "{}年{}月{}日",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finger_and_validity_has_a_name() {
        for finger in Finger::ALL {
            assert_eq!(self::finger(finger.code()), Some(finger.prompt()));
        }
        assert_eq!(self::finger("right_toe"), None);
        assert_eq!(validity(NewCardValidity::TenYears).zh, "10年");
        assert_eq!(validity(NewCardValidity::LongTerm).en, "Long-term");
    }

    #[test]
    fn formatted_texts() {
        assert_eq!(
            press_for(1, super::super::BUSINESS_EXPIRY_RENEWAL),
            "按1，到期换领"
        );
        assert_eq!(step_number(3), ("第3步".to_owned(), "Step 3".to_owned()));
        assert_eq!(yuan(20), ("20元".to_owned(), "CNY 20".to_owned()));
        let day = time::macros::date!(2026 - 12 - 05);
        assert_eq!(
            date(day),
            ("2026年12月5日".to_owned(), "2026-12-05".to_owned())
        );
    }
}
