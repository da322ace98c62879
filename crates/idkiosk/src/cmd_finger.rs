//! `idkiosk finger`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk finger`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk finger`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk finger` is not built yet")
}
