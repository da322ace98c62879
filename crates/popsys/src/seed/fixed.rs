//! The fixed, well-known demo citizens: every seeded database has them, whatever the seed, so the
//! demo, the docs and the tests can name them. Their dates are chosen for the reference date
//! 2026-11-25 of the decision table in docs/domain.md 3.6 (run the demo with
//! `IDKIOSK_TODAY=2026-11-25` to see the outcomes listed in `docs/popsys.md` on another day).

use domain::id::CitizenId;
use domain::rules::{CardExpiry, RecordStatus};
use store::{
    ApplicationStatus, CardStatus, Citizen, CitizenBundle, HistoryPhoto, IdCard, NewReceipt,
    PopulationApplication, ReceiptCode, ResidenceRegistration,
};
use time::macros::date;
use time::Date;

/// The ID numbers and receipt codes of the fixed demo citizens.
pub mod demo {
    /// 王晓燕, 秦淮区, card valid until 2026-12-20: a local expiry renewal in its window.
    pub const RENEWAL_IN_WINDOW: &str = "320104200012100044";
    /// 张子轩, 浦口区, born 2011-06-01: under 16.
    pub const UNDER_16: &str = "32011120110601003X";
    /// 陈建国, household 张家港市 (province), not in 南京's residence registry.
    pub const PROVINCE_NOT_REGISTERED: &str = "320582198804160054";
    /// 刘海波, household 沛县 (province, remote area), registered in 南京 until 2027-12-31.
    pub const PROVINCE_REGISTERED_REMOTE: &str = "320322199203150034";
    /// 赵桂兰, 鼓楼区, born 1963: a long-term card.
    pub const LONG_TERM: &str = "320106196307084567";
    /// 孙丽, household 合肥市蜀山区: outside the province.
    pub const OUTSIDE_PROVINCE: &str = "340104198209110063";
    /// 周强, 栖霞区: no historical ID photo.
    pub const NO_HISTORY_PHOTO: &str = "320113197001020075";
    /// 吴志明, 玄武区: card expired on 2010-06-01.
    pub const EXPIRED_LONG_AGO: &str = "320102197505060012";
    /// 欧阳娜娜, 建邺区: card reported lost, a replacement in production.
    pub const APPLICATION_IN_PROGRESS: &str = "320105199508080025";
    /// 郑国华, 雨花台区: deceased.
    pub const DECEASED: &str = "320114194003030018";
    /// Receipt of [`RENEWAL_IN_WINDOW`], made 2026-11-25, unused.
    pub const RECEIPT: &str = "PS2026112500001";
    /// Receipt of [`LONG_TERM`], made 2026-11-01, used 2026-11-02.
    pub const RECEIPT_USED: &str = "PS2026110100001";
    /// Receipt of [`NO_HISTORY_PHOTO`], made 2026-05-01: expired after 2026-10-28.
    pub const RECEIPT_EXPIRED: &str = "PS2026050100001";

    pub use crate::seed::faces::{
        attach_faces, blank_photo, camera_frame, camera_frame_in, camera_image, camera_image_in,
        camera_jpeg, certified_photo, faces_dir, historical_photo, plan, studio_photo,
        DemoFacePlan, Expect, FacesError, PLANS,
    };
}

