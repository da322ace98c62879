//! `idkiosk rules`: the eligibility and self-service scope rules (docs/domain.md section 3) from
//! the command line. `rules decide` reads one JSON case on standard input and prints one JSON
//! decision.
//!
//! The case arrives as plain wire structs (`serde`, unknown fields rejected) whose leaves are
//! converted by hand into domain types, so every error names its field (`card.valid_until`).
//! Exit codes: 0 accept, 1 refer (a negative answer), 2 a malformed case.

use crate::outcome::Outcome;
use std::io::Read;

use domain::rules::{
    decide, Business, CardExpiry, CardOnReader, Decision, Household, PopulationRecord,
    RecordStatus, ScopeCase, ScopeError,
};
use domain::{CitizenId, KioskCity};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

/// Arguments of `idkiosk rules`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(clap::Subcommand)]
enum RulesCommand {
    /// Decide one case read as JSON on standard input; prints the decision as JSON and exits 0 on
    /// accept, 1 on refer, 2 on a malformed case
    Decide,
}

/// Runs `idkiosk rules`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        RulesCommand::Decide => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input)?;
            let (code, json) = answer(&input);
            println!("{json}");
            Ok(code)
        }
    }
}

/// The exit code and the one JSON line for a case: the decision, or the error naming its field.
pub fn answer(input: &[u8]) -> (Outcome, String) {
    let (code, json) = match read_case(input).and_then(|case| decide_case(&case)) {
        Ok(decision) => {
            let code = Outcome::answer(matches!(decision, Decision::Accept { .. }));
            (code, serde_json::to_string(&DecisionWire::from(decision)))
        }
        Err(err) => (Outcome::Usage, serde_json::to_string(&err)),
    };
    // Serialising these plain structs cannot fail; say so rather than panic if it ever did.
    (
        code,
        json.unwrap_or_else(|_| r#"{"error":"something went wrong","field":null}"#.to_owned()),
    )
}

fn decide_case(case: &ScopeCase) -> Result<Decision, CaseError> {
    decide(case).map_err(|err| match err {
        ScopeError::RenewalWithoutCard => CaseError::new("card", err.to_string()),
    })
}

/// A malformed case: what is wrong and where (`null` when the input is not a JSON object at all).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CaseError {
    /// Lower-case English, no trailing period.
    pub error: String,
    /// The dotted path of the field at fault.
    pub field: Option<String>,
}

impl CaseError {
    fn new(field: &str, error: impl Into<String>) -> CaseError {
        CaseError {
            error: error.into(),
            field: Some(field.to_owned()),
        }
    }
}

