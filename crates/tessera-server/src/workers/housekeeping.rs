//! Periodic upkeep: re-reads the signing keys from the store (so a rotation made by another
//! process or node takes effect without a restart, also where the store reports no changes) and
//! purges records nothing can use any more.

use crate::app::AppState;

/// Runs every `key_refresh_interval` until aborted; errors are logged and the next tick retries.
pub async fn run(state: AppState) {
    let mut ticker = tokio::time::interval(state.settings.key_refresh_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(err) = state.refresh_keys().await {
            tracing::warn!(error = %err, "could not refresh signing keys; keeping the current set");
        }
        if let Err(err) = state.purge_expired().await {
            tracing::warn!(error = %err, "could not purge expired records");
        }
    }
}
