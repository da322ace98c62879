//! `idkiosk id check` on the examples of docs/domain.md section 2.

use crate::idkiosk;

#[test]
fn valid_number_with_x() {
    let run = idkiosk(&["id", "check", "11010519491231002X"], "");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        r#"{"valid":true,"id":"11010519491231002X","region_code":"110105","region":"北京市朝阳区","birth_date":"1949-12-31","sex":"female"}"#
    );
}

#[test]
fn lower_case_x_is_normalised() {
    let run = idkiosk(&["id", "check", "11010519491231002x"], "");
    assert_eq!(run.code, 0);
    assert_eq!(run.json["id"], "11010519491231002X");
}

#[test]
fn wrong_check_character() {
    let run = idkiosk(&["id", "check", "110105194912310021"], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.json["valid"], false);
    assert_eq!(run.json["field"], "check_digit");
    assert!(run.json["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[test]
fn impossible_birth_date_with_a_fitting_check_character() {
    let run = idkiosk(&["id", "check", "320402198502290016"], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.json["field"], "birth_date");
}

#[test]
fn abolished_region_code() {
    let run = idkiosk(&["id", "check", "110103198001010013"], "");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        r#"{"valid":true,"id":"110103198001010013","region_code":"110103","region":"北京市崇文区","birth_date":"1980-01-01","sex":"male"}"#
    );
}

#[test]
fn first_generation_number() {
    let run = idkiosk(&["id", "check", "110105491231002"], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.json["field"], "length");
    assert!(
        run.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("18-digit")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_leading_dash_is_a_number_not_an_option() {
    let run = idkiosk(&["id", "check", "-1010519491231002X"], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.json["field"], "characters");
}