/// The case on the wire. Leaves stay JSON values so that a wrong type is reported with its field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseWire {
    today: Value,
    kiosk_region: Value,
    business: Value,
    household: Value,
    id: Value,
    card: Value,
    record: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardWire {
    id: Value,
    valid_from: Value,
    valid_until: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordWire {
    status: Value,
    household_region: Value,
    floating_registered: Value,
    history_photo: Value,
    application_in_progress: Value,
    remote_area: Value,
}

/// The decision on the wire.
#[derive(Serialize)]
struct DecisionWire {
    outcome: &'static str,
    reason: &'static str,
    prompt_zh: &'static str,
    prompt_en: &'static str,
    fee_cny: Option<u32>,
    new_card_validity: Option<&'static str>,
    issue_by: Option<String>,
}

impl From<Decision> for DecisionWire {
    /// The prompt of an acceptance is `prompts::IN_SCOPE`; a referral carries its reason's prompt.
    fn from(decision: Decision) -> DecisionWire {
        let prompt = decision.prompt();
        let (outcome, fee_cny, new_card_validity, issue_by) = match decision {
            Decision::Accept {
                fee_cny,
                validity,
                issue_by,
            } => (
                "accept",
                Some(fee_cny),
                Some(validity.as_str()),
                Some(issue_by.to_string()),
            ),
            Decision::Refer(_) => ("refer", None, None, None),
        };
        DecisionWire {
            outcome,
            reason: decision.reason_code(),
            prompt_zh: prompt.zh,
            prompt_en: prompt.en,
            fee_cny,
            new_card_validity,
            issue_by,
        }
    }
}

/// Reads one case: JSON shape first (unknown, missing and duplicate fields), then every leaf in
/// the order of the format, the first error deciding.
pub fn read_case(input: &[u8]) -> Result<ScopeCase, CaseError> {
    let value: Value = from_json(serde_json::from_slice(input), "")?;
    if !value.is_object() {
        // serde would also take a struct from an array; the format is an object.
        return Err(CaseError {
            error: format!("expected a json object, found {}", kind(&value)),
            field: None,
        });
    }
    let wire: CaseWire = from_json(serde_json::from_value(value), "")?;
    ScopeCase::try_from(wire)
}

impl TryFrom<CaseWire> for ScopeCase {
    type Error = CaseError;

    fn try_from(wire: CaseWire) -> Result<ScopeCase, CaseError> {
        let today = date(&wire.today, "today")?;
        let kiosk_city = KioskCity::parse(string(&wire.kiosk_region, "kiosk_region")?)
            .map_err(|err| CaseError::new("kiosk_region", err.to_string()))?;
        let business = one_of(
            &wire.business,
            "business",
            Business::parse,
            "expiry_renewal, lost or damaged",
        )?;
        let household = one_of(
            &wire.household,
            "household",
            Household::parse,
            "local or province",
        )?;
        let id = citizen_id(&wire.id, "id", today)?;
        let card = match wire.card {
            Value::Null => None,
            value => Some(card(value, today)?),
        };
        let record = match wire.record {
            Value::Null => None,
            value => Some(record(value)?),
        };
        Ok(ScopeCase {
            today,
            kiosk_city,
            business,
            household,
            id,
            card,
            record,
        })
    }
}

fn card(value: Value, today: Date) -> Result<CardOnReader, CaseError> {
    let wire: CardWire = object(value, "card")?;
    let id = citizen_id(&wire.id, "card.id", today)?;
    let valid_from = date(&wire.valid_from, "card.valid_from")?;
    let valid_until = match string(&wire.valid_until, "card.valid_until")? {
        "long_term" => CardExpiry::LongTerm,
        _ => {
            let until = date(&wire.valid_until, "card.valid_until")?;
            if until < valid_from {
                return Err(CaseError::new(
                    "card.valid_until",
                    "the card expires before it is valid",
                ));
            }
            CardExpiry::On(until)
        }
    };
    Ok(CardOnReader {
        id,
        valid_from,
        valid_until,
    })
}

fn record(value: Value) -> Result<PopulationRecord, CaseError> {
    let wire: RecordWire = object(value, "record")?;
    let status = one_of(
        &wire.status,
        "record.status",
        RecordStatus::parse,
        "normal, cancelled, deceased or moved_out",
    )?;
    let household_region = string(&wire.household_region, "record.household_region")?;
    if household_region.len() != 6 || !household_region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CaseError::new(
            "record.household_region",
            "a region code is six digits",
        ));
    }
    Ok(PopulationRecord {
        status,
        household_region: household_region.to_owned(),
        floating_registered: boolean(&wire.floating_registered, "record.floating_registered")?,
        history_photo: boolean(&wire.history_photo, "record.history_photo")?,
        application_in_progress: boolean(
            &wire.application_in_progress,
            "record.application_in_progress",
        )?,
        remote_area: boolean(&wire.remote_area, "record.remote_area")?,
    })
}

/// Deserialises a nested object, naming the field of a shape error under `prefix`.
fn object<T: for<'de> Deserialize<'de>>(value: Value, prefix: &str) -> Result<T, CaseError> {
    if !value.is_object() {
        return Err(CaseError::new(prefix, "expected an object or null"));
    }
    from_json(serde_json::from_value(value), prefix)
}

/// Turns serde's shape errors into field-named errors. serde names the field in its message
/// (``missing field `today` ``); the message is the only place it does.
fn from_json<T>(result: Result<T, serde_json::Error>, prefix: &str) -> Result<T, CaseError> {
    result.map_err(|err| {
        let text = err.to_string();
        let field = ["missing field `", "unknown field `", "duplicate field `"]
            .iter()
            .find_map(|start| text.split_once(start))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_owned());
        let path = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        match field {
            Some(name) => {
                // "missing field", "unknown field" or "duplicate field", then the full path.
                let what = text.split('`').next().unwrap_or("").trim_end();
                let path = path(&name);
                CaseError {
                    error: format!("{what} {path}"),
                    field: Some(path),
                }
            }
            None if err.is_syntax() || err.is_eof() || err.is_io() => CaseError {
                error: format!("not valid json: {text}"),
                field: None,
            },
            None if prefix.is_empty() => CaseError {
                error: "expected a json object".to_owned(),
                field: None,
            },
            None => CaseError::new(prefix, format!("expected an object or null: {text}")),
        }
    })
}

fn string<'a>(value: &'a Value, field: &str) -> Result<&'a str, CaseError> {
    value
        .as_str()
        .ok_or_else(|| CaseError::new(field, format!("expected a string, found {}", kind(value))))
}

fn boolean(value: &Value, field: &str) -> Result<bool, CaseError> {
    value.as_bool().ok_or_else(|| {
        CaseError::new(
            field,
            format!("expected true or false, found {}", kind(value)),
        )
    })
}

