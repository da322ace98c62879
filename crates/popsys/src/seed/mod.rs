//! Demo citizens: a deterministic generator of realistic population records, the fixed well-known
//! citizens the demo and the tests rely on ([`demo`]), and [`seed`], which writes both through
//! the store's bulk loader with a generator thread feeding the database task.
//!
//! Determinism: the same seed, city and reference date give the same citizens in the same order,
//! whatever the batch size or the number asked for (the first rows of a run of 1,000 are the
//! first rows of a run of 1,000,000). Every generated ID number is built with
//! `CitizenId::from_parts`, so its check character is right, and none repeats.

mod faces;
mod fixed;
mod names;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use domain::id::{CitizenId, Sex};
use domain::region::{self, KioskCity, Region, RegionLevel};
use domain::rules::{add_months_clamped, age_on, CardExpiry, NewCardValidity, RecordStatus};
use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use store::{
    ApplicationStatus, BulkLoader, CardStatus, Citizen, CitizenBundle, HistoryPhoto, IdCard,
    NewReceipt, PopulationApplication, ReceiptCode, ResidenceRegistration, Store, StoreError,
};
use time::{Date, Duration as Days};

pub use fixed::{demo, fixed_citizens};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedConfig {
    /// How many generated citizens (the fixed demo citizens come on top).
    pub citizens: u64,
    /// The random seed.
    pub seed: u64,
    /// The kiosk city: its districts are "local", the rest of its province "province".
    pub city: KioskCity,
    /// The reference date: ages, card validity and registrations are relative to it.
    pub today: Date,
    /// Citizens per transaction.
    pub batch_size: usize,
    /// Whether to write the fixed demo citizens too.
    pub with_fixed: bool,
    /// Where the demo faces are (`demo::faces_dir()` by default): the fixed citizens get their
    /// historical and certified photos from there; `None`, or a folder without them, seeds
    /// them without photos (with a note on stderr and in the summary).
    pub faces_dir: Option<PathBuf>,
}

impl SeedConfig {
    /// `citizens` for `city` with `seed` on `today`, batches of 10,000, with the fixed citizens.
    pub fn new(citizens: u64, seed: u64, city: KioskCity, today: Date) -> SeedConfig {
        SeedConfig {
            citizens,
            seed,
            city,
            today,
            batch_size: 10_000,
            with_fixed: true,
            faces_dir: Some(demo::faces_dir()),
        }
    }
}

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPath {
    /// Multi-row statements (SQLite) or column arrays (PostgreSQL): the normal path.
    MultiRow,
    /// One `INSERT` per row: the baseline the benchmark compares with.
    RowByRow,
}

/// Where a seed run stands, reported after each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Citizens written so far.
    pub citizens: u64,
    /// Table rows written so far.
    pub rows: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

/// The outcome of a seed run (printed as JSON by `idkiosk popsys seed`).
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Citizens written, fixed ones included.
    pub citizens: u64,
    /// Of which fixed demo citizens.
    pub fixed_citizens: u64,
    /// Table rows written (citizens, cards, registrations, photos, receipts, applications).
    pub rows: u64,
    /// Wall time.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_second: f64,
    /// Citizens per second.
    pub citizens_per_second: f64,
    /// The random seed.
    pub seed: u64,
    /// The kiosk city.
    pub city: String,
    /// The reference date.
    pub today: String,
    /// Photos given to the fixed demo citizens (historical photos and receipts' certified ones).
    pub demo_photos: u64,
    /// Why the fixed demo citizens have no photos, when they have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The register is not empty; seeding adds to nothing.
    #[error("the database already holds {0} citizens; seed an empty database")]
    NotEmpty(u64),
    /// The region table has no county of the kiosk city.
    #[error("no county-level region in use in city {0}")]
    NoRegions(String),
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The generator thread died.
    #[error("the generator stopped: {0}")]
    Generator(String),
}

