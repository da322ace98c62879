//! The fleet view for operators: every kiosk the center knows (it sent a heartbeat, holds a
//! certificate, or started a session today) with its state, when it was last heard from, its
//! sessions today, its devices, and alerts: `silent` (no heartbeat for longer than
//! [`super::FleetSettings::silent_after`], 2 minutes by default, or never) and `device` (a device
//! in `error` or `disconnected`). A device its driver has not opened yet (serial ports are opened
//! at their first use, so every device of a kiosk idle since it started) is idle, not a fault:
//! see [`not_opened_yet`]. `GET /v1/fleet/kiosks` is the JSON, `GET /fleet` the same as a
//! server-rendered page with the time it was drawn and a link that reloads it.
//!
//! No personal data: the sources are the fleet tables (kiosk ids, device states, versions,
//! counts) and a `COUNT(*)` of sessions per kiosk; no citizen's number or name is ever read here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use askama::Template;
use axum::{
    extract::State,
    response::{Html, IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use time::Date;

use super::heartbeat::Devices;
use super::Operator;
use crate::error::AppError;
use crate::AppState;

/// An alert on a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `silent` or `device`.
    pub kind: String,
    /// The device, for `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// For people.
    pub message: String,
}

/// One kiosk in the fleet view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskStatus {
    /// The kiosk.
    pub kiosk_id: String,
    /// `ok`, `alert` (see `alerts`) or `revoked` (every certificate revoked).
    pub state: String,
    /// The last heartbeat, unix seconds.
    pub last_seen: Option<i64>,
    /// Seconds since the last heartbeat.
    pub silent_for_s: Option<i64>,
    /// The kiosk agent's version.
    pub software_version: Option<String>,
    /// Messages waiting in its outbox.
    pub outbox_backlog: Option<i64>,
    /// The configuration version it runs.
    pub config_version: Option<i64>,
    /// Sessions started today (Asia/Shanghai).
    pub sessions_today: i64,
    /// `valid` (at least one certificate in force), `revoked` (all revoked) or `none` (the kiosk
    /// uses the shared secret).
    pub certificate: String,
    /// Its devices, as last reported.
    pub devices: Devices,
    /// What needs an operator.
    pub alerts: Vec<Alert>,
    /// Lookups of citizens in the last 24 hours: answered, refused by the rate limit.
    #[serde(default)]
    pub lookups_24h: (i64, i64),
}

/// The whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetView {
    /// When this view was made, unix seconds.
    pub generated_at: i64,
    /// Today (Asia/Shanghai), `YYYY-MM-DD`.
    pub today: String,
    /// The silence that raises an alert, seconds.
    pub silent_after_s: u64,
    /// Kiosks with at least one alert.
    pub alerts: usize,
    /// Every kiosk, by id.
    pub kiosks: Vec<KioskStatus>,
    /// Alerts of the center itself (`undelivered`: applications the population system has not
    /// acknowledged for longer than [`crate::delivery::UNDELIVERED_ALERT`]).
    #[serde(default)]
    pub center_alerts: Vec<Alert>,
}

/// `[start, end)` of `day` in Asia/Shanghai, unix seconds.
pub fn day_bounds(day: Date) -> (i64, i64) {
    let start = day
        .midnight()
        .assume_offset(domain::time_zone::CHINA_STANDARD_TIME)
        .unix_timestamp();
    (start, start + 86_400)
}

#[derive(Default)]
struct Gathered {
    heartbeat: Option<store::fleet::HeartbeatRecord>,
    sessions_today: i64,
    certificates: usize,
    revoked: usize,
    lookups_24h: (i64, i64),
    refused_last_hour: i64,
}