fn date(value: &Value, field: &str) -> Result<Date, CaseError> {
    let text = string(value, field)?;
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| CaseError::new(field, format!("expected a date YYYY-MM-DD, found {text:?}")))
}

fn citizen_id(value: &Value, field: &str, today: Date) -> Result<CitizenId, CaseError> {
    CitizenId::parse(string(value, field)?, today)
        .map_err(|err| CaseError::new(field, format!("{} ({})", err.message, err.field)))
}

fn one_of<T>(
    value: &Value,
    field: &str,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<T, CaseError> {
    let text = string(value, field)?;
    parse(text).ok_or_else(|| CaseError::new(field, format!("expected {expected}, found {text:?}")))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The answer with its exit code as the process would return it.
    fn answer(input: &[u8]) -> (u8, String) {
        let (outcome, json) = super::answer(input);
        (outcome.code(), json)
    }

    fn valid_case() -> Value {
        json!({
            "today": "2026-11-25",
            "kiosk_region": "320100",
            "business": "expiry_renewal",
            "household": "local",
            "id": "320104200012100044",
            "card": {"id": "320104200012100044", "valid_from": "2006-12-20", "valid_until": "2026-12-20"},
            "record": {
                "status": "normal",
                "household_region": "320104",
                "floating_registered": false,
                "history_photo": true,
                "application_in_progress": false,
                "remote_area": false
            }
        })
    }

    fn error_of(case: &Value) -> CaseError {
        match read_case(case.to_string().as_bytes()).and_then(|case| decide_case(&case)) {
            Ok(decision) => panic!("expected an error, got {decision:?}"),
            Err(err) => err,
        }
    }

    fn field_of(case: &Value) -> Option<String> {
        error_of(case).field
    }

    #[test]
    fn a_valid_case_is_decided() {
        let (code, json) = answer(valid_case().to_string().as_bytes());
        assert_eq!(code, 0);
        let decision: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            decision,
            json!({
                "outcome": "accept",
                "reason": "accept",
                "prompt_zh": domain::prompts::IN_SCOPE.zh,
                "prompt_en": domain::prompts::IN_SCOPE.en,
                "fee_cny": 20,
                "new_card_validity": "10_years",
                "issue_by": "2027-01-24"
            })
        );
    }

    #[test]
    fn errors_name_their_field() {
        let mut case = valid_case();
        case["card"]["valid_until"] = json!("2026-13-01");
        assert_eq!(field_of(&case).as_deref(), Some("card.valid_until"));

        let mut case = valid_case();
        case["card"]["valid_until"] = json!("2000-01-01");
        assert_eq!(field_of(&case).as_deref(), Some("card.valid_until"));

        let mut case = valid_case();
        case["card"]
            .as_object_mut()
            .expect("object")
            .remove("valid_from");
        let err = error_of(&case);
        assert_eq!(err.field.as_deref(), Some("card.valid_from"));
        assert_eq!(err.error, "missing field card.valid_from");

        let mut case = valid_case();
        case["record"]["colour"] = json!("blue");
        let err = error_of(&case);
        assert_eq!(err.field.as_deref(), Some("record.colour"));
        assert_eq!(err.error, "unknown field record.colour");

        let mut case = valid_case();
        case.as_object_mut().expect("object").remove("today");
        assert_eq!(field_of(&case).as_deref(), Some("today"));

        let mut case = valid_case();
        case["record"]["remote_area"] = json!("no");
        assert_eq!(field_of(&case).as_deref(), Some("record.remote_area"));

        let mut case = valid_case();
        case["id"] = json!("110105194912310021");
        let err = error_of(&case);
        assert_eq!(err.field.as_deref(), Some("id"));
        assert!(err.error.contains("check_digit"), "{}", err.error);

        let mut case = valid_case();
        case["kiosk_region"] = json!("320104");
        assert_eq!(field_of(&case).as_deref(), Some("kiosk_region"));

        let mut case = valid_case();
        case["business"] = json!("temporary");
        assert_eq!(field_of(&case).as_deref(), Some("business"));

        let mut case = valid_case();
        case["card"] = json!([1, 2, 3]);
        assert_eq!(field_of(&case).as_deref(), Some("card"));

        let mut case = valid_case();
        case["card"] = Value::Null;
        let err = error_of(&case);
        assert_eq!(err.field.as_deref(), Some("card"));
        assert_eq!(
            err.error,
            "an expiry renewal needs the card read from the reader"
        );
    }

    #[test]
    fn not_an_object() {
        for input in ["", "not json", "[1,2]", "null", "42", "{\"today\":"] {
            let err = read_case(input.as_bytes()).expect_err(input);
            assert_eq!(err.field, None, "{input}");
        }
        let (code, json) = answer(b"\xff\xfe");
        assert_eq!(code, 2);
        assert!(json.contains("\"field\":null"), "{json}");
    }

    #[test]
    fn duplicate_fields_are_rejected() {
        let input = br#"{"today":"2026-11-25","today":"2026-11-26"}"#;
        // serde_json keeps the last duplicate in a Value; the missing fields are reported instead.
        assert!(read_case(input).is_err());
    }

    /// Every field path the reader can name.
    const FIELDS: &[&str] = &[
        "today",
        "kiosk_region",
        "business",
        "household",
        "id",
        "card",
        "card.id",
        "card.valid_from",
        "card.valid_until",
        "record",
        "record.status",
        "record.household_region",
        "record.floating_registered",
        "record.history_photo",
        "record.application_in_progress",
        "record.remote_area",
    ];

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "\\PC{0,24}".prop_map(Value::String),
            "[0-9Xx-]{0,20}".prop_map(Value::String),
            prop::sample::select(vec![
                "long_term",
                "2026-02-29",
                "2024-02-29",
                "0000-01-01",
                "9999-12-31",
                "320100"
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A change to a valid case: replace, remove or add a field, at the top or one level down.
    #[derive(Debug, Clone)]
    enum Mutation {
        Replace(usize, Value),
        Remove(usize),
        Add(Option<usize>, String, Value),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0..FIELDS.len(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
            (0..FIELDS.len()).prop_map(Mutation::Remove),
            (
                prop::option::of(0..FIELDS.len()),
                "[a-z_]{1,8}",
                json_value()
            )
                .prop_map(|(i, k, v)| Mutation::Add(i, k, v)),
        ]
    }

    /// The object holding a field path and the field's key in it.
    fn parent<'a>(
        case: &'a mut Value,
        path: &'a str,
    ) -> Option<(&'a mut serde_json::Map<String, Value>, &'a str)> {
        match path.split_once('.') {
            Some((outer, key)) => Some((case.get_mut(outer)?.as_object_mut()?, key)),
            None => Some((case.as_object_mut()?, path)),
        }
    }

    fn apply(case: &mut Value, mutation: &Mutation) {
        match mutation {
            Mutation::Replace(index, value) => {
                if let Some((object, key)) = parent(case, FIELDS[*index]) {
                    object.insert(key.to_owned(), value.clone());
                }
            }
            Mutation::Remove(index) => {
                if let Some((object, key)) = parent(case, FIELDS[*index]) {
                    object.remove(key);
                }
            }
            Mutation::Add(index, key, value) => {
                let target = match index {
                    None => Some(case),
                    Some(index) => case.get_mut(FIELDS[*index]),
                };
                if let Some(object) = target.and_then(Value::as_object_mut) {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in prop::collection::vec(any::<u8>(), 0..200)) {
            let (code, json) = answer(&input);
            prop_assert!(code <= 2);
            prop_assert!(serde_json::from_str::<Value>(&json).is_ok());
        }

        #[test]
        fn json_ish_strings_never_panic(input in "[{}\\[\\]:,\" a-z0-9_.-]{0,120}") {
            let (code, _) = answer(input.as_bytes());
            prop_assert!(code <= 2);
        }

        #[test]
        fn arbitrary_json_objects_get_an_answer(value in json_value()) {
            let (code, json) = answer(value.to_string().as_bytes());
            prop_assert!(code <= 2);
            prop_assert!(serde_json::from_str::<Value>(&json).is_ok());
        }

        #[test]
        fn mutated_cases_give_a_decision_or_a_named_field(mutations in prop::collection::vec(mutation(), 1..4)) {
            let mut case = valid_case();
            for mutation in &mutations {
                apply(&mut case, mutation);
            }
            let (code, json) = answer(case.to_string().as_bytes());
            let answer: Value = serde_json::from_str(&json).expect("json");
            match code {
                0 | 1 => prop_assert!(answer["outcome"].is_string() && answer["reason"].is_string(), "{}", json),
                2 => {
                    let field = answer["field"].as_str().unwrap_or("");
                    let known = FIELDS.contains(&field)
                        || field.split_once('.').is_some_and(|(outer, _)| outer == "card" || outer == "record")
                        || !field.contains('.') && !field.is_empty();
                    prop_assert!(known, "unnamed field in {}", json);
                    prop_assert!(!answer["error"].as_str().unwrap_or("").is_empty(), "{}", json);
                }
                other => prop_assert!(false, "exit code {}", other),
            }
        }
    }
}
