//! `tessera serve`.

use anyhow::Context;
use std::sync::Arc;
use tessera_core::SystemClock;
use tessera_server::kek_source::KekOrigin;
use tessera_server::Config;
use tokio::net::TcpListener;

pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let bound = listener.local_addr()?;
    let (state, report) = tessera_server::app::open(&config, bound, Arc::new(SystemClock)).await?;
    match &report.kek_origin {
        KekOrigin::Created(path) => tracing::warn!(
            path = %path.display(),
            "created a new key-encryption key; back it up: without it the signing keys cannot be read"
        ),
        KekOrigin::File(path) => tracing::info!(path = %path.display(), "key-encryption key read"),
        KekOrigin::Configured => tracing::info!("key-encryption key taken from the configuration"),
    }
    for warning in &report.warnings {
        tracing::warn!("{warning}");
    }
    for kid in &report.created_kids {
        tracing::info!(kid, "generated a signing key");
    }
    if report.client_count == 0 {
        tracing::info!(
            "no clients yet. Next: `tessera client add my-service --scope api:read` prints a client \
             secret; then `curl -u my-service:SECRET -d grant_type=client_credentials {}/oauth/token`",
            state.settings.issuer
        );
    }
    // Logged last: a supervisor or test waiting for this line finds the server ready.
    tracing::info!(
        address = %bound,
        issuer = %state.settings.issuer,
        store = state.services.store.backend_name(),
        "tessera is listening on {bound}"
    );
    tessera_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
