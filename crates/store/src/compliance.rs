//! The legal clock checked against the journey (docs/domain.md section 10): the applications not
//! yet ready whose issue-by date is near or past, and a month's compliance report (ready on time,
//! ready late, not ready past the date), from `center_applications.journey_state` and the `ready`
//! move of `center_application_transitions`.
//!
//! The day an application became ready is the China Standard Time day of its `ready` move. An
//! application records no collection office: the center reports every one under its default
//! office.

use domain::journey::{is_overdue, ApplicationState};
use domain::time_zone::CHINA_STANDARD_TIME;
use time::{Date, Month};

use crate::sessions::ApplicationRecord;
use crate::{Store, StoreError};

/// The states before `ready`: the legal clock still runs.
const NOT_READY: &str = "('submitted', 'accepted', 'in_production')";

const COLUMNS: &str = "a.application_no, a.session_id, a.kiosk_id, a.city_code, a.id_number, \
     a.name, a.nation_code, a.address, a.business, a.household, a.receipt_code, a.mobile, \
     a.fee_cny, a.validity, a.accepted_on, a.issue_by, a.remote_area, a.fingers, a.status, \
     a.created_at, a.collection_office, a.journey_state";

/// An application not yet ready, with its journey state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotReady {
    /// The application.
    #[sqlx(flatten)]
    pub application: ApplicationRecord,
    /// `submitted`, `accepted` or `in_production`.
    #[sqlx(rename = "journey_state", try_from = "String")]
    pub state: ApplicationState,
}

/// A calendar month (`YYYY-MM`) of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportMonth {
    first: Date,
}

impl ReportMonth {
    /// `2026-11`; anything else (another shape, month 13, year 0) is `None`.
    pub fn parse(text: &str) -> Option<ReportMonth> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
        if year < 1 {
            return None;
        }
        Date::from_calendar_date(year, month, 1)
            .ok()
            .map(|first| ReportMonth { first })
    }

    /// The month `day` is in.
    pub fn of(day: Date) -> ReportMonth {
        ReportMonth {
            first: day.replace_day(1).unwrap_or(day),
        }
    }

    /// The month before (the report's default: the last month that is over).
    pub fn previous(self) -> ReportMonth {
        ReportMonth::of(self.first.previous_day().unwrap_or(self.first))
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        self.first
    }

    /// Its last day.
    pub fn last_day(self) -> Date {
        self.first
            .replace_day(self.first.month().length(self.first.year()))
            .unwrap_or(self.first)
    }

    /// `[start, end)` in unix seconds: its first midnight and the next month's, in China
    /// Standard Time.
    fn unix_range(self) -> (i64, i64) {
        let start = self.first.midnight().assume_offset(CHINA_STANDARD_TIME);
        let next = self.last_day().next_day().unwrap_or(Date::MAX);
        let end = next.midnight().assume_offset(CHINA_STANDARD_TIME);
        (start.unix_timestamp(), end.unix_timestamp())
    }
}

impl std::fmt::Display for ReportMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}",
            self.first.year(),
            u8::from(self.first.month())
        )
    }
}

/// How an application stands against its issue-by date, today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Ready on or before its date.
    OnTime,
    /// Ready after its date, by `days_late` days.
    Late {
        /// Days from the issue-by date to the day it became ready.
        days_late: i64,
    },
    /// Not ready, and its date has passed.
    OverdueNotReady {
        /// Days from the issue-by date to today.
        days_late: i64,
    },
    /// Not ready, and its date has not passed yet.
    NotYetDue,
}

impl Outcome {
    /// `on_time`, `late`, `overdue_not_ready`, `not_yet_due` (the CSV's codes).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::OnTime => "on_time",
            Outcome::Late { .. } => "late",
            Outcome::OverdueNotReady { .. } => "overdue_not_ready",
            Outcome::NotYetDue => "not_yet_due",
        }
    }

    /// The days past the date (0 for on time and not yet due).
    pub fn days_late(self) -> i64 {
        match self {
            Outcome::Late { days_late } | Outcome::OverdueNotReady { days_late } => days_late,
            Outcome::OnTime | Outcome::NotYetDue => 0,
        }
    }

    /// Classifies one application on `today` ([`domain::journey::is_overdue`]'s rule): made
    /// ready on `ready_on` (its `ready` move), or not ready yet.
    pub fn classify(
        state: ApplicationState,
        issue_by: Date,
        ready_on: Option<Date>,
        today: Date,
    ) -> Outcome {
        let overdue = is_overdue(state, issue_by, today, ready_on);
        match ready_on {
            Some(ready_on) if overdue => Outcome::Late {
                days_late: (ready_on - issue_by).whole_days(),
            },
            Some(_) => Outcome::OnTime,
            None if overdue => Outcome::OverdueNotReady {
                days_late: (today - issue_by).whole_days(),
            },
            None => Outcome::NotYetDue,
        }
    }
}

/// A row of a month's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceRow {
    /// The application.
    pub application_no: String,
    /// The citizen's ID number (mask it to show it).
    pub id_number: String,
    /// The day it was accepted.
    pub accepted_on: Date,
    /// The legal date to be ready by.
    pub issue_by: Date,
    /// In a remote area (90 days instead of 60).
    pub remote_area: bool,
    /// Its journey state now.
    pub state: ApplicationState,
    /// The day (China Standard Time) of its `ready` move, if it has been made ready.
    pub ready_on: Option<Date>,
    /// How it stands against the date, today.
    pub outcome: Outcome,
    /// The code of its collection office (`None`: stored before offices were recorded).
    pub collection_office: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MonthRow {
    application_no: String,
    id_number: String,
    accepted_on: Date,
    issue_by: Date,
    remote_area: bool,
    #[sqlx(try_from = "String")]
    journey_state: ApplicationState,
    ready_at: Option<i64>,
    collection_office: Option<String>,
}

