//! `idkiosk config check FILE [--kind center|kiosk|popsys]`: checks a configuration file as the
//! process would at start (with the `IDKIOSK_<KIND>__…` overrides of the environment). Prints
//! `ok: FILE (KIND)` and exits 0, or one line per wrong field, `FILE: path: why`, and exits 1;
//! a file that cannot be read exits 2. Without `--kind` the kind is the file's one top-level
//! table (`[center]`, `[kiosk]` or `[popsys]`).

use std::path::PathBuf;

use crate::config::{self, Invalid, Kind};
use crate::outcome::Outcome;

/// Arguments of `idkiosk config`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(clap::Subcommand)]
enum ConfigCommand {
    /// Check a configuration file; names each wrong field
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The file (center.toml, kiosk.toml, popsys.toml; docs/configuration.md)
    file: PathBuf,
    /// Which process it configures [default: the file's top-level table]
    #[arg(long, value_enum)]
    kind: Option<Kind>,
}

/// Runs `idkiosk config`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let ConfigCommand::Check(args) = args.command;
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.file.display());
            return Ok(Outcome::Usage);
        }
    };
    let checked = match args.kind {
        Some(kind) => Ok(kind),
        None => config::infer_kind(&text),
    }
    .and_then(|kind| config::load_text(kind, &text, std::env::vars()).map(|_| kind));
    match checked {
        Ok(kind) => {
            println!("ok: {} ({})", args.file.display(), kind.as_str());
            Ok(Outcome::Success)
        }
        Err(Invalid(lines)) => {
            for line in lines {
                println!("{}: {line}", args.file.display());
            }
            Ok(Outcome::Negative)
        }
    }
}
