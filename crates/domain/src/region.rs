//! Administrative division codes (GB/T 2260): which six-digit codes were ever in use and what they
//! are called, from a table embedded at build time (`data/regions.csv`, see `build.rs`).

use serde::Serialize;

/// The level of an administrative division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// Province, autonomous region, municipality or SAR (省级).
    Province,
    /// Prefecture-level city, prefecture or league (地级).
    Prefecture,
    /// County-level division (县级).
    County,
}

/// One code of the table, under the name of its most recent period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Region {
    /// Six digits.
    pub code: &'static str,
    /// The short name (朝阳区).
    pub name: &'static str,
    /// The name a citizen reads: province, prefecture and county together (北京市朝阳区).
    pub full_name: &'static str,
    /// The province-level name (北京市).
    pub province: &'static str,
    /// The level of the division.
    pub level: RegionLevel,
    /// First year the code was in use.
    pub in_use_from: u16,
    /// Year the code was withdrawn (exclusive); `None` while still in use.
    pub in_use_until: Option<u16>,
}

impl Region {
    /// Whether the code is still in use today (it stays valid on ID numbers either way).
    pub fn is_current(&self) -> bool {
        self.in_use_until.is_none()
    }
}

include!(concat!(env!("OUT_DIR"), "/regions_table.rs"));

/// Every code ever in use since 1980, sorted by code.
pub fn all() -> &'static [Region] {
    REGIONS
}

/// The region for a six-digit code that was in use at any time, or `None`.
pub fn lookup(code: &str) -> Option<&'static Region> {
    REGIONS
        .binary_search_by(|region| region.code.cmp(code))
        .ok()
        .and_then(|index| REGIONS.get(index))
}

/// Why a kiosk city code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KioskCityError {
    /// Not six ASCII digits.
    #[error("a city code is six digits, found {0:?}")]
    Format(String),
    /// A province code (`xx0000`) or a county code (not ending in `00`).
    #[error("{0} is not a city-level code (six digits ending in 00, not 0000)")]
    NotCityLevel(String),
    /// No such code in GB/T 2260.
    #[error("{0} is not a region code in use")]
    Unknown(String),
}

/// The city a kiosk stands in (地级市, a code ending in `00`, e.g. `320100` 南京市); its province
/// is the first two digits.
///
/// **choice**: the four municipalities (北京, 天津, 上海, 重庆) have no city-level row in the table,
/// so `xx0100` and `xx0200` of those are accepted too and the whole municipality counts as the city.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct KioskCity {
    code: String,
}

/// Province-level cities, where the city is the province.
const MUNICIPALITIES: [&str; 4] = ["11", "12", "31", "50"];

impl KioskCity {
    /// Accepts a six-digit code ending in `00`, not `0000`, that is in the table (or a
    /// municipality's `xx0100`/`xx0200`).
    pub fn parse(code: &str) -> Result<KioskCity, KioskCityError> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KioskCityError::Format(code.to_owned()));
        }
        if !code.ends_with("00") || code.ends_with("0000") {
            return Err(KioskCityError::NotCityLevel(code.to_owned()));
        }
        let municipality =
            MUNICIPALITIES.contains(&&code[..2]) && matches!(&code[2..], "0100" | "0200");
        if lookup(code).is_none() && !municipality {
            return Err(KioskCityError::Unknown(code.to_owned()));
        }
        Ok(KioskCity {
            code: code.to_owned(),
        })
    }

    /// The six-digit code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The first two digits, shared by every code of the province.
    pub fn province_prefix(&self) -> &str {
        &self.code[..2]
    }

    /// The digits a household region must share to be in this city: four, or two for a
    /// municipality.
    pub fn city_prefix(&self) -> &str {
        if self.is_municipality() {
            &self.code[..2]
        } else {
            &self.code[..4]
        }
    }

    /// Whether the city is one of the four province-level municipalities.
    pub fn is_municipality(&self) -> bool {
        MUNICIPALITIES.contains(&self.province_prefix())
    }

    /// Whether a household register region (six digits) lies in this city.
    pub fn contains(&self, household_region: &str) -> bool {
        household_region.starts_with(self.city_prefix())
    }

    /// Whether a household register region (six digits) lies in this city's province.
    pub fn same_province(&self, household_region: &str) -> bool {
        household_region.starts_with(self.province_prefix())
    }

    /// The city's name (江苏省南京市), or the municipality's (北京市).
    pub fn full_name(&self) -> &'static str {
        lookup(&self.code)
            .or_else(|| lookup(&format!("{}0000", self.province_prefix())))
            .map_or("", |region| region.full_name)
    }
}

impl From<KioskCity> for String {
    fn from(city: KioskCity) -> String {
        city.code
    }
}

impl std::fmt::Display for KioskCity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_name(code: &str) -> Option<&'static str> {
        lookup(code).map(|region| region.full_name)
    }

    #[test]
    fn names_follow_the_level() {
        assert_eq!(full_name("110000"), Some("北京市"));
        assert_eq!(full_name("320100"), Some("江苏省南京市"));
        assert_eq!(full_name("110105"), Some("北京市朝阳区"));
        assert_eq!(full_name("320104"), Some("江苏省南京市秦淮区"));
        assert_eq!(full_name("419001"), Some("河南省济源市"));
    }

    #[test]
    fn abolished_codes_stay_valid_under_their_old_name() {
        let region = lookup("110103").expect("110103 was in use 1981-2010");
        assert_eq!(region.full_name, "北京市崇文区");
        assert!(!region.is_current());
        assert_eq!(region.in_use_until, Some(2010));
    }

    #[test]
    fn a_code_in_several_rows_shows_its_most_recent_name() {
        // 340104 was 西市区 1983-2002, then 蜀山区.
        let region = lookup("340104").expect("in use");
        assert_eq!(region.full_name, "安徽省合肥市蜀山区");
        assert_eq!(region.in_use_from, 1983);
        assert!(region.is_current());
    }

    #[test]
    fn unknown_codes_are_none() {
        for code in ["000000", "110100", "999999", "11010", "1101050", ""] {
            assert_eq!(lookup(code), None, "{code}");
        }
    }

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(all().windows(2).all(|pair| pair[0].code < pair[1].code));
        assert!(all().len() > 6000);
    }

    #[test]
    fn kiosk_city_parse() {
        let nanjing = KioskCity::parse("320100").expect("南京市");
        assert_eq!(nanjing.code(), "320100");
        assert_eq!(nanjing.province_prefix(), "32");
        assert_eq!(nanjing.full_name(), "江苏省南京市");
        assert!(nanjing.contains("320104"));
        assert!(!nanjing.contains("320582"));
        assert!(nanjing.same_province("320582"));
        assert!(!nanjing.same_province("340104"));

        let beijing = KioskCity::parse("110100").expect("municipality");
        assert!(beijing.contains("110105"));
        assert_eq!(beijing.full_name(), "北京市");

        assert!(matches!(
            KioskCity::parse("320000"),
            Err(KioskCityError::NotCityLevel(_))
        ));
        assert!(matches!(
            KioskCity::parse("320104"),
            Err(KioskCityError::NotCityLevel(_))
        ));
        assert!(matches!(
            KioskCity::parse("329900"),
            Err(KioskCityError::Unknown(_))
        ));
        assert!(matches!(
            KioskCity::parse("32010"),
            Err(KioskCityError::Format(_))
        ));
        assert!(matches!(
            KioskCity::parse("３２０１００"),
            Err(KioskCityError::Format(_))
        ));
    }
}
