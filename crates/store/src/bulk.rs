//! Fast writes of many citizens (seeding a demo or a test register).
//!
//! One batch is one transaction. SQLite gets multi-row `INSERT … VALUES (…), (…)` statements of
//! up to a few thousand rows (bound parameters, so no quoting); PostgreSQL gets one
//! `INSERT … SELECT * FROM UNNEST($1::text[], …)` per table and batch, binding whole columns as
//! arrays. The row-per-statement path is kept as the measured baseline (`load_row_by_row`).

use sqlx::pool::PoolConnection;
use sqlx::query_builder::Separated;
use sqlx::{Connection, Postgres, QueryBuilder, Sqlite, SqliteConnection};
use time::Date;

use crate::model::{CitizenBundle, HistoryPhoto, IdCard};
use crate::rows::{sex_str, status_str};
use crate::{Pool, Store, StoreError};
use domain::rules::CardExpiry;

/// SQLite's limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
const SQLITE_MAX_PARAMS: usize = 32_766;
/// Rows per multi-row statement; beyond this, bigger statements stop paying.
const SQLITE_ROWS_PER_STATEMENT: usize = 2_000;

// ---- The baseline: one statement per row, the same SQL on both backends ---------------------

macro_rules! row_by_row {
    ($conn:expr, $bundles:expr, $sealed:expr) => {{
        let conn = $conn;
        let mut rows: u64 = 0;
        for (index, bundle) in $bundles.iter().enumerate() {
            let c = &bundle.citizen;
            let id = c.id.as_str();
            rows += sqlx::query(
                "INSERT INTO citizens (id_number, name, sex, nation_code, birth_date, address, \
                 household_region, status, remote_area) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(c.name.as_str())
            .bind(sex_str(c.sex))
            .bind(c.nation_code.as_str())
            .bind(c.birth_date)
            .bind(c.address.as_str())
            .bind(c.household_region.as_str())
            .bind(status_str(c.status))
            .bind(c.remote_area)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if let Some(card) = &bundle.card {
                rows += sqlx::query(
                    "INSERT INTO id_cards (id_number, valid_from, valid_until, status, \
                     issuing_authority) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(card.valid_from)
                .bind(card_until(card))
                .bind(card.status.as_str())
                .bind(card.issuing_authority.as_str())
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            for registration in &bundle.residence {
                rows += sqlx::query(
                    "INSERT INTO residence_registrations (id_number, city_code, valid_until) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(registration.city.code())
                .bind(registration.valid_until)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            for (photo, bytes) in bundle.history_photos.iter().zip(&$sealed.history[index]) {
                rows += sqlx::query(
                    "INSERT INTO history_photos (id_number, taken_on, photo) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(photo.taken_on)
                .bind(bytes.as_deref())
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            for (receipt, bytes) in bundle.receipts.iter().zip(&$sealed.receipts[index]) {
                rows += sqlx::query(
                    "INSERT INTO photo_receipts (code, id_number, photo, created_on, used_on) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(receipt.code.as_str())
                .bind(id)
                .bind(bytes.as_deref())
                .bind(receipt.created_on)
                .bind(receipt.used_on)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
            for application in &bundle.applications {
                rows += sqlx::query(
                    "INSERT INTO population_applications (application_number, id_number, status, \
                     applied_on) VALUES ($1, $2, $3, $4)",
                )
                .bind(application.application_number.as_str())
                .bind(id)
                .bind(application.status.as_str())
                .bind(application.applied_on)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            }
        }
        rows
    }};
}

/// A dedicated connection for loading many citizens, with settings for speed.
///
/// On SQLite, `synchronous = OFF` and a large page cache while loading (a crash mid-load can lose
/// the last batches, never corrupt earlier ones: the journal stays WAL); on PostgreSQL
/// `synchronous_commit = off`. The connection is closed when the loader is dropped or finished,
/// so those settings never leak into the pool.
pub struct BulkLoader {
    store: Store,
    conn: Conn,
}

enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Store {
    /// A [`BulkLoader`] tuned for speed (see there).
    pub async fn bulk_loader(&self) -> Result<BulkLoader, StoreError> {
        self.bulk_loader_with(true).await
    }

    pub(crate) async fn bulk_loader_with(&self, tuned: bool) -> Result<BulkLoader, StoreError> {
        let conn = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                if tuned {
                    conn.close_on_drop();
                    for pragma in [
                        "PRAGMA synchronous = OFF",
                        "PRAGMA cache_size = -1048576",
                        "PRAGMA temp_store = MEMORY",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                Conn::Sqlite(conn)
            }
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                if tuned {
                    conn.close_on_drop();
                    sqlx::query("SET synchronous_commit = off")
                        .execute(&mut *conn)
                        .await?;
                }
                Conn::Postgres(conn)
            }
        };
        Ok(BulkLoader {
            store: self.clone(),
            conn,
        })
    }
}

/// The photo bytes of a bundle, sealed once, kept alive for the statements that bind them.
struct Sealed {
    history: Vec<Vec<Option<Vec<u8>>>>,
    receipts: Vec<Vec<Option<Vec<u8>>>>,
}

impl Sealed {
    fn new(store: &Store, bundles: &[CitizenBundle]) -> Sealed {
        Sealed {
            history: bundles
                .iter()
                .map(|b| {
                    b.history_photos
                        .iter()
                        .map(|p| store.seal(p.jpeg.as_deref()))
                        .collect()
                })
                .collect(),
            receipts: bundles
                .iter()
                .map(|b| {
                    b.receipts
                        .iter()
                        .map(|r| store.seal(r.jpeg.as_deref()))
                        .collect()
                })
                .collect(),
        }
    }
}

fn card_until(card: &IdCard) -> Option<Date> {
    match card.valid_until {
        CardExpiry::On(date) => Some(date),
        CardExpiry::LongTerm => None,
    }
}

impl BulkLoader {
    /// Writes `bundles` in one transaction with multi-row statements; all or nothing. Returns the
    /// number of rows written.
    pub async fn load(&mut self, bundles: &[CitizenBundle]) -> Result<u64, StoreError> {
        let sealed = Sealed::new(&self.store, bundles);
        match &mut self.conn {
            Conn::Sqlite(conn) => load_sqlite(conn, bundles, &sealed).await,
            Conn::Postgres(conn) => load_postgres(conn, bundles, &sealed).await,
        }
    }

    /// The baseline: the same rows, one `INSERT` statement per row, in one transaction.
    pub async fn load_row_by_row(&mut self, bundles: &[CitizenBundle]) -> Result<u64, StoreError> {
        let sealed = Sealed::new(&self.store, bundles);
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                let rows = row_by_row!(&mut *tx, bundles, sealed);
                tx.commit().await?;
                Ok(rows)
            }
            Conn::Postgres(conn) => {
                let mut tx = conn.begin().await?;
                let rows = row_by_row!(&mut *tx, bundles, sealed);
                tx.commit().await?;
                Ok(rows)
            }
        }
    }

    /// Ends the load: on SQLite, folds the write-ahead log back into the database file.
    pub async fn finish(self) -> Result<(), StoreError> {
        if let Conn::Sqlite(mut conn) = self.conn {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

// ---- SQLite: multi-row VALUES --------------------------------------------------------------

async fn insert_sqlite<'a, T>(
    conn: &mut SqliteConnection,
    head: &str,
    columns: usize,
    items: &'a [T],
    mut bind: impl FnMut(Separated<'_, 'a, Sqlite, &'static str>, &'a T),
) -> Result<u64, StoreError> {
    let per_statement = (SQLITE_MAX_PARAMS / columns).min(SQLITE_ROWS_PER_STATEMENT);
    let mut rows = 0;
    for chunk in items.chunks(per_statement) {
        let mut builder: QueryBuilder<'a, Sqlite> = QueryBuilder::new(head);
        builder.push_values(chunk, &mut bind);
        rows += builder.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(rows)
}

async fn load_sqlite(
    conn: &mut SqliteConnection,
    bundles: &[CitizenBundle],
    sealed: &Sealed,
) -> Result<u64, StoreError> {
    let mut tx = conn.begin().await?;
    let mut rows = 0;

    let citizens: Vec<&CitizenBundle> = bundles.iter().collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO citizens (id_number, name, sex, nation_code, birth_date, address, \
         household_region, status, remote_area) ",
        9,
        &citizens,
        |mut b, bundle| {
            let c = &bundle.citizen;
            b.push_bind(c.id.as_str())
                .push_bind(c.name.as_str())
                .push_bind(sex_str(c.sex))
                .push_bind(c.nation_code.as_str())
                .push_bind(c.birth_date)
                .push_bind(c.address.as_str())
                .push_bind(c.household_region.as_str())
                .push_bind(status_str(c.status))
                .push_bind(c.remote_area);
        },
    )
    .await?;

    let cards: Vec<(&str, &IdCard)> = bundles
        .iter()
        .filter_map(|b| b.card.as_ref().map(|card| (b.citizen.id.as_str(), card)))
        .collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO id_cards (id_number, valid_from, valid_until, status, issuing_authority) ",
        5,
        &cards,
        |mut b, (id, card)| {
            b.push_bind(*id)
                .push_bind(card.valid_from)
                .push_bind(card_until(card))
                .push_bind(card.status.as_str())
                .push_bind(card.issuing_authority.as_str());
        },
    )
    .await?;

    let residence: Vec<(&str, &str, Date)> = bundles
        .iter()
        .flat_map(|b| {
            b.residence
                .iter()
                .map(|r| (b.citizen.id.as_str(), r.city.code(), r.valid_until))
        })
        .collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO residence_registrations (id_number, city_code, valid_until) ",
        3,
        &residence,
        |mut b, (id, city, until)| {
            b.push_bind(*id).push_bind(*city).push_bind(*until);
        },
    )
    .await?;

    let history: Vec<(&str, &HistoryPhoto, &Option<Vec<u8>>)> = bundles
        .iter()
        .zip(&sealed.history)
        .flat_map(|(b, photos)| {
            b.history_photos
                .iter()
                .zip(photos)
                .map(|(p, bytes)| (b.citizen.id.as_str(), p, bytes))
        })
        .collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO history_photos (id_number, taken_on, photo) ",
        3,
        &history,
        |mut b, (id, photo, bytes)| {
            b.push_bind(*id)
                .push_bind(photo.taken_on)
                .push_bind(bytes.as_deref());
        },
    )
    .await?;

    let receipts: Vec<(&str, &crate::NewReceipt, &Option<Vec<u8>>)> = bundles
        .iter()
        .zip(&sealed.receipts)
        .flat_map(|(b, sealed)| {
            b.receipts
                .iter()
                .zip(sealed)
                .map(|(r, bytes)| (b.citizen.id.as_str(), r, bytes))
        })
        .collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO photo_receipts (code, id_number, photo, created_on, used_on) ",
        5,
        &receipts,
        |mut b, (id, receipt, bytes)| {
            b.push_bind(receipt.code.as_str())
                .push_bind(*id)
                .push_bind(bytes.as_deref())
                .push_bind(receipt.created_on)
                .push_bind(receipt.used_on);
        },
    )
    .await?;

    let applications: Vec<(&str, &crate::PopulationApplication)> = bundles
        .iter()
        .flat_map(|b| b.applications.iter().map(|a| (b.citizen.id.as_str(), a)))
        .collect();
    rows += insert_sqlite(
        &mut tx,
        "INSERT INTO population_applications (application_number, id_number, status, applied_on) ",
        4,
        &applications,
        |mut b, (id, application)| {
            b.push_bind(application.application_number.as_str())
                .push_bind(*id)
                .push_bind(application.status.as_str())
                .push_bind(application.applied_on);
        },
    )
    .await?;

    tx.commit().await?;
    Ok(rows)
}

// ---- PostgreSQL: whole columns as arrays through UNNEST ------------------------------------

async fn load_postgres(
    conn: &mut sqlx::PgConnection,
    bundles: &[CitizenBundle],
    sealed: &Sealed,
) -> Result<u64, StoreError> {
    let mut tx = conn.begin().await?;
    let mut rows = 0;

    let ids: Vec<&str> = bundles.iter().map(|b| b.citizen.id.as_str()).collect();
    rows += sqlx::query(
        "INSERT INTO citizens (id_number, name, sex, nation_code, birth_date, address, \
         household_region, status, remote_area) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], \
                              $6::text[], $7::text[], $8::text[], $9::bool[])",
    )
    .bind(&ids)
    .bind(column(bundles, |b| b.citizen.name.as_str()))
    .bind(column(bundles, |b| sex_str(b.citizen.sex)))
    .bind(column(bundles, |b| b.citizen.nation_code.as_str()))
    .bind(column(bundles, |b| b.citizen.birth_date))
    .bind(column(bundles, |b| b.citizen.address.as_str()))
    .bind(column(bundles, |b| b.citizen.household_region.as_str()))
    .bind(column(bundles, |b| status_str(b.citizen.status)))
    .bind(column(bundles, |b| b.citizen.remote_area))
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let cards: Vec<(&str, &IdCard)> = bundles
        .iter()
        .filter_map(|b| b.card.as_ref().map(|card| (b.citizen.id.as_str(), card)))
        .collect();
    if !cards.is_empty() {
        rows += sqlx::query(
            "INSERT INTO id_cards (id_number, valid_from, valid_until, status, issuing_authority) \
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::date[], $4::text[], $5::text[])",
        )
        .bind(column(&cards, |(id, _)| *id))
        .bind(column(&cards, |(_, c)| c.valid_from))
        .bind(column(&cards, |(_, c)| card_until(c)))
        .bind(column(&cards, |(_, c)| c.status.as_str()))
        .bind(column(&cards, |(_, c)| c.issuing_authority.as_str()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    let residence: Vec<(&str, &str, Date)> = bundles
        .iter()
        .flat_map(|b| {
            b.residence
                .iter()
                .map(|r| (b.citizen.id.as_str(), r.city.code(), r.valid_until))
        })
        .collect();
    if !residence.is_empty() {
        rows += sqlx::query(
            "INSERT INTO residence_registrations (id_number, city_code, valid_until) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::date[])",
        )
        .bind(column(&residence, |r| r.0))
        .bind(column(&residence, |r| r.1))
        .bind(column(&residence, |r| r.2))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    let history: Vec<(&str, Date, Option<&[u8]>)> = bundles
        .iter()
        .zip(&sealed.history)
        .flat_map(|(b, photos)| {
            b.history_photos
                .iter()
                .zip(photos)
                .map(|(p, bytes)| (b.citizen.id.as_str(), p.taken_on, bytes.as_deref()))
        })
        .collect();
    if !history.is_empty() {
        rows += sqlx::query(
            "INSERT INTO history_photos (id_number, taken_on, photo) \
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::bytea[])",
        )
        .bind(column(&history, |h| h.0))
        .bind(column(&history, |h| h.1))
        .bind(column(&history, |h| h.2))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    let receipts: Vec<(&str, &crate::NewReceipt, Option<&[u8]>)> = bundles
        .iter()
        .zip(&sealed.receipts)
        .flat_map(|(b, sealed)| {
            b.receipts
                .iter()
                .zip(sealed)
                .map(|(r, bytes)| (b.citizen.id.as_str(), r, bytes.as_deref()))
        })
        .collect();
    if !receipts.is_empty() {
        rows += sqlx::query(
            "INSERT INTO photo_receipts (code, id_number, photo, created_on, used_on) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::date[], $5::date[])",
        )
        .bind(column(&receipts, |r| r.1.code.as_str()))
        .bind(column(&receipts, |r| r.0))
        .bind(column(&receipts, |r| r.2))
        .bind(column(&receipts, |r| r.1.created_on))
        .bind(column(&receipts, |r| r.1.used_on))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    let applications: Vec<(&str, &crate::PopulationApplication)> = bundles
        .iter()
        .flat_map(|b| b.applications.iter().map(|a| (b.citizen.id.as_str(), a)))
        .collect();
    if !applications.is_empty() {
        rows += sqlx::query(
            "INSERT INTO population_applications (application_number, id_number, status, \
             applied_on) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[])",
        )
        .bind(column(&applications, |a| a.1.application_number.as_str()))
        .bind(column(&applications, |a| a.0))
        .bind(column(&applications, |a| a.1.status.as_str()))
        .bind(column(&applications, |a| a.1.applied_on))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    tx.commit().await?;
    Ok(rows)
}

fn column<'a, T, U>(items: &'a [T], field: impl Fn(&'a T) -> U) -> Vec<U> {
    items.iter().map(field).collect()
}