/// Writes the fixed demo citizens (when asked) and `config.citizens` generated ones into an empty
/// register, calling `progress` after each batch.
pub async fn seed(
    store: &Store,
    config: &SeedConfig,
    path: LoadPath,
    mut progress: impl FnMut(&Progress) + Send,
) -> Result<SeedSummary, SeedError> {
    let existing = store.count_citizens().await?;
    if existing > 0 {
        return Err(SeedError::NotEmpty(existing));
    }
    let mut generator = Generator::new(config)?;
    let start = Instant::now();
    let mut loader = store.bulk_loader().await?;
    let mut rows = 0;
    let mut citizens = 0;
    let mut fixed = 0;
    let mut demo_photos = 0;
    let mut note = None;
    if config.with_fixed {
        let mut bundles = fixed_citizens();
        let attached = match &config.faces_dir {
            Some(dir) => demo::attach_faces(&mut bundles, dir).map_err(|e| e.to_string()),
            None => Err("no faces folder given".to_owned()),
        };
        match attached {
            Ok(n) => demo_photos = n,
            Err(why) => {
                let text = format!("the fixed demo citizens are seeded without photos: {why}");
                eprintln!("note: {text}");
                note = Some(text);
            }
        }
        fixed = bundles.len() as u64;
        rows += load(&mut loader, path, &bundles).await?;
        citizens += fixed;
    }

    // The generator runs on its own thread, one batch ahead of the database.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<CitizenBundle>>(2);
    let total = config.citizens;
    let batch_size = config.batch_size.max(1) as u64;
    let producer = std::thread::spawn(move || {
        let mut made = 0;
        while made < total {
            let n = batch_size.min(total - made);
            let batch: Vec<CitizenBundle> = (0..n).map(|_| generator.next_citizen()).collect();
            made += n;
            if sender.blocking_send(batch).is_err() {
                break; // the loader stopped
            }
        }
    });
    while let Some(batch) = receiver.recv().await {
        rows += load(&mut loader, path, &batch).await?;
        citizens += batch.len() as u64;
        progress(&Progress {
            citizens,
            rows,
            elapsed: start.elapsed(),
        });
    }
    producer
        .join()
        .map_err(|_| SeedError::Generator("the generator thread panicked".into()))?;
    loader.finish().await?;
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    Ok(SeedSummary {
        backend: store.backend().as_str(),
        citizens,
        fixed_citizens: fixed,
        rows,
        seconds,
        rows_per_second: rows as f64 / seconds,
        citizens_per_second: citizens as f64 / seconds,
        seed: config.seed,
        city: config.city.code().to_owned(),
        today: config.today.to_string(),
        demo_photos,
        note,
    })
}

async fn load(
    loader: &mut BulkLoader,
    path: LoadPath,
    bundles: &[CitizenBundle],
) -> Result<u64, StoreError> {
    match path {
        LoadPath::MultiRow => loader.load(bundles).await,
        LoadPath::RowByRow => loader.load_row_by_row(bundles).await,
    }
}

// ---- the generator ----------------------------------------------------------------------------

/// Where a citizen's household is registered, relative to the kiosk city.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Household {
    Local,
    Province,
    Outside,
}

/// Age bands (inclusive) and their weights, roughly China's age pyramid.
const AGE_BANDS: &[((u32, u32), u32)] = &[
    ((0, 5), 5),
    ((6, 15), 10),
    ((16, 25), 11),
    ((26, 35), 15),
    ((36, 45), 15),
    ((46, 55), 16),
    ((56, 65), 13),
    ((66, 75), 9),
    ((76, 95), 6),
];

/// Makes demo citizens one after the other.
pub struct Generator {
    rng: ChaCha8Rng,
    today: Date,
    city: KioskCity,
    local: Vec<&'static Region>,
    province: Vec<&'static Region>,
    outside: Vec<&'static Region>,
    /// Abolished codes of the city, still on the cards of people born before they went.
    historic_local: Vec<&'static Region>,
    household: WeightedIndex<u32>,
    surnames: WeightedIndex<u32>,
    nations: WeightedIndex<u32>,
    ages: WeightedIndex<u32>,
    authorities: HashMap<&'static str, String>,
    /// The first 17 digits of every number made (and of the fixed ones), as a number.
    seen: HashSet<u64>,
    receipts: u64,
    applications: u64,
}

fn id_key(id: &CitizenId) -> u64 {
    id.as_str()[..17].parse().unwrap_or(u64::MAX)
}

