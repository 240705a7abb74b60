//! OpenID Connect Back-Channel Logout 1.0 delivery: posting logout tokens to the clients that
//! took part in a session that ended.
//!
//! Ending a session queues the deliveries in the store (see `tessera_core::backchannel`); the
//! worker here ([`run_worker`]) claims due deliveries with a lease, posts a freshly signed
//! [logout token](logout_token) to each client's `backchannel_logout_uri`, and removes the
//! delivery on a 2xx answer. A failure (timeout, connection error, any other status) is retried
//! with exponential backoff ([`retry_delay`]); after [`MAX_ATTEMPTS`] the delivery is given up
//! and an audit record says so. Revocations made by this process wake the worker at once, so a
//! logout is announced right away; others (the CLI, other nodes) are picked up within
//! [`POLL_INTERVAL`].

use crate::app::AppState;
use crate::backchannel::logout_token;
use futures_util::future::join_all;
use std::time::Duration as StdDuration;
use tessera_core::audit::action;
use tessera_core::backchannel::retry_delay;
use tessera_core::BackchannelDelivery;
use tessera_store::{StoreError, StoreResult};
use time::Duration;

/// How long one delivery may take (connect, send, and the answer's status line) before it
/// counts as failed.
pub const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// How long a claimed delivery stays hidden from other claimers. Much longer than
/// [`SEND_TIMEOUT`], so a delivery is never sent twice at once; if this process dies mid-send,
/// the delivery becomes due again when the lease ends.
pub const LEASE: Duration = Duration::seconds(60);

/// The most deliveries claimed (and sent concurrently) at once.
pub const BATCH_SIZE: u32 = 16;

/// Attempts after which a delivery is given up (and audited as
/// [`action::BACKCHANNEL_ABANDONED`]).
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest the worker sleeps between two looks at the queue when nothing wakes it.
pub const POLL_INTERVAL: StdDuration = StdDuration::from_secs(1);

/// The HTTP client deliveries are sent with: rustls on aws-lc-rs
/// ([`https_client_builder`](crate::http_client::https_client_builder)), [`SEND_TIMEOUT`], and
/// no redirects followed (a redirect is a failed delivery).
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    crate::http_client::https_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(SEND_TIMEOUT)
        .connect_timeout(SEND_TIMEOUT)
        .user_agent(concat!(
            "Tessera/",
            env!("CARGO_PKG_VERSION"),
            " back-channel logout"
        ))
        .build()
}

/// Delivers queued logout tokens until the task is aborted: each pass claims the due deliveries
/// ([`deliver_due`]), then the worker waits for a revocation in this process to wake it, or
/// for [`POLL_INTERVAL`]. Never panics: store errors are logged and the next pass tries again.
pub async fn run_worker(state: AppState) {
    let http = loop {
        match http_client() {
            Ok(http) => break http,
            Err(err) => {
                tracing::error!(error = %err, "cannot build the back-channel logout HTTP client; retrying in a minute");
                tokio::time::sleep(StdDuration::from_secs(60)).await;
            }
        }
    };
    loop {
        let claimed = match deliver_due(&state, &http).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "could not claim back-channel logout deliveries; retrying");
                0
            }
        };
        // A full batch means more may be due: go again at once.
        if claimed < BATCH_SIZE as usize {
            tokio::select! {
                () = state.signals.backchannel_wake.notified() => {}
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }
}

/// One pass of the worker: claims up to [`BATCH_SIZE`] due deliveries (leased for [`LEASE`]),
/// sends them concurrently over `http`, and records each outcome. Returns how many were claimed.
/// Only the claim's error is returned; errors recording an outcome are logged (the delivery
/// comes back when its lease ends).
pub async fn deliver_due(state: &AppState, http: &reqwest::Client) -> StoreResult<usize> {
    let now = state.services.clock.now();
    let deliveries = state
        .services
        .store
        .claim_backchannel_deliveries(now, now + LEASE, BATCH_SIZE)
        .await?;
    let claimed = deliveries.len();
    join_all(deliveries.into_iter().map(|delivery| async move {
        let result = send(state, http, &delivery).await;
        settle(state, &delivery, result).await;
    }))
    .await;
    Ok(claimed)
}

/// Posts the logout token for `delivery`; `Err` says why it failed.
async fn send(
    state: &AppState,
    http: &reqwest::Client,
    delivery: &BackchannelDelivery,
) -> Result<(), String> {
    let token =
        logout_token(state, delivery, state.services.clock.now()).map_err(|e| e.to_string())?;
    let response = http
        .post(&delivery.uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(describe)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered HTTP {status}"))
    }
}

/// A transport error in one line, without the URL (logged separately).
fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("timed out after {} s", SEND_TIMEOUT.as_secs());
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Records the outcome of one attempt: removes a delivered one, schedules a retry of a failed
/// one, or gives it up after [`MAX_ATTEMPTS`].
async fn settle(state: &AppState, delivery: &BackchannelDelivery, result: Result<(), String>) {
    let store = state.services.store.as_ref();
    let error = match result {
        Ok(()) => {
            tracing::info!(
                client_id = %delivery.client_id,
                sid = %delivery.sid,
                jti = %delivery.jti,
                attempts = delivery.attempts,
                "back-channel logout delivered"
            );
            if let Err(err) = store.finish_backchannel_delivery(delivery.id).await {
                tracing::warn!(
                    error = %err,
                    id = delivery.id,
                    "could not remove a delivered back-channel logout; it will be sent again"
                );
            }
            return;
        }
        Err(error) => error,
    };
    tracing::warn!(
        client_id = %delivery.client_id,
        uri = %delivery.uri,
        sid = %delivery.sid,
        jti = %delivery.jti,
        attempts = delivery.attempts,
        error = %error,
        "back-channel logout delivery failed"
    );
    if delivery.attempts >= MAX_ATTEMPTS {
        if let Err(err) = store.finish_backchannel_delivery(delivery.id).await {
            tracing::warn!(
                error = %err,
                id = delivery.id,
                "could not give up a back-channel logout delivery; it will be tried again"
            );
            return;
        }
        state
            .audit(
                "system",
                action::BACKCHANNEL_ABANDONED,
                delivery.sid.as_str(),
                Some(&error),
                serde_json::json!({
                    "client_id": delivery.client_id.as_str(),
                    "jti": delivery.jti,
                    "attempts": delivery.attempts,
                }),
            )
            .await;
        return;
    }
    let next_attempt_at = state.services.clock.now() + retry_delay(delivery.attempts);
    match store
        .retry_backchannel_delivery(delivery.id, next_attempt_at, &error)
        .await
    {
        Ok(()) => {}
        // Dropped meanwhile (its client was removed): nothing left to retry.
        Err(StoreError::NotFound) => {
            tracing::debug!(id = delivery.id, "back-channel logout delivery gone");
        }
        Err(err) => tracing::warn!(
            error = %err,
            id = delivery.id,
            "could not schedule a back-channel logout retry; it is retried when its lease ends"
        ),
    }
}
