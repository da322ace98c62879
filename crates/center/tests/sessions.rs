//! The session API of steps 6–12 through `CenterClient` against the real router on a loopback
//! port: every call idempotent by session id, refusals naming the field.

use base64::Engine as _;
use center::client::ClientError;
use center::payments::CreatePaymentRequest;
use center::steps::{
    ApplicationRequest, FacesLiveness, FacesRequest, FingerJson, ReceiptAnswer, ReceiptRefusal,
    ReceiptRequest,
};
use center::wire::{CardJson, ScopeRequest};
use domain::session::{PaymentMethod, ReferralReason, SessionOutcome};
use domain::trade_state::TradeState;
use popsys::seed::demo;
use std::sync::Arc;
use store::testing::TestDatabase;
use time::macros::date;

use crate::support::{OTHER_KIOSK, OTHER_SECRET};
use crate::world::{
    databases, jpeg, new_session, png, world, world_on, world_with, World, FACE, STRANGER,
};

pub fn scope_request() -> ScopeRequest {
    ScopeRequest {
        business: "expiry_renewal".into(),
        household: "local".into(),
        id: demo::RENEWAL_IN_WINDOW.into(),
        card: Some(CardJson {
            id: demo::RENEWAL_IN_WINDOW.into(),
            valid_from: "2016-12-20".into(),
            valid_until: "2026-12-20".into(),
        }),
    }
}

pub fn receipt_request() -> ReceiptRequest {
    ReceiptRequest {
        id: demo::RENEWAL_IN_WINDOW.into(),
        receipt: demo::RECEIPT.into(),
    }
}

pub fn faces_request(colour: [u8; 3]) -> FacesRequest {
    FacesRequest {
        id: demo::RENEWAL_IN_WINDOW.into(),
        receipt: demo::RECEIPT.into(),
        live_photo: base64::engine::general_purpose::STANDARD.encode(jpeg(colour)),
        liveness: None,
    }
}

pub fn application_request() -> ApplicationRequest {
    ApplicationRequest {
        business: "expiry_renewal".into(),
        household: "local".into(),
        id: demo::RENEWAL_IN_WINDOW.into(),
        receipt: demo::RECEIPT.into(),
        mobile: "13912345678".into(),
        fee_cny: 20,
        validity: "10_years".into(),
        issue_by: "2027-01-24".into(),
        fingers: vec![
            FingerJson {
                position: domain::session::Finger::RightIndex,
                quality: 81,
            },
            FingerJson {
                position: domain::session::Finger::LeftIndex,
                quality: 77,
            },
        ],
    }
}

pub fn wechat(attempt: u8) -> CreatePaymentRequest {
    CreatePaymentRequest {
        method: "wechat".into(),
        attempt,
        amount_fen: 2000,
    }
}

/// Steps 6–10 of a session of [`demo::RENEWAL_IN_WINDOW`]; returns the application number.
pub async fn up_to_application(world: &World, sid: &domain::session::SessionId) -> String {
    let client = &world.client;
    scoped(world, sid).await;
    assert!(client.receipt(sid, &receipt_request()).await.unwrap().found);
    let faces = client.faces(sid, &faces_request(FACE)).await.unwrap();
    assert!(faces.passed, "{faces:?}");
    client.put_blob(sid, "signature", png()).await.unwrap();
    client
        .put_blob(sid, "fingerprint_1", b"FMR\0 20\0template".to_vec())
        .await
        .unwrap();
    client
        .application(sid, &application_request())
        .await
        .unwrap()
        .application_no
}

/// Steps 2–5 of a session of [`demo::RENEWAL_IN_WINDOW`], bound to `sid`: accepted.
pub async fn scoped(world: &World, sid: &domain::session::SessionId) {
    let scope = world
        .client
        .session_scope(sid, &scope_request())
        .await
        .unwrap();
    assert_eq!(scope.outcome, "accept", "{scope:?}");
}

