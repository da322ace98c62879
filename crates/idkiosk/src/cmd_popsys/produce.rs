//! `idkiosk popsys produce --db URL (--application NO | --all) [--to in_production|ready]`, or
//! `--application NO --to rejected --reason TEXT`: the reference population system's card
//! production, advanced by hand so a demo can show an application's whole journey (issue 17).
//! Each application moves one step (`accepted` → `in_production` → `ready`), or to `--to` when it
//! is the next step; `rejected` refuses one accepted or in production, with its reason (the
//! center texts it to the citizen). The center learns it at its next poll. One JSON line on standard output: `{"moved":[{"application","from","to"}],
//! "refused":[{"application","error"}]}`. Exit 1 when nothing moved.

use anyhow::Context;
use store::{ApplicationStatus, StoreError};

use super::{redact, usage};
use crate::outcome::Outcome;

/// Arguments of `idkiosk popsys produce`.
#[derive(clap::Args)]
pub(super) struct ProduceArgs {
    /// Database: sqlite://PATH or postgres://… (the population system's)
    #[arg(long)]
    db: String,
    /// The application to advance (18 digits)
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    application: Option<String>,
    /// Every application not yet ready: accepted ones go into production, those in production
    /// become ready
    #[arg(long)]
    all: bool,
    /// The status to reach: in_production, ready or rejected [default: the next step]
    #[arg(long)]
    to: Option<String>,
    /// Why the application is refused (with --to rejected; sent to the citizen)
    #[arg(long)]
    reason: Option<String>,
}

/// The step after `from`, when production has one.
fn next_step(from: ApplicationStatus) -> Option<ApplicationStatus> {
    match from {
        ApplicationStatus::Accepted => Some(ApplicationStatus::InProduction),
        ApplicationStatus::InProduction => Some(ApplicationStatus::Ready),
        _ => None,
    }
}

/// `in_production`, `ready` or `rejected` as the status to reach; anything else is `None`.
pub(crate) fn target(text: &str) -> Option<ApplicationStatus> {
    match text {
        "in_production" => Some(ApplicationStatus::InProduction),
        "ready" => Some(ApplicationStatus::Ready),
        "rejected" => Some(ApplicationStatus::Rejected),
        _ => None,
    }
}

/// What one `produce` did: `moved` `{application, from, to}` and `refused`
/// `{application, error}`, as the command prints them.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Produced {
    /// The applications that moved.
    pub moved: Vec<serde_json::Value>,
    /// The applications that could not move, with why.
    pub refused: Vec<serde_json::Value>,
}

/// Advances `application` (else every application accepted or in production) one step, or to
/// `to` when it is the next step, or refuses it (`to` rejected, with `reason`):
/// `idkiosk popsys produce` and the demo panel's Production buttons. The caller checks that a
/// rejection names one application and its reason.
pub(crate) async fn produce(
    store: &store::Store,
    application: Option<&str>,
    to: Option<ApplicationStatus>,
    reason: Option<&str>,
) -> Result<Produced, StoreError> {
    let numbers = match application {
        Some(number) => vec![number.to_owned()],
        None => {
            let mut numbers = store
                .population_applications_in(ApplicationStatus::Accepted)
                .await?;
            numbers.extend(
                store
                    .population_applications_in(ApplicationStatus::InProduction)
                    .await?,
            );
            numbers
        }
    };
    let mut done = Produced::default();
    for number in numbers {
        let current = store.population_application_status(&number).await?;
        let Some(current) = current else {
            done.refused.push(serde_json::json!({
                "application": number, "error": "no application with this number"
            }));
            continue;
        };
        let target = to.or_else(|| next_step(current));
        let Some(target) = target else {
            done.refused.push(serde_json::json!({
                "application": number,
                "error": format!("nothing follows: the application is {}", current.as_str())
            }));
            continue;
        };
        let moved = match target {
            ApplicationStatus::Rejected => {
                let reason = reason.unwrap_or_default();
                store.reject_population_application(&number, reason).await
            }
            _ => store.advance_population_application(&number, target).await,
        };
        match moved {
            Ok(Some(from)) => done.moved.push(serde_json::json!({
                "application": number, "from": from.as_str(), "to": target.as_str()
            })),
            Ok(None) => done.refused.push(serde_json::json!({
                "application": number, "error": "no application with this number"
            })),
            Err(StoreError::Rejected(why)) => done
                .refused
                .push(serde_json::json!({ "application": number, "error": why })),
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

pub(super) async fn run(args: ProduceArgs) -> anyhow::Result<Outcome> {
    let to = match args.to.as_deref() {
        None => None,
        Some(text) => match target(text) {
            Some(to) => Some(to),
            None => {
                return usage(format!(
                    "--to: {text:?} is not in_production, ready or rejected"
                ))
            }
        },
    };
    if let Err(why) = rejection_args(to, args.application.as_deref(), args.reason.as_deref()) {
        return usage(why);
    }
    let store = match store::Store::connect(&args.db).await {
        Ok(store) => store,
        Err(StoreError::UnsupportedUrl(url)) => {
            return usage(format!(
                "--db: {url:?} is not sqlite://PATH, sqlite::memory: or postgres://…"
            ))
        }
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("opening the database {}", redact(&args.db)))
        }
    };
    let done = produce(
        &store,
        args.application.as_deref(),
        to,
        args.reason.as_deref(),
    )
    .await;
    store.close().await;
    let done = done.context("advancing production")?;
    let any_moved = !done.moved.is_empty();
    println!(
        "{}",
        serde_json::json!({ "moved": done.moved, "refused": done.refused })
    );
    Ok(Outcome::answer(any_moved))
}

/// A rejection names one application and its reason (1 to 200 characters); a reason goes with a
/// rejection only.
pub(crate) fn rejection_args(
    to: Option<ApplicationStatus>,
    application: Option<&str>,
    reason: Option<&str>,
) -> Result<(), String> {
    let reason = reason.map(str::trim);
    match (to, reason) {
        (Some(ApplicationStatus::Rejected), _) if application.is_none() => {
            Err("--to rejected: name the application (--application NO), not --all".into())
        }
        (Some(ApplicationStatus::Rejected), None | Some("")) => {
            Err("--reason: a rejection needs its reason (sent to the citizen)".into())
        }
        (Some(ApplicationStatus::Rejected), Some(reason)) if reason.chars().count() > 200 => {
            Err("--reason: at most 200 characters".into())
        }
        (Some(ApplicationStatus::Rejected), Some(_)) => Ok(()),
        (_, Some(_)) => Err("--reason: only with --to rejected".into()),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_one_application_and_its_reason() {
        let rejected = Some(ApplicationStatus::Rejected);
        assert_eq!(
            rejection_args(rejected, Some("1"), Some("照片不合格")),
            Ok(())
        );
        assert!(rejection_args(rejected, None, Some("照片不合格"))
            .unwrap_err()
            .contains("--application"));
        assert!(rejection_args(rejected, Some("1"), None)
            .unwrap_err()
            .starts_with("--reason"));
        assert!(rejection_args(rejected, Some("1"), Some("  "))
            .unwrap_err()
            .starts_with("--reason"));
        assert!(rejection_args(rejected, Some("1"), Some(&"字".repeat(201)))
            .unwrap_err()
            .contains("200"));
        assert!(
            rejection_args(Some(ApplicationStatus::Ready), Some("1"), Some("x"))
                .unwrap_err()
                .contains("only with")
        );
        assert_eq!(rejection_args(None, None, None), Ok(()));
    }
}
