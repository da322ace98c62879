//! `idkiosk staff`: staff accounts of the console (docs/staff.md).
//!
//! - `staff add --database URL --user NAME --role window_clerk|auditor|administrator
//!   [--password-file FILE]` creates an account; the password is read from the first line of
//!   FILE, or of standard input, never from the command line. Only its Argon2id hash is stored.
//! - `staff password --database URL --user NAME [--password-file FILE]` sets a new password,
//!   lifts a lockout and ends every open session of the account.
//! - `staff disable --database URL --user NAME` ends every session of the account and refuses its
//!   logins (with the same answer as a wrong password); `staff enable` lets it sign in again.
//! - `staff list --database URL` lists the accounts (name, role, locked, disabled).
//!
//! User names are case-insensitive: `Clerk1` and `clerk1` are one account.
//!
//! Exit codes: 0 done, 1 refused (name taken, no such user), 2 bad usage, 3 internal failure.

use crate::outcome::Outcome;
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use center::staff::{check_new_account, hash_password, Role};
use store::Store;

/// Arguments of `idkiosk staff`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: StaffCommand,
}

#[derive(clap::Subcommand)]
enum StaffCommand {
    /// Create a staff account (password from stdin or --password-file)
    Add(AddArgs),
    /// Set a staff account's password and lift its lockout
    Password(PasswordArgs),
    /// List the staff accounts
    List(ListArgs),
    /// Disable a staff account: end its sessions and refuse its logins
    Disable(UserArgs),
    /// Enable a disabled staff account again
    Enable(UserArgs),
}

#[derive(clap::Args)]
struct UserArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// User name (any case)
    #[arg(long)]
    user: String,
}

#[derive(clap::Args)]
struct AddArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// User name (letters, digits, '.', '_', '-')
    #[arg(long)]
    user: String,
    /// window_clerk, auditor or administrator
    #[arg(long)]
    role: String,
    /// Read the password from this file's first line instead of standard input
    #[arg(long)]
    password_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct PasswordArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
    /// User name
    #[arg(long)]
    user: String,
    /// Read the password from this file's first line instead of standard input
    #[arg(long)]
    password_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ListArgs {
    /// The center's database: sqlite://PATH or postgres://…
    #[arg(long, alias = "db")]
    database: String,
}

/// Runs `idkiosk staff`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        StaffCommand::Add(args) => add(args).await,
        StaffCommand::Password(args) => password(args).await,
        StaffCommand::List(args) => list(args).await,
        StaffCommand::Disable(args) => set_disabled(args, true).await,
        StaffCommand::Enable(args) => set_disabled(args, false).await,
    }
}

async fn set_disabled(args: UserArgs, disabled: bool) -> anyhow::Result<Outcome> {
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sessions = store.staff_session_count(&args.user).await?;
    let changed = store.set_staff_disabled(&args.user, disabled, now).await?;
    store.close().await;
    if !changed {
        eprintln!("error: no staff account named {}", args.user);
        return Ok(Outcome::Negative);
    }
    if disabled {
        println!(
            "staff account {} disabled ({sessions} sessions ended)",
            args.user
        );
    } else {
        println!("staff account {} enabled", args.user);
    }
    Ok(Outcome::Success)
}

fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let line = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line
        }
    };
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn add(args: AddArgs) -> anyhow::Result<Outcome> {
    let Some(role) = Role::parse(&args.role) else {
        eprintln!("error: --role must be window_clerk, auditor or administrator");
        return Ok(Outcome::Usage);
    };
    let password = read_password(args.password_file.as_ref())?;
    if let Err(why) = check_new_account(&args.user, &password) {
        eprintln!("error: {why}");
        return Ok(Outcome::Usage);
    }
    let phc = hash_password(&password)?;
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let result = store.create_staff_user(&args.user, role, &phc, now).await;
    store.close().await;
    match result {
        Ok(()) => {
            println!("staff account {} created ({})", args.user, role.as_str());
            Ok(Outcome::Success)
        }
        Err(store::StoreError::Rejected(_)) => {
            eprintln!(
                "error: a staff account named {} exists (names are case-insensitive)",
                args.user
            );
            Ok(Outcome::Negative)
        }
        Err(err) => Err(err.into()),
    }
}

async fn password(args: PasswordArgs) -> anyhow::Result<Outcome> {
    let password = read_password(args.password_file.as_ref())?;
    if let Err(why) = check_new_account(&args.user, &password) {
        eprintln!("error: {why}");
        return Ok(Outcome::Usage);
    }
    let phc = hash_password(&password)?;
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let sessions = store.staff_session_count(&args.user).await?;
    let changed = store.set_staff_password(&args.user, &phc).await?;
    store.close().await;
    if changed {
        println!("password of {} set ({sessions} sessions ended)", args.user);
        Ok(Outcome::Success)
    } else {
        eprintln!("error: no staff account named {}", args.user);
        Ok(Outcome::Negative)
    }
}

async fn list(args: ListArgs) -> anyhow::Result<Outcome> {
    let store = Store::connect(&args.database)
        .await
        .context("opening the database")?;
    let users = store.staff_users().await?;
    store.close().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for user in users {
        let locked = user.locked_until.is_some_and(|until| until > now);
        println!(
            "{}\t{}{}{}",
            user.username,
            user.role.as_str(),
            if locked { "\tlocked" } else { "" },
            if user.disabled_at.is_some() {
                "\tdisabled"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Success)
}
