//! The center's configuration file: the `[center]` table of a bureau's `center.toml`
//! (docs/configuration.md). [`CenterFile`] is its serde form (an unknown key is an error);
//! [`CenterFile::settings`] checks every field at once and turns it into the [`CenterConfig`]
//! the handlers use, with the kiosks' city. Reading the file and the `IDKIOSK_CENTER__…`
//! overrides is the binary's (`idkiosk::config`).

use std::collections::BTreeSet;
use std::time::Duration;

use domain::region::KioskCity;
use domain::rules::Business;
use domain::session::PaymentMethod;
use serde::{Deserialize, Serialize};

use crate::blobs::{BlobQuotas, UnfinishedVideo};
use crate::{CenterConfig, CollectionOffice};

/// The fee of each business in yuan (工本费).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// 到期换领.
    pub expiry_renewal_cny: u32,
    /// 丢失补领.
    pub lost_cny: u32,
    /// 损坏换领.
    pub damaged_cny: u32,
}

impl Default for Fees {
    /// The national fees of `domain::rules` (20, 40, 40).
    fn default() -> Fees {
        Fees {
            expiry_renewal_cny: Business::ExpiryRenewal.fee_cny(),
            lost_cny: Business::Lost.fee_cny(),
            damaged_cny: Business::Damaged.fee_cny(),
        }
    }
}

impl Fees {
    /// The fee of `business`.
    pub fn for_business(&self, business: Business) -> u32 {
        match business {
            Business::ExpiryRenewal => self.expiry_renewal_cny,
            Business::Lost => self.lost_cny,
            Business::Damaged => self.damaged_cny,
        }
    }
}

/// The SMS notices of docs/domain.md section 10: their texts and the gateway they go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsConfig {
    /// The four texts.
    pub templates: SmsTemplates,
    /// The SMPP gateway; `None`: no notice is sent.
    pub gateway: Option<SmsGateway>,
    /// The sender shown on the handset (SMPP's `source_addr`): the bureau's service number.
    pub source_addr: String,
}

impl Default for SmsConfig {
    fn default() -> SmsConfig {
        SmsConfig {
            templates: SmsTemplates::default(),
            gateway: None,
            source_addr: crate::journey::DEFAULT_SOURCE_ADDR.into(),
        }
    }
}

/// The default of `[center.journey] production_poll_s`: the population system is asked for
/// production progress every 10 seconds.
pub const DEFAULT_PRODUCTION_POLL: Duration = Duration::from_secs(10);
/// The longest production poll interval a file may set (an hour: a card ready later than that
/// is told late).
pub const MAX_PRODUCTION_POLL_S: u64 = 3600;

/// The texts of the notices, with `{name}`, `{no}`, `{date}`, `{office}`, `{address}`, `{hours}`
/// and `{reason}` filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsTemplates {
    /// The population system took the application.
    pub accepted: String,
    /// The card waits at the collection office.
    pub ready: String,
    /// The application was refused, with its reason.
    pub rejected: String,
    /// The card is late.
    pub overdue: String,
}

impl Default for SmsTemplates {
    /// The application journey's texts (`domain::notice`).
    fn default() -> SmsTemplates {
        SmsTemplates {
            accepted: domain::notice::ACCEPTED.into(),
            ready: domain::notice::READY.into(),
            rejected: domain::notice::REJECTED.into(),
            overdue: domain::notice::OVERDUE.into(),
        }
    }
}

/// The placeholders a template may use.
pub const SMS_PLACEHOLDERS: [&str; 7] =
    ["name", "no", "date", "office", "address", "hours", "reason"];

/// An SMPP gateway (an SMSC's address and the bureau's account there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGateway {
    /// The protocol: `smpp` (the only one).
    pub kind: String,
    /// `host:port` of the SMSC.
    pub address: String,
    /// The account (`system_id` of SMPP's bind).
    pub system_id: String,
    /// Its password (better given as `IDKIOSK_CENTER__SMS__GATEWAY__PASSWORD`).
    pub password: String,
    /// SMPP's `system_type`, often empty.
    #[serde(default)]
    pub system_type: String,
}

