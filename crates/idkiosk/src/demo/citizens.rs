//! The fixed popsys demo citizens as the control panel offers them: a one-line description each,
//! the card the population system records for them, their receipt code and camera picture.

use devices::card_reader::CardJson;
use popsys::seed::demo;
use serde::Serialize;

/// One demo citizen in the panel's list.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCitizen {
    /// The ID number.
    pub id: String,
    /// The name on record.
    pub name: String,
    /// What the citizen shows in a session (one line).
    pub description: &'static str,
    /// Their photo studio receipt, if they have one.
    pub receipt: Option<String>,
    /// Whether the camera has a picture of them (the demo faces are installed).
    pub camera_picture: bool,
}

/// What each fixed citizen is for (see `docs/popsys.md`).
const DESCRIPTIONS: [(&str, &str); 10] = [
    (
        demo::RENEWAL_IN_WINDOW,
        "local, card expires 2026-12-20: expiry renewal in its window; receipt PS2026112500001; face matches",
    ),
    (
        demo::UNDER_16,
        "born 2011-06-01, no card on record: under 16, referred to the window",
    ),
    (
        demo::PROVINCE_NOT_REGISTERED,
        "household 张家港 (province), not in 南京's residence registry: referred",
    ),
    (
        demo::PROVINCE_REGISTERED_REMOTE,
        "household 沛县 (province, remote), registered in 南京: accepted; the camera shows someone else (face mismatch)",
    ),
    (
        demo::LONG_TERM,
        "born 1963, long-term card; receipt PS2026110100001 already used",
    ),
    (
        demo::OUTSIDE_PROVINCE,
        "household 合肥 (outside the province): referred",
    ),
    (
        demo::NO_HISTORY_PHOTO,
        "no historical ID photo; receipt PS2026050100001 expired",
    ),
    (
        demo::EXPIRED_LONG_AGO,
        "card expired 2010-06-01 (long ago)",
    ),
    (
        demo::APPLICATION_IN_PROGRESS,
        "card reported lost, a replacement already in production",
    ),
    (demo::DECEASED, "deceased on record: referred"),
];

/// The fixed demo citizens, in the order of [`DESCRIPTIONS`].
pub fn list() -> Vec<DemoCitizen> {
    let bundles = popsys::seed::fixed_citizens();
    DESCRIPTIONS
        .iter()
        .map(|(id, description)| {
            let bundle = bundles.iter().find(|b| b.citizen.id.as_str() == *id);
            DemoCitizen {
                id: (*id).to_owned(),
                name: bundle.map(|b| b.citizen.name.clone()).unwrap_or_default(),
                description,
                receipt: bundle
                    .and_then(|b| b.receipts.first())
                    .map(|r| r.code.as_str().to_owned()),
                camera_picture: demo::camera_image(id).is_some(),
            }
        })
        .collect()
}

/// The receipt codes the panel offers, with what each one does.
pub fn receipts() -> Vec<(&'static str, &'static str)> {
    vec![
        (demo::RECEIPT, "王晓燕's, unused: accepted"),
        (demo::RECEIPT_USED, "赵桂兰's, already used"),
        (demo::RECEIPT_EXPIRED, "周强's, made 2026-05-01: expired"),
        ("PS2099010100001", "unknown to the population system"),
    ]
}

/// The card of a fixed popsys demo citizen as the population system records it (the same card
/// `idkiosk sim card-reader --citizen` places), so the card and the register agree; `None` for
/// other numbers and for citizens without a card.
pub fn card(id: &str) -> Option<CardJson> {
    let bundle = popsys::seed::fixed_citizens()
        .into_iter()
        .find(|bundle| bundle.citizen.id.as_str() == id.trim().to_uppercase())?;
    let card = bundle.card?;
    let citizen = bundle.citizen;
    let iso = |date: time::Date| {
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    };
    Some(CardJson {
        id: citizen.id.as_str().to_owned(),
        name: citizen.name,
        sex: citizen.sex.as_str().to_owned(),
        // The fixed citizens' nation code is 01 (汉).
        nation: "汉".to_owned(),
        birth_date: iso(citizen.birth_date),
        address: citizen.address.chars().take(35).collect(),
        authority: card.issuing_authority.chars().take(15).collect(),
        valid_from: iso(card.valid_from),
        valid_until: match card.valid_until {
            domain::rules::CardExpiry::On(date) => iso(date),
            domain::rules::CardExpiry::LongTerm => "长期".to_owned(),
        },
        photo_jpeg_base64: None,
        fingerprint_bytes: 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_citizen_is_described_and_has_a_name() {
        let listed = list();
        assert_eq!(listed.len(), popsys::seed::fixed_citizens().len());
        assert!(listed.iter().all(|c| !c.name.is_empty()));
        assert_eq!(listed[0].receipt.as_deref(), Some(demo::RECEIPT));
        assert!(card(demo::UNDER_16).is_none());
        assert_eq!(card(demo::RENEWAL_IN_WINDOW).unwrap().name, "王晓燕");
    }
}
