//! The store contract: one suite of checks, run once on a fresh SQLite file and once on a fresh
//! PostgreSQL database (`IDKIOSK_TEST_PG_URL`). Every check gets its own database. Each backend's
//! run reports `store contract: <backend> ok (<n> checks)` on the terminal; PostgreSQL without a
//! server is reported as skipped (and fails when `CI` is set).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use domain::id::{CitizenId, Sex};
use domain::region::KioskCity;
use domain::rules::{CardExpiry, RecordStatus};
use store::testing::{self, TestDatabase};
use store::{
    ApplicationStatus, BlobCipher, BlobError, CardStatus, Citizen, CitizenBundle, HistoryPhoto,
    IdCard, NewReceipt, PopulationApplication, ReceiptCode, RedeemOutcome, ResidenceRegistration,
    Store, StoreError,
};
use time::macros::date;
use time::Date;

mod audit;
mod compliance;
mod face_embeddings;
mod integrity;
mod journey;
mod payments;
mod schema;
mod sessions;
mod staff;
mod studios;

const TODAY: Date = date!(2026 - 11 - 25);

type Check = fn(Arc<TestDatabase>) -> Pin<Box<dyn Future<Output = ()>>>;

/// `checks!(NAME: a, b, …)` makes the table `NAME` of the checks `a`, `b`, … for [`run_checks`].
macro_rules! checks {
    ($table:ident: $($name:ident),* $(,)?) => {
        const $table: &[(&str, $crate::contract::Check)] = &[
            $((stringify!($name), |db| Box::pin($name(db)))),*
        ];
    };
}
pub(crate) use checks;

checks!(
    CHECKS:
    migrations_are_idempotent,
    citizen_round_trips,
    unknown_citizen_is_none,
    card_long_term_and_absent,
    floating_registration_depends_on_city_and_day,
    history_photo_latest_and_without_image,
    application_in_progress_by_status,
    receipt_is_used_once,
    receipt_of_another_citizen_is_not_found,
    receipt_expires_after_180_days,
    receipt_taken_once_under_concurrency,
    rejected_batch_writes_nothing,
    bulk_loads_count_every_row,
    photos_pass_through_the_cipher,
);

