//! [`RevocationStore`] for PostgreSQL: entries, their effects on sessions and refresh tokens, and
//! the feed. Writes to the feed (a new entry, a sweep that deleted some) notify the other nodes
//! ([`StoreChange::Revocations`], queued inside the writing transaction; see `notify.rs`), so
//! their feed streams read the entry at once instead of at their next poll.

use super::convert::{db_err, get, to_secs};
use super::locks;
use super::plain::audit::insert_audit;
use super::plain::revocations::{self, check_target, decode, queue_logouts, SELECT};
use super::{notify, PostgresStore};
use crate::{FeedRead, FeedSnapshot, RevocationOutcome, RevocationStore, StoreChange, StoreResult};
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, Transaction};
use tessera_core::revocation::TargetIds;
use tessera_core::{
    Revocation, RevocationEffects, RevocationEntry, RevocationTarget, SessionId, TokenFacts, UserId,
};
use time::OffsetDateTime;

/// The newest cursor of a committed entry (0 before the first one): the newest stored entry,
/// or the newest swept one if that is newer (the sweep remembers it as the horizon).
///
/// Not the identity sequence's value: that also counts cursors drawn by transactions still in
/// progress (or rolled back), and a reader told to continue after one of those would skip it.
async fn latest_cursor(conn: &mut PgConnection) -> StoreResult<i64> {
    sqlx::query_scalar(
        "SELECT greatest(coalesce((SELECT max(cursor) FROM revocations), 0), horizon) \
         FROM revocation_feed WHERE id = 1",
    )
    .fetch_one(conn)
    .await
    .map_err(db_err)
}

/// Which sessions and refresh tokens a session or user entry ends, as conditions on `sessions`
/// and on `refresh_tokens` over the parameters `$1` (the sid or user id) and, for tokens, `$2`
/// (the entry's `not_before`).
struct Ends {
    sessions: &'static str,
    tokens: &'static str,
}

const SESSION_ENDS: Ends = Ends {
    sessions: "sid = $1",
    tokens: "sid = $1",
};

const USER_ENDS: Ends = Ends {
    sessions: "user_id = $1",
    tokens: "user_id = $1 AND issued_at < $2",
};

/// Ends the sessions and revokes the refresh tokens `ends` selects for `key`, and queues a
/// back-channel logout for each (sid, client) that took part; returns the sessions ended, the
/// tokens revoked and the deliveries queued.
async fn end_sessions(
    conn: &mut PgConnection,
    ends: &Ends,
    key: &str,
    not_before: Option<i64>,
    now: OffsetDateTime,
) -> StoreResult<(Vec<SessionId>, u64, u64)> {
    // Lock the sessions first: a code being issued in one of them holds it until its commit
    // (see `create_code`), so once these locks are held every participation is committed and
    // the read below sees it; later codes find the session gone and record none.
    sqlx::query(&format!(
        "SELECT 1 FROM sessions WHERE {} FOR UPDATE",
        ends.sessions
    ))
    .bind(key)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    // The (sid, client, user) triples to notify: clients that took part in a session being
    // deleted, and clients holding an unrevoked refresh token being revoked. Read before the
    // deletes and updates. No refresh token is stored meanwhile: the caller holds the
    // revocation lock exclusively.
    let rows = sqlx::query(&format!(
        "SELECT sc.sid AS sid, sc.client_id AS client_id, s.user_id AS user_id \
         FROM session_clients sc JOIN sessions s ON s.sid = sc.sid WHERE s.{} \
         UNION SELECT sid, client_id, user_id FROM refresh_tokens \
         WHERE revoked_at IS NULL AND {} ORDER BY sid, client_id",
        ends.sessions, ends.tokens
    ))
    .bind(key)
    .bind(not_before)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let pairs = rows
        .iter()
        .map(|row| {
            Ok((
                get(row, "sid")?,
                get(row, "client_id")?,
                get(row, "user_id")?,
            ))
        })
        .collect::<StoreResult<Vec<(String, String, String)>>>()?;

    let sids: Vec<String> = sqlx::query_scalar(&format!(
        "DELETE FROM sessions WHERE {} RETURNING sid",
        ends.sessions
    ))
    .bind(key)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut sessions_ended: Vec<SessionId> = sids.into_iter().map(SessionId::from_stored).collect();
    sessions_ended.sort();
    let revoked = sqlx::query(&format!(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE revoked_at IS NULL AND {}",
        ends.tokens
    ))
    .bind(key)
    .bind(not_before)
    .bind(to_secs(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?
    .rows_affected();
    let queued = queue_logouts(conn, &pairs, now).await?;
    Ok((sessions_ended, revoked, queued))
}

/// Applies the effects of a recorded entry on sessions and refresh tokens.
async fn apply_effects(
    conn: &mut PgConnection,
    revocation: &Revocation,
) -> StoreResult<(Vec<SessionId>, u64, u64)> {
    let not_before = revocation.not_before.map(to_secs);
    let now = revocation.revoked_at;
    match &revocation.target {
        RevocationTarget::Token { .. } | RevocationTarget::UserClaims { .. } => {
            Ok((Vec::new(), 0, 0))
        }
        RevocationTarget::Session { sid, .. } => {
            end_sessions(conn, &SESSION_ENDS, sid.as_str(), None, now).await
        }
        RevocationTarget::User { user_id } => {
            end_sessions(conn, &USER_ENDS, user_id.as_str(), not_before, now).await
        }
        // A global entry ends no browser session (a session cookie is not a token), and its
        // refresh tokens fail at their next use; there is no one session to notify about.
        RevocationTarget::Global => {
            let revoked = sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1 \
                 WHERE revoked_at IS NULL AND issued_at < $2",
            )
            .bind(to_secs(now))
            .bind(not_before)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected();
            Ok((Vec::new(), revoked, 0))
        }
    }
}

/// A read-only transaction whose statements all see one snapshot (READ COMMITTED would give
/// each statement its own). Read-only REPEATABLE READ transactions never fail to serialise.
async fn read_snapshot(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db_err)
}

