//! Graceful shutdown: resolves on Ctrl-C or SIGTERM, so servers finish the requests in flight,
//! within a bound.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

/// How long requests in flight get after the signal. A connection that never ends by itself (the
/// touchscreen's event stream, a browser's keep-alive) must not hold the exit up: systemd would
/// wait for its stop timeout and then kill the service, and a package upgrade
/// (`systemctl restart`) would wait with it.
pub const GRACE: Duration = Duration::from_secs(5);

/// Waits for Ctrl-C or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The future a server's graceful shutdown waits on.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs the server `start` builds with the [`Stop`] it is given (for axum:
/// `|stop| axum::serve(listener, app).with_graceful_shutdown(stop)`) until Ctrl-C or SIGTERM,
/// then gives the requests in flight [`GRACE`] and returns, finished or not.
pub async fn serve<S>(start: impl FnOnce(Stop) -> S) -> std::io::Result<()>
where
    S: IntoFuture<Output = std::io::Result<()>>,
{
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = start(Box::pin(async move {
        let _ = stop_rx.await;
    }))
    .into_future();
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served,
        () = signal() => {}
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(GRACE, server).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!(
                grace_secs = GRACE.as_secs(),
                "connections still open after the grace period: closing them"
            );
            Ok(())
        }
    }
}
