//! The monthly compliance report of the legal clock (docs/domain.md section 10, docs/staff.md):
//! per collection office, how many applications became ready on time, late, or are not ready past
//! their issue-by date, with the late ones listed; as a page and as CSV. Both views are audited
//! before they answer; ID numbers are masked.
//!
//! An application records no collection office: every one is reported under the bureau's default
//! office ([`report_office`]).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use store::compliance::{ComplianceRow, Outcome, ReportMonth};

use super::labels::{self, Label};
use super::{audit, mask_id, Role, StaffError, StaffSession};
use crate::{AppState, CenterConfig};

/// Who may read the report: the window's clerks and the auditors.
pub(super) const ROLES: &[Role] = &[Role::WindowClerk, Role::Auditor];

/// The office applications are reported under.
pub(super) struct ReportOffice {
    /// The bureau's code (`-` when the configuration names no office).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The office every application is collected at today: the configuration's default office (an
/// application does not record one).
pub(super) fn report_office(config: &CenterConfig) -> ReportOffice {
    match config.collection_office() {
        Some(office) => ReportOffice {
            code: office.code.clone(),
            name: office.name.clone(),
        },
        None => ReportOffice {
            code: "-".into(),
            name: "未配置领证地点 No collection office configured".into(),
        },
    }
}

/// `?month=YYYY-MM`; the previous month when absent or empty.
#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

fn report_month(
    state: &AppState,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Result<ReportMonth, StaffError> {
    let bad =
        |text: &str| StaffError::BadRequest(format!("month: {text:?} is not a month (YYYY-MM)"));
    let Query(query) = query.map_err(|_| bad("?"))?;
    match query.month.as_deref().map(str::trim) {
        None | Some("") => Ok(ReportMonth::of(state.today.today()).previous()),
        Some(text) => ReportMonth::parse(text).ok_or_else(|| bad(text)),
    }
}

/// A listed application.
struct ReportRow {
    no: String,
    id: String,
    issue_by: time::Date,
    ready_on: String,
    state: Label,
    remote: bool,
    days_late: i64,
}

impl ReportRow {
    fn of(row: &ComplianceRow) -> ReportRow {
        ReportRow {
            no: row.application_no.clone(),
            id: mask_id(&row.id_number),
            issue_by: row.issue_by,
            ready_on: row.ready_on.map(|day| day.to_string()).unwrap_or_default(),
            state: labels::journey_state(row.state),
            remote: row.remote_area,
            days_late: row.outcome.days_late(),
        }
    }
}

/// One office's part of the report.
struct OfficeReport {
    code: String,
    name: String,
    on_time: usize,
    late: usize,
    overdue: usize,
    not_yet_due: usize,
    late_rows: Vec<ReportRow>,
    overdue_rows: Vec<ReportRow>,
}

impl OfficeReport {
    fn of(office: ReportOffice, rows: &[ComplianceRow]) -> OfficeReport {
        let count = |pick: fn(&Outcome) -> bool| rows.iter().filter(|r| pick(&r.outcome)).count();
        let listed = |pick: fn(&Outcome) -> bool| {
            let mut listed: Vec<ReportRow> = rows
                .iter()
                .filter(|r| pick(&r.outcome))
                .map(ReportRow::of)
                .collect();
            listed.sort_by(|a, b| b.days_late.cmp(&a.days_late).then(a.no.cmp(&b.no)));
            listed
        };
        let late = |o: &Outcome| matches!(o, Outcome::Late { .. });
        let overdue = |o: &Outcome| matches!(o, Outcome::OverdueNotReady { .. });
        OfficeReport {
            code: office.code,
            name: office.name,
            on_time: count(|o| *o == Outcome::OnTime),
            late: count(late),
            overdue: count(overdue),
            not_yet_due: count(|o| *o == Outcome::NotYetDue),
            late_rows: listed(late),
            overdue_rows: listed(overdue),
        }
    }
}

#[derive(Template)]
#[template(path = "staff/compliance.html")]
struct CompliancePage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    month: String,
    today: time::Date,
    offices: Vec<OfficeReport>,
}

/// `GET /staff/compliance?month=YYYY-MM`: the month's report per office (audited
/// `view_compliance`).
pub async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Result<Html<String>, StaffError> {
    let month = report_month(&state, query)?;
    let today = state.today.today();
    let rows = state.store.compliance_month(month, today).await?;
    audit(
        &state,
        &staff,
        "view_compliance",
        &month.to_string(),
        &format!("{} applications", rows.len()),
    )
    .await?;
    super::html::render(&CompliancePage {
        title: "办证时限报告 Compliance report",
        staff: Some(&staff),
        month: month.to_string(),
        today,
        offices: vec![OfficeReport::of(report_office(&state.config), &rows)],
    })
}

/// `GET /staff/compliance.csv?month=YYYY-MM`: every application of the month's report, one line
/// each, ID numbers masked (audited `export_compliance`).
pub async fn csv(
    State(state): State<AppState>,
    staff: StaffSession,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Result<Response, StaffError> {
    let month = report_month(&state, query)?;
    let rows = state
        .store
        .compliance_month(month, state.today.today())
        .await?;
    let office = report_office(&state.config);
    let body = store::compliance::to_csv(&office.code, &rows, mask_id)
        .map_err(|err| StaffError::Internal(err.into()))?;
    audit(
        &state,
        &staff,
        "export_compliance",
        &month.to_string(),
        &format!("{} applications", rows.len()),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"compliance-{month}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
