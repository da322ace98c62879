//! `idkiosk device`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk device`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk device`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk device` is not built yet")
}