/// Issuing authority (签发机关) of a county-level region: 南京市公安局秦淮分局 for a district,
/// 沛县公安局 for a county or county-level city.
fn authority(region: &Region) -> String {
    let prefecture = region::lookup(&format!("{}00", &region.code[..4]))
        .filter(|r| r.level == RegionLevel::Prefecture)
        .map_or(region.province, |r| r.name);
    match region.name.strip_suffix('区') {
        Some(district) => format!("{prefecture}公安局{district}分局"),
        None => format!("{}公安局", region.name),
    }
}

impl Generator {
    /// A generator for `config` (its seed, city and reference date).
    pub fn new(config: &SeedConfig) -> Result<Generator, SeedError> {
        let city = config.city.clone();
        let counties = || {
            region::all()
                .iter()
                .filter(|r| r.level == RegionLevel::County)
        };
        let local: Vec<_> = counties()
            .filter(|r| r.is_current() && city.contains(r.code))
            .collect();
        if local.is_empty() {
            return Err(SeedError::NoRegions(city.code().to_owned()));
        }
        let province: Vec<_> = counties()
            .filter(|r| r.is_current() && city.same_province(r.code) && !city.contains(r.code))
            .collect();
        let outside: Vec<_> = counties()
            .filter(|r| r.is_current() && !city.same_province(r.code))
            .collect();
        let historic_local: Vec<_> = counties()
            .filter(|r| !r.is_current() && city.contains(r.code))
            .collect();
        // 60 % local, 28 % elsewhere in the province, 12 % outside; a municipality has no
        // "elsewhere in the province".
        let province_weight = if province.is_empty() { 0 } else { 28 };
        let weights = |w: &[(&str, u32)]| {
            WeightedIndex::new(w.iter().map(|(_, weight)| *weight))
                .map_err(|err| SeedError::Generator(format!("bad weights: {err}")))
        };
        let surname_weights: Vec<(&str, u32)> = names::SURNAMES
            .iter()
            .chain(names::COMPOUND_SURNAMES)
            .copied()
            .collect();
        let mut seen = HashSet::new();
        for bundle in fixed_citizens() {
            seen.insert(id_key(&bundle.citizen.id));
        }
        Ok(Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            today: config.today,
            household: WeightedIndex::new([60, province_weight, 12])
                .map_err(|err| SeedError::Generator(err.to_string()))?,
            surnames: weights(&surname_weights)?,
            nations: weights(names::NATIONS)?,
            ages: WeightedIndex::new(AGE_BANDS.iter().map(|(_, w)| *w))
                .map_err(|err| SeedError::Generator(err.to_string()))?,
            authorities: HashMap::new(),
            city,
            local,
            province,
            outside,
            historic_local,
            seen,
            receipts: 0,
            applications: 0,
        })
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    fn days(&mut self, range: std::ops::Range<i64>) -> Days {
        Days::days(self.rng.gen_range(range))
    }

    fn authority_of(&mut self, region: &'static Region) -> String {
        self.authorities
            .entry(region.code)
            .or_insert_with(|| authority(region))
            .clone()
    }

    fn name(&mut self, sex: Sex) -> String {
        let all_surnames = names::SURNAMES.len();
        let index = self.surnames.sample(&mut self.rng);
        let surname = if index < all_surnames {
            names::SURNAMES[index].0
        } else {
            names::COMPOUND_SURNAMES[index - all_surnames].0
        };
        let pool = match sex {
            Sex::Male => names::GIVEN_MALE,
            Sex::Female => names::GIVEN_FEMALE,
        };
        let mut name = String::with_capacity(12);
        name.push_str(surname);
        let first: &&str = self.pick(pool);
        name.push_str(first);
        if self.rng.gen_bool(0.75) {
            let second: &&str = self.pick(pool);
            name.push_str(second);
        }
        name
    }

    fn address(&mut self, region: &Region) -> String {
        let street = *self.pick(names::STREETS);
        let number = self.rng.gen_range(1..400);
        if self.rng.gen_bool(0.6) {
            let estate = *self.pick(names::ESTATES);
            let building = self.rng.gen_range(1..30);
            let unit = self.rng.gen_range(1..6);
            let room = self.rng.gen_range(1..19) * 100 + self.rng.gen_range(1..5);
            format!(
                "{}{street}{number}号{estate}{building}幢{unit}单元{room}室",
                region.full_name
            )
        } else {
            format!("{}{street}{number}号", region.full_name)
        }
    }