/// The `[center]` table of `center.toml`, as written (docs/configuration.md lists every key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterFile {
    /// The city the kiosks stand in (GB/T 2260 code ending in 00).
    pub city: String,
    /// 受理单位: the bureau printed on the papers and sent with each application.
    pub bureau: String,
    /// The code of the office the papers print (default: the first office's).
    #[serde(default)]
    pub default_office: Option<String>,
    /// The collection offices, one at least.
    pub collection_offices: Vec<OfficeFile>,
    /// The fees in yuan.
    #[serde(default)]
    pub fees: FeesFile,
    /// Where blobs' ciphertext is kept: the local folder (default) or S3.
    #[serde(default)]
    pub blobs: crate::blobs::BlobsFile,
    /// The payment methods taken: `wechat`, `unionpay`.
    #[serde(default = "default_payment_methods")]
    pub payment_methods: Vec<String>,
    /// Step 7's thresholds and calibration.
    #[serde(default)]
    pub face: FaceFile,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsFile,
    /// Limits on citizens' lookups per kiosk.
    #[serde(default)]
    pub lookups: LookupsFile,
    /// Upload quotas.
    #[serde(default)]
    pub upload_quotas: QuotasFile,
    /// What is kept how long.
    #[serde(default)]
    pub retention: RetentionFile,
    /// SMS notices.
    #[serde(default)]
    pub sms: SmsFile,
    /// The application's journey after the kiosk.
    #[serde(default)]
    pub journey: JourneyFile,
}

/// One `[[center.collection_offices]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeFile {
    /// The bureau's code for the office.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its opening hours.
    pub hours: String,
    /// In a remote area.
    #[serde(default)]
    pub remote_area: bool,
    /// The kiosks standing in its hall: their applications are collected here (a kiosk in no
    /// office's list: the default office).
    #[serde(default)]
    pub kiosks: Vec<String>,
}

/// `[center.fees]`, yuan; signed so that a negative fee is named rather than a type error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeesFile {
    /// 到期换领.
    pub expiry_renewal: i64,
    /// 丢失补领.
    pub lost: i64,
    /// 损坏换领.
    pub damaged: i64,
}

impl Default for FeesFile {
    fn default() -> FeesFile {
        let fees = Fees::default();
        FeesFile {
            expiry_renewal: i64::from(fees.expiry_renewal_cny),
            lost: i64::from(fees.lost_cny),
            damaged: i64::from(fees.damaged_cny),
        }
    }
}

/// `[center.face]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaceFile {
    /// The score (0–100) a certified studio photo must pass (95).
    pub certified_threshold: f64,
    /// The score (0–100) a live photo must pass (60).
    pub live_threshold: f64,
    /// The liveness score (0–1) under which the staff console flags a live photo (0.5).
    pub liveness_threshold: f64,
    /// The distance that scores 50 (0.64, docs/domain.md section 6).
    pub calibration_c: f64,
    /// The logistic's width (0.0985).
    pub calibration_w: f64,
    /// Threads that decode and describe step 7's photos (0: one per core).
    pub workers: usize,
    /// Calls that may wait for a face thread, per thread (8); one more is answered 503 with
    /// `Retry-After`.
    pub queue_per_worker: usize,
}

impl Default for FaceFile {
    fn default() -> FaceFile {
        let thresholds = face::Thresholds::default();
        let calibration = face::Calibration::default();
        let config = CenterConfig::default();
        FaceFile {
            certified_threshold: thresholds.certified,
            live_threshold: thresholds.live,
            liveness_threshold: config.liveness_threshold,
            calibration_c: calibration.c,
            calibration_w: calibration.w,
            workers: 0,
            queue_per_worker: 8,
        }
    }
}

/// `[center.timeouts]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsFile {
    /// Seconds an unpaid WeChat order stays open (600).
    pub payment_expiry_s: u64,
}

