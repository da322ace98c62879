//! The demo data generator: deterministic, every number valid and unique, the mix of cases the
//! demo needs, and `seed` writing it all.

use std::collections::HashSet;

use domain::id::CitizenId;
use domain::region::KioskCity;
use domain::rules::{age_on, CardExpiry, RecordStatus};
use popsys::seed::{demo, fixed_citizens, seed, Generator, LoadPath, SeedConfig, SeedError};
use store::testing::{self, TestDatabase};
use store::CitizenBundle;
use time::macros::date;

use crate::helpers::{nanjing, TODAY};

fn config(seed: u64) -> SeedConfig {
    SeedConfig::new(1_000, seed, nanjing(), TODAY)
}

fn generate(seed: u64, n: usize) -> Vec<CitizenBundle> {
    let mut generator = Generator::new(&config(seed)).unwrap();
    (0..n).map(|_| generator.next_citizen()).collect()
}

#[test]
fn same_seed_same_citizens() {
    let first = generate(7, 500);
    assert_eq!(first, generate(7, 500));
    // A longer run starts with the same rows.
    assert_eq!(&generate(7, 1_500)[..500], &first[..]);
    assert_ne!(first, generate(8, 500));
}

#[test]
fn every_number_parses_and_none_repeats() {
    let citizens = generate(1, 20_000);
    let fixed: HashSet<String> = fixed_citizens()
        .iter()
        .map(|b| b.citizen.id.as_str().to_owned())
        .collect();
    let mut seen = HashSet::new();
    for bundle in &citizens {
        let text = bundle.citizen.id.as_str();
        let parsed = CitizenId::parse(text, TODAY).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.sex(), bundle.citizen.sex, "{text}");
        assert_eq!(parsed.birth_date(), bundle.citizen.birth_date, "{text}");
        assert!(seen.insert(text.to_owned()), "{text} repeats");
        assert!(!fixed.contains(text), "{text} is a fixed demo number");
        if let Some(card) = &bundle.card {
            if let CardExpiry::On(until) = card.valid_until {
                assert!(until > card.valid_from, "{text}");
            }
            assert!(card.valid_from <= TODAY, "{text}");
        }
    }
}

#[test]
fn the_mix_has_every_case_the_demo_needs() {
    let citizens = generate(1, 20_000);
    let city = nanjing();
    let count = |predicate: &dyn Fn(&CitizenBundle) -> bool| {
        citizens.iter().filter(|b| predicate(b)).count()
    };
    let share = |n: usize| n as f64 / citizens.len() as f64;
    let age = |b: &CitizenBundle| age_on(b.citizen.birth_date, TODAY);
    let local = count(&|b| city.contains(&b.citizen.household_region));
    let province = count(&|b| {
        city.same_province(&b.citizen.household_region)
            && !city.contains(&b.citizen.household_region)
    });
    let outside = citizens.len() - local - province;
    assert!((0.55..0.65).contains(&share(local)), "local {local}");
    assert!(
        (0.24..0.32).contains(&share(province)),
        "province {province}"
    );
    assert!((0.09..0.15).contains(&share(outside)), "outside {outside}");
    let expiry = |b: &CitizenBundle| match b.card.as_ref().map(|c| c.valid_until) {
        Some(CardExpiry::On(date)) => Some(date),
        _ => None,
    };
    let in_window = count(&|b| {
        expiry(b).is_some_and(|until| {
            until >= TODAY && until <= domain::rules::add_months_clamped(TODAY, 6)
        })
    });
    let expired_long_ago = count(&|b| expiry(b).is_some_and(|until| until < date!(2025 - 11 - 25)));
    let long_term = count(&|b| {
        b.card
            .as_ref()
            .is_some_and(|c| c.valid_until == CardExpiry::LongTerm)
    });
    let under_16 = count(&|b| age(b) < 16);
    let floating = count(&|b| !b.residence.is_empty());
    let province_unregistered = count(&|b| {
        city.same_province(&b.citizen.household_region)
            && !city.contains(&b.citizen.household_region)
            && b.residence.is_empty()
    });
    let receipts = count(&|b| !b.receipts.is_empty());
    let in_progress = count(&|b| b.applications.iter().any(|a| a.status.in_progress()));
    let not_normal = count(&|b| b.citizen.status != RecordStatus::Normal);
    let compound = count(&|b| {
        domain::mask::COMPOUND_SURNAMES
            .iter()
            .any(|s| b.citizen.name.starts_with(s))
    });
    let names: HashSet<&str> = citizens.iter().map(|b| b.citizen.name.as_str()).collect();
    for (what, n, low, high) in [
        ("in the renewal window", in_window, 0.015, 0.10),
        ("expired over a year ago", expired_long_ago, 0.01, 0.06),
        ("long-term", long_term, 0.25, 0.50),
        ("under 16", under_16, 0.10, 0.20),
        ("floating registered", floating, 0.15, 0.30),
        (
            "province, not registered",
            province_unregistered,
            0.05,
            0.15,
        ),
        ("with a receipt", receipts, 0.03, 0.08),
        ("application in progress", in_progress, 0.01, 0.05),
        ("record not normal", not_normal, 0.01, 0.03),
        ("compound surname", compound, 0.0005, 0.01),
    ] {
        assert!(
            (low..high).contains(&share(n)),
            "{what}: {n} of {} ({:.3})",
            citizens.len(),
            share(n)
        );
    }
    assert!(
        names.len() > 5_000,
        "names repeat too much: {}",
        names.len()
    );
}

