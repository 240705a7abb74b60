//! Follows signing-key changes other nodes make, as the store reports them.

use crate::app::AppState;
use tessera_store::StoreChange;
use tokio::sync::broadcast;

/// Re-reads the key ring whenever the store reports that signing keys changed (or that reports
/// may have been missed), so that a rotation on another node is published and used here at
/// once. Ends at once with a store that reports no changes; [`super::housekeeping`] still refreshes
/// periodically.
pub async fn run(state: AppState) {
    let Some(mut changes) = state.services.store.subscribe_changes() else {
        return;
    };
    loop {
        match changes.recv().await {
            Ok(StoreChange::Revocations) => continue,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => {
                tracing::warn!("the store stopped reporting key changes; refreshing periodically");
                return;
            }
        }
        if let Err(err) = state
            .services
            .keys
            .reload(state.services.store.as_ref(), state.services.clock.now())
            .await
        {
            tracing::warn!(error = %err, "could not re-read changed signing keys; keeping the current set");
        }
    }
}
