//! The PostgreSQL backend: one database (and schema) shared by any number of Tessera nodes.
//!
//! # Concurrency
//!
//! SQLite runs one writer at a time, so the SQLite backend gets the contract's "exactly one
//! wins" rules almost for free. PostgreSQL runs writers concurrently at READ COMMITTED, where
//! each statement sees what was committed when it started. Each atomic operation of the
//! contract is therefore built from one of these, always inside one transaction. The
//! operations written once in `crate::shared` ask for theirs through the hooks in `locks.rs`
//! (lock clauses such as [`locks::FOR_UPDATE`] and lock functions), which the SQLite backend
//! answers with nothing, its write lock covering them all:
//!
//! - **A conditional write that decides by itself.** `redeem_code` is `UPDATE … WHERE
//!   redeemed_at IS NULL RETURNING`: a second redeemer waits for the first's row lock, then
//!   re-checks the condition on the committed row and matches nothing. `take_login_request`
//!   is `DELETE … RETURNING`. Consents are an upsert.
//!   Passkeys: `record_passkey_use` is `UPDATE … WHERE credential_id = $4 AND sign_count = $5`
//!   (a compare-and-swap: a second use verified against the same count waits for the first's
//!   row lock, re-reads the moved counter and matches nothing); `take_passkey_challenge` is
//!   `DELETE … RETURNING` (a second taker waits, finds the row deleted and gets nothing);
//!   `put_passkey_challenge` is `INSERT … ON CONFLICT (purpose, bound_to) DO UPDATE`, which
//!   PostgreSQL guarantees inserts or updates, never fails with a duplicate key, under
//!   concurrent puts. `create_passkey` relies on the primary key: of two registrations of one
//!   credential ID, the second waits on the first's uncommitted index entry and then fails
//!   with a unique violation (a conflict).
//! - **Row locks before the decision.** `rotate_refresh_token` reads the presented token
//!   `FOR UPDATE`, so concurrent rotations decide one after the other, each on what the
//!   previous one committed. Back-channel claims take due deliveries `FOR UPDATE SKIP LOCKED`,
//!   so two workers never lease one delivery. `create_code` holds its session `FOR KEY SHARE`
//!   and `revoke` locks the sessions it ends `FOR UPDATE` before reading who took part in them,
//!   so a client that received a code in a session being revoked is either notified or never
//!   recorded.
//! - **Advisory locks where there is no row to lock** (`locks.rs`): the revocation lock,
//!   exclusive for writes to the revocation feed (so cursors commit in order and a feed reader
//!   can never skip one) and shared for storing or revoking refresh tokens (so a token is
//!   never stored live next to a revocation that should cover it); a lock per refresh-token
//!   family (so "revoke the family" and "store its first token" cannot interleave); and an
//!   audit lock (audit ids are read like a feed too).
//! - **A table lock for key rotation**: `rotate_signing_key` takes `signing_keys` in SHARE ROW
//!   EXCLUSIVE mode ([`locks::signing_keys`]), so two rotations of one algorithm cannot both leave their key active.
//! - **One snapshot for feed reads**: `revocations_after` and `revocation_snapshot` run in a
//!   REPEATABLE READ, READ ONLY transaction, so the horizon, the newest cursor and the rows
//!   agree.
//!
//! # Change notifications
//!
//! Nodes tell each other about new revocation entries and key changes with `LISTEN/NOTIFY`
//! ([`Store::subscribe_changes`]); see `notify.rs` for why the notification is queued inside the
//! writing transaction and what a listener does about missed ones.
//!
//! A transaction that loses a race the database resolves by aborting (a deadlock, which the
//! lock order above avoids among the store's own operations) comes back as
//! [`StoreError::Unavailable`]: retrying may succeed.

pub(crate) mod connect;
pub(crate) mod convert;
mod locks;
mod notify;
mod revocations;

/// The aggregates written once in [`crate::shared`], expanded here for PostgreSQL.
mod plain {
    use super::convert::{db_err, get, unique_violation};
    use super::PostgresStore as DbStore;
    use crate::postgres as backend;
    use sqlx::postgres::PgRow as Row;
    use sqlx::PgConnection as Conn;

    crate::shared::impl_all!();
}

pub use sqlx::postgres::PgConnectOptions;

use crate::{Store, StoreChange, StoreError, StoreResult};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use std::fmt;
use std::time::Duration;

/// How long opening the store waits for the server to accept the first connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an operation waits for a pooled connection (including reconnecting after the
/// server went away) before failing with [`StoreError::Unavailable`].
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pooled connections per node. Several nodes share the server's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;