/// The fleet as of now.
pub async fn fleet_view(state: &AppState) -> Result<FleetView, AppError> {
    let now = state.now();
    let today = state.today.today();
    let (from, to) = day_bounds(today);
    let mut kiosks: BTreeMap<String, Gathered> = BTreeMap::new();
    for beat in state.store.heartbeats().await? {
        let kiosk = beat.kiosk_id.clone();
        kiosks.entry(kiosk).or_default().heartbeat = Some(beat);
    }
    for cert in state.store.certificates().await? {
        let entry = kiosks.entry(cert.kiosk_id).or_default();
        entry.certificates += 1;
        entry.revoked += usize::from(cert.revoked_at.is_some());
    }
    for (kiosk, count) in state.store.sessions_per_kiosk(from, to).await? {
        kiosks.entry(kiosk).or_default().sessions_today = count;
    }
    for count in state.store.lookup_counts(now - 86_400).await? {
        kiosks.entry(count.kiosk_id).or_default().lookups_24h = (count.allowed, count.refused);
    }
    for count in state.store.lookup_counts(now - 3600).await? {
        kiosks.entry(count.kiosk_id).or_default().refused_last_hour = count.refused;
    }
    let silent_after = state.fleet.silent_after.as_secs();
    let mut list = Vec::with_capacity(kiosks.len());
    for (kiosk_id, gathered) in kiosks {
        let mut alerts = Vec::new();
        let devices: Devices = match &gathered.heartbeat {
            Some(beat) => serde_json::from_str(&beat.devices)
                .map_err(|err| AppError::internal("stored heartbeat", err))?,
            None => Devices::default(),
        };
        let silent_for = gathered
            .heartbeat
            .as_ref()
            .map(|b| (now - b.received_at).max(0));
        match silent_for {
            None => alerts.push(Alert {
                kind: "silent".into(),
                device: None,
                message: "never sent a heartbeat".into(),
            }),
            Some(secs) if secs > i64::try_from(silent_after).unwrap_or(i64::MAX) => {
                alerts.push(Alert {
                    kind: "silent".into(),
                    device: None,
                    message: format!("silent for {}", human(secs)),
                })
            }
            Some(_) => {}
        }
        for (name, report) in devices.iter() {
            if report.state.is_fault() && !not_opened_yet(report) {
                alerts.push(Alert {
                    kind: "device".into(),
                    device: Some(name.into()),
                    message: match &report.reason {
                        Some(reason) => format!("{name} {}: {reason}", report.state.as_str()),
                        None => format!("{name} {}", report.state.as_str()),
                    },
                });
            }
        }
        // A kiosk asking for more citizens than sessions need: a stolen credential, or a bug.
        if gathered.refused_last_hour > 0 {
            alerts.push(Alert {
                kind: "lookup_limit".into(),
                device: None,
                message: format!(
                    "{} lookups of citizens refused in the last hour (limit {} a minute)",
                    gathered.refused_last_hour, state.config.kiosk_lookups_per_minute
                ),
            });
        }
        let refused_today = gathered.lookups_24h.1;
        if refused_today >= i64::from(state.config.lookup_refusals_to_flag.max(1)) {
            alerts.push(Alert {
                kind: "revocation_suggested".into(),
                device: None,
                message: format!(
                    "{refused_today} lookups refused in 24 h: check the kiosk and revoke its \
                     certificate if its credential was stolen"
                ),
            });
        }
        let certificate = match (gathered.certificates, gathered.revoked) {
            (0, _) => "none",
            (all, revoked) if all == revoked => "revoked",
            _ => "valid",
        };
        let state_name = if certificate == "revoked" {
            "revoked"
        } else if alerts.is_empty() {
            "ok"
        } else {
            "alert"
        };
        let beat = gathered.heartbeat;
        list.push(KioskStatus {
            kiosk_id,
            state: state_name.into(),
            last_seen: beat.as_ref().map(|b| b.received_at),
            silent_for_s: silent_for,
            software_version: beat.as_ref().map(|b| b.software_version.clone()),
            outbox_backlog: beat.as_ref().map(|b| b.outbox_backlog),
            config_version: beat.as_ref().and_then(|b| b.config_version),
            sessions_today: gathered.sessions_today,
            lookups_24h: gathered.lookups_24h,
            certificate: certificate.into(),
            devices,
            alerts,
        });
    }
    let mut center_alerts = Vec::new();
    let alert_after = i64::try_from(crate::delivery::UNDELIVERED_ALERT.as_secs()).unwrap_or(3600);
    let undelivered = state.store.undelivered_since(now - alert_after).await?;
    if let Some(oldest) = undelivered.first() {
        let refused = undelivered
            .iter()
            .filter(|d| d.state == store::deliveries::DeliveryState::Rejected)
            .count();
        let ago = human(now - oldest.created_at);
        // Counts only: application numbers stay in the staff console (办证时限 Deadlines).
        center_alerts.push(Alert {
            kind: "undelivered".into(),
            device: None,
            message: format!(
                "{count} 份受理超过 1 小时未上报人口信息系统（{refused} 份被拒绝），最早已 {ago}；\
                 见工作台“办证时限” · {count} applications not delivered to the population \
                 system for over an hour ({refused} refused), the oldest for {ago}; see the \
                 staff console's Deadlines",
                count = undelivered.len(),
            ),
        });
    }
    Ok(FleetView {
        center_alerts,
        generated_at: now,
        today: today.to_string(),
        silent_after_s: silent_after,
        alerts: list.iter().filter(|k| k.state == "alert").count(),
        kiosks: list,
    })
}

