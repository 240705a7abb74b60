//! The sensitive API from the command line:
//!
//! ```text
//! SENSITIVE_API_CLIENT_SECRET=… cargo run --example sensitive-api -- \
//!     --issuer http://127.0.0.1:8080 --audience http://127.0.0.1:8080 --listen 127.0.0.1:8090
//! ```
//!
//! `--client-id` (default `sensitive-api`) and its secret name the API's confidential client at
//! Tessera, with which it reads the revocation feed. `--sensitive-max-age-seconds` (default 300)
//! is how recent a sign-in `POST /sensitive` demands. See `docs/sensitive-api.md`.

use anyhow::{Context, Result};
use clap::Parser;
use sensitive_api::{Options, SensitiveApi};
use std::net::SocketAddr;
use std::time::Duration;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "A resource server that trusts Tessera's tokens (built with tessera-verify)")]
struct Args {
    /// Tessera's issuer URL.
    #[arg(long)]
    issuer: String,
    /// This API's audience (Tessera's `tokens.access_token_audience`; by default its issuer).
    #[arg(long)]
    audience: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The API's confidential client at Tessera, for the revocation feed.
    #[arg(long, default_value = "sensitive-api")]
    client_id: String,
    /// That client's secret (prefer the environment variable: command lines are visible to
    /// other users of the machine).
    #[arg(long, env = "SENSITIVE_API_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Refuse every request (503) when the revocation mirror is older than this many seconds.
    #[arg(long, default_value_t = 30)]
    max_staleness_secs: u64,
    /// How recent a sign-in `POST /sensitive` demands, in seconds (answering the step-up
    /// challenge otherwise).
    #[arg(long, default_value_t = sensitive_api::SENSITIVE_MAX_AGE.as_secs())]
    sensitive_max_age_seconds: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut options = Options::new(
        args.issuer,
        args.audience,
        args.client_id,
        args.client_secret,
    );
    options.max_staleness = Duration::from_secs(args.max_staleness_secs);
    options.sensitive_max_age = Duration::from_secs(args.sensitive_max_age_seconds);
    let api = SensitiveApi::start(options)
        .await
        .context("discovering the issuer and fetching its keys")?;
    if !api.wait_until_synced(Duration::from_secs(10)).await {
        tracing::warn!(
            "the revocation feed has not answered yet; requests get 503 until it does \
             (check --client-id and the secret)"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, "sensitive API ready: GET /me, POST /sensitive");
    axum::serve(listener, api.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}
