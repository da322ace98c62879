//! `idkiosk rules decide` on every row of docs/domain.md section 3.6's decision table (today
//! 2026-11-25, kiosk 320100), and on malformed cases.

use serde_json::{json, Value};

use crate::idkiosk;

/// A population record with the defaults of the table: normal, photo on file, nothing pending.
fn record(household_region: &str) -> Value {
    json!({
        "status": "normal",
        "household_region": household_region,
        "floating_registered": false,
        "history_photo": true,
        "application_in_progress": false,
        "remote_area": false
    })
}

fn case(
    id: &str,
    business: &str,
    household: &str,
    card_until: Option<&str>,
    record: Value,
) -> Value {
    let card = card_until.map_or(
        Value::Null,
        |until| json!({"id": id, "valid_from": "2016-12-20", "valid_until": until}),
    );
    json!({
        "today": "2026-11-25",
        "kiosk_region": "320100",
        "business": business,
        "household": household,
        "id": id,
        "card": card,
        "record": record
    })
}

/// Runs the case and checks the whole decision.
fn check(
    case: Value,
    outcome: &str,
    reason: &str,
    fee: Option<u32>,
    validity: Option<&str>,
    issue_by: Option<&str>,
) {
    let run = idkiosk(&["rules", "decide"], &case.to_string());
    assert_eq!(
        run.code,
        if outcome == "accept" { 0 } else { 1 },
        "{}",
        run.stdout
    );
    let d = &run.json;
    assert_eq!(d["outcome"], outcome, "{}", run.stdout);
    assert_eq!(d["reason"], reason, "{}", run.stdout);
    assert_eq!(d["fee_cny"], json!(fee), "{}", run.stdout);
    assert_eq!(d["new_card_validity"], json!(validity), "{}", run.stdout);
    assert_eq!(d["issue_by"], json!(issue_by), "{}", run.stdout);
    assert!(d["prompt_zh"].as_str().is_some_and(|p| !p.is_empty()));
    assert!(d["prompt_en"].as_str().is_some_and(|p| !p.is_empty()));
}

#[test]
fn row_1_renewal_inside_the_window() {
    let c = case(
        "320104200012100044",
        "expiry_renewal",
        "local",
        Some("2026-12-20"),
        record("320104"),
    );
    check(
        c,
        "accept",
        "accept",
        Some(20),
        Some("10_years"),
        Some("2027-01-24"),
    );
}

#[test]
fn row_2_renewal_a_day_past_the_window() {
    let c = case(
        "320104200012100044",
        "expiry_renewal",
        "local",
        Some("2026-05-24"),
        record("320104"),
    );
    check(c, "refer", "not_in_renewal_window", None, None, None);
}

#[test]
fn row_3_renewal_on_the_last_day_of_the_window() {
    let c = case(
        "320104200012100044",
        "expiry_renewal",
        "local",
        Some("2026-05-25"),
        record("320104"),
    );
    check(
        c,
        "accept",
        "accept",
        Some(20),
        Some("10_years"),
        Some("2027-01-24"),
    );
}

#[test]
fn row_4_under_16() {
    let c = case(
        "32011120110601003X",
        "lost",
        "local",
        None,
        record("320111"),
    );
    check(c, "refer", "under_16", None, None, None);
}

#[test]
fn row_5_elsewhere_in_the_province_not_registered() {
    let c = case(
        "320582198804160054",
        "lost",
        "province",
        None,
        record("320582"),
    );
    check(c, "refer", "not_floating_registered", None, None, None);
}

#[test]
fn row_6_elsewhere_in_the_province_registered_remote_area() {
    let mut r = record("320582");
    r["floating_registered"] = json!(true);
    r["remote_area"] = json!(true);
    let c = case("320582198804160054", "lost", "province", None, r);
    check(
        c,
        "accept",
        "accept",
        Some(40),
        Some("20_years"),
        Some("2027-02-23"),
    );
}

#[test]
fn row_7_damaged_long_term() {
    let c = case(
        "320106196307084567",
        "damaged",
        "local",
        None,
        record("320106"),
    );
    check(
        c,
        "accept",
        "accept",
        Some(40),
        Some("long_term"),
        Some("2027-01-24"),
    );
}

#[test]
fn row_8_household_outside_the_province() {
    let c = case(
        "340104198209110063",
        "lost",
        "province",
        None,
        record("340104"),
    );
    check(c, "refer", "household_outside_province", None, None, None);
}

#[test]
fn row_9_no_historical_photo() {
    let mut r = record("320113");
    r["history_photo"] = json!(false);
    let c = case("320113197001020075", "damaged", "local", None, r);
    check(c, "refer", "no_history_photo", None, None, None);
}

#[test]
fn refusals_carry_their_own_prompt() {
    let c = case(
        "32011120110601003X",
        "lost",
        "local",
        None,
        record("320111"),
    );
    let run = idkiosk(&["rules", "decide"], &c.to_string());
    assert_eq!(
        run.json["prompt_zh"],
        "未满16周岁的申请人不能自助办理，请由监护人陪同到户政窗口办理。"
    );
    let c = case(
        "340104198209110063",
        "lost",
        "province",
        None,
        record("340104"),
    );
    let run = idkiosk(&["rules", "decide"], &c.to_string());
    assert_eq!(
        run.json["prompt_zh"],
        "您的居民身份证不在自助受理范围内，如需帮助请联系工作人员。"
    );
}

#[test]
fn no_record_is_not_found() {
    let c = case("320104200012100044", "lost", "local", None, Value::Null);
    check(c, "refer", "not_found", None, None, None);
}

/// A malformed case exits 2 with `{"error", "field"}` naming the field.
fn malformed(input: &str, field: Value) {
    let run = idkiosk(&["rules", "decide"], input);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(run.json["field"], field, "{}", run.stdout);
    assert!(
        run.json["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{}",
        run.stdout
    );
}

#[test]
fn malformed_cases_name_the_field() {
    let valid = case(
        "320104200012100044",
        "expiry_renewal",
        "local",
        Some("2026-12-20"),
        record("320104"),
    );

    let mut c = valid.clone();
    c["card"]["valid_until"] = json!("someday");
    malformed(&c.to_string(), json!("card.valid_until"));

    let mut c = valid.clone();
    c["record"]
        .as_object_mut()
        .expect("object")
        .remove("history_photo");
    malformed(&c.to_string(), json!("record.history_photo"));

    let mut c = valid.clone();
    c["extra"] = json!(1);
    malformed(&c.to_string(), json!("extra"));

    let mut c = valid.clone();
    c["card"] = Value::Null;
    malformed(&c.to_string(), json!("card"));

    let mut c = valid;
    c["today"] = json!(20261125);
    malformed(&c.to_string(), json!("today"));

    malformed("this is not json", Value::Null);
    malformed("", Value::Null);
}

#[test]
fn long_term_card_is_never_in_the_window() {
    let c = case(
        "320104200012100044",
        "expiry_renewal",
        "local",
        Some("long_term"),
        record("320104"),
    );
    check(c, "refer", "not_in_renewal_window", None, None, None);
}