    fn birth_date(&mut self) -> Date {
        let ((low, high), _) = AGE_BANDS[self.ages.sample(&mut self.rng)];
        let age = self.rng.gen_range(low..=high);
        let birthday = add_months_clamped(self.today, -12 * age as i32);
        let earliest = Date::from_calendar_date(1900, time::Month::January, 1).unwrap_or(Date::MIN);
        (birthday - self.days(0..365)).clamp(earliest, self.today)
    }

    /// The current card, by simulating the citizen's cards since their first at 16–18: each one
    /// valid for the term their age at issue gives (domain rules), renewed around its expiry.
    fn card(&mut self, birth: Date) -> Option<(Date, CardExpiry)> {
        let today = self.today;
        if age_on(birth, today) < 16 {
            // Some children have a 5-year card, issued at the window.
            if !self.rng.gen_bool(0.3) {
                return None;
            }
            let earliest = birth.max(add_months_clamped(today, -60) + Days::days(1));
            let span = (today - earliest).whole_days().max(1);
            let from = earliest + self.days(0..span);
            return Some((from, CardExpiry::On(add_months_clamped(from, 60))));
        }
        let mut from = add_months_clamped(birth, 16 * 12) + self.days(0..700);
        if from > today {
            return None; // 16 or 17, no card yet
        }
        let lapsed = self.rng.gen_bool(0.04);
        loop {
            let until = match NewCardValidity::for_age(age_on(birth, from)) {
                Some(NewCardValidity::TenYears) => add_months_clamped(from, 120),
                Some(NewCardValidity::TwentyYears) => add_months_clamped(from, 240),
                Some(NewCardValidity::LongTerm) | None => {
                    return Some((from, CardExpiry::LongTerm))
                }
            };
            if until >= today || (lapsed && until < today - Days::days(365)) {
                return Some((from, CardExpiry::On(until)));
            }
            let next = until + self.days(-180..181);
            if next > today {
                return Some((from, CardExpiry::On(until))); // expired lately, not renewed yet
            }
            from = next;
        }
    }

    /// A new number for a region and birth date (another sequence, or the next day, on a clash).
    fn citizen_id(&mut self, region: &str, mut birth: Date, sex: Sex) -> CitizenId {
        loop {
            for _ in 0..32 {
                let sequence = self.rng.gen_range(0..500_u16) * 2 + u16::from(sex == Sex::Male);
                if let Ok(id) = CitizenId::from_parts(region, birth, sequence) {
                    if self.seen.insert(id_key(&id)) {
                        return id;
                    }
                }
            }
            birth = birth.previous_day().unwrap_or(birth);
        }
    }

