//! PostgreSQL's hooks for the revocation feed (the rest of
//! [`RevocationStore`](crate::RevocationStore) is in `crate::shared::revocations`): where the
//! newest cursor comes from, and how a sweep advances the horizon. Writes to the feed (a new
//! entry, a sweep that deleted some) notify the other nodes
//! ([`StoreChange::Revocations`](crate::StoreChange::Revocations), queued inside the writing
//! transaction; see `notify.rs`), so their feed streams read the entry at once instead of at
//! their next poll.

use super::convert::db_err;
use crate::StoreResult;
use sqlx::PgConnection;

/// The newest cursor of a committed entry (0 before the first one): the newest stored entry,
/// or the newest swept one if that is newer (the sweep remembers it as the horizon).
///
/// Not the identity sequence's value: that also counts cursors drawn by transactions still in
/// progress (or rolled back), and a reader told to continue after one of those would skip it.
pub(crate) async fn latest_cursor(conn: &mut PgConnection) -> StoreResult<i64> {
    sqlx::query_scalar(
        "SELECT greatest(coalesce((SELECT max(cursor) FROM revocations), 0), horizon) \
         FROM revocation_feed WHERE id = 1",
    )
    .fetch_one(conn)
    .await
    .map_err(db_err)
}

/// Moves the horizon past the newest entry expired at `$1`, before the sweep deletes them.
pub(crate) const ADVANCE_HORIZON: &str = "UPDATE revocation_feed SET horizon = greatest(horizon, \
     coalesce((SELECT max(cursor) FROM revocations WHERE expires_at <= $1), 0)) WHERE id = 1";
