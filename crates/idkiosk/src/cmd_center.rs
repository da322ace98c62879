//! `idkiosk center`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk center`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk center`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk center` is not built yet")
}