/// The China Standard Time day of unix seconds `at`.
fn day_of(at: i64) -> Option<Date> {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .map(|at| at.to_offset(CHINA_STANDARD_TIME).date())
}

impl Store {
    /// The applications not yet ready (`submitted`, `accepted`, `in_production`) whose issue-by
    /// date is on or before `until`, earliest date first, at most `limit`. Ready, collected,
    /// returned, rejected and cancelled ones are not listed.
    pub async fn not_ready_due_by(
        &self,
        until: Date,
        limit: i64,
    ) -> Result<Vec<NotReady>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM center_applications a \
             WHERE a.journey_state IN {NOT_READY} AND a.issue_by <= $1 \
             ORDER BY a.issue_by, a.application_no LIMIT $2"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(until)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// The report of `month` on `today`: every application whose issue-by date falls in the
    /// month or which became ready in it (rejected and cancelled ones never count), each
    /// classified by [`Outcome::classify`], by issue-by date then number.
    pub async fn compliance_month(
        &self,
        month: ReportMonth,
        today: Date,
    ) -> Result<Vec<ComplianceRow>, StoreError> {
        let (start, end) = month.unix_range();
        let sql = format!(
            "SELECT a.application_no, a.id_number, a.accepted_on, a.issue_by, a.remote_area, \
               a.journey_state, t.at AS ready_at, a.collection_office \
             FROM center_applications a \
             LEFT JOIN center_application_transitions t \
               ON t.application_no = a.application_no AND t.to_state = 'ready' \
             WHERE (a.journey_state IN {NOT_READY} OR t.at IS NOT NULL) \
               AND ((a.issue_by >= $1 AND a.issue_by <= $2) OR (t.at >= $3 AND t.at < $4)) \
             ORDER BY a.issue_by, a.application_no"
        );
        let rows: Vec<MonthRow> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(month.first_day())
            .bind(month.last_day())
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| {
                let ready_on = match row.ready_at {
                    Some(at) => Some(day_of(at).ok_or_else(|| StoreError::Corrupt {
                        column: "center_application_transitions.at",
                        value: at.to_string(),
                        reason: "not a time".into(),
                    })?),
                    None => None,
                };
                Ok(ComplianceRow {
                    outcome: Outcome::classify(row.journey_state, row.issue_by, ready_on, today),
                    application_no: row.application_no,
                    id_number: row.id_number,
                    accepted_on: row.accepted_on,
                    issue_by: row.issue_by,
                    remote_area: row.remote_area,
                    state: row.journey_state,
                    ready_on,
                    collection_office: row.collection_office,
                })
            })
            .collect()
    }
}

/// A month's report as CSV (RFC 4180, CRLF, a header line): one line per application, the ID
/// number masked by `mask_id`, under its collection office (`default_office` for one stored
/// before offices were recorded).
pub fn to_csv(
    default_office: &str,
    rows: &[ComplianceRow],
    mask_id: impl Fn(&str) -> String,
) -> Result<String, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record([
        "office",
        "application_no",
        "id_number",
        "accepted_on",
        "issue_by",
        "remote_area",
        "state",
        "ready_on",
        "outcome",
        "days_late",
    ])?;
    for row in rows {
        out.write_record([
            row.collection_office
                .as_deref()
                .unwrap_or(default_office)
                .to_owned(),
            row.application_no.clone(),
            mask_id(&row.id_number),
            row.accepted_on.to_string(),
            row.issue_by.to_string(),
            if row.remote_area { "1" } else { "0" }.to_owned(),
            row.state.as_str().to_owned(),
            row.ready_on.map(|day| day.to_string()).unwrap_or_default(),
            row.outcome.as_str().to_owned(),
            row.outcome.days_late().to_string(),
        ])?;
    }
    let bytes = out
        .into_inner()
        .map_err(|err| csv::Error::from(err.into_error()))?;
    // Every field was a `String`, so the bytes are UTF-8 and nothing is replaced.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_parse_and_bound() {
        let month = ReportMonth::parse("2026-02").unwrap();
        assert_eq!(month.first_day(), date!(2026 - 02 - 01));
        assert_eq!(month.last_day(), date!(2026 - 02 - 28));
        assert_eq!(month.to_string(), "2026-02");
        assert_eq!(month.previous().to_string(), "2026-01");
        assert_eq!(
            ReportMonth::of(date!(2026 - 01 - 09))
                .previous()
                .to_string(),
            "2025-12"
        );
        let (start, end) = month.unix_range();
        assert_eq!(end - start, 28 * 86_400);
        assert_eq!(day_of(start), Some(date!(2026 - 02 - 01)));
        assert_eq!(day_of(end - 1), Some(date!(2026 - 02 - 28)));
        for bad in [
            "",
            "2026",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026-01-01",
            "abcd-ef",
        ] {
            assert_eq!(ReportMonth::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn outcomes_follow_the_legal_date() {
        use ApplicationState as S;
        let by = date!(2026 - 10 - 31);
        let today = date!(2026 - 11 - 10);
        let check = |state, ready_on, expected| {
            assert_eq!(Outcome::classify(state, by, ready_on, today), expected);
        };
        check(S::Ready, Some(by), Outcome::OnTime);
        check(
            S::Collected,
            Some(date!(2026 - 11 - 05)),
            Outcome::Late { days_late: 5 },
        );
        check(
            S::InProduction,
            None,
            Outcome::OverdueNotReady { days_late: 10 },
        );
        assert_eq!(
            Outcome::classify(S::Accepted, by, None, by),
            Outcome::NotYetDue,
            "the last day is not late"
        );
    }
}
