//! The store contract for staff accounts (`store::staff`, migration `0011_staff_hardening`), on
//! both backends like the rest of the suite: `store contract (staff): <backend> ok (<n> checks)`.
//! Each check is a regression of issue 14: names were case-sensitive, a password change left
//! sessions open, there was no disabled account, and unknown names never locked.

use std::sync::Arc;

use store::staff::{token_hash, Role};
use store::testing::{self, TestDatabase};
use store::StoreError;

super::checks!(
    STAFF_CHECKS:
    user_names_are_case_insensitive,
    a_password_change_ends_every_session_of_the_account,
    a_disabled_account_has_no_sessions_until_enabled,
    unknown_names_count_failures_and_lock_like_accounts,
);

async fn run_staff_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks("store contract (staff)", STAFF_CHECKS, backend, admin_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_staff_sqlite() {
    run_staff_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_staff_postgres() {
    if let Some(url) = testing::postgres_url("store contract (staff)") {
        run_staff_suite("postgres", Some(url)).await;
    }
}

const NOW: i64 = 1_795_000_000;
const PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";

async fn session(db: &TestDatabase, token: &str, username: &str) {
    db.store()
        .create_staff_session(&token_hash(token), username, "csrf", NOW, NOW + 1800)
        .await
        .unwrap();
}

async fn live(db: &TestDatabase, token: &str) -> bool {
    db.store()
        .staff_session(&token_hash(token), NOW + 1)
        .await
        .unwrap()
        .is_some()
}

async fn user_names_are_case_insensitive(db: Arc<TestDatabase>) {
    let store = db.store();
    store
        .create_staff_user("Clerk1", Role::WindowClerk, PHC, NOW)
        .await
        .unwrap();
    for other in ["clerk1", "CLERK1", "cLeRk1"] {
        let err = store
            .create_staff_user(other, Role::Auditor, PHC, NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{other}: {err:?}");
        let found = store.staff_user(other).await.unwrap().expect(other);
        assert_eq!(found.username, "Clerk1", "the stored spelling");
    }
    assert_eq!(store.staff_users().await.unwrap().len(), 1);
    // Lockout counted under any spelling.
    for name in ["clerk1", "CLERK1"] {
        assert!(!store
            .record_staff_login_failure(name, NOW, 3, 900)
            .await
            .unwrap());
    }
    assert!(store
        .record_staff_login_failure("Clerk1", NOW, 3, 900)
        .await
        .unwrap());
    assert_eq!(
        store
            .staff_user("clerk1")
            .await
            .unwrap()
            .unwrap()
            .locked_until,
        Some(NOW + 900)
    );
    store.clear_staff_login_failures("CLERK1").await.unwrap();
    assert_eq!(
        store
            .staff_user("clerk1")
            .await
            .unwrap()
            .unwrap()
            .locked_until,
        None
    );
    assert!(store.set_staff_password("CLERK1", PHC).await.unwrap());
}

async fn a_password_change_ends_every_session_of_the_account(db: Arc<TestDatabase>) {
    let store = db.store();
    store
        .create_staff_user("clerk1", Role::WindowClerk, PHC, NOW)
        .await
        .unwrap();
    store
        .create_staff_user("audit1", Role::Auditor, PHC, NOW)
        .await
        .unwrap();
    session(&db, "a", "clerk1").await;
    session(&db, "b", "clerk1").await;
    session(&db, "c", "audit1").await;
    assert_eq!(store.staff_session_count("CLERK1").await.unwrap(), 2);
    assert!(store.set_staff_password("Clerk1", PHC).await.unwrap());
    assert!(!live(&db, "a").await && !live(&db, "b").await);
    assert!(live(&db, "c").await, "another account's session stays");
    assert_eq!(store.staff_session_count("clerk1").await.unwrap(), 0);
    assert!(!store.set_staff_password("nobody", PHC).await.unwrap());
}

async fn a_disabled_account_has_no_sessions_until_enabled(db: Arc<TestDatabase>) {
    let store = db.store();
    store
        .create_staff_user("clerk1", Role::WindowClerk, PHC, NOW)
        .await
        .unwrap();
    session(&db, "a", "clerk1").await;
    assert!(store.set_staff_disabled("CLERK1", true, NOW).await.unwrap());
    assert!(!live(&db, "a").await);
    let user = store.staff_user("clerk1").await.unwrap().unwrap();
    assert_eq!(user.disabled_at, Some(NOW));
    // A session created while disabled (a login racing the disable) is not served.
    session(&db, "b", "clerk1").await;
    assert!(!live(&db, "b").await);
    assert!(store
        .set_staff_disabled("clerk1", false, NOW)
        .await
        .unwrap());
    assert_eq!(
        store
            .staff_user("clerk1")
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    session(&db, "c", "clerk1").await;
    assert!(live(&db, "c").await);
    assert!(!store.set_staff_disabled("nobody", true, NOW).await.unwrap());
}

async fn unknown_names_count_failures_and_lock_like_accounts(db: Arc<TestDatabase>) {
    let store = db.store();
    assert_eq!(store.unknown_staff_login("ghost").await.unwrap(), None);
    for attempt in 1..=4 {
        assert!(!store
            .record_unknown_staff_login_failure(
                if attempt % 2 == 0 { "GHOST" } else { "ghost" },
                NOW,
                5,
                900
            )
            .await
            .unwrap());
    }
    assert!(store
        .record_unknown_staff_login_failure("Ghost", NOW, 5, 900)
        .await
        .unwrap());
    let ghost = store.unknown_staff_login("gHoSt").await.unwrap().unwrap();
    assert_eq!(ghost.name, "ghost");
    assert_eq!(ghost.locked_until, Some(NOW + 900));
    assert_eq!(
        ghost.failed_logins, 0,
        "the count starts again, as for accounts"
    );
    // Housekeeping keeps a name while it is locked, then forgets it.
    assert_eq!(store.purge_unknown_staff_logins(NOW + 60).await.unwrap(), 0);
    assert_eq!(
        store.purge_unknown_staff_logins(NOW + 901).await.unwrap(),
        1
    );
    assert_eq!(store.unknown_staff_login("ghost").await.unwrap(), None);
}