struct Fixed {
    id: &'static str,
    name: &'static str,
    household_region: &'static str,
    address: &'static str,
    card: Option<(Date, CardExpiry, CardStatus, &'static str)>,
    history_photo: bool,
}

fn bundle(fixed: Fixed) -> CitizenBundle {
    let id = CitizenId::parse(fixed.id, date!(2026 - 11 - 25))
        .unwrap_or_else(|err| panic!("fixed demo number {} is invalid: {err}", fixed.id));
    let mut bundle = CitizenBundle::new(Citizen {
        name: fixed.name.to_owned(),
        sex: id.sex(),
        nation_code: "01".to_owned(),
        birth_date: id.birth_date(),
        address: fixed.address.to_owned(),
        household_region: fixed.household_region.to_owned(),
        status: RecordStatus::Normal,
        remote_area: false,
        id,
    });
    if let Some((valid_from, valid_until, status, authority)) = fixed.card {
        bundle.card = Some(IdCard {
            valid_from,
            valid_until,
            status,
            issuing_authority: authority.to_owned(),
        });
        if fixed.history_photo {
            bundle.history_photos.push(HistoryPhoto {
                taken_on: valid_from - time::Duration::days(10),
                jpeg: None,
            });
        }
    }
    bundle
}

fn receipt(code: &str, created_on: Date, used_on: Option<Date>) -> NewReceipt {
    NewReceipt {
        code: ReceiptCode::parse(code)
            .unwrap_or_else(|err| panic!("fixed receipt code {code} is invalid: {err}")),
        jpeg: None,
        created_on,
        used_on,
    }
}

/// The fixed demo citizens (see [`demo`] and `docs/popsys.md`).
pub fn fixed_citizens() -> Vec<CitizenBundle> {
    use CardStatus::{ReportedLost, Valid};
    let on = CardExpiry::On;

    let mut renewal = bundle(Fixed {
        id: demo::RENEWAL_IN_WINDOW,
        name: "王晓燕",
        household_region: "320104",
        address: "江苏省南京市秦淮区中山南路118号阳光花园3幢2单元502室",
        card: Some((
            date!(2016 - 12 - 20),
            on(date!(2026 - 12 - 20)),
            Valid,
            "南京市公安局秦淮分局",
        )),
        history_photo: true,
    });
    renewal
        .receipts
        .push(receipt(demo::RECEIPT, date!(2026 - 11 - 25), None));

    let under_16 = bundle(Fixed {
        id: demo::UNDER_16,
        name: "张子轩",
        household_region: "320111",
        address: "江苏省南京市浦口区江浦街道文德路20号",
        card: None,
        history_photo: false,
    });

    let province_not_registered = bundle(Fixed {
        id: demo::PROVINCE_NOT_REGISTERED,
        name: "陈建国",
        household_region: "320582",
        address: "江苏省张家港市杨舍镇人民路66号",
        card: Some((
            date!(2018 - 05 - 02),
            on(date!(2038 - 05 - 02)),
            Valid,
            "张家港市公安局",
        )),
        history_photo: true,
    });

    let mut province_registered = bundle(Fixed {
        id: demo::PROVINCE_REGISTERED_REMOTE,
        name: "刘海波",
        household_region: "320322",
        address: "江苏省沛县沛城镇汉源大道88号",
        card: Some((
            date!(2022 - 03 - 20),
            on(date!(2042 - 03 - 20)),
            Valid,
            "沛县公安局",
        )),
        history_photo: true,
    });
    province_registered.citizen.remote_area = true;
    province_registered.residence.push(ResidenceRegistration {
        city: domain::region::KioskCity::parse("320100")
            .unwrap_or_else(|err| panic!("320100 is a city: {err}")),
        valid_until: date!(2027 - 12 - 31),
    });

    let mut long_term = bundle(Fixed {
        id: demo::LONG_TERM,
        name: "赵桂兰",
        household_region: "320106",
        address: "江苏省南京市鼓楼区湖南路9号",
        card: Some((
            date!(2012 - 03 - 01),
            CardExpiry::LongTerm,
            Valid,
            "南京市公安局鼓楼分局",
        )),
        history_photo: true,
    });
    long_term.receipts.push(receipt(
        demo::RECEIPT_USED,
        date!(2026 - 11 - 01),
        Some(date!(2026 - 11 - 02)),
    ));

    let outside = bundle(Fixed {
        id: demo::OUTSIDE_PROVINCE,
        name: "孙丽",
        household_region: "340104",
        address: "安徽省合肥市蜀山区长江西路200号",
        card: Some((
            date!(2015 - 10 - 10),
            on(date!(2035 - 10 - 10)),
            Valid,
            "合肥市公安局蜀山分局",
        )),
        history_photo: true,
    });

    let mut no_photo = bundle(Fixed {
        id: demo::NO_HISTORY_PHOTO,
        name: "周强",
        household_region: "320113",
        address: "江苏省南京市栖霞区仙林大道163号",
        card: Some((
            date!(2010 - 01 - 05),
            on(date!(2030 - 01 - 05)),
            Valid,
            "南京市公安局栖霞分局",
        )),
        history_photo: false,
    });
    no_photo
        .receipts
        .push(receipt(demo::RECEIPT_EXPIRED, date!(2026 - 05 - 01), None));

    let expired = bundle(Fixed {
        id: demo::EXPIRED_LONG_AGO,
        name: "吴志明",
        household_region: "320102",
        address: "江苏省南京市玄武区珠江路288号",
        card: Some((
            date!(2000 - 06 - 01),
            on(date!(2010 - 06 - 01)),
            Valid,
            "南京市公安局玄武分局",
        )),
        history_photo: true,
    });

    let mut in_progress = bundle(Fixed {
        id: demo::APPLICATION_IN_PROGRESS,
        name: "欧阳娜娜",
        household_region: "320105",
        address: "江苏省南京市建邺区江东中路108号锦绣家园6幢1单元1203室",
        card: Some((
            date!(2023 - 08 - 15),
            on(date!(2043 - 08 - 15)),
            ReportedLost,
            "南京市公安局建邺分局",
        )),
        history_photo: true,
    });
    in_progress.applications.push(PopulationApplication {
        application_number: "SL320100202611200000001".to_owned(),
        status: ApplicationStatus::InProduction,
        applied_on: date!(2026 - 11 - 20),
    });

    let mut deceased = bundle(Fixed {
        id: demo::DECEASED,
        name: "郑国华",
        household_region: "320114",
        address: "江苏省南京市雨花台区雨花东路12号",
        card: Some((
            date!(1995 - 04 - 01),
            CardExpiry::LongTerm,
            Valid,
            "南京市公安局雨花台分局",
        )),
        history_photo: true,
    });
    deceased.citizen.status = RecordStatus::Deceased;

    vec![
        renewal,
        under_16,
        province_not_registered,
        province_registered,
        long_term,
        outside,
        no_photo,
        expired,
        in_progress,
        deceased,
    ]
}
