//! `idkiosk id`: citizen ID number tools. `id check NUMBER` prints one JSON object on standard
//! output: exit 0 when the number is valid, 1 when it is not (with the field at fault).

use crate::outcome::Outcome;

use domain::CitizenId;
use serde::Serialize;

/// Arguments of `idkiosk id`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IdCommand,
}

#[derive(clap::Subcommand)]
enum IdCommand {
    /// Check an 18-character number (GB 11643-1999) against today's date; prints JSON, exits 0 if
    /// valid and 1 if not
    Check {
        /// The ID number (a lower-case x is accepted)
        #[arg(allow_hyphen_values = true)]
        number: String,
    },
}

/// The answer of `id check`, one JSON object.
#[derive(Serialize)]
#[serde(untagged)]
enum CheckAnswer<'a> {
    Valid {
        valid: bool,
        id: &'a str,
        region_code: &'a str,
        region: &'a str,
        birth_date: String,
        sex: &'a str,
    },
    Invalid {
        valid: bool,
        field: &'a str,
        error: &'a str,
    },
}

/// Runs `idkiosk id`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        IdCommand::Check { number } => {
            let today = crate::clock::today()?;
            let (code, json) = check(&number, today)?;
            println!("{json}");
            Ok(code)
        }
    }
}

/// The exit code and the JSON line for `id check`.
fn check(number: &str, today: time::Date) -> anyhow::Result<(Outcome, String)> {
    let parsed = CitizenId::parse(number, today);
    let (code, answer) = match &parsed {
        Ok(id) => (
            Outcome::Success,
            CheckAnswer::Valid {
                valid: true,
                id: id.as_str(),
                region_code: id.region_code(),
                region: id.region().full_name,
                birth_date: id.birth_date().to_string(),
                sex: id.sex().as_str(),
            },
        ),
        Err(err) => (
            Outcome::Negative,
            CheckAnswer::Invalid {
                valid: false,
                field: err.field.as_str(),
                error: &err.message,
            },
        ),
    };
    Ok((code, serde_json::to_string(&answer)?))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    /// The check with its exit code as the process would return it.
    fn check(number: &str, today: time::Date) -> anyhow::Result<(u8, String)> {
        let (outcome, json) = super::check(number, today)?;
        Ok((outcome.code(), json))
    }

    #[test]
    fn valid_and_invalid_answers() {
        let today = date!(2026 - 11 - 25);
        let (code, json) = check("11010519491231002x", today).expect("json");
        assert_eq!(code, 0);
        assert_eq!(
            json,
            r#"{"valid":true,"id":"11010519491231002X","region_code":"110105","region":"北京市朝阳区","birth_date":"1949-12-31","sex":"female"}"#
        );
        let (code, json) = check("110105194912310021", today).expect("json");
        assert_eq!(code, 1);
        assert!(
            json.starts_with(r#"{"valid":false,"field":"check_digit","error":""#),
            "{json}"
        );
    }
}
