//! A bureau's own configuration (issue 17 item 5): what the papers print comes from its file,
//! not from the code.

use std::process::Command;

use store::testing::TestDatabase;

use crate::sessions::up_to_application;
use crate::support::settings_from;
use crate::world::{new_session, renderer, world_with};

/// The text poppler's pdftotext reads from `pdf`; `None` (with a note, a failure under CI) when
/// it is not installed.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let path = std::env::temp_dir().join(format!("idkiosk-center-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).expect("write the PDF");
    let out = store::testing::require(
        "center: pdftotext",
        "poppler-utils (scripts/setup/30-documents.sh)",
        Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output(),
    );
    let _ = std::fs::remove_file(&path);
    let out = out?;
    assert!(out.status.success(), "pdftotext: {out:?}");
    Some(String::from_utf8(out.stdout).expect("UTF-8 text"))
}

#[tokio::test]
async fn a_second_city_prints_its_own_papers() {
    let suzhou = settings_from(include_str!("../../../config/examples/suzhou-center.toml"));
    if renderer().is_none() {
        return;
    }
    // The fixed demo citizens live in 南京, so the kiosks' city stays the world's (320100):
    // only the bureau's table is Suzhou's, and that is all the papers print of the bureau.
    let config = suzhou.config.clone();
    let world = world_with(
        TestDatabase::sqlite().await.expect("sqlite"),
        move |state| {
            let lookups = state.config.kiosk_lookups_per_minute;
            state.config = config;
            state.config.kiosk_lookups_per_minute = lookups;
        },
    )
    .await;
    let sid = new_session();
    up_to_application(&world, &sid).await;

    let collection = world.client.collection(&sid).await.unwrap();
    assert_eq!(collection.office, "苏州市公安局姑苏分局户政办证大厅");
    assert_eq!(collection.address, "苏州市姑苏区人民路1001号");

    let pdf = world.client.document(&sid, "certificate").await.unwrap();
    if let Some(text) = pdf_text(&pdf) {
        // pdftotext may break a long line; the CJK text has no spaces of its own.
        let text: String = text.split_whitespace().collect();
        for wanted in [
            "苏州市公安局",
            "苏州市公安局姑苏分局户政办证大厅",
            "苏州市姑苏区人民路1001号",
        ] {
            assert!(text.contains(wanted), "{wanted} not in:\n{text}");
        }
        assert!(
            !text.contains("南京市公安局"),
            "Nanjing's bureau in:\n{text}"
        );
        assert!(!text.contains("北京东路"), "Nanjing's address in:\n{text}");
    }
    world.finish().await;
}

/// Regression (issue 17): the SMS sender number was hard-coded (`10690001`) and the production
/// poll ran every 10 s whatever the bureau's file said; both are now its keys.
#[tokio::test]
async fn the_sender_number_and_the_production_poll_come_from_the_file() {
    let text = crate::support::DEMO_CENTER_TOML
        .replace(
            "source_addr = \"10690001\"",
            "source_addr = \"106573200001\"",
        )
        .replace("production_poll_s = 10", "production_poll_s = 45");
    let mut config = settings_from(&text).config;
    assert_eq!(config.production_poll, std::time::Duration::from_secs(45));

    let sim = sms::sim::start_smsc(sms::sim::SmscSimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..sms::sim::SmscSimConfig::default()
    })
    .await
    .expect("the SMSC simulator starts");
    config.sms.gateway = Some(center::config::SmsGateway {
        kind: "smpp".into(),
        address: sim.smpp_addr().to_string(),
        system_id: "idkiosk".into(),
        password: "secret".into(),
        system_type: String::new(),
    });
    let gateway = center::journey::gateway_from_config(&config.sms)
        .expect("a valid gateway")
        .expect("a gateway");
    gateway
        .send("13912345678", "【居民身份证】测试")
        .await
        .expect("sent");
    let received = sim.messages();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].from, "106573200001");
}

/// Issue 18: the face pool's size is the bureau's to set (`[center.face] workers`,
/// `queue_per_worker`), checked with the field named; 0 workers is one per core.
#[test]
fn the_face_pool_size_comes_from_the_file() {
    use center::faces::FacePoolConfig;
    let with_face = |lines: &str| {
        crate::support::DEMO_CENTER_TOML
            .replace("[center.face]\n", &format!("[center.face]\n{lines}\n"))
    };
    let set = settings_from(&with_face("workers = 3\nqueue_per_worker = 2"));
    assert_eq!(
        set.face_pool,
        FacePoolConfig {
            workers: 3,
            queue: 6
        }
    );
    let cores = FacePoolConfig::default().workers;
    assert_eq!(
        settings_from(crate::support::DEMO_CENTER_TOML).face_pool,
        FacePoolConfig {
            workers: cores,
            queue: 8 * cores
        }
    );
    for (lines, expected) in [
        (
            "queue_per_worker = 0",
            "center.face.queue_per_worker: must be between 1 and 64",
        ),
        (
            "workers = 5000",
            "center.face.workers: must be at most 1024 (0: one per core)",
        ),
    ] {
        use figment::providers::Format;
        let problems = figment::Figment::from(figment::providers::Toml::string(&with_face(lines)))
            .extract_inner::<center::config::CenterFile>("center")
            .expect("a center file")
            .settings()
            .expect_err(lines);
        assert_eq!(problems, vec![expected.to_owned()], "{lines}");
    }
}
