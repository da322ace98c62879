//! Throughput of the scope decision on one core, against the ID parse that precedes it in a real
//! request (the baseline): `cargo bench -p domain --bench decide`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use domain::rules::{
    decide, Business, CardExpiry, CardOnReader, Household, PopulationRecord, RecordStatus,
    ScopeCase,
};
use domain::{CitizenId, KioskCity};
use time::macros::date;

fn case() -> ScopeCase {
    let today = date!(2026 - 11 - 25);
    let id = CitizenId::parse("320104200012100044", today).expect("valid");
    ScopeCase {
        today,
        kiosk_city: KioskCity::parse("320100").expect("南京市"),
        business: Business::ExpiryRenewal,
        household: Household::Local,
        card: Some(CardOnReader {
            id: id.clone(),
            valid_from: date!(2016 - 12 - 20),
            valid_until: CardExpiry::On(date!(2026 - 12 - 20)),
        }),
        id,
        record: Some(PopulationRecord {
            status: RecordStatus::Normal,
            household_region: "320104".to_owned(),
            floating_registered: false,
            history_photo: true,
            application_in_progress: false,
            remote_area: false,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let case = case();
    let mut group = c.benchmark_group("scope");
    group.throughput(Throughput::Elements(1));
    // The full path to an acceptance: every check runs.
    group.bench_function("decide", |b| b.iter(|| decide(black_box(&case))));
    // Baseline: parsing the number alone.
    group.bench_function("parse_id", |b| {
        b.iter(|| CitizenId::parse(black_box("320104200012100044"), black_box(case.today)))
    });
    // What a request costs end to end in the domain: parse, then decide.
    group.bench_function("parse_and_decide", |b| {
        b.iter_batched_ref(
            || case.clone(),
            |case| {
                case.id =
                    CitizenId::parse(black_box("320104200012100044"), case.today).expect("valid");
                decide(case)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
