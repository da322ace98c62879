//! Demo cards derived from a citizen ID number alone, for the simulator's `--citizen`: the number,
//! sex and birth date come from the number; region-based address and issuing authority; a name
//! drawn deterministically from the number; validity as the card law gives it at each renewal.
//! (The popsys demo citizens, with their real names and addresses, plug in later.)

use domain::rules::{add_months_clamped, age_on, NewCardValidity};
use domain::{CitizenId, Sex};
use time::{Date, Duration};

use super::CardJson;
use crate::images::seed_of;

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋",
];
const GIVEN_FEMALE: [&str; 16] = [
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "婷", "雪", "琳", "晓燕", "玉兰",
    "佳怡", "欣怡",
];
const GIVEN_MALE: [&str; 16] = [
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "建国", "志强", "浩然", "子轩",
    "俊杰", "文博",
];
const STREETS: [&str; 8] = [
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平街",
    "新华路",
    "长江路",
    "朝阳街",
];

/// The card a citizen with this number would carry on `today`: issued 10 days after the 16th
/// birthday and renewed at each expiry (10 years from 16, 20 from 26, long-term from 46); under
/// 16, a 5-year card.
pub fn citizen_card(id: &CitizenId, today: Date) -> CardJson {
    let seed = seed_of(id.as_str());
    let pick = |list: &[&'static str], salt: u64| -> &'static str {
        let i = ((seed >> salt) % list.len() as u64) as usize;
        list.get(i).copied().unwrap_or("")
    };
    let given = match id.sex() {
        Sex::Male => pick(&GIVEN_MALE, 8),
        Sex::Female => pick(&GIVEN_FEMALE, 8),
    };
    let name = format!("{}{}", pick(&SURNAMES, 0), given);
    let region = id.region();
    let address = format!(
        "{}{}{}号",
        region.full_name,
        pick(&STREETS, 16),
        (seed >> 24) % 300 + 1
    );
    let (valid_from, valid_until) = validity(id.birth_date(), today);
    CardJson {
        id: id.as_str().to_owned(),
        name,
        sex: id.sex().as_str().to_owned(),
        nation: "汉".to_owned(),
        birth_date: iso(id.birth_date()),
        address: truncate(&address, 35),
        authority: truncate(&authority(id), 15),
        valid_from: iso(valid_from),
        valid_until: valid_until.map_or_else(|| "长期".to_owned(), iso),
        photo_jpeg_base64: None,
        fingerprint_bytes: 1024,
    }
}

fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// 南京市公安局秦淮分局 for a district, 某县公安局 for a county.
fn authority(id: &CitizenId) -> String {
    let region = id.region();
    let prefecture_code = format!("{}00", &id.region_code()[..4]);
    let city = domain::region::lookup(&prefecture_code)
        .map(|r| r.name)
        .filter(|name| !name.contains("辖") && !name.is_empty())
        .unwrap_or(region.province);
    match region.name.strip_suffix('区') {
        Some(district) if !district.is_empty() => format!("{city}公安局{district}分局"),
        _ if region.name == city => format!("{city}公安局"),
        _ => format!("{}公安局", region.name),
    }
}

/// The current card's validity; `None` is long-term.
fn validity(birth: Date, today: Date) -> (Date, Option<Date>) {
    let sixteen = add_months_clamped(birth, 16 * 12) + Duration::days(10);
    if sixteen > today {
        // A child's 5-year card, issued on the last multiple of five years.
        let age = age_on(birth, today);
        let issued = add_months_clamped(birth, i32::try_from(age - age % 5).unwrap_or(0) * 12)
            + Duration::days(10);
        let issued = issued.min(today);
        return (issued, Some(add_months_clamped(issued, 60)));
    }
    let mut issued = sixteen;
    loop {
        let months = match NewCardValidity::for_age(age_on(birth, issued)) {
            Some(NewCardValidity::TenYears) | None => 120,
            Some(NewCardValidity::TwentyYears) => 240,
            Some(NewCardValidity::LongTerm) => return (issued, None),
        };
        let until = add_months_clamped(issued, months);
        if until >= today {
            return (issued, Some(until));
        }
        issued = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn card(id: &str, today: Date) -> CardJson {
        let id = CitizenId::parse(id, today).expect("a valid test number");
        citizen_card(&id, today)
    }

    #[test]
    fn the_demo_citizen_carries_the_card_of_the_decision_table() {
        // docs/domain.md 3.6: 320104200012100044, card valid until 2026-12-20.
        let c = card("320104200012100044", date!(2026 - 11 - 25));
        assert_eq!(c.valid_from, "2016-12-20");
        assert_eq!(c.valid_until, "2026-12-20");
        assert_eq!(c.sex, "female");
        assert_eq!(c.birth_date, "2000-12-10");
        assert_eq!(c.authority, "南京市公安局秦淮分局");
        assert!(c.address.starts_with("江苏省南京市秦淮区"), "{}", c.address);
        assert!(c.to_card().is_ok());
    }

    #[test]
    fn renewals_follow_the_card_law() {
        // Born 1963: 16 in 1979 (10 y), 26 in 1989 (20 y), 46 in 2009: long-term.
        let c = card("320106196307084567", date!(2026 - 11 - 25));
        assert_eq!(c.valid_until, "长期");
        assert_eq!(c.valid_from, "2009-07-18");
        // A child.
        let c = card("32011120110601003X", date!(2026 - 11 - 25));
        assert_eq!(c.valid_from, "2026-06-11");
        assert_eq!(c.valid_until, "2031-06-11");
    }
}
