//! Issue 14, item 11: the kiosk API's JSON types fuzzed as property tests. cargo-fuzz would have to
//! instrument all of the center's dependencies, which CI cannot afford (docs/testing.md), so
//! arbitrary and near-valid bodies go through `center::json::parse`, the routes' own parser, and
//! then the edge's checks. Nothing may panic, and every refusal is a client error (400 or 422).

use center::error::AppError;
use center::outcome::OutcomeJson;
use center::payments::PosReport;
use center::steps::{ApplicationRequest, FacesRequest, ReceiptRequest};
use center::wire::ScopeRequest;
use proptest::prelude::*;
use serde_json::{json, Value};
use time::Date;

fn client_error<T>(result: Result<T, AppError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(AppError::BadRequest { .. } | AppError::Invalid { .. }) => None,
        Err(other) => panic!("a body gave a non-client error: {other:?}"),
    }
}

/// Every body shape the routes read, from raw bytes.
fn every_type(bytes: &[u8], today: Date) {
    if let Some(scope) = client_error(center::json::parse::<ScopeRequest>(bytes)) {
        client_error(center::wire::validate(&scope, today));
    }
    client_error(center::json::parse::<ReceiptRequest>(bytes));
    client_error(center::json::parse::<FacesRequest>(bytes));
    client_error(center::json::parse::<ApplicationRequest>(bytes));
    if let Some(report) = client_error(center::json::parse::<PosReport>(bytes)) {
        client_error(center::payments::check_approved(&report));
    }
    if let Some(outcome) = client_error(center::json::parse::<OutcomeJson>(bytes)) {
        client_error(outcome.into_outcome());
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Strings near what the fields expect: ID numbers, dates, digits, codes, CJK, control
/// characters, and anything.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{17}[0-9X]",
        "[0-9X]{0,20}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "[0-9]{0,14}",
        "[0-9A-Z]{0,8}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\+08:00|Z)?",
        "(expiry_renewal|lost|damaged|local|province|long_term|completed|referred|portrait_form_printed|wechat|unionpay|face_mismatch|right_index|left_thumb)",
        "[\\u{0}-\\u{1f}\\u{4e00}-\\u{4e20}\\u{1F600}]{0,8}",
        any::<String>(),
    ]
}

/// Field names the types know, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "(business|household|id|card|valid_from|valid_until|receipt|live_photo|mobile|fee_cny|validity|issue_by|fingers|position|quality)",
        "(approved|response_code|card_masked|reference|auth_code|time|voucher|batch|amount_fen|outcome|payment|step|reason)",
        "[a-z_]{1,12}",
    ]
}

fn today() -> impl Strategy<Value = Date> {
    (1900i32..=2100, 1u16..=366).prop_map(|(year, day)| {
        Date::from_ordinal_date(year, day.min(time::util::days_in_year(year)))
            .expect("an ordinal within the year")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_bytes_are_a_client_error_or_a_value(bytes in prop::collection::vec(any::<u8>(), 0..256), today in today()) {
        every_type(&bytes, today);
    }

    #[test]
    fn any_json_is_a_client_error_or_a_value(value in any_json(), today in today()) {
        every_type(value.to_string().as_bytes(), today);
    }

    #[test]
    fn near_valid_scope_requests_are_checked_without_panicking(
        business in text(), household in text(), id in text(),
        card in prop::option::of((text(), text(), text())),
        today in today(),
    ) {
        let mut body = json!({"business": business, "household": household, "id": id});
        if let Some((id, from, until)) = card {
            body["card"] = json!({"id": id, "valid_from": from, "valid_until": until});
        }
        every_type(body.to_string().as_bytes(), today);
    }

    #[test]
    fn near_valid_pos_reports_are_checked_without_panicking(
        approved in any::<bool>(),
        fields in prop::collection::vec(prop::option::of(text()), 7),
        amount in prop::option::of(any::<u64>()),
    ) {
        let report = PosReport {
            approved,
            response_code: fields[0].clone().unwrap_or_default(),
            card_masked: fields[1].clone(),
            reference: fields[2].clone(),
            auth_code: fields[3].clone(),
            time: fields[4].clone(),
            voucher: fields[5].clone(),
            batch: fields[6].clone(),
            amount_fen: amount,
        };
        if client_error(center::payments::check_approved(&report)).is_some() {
            // What passes is the MIS-POS format, not free text.
            prop_assert!(report.response_code.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(report.reference.as_deref().is_some_and(|r| r.len() == 12));
        }
    }

    #[test]
    fn near_valid_outcomes_are_checked_without_panicking(
        outcome in text(), payment in prop::option::of(text()),
        step in prop::option::of(any::<i64>()), reason in prop::option::of(text()),
    ) {
        let body = json!({"outcome": outcome, "payment": payment, "step": step, "reason": reason});
        if let Some(parsed) = client_error(center::json::parse::<OutcomeJson>(body.to_string().as_bytes())) {
            if let Some(domain::session::SessionOutcome::Referred { step, .. }) = client_error(parsed.into_outcome()) {
                prop_assert!((1..=12).contains(&step));
            }
        }
    }
}
