//! [`RevocationStore`] for SQLite: entries, their effects on sessions and refresh tokens, and
//! the feed.

use super::convert::{db_err, get, to_secs};
use super::plain::audit::insert_audit;
use super::plain::revocations::{self, check_target, decode, queue_logouts, SELECT};
use super::SqliteStore;
use crate::{FeedRead, FeedSnapshot, RevocationOutcome, RevocationStore, StoreResult};
use sqlx::SqliteConnection;
use tessera_core::revocation::TargetIds;
use tessera_core::{
    Revocation, RevocationEffects, RevocationEntry, RevocationTarget, SessionId, TokenFacts, UserId,
};
use time::OffsetDateTime;

/// The newest cursor ever handed out (0 before the first entry); AUTOINCREMENT keeps it in
/// `sqlite_sequence` even when the newest entries have been swept.
async fn latest_cursor(conn: &mut SqliteConnection) -> StoreResult<i64> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'revocations'")
            .fetch_optional(conn)
            .await
            .map_err(db_err)?;
    Ok(seq.unwrap_or(0))
}

/// The (sid, client) pairs to notify when sessions end: clients that took part in a session
/// being deleted, and clients holding an unrevoked refresh token being revoked. Read before the
/// deletes and updates.
async fn participants(
    conn: &mut SqliteConnection,
    sessions_where: &str,
    tokens_where: &str,
    binds: &[&str],
    not_before: Option<i64>,
) -> StoreResult<Vec<(String, String, String)>> {
    let sql = format!(
        "SELECT sc.sid AS sid, sc.client_id AS client_id, s.user_id AS user_id \
         FROM session_clients sc JOIN sessions s ON s.sid = sc.sid WHERE {sessions_where} \
         UNION SELECT sid, client_id, user_id FROM refresh_tokens \
         WHERE revoked_at IS NULL AND {tokens_where} ORDER BY sid, client_id"
    );
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    for bind in binds {
        query = query.bind(*bind);
    }
    if let Some(nb) = not_before {
        query = query.bind(nb);
    }
    let rows = query.fetch_all(conn).await.map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok((
                get(row, "sid")?,
                get(row, "client_id")?,
                get(row, "user_id")?,
            ))
        })
        .collect()
}

/// Applies the effects of a recorded entry on sessions and refresh tokens.
async fn apply_effects(
    conn: &mut SqliteConnection,
    revocation: &Revocation,
) -> StoreResult<(Vec<SessionId>, u64, u64)> {
    let now = to_secs(revocation.revoked_at);
    let not_before = revocation.not_before.map(to_secs);
    let (pairs, sessions_sql, tokens_sql, key): (_, &str, String, Option<&str>) =
        match &revocation.target {
            RevocationTarget::Token { .. } | RevocationTarget::UserClaims { .. } => {
                return Ok((Vec::new(), 0, 0))
            }
            RevocationTarget::Session { sid, .. } => (
                participants(&mut *conn, "sc.sid = ?", "sid = ?", &[sid.as_str()], None).await?,
                "sid = ?",
                "sid = ?".to_owned(),
                Some(sid.as_str()),
            ),
            RevocationTarget::User { user_id } => (
                participants(
                    &mut *conn,
                    "s.user_id = ?",
                    "user_id = ? AND issued_at < ?",
                    &[user_id.as_str()],
                    not_before,
                )
                .await?,
                "user_id = ?",
                "user_id = ? AND issued_at < ?".to_owned(),
                Some(user_id.as_str()),
            ),
            // A global entry ends no browser session (a session cookie is not a token), and its
            // refresh tokens fail at their next use; there is no one session to notify about.
            RevocationTarget::Global => (Vec::new(), "", "issued_at < ?".to_owned(), None),
        };

    let mut sessions_ended = Vec::new();
    if let Some(key) = key {
        let sids: Vec<String> = sqlx::query_scalar(&format!(
            "DELETE FROM sessions WHERE {sessions_sql} RETURNING sid"
        ))
        .bind(key)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        sessions_ended = sids.into_iter().map(SessionId::from_stored).collect();
        sessions_ended.sort();
    }
    let sql = format!(
        "UPDATE refresh_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND {tokens_sql}"
    );
    let mut query = sqlx::query(&sql).bind(now);
    if let Some(key) = key {
        query = query.bind(key);
    }
    if let Some(nb) = not_before {
        query = query.bind(nb);
    }
    let revoked = query
        .execute(&mut *conn)
        .await
        .map_err(db_err)?
        .rows_affected();
    let queued = queue_logouts(conn, &pairs, revocation.revoked_at).await?;
    Ok((sessions_ended, revoked, queued))
}

#[async_trait::async_trait]
impl RevocationStore for SqliteStore {
    async fn revoke(&self, revocation: &Revocation) -> StoreResult<Option<RevocationOutcome>> {
        let (_writer, mut tx) = self.begin_immediate().await?;
        if !check_target(&mut tx, &revocation.target).await? {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        }
        let TargetIds { jti, sid, user_id } = revocation.target.ids();
        let cursor: i64 = sqlx::query_scalar(
            "INSERT INTO revocations (kind, jti, sid, user_id, not_before, revoked_at, \
             expires_at, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING cursor",
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
        let effects = RevocationEffects {
            cursor,
            sessions_ended: sessions_ended.len(),
            refresh_tokens_revoked,
            logout_notifications,
        };
        insert_audit(&mut tx, &revocation.audit_event(&effects)).await?;
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
        // One read transaction: the horizon, the newest cursor and the rows agree.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
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
                "{SELECT} WHERE cursor > ? ORDER BY cursor LIMIT ?"
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
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let cursor = latest_cursor(&mut tx).await?;
        let rows = sqlx::query(&format!("{SELECT} WHERE expires_at > ? ORDER BY cursor"))
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
        let (_writer, mut tx) = self.begin_immediate().await?;
        sqlx::query(
            "UPDATE revocation_feed SET horizon = max(horizon, \
             coalesce((SELECT max(cursor) FROM revocations WHERE expires_at <= ?), 0)) \
             WHERE id = 1",
        )
        .bind(to_secs(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let done = sqlx::query("DELETE FROM revocations WHERE expires_at <= ?")
            .bind(to_secs(now))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn count_revocations(&self) -> StoreResult<u64> {
        revocations::count_revocations(self).await
    }
}