/// What `devices::HealthCell` reports before the driver's first operation: the drivers open
/// their ports when first used, so a kiosk that has run no session since it started reports its
/// devices `disconnected` with this reason. That is an idle kiosk, not a fault (it was shown as
/// an alert, in red); a port that fails to open reports the open's own error instead.
pub const NOT_OPENED_YET: &str = "not opened yet";

/// A device reported `disconnected` only because its driver has not opened it yet.
pub fn not_opened_yet(report: &super::heartbeat::DeviceReport) -> bool {
    report.state == super::heartbeat::DeviceState::Disconnected
        && report.reason.as_deref() == Some(NOT_OPENED_YET)
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 300 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `GET /v1/fleet/kiosks` (operators).
pub async fn kiosks(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Json<FleetView>, AppError> {
    Ok(Json(fleet_view(&state).await?))
}

/// `GET /fleet` (operators): the fleet view as HTML.
pub async fn page(
    _operator: Operator,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let view = fleet_view(&state).await?;
    let html = FleetPage::new(&view)
        .render()
        .map_err(|err| AppError::internal("fleet page", err))?;
    Ok(Html(html).into_response())
}

/// The page (`templates/fleet.html`); empty if the template fails, which writing strings and
/// numbers cannot do.
pub fn render(view: &FleetView) -> String {
    FleetPage::new(view).render().unwrap_or_default()
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage<'a> {
    view: &'a FleetView,
    /// When the view was made, China Standard Time.
    generated: String,
    rows: Vec<FleetRow<'a>>,
}

struct FleetRow<'a> {
    kiosk: &'a KioskStatus,
    last_seen: String,
    /// (CSS class, label) of each device.
    devices: Vec<(&'static str, String)>,
    version: &'a str,
    outbox: String,
    config: String,
}

fn china_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            t.to_offset(domain::time_zone::CHINA_STANDARD_TIME)
                .format(&time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

impl<'a> FleetPage<'a> {
    fn new(view: &'a FleetView) -> FleetPage<'a> {
        let rows = view
            .kiosks
            .iter()
            .map(|kiosk| FleetRow {
                kiosk,
                last_seen: match (kiosk.last_seen, kiosk.silent_for_s) {
                    (Some(at), Some(ago)) => format!("{} ({} ago)", china_time(at), human(ago)),
                    _ => "never".into(),
                },
                devices: kiosk
                    .devices
                    .iter()
                    .map(|(name, report)| device_label(name, report))
                    .collect(),
                version: kiosk.software_version.as_deref().unwrap_or("–"),
                outbox: kiosk
                    .outbox_backlog
                    .map_or("–".to_owned(), |n| n.to_string()),
                config: kiosk
                    .config_version
                    .map_or("–".to_owned(), |n| n.to_string()),
            })
            .collect();
        FleetPage {
            view,
            generated: china_time(view.generated_at),
            rows,
        }
    }
}

/// A device's CSS class and label: its state, why, and its supplies.
fn device_label(name: &str, report: &super::heartbeat::DeviceReport) -> (&'static str, String) {
    let idle = not_opened_yet(report);
    let class = if idle { "idle" } else { report.state.as_str() };
    let mut label = if idle {
        format!("{name}: 空闲 idle (not opened yet)")
    } else {
        format!("{name}: {}", report.state.as_str())
    };
    if let (false, Some(reason)) = (idle, &report.reason) {
        let _ = write!(label, " ({reason})");
    }
    if let Some(paper) = report.paper {
        let _ = write!(label, " paper {}", format!("{paper:?}").to_lowercase());
    }
    if let Some(toner) = report.toner {
        let _ = write!(label, " toner {}", format!("{toner:?}").to_lowercase());
    }
    (class, label)
}
