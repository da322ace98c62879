//! `idkiosk sim`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk sim`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk sim`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk sim` is not built yet")
}
