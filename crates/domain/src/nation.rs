//! The 56 nation (民族) names of GB 3304, by code: one table for the card reader's text block and
//! the printed documents.

const NATIONS: [&str; 56] = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

/// The name of nation `code` (1 is 汉), `None` outside 1..=56.
pub fn nation_name(code: u8) -> Option<&'static str> {
    NATIONS.get(usize::from(code).checked_sub(1)?).copied()
}

/// The code of a nation name (`汉` or `汉族`).
pub fn nation_code(name: &str) -> Option<u8> {
    let name = name.strip_suffix('族').unwrap_or(name);
    NATIONS
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_agree() {
        assert_eq!(nation_name(1), Some("汉"));
        assert_eq!(nation_name(56), Some("基诺"));
        assert_eq!(nation_name(0), None);
        assert_eq!(nation_name(57), None);
        assert_eq!(nation_code("汉族"), Some(1));
        assert_eq!(nation_code("基诺"), Some(56));
        for code in 1..=56 {
            assert_eq!(nation_name(code).and_then(nation_code), Some(code));
        }
    }
}
