//! SQLite's side of the locking hooks that the shared code (`crate::shared`) calls.
//!
//! SQLite runs one writer at a time, and every shared write transaction begins with
//! [`SqliteStore::begin_write`](super::SqliteStore::begin_write) (`BEGIN IMMEDIATE`), which
//! holds the database's write lock until the commit. That one lock does everything the
//! PostgreSQL backend's row, table and advisory locks do, so here the lock clauses are empty and
//! the lock functions do nothing.

use crate::StoreResult;
use sqlx::SqliteConnection;

/// Appended to a read that PostgreSQL locks for update; SQLite has no row locks.
pub(crate) const FOR_UPDATE: &str = "";

/// Appended to the read of the session a new authorization code joins.
pub(crate) const FOR_KEY_SHARE: &str = "";

/// Appended to the read of due back-channel deliveries.
pub(crate) const CLAIM_DELIVERIES: &str = "";

/// Appended to the read of due outbox messages.
pub(crate) const CLAIM_MESSAGES: &str = "";

/// The audit lock: the write lock already orders audit ids.
pub(crate) async fn audit(_conn: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// The signing-key lock: the write lock already keeps two rotations apart.
pub(crate) async fn signing_keys(_conn: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// The refresh-token locks: the write lock already keeps revocations out between a token's
/// "born revoked" check and its insert.
pub(crate) async fn refresh_tokens(
    _conn: &mut SqliteConnection,
    _families: &[&str],
) -> StoreResult<()> {
    Ok(())
}

/// The lock for storing tokens of new families: the write lock again.
pub(crate) async fn new_refresh_families(_conn: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// Before a rotation reads the presented token: nothing to do, the write lock taken at
/// `BEGIN IMMEDIATE` already orders concurrent rotations. Always true: the read decides.
pub(crate) async fn presented_refresh_token(
    _conn: &mut SqliteConnection,
    _token_hash: &str,
    _successor_family: &str,
) -> StoreResult<bool> {
    Ok(true)
}

/// The revocation lock: the write lock already keeps feed writers in cursor order.
pub(crate) async fn revocations_exclusive(_conn: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// The locks on sessions a revocation ends: the write lock already keeps codes from joining
/// them meanwhile.
pub(crate) async fn ending_sessions(
    _conn: &mut SqliteConnection,
    _sessions_where: &str,
    _key: &str,
) -> StoreResult<()> {
    Ok(())
}