impl Default for TimeoutsFile {
    fn default() -> TimeoutsFile {
        TimeoutsFile {
            payment_expiry_s: CenterConfig::default().payment_expiry.as_secs(),
        }
    }
}

/// `[center.lookups]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LookupsFile {
    /// Lookups one kiosk may make per minute (6).
    pub per_kiosk_per_minute: u32,
    /// Refused lookups in a day that flag the kiosk in the fleet view (3).
    pub refusals_to_flag: u32,
}

impl Default for LookupsFile {
    fn default() -> LookupsFile {
        let config = CenterConfig::default();
        LookupsFile {
            per_kiosk_per_minute: config.kiosk_lookups_per_minute,
            refusals_to_flag: config.lookup_refusals_to_flag,
        }
    }
}

/// `[center.upload_quotas]`, bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasFile {
    /// The live photo.
    pub photo_bytes: u64,
    /// The signature.
    pub signature_bytes: u64,
    /// One fingerprint template.
    pub template_bytes: u64,
    /// One fingerprint image.
    pub fingerprint_image_bytes: u64,
    /// The session video.
    pub video_bytes: u64,
    /// All the blobs of one session.
    pub session_bytes: u64,
    /// All the uploads of one kiosk in a day.
    pub kiosk_daily_bytes: u64,
}

impl Default for QuotasFile {
    fn default() -> QuotasFile {
        let q = BlobQuotas::default();
        QuotasFile {
            photo_bytes: q.photo_bytes,
            signature_bytes: q.signature_bytes,
            template_bytes: q.template_bytes,
            fingerprint_image_bytes: q.fingerprint_image_bytes,
            video_bytes: q.video_bytes,
            session_bytes: q.session_bytes,
            kiosk_daily_bytes: q.kiosk_daily_bytes,
        }
    }
}

/// `[center.retention]`, days.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionFile {
    /// Session videos (180).
    pub video_days: u32,
    /// The video of a session without application: absent, deleted when the session ends; a
    /// number, kept that many days for audit.
    pub unfinished_video_days: Option<u32>,
}

impl Default for RetentionFile {
    fn default() -> RetentionFile {
        RetentionFile {
            video_days: 180,
            unfinished_video_days: None,
        }
    }
}

/// `[center.sms]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsFile {
    /// The sender shown on the handset (SMPP `source_addr`), 1 to 20 digits (`10690001`).
    pub source_addr: String,
    /// `[center.sms.templates]`.
    pub templates: SmsTemplates,
    /// `[center.sms.gateway]`; absent: no gateway.
    pub gateway: Option<SmsGateway>,
}

impl Default for SmsFile {
    fn default() -> SmsFile {
        let config = SmsConfig::default();
        SmsFile {
            source_addr: config.source_addr,
            templates: config.templates,
            gateway: config.gateway,
        }
    }
}

/// `[center.journey]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JourneyFile {
    /// Seconds between two polls of the population system for production progress (10).
    pub production_poll_s: u64,
}

impl Default for JourneyFile {
    fn default() -> JourneyFile {
        JourneyFile {
            production_poll_s: DEFAULT_PRODUCTION_POLL.as_secs(),
        }
    }
}

fn default_payment_methods() -> Vec<String> {
    vec!["wechat".into(), "unionpay".into()]
}

/// A file's values, checked: what a center runs with.
#[derive(Debug, Clone)]
pub struct CenterSettings {
    /// The kiosks' city.
    pub city: KioskCity,
    /// Everything else.
    pub config: CenterConfig,
    /// Where blobs' ciphertext is kept (read at start by `center::blobs::open_blob_store`).
    pub blobs: crate::blobs::BlobBackend,
    /// The size of step 7's face pool (`AppState::face_pool`).
    pub face_pool: crate::faces::FacePoolConfig,
}

/// More face threads than this is a typo, not a machine.
const MAX_FACE_WORKERS: usize = 1024;
/// A longer queue per thread would make a kiosk wait past its 30 s bound for a center call.
const MAX_FACE_QUEUE_PER_WORKER: usize = 64;

