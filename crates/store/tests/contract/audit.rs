//! The store contract for the audit chain (`store::audit`, migration `0006_staff_audit`), on both
//! backends like the rest of the suite: `store contract (audit): <backend> ok (<n> checks)`.
//! Entries read back as appended, chained from entry 1; concurrent appends from two handles never
//! fork the chain; an entry edited, removed or added behind the store's back is named by
//! `verify_audit`, and a chain emptied or rewound by `verify_audit_anchored`.

use std::sync::Arc;

use store::audit::checkpoint::Checkpoint;
use store::audit::{AuditEntry, NewAuditEntry, Verification, GENESIS};
use store::testing::{self, TestDatabase};

use super::behind_the_store;

super::checks!(
    AUDIT_CHECKS:
    chain_verifies_and_concurrent_appends_do_not_fork,
    entries_read_back_as_appended_and_chained,
    an_edited_entry_breaks_the_chain_at_it,
    removed_entries_are_named_also_after_later_appends,
    an_entry_added_behind_the_store_is_named,
    an_emptied_chain_fails_only_against_its_checkpoint,
);

async fn run_audit_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks("store contract (audit)", AUDIT_CHECKS, backend, admin_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_audit_sqlite() {
    run_audit_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_audit_postgres() {
    if let Some(url) = testing::postgres_url("store contract (audit)") {
        run_audit_suite("postgres", Some(url)).await;
    }
}

// ---- helpers --------------------------------------------------------------------------------

fn entry(n: i64) -> NewAuditEntry {
    NewAuditEntry {
        at: 1_700_000_000 + n,
        actor: "clerk1".into(),
        role: "window_clerk".into(),
        action: "view_record".into(),
        subject: format!("32010020261125{n:04}"),
        detail: String::new(),
    }
}

/// Appends entries `1..=n` one after the other; what the store returned.
async fn appended(db: &TestDatabase, n: i64) -> Vec<AuditEntry> {
    let mut stored = Vec::new();
    for i in 1..=n {
        stored.push(db.store().append_audit(&entry(i)).await.unwrap());
    }
    stored
}

/// The entry at which the chain is broken, or `None` when it is intact.
async fn broken_at(db: &TestDatabase) -> Option<i64> {
    match db.store().verify_audit().await.unwrap() {
        Verification::Intact { .. } => None,
        Verification::Broken { entry, .. } => Some(entry),
    }
}

// ---- checks ---------------------------------------------------------------------------------

/// Moved from `store::audit`'s unit tests; the appends now come through two handles (two
/// replicas) at once.
async fn chain_verifies_and_concurrent_appends_do_not_fork(db: Arc<TestDatabase>) {
    let store = db.store().clone();
    let replica = db.reconnect().await.unwrap();
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 0 }
    );
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = if n % 2 == 0 {
            store.clone()
        } else {
            replica.clone()
        };
        tasks.push(tokio::spawn(async move {
            store.append_audit(&entry(n)).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>(), "one seq each");
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 20 }
    );
    replica.close().await;
}

async fn entries_read_back_as_appended_and_chained(db: Arc<TestDatabase>) {
    let store = db.store();
    assert_eq!(store.audit_head().await.unwrap(), None);
    let detail = NewAuditEntry {
        detail: "photo \"live\", 第二张".into(),
        ..entry(4)
    };
    let mut stored = appended(&db, 3).await;
    stored.push(store.append_audit(&detail).await.unwrap());
    let mut prev = GENESIS.to_owned();
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
        assert_eq!(
            e.prev_hash, prev,
            "entry {} chains from the one before",
            e.seq
        );
        assert_eq!(e.hash, e.expected_hash());
        assert_eq!(e.hash.len(), 64);
        prev = e.hash.clone();
    }
    assert_eq!(stored[3].detail, detail.detail);
    assert_eq!(
        store.audit_head().await.unwrap(),
        Some((4, stored[3].hash.clone()))
    );
    // Read back, oldest first within [from, to), at most `limit`.
    assert_eq!(store.audit_entries(0, i64::MAX, 100).await.unwrap(), stored);
    assert_eq!(
        store
            .audit_entries(1_700_000_002, 1_700_000_004, 100)
            .await
            .unwrap(),
        stored[1..3]
    );
    assert_eq!(
        store.audit_entries(0, i64::MAX, 2).await.unwrap(),
        stored[..2]
    );
    let newest: Vec<AuditEntry> = stored.iter().rev().take(2).cloned().collect();
    assert_eq!(store.latest_audit_entries(2).await.unwrap(), newest);
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 4 }
    );
}