fn refused_field(err: &ClientError) -> (u16, Option<&str>) {
    match err {
        ClientError::Refused { status, field, .. } => (*status, field.as_deref()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_whole_session_on_each_backend() {
    for db in databases("center sessions").await {
        let backend = db.store().backend();
        let world = world_on(db).await;
        let client = &world.client;
        let sid = new_session();
        scoped(&world, &sid).await;

        let scope = client.session_scope(&sid, &scope_request()).await.unwrap();
        assert_eq!(scope.outcome, "accept");
        assert!(scope.name.as_deref().is_some_and(|n| n.ends_with("晓燕")));

        let receipt = client.receipt(&sid, &receipt_request()).await.unwrap();
        assert!(receipt.found);
        let faces = client.faces(&sid, &faces_request(FACE)).await.unwrap();
        assert!(faces.passed && faces.certified_vs_history > 95.0 && faces.live_vs_history > 60.0);
        assert_eq!(
            (faces.engine.as_str(), faces.version.as_str()),
            ("colour-double", "1")
        );
        // A repeat answers the first answer, even with another picture.
        assert_eq!(
            client.faces(&sid, &faces_request(STRANGER)).await.unwrap(),
            faces
        );

        client.put_blob(&sid, "signature", png()).await.unwrap();
        client.put_blob(&sid, "signature", png()).await.unwrap();
        let answer = client
            .application(&sid, &application_request())
            .await
            .unwrap();
        let number = &answer.application_no;
        assert_eq!(number.len(), 18, "{number}");
        assert!(number.starts_with("32010020261125"), "{number}");
        assert_eq!(answer.issue_by, "2027-01-24");
        assert_eq!(
            client
                .application(&sid, &application_request())
                .await
                .unwrap(),
            answer,
            "a repeat returns the same number"
        );

        let payment = client.create_payment(&sid, &wechat(1)).await.unwrap();
        assert_eq!(payment.state, payment::TradeState::NotPay);
        assert_eq!(payment.out_trade_no, format!("IDK{number}A1"));
        let code_url = payment.code_url.clone().expect("a code_url");
        assert_eq!(
            client.create_payment(&sid, &wechat(1)).await.unwrap(),
            payment
        );
        world.scan_and_pay(&code_url, true).await;
        // The callback records it; the center is not asked.
        let mut recorded = None;
        for _ in 0..200 {
            let stored = world
                .store()
                .payment(sid.as_str(), 1)
                .await
                .unwrap()
                .unwrap();
            if stored.state == TradeState::Success {
                recorded = Some(stored);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let recorded = recorded
            .unwrap_or_else(|| panic!("{backend}: the callback never recorded the payment"));
        assert_eq!(recorded.paid_fen, Some(2000));
        let paid = client.payment(&sid, 1).await.unwrap();
        assert_eq!(paid.state, payment::TradeState::Success);
        assert!(!paid.void_required);

        if crate::world::renderer().is_some() {
            for kind in ["certificate", "form", "notice"] {
                let pdf = client.document(&sid, kind).await.unwrap();
                assert!(pdf.starts_with(b"%PDF"), "{kind}");
                assert_eq!(
                    client.document(&sid, kind).await.unwrap(),
                    pdf,
                    "{kind} reproducible"
                );
            }
            let documents = world.store().session_documents(sid.as_str()).await.unwrap();
            assert_eq!(documents.len(), 3);
        }

        client
            .end(
                &sid,
                &SessionOutcome::Completed {
                    payment: PaymentMethod::WeChat,
                },
            )
            .await
            .unwrap();
        let application = world.store().application(number).await.unwrap().unwrap();
        assert_eq!(application.status, store::sessions::KioskStatus::Completed);
        let report = client
            .reconciliation(date!(2026 - 11 - 25), crate::support::OPERATOR_TOKEN)
            .await
            .unwrap();
        assert_eq!(
            (report.applications, report.paid, report.paid_fen),
            (1, 1, 2000),
            "{report:?}"
        );
        assert_eq!(report.mismatches, vec![], "{backend}");
        world.db.finish().await;
    }
}

#[tokio::test]
async fn a_receipt_not_found_can_be_scanned_again_in_the_same_session() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    let wrong = ReceiptRequest {
        receipt: demo::RECEIPT_USED.into(),
        ..receipt_request()
    };
    assert!(!world.client.receipt(&sid, &wrong).await.unwrap().found);
    assert!(!world.client.receipt(&sid, &wrong).await.unwrap().found);
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    // Found is final.
    assert!(world.client.receipt(&sid, &wrong).await.unwrap().found);
    world.finish().await;
}

/// Steps 2–5 of a damaged-card replacement of `id`, bound to `sid`: accepted.
async fn scoped_damaged(world: &World, sid: &domain::session::SessionId, id: &str) {
    let request = ScopeRequest {
        business: "damaged".into(),
        household: "local".into(),
        id: id.into(),
        card: None,
    };
    let scope = world.client.session_scope(sid, &request).await.unwrap();
    assert_eq!(scope.outcome, "accept", "{id}: {scope:?}");
}

// Issue 15: a used receipt was answered `found: false` only, and the kiosk said "not found,
// scan again" forever. Each refusal now says why, another citizen's receipt included.
#[tokio::test]
async fn a_receipt_without_photo_says_why() {
    let world = world().await;
    for (id, receipt, reason) in [
        (
            demo::LONG_TERM,
            demo::RECEIPT_USED,
            ReceiptRefusal::AlreadyUsed,
        ),
        // Another citizen's receipt.
        (demo::LONG_TERM, demo::RECEIPT, ReceiptRefusal::OtherPerson),
        (demo::LONG_TERM, "PS2099010100001", ReceiptRefusal::NotFound),
    ] {
        let sid = new_session();
        scoped_damaged(&world, &sid, id).await;
        let request = ReceiptRequest {
            id: id.into(),
            receipt: receipt.into(),
        };
        let answer = world.client.receipt(&sid, &request).await.unwrap();
        assert_eq!(
            answer,
            ReceiptAnswer {
                found: false,
                reason: Some(reason)
            },
            "{receipt}"
        );
        // Scanned again: the same reason, not a bare "not found".
        let again = world.client.receipt(&sid, &request).await.unwrap();
        assert_eq!(again.reason, Some(reason), "{receipt} again");
    }
    // Found: no reason, and the wire carries none.
    let sid = new_session();
    scoped(&world, &sid).await;
    let found = world
        .client
        .receipt(&sid, &receipt_request())
        .await
        .unwrap();
    assert_eq!(
        found,
        ReceiptAnswer {
            found: true,
            reason: None
        }
    );
    world.finish().await;

    // Two days after its 180 days, the demo receipt has expired.
    let later = world_with(TestDatabase::sqlite().await.unwrap(), |state| {
        state.today = Arc::new(|| date!(2027 - 06 - 01));
    })
    .await;
    let sid = new_session();
    scoped(&later, &sid).await;
    let answer = later
        .client
        .receipt(&sid, &receipt_request())
        .await
        .unwrap();
    assert_eq!(answer.reason, Some(ReceiptRefusal::Expired), "{answer:?}");
    later.finish().await;

    let wire = serde_json::to_value(&found).unwrap();
    assert_eq!(wire, serde_json::json!({ "found": true }));
    let refused = ReceiptAnswer {
        found: false,
        reason: Some(ReceiptRefusal::AlreadyUsed),
    };
    assert_eq!(
        serde_json::to_value(&refused).unwrap(),
        serde_json::json!({ "found": false, "reason": "already_used" })
    );
}

#[tokio::test]
async fn a_face_mismatch_is_stored_and_blocks_the_application() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let faces = world
        .client
        .faces(&sid, &faces_request(STRANGER))
        .await
        .unwrap();
    assert!(!faces.passed);
    assert!(faces.live_vs_history < 60.0, "{faces:?}");
    let stored = world
        .store()
        .face_scores(sid.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.passed);
    assert_eq!(stored.live_threshold, 60.0);
    let err = world
        .client
        .application(&sid, &application_request())
        .await
        .unwrap_err();
    assert_eq!(refused_field(&err).0, 409);
    world.finish().await;
}

#[tokio::test]
async fn the_kiosks_full_frame_liveness_is_stored_instead_of_scoring_the_crop() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let out_of_range = FacesRequest {
        liveness: Some(FacesLiveness {
            score: 1.5,
            engine: "kiosk-engine".into(),
        }),
        ..faces_request(FACE)
    };
    let err = world.client.faces(&sid, &out_of_range).await.unwrap_err();
    assert_eq!(refused_field(&err), (422, Some("liveness")));
    let faces = FacesRequest {
        liveness: Some(FacesLiveness {
            score: 0.125,
            engine: "kiosk-engine (1)".into(),
        }),
        ..faces_request(FACE)
    };
    assert!(world.client.faces(&sid, &faces).await.unwrap().passed);
    let stored = world
        .store()
        .face_scores(sid.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.liveness_score, Some(0.125));
    assert_eq!(stored.liveness_engine.as_deref(), Some("kiosk-engine (1)"));
    world.finish().await;
}

#[tokio::test]
async fn calls_out_of_order_or_with_bad_values_are_refused_naming_the_field() {
    let world = world().await;
    let client = &world.client;
    let sid = new_session();
    scoped(&world, &sid).await;
    let err = client.faces(&sid, &faces_request(FACE)).await.unwrap_err();
    assert_eq!(refused_field(&err).0, 409, "faces before the receipt");
    let err = client.create_payment(&sid, &wechat(1)).await.unwrap_err();
    assert_eq!(refused_field(&err).0, 409, "payment before the application");
    let err = client
        .receipt(
            &sid,
            &ReceiptRequest {
                id: "320104200012100045".into(),
                ..receipt_request()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused_field(&err), (422, Some("id")));
    let err = client
        .put_blob(&sid, "signature", b"not a png".to_vec())
        .await
        .unwrap_err();
    assert_eq!(refused_field(&err), (422, Some("kind")));
    let err = client.put_blob(&sid, "passport", png()).await.unwrap_err();
    assert_eq!(refused_field(&err), (422, Some("kind")));

    assert!(
        client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    assert!(
        client
            .faces(&sid, &faces_request(FACE))
            .await
            .unwrap()
            .passed
    );
    for (change, field) in [
        (
            ApplicationRequest {
                fee_cny: 40,
                ..application_request()
            },
            "fee_cny",
        ),
        (
            ApplicationRequest {
                validity: "20_years".into(),
                ..application_request()
            },
            "validity",
        ),
        (
            ApplicationRequest {
                issue_by: "2027-02-23".into(),
                ..application_request()
            },
            "issue_by",
        ),
        (
            ApplicationRequest {
                mobile: "12345".into(),
                ..application_request()
            },
            "mobile",
        ),
        (
            ApplicationRequest {
                fingers: vec![],
                ..application_request()
            },
            "fingers",
        ),
        (
            ApplicationRequest {
                receipt: demo::RECEIPT_USED.into(),
                ..application_request()
            },
            "receipt",
        ),
    ] {
        let err = client.application(&sid, &change).await.unwrap_err();
        assert_eq!(refused_field(&err), (422, Some(field)));
    }
    let number = client
        .application(&sid, &application_request())
        .await
        .unwrap();
    let err = client
        .create_payment(
            &sid,
            &CreatePaymentRequest {
                amount_fen: 4000,
                ..wechat(1)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused_field(&err), (422, Some("amount_fen")));
    assert_eq!(number.application_no.len(), 18);
    world.finish().await;
}

#[tokio::test]
async fn a_session_belongs_to_the_kiosk_that_started_it() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    assert!(
        world
            .client
            .receipt(&sid, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let other = center::client::CenterClient::new(
        &format!("http://{}", world.center),
        OTHER_KIOSK,
        OTHER_SECRET,
    );
    let err = other.receipt(&sid, &receipt_request()).await.unwrap_err();
    assert_eq!(refused_field(&err).0, 404);
    world.finish().await;
}

#[tokio::test]
async fn the_first_outcome_of_a_session_wins() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    let number = up_to_application(&world, &sid).await;
    let referred = SessionOutcome::Referred {
        step: 11,
        reason: ReferralReason::PaymentFailed,
    };
    world.client.end(&sid, &referred).await.unwrap();
    world
        .client
        .end(
            &sid,
            &SessionOutcome::Completed {
                payment: PaymentMethod::UnionPay,
            },
        )
        .await
        .unwrap();
    let stored = world
        .store()
        .session_outcome(sid.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<SessionOutcome>(&stored).unwrap(),
        referred
    );
    let application = world.store().application(&number).await.unwrap().unwrap();
    assert_eq!(application.status, store::sessions::KioskStatus::Referred);
    world.finish().await;
}

#[tokio::test]
async fn the_portrait_form_is_a_pdf() {
    let world = world().await;
    let sid = new_session();
    let request = center::paper::PortraitRequest {
        id: demo::LONG_TERM.into(),
        business: None,
    };
    let identity = center::paper::IdentityRequest {
        id: demo::LONG_TERM.into(),
    };
    world.client.identity(&sid, &identity).await.unwrap();
    match crate::world::renderer() {
        Some(_) => {
            let pdf = world
                .client
                .session_portrait_form(&sid, &request)
                .await
                .unwrap();
            assert!(pdf.starts_with(b"%PDF"));
        }
        None => {
            let err = world
                .client
                .session_portrait_form(&sid, &request)
                .await
                .unwrap_err();
            assert!(err.is_retryable());
        }
    }
    world.finish().await;
}

#[tokio::test]
async fn blobs_can_live_in_the_encrypted_blob_store() {
    let dir = std::env::temp_dir().join(format!("idkiosk-center-blobs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = std::sync::Arc::new(store::FileKeyProvider::create(dir.join("master.key")).unwrap());
    let db = store::testing::TestDatabase::sqlite().await.unwrap();
    let blobs = store::BlobStore::local(db.store().clone(), dir.join("objects"), keys).unwrap();
    let sink = center::blobs::EncryptedBlobSink::new(blobs.clone());
    let world = crate::world::world_with(db, move |state| {
        state.blobs = std::sync::Arc::new(sink);
    })
    .await;
    let sid = new_session();
    scoped(&world, &sid).await;
    let signature = png();
    world
        .client
        .put_blob(&sid, "signature", signature.clone())
        .await
        .unwrap();
    world
        .client
        .put_blob(&sid, "signature", png_other())
        .await
        .unwrap();
    assert_eq!(
        blobs.get(sid.as_str(), "signature").await.unwrap(),
        Some(signature)
    );
    // Nothing in the database table of the default sink.
    assert_eq!(
        world
            .store()
            .session_blob(sid.as_str(), "signature")
            .await
            .unwrap(),
        None
    );
    // No application: the end deletes the captures from the encrypted store too.
    let referred = SessionOutcome::Referred {
        step: 10,
        reason: ReferralReason::Cancelled,
    };
    world.client.end(&sid, &referred).await.unwrap();
    assert_eq!(blobs.get(sid.as_str(), "signature").await.unwrap(), None);
    let _ = std::fs::remove_dir_all(&dir);
    world.finish().await;
}

fn png_other() -> Vec<u8> {
    let mut bytes = png();
    bytes.extend_from_slice(b"trailing");
    bytes
}

#[tokio::test]
async fn a_session_without_application_keeps_nothing_not_even_its_video() {
    // Retention (issue 14): everything a session that never became an application captured is
    // deleted when it ends, its video too (it was kept 180 days before); a video arriving after
    // the end is not kept. A session with an application keeps all.
    let world = world().await;
    let referred = SessionOutcome::Referred {
        step: 9,
        reason: ReferralReason::FingerprintFailed,
    };
    let video = crate::uploads::mp4(4_000);

    let sid = new_session();
    scoped(&world, &sid).await;
    world
        .client
        .receipt(&sid, &receipt_request())
        .await
        .unwrap();
    world
        .client
        .put_blob(&sid, "signature", png())
        .await
        .unwrap();
    world
        .client
        .put_blob(&sid, "video", video.clone())
        .await
        .unwrap();
    world.client.end(&sid, &referred).await.unwrap();
    let store = world.store();
    for kind in ["signature", "video", center::blobs::AUDIT_VIDEO] {
        assert_eq!(store.session_blob(sid.as_str(), kind).await.unwrap(), None);
    }
    world
        .client
        .put_blob(&sid, "video", video.clone())
        .await
        .unwrap();
    assert_eq!(
        store.session_blob(sid.as_str(), "video").await.unwrap(),
        None
    );

    let filed = new_session();
    up_to_application(&world, &filed).await;
    world.client.end(&filed, &referred).await.unwrap();
    assert!(store
        .session_blob(filed.as_str(), "signature")
        .await
        .unwrap()
        .is_some());
    world.finish().await;
}

#[tokio::test]
async fn a_policy_may_keep_the_video_of_a_session_without_application_for_audit() {
    let world = crate::world::world_with(
        store::testing::TestDatabase::sqlite().await.unwrap(),
        |state| {
            state.config.unfinished_video = center::blobs::UnfinishedVideo::KeepForAudit {
                retention: time::Duration::days(30),
            };
        },
    )
    .await;
    let referred = SessionOutcome::Referred {
        step: 7,
        reason: ReferralReason::FaceMismatch,
    };
    let video = crate::uploads::mp4(4_000);
    let sid = new_session();
    world
        .client
        .put_blob(&sid, "signature", png())
        .await
        .unwrap();
    world
        .client
        .put_blob(&sid, "video", video.clone())
        .await
        .unwrap();
    world.client.end(&sid, &referred).await.unwrap();
    let store = world.store();
    assert_eq!(
        store.session_blob(sid.as_str(), "signature").await.unwrap(),
        None
    );
    assert_eq!(
        store.session_blob(sid.as_str(), "video").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .session_blob(sid.as_str(), center::blobs::AUDIT_VIDEO)
            .await
            .unwrap(),
        Some(video)
    );
    world.finish().await;
}

// Issue 15: the finished screen gave no place to collect the card. The kiosk asks the center
// for the office the collection certificate prints, once the application is filed.
#[tokio::test]
async fn the_collection_office_is_given_once_the_application_is_filed() {
    let world = world().await;
    let sid = new_session();
    scoped(&world, &sid).await;
    let err = world.client.collection(&sid).await.unwrap_err();
    assert_eq!(refused_field(&err).0, 404, "{err:?}");
    up_to_application(&world, &sid).await;
    let answer = world.client.collection(&sid).await.unwrap();
    let config = crate::support::demo_config();
    let office = config.collection_office().expect("the demo's office");
    assert_eq!(
        (answer.office, answer.address, answer.hours),
        (
            office.name.clone(),
            office.address.clone(),
            office.hours.clone()
        )
    );
    world.finish().await;
}

/// Issue 17 item 5: step 7's verdict is the center's, with the fleet configuration's bars once an
/// operator has stored one (the kiosk obeys `passed` and keeps no thresholds of its own).
#[tokio::test]
async fn the_fleet_configuration_sets_the_bars_of_the_centers_face_verdict() {
    let world = world().await;
    let first = new_session();
    scoped(&world, &first).await;
    assert!(
        world
            .client
            .receipt(&first, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let faces = world
        .client
        .faces(&first, &faces_request(FACE))
        .await
        .unwrap();
    assert!(faces.passed, "{faces:?}");
    assert!(faces.certified_vs_history < 99.9, "{faces:?}");
    world
        .store()
        .put_fleet_config(
            r#"{"thresholds":{"face_certified":99.9,"face_live":60.0,"fingerprint_quality":40},"timeouts":{"idle_s":60,"step_s":120,"payment_s":600},"fees":{"expiry_renewal_cny":20,"lost_cny":40,"damaged_cny":40},"payment_methods":["wechat","unionpay"]}"#,
            "operator",
            1_795_000_000,
        )
        .await
        .unwrap();
    // The same photos against the fleet's bar of 99.9 (its highest) for the certified photo.
    let second = new_session();
    scoped(&world, &second).await;
    assert!(
        world
            .client
            .receipt(&second, &receipt_request())
            .await
            .unwrap()
            .found
    );
    let faces = world
        .client
        .faces(&second, &faces_request(FACE))
        .await
        .unwrap();
    assert!(!faces.passed, "{faces:?}");
    world.finish().await;
}