#[test]
fn a_municipality_seeds_without_province_residents() {
    let beijing = KioskCity::parse("110100").unwrap();
    let mut generator = Generator::new(&SeedConfig::new(100, 1, beijing.clone(), TODAY)).unwrap();
    for _ in 0..500 {
        let bundle = generator.next_citizen();
        let region = &bundle.citizen.household_region;
        assert!(
            beijing.contains(region) || !beijing.same_province(region),
            "{region}"
        );
    }
}

async fn seed_and_check(db: &TestDatabase, path: LoadPath) {
    let store = db.store();
    let mut config = config(3);
    config.citizens = 2_500;
    config.batch_size = 1_000;
    let mut reports = 0;
    let summary = seed(store, &config, path, |_| reports += 1).await.unwrap();
    assert_eq!(reports, 3);
    let fixed = fixed_citizens().len() as u64;
    assert_eq!(summary.citizens, 2_500 + fixed);
    assert_eq!(summary.fixed_citizens, fixed);
    assert_eq!(store.count_citizens().await.unwrap(), 2_500 + fixed);
    let mut generator = Generator::new(&config).unwrap();
    let expected_rows: u64 = fixed_citizens()
        .iter()
        .chain(
            &(0..2_500)
                .map(|_| generator.next_citizen())
                .collect::<Vec<_>>(),
        )
        .map(CitizenBundle::row_count)
        .sum();
    assert_eq!(summary.rows, expected_rows);
    assert_eq!(summary.backend, store.backend().as_str());
    // The first generated citizen reads back as generated.
    let first = Generator::new(&config).unwrap().next_citizen();
    let read = store.citizen(&first.citizen.id).await.unwrap().unwrap();
    assert_eq!(read, first.citizen);
    assert!(store
        .citizen(&crate::helpers::id(demo::RENEWAL_IN_WINDOW))
        .await
        .unwrap()
        .is_some());
    // A second seed into the same database is refused, and writes nothing.
    let err = seed(store, &config, path, |_| ()).await.unwrap_err();
    assert!(
        matches!(err, SeedError::NotEmpty(n) if n == 2_500 + fixed),
        "{err:?}"
    );
}

#[tokio::test]
async fn seed_writes_everything_on_sqlite() {
    let db = TestDatabase::sqlite().await.unwrap();
    seed_and_check(&db, LoadPath::MultiRow).await;
    db.finish().await;
    let db = TestDatabase::sqlite().await.unwrap();
    seed_and_check(&db, LoadPath::RowByRow).await;
    db.finish().await;
    testing::report("popsys seed: sqlite ok");
}

#[tokio::test]
async fn seed_writes_everything_on_postgres() {
    let Some(url) = testing::postgres_url("popsys seed") else {
        return;
    };
    for path in [LoadPath::MultiRow, LoadPath::RowByRow] {
        let db = TestDatabase::postgres(&url).await.unwrap();
        seed_and_check(&db, path).await;
        db.finish().await;
    }
    testing::report("popsys seed: postgres ok");
}
