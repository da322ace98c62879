//! `idkiosk id`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk id`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk id`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk id` is not built yet")
}
