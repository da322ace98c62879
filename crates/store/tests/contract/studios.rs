//! The store contract for photo studios and their uploaded receipts (`store::studios`), on both
//! backends like the rest of the suite: `store contract (studios): <backend> ok (<n> checks)`.

use std::sync::Arc;

use store::studios::{PhotoStudio, StudioReceipt};
use store::testing::{self, TestDatabase};
use store::{RedeemOutcome, StoreError};
use time::macros::date;
use time::Date;

use super::{bundle, code, id, LOCAL, OTHER, THIRD, TODAY};

super::checks!(
    STUDIO_CHECKS:
    studio_round_trips_and_ids_are_unique,
    studio_secret_is_replaced,
    uploaded_receipt_is_usable_once_and_names_its_studio,
    taken_code_writes_nothing,
    unknown_citizen_or_studio_writes_nothing,
    uploaded_photo_is_sealed,
);

async fn run_studio_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (studios)",
        STUDIO_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_studios_sqlite() {
    run_studio_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_studios_postgres() {
    if let Some(url) = testing::postgres_url("store contract (studios)") {
        run_studio_suite("postgres", Some(url)).await;
    }
}

// ---- helpers --------------------------------------------------------------------------------

const STUDIO: &str = "S001";

fn studio(studio_id: &str, secret_byte: u8) -> PhotoStudio {
    PhotoStudio {
        id: studio_id.into(),
        name: "南京新街口照相馆".into(),
        secret_sha256: vec![secret_byte; 32],
        created_at: 1_795_000_000,
    }
}

fn upload(text: &str, citizen: &str, created_on: Date) -> StudioReceipt {
    StudioReceipt {
        code: code(text),
        id: id(citizen),
        studio_id: STUDIO.into(),
        jpeg: b"\xff\xd8studio photo\xff\xd9".to_vec(),
        created_on,
        uploaded_at: 1_795_000_100,
    }
}

/// A database with the three test citizens and the studio `S001`.
async fn with_studio(db: &TestDatabase) {
    let store = db.store();
    store
        .insert_citizens(&[bundle(LOCAL), bundle(OTHER), bundle(THIRD)])
        .await
        .unwrap();
    assert!(store.add_photo_studio(&studio(STUDIO, 1)).await.unwrap());
}

// ---- checks ---------------------------------------------------------------------------------

async fn studio_round_trips_and_ids_are_unique(db: Arc<TestDatabase>) {
    let store = db.store();
    assert_eq!(store.photo_studio(STUDIO).await.unwrap(), None);
    assert!(store.add_photo_studio(&studio(STUDIO, 1)).await.unwrap());
    assert_eq!(
        store.photo_studio(STUDIO).await.unwrap(),
        Some(studio(STUDIO, 1))
    );
    // A second studio under the same id changes nothing.
    assert!(!store.add_photo_studio(&studio(STUDIO, 2)).await.unwrap());
    assert_eq!(
        store
            .photo_studio(STUDIO)
            .await
            .unwrap()
            .unwrap()
            .secret_sha256,
        vec![1; 32]
    );
    assert_eq!(store.photo_studio("S002").await.unwrap(), None);
    // Only a SHA-256 fits: the schema refuses anything else.
    let mut short = studio("S003", 3);
    short.secret_sha256.truncate(16);
    let err = store.add_photo_studio(&short).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.photo_studio("S003").await.unwrap(), None);
}

async fn studio_secret_is_replaced(db: Arc<TestDatabase>) {
    let store = db.store();
    assert!(!store
        .replace_photo_studio_secret(STUDIO, &[9; 32])
        .await
        .unwrap());
    assert!(store.add_photo_studio(&studio(STUDIO, 1)).await.unwrap());
    assert!(store
        .replace_photo_studio_secret(STUDIO, &[9; 32])
        .await
        .unwrap());
    let stored = store.photo_studio(STUDIO).await.unwrap().unwrap();
    assert_eq!(stored.secret_sha256, vec![9; 32]);
    assert_eq!(stored.name, "南京新街口照相馆");
}

