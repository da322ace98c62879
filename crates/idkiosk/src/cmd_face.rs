//! `idkiosk face`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk face`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk face`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk face` is not built yet")
}