/// Runs every check of `checks` on a fresh database of `backend` each (PostgreSQL when
/// `admin_url` is given), then reports `<suite>: <backend> ok (<n> checks)`.
pub(crate) async fn run_checks(
    suite: &str,
    checks: &[(&'static str, Check)],
    backend: &'static str,
    admin_url: Option<String>,
) {
    for (name, check) in checks {
        let db = match &admin_url {
            None => TestDatabase::sqlite().await,
            Some(url) => TestDatabase::postgres(url).await,
        }
        .unwrap_or_else(|err| panic!("{backend}: cannot create a test database: {err:?}"));
        let db = Arc::new(db);
        assert_eq!(db.store().backend().as_str(), backend, "{name}");
        let guard = NamesFailure { backend, name };
        check(db.clone()).await;
        std::mem::forget(guard);
        if let Ok(db) = Arc::try_unwrap(db) {
            db.finish().await;
        }
    }
    testing::report(&format!("{suite}: {backend} ok ({} checks)", checks.len()));
}

async fn run_suite(backend: &'static str, admin_url: Option<String>) {
    run_checks("store contract", CHECKS, backend, admin_url).await;
}

/// Says which check on which backend failed, when one panics.
struct NamesFailure {
    backend: &'static str,
    name: &'static str,
}

impl Drop for NamesFailure {
    fn drop(&mut self) {
        testing::report(&format!(
            "store contract: {}: check `{}` FAILED",
            self.backend, self.name
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_sqlite() {
    run_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_postgres() {
    if let Some(url) = testing::postgres_url("store contract") {
        run_suite("postgres", Some(url)).await;
    }
}

/// The store's futures can run on a multi-threaded runtime (axum handlers, spawned tasks).
#[test]
fn store_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let store: Option<Store> = None;
    if let Some(store) = store {
        let id = id(LOCAL);
        let city = city("320100");
        let code = code("PS2026112500001");
        let bundles = vec![bundle(LOCAL)];
        assert_send(&store.citizen_view(&id, &city, TODAY));
        assert_send(&store.redeem_receipt(&code, &id, TODAY));
        assert_send(&store.insert_citizens(&bundles));
        assert_send(&store.history_photo(&id));
        assert_send(&store.bulk_loader());
        let loader: Option<store::BulkLoader> = None;
        if let Some(mut loader) = loader {
            assert_send(&loader.load(&bundles));
        }
        let loader: Option<store::BulkLoader> = None;
        if let Some(mut loader) = loader {
            assert_send(&loader.load_row_by_row(&bundles));
        }
        let loader: Option<store::BulkLoader> = None;
        if let Some(loader) = loader {
            assert_send(&loader.finish());
        }
    }
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    let err = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.count_citizens().await.unwrap(), 1);
}

// ---- helpers --------------------------------------------------------------------------------

const LOCAL: &str = "320104200012100044";
const OTHER: &str = "320106196307084567";
const THIRD: &str = "320113197001020075";

/// Runs `sql` on the database behind the store's back (as someone with write access to the
/// tables would); the rows it changed. Panics when the database refuses it: see
/// [`refused_behind_the_store`].
pub(crate) async fn behind_the_store(db: &TestDatabase, sql: &str) -> u64 {
    let url = db.url();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        done.rows_affected()
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        done.rows_affected()
    }
}

/// Whether the database itself refuses `sql` (a CHECK or NOT NULL constraint), run behind the
/// store's back.
pub(crate) async fn refused_behind_the_store(db: &TestDatabase, sql: &str) -> bool {
    let url = db.url();
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await;
        pool.close().await;
        done.is_err()
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await;
        pool.close().await;
        done.is_err()
    }
}

fn id(text: &str) -> CitizenId {
    CitizenId::parse(text, TODAY).expect("test id is valid")
}

fn city(code: &str) -> KioskCity {
    KioskCity::parse(code).expect("test city is valid")
}

fn code(text: &str) -> ReceiptCode {
    ReceiptCode::parse(text).expect("test receipt code is valid")
}

fn bundle(number: &str) -> CitizenBundle {
    let id = id(number);
    CitizenBundle::new(Citizen {
        name: "王小明".into(),
        sex: id.sex(),
        nation_code: "01".into(),
        birth_date: id.birth_date(),
        address: "江苏省南京市秦淮区中山南路1号".into(),
        household_region: id.region_code().into(),
        status: RecordStatus::Normal,
        remote_area: false,
        id,
    })
}

fn card(until: CardExpiry) -> IdCard {
    IdCard {
        valid_from: date!(2016 - 12 - 20),
        valid_until: until,
        status: CardStatus::Valid,
        issuing_authority: "南京市公安局秦淮分局".into(),
    }
}

fn receipt(text: &str, created_on: Date) -> NewReceipt {
    NewReceipt {
        code: code(text),
        jpeg: Some(b"\xff\xd8certified\xff\xd9".to_vec()),
        created_on,
        used_on: None,
    }
}

// ---- checks ---------------------------------------------------------------------------------

async fn migrations_are_idempotent(db: Arc<TestDatabase>) {
    db.store().insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    let again = db.reconnect().await.expect("migrations apply twice");
    assert_eq!(again.count_citizens().await.unwrap(), 1);
    again.close().await;
}

async fn citizen_round_trips(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut written = bundle(LOCAL);
    written.citizen.remote_area = true;
    written.card = Some(card(CardExpiry::On(date!(2026 - 12 - 20))));
    let rows = store.insert_citizens(&[written.clone()]).await.unwrap();
    assert_eq!(rows, 2);

    let read = store.citizen(&id(LOCAL)).await.unwrap().expect("found");
    assert_eq!(read, written.citizen);
    assert_eq!(read.sex, Sex::Female);

    let view = store
        .citizen_view(&id(LOCAL), &city("320100"), TODAY)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(view.citizen, written.citizen);
    assert_eq!(view.card, written.card);
    assert!(!view.floating_registered);
    assert!(!view.history_photo);
    assert!(!view.application_in_progress);
}

async fn unknown_citizen_is_none(db: Arc<TestDatabase>) {
    let store = db.store();
    store.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    assert_eq!(store.citizen(&id(OTHER)).await.unwrap(), None);
    assert_eq!(
        store
            .citizen_view(&id(OTHER), &city("320100"), TODAY)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.history_photo(&id(OTHER)).await.unwrap(), None);
}

async fn card_long_term_and_absent(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut long_term = bundle(OTHER);
    long_term.card = Some(IdCard {
        status: CardStatus::ReportedLost,
        ..card(CardExpiry::LongTerm)
    });
    store
        .insert_citizens(&[long_term.clone(), bundle(THIRD)])
        .await
        .unwrap();
    let view = store
        .citizen_view(&id(OTHER), &city("320100"), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.card, long_term.card);
    let view = store
        .citizen_view(&id(THIRD), &city("320100"), TODAY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.card, None);
}

async fn floating_registration_depends_on_city_and_day(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut resident = bundle("320582198804160054");
    resident.residence.push(ResidenceRegistration {
        city: city("320100"),
        valid_until: TODAY,
    });
    store.insert_citizens(&[resident]).await.unwrap();
    let registered = |city_code: &'static str, day: Date| async move {
        store
            .citizen_view(&id("320582198804160054"), &city(city_code), day)
            .await
            .unwrap()
            .unwrap()
            .floating_registered
    };
    assert!(registered("320100", TODAY).await, "last day counts");
    assert!(registered("320100", date!(2020 - 01 - 01)).await);
    assert!(
        !registered("320100", date!(2026 - 11 - 26)).await,
        "expired"
    );
    assert!(!registered("320200", TODAY).await, "another city");
}

async fn history_photo_latest_and_without_image(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut with_photos = bundle(LOCAL);
    with_photos.history_photos = vec![
        HistoryPhoto {
            taken_on: date!(2006 - 12 - 01),
            jpeg: Some(b"old".to_vec()),
        },
        HistoryPhoto {
            taken_on: date!(2016 - 12 - 01),
            jpeg: Some(b"new".to_vec()),
        },
    ];
    let mut record_only = bundle(OTHER);
    record_only.history_photos = vec![HistoryPhoto {
        taken_on: date!(2012 - 03 - 01),
        jpeg: None,
    }];
    store
        .insert_citizens(&[with_photos, record_only, bundle(THIRD)])
        .await
        .unwrap();
    let latest = store.history_photo(&id(LOCAL)).await.unwrap().unwrap();
    assert_eq!(latest.jpeg.as_deref(), Some(&b"new"[..]));
    assert_eq!(latest.taken_on, date!(2016 - 12 - 01));
    let bare = store.history_photo(&id(OTHER)).await.unwrap().unwrap();
    assert_eq!(bare.jpeg, None);
    assert_eq!(store.history_photo(&id(THIRD)).await.unwrap(), None);

    let view = |number: &'static str| async move {
        store
            .citizen_view(&id(number), &city("320100"), TODAY)
            .await
            .unwrap()
            .unwrap()
            .history_photo
    };
    assert!(view(LOCAL).await && view(OTHER).await && !view(THIRD).await);

    store
        .put_history_photo(&id(THIRD), date!(2020 - 05 - 05), b"put")
        .await
        .unwrap();
    store
        .put_history_photo(&id(THIRD), date!(2020 - 05 - 05), b"replaced")
        .await
        .unwrap();
    let put = store.history_photo(&id(THIRD)).await.unwrap().unwrap();
    assert_eq!(put.jpeg.as_deref(), Some(&b"replaced"[..]));
}

async fn application_in_progress_by_status(db: Arc<TestDatabase>) {
    let store = db.store();
    let application = |number: &str, status| PopulationApplication {
        application_number: number.into(),
        status,
        applied_on: date!(2026 - 11 - 01),
    };
    let mut busy = bundle(LOCAL);
    busy.applications = vec![
        application("320100-20200101-000001", ApplicationStatus::Collected),
        application("320100-20261101-000002", ApplicationStatus::InProduction),
    ];
    let mut done = bundle(OTHER);
    done.applications = vec![
        application("320100-20200101-000003", ApplicationStatus::Collected),
        application("320100-20200101-000004", ApplicationStatus::Withdrawn),
    ];
    store.insert_citizens(&[busy, done]).await.unwrap();
    let in_progress = |number: &'static str| async move {
        store
            .citizen_view(&id(number), &city("320100"), TODAY)
            .await
            .unwrap()
            .unwrap()
            .application_in_progress
    };
    assert!(in_progress(LOCAL).await);
    assert!(!in_progress(OTHER).await);
}

