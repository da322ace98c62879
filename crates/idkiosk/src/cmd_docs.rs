//! `idkiosk docs`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk docs`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk docs`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk docs` is not built yet")
}
