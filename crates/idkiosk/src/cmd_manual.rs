//! `idkiosk manual --out DIR` (hidden): the man pages and shell completions the Debian package
//! ships (docs/packaging.md), made from the command line's own definition so they cannot drift
//! from it. Writes `DIR/man/idkiosk.1` and one `idkiosk-SUB….1` per subcommand (`clap_mangen`),
//! and `DIR/completions/idkiosk.bash`, `_idkiosk` (zsh), `idkiosk.fish` (`clap_complete`);
//! prints `{"man": N, "completions": 3, "out": DIR}`.

use std::path::PathBuf;

use anyhow::Context;
use clap_complete::Shell;

use crate::outcome::Outcome;

/// Arguments of `idkiosk manual`.
#[derive(clap::Args)]
pub struct Args {
    /// The folder to write `man/` and `completions/` into (created)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `idkiosk manual` for the command line `cli`.
pub async fn run(args: Args, cli: clap::Command) -> anyhow::Result<Outcome> {
    let man_dir = args.out.join("man");
    let completions_dir = args.out.join("completions");
    for dir in [&man_dir, &completions_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    clap_mangen::generate_to(cli.clone(), &man_dir)
        .with_context(|| format!("writing the man pages into {}", man_dir.display()))?;
    let shells = [Shell::Bash, Shell::Zsh, Shell::Fish];
    for shell in shells {
        let mut cli = cli.clone();
        clap_complete::generate_to(shell, &mut cli, "idkiosk", &completions_dir).with_context(
            || {
                format!(
                    "writing the {shell} completions into {}",
                    completions_dir.display()
                )
            },
        )?;
    }
    let pages = std::fs::read_dir(&man_dir)
        .with_context(|| format!("listing {}", man_dir.display()))?
        .count();
    println!(
        "{}",
        serde_json::json!({
            "man": pages,
            "completions": shells.len(),
            "out": args.out.display().to_string(),
        })
    );
    Ok(Outcome::Success)
}