async fn receipt_is_used_once(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut owner = bundle(LOCAL);
    owner.receipts.push(receipt("PS2026112500001", TODAY));
    store.insert_citizens(&[owner]).await.unwrap();
    let first = store
        .redeem_receipt(&code("PS2026112500001"), &id(LOCAL), TODAY)
        .await
        .unwrap();
    let RedeemOutcome::Redeemed(taken) = first else {
        panic!("first use: {first:?}")
    };
    assert_eq!(taken.used_on, Some(TODAY));
    assert_eq!(taken.id, id(LOCAL));
    assert_eq!(
        taken.jpeg.as_deref(),
        Some(&b"\xff\xd8certified\xff\xd9"[..])
    );
    assert_eq!(
        store
            .redeem_receipt(&code("PS2026112500001"), &id(LOCAL), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::AlreadyUsed { used_on: TODAY }
    );
    assert_eq!(
        store
            .redeem_receipt(&code("PS9999999999999"), &id(LOCAL), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::NotFound
    );
}

async fn receipt_of_another_citizen_is_not_found(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut owner = bundle(LOCAL);
    owner.receipts.push(receipt("PS2026112500001", TODAY));
    store
        .insert_citizens(&[owner, bundle(OTHER)])
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_receipt(&code("PS2026112500001"), &id(OTHER), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::NotFound
    );
    // The failed attempt did not spend it.
    let outcome = store
        .redeem_receipt(&code("PS2026112500001"), &id(LOCAL), TODAY)
        .await
        .unwrap();
    assert!(matches!(outcome, RedeemOutcome::Redeemed(_)), "{outcome:?}");
}

async fn receipt_expires_after_180_days(db: Arc<TestDatabase>) {
    let store = db.store();
    let mut owner = bundle(LOCAL);
    // 180 days before TODAY: the last valid day is TODAY.
    owner
        .receipts
        .push(receipt("PS-LAST-DAY", date!(2026 - 05 - 29)));
    owner
        .receipts
        .push(receipt("PS-TOO-OLD", date!(2026 - 05 - 28)));
    store.insert_citizens(&[owner]).await.unwrap();
    let outcome = store
        .redeem_receipt(&code("PS-LAST-DAY"), &id(LOCAL), TODAY)
        .await
        .unwrap();
    assert!(matches!(outcome, RedeemOutcome::Redeemed(_)), "{outcome:?}");
    assert_eq!(
        store
            .redeem_receipt(&code("PS-TOO-OLD"), &id(LOCAL), TODAY)
            .await
            .unwrap(),
        RedeemOutcome::Expired {
            last_valid_day: date!(2026 - 11 - 24)
        }
    );
    let unused = store
        .photo_receipt(&code("PS-TOO-OLD"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unused.used_on, None, "an expired receipt is left as it was");
}

async fn receipt_taken_once_under_concurrency(db: Arc<TestDatabase>) {
    let store = db.store().clone();
    let mut owner = bundle(LOCAL);
    owner.receipts.push(receipt("PS2026112500001", TODAY));
    store.insert_citizens(&[owner]).await.unwrap();
    let other_handle = db.reconnect().await.unwrap();
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 {
                store.clone()
            } else {
                other_handle.clone()
            };
            tokio::spawn(async move {
                store
                    .redeem_receipt(&code("PS2026112500001"), &id(LOCAL), TODAY)
                    .await
            })
        })
        .collect();
    let mut redeemed = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            RedeemOutcome::Redeemed(_) => redeemed += 1,
            RedeemOutcome::AlreadyUsed { used_on } => assert_eq!(used_on, TODAY),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(redeemed, 1, "exactly one caller takes the receipt");
    other_handle.close().await;
}

async fn rejected_batch_writes_nothing(db: Arc<TestDatabase>) {
    let store = db.store();
    store.insert_citizens(&[bundle(LOCAL)]).await.unwrap();
    // A new citizen and a duplicate in one batch: neither is kept.
    let err = store
        .insert_citizens(&[bundle(OTHER), bundle(LOCAL)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.count_citizens().await.unwrap(), 1);
    assert_eq!(store.citizen(&id(OTHER)).await.unwrap(), None);

    // A receipt code already taken by someone else: the citizen carrying it is not written.
    let mut first = bundle(THIRD);
    first.receipts.push(receipt("PS2026112500001", TODAY));
    store.insert_citizens(&[first]).await.unwrap();
    let mut second = bundle(OTHER);
    second.card = Some(card(CardExpiry::LongTerm));
    second.receipts.push(receipt("PS2026112500001", TODAY));
    let err = store.insert_citizens(&[second]).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.citizen(&id(OTHER)).await.unwrap(), None);
    assert_eq!(store.count_citizens().await.unwrap(), 2);
}

/// Distinct valid numbers for bulk checks: 320102 born 1990-01-01 plus `index` days.
fn numbered(index: u32) -> CitizenBundle {
    let birth = date!(1990 - 01 - 01) + time::Duration::days(i64::from(index / 500));
    let id = CitizenId::from_parts("320102", birth, (index % 500) as u16).unwrap();
    let mut bundle = bundle(id.as_str());
    bundle.card = Some(card(CardExpiry::On(date!(2030 - 01 - 01))));
    if index.is_multiple_of(3) {
        bundle.history_photos.push(HistoryPhoto {
            taken_on: date!(2016 - 12 - 01),
            jpeg: None,
        });
    }
    if index.is_multiple_of(7) {
        bundle.residence.push(ResidenceRegistration {
            city: city("320500"),
            valid_until: date!(2027 - 01 - 01),
        });
    }
    if index.is_multiple_of(11) {
        bundle
            .receipts
            .push(receipt(&format!("PS{:013}", index), TODAY));
    }
    if index.is_multiple_of(13) {
        bundle.applications.push(PopulationApplication {
            application_number: format!("A{index:08}"),
            status: ApplicationStatus::Accepted,
            applied_on: TODAY,
        });
    }
    bundle
}

async fn bulk_loads_count_every_row(db: Arc<TestDatabase>) {
    let store = db.store();
    let fast: Vec<CitizenBundle> = (0..5_000).map(numbered).collect();
    let slow: Vec<CitizenBundle> = (5_000..5_300).map(numbered).collect();
    let expected: u64 = fast.iter().map(CitizenBundle::row_count).sum();
    let mut loader = store.bulk_loader().await.unwrap();
    assert_eq!(loader.load(&fast).await.unwrap(), expected);
    let expected_slow: u64 = slow.iter().map(CitizenBundle::row_count).sum();
    assert_eq!(loader.load_row_by_row(&slow).await.unwrap(), expected_slow);
    loader.finish().await.unwrap();
    assert_eq!(store.count_citizens().await.unwrap(), 5_300);
    // A sample reads back as written, whichever path wrote it.
    for index in [0_u32, 77, 4_999, 5_005, 5_299] {
        let written = numbered(index);
        let view = store
            .citizen_view(&written.citizen.id, &city("320500"), TODAY)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.citizen, written.citizen);
        assert_eq!(view.card, written.card);
        assert_eq!(view.floating_registered, index.is_multiple_of(7));
        assert_eq!(view.history_photo, index.is_multiple_of(3));
        assert_eq!(view.application_in_progress, index.is_multiple_of(13));
    }
}