/// A store backed by a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    /// Where the pool points (host, port, database, user), for messages; never the password.
    target: String,
    /// The change listener, started by the first [`Store::subscribe_changes`].
    changes: notify::Changes,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Opens the database named by a `postgres://` or `postgresql://` URL (libpq's URL form,
    /// as sqlx parses it, query parameters included) and applies pending migrations.
    ///
    /// Fails with [`StoreError::InvalidUrl`] for a malformed URL, and otherwise as
    /// [`connect_with`](Self::connect_with). No error message contains the password.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(connect::parse_url(url)?).await
    }

    /// [`connect`](Self::connect) to a database Tessera has already set up: one without
    /// Tessera's tables is [`StoreError::Missing`] and is left untouched.
    pub async fn connect_existing(url: &str) -> StoreResult<Self> {
        Self::open(connect::parse_url(url)?, false).await
    }

    /// Opens the database `options` name and applies pending migrations.
    ///
    /// The store adds a statement timeout, an idle-in-transaction timeout and an application
    /// name unless `options` set their own. Fails with [`StoreError::Unavailable`] (naming the
    /// host, port, database and user, never the password) if the server cannot be reached or
    /// refuses the connection within a few seconds, and with [`StoreError::SchemaTooNew`] if a
    /// newer Tessera has migrated the database.
    pub async fn connect_with(options: PgConnectOptions) -> StoreResult<Self> {
        Self::open(options, true).await
    }

    async fn open(options: PgConnectOptions, create: bool) -> StoreResult<Self> {
        let options = connect::with_defaults(options);
        let target = connect::describe(&options);
        // A first connection of its own, so that an unreachable server fails fast with its
        // real cause (the pool would retry until its acquire timeout and report only that).
        let mut conn =
            match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => return Err(connect::connect_err(&target, e)),
                Err(_) => {
                    return Err(StoreError::Unavailable(format!(
                        "cannot connect to PostgreSQL at {target}: no answer within {}s",
                        CONNECT_TIMEOUT.as_secs()
                    )))
                }
            };
        if !create {
            // The migrations table (in the connection's search path) is what the first start
            // creates before anything else.
            let exists: Result<bool, _> =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await;
            match exists {
                Ok(true) => {}
                Ok(false) => {
                    let _ = conn.close().await;
                    return Err(StoreError::Missing(format!(
                        "the PostgreSQL database at {target} has no Tessera tables"
                    )));
                }
                Err(e) => return Err(convert::db_err(e)),
            }
        }
        // The migrator holds a database-wide advisory lock while it runs, so nodes starting
        // together migrate one after the other.
        let migrated = crate::migrations::postgres()
            .await
            .run(&mut conn)
            .await
            .map_err(|e| crate::codec::migrate_err(e, convert::db_err));
        // Closing is a courtesy to the server; the migration result is what matters.
        let _ = conn.close().await;
        migrated?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        tracing::info!(target = %target, "opened PostgreSQL store");
        Ok(Self {
            pool,
            target,
            changes: notify::Changes::default(),
        })
    }

    /// Begins a write transaction for the shared code (`crate::shared`). PostgreSQL needs no
    /// lock up front: each operation takes the row, table or advisory lock it needs (the
    /// `locks` hooks). The `()` stands where SQLite returns its writer-queue guard.
    pub(crate) async fn begin_write(
        &self,
    ) -> StoreResult<((), sqlx::Transaction<'static, sqlx::Postgres>)> {
        Ok(((), self.pool.begin().await.map_err(convert::db_err)?))
    }

    /// Begins a read transaction for the shared code whose statements all see one snapshot
    /// (READ COMMITTED would give each statement its own). Read-only REPEATABLE READ
    /// transactions never fail to serialise.
    pub(crate) async fn begin_read(
        &self,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(convert::db_err)
    }

    /// Closes every pooled connection, waiting for them to finish. Later operations fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.changes.stop();
        self.pool.close().await;
    }

    /// The pool, for the copy from SQLite (`crate::copy`), which writes rows as they are
    /// rather than through the contract.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Where the pool points (host, port, database, user; never the password), for messages.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        plain::ping(self).await
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    /// Changes committed by any node on this database and schema, from `LISTEN/NOTIFY`; the
    /// first call starts the listener (see `notify.rs`). `None` outside a tokio runtime and
    /// after [`close`](Self::close).
    fn subscribe_changes(&self) -> Option<tokio::sync::broadcast::Receiver<StoreChange>> {
        self.changes.subscribe(&self.pool.connect_options())
    }
}
