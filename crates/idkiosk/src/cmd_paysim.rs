//! `idkiosk paysim [--listen ADDR] [--keys DIR]`: the reference WeChat Pay v3 server. The key
//! material is read from DIR, or generated (RSA-2048) and written there first, so any merchant
//! client can be pointed at it (files in docs/payment.md). After binding it prints one JSON line
//! `{"listen":"127.0.0.1:PORT","keys":"DIR","mchid":"…"}` on standard output.

use crate::outcome::Outcome;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use payment::sim::{RetryPolicy, SimConfig};
use payment::KeyPair;

/// Arguments of `idkiosk paysim`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:7420")]
    listen: SocketAddr,
    /// Folder of the key material, created with new keys when absent
    #[arg(long, default_value = ".idkiosk/paysim")]
    keys: PathBuf,
    /// First wait between callback retries, in milliseconds (doubling up to 60 s)
    #[arg(long, default_value_t = 1000)]
    retry_first_ms: u64,
    /// Callback deliveries in all
    #[arg(long, default_value_t = 10)]
    retry_attempts: u32,
}

/// Runs `idkiosk paysim` until SIGTERM or Ctrl-C.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    let keys_dir = args.keys.clone();
    let pair = tokio::task::spawn_blocking(move || KeyPair::load_or_generate(&keys_dir))
        .await
        .context("generating keys")?
        .with_context(|| format!("key material in {}", args.keys.display()))?;
    let config = SimConfig {
        keys: pair.platform.clone(),
        retry: RetryPolicy {
            attempts: args.retry_attempts.max(1),
            first_delay: Duration::from_millis(args.retry_first_ms),
            max_delay: Duration::from_secs(60),
        },
        clock: payment::system_clock(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("local address")?;
    println!(
        "{}",
        serde_json::json!({
            "listen": addr.to_string(),
            "keys": args.keys.display().to_string(),
            "mchid": pair.merchant.mchid,
        })
    );
    tracing::info!(%addr, page = %format!("http://{addr}/sim"), "paysim listening");
    let app = payment::sim::app(config);
    crate::shutdown::serve(|stop| axum::serve(listener, app).with_graceful_shutdown(stop))
        .await
        .context("serving")?;
    Ok(Outcome::Success)
}
