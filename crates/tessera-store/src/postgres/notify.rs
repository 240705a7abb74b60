//! Change notifications between the nodes sharing one database: PostgreSQL `LISTEN/NOTIFY` on
//! the channel [`CHANNEL`].
//!
//! # Sending: inside the writing transaction
//!
//! Every transaction that writes the revocation feed (`revoke`, a sweep that deleted entries) or
//! changes the signing keys (create, rotate, delete) calls [`queue`] before it commits.
//! PostgreSQL holds a notification queued in a transaction until the transaction commits and
//! drops it if it rolls back, so a listener is told only about changes it can already read: a
//! node woken by a notification and reading at once never finds the entry missing (which a
//! notification sent before the commit could do, leaving the entry unseen until the next poll),
//! and a rolled-back revocation wakes no one. Notifications from different transactions arrive
//! in commit order; PostgreSQL folds identical ones within a transaction.
//!
//! The payload is `KIND:SCHEMA`, the kind of change and the writer's `current_schema()`. The
//! channel is database-wide, so deployments (or test runs) that share a database in separate
//! schemas would otherwise wake each other; a listener keeps only its own schema's changes.
//!
//! # Receiving: one listener task per store
//!
//! The first [`Changes::subscribe`] starts a task on a dedicated connection (a pool of one, so
//! the store's own pool keeps all its connections) that LISTENs and forwards each change to a
//! tokio broadcast channel. A listener can miss notifications: before its LISTEN took effect,
//! while its connection was down (PostgreSQL keeps nothing for absent listeners), or when a
//! receiver falls behind the broadcast buffer. Each of those is reported as
//! [`StoreChange::Resync`] ("anything may have changed: re-read what you follow"): the task sends
//! it once its LISTEN is in place, after the first connection and after every reconnection. A
//! connection that hangs without failing (a network partition with no reset) is not detected
//! here at all, which is one reason callers keep a slow periodic poll as a safety net.

use crate::StoreChange;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::PgConnection;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

use super::convert::db_err;
use crate::StoreResult;

/// The notification channel every Tessera node on a database uses.
pub(super) const CHANNEL: &str = "tessera_changes";

/// Changes a slow receiver may fall behind by before it is told to resync.
const BUFFER: usize = 64;

/// The longest wait between two attempts to (re)connect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Queues a notification of `change` in the transaction `conn` is in: delivered to every
/// listener when the transaction commits, dropped if it rolls back. Call it inside the
/// transaction that makes the change, never after the commit on another connection (see the
/// module documentation).
pub(super) async fn queue(conn: &mut PgConnection, change: StoreChange) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2 || ':' || coalesce(current_schema(), ''))")
        .bind(CHANNEL)
        .bind(kind(change))
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The payload's kind for `change`.
fn kind(change: StoreChange) -> &'static str {
    match change {
        StoreChange::Revocations => "revocations",
        StoreChange::SigningKeys => "signing-keys",
        StoreChange::Resync => "resync",
    }
}

/// The change a payload reports, if it is one of ours for `schema`. Unknown kinds (from a newer
/// Tessera) are a [`StoreChange::Resync`]: something changed that this node cannot name.
fn parse(payload: &str, schema: &str) -> Option<StoreChange> {
    let (kind, from) = payload.split_once(':')?;
    if from != schema {
        return None;
    }
    Some(match kind {
        "revocations" => StoreChange::Revocations,
        "signing-keys" => StoreChange::SigningKeys,
        _ => StoreChange::Resync,
    })
}

/// The store's listener: started by the first subscription, stopped with the store.
#[derive(Default)]
pub(super) struct Changes {
    state: Mutex<State>,
}

#[derive(Default)]
enum State {
    /// No one has subscribed yet.
    #[default]
    Idle,
    /// The listener task runs; the sender hands out receivers.
    Running {
        sender: broadcast::Sender<StoreChange>,
        task: tokio::task::AbortHandle,
    },
    /// The store was closed.
    Stopped,
}

impl Changes {
    /// A receiver of the changes made on the database `options` name, starting the listener
    /// task on first use. `None` outside a tokio runtime (there is nowhere to run the task) and
    /// once the store is closed.
    pub(super) fn subscribe(
        &self,
        options: &PgConnectOptions,
    ) -> Option<broadcast::Receiver<StoreChange>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &*state {
            State::Running { sender, .. } => return Some(sender.subscribe()),
            State::Stopped => return None,
            State::Idle => {}
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (sender, receiver) = broadcast::channel(BUFFER);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        let task = runtime.spawn(listen(pool, sender.clone())).abort_handle();
        *state = State::Running { sender, task };
        Some(receiver)
    }

    /// Stops the listener task; once it has ended, receivers see the channel closed.
    pub(super) fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::Running { task, .. } = std::mem::replace(&mut *state, State::Stopped) {
            task.abort();
        }
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Listens for ever, reconnecting with a growing delay after failures.
async fn listen(pool: PgPool, sender: broadcast::Sender<StoreChange>) {
    let mut failures: u32 = 0;
    loop {
        let err = follow(&pool, &sender, &mut failures).await;
        failures += 1;
        let delay = (Duration::from_millis(100) * 2u32.pow(failures.min(6))).min(MAX_BACKOFF);
        tracing::warn!(
            error = %err,
            retry_in_ms = delay.as_millis() as u64,
            "store change notifications: the listener lost its connection; periodic polling \
             covers the gap"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Connects, LISTENs, reports [`StoreChange::Resync`] (whatever happened before this point was
/// not heard), then forwards notifications until the connection fails beyond the listener's own
/// reconnection.
async fn follow(
    pool: &PgPool,
    sender: &broadcast::Sender<StoreChange>,
    failures: &mut u32,
) -> sqlx::Error {
    let schema: String = match sqlx::query_scalar("SELECT coalesce(current_schema(), '')")
        .fetch_one(pool)
        .await
    {
        Ok(schema) => schema,
        Err(e) => return e,
    };
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(e) => return e,
    };
    if let Err(e) = listener.listen(CHANNEL).await {
        return e;
    }
    *failures = 0;
    // No receiver yet is not an error: the next subscriber reads the store first anyway.
    let _ = sender.send(StoreChange::Resync);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Some(change) = parse(notification.payload(), &schema) {
                    let _ = sender.send(change);
                }
            }
            // The connection was lost and the listener has reconnected and LISTENs again
            // (eager reconnection): what was committed meanwhile was not heard.
            Ok(None) => {
                tracing::info!("store change notifications: reconnected");
                let _ = sender.send(StoreChange::Resync);
            }
            Err(e) => return e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_change_and_the_schema() {
        for change in [StoreChange::Revocations, StoreChange::SigningKeys] {
            let payload = format!("{}:tessera", kind(change));
            assert_eq!(parse(&payload, "tessera"), Some(change));
            // Another schema's change is not ours.
            assert_eq!(parse(&payload, "other"), None);
        }
        assert_eq!(parse("clients:s", "s"), Some(StoreChange::Resync));
        assert_eq!(parse("revocations:", ""), Some(StoreChange::Revocations));
        assert_eq!(parse("garbage", "s"), None);
    }
}
