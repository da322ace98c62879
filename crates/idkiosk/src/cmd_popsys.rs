//! `idkiosk popsys`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk popsys`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk popsys`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk popsys` is not built yet")
}