/// Reverses the bytes: enough to see that stored bytes are not the plain ones.
#[derive(Debug)]
pub(crate) struct Reversing;

impl BlobCipher for Reversing {
    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        plain.iter().rev().copied().collect()
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, BlobError> {
        Ok(sealed.iter().rev().copied().collect())
    }
}

async fn photos_pass_through_the_cipher(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(Reversing));
    let mut owner = bundle(LOCAL);
    owner.history_photos.push(HistoryPhoto {
        taken_on: date!(2016 - 12 - 01),
        jpeg: Some(b"abc".to_vec()),
    });
    owner.receipts.push(receipt("PS2026112500001", TODAY));
    sealing.insert_citizens(&[owner]).await.unwrap();
    let photo = sealing.history_photo(&id(LOCAL)).await.unwrap().unwrap();
    assert_eq!(photo.jpeg.as_deref(), Some(&b"abc"[..]));
    // Read without the cipher: the stored bytes are the sealed ones.
    let raw = db.store().history_photo(&id(LOCAL)).await.unwrap().unwrap();
    assert_eq!(raw.jpeg.as_deref(), Some(&b"cba"[..]));
    let RedeemOutcome::Redeemed(taken) = sealing
        .redeem_receipt(&code("PS2026112500001"), &id(LOCAL), TODAY)
        .await
        .unwrap()
    else {
        panic!("receipt not redeemed")
    };
    assert_eq!(
        taken.jpeg.as_deref(),
        Some(&b"\xff\xd8certified\xff\xd9"[..])
    );
}