async fn an_edited_entry_breaks_the_chain_at_it(db: Arc<TestDatabase>) {
    appended(&db, 3).await;
    assert_eq!(broken_at(&db).await, None);
    let edited = behind_the_store(
        &db,
        "UPDATE audit_log SET subject = '320100202611259999' WHERE seq = 2",
    )
    .await;
    assert_eq!(edited, 1);
    assert_eq!(broken_at(&db).await, Some(2));
}

async fn removed_entries_are_named_also_after_later_appends(db: Arc<TestDatabase>) {
    appended(&db, 5).await;
    // The newest entry removed: the head still counts five.
    assert_eq!(
        behind_the_store(&db, "DELETE FROM audit_log WHERE seq = 5").await,
        1
    );
    assert_eq!(broken_at(&db).await, Some(5));
    // The next append follows the head, so the gap stays visible.
    let next = db.store().append_audit(&entry(6)).await.unwrap();
    assert_eq!(next.seq, 6);
    assert_eq!(broken_at(&db).await, Some(5));
    // One in the middle.
    assert_eq!(
        behind_the_store(&db, "DELETE FROM audit_log WHERE seq = 2").await,
        1
    );
    assert_eq!(broken_at(&db).await, Some(2));
}

async fn an_entry_added_behind_the_store_is_named(db: Arc<TestDatabase>) {
    let stored = appended(&db, 2).await;
    // A well-formed third entry, chained and hashed, but the head was not moved.
    let forged = store::audit::entry_hash(
        3,
        1_700_000_003,
        "clerk1",
        "window_clerk",
        "view_record",
        "320100202611250003",
        "",
        &stored[1].hash,
    );
    let insert = format!(
        "INSERT INTO audit_log (seq, at, actor, role, action, subject, detail, prev_hash, hash) \
         VALUES (3, 1700000003, 'clerk1', 'window_clerk', 'view_record', '320100202611250003', \
         '', '{}', '{forged}')",
        stored[1].hash
    );
    assert_eq!(behind_the_store(&db, &insert).await, 1);
    assert_eq!(broken_at(&db).await, Some(3));
}

async fn an_emptied_chain_fails_only_against_its_checkpoint(db: Arc<TestDatabase>) {
    let stored = appended(&db, 3).await;
    let checkpoint = Checkpoint {
        at: 1_700_000_010,
        entries: 3,
        head: stored[2].hash.clone(),
    };
    let store = db.store();
    assert_eq!(
        store
            .verify_audit_anchored(std::slice::from_ref(&checkpoint))
            .await
            .unwrap(),
        Verification::Intact { entries: 3 }
    );
    assert_eq!(
        behind_the_store(&db, "DELETE FROM audit_log").await
            + behind_the_store(&db, "DELETE FROM audit_head").await,
        4
    );
    // The chain alone cannot tell…
    assert_eq!(
        store.verify_audit().await.unwrap(),
        Verification::Intact { entries: 0 }
    );
    // …the checkpoint can.
    match store
        .verify_audit_anchored(std::slice::from_ref(&checkpoint))
        .await
        .unwrap()
    {
        Verification::Broken { entry, why } => {
            assert_eq!(entry, 1);
            assert!(why.contains("emptied"), "{why}");
        }
        intact => panic!("an emptied chain passed its checkpoint: {intact:?}"),
    }
}
