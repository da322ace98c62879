//! `idkiosk paysim`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk paysim`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk paysim`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk paysim` is not built yet")
}
