//! Small helpers: a seeded store, a spawned server, typed values from text.

use std::sync::Arc;

use domain::id::CitizenId;
use domain::region::KioskCity;
use popsys::seed::fixed_citizens;
use popsys::{AppState, ReceiptCode, StorePopulationSystem};
use store::testing::TestDatabase;
use time::macros::date;
use time::Date;

/// The reference date of the decision table (docs/domain.md 3.6) and of the fixed demo citizens.
pub const TODAY: Date = date!(2026 - 11 - 25);

pub fn id(text: &str) -> CitizenId {
    CitizenId::parse(text, TODAY).expect("test id is valid")
}

pub fn nanjing() -> KioskCity {
    KioskCity::parse("320100").expect("320100 is a city")
}

pub fn code(text: &str) -> ReceiptCode {
    ReceiptCode::parse(text).expect("test code is valid")
}

/// A fresh SQLite database holding the fixed demo citizens.
pub async fn seeded_sqlite() -> TestDatabase {
    let db = TestDatabase::sqlite().await.expect("sqlite test database");
    db.store()
        .insert_citizens(&fixed_citizens())
        .await
        .expect("fixed citizens load");
    db
}

/// The test client's token.
pub const TOKEN: &str = "test-client-token-0123456789";

/// The app's state on `db`, with the clock fixed at [`TODAY`], the client [`TOKEN`], and dates
/// chosen by the caller (the behaviour tests ask about other days).
pub fn state(db: &TestDatabase) -> AppState {
    let mut state = AppState::new(
        Arc::new(StorePopulationSystem::new(db.store().clone())),
        Arc::new(|| TODAY),
        popsys::ClientTokens::new([("center", TOKEN)]),
    );
    state.caller_dates = true;
    state
}

/// A client of the server at `url` with [`TOKEN`], sending its dates.
pub fn client(url: &str) -> popsys::HttpPopulationSystem {
    popsys::HttpPopulationSystem::new(url)
        .expect("client")
        .with_token(TOKEN)
        .sending_dates()
}

/// A popsys server on a free loopback port; the base URL and the task serving it.
pub async fn spawn_server(db: &TestDatabase) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let app = popsys::app(state(db));
    let task = tokio::spawn(async move {
        popsys::serve(listener, app, std::future::pending())
            .await
            .expect("serve");
    });
    (url, task)
}