#[async_trait::async_trait]
impl RevocationStore for PostgresStore {
    async fn revoke(&self, revocation: &Revocation) -> StoreResult<Option<RevocationOutcome>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Before anything is read: the check below must see every earlier entry, and this
        // entry's cursor must commit before any later one is drawn.
        locks::revocations_exclusive(&mut tx).await?;
        if !check_target(&mut tx, &revocation.target).await? {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        }
        let TargetIds { jti, sid, user_id } = revocation.target.ids();
        let cursor: i64 = sqlx::query_scalar(
            "INSERT INTO revocations (kind, jti, sid, user_id, not_before, revoked_at, \
             expires_at, reason, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING cursor",
        )
        .bind(revocation.kind().as_str())
        .bind(jti)
        .bind(sid)
        .bind(user_id)
        .bind(revocation.not_before.map(to_secs))
        .bind(to_secs(revocation.revoked_at))
        .bind(to_secs(revocation.expires_at))
        .bind(revocation.reason.as_str())
        .bind(&revocation.actor)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let (sessions_ended, refresh_tokens_revoked, logout_notifications) =
            apply_effects(&mut tx, revocation).await?;
        locks::audit(&mut tx).await?;
        let effects = RevocationEffects {
            cursor,
            sessions_ended: sessions_ended.len(),
            refresh_tokens_revoked,
            logout_notifications,
        };
        insert_audit(&mut tx, &revocation.audit_event(&effects)).await?;
        // Heard by every node when (and only if) the entry commits: one that reads on it finds
        // the entry.
        notify::queue(&mut tx, StoreChange::Revocations).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(RevocationOutcome {
            entry: RevocationEntry {
                cursor,
                revocation: revocation.clone(),
            },
            sessions_ended,
            refresh_tokens_revoked,
            logout_notifications,
        }))
    }

    async fn is_access_token_revoked(
        &self,
        token: &TokenFacts<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        revocations::is_access_token_revoked(self, token, now).await
    }

    async fn latest_not_before(
        &self,
        user: Option<&UserId>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        revocations::latest_not_before(self, user, now).await
    }

    async fn revocations_after(&self, after: i64, limit: u32) -> StoreResult<FeedRead> {
        // One snapshot for every statement: the horizon, the newest cursor and the rows agree.
        let mut tx = read_snapshot(&self.pool).await?;
        let horizon: i64 = sqlx::query_scalar("SELECT horizon FROM revocation_feed WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let latest = latest_cursor(&mut tx).await?;
        let answer = if after > latest {
            FeedRead::Ahead
        } else if after < horizon {
            FeedRead::Behind
        } else {
            let rows = sqlx::query(&format!(
                "{SELECT} WHERE cursor > $1 ORDER BY cursor LIMIT $2"
            ))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            FeedRead::Entries(rows.iter().map(decode).collect::<StoreResult<_>>()?)
        };
        tx.commit().await.map_err(db_err)?;
        Ok(answer)
    }

    async fn revocation_snapshot(&self, now: OffsetDateTime) -> StoreResult<FeedSnapshot> {
        let mut tx = read_snapshot(&self.pool).await?;
        let cursor = latest_cursor(&mut tx).await?;
        let rows = sqlx::query(&format!("{SELECT} WHERE expires_at > $1 ORDER BY cursor"))
            .bind(to_secs(now))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(FeedSnapshot {
            entries: rows.iter().map(decode).collect::<StoreResult<_>>()?,
            cursor,
        })
    }

    async fn delete_expired_revocations(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // A writer of the feed like `revoke`: with the lock held, no entry commits between the
        // two statements, so the horizon covers exactly the entries deleted.
        locks::revocations_exclusive(&mut tx).await?;
        sqlx::query(
            "UPDATE revocation_feed SET horizon = greatest(horizon, \
             coalesce((SELECT max(cursor) FROM revocations WHERE expires_at <= $1), 0)) \
             WHERE id = 1",
        )
        .bind(to_secs(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let done = sqlx::query("DELETE FROM revocations WHERE expires_at <= $1")
            .bind(to_secs(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // The horizon moved only if entries were deleted: only then can a reader be behind.
        if done.rows_affected() > 0 {
            notify::queue(&mut tx, StoreChange::Revocations).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn count_revocations(&self) -> StoreResult<u64> {
        revocations::count_revocations(self).await
    }
}
