//! Masking personal data for screens and logs (docs/domain.md section 2): the surname of a name
//! becomes `*`, the middle four digits of a mobile number too. ID numbers mask themselves
//! ([`crate::id::CitizenId::masked`]).

/// The common two-character (compound) surnames, masked as a whole.
pub const COMPOUND_SURNAMES: [&str; 16] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "端木",
];

/// The name with its surname replaced by `*` per character: 王小明 → `*小明`, 欧阳娜娜 → `**娜娜`.
///
/// A compound surname counts only when a given name follows it (three characters or more), so a
/// two-character name like 司马 is read as surname 司 and given name 马. Whitespace around the name
/// is dropped; an empty name stays empty.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let count = name.chars().count();
    let surname_len = if count >= 3
        && COMPOUND_SURNAMES
            .iter()
            .any(|surname| name.starts_with(surname))
    {
        2
    } else {
        1.min(count)
    };
    let mut masked = "*".repeat(surname_len);
    masked.extend(name.chars().skip(surname_len));
    masked
}

/// A mobile number for a log line: 13800138000 → `138****8000`. Anything other than 11
/// characters (a number not yet parsed) keeps only its last four, `*` for the rest.
pub fn mask_mobile(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    if chars.len() == 11 {
        let mut masked: String = chars[..3].iter().collect();
        masked.push_str("****");
        masked.extend(&chars[7..]);
        return masked;
    }
    let keep = chars.len().saturating_sub(7).min(4);
    let mut masked = "*".repeat(chars.len() - keep);
    masked.extend(&chars[chars.len() - keep..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert_eq!(mask_mobile("13800138000"), "138****8000");
        assert_eq!(mask_mobile(" 19912345678 "), "199****5678");
        assert_eq!(mask_mobile("+8613800138000"), "**********8000");
        assert_eq!(mask_mobile("1380013"), "*******");
        assert_eq!(mask_mobile("13800138"), "*******8");
        assert_eq!(mask_mobile(""), "");
    }

    fn check(name: &str, expected: &str) {
        assert_eq!(mask_name(name), expected, "{name}");
    }

    #[test]
    fn surnames() {
        check("王小明", "*小明");
        check("欧阳娜娜", "**娜娜");
        check("司马光", "**光");
        check("端木蓉", "**蓉");
        check("李四", "*四");
        check("司马", "*马");
        check("王", "*");
        check("", "");
        check(" 张三 ", "*三");
        check("阿依古丽·买买提", "*依古丽·买买提");
    }

    #[test]
    fn every_compound_surname_is_two_characters() {
        assert!(COMPOUND_SURNAMES
            .iter()
            .all(|surname| surname.chars().count() == 2));
    }
}
