//! Collection offices (issue 17): a kiosk standing in an office's hall (its `kiosks` list in the
//! bureau's file) sends its citizens' cards there. The application records the office, and the
//! collection answer, the certificate, the ready SMS and the staff's reports all name it; a
//! kiosk no office lists uses the default office; a kiosk listed twice is refused at start.

use center::journey::{poll_production, JourneySettings};
use domain::notice::NoticeKind;
use popsys::seed::demo;
use store::testing::TestDatabase;
use store::ApplicationStatus;

use crate::sessions::up_to_application;
use crate::support::{settings_from, DEMO_CENTER_TOML};
use crate::world::{databases, new_session, world_with};

/// The demo bureau (its office 玄武 without the test kiosk K0001 in its list) with a second
/// office, 鼓楼, whose hall has the kiosks `kiosks`.
fn two_offices(kiosks: &str) -> String {
    let demo = DEMO_CENTER_TOML.replace("kiosks = [\"K0001\"]", "kiosks = []");
    assert_ne!(
        demo, DEMO_CENTER_TOML,
        "the demo file lists K0001 under 玄武"
    );
    format!(
        "{demo}
[[center.collection_offices]]
code = \"GL\"
name = \"南京市公安局鼓楼分局户政办证大厅\"
address = \"南京市鼓楼区中山路100号\"
hours = \"周一至周六 8:30–17:30\"
kiosks = [{kiosks}]
"
    )
}

const READY_AT_GULOU: &str = "【居民身份证】*晓燕，您的居民身份证已制作完成，请持领取凭证到南京市公安局鼓楼分局户政办证大厅（南京市鼓楼区中山路100号，周一至周六 8:30–17:30）领取。";

#[tokio::test]
async fn a_kiosk_in_an_office_hall_sends_its_citizens_to_that_office() {
    let config = settings_from(&two_offices("\"K0001\"")).config;
    assert_eq!(config.default_office, "XW");
    for db in databases("center offices").await {
        let backend = db.store().backend();
        let config = config.clone();
        let world = world_with(db, move |state| {
            let lookups = state.config.kiosk_lookups_per_minute;
            state.config = config;
            state.config.kiosk_lookups_per_minute = lookups;
        })
        .await;
        let sid = new_session();
        let number = crate::integrity::file(&world, &sid, demo::RECEIPT).await;
        let stored = world.store().application(&number).await.unwrap().unwrap();
        assert_eq!(stored.collection_office.as_deref(), Some("GL"), "{backend}");

        let collection = world.client.collection(&sid).await.unwrap();
        assert_eq!(collection.office, "南京市公安局鼓楼分局户政办证大厅");
        assert_eq!(collection.address, "南京市鼓楼区中山路100号");
        assert_eq!(collection.hours, "周一至周六 8:30–17:30");

        // Ready: the notice names 鼓楼, not the default office.
        crate::integrity::pay_and_complete(&world, &sid).await;
        let delivered = center::delivery::deliver_due(&world.state, &Default::default())
            .await
            .unwrap();
        assert_eq!(delivered.delivered, [number.as_str()], "{delivered:?}");
        let store = world.store();
        for status in [ApplicationStatus::InProduction, ApplicationStatus::Ready] {
            store
                .advance_population_application(&number, status)
                .await
                .unwrap();
            poll_production(&world.state, &JourneySettings::default())
                .await
                .unwrap();
        }
        let notices = store.notices_of_application(&number).await.unwrap();
        let moves = store.application_transitions(&number).await.unwrap();
        let ready = notices
            .iter()
            .find(|n| n.kind == NoticeKind::Ready)
            .unwrap_or_else(|| panic!("no ready notice: {notices:?}, {:?}", moves));
        assert_eq!(ready.text, READY_AT_GULOU, "{backend}");
        world.finish().await;
    }
}

#[tokio::test]
async fn a_kiosk_no_office_lists_uses_the_default_office() {
    let config = settings_from(&two_offices("\"K0999\"")).config;
    let world = world_with(TestDatabase::sqlite().await.unwrap(), move |state| {
        let lookups = state.config.kiosk_lookups_per_minute;
        state.config = config;
        state.config.kiosk_lookups_per_minute = lookups;
    })
    .await;
    let sid = new_session();
    let number = up_to_application(&world, &sid).await;
    let stored = world.store().application(&number).await.unwrap().unwrap();
    assert_eq!(stored.collection_office.as_deref(), Some("XW"));
    let collection = world.client.collection(&sid).await.unwrap();
    assert_eq!(collection.office, "南京市公安局玄武分局户政办证大厅");
    world.finish().await;
}

#[test]
fn a_kiosk_in_two_offices_is_refused_naming_the_field() {
    use figment::providers::Format;
    let text = format!(
        "{}\n[[center.collection_offices]]\ncode = \"JY\"\nname = \"江宁\"\naddress = \"江宁区\"\n\
         hours = \"9–17\"\nkiosks = [\"K0001\"]\n",
        two_offices("\"K0001\", \"\"")
    );
    let problems = figment::Figment::from(figment::providers::Toml::string(&text))
        .extract_inner::<center::config::CenterFile>("center")
        .expect("the file's shape")
        .settings()
        .expect_err("a kiosk in two offices");
    assert!(
        problems.contains(
            &"center.collection_offices[1].kiosks: a kiosk id is 1 to 64 characters".to_owned()
        ),
        "{problems:?}"
    );
    assert!(
        problems.contains(
            &"center.collection_offices[2].kiosks: kiosk \"K0001\" is listed in two offices"
                .to_owned()
        ),
        "{problems:?}"
    );
}