/// The longest line the papers print for the bureau, an office's name or address (characters).
const LINE_CHARS: usize = 60;
/// The longest opening hours the certificate prints.
const HOURS_CHARS: usize = 40;

impl CenterFile {
    /// Checks every field and builds the settings; else every wrong field at once, each
    /// `center.PATH: why`, in the file's order.
    pub fn settings(&self) -> Result<CenterSettings, Vec<String>> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, why: &str| problems.push(format!("center.{field}: {why}"));
        let city = match KioskCity::parse(&self.city) {
            Ok(city) => Some(city),
            Err(err) => {
                bad("city", &err.to_string());
                None
            }
        };
        check_line(&mut bad, "bureau", &self.bureau, LINE_CHARS);
        if self.collection_offices.is_empty() {
            bad("collection_offices", "at least one office is needed");
        }
        let mut codes = BTreeSet::new();
        let mut kiosks = BTreeSet::new();
        for (i, office) in self.collection_offices.iter().enumerate() {
            let at = |field: &str| format!("collection_offices[{i}].{field}");
            check_line(&mut bad, &at("code"), &office.code, 16);
            if !codes.insert(office.code.trim()) {
                bad(&at("code"), "listed twice");
            }
            check_line(&mut bad, &at("name"), &office.name, LINE_CHARS);
            check_line(&mut bad, &at("address"), &office.address, LINE_CHARS);
            check_line(&mut bad, &at("hours"), &office.hours, HOURS_CHARS);
            for kiosk in &office.kiosks {
                if kiosk.trim().is_empty() || kiosk.len() > 64 {
                    bad(&at("kiosks"), "a kiosk id is 1 to 64 characters");
                } else if !kiosks.insert(kiosk.trim()) {
                    bad(
                        &at("kiosks"),
                        &format!("kiosk {:?} is listed in two offices", kiosk.trim()),
                    );
                }
            }
        }
        let default_office = match &self.default_office {
            Some(code) => {
                if !self.collection_offices.is_empty()
                    && !self.collection_offices.iter().any(|o| &o.code == code)
                {
                    bad("default_office", "is not the code of a collection office");
                }
                code.clone()
            }
            None => self
                .collection_offices
                .first()
                .map(|o| o.code.clone())
                .unwrap_or_default(),
        };
        let mut fee = |field: &str, value: i64| -> u32 {
            if value < 0 {
                bad(&format!("fees.{field}"), "must not be negative");
            } else if value == 0 {
                bad(
                    &format!("fees.{field}"),
                    "must be more than 0 (a free business is not handled at a kiosk)",
                );
            } else if value > 10_000 {
                bad(&format!("fees.{field}"), "must be at most 10000 yuan");
            }
            u32::try_from(value).unwrap_or(0)
        };
        let fees = Fees {
            expiry_renewal_cny: fee("expiry_renewal", self.fees.expiry_renewal),
            lost_cny: fee("lost", self.fees.lost),
            damaged_cny: fee("damaged", self.fees.damaged),
        };
        let mut payment_methods = Vec::new();
        if self.payment_methods.is_empty() {
            bad("payment_methods", "at least one method must be enabled");
        }
        for (i, method) in self.payment_methods.iter().enumerate() {
            match PaymentMethod::try_from(method.clone()) {
                Ok(m) if payment_methods.contains(&m) => {
                    bad(&format!("payment_methods[{i}]"), "listed twice")
                }
                Ok(m) => payment_methods.push(m),
                Err(_) => bad(
                    &format!("payment_methods[{i}]"),
                    "must be wechat or unionpay",
                ),
            }
        }
        let face_file = &self.face;
        for (field, value) in [
            ("face.certified_threshold", face_file.certified_threshold),
            ("face.live_threshold", face_file.live_threshold),
        ] {
            if !(0.0..=100.0).contains(&value) {
                bad(field, "must be between 0 and 100");
            }
        }
        if !(0.0..=1.0).contains(&face_file.liveness_threshold) {
            bad("face.liveness_threshold", "must be between 0 and 1");
        }
        if face_file.workers > MAX_FACE_WORKERS {
            bad(
                "face.workers",
                &format!("must be at most {MAX_FACE_WORKERS} (0: one per core)"),
            );
        }
        if !(1..=MAX_FACE_QUEUE_PER_WORKER).contains(&face_file.queue_per_worker) {
            bad(
                "face.queue_per_worker",
                &format!("must be between 1 and {MAX_FACE_QUEUE_PER_WORKER}"),
            );
        }
        for (field, value) in [
            ("face.calibration_c", face_file.calibration_c),
            ("face.calibration_w", face_file.calibration_w),
        ] {
            if !(value.is_finite() && value > 0.0) {
                bad(field, "must be more than 0");
            }
        }
        if self.timeouts.payment_expiry_s == 0 {
            bad("timeouts.payment_expiry_s", "must be more than 0");
        }
        if self.lookups.per_kiosk_per_minute == 0 {
            bad("lookups.per_kiosk_per_minute", "must be more than 0");
        }
        if self.lookups.refusals_to_flag == 0 {
            bad("lookups.refusals_to_flag", "must be more than 0");
        }
        let q = &self.upload_quotas;
        for (field, value) in [
            ("photo_bytes", q.photo_bytes),
            ("signature_bytes", q.signature_bytes),
            ("template_bytes", q.template_bytes),
            ("fingerprint_image_bytes", q.fingerprint_image_bytes),
            ("video_bytes", q.video_bytes),
            ("session_bytes", q.session_bytes),
            ("kiosk_daily_bytes", q.kiosk_daily_bytes),
        ] {
            if value == 0 {
                bad(&format!("upload_quotas.{field}"), "must be more than 0");
            }
        }
        if self.retention.video_days == 0 {
            bad("retention.video_days", "must be more than 0");
        }
        if self.retention.unfinished_video_days == Some(0) {
            bad(
                "retention.unfinished_video_days",
                "must be more than 0 (leave it out to delete the video at the session's end)",
            );
        }
        let t = &self.sms.templates;
        for (field, text) in [
            ("accepted", &t.accepted),
            ("ready", &t.ready),
            ("rejected", &t.rejected),
            ("overdue", &t.overdue),
        ] {
            if let Err(why) = check_template(text) {
                bad(&format!("sms.templates.{field}"), &why);
            }
        }
        let source_addr = &self.sms.source_addr;
        if source_addr.is_empty()
            || source_addr.len() > 20
            || !source_addr.bytes().all(|b| b.is_ascii_digit())
        {
            bad(
                "sms.source_addr",
                "must be 1 to 20 digits (the bureau's service number, SMPP 3.4)",
            );
        }
        if let Some(gateway) = &self.sms.gateway {
            if gateway.kind != "smpp" {
                bad("sms.gateway.kind", "must be smpp");
            }
            if gateway.address.trim().is_empty() {
                bad("sms.gateway.address", "must not be empty");
            } else if !gateway
                .address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
            {
                bad("sms.gateway.address", "must be host:port");
            }
            if gateway.system_id.trim().is_empty() {
                bad("sms.gateway.system_id", "must not be empty");
            }
            // SMPP 3.4's C-octet strings: system_id 16, password 9, system_type 13, with the NUL.
            for (field, value, max) in [
                ("system_id", &gateway.system_id, 15),
                ("password", &gateway.password, 8),
                ("system_type", &gateway.system_type, 12),
            ] {
                if value.len() > max {
                    bad(
                        &format!("sms.gateway.{field}"),
                        &format!("must be at most {max} bytes (SMPP 3.4)"),
                    );
                }
            }
        }
        if !(1..=MAX_PRODUCTION_POLL_S).contains(&self.journey.production_poll_s) {
            bad(
                "journey.production_poll_s",
                &format!("must be between 1 and {MAX_PRODUCTION_POLL_S} seconds"),
            );
        }
        let blobs = self.blobs.check(&mut bad);
        if !problems.is_empty() {
            return Err(problems);
        }
        let Some(city) = city else {
            return Err(vec!["center.city: is not a city".into()]);
        };
        let config = CenterConfig {
            payment_expiry: Duration::from_secs(self.timeouts.payment_expiry_s),
            face_thresholds: face::Thresholds {
                live: face_file.live_threshold,
                certified: face_file.certified_threshold,
            },
            face_calibration: face::Calibration {
                c: face_file.calibration_c,
                w: face_file.calibration_w,
            },
            liveness_threshold: face_file.liveness_threshold,
            bureau: self.bureau.trim().to_owned(),
            collection_offices: self
                .collection_offices
                .iter()
                .map(|o| CollectionOffice {
                    code: o.code.trim().to_owned(),
                    name: o.name.trim().to_owned(),
                    address: o.address.trim().to_owned(),
                    hours: o.hours.trim().to_owned(),
                    remote_area: o.remote_area,
                    kiosks: o.kiosks.iter().map(|k| k.trim().to_owned()).collect(),
                })
                .collect(),
            default_office: default_office.trim().to_owned(),
            fees,
            payment_methods,
            blob_quotas: BlobQuotas {
                photo_bytes: q.photo_bytes,
                signature_bytes: q.signature_bytes,
                template_bytes: q.template_bytes,
                fingerprint_image_bytes: q.fingerprint_image_bytes,
                video_bytes: q.video_bytes,
                session_bytes: q.session_bytes,
                kiosk_daily_bytes: q.kiosk_daily_bytes,
            },
            video_retention: time::Duration::days(i64::from(self.retention.video_days)),
            unfinished_video: match self.retention.unfinished_video_days {
                Some(days) => UnfinishedVideo::KeepForAudit {
                    retention: time::Duration::days(i64::from(days)),
                },
                None => UnfinishedVideo::Delete,
            },
            kiosk_lookups_per_minute: self.lookups.per_kiosk_per_minute,
            lookup_refusals_to_flag: self.lookups.refusals_to_flag,
            sms: SmsConfig {
                templates: self.sms.templates.clone(),
                gateway: self.sms.gateway.clone(),
                source_addr: self.sms.source_addr.clone(),
            },
            production_poll: Duration::from_secs(self.journey.production_poll_s),
        };
        let face_pool = match face_file.workers {
            0 => crate::faces::FacePoolConfig::default()
                .with_queue_per_worker(face_file.queue_per_worker),
            workers => crate::faces::FacePoolConfig {
                workers,
                queue: workers * face_file.queue_per_worker,
            },
        };
        Ok(CenterSettings {
            city,
            config,
            blobs,
            face_pool,
        })
    }
}

/// A printed line: not empty, one line, at most `max` characters.
fn check_line(bad: &mut impl FnMut(&str, &str), field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        bad(field, "must not be empty");
    } else if value.contains(['\n', '\r']) {
        bad(field, "must be one line");
    } else if value.trim().chars().count() > max {
        bad(field, &format!("must be at most {max} characters"));
    }
}

/// A template's placeholders are all in [`SMS_PLACEHOLDERS`] and its braces pair up.
pub fn check_template(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("has a } without {".into());
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("has a { without }".into());
        };
        let name = &after[..close];
        if !SMS_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} (known: {})",
                SMS_PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_known_placeholders_only() {
        assert_eq!(check_template("{name}，{no}"), Ok(()));
        assert!(check_template("{nmae}")
            .unwrap_err()
            .contains("unknown placeholder {nmae}"));
        assert_eq!(check_template("{name"), Err("has a { without }".into()));
        assert_eq!(check_template("name}"), Err("has a } without {".into()));
        for text in [
            SmsTemplates::default().accepted,
            SmsTemplates::default().ready,
            SmsTemplates::default().rejected,
            SmsTemplates::default().overdue,
        ] {
            assert_eq!(check_template(&text), Ok(()), "{text}");
        }
    }
}