async fn uploaded_receipt_is_usable_once_and_names_its_studio(db: Arc<TestDatabase>) {
    with_studio(&db).await;
    let store = db.store();
    let made = upload("PS2026112512345678", LOCAL, TODAY);
    assert!(store.add_studio_receipt(&made).await.unwrap());

    let stored = store.photo_receipt(&made.code).await.unwrap().unwrap();
    assert_eq!(stored.id, id(LOCAL));
    assert_eq!(stored.jpeg.as_deref(), Some(&made.jpeg[..]));
    assert_eq!(stored.created_on, TODAY);
    assert_eq!(stored.used_on, None);
    assert_eq!(stored.last_valid_day(), date!(2027 - 05 - 24));
    assert_eq!(
        store.receipt_studio(&made.code).await.unwrap().as_deref(),
        Some(STUDIO)
    );
    assert_eq!(
        store
            .receipt_studio(&code("PS2026112500001"))
            .await
            .unwrap(),
        None
    );

    // Another citizen cannot use it; its owner can, once.
    assert_eq!(
        store
            .redeem_receipt(&made.code, &id(OTHER), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::NotFound
    );
    assert!(matches!(
        store
            .redeem_receipt(&made.code, &id(LOCAL), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::Redeemed(_)
    ));
    assert_eq!(
        store
            .redeem_receipt(&made.code, &id(LOCAL), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::AlreadyUsed { used_on: TODAY }
    );
}

async fn taken_code_writes_nothing(db: Arc<TestDatabase>) {
    with_studio(&db).await;
    let store = db.store();
    let first = upload("PS2026112512345678", LOCAL, TODAY);
    assert!(store.add_studio_receipt(&first).await.unwrap());
    let mut again = upload("PS2026112512345678", OTHER, date!(2026 - 11 - 26));
    again.jpeg = b"another photo".to_vec();
    assert!(!store.add_studio_receipt(&again).await.unwrap());
    assert_eq!(store.count_photo_receipts().await.unwrap(), 1);
    // The first receipt is untouched.
    let stored = store.photo_receipt(&first.code).await.unwrap().unwrap();
    assert_eq!(stored.id, id(LOCAL));
    assert_eq!(stored.jpeg.as_deref(), Some(&first.jpeg[..]));
    assert_eq!(stored.created_on, TODAY);
}

async fn unknown_citizen_or_studio_writes_nothing(db: Arc<TestDatabase>) {
    with_studio(&db).await;
    let store = db.store();
    // A valid number the register does not hold.
    let stranger = upload("PS2026112500000001", "320582198804160054", TODAY);
    let err = store.add_studio_receipt(&stranger).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.photo_receipt(&stranger.code).await.unwrap(), None);

    let mut unregistered = upload("PS2026112500000002", LOCAL, TODAY);
    unregistered.studio_id = "S999".into();
    let err = store.add_studio_receipt(&unregistered).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    // The receipt row of the failed transaction is gone too.
    assert_eq!(store.photo_receipt(&unregistered.code).await.unwrap(), None);
    assert_eq!(
        store.receipt_studio(&unregistered.code).await.unwrap(),
        None
    );
    assert_eq!(store.count_photo_receipts().await.unwrap(), 0);
}

async fn uploaded_photo_is_sealed(db: Arc<TestDatabase>) {
    with_studio(&db).await;
    let store = db.store().clone().with_cipher(Arc::new(super::Reversing));
    let made = upload("PS2026112512345678", LOCAL, TODAY);
    assert!(store.add_studio_receipt(&made).await.unwrap());
    // Through the cipher: the photo as uploaded.
    let opened = store.photo_receipt(&made.code).await.unwrap().unwrap();
    assert_eq!(opened.jpeg.as_deref(), Some(&made.jpeg[..]));
    // Without it: the sealed bytes, not the photo.
    let raw = db.store().photo_receipt(&made.code).await.unwrap().unwrap();
    let reversed: Vec<u8> = made.jpeg.iter().rev().copied().collect();
    assert_eq!(raw.jpeg, Some(reversed));
}
