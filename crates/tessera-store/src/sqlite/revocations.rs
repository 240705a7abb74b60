//! SQLite's hooks for the revocation feed (the rest of [`RevocationStore`](crate::RevocationStore)
//! is in `crate::shared::revocations`): where the newest cursor comes from, and how a sweep
//! advances the horizon.

use super::convert::db_err;
use crate::StoreResult;
use sqlx::SqliteConnection;

/// The newest cursor ever handed out (0 before the first entry); AUTOINCREMENT keeps it in
/// `sqlite_sequence` even when the newest entries have been swept. The write lock every feed
/// writer holds means no entry is in progress while another transaction reads it.
pub(crate) async fn latest_cursor(conn: &mut SqliteConnection) -> StoreResult<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'revocations'")
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
    Ok(seq.unwrap_or(0))
}

/// Moves the horizon past the newest entry expired at `$1`, before the sweep deletes them
/// (SQLite's two-argument `max` is PostgreSQL's `greatest`).
pub(crate) const ADVANCE_HORIZON: &str = "UPDATE revocation_feed SET horizon = max(horizon, \
     coalesce((SELECT max(cursor) FROM revocations WHERE expires_at <= $1), 0)) WHERE id = 1";