    /// The next citizen with everything attached.
    pub fn next_citizen(&mut self) -> CitizenBundle {
        let today = self.today;
        let household = match self.household.sample(&mut self.rng) {
            0 => Household::Local,
            1 => Household::Province,
            _ => Household::Outside,
        };
        let pool = match household {
            Household::Local => std::mem::take(&mut self.local),
            Household::Province => std::mem::take(&mut self.province),
            Household::Outside => std::mem::take(&mut self.outside),
        };
        let home = *self.pick(&pool);
        let born_in = if self.rng.gen_bool(0.9) {
            home
        } else {
            *self.pick(&pool)
        };
        match household {
            Household::Local => self.local = pool,
            Household::Province => self.province = pool,
            Household::Outside => self.outside = pool,
        }
        let sex = if self.rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let birth = self.birth_date();
        // Some locals still carry the code of a district abolished after they were born.
        let mut id_region = born_in.code;
        if household == Household::Local
            && !self.historic_local.is_empty()
            && self.rng.gen_bool(0.05)
        {
            let old = self.historic_local[self.rng.gen_range(0..self.historic_local.len())];
            if old
                .in_use_until
                .is_some_and(|until| i32::from(until) > birth.year())
            {
                id_region = old.code;
            }
        }
        let id = self.citizen_id(id_region, birth, sex);
        let name = self.name(sex);
        let nation_code = names::NATIONS[self.nations.sample(&mut self.rng)]
            .0
            .to_owned();
        let address = self.address(home);
        let status = match self.rng.gen_range(0..1000) {
            0..=3 => RecordStatus::Cancelled,
            4..=11 => RecordStatus::Deceased,
            12..=19 => RecordStatus::MovedOut,
            _ => RecordStatus::Normal,
        };
        let remote_area = home.name.ends_with('县');
        let mut bundle = CitizenBundle::new(Citizen {
            birth_date: id.birth_date(),
            id,
            name,
            sex,
            nation_code,
            address,
            household_region: home.code.to_owned(),
            status,
            remote_area,
        });
        let age = age_on(bundle.citizen.birth_date, today);

        let mut in_production = false;
        if let Some((valid_from, valid_until)) = self.card(bundle.citizen.birth_date) {
            let card_status = match self.rng.gen_range(0..100) {
                0..=1 => CardStatus::ReportedLost,
                2 => {
                    in_production = true;
                    CardStatus::InProduction
                }
                _ => CardStatus::Valid,
            };
            bundle.card = Some(IdCard {
                valid_from,
                valid_until,
                status: card_status,
                issuing_authority: self.authority_of(home),
            });
            if self.rng.gen_bool(0.96) {
                let taken_on = (valid_from - self.days(5..40)).max(bundle.citizen.birth_date);
                bundle.history_photos.push(HistoryPhoto {
                    taken_on,
                    jpeg: None,
                });
            }
        }

        let registered_share = match household {
            Household::Local => 0.0,
            Household::Province => 0.65,
            Household::Outside => 0.25,
        };
        if self.rng.gen_bool(registered_share) {
            let valid_until = if self.rng.gen_bool(0.9) {
                today + self.days(30..1095)
            } else {
                today - self.days(1..400) // lapsed registration
            };
            bundle.residence.push(ResidenceRegistration {
                city: self.city.clone(),
                valid_until,
            });
        }

        let active = status == RecordStatus::Normal;
        if active && age >= 16 && self.rng.gen_bool(0.06) {
            let created_on = today - self.days(0..240);
            self.receipts += 1;
            let code = format!(
                "PS{:04}{:02}{:02}{:07}",
                created_on.year(),
                u8::from(created_on.month()),
                created_on.day(),
                self.receipts
            );
            let used_on = if self.rng.gen_bool(0.1) {
                let most = (today - created_on).whole_days().min(30);
                Some(created_on + self.days(0..most + 1))
            } else {
                None
            };
            if let Ok(code) = ReceiptCode::parse(&code) {
                bundle.receipts.push(NewReceipt {
                    code,
                    jpeg: None,
                    created_on,
                    used_on,
                });
            }
        }

        if active && (in_production || self.rng.gen_bool(0.015)) {
            let status = if in_production {
                ApplicationStatus::InProduction
            } else {
                *self.pick(&[
                    ApplicationStatus::Accepted,
                    ApplicationStatus::InProduction,
                    ApplicationStatus::Ready,
                ])
            };
            let applied_on = today - self.days(0..60);
            let application = self.application(status, applied_on);
            bundle.applications.push(application);
        }
        if let Some(card) = &bundle.card {
            if self.rng.gen_bool(0.08) {
                let application = self.application(ApplicationStatus::Collected, card.valid_from);
                bundle.applications.push(application);
            }
        }
        bundle
    }

    fn application(
        &mut self,
        status: ApplicationStatus,
        applied_on: Date,
    ) -> PopulationApplication {
        self.applications += 1;
        PopulationApplication {
            application_number: format!(
                "SL{}{:04}{:02}{:02}{:07}",
                self.city.code(),
                applied_on.year(),
                u8::from(applied_on.month()),
                applied_on.day(),
                self.applications
            ),
            status,
            applied_on,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_read_like_real_ones() {
        let check = |code: &str, expected: &str| {
            assert_eq!(authority(region::lookup(code).unwrap()), expected, "{code}")
        };
        check("320104", "南京市公安局秦淮分局");
        check("320322", "沛县公安局");
        check("320582", "张家港市公安局");
        check("110105", "北京市公安局朝阳分局");
    }
}
