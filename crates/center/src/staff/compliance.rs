//! The monthly compliance report of the legal clock (docs/domain.md section 10, docs/staff.md):
//! per collection office, how many applications became ready on time, late, or are not ready past
//! their issue-by date, with the late ones listed; as a page and as CSV. Both views are audited
//! before they answer; ID numbers are masked.
//!
//! An application is reported under the collection office it recorded (the office of the kiosk
//! that took it); one stored before offices were recorded, under the default office
//! ([`by_office`]).

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

/// `items` grouped by collection office: every configured office in the configuration's order
/// (empty ones too), then any office an application recorded that the configuration no longer
/// has. `office_of` gives an item's stored office code; `None` is the default office.
pub(super) fn by_office<T>(
    config: &CenterConfig,
    items: Vec<T>,
    office_of: impl Fn(&T) -> Option<&str>,
) -> Vec<(ReportOffice, Vec<T>)> {
    let mut groups: Vec<(ReportOffice, Vec<T>)> = config
        .collection_offices
        .iter()
        .map(|office| {
            let office = ReportOffice {
                code: office.code.clone(),
                name: office.name.clone(),
            };
            (office, Vec::new())
        })
        .collect();
    for item in items {
        let code = office_of(&item).unwrap_or(&config.default_office);
        let code = if code.is_empty() { "-" } else { code };
        match groups.iter_mut().find(|(office, _)| office.code == code) {
            Some((_, group)) => group.push(item),
            None => {
                let office = ReportOffice {
                    code: code.to_owned(),
                    name: "未配置的领证地点 An office not in the configuration".into(),
                };
                groups.push((office, vec![item]));
            }
        }
    }
    groups
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
    fn of((office, rows): (ReportOffice, Vec<ComplianceRow>)) -> OfficeReport {
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
        offices: by_office(&state.config, rows, |row| row.collection_office.as_deref())
            .into_iter()
            .map(OfficeReport::of)
            .collect(),
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
    let body = store::compliance::to_csv(&state.config.default_office, &rows, mask_id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CollectionOffice;

    fn office(code: &str) -> CollectionOffice {
        CollectionOffice {
            code: code.into(),
            name: format!("{code} hall"),
            address: String::new(),
            hours: String::new(),
            remote_area: false,
            kiosks: Vec::new(),
        }
    }

    #[test]
    fn applications_are_grouped_under_the_office_they_recorded() {
        let config = CenterConfig {
            collection_offices: vec![office("XW"), office("GL"), office("JY")],
            default_office: "XW".into(),
            ..CenterConfig::default()
        };
        let items = vec![
            ("1", Some("GL")),
            ("2", None),
            ("3", Some("QH")),
            ("4", Some("GL")),
        ];
        let groups = by_office(&config, items, |item| item.1);
        let seen: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(office, items)| {
                (
                    office.code.as_str(),
                    items.iter().map(|item| item.0).collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("XW", vec!["2"]),
                ("GL", vec!["1", "4"]),
                ("JY", vec![]),
                ("QH", vec!["3"]),
            ]
        );
        assert_eq!(groups[1].0.name, "GL hall");
        assert!(groups[3].0.name.contains("not in the configuration"));
    }
}
