//! `idkiosk demo`: not built yet.

use std::process::ExitCode;

/// Arguments of `idkiosk demo`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `idkiosk demo`.
pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`idkiosk demo` is not built yet")
}
