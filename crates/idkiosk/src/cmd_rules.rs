//! `idkiosk rules`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk rules`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk rules`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk rules` is not built yet")
}
