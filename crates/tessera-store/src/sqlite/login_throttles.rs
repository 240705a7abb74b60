//! [`LoginThrottleStore`] for SQLite.

use super::convert::{db_err, get};
use super::SqliteStore;
use crate::codec::{throttle_state, to_secs};
use crate::{LoginThrottleStore, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;
use tessera_core::{Admission, LoginThrottlePolicy, ThrottleKey, ThrottleState};
use time::OffsetDateTime;

#[async_trait::async_trait]
impl LoginThrottleStore for SqliteStore {
    async fn admit_login_attempt(
        &self,
        key: &ThrottleKey,
        policy: &LoginThrottlePolicy,
        now: OffsetDateTime,
    ) -> StoreResult<Admission> {
        // IMMEDIATE takes the write lock before the read, so concurrent attempts (from this
        // process or another on the same file) decide one after the other.
        let (_writer, mut tx) = self.begin_immediate().await?;
        let stored = read(&mut tx, key).await?;
        let (admission, next) = policy.admit(stored.as_ref(), now);
        if stored.as_ref() != Some(&next) {
            sqlx::query(
                "INSERT INTO login_throttles \
                 (key, attempts, last_attempt_at, locked_until, forget_at) \
                 VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (key) DO UPDATE SET attempts = excluded.attempts, \
                 last_attempt_at = excluded.last_attempt_at, \
                 locked_until = excluded.locked_until, forget_at = excluded.forget_at",
            )
            .bind(key.as_str())
            .bind(i64::from(next.attempts))
            .bind(to_secs(next.last_attempt_at))
            .bind(next.locked_until.map(to_secs))
            .bind(to_secs(next.forgettable_at(policy)))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(admission)
    }

    async fn clear_login_attempts(&self, key: &ThrottleKey) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_throttles WHERE key = ?")
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_login_throttle(&self, key: &ThrottleKey) -> StoreResult<Option<ThrottleState>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        read(&mut conn, key).await
    }

    async fn delete_forgotten_login_throttles(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM login_throttles WHERE forget_at <= ?")
            .bind(to_secs(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

/// The count of `key` on `conn`.
async fn read(
    conn: &mut SqliteConnection,
    key: &ThrottleKey,
) -> StoreResult<Option<ThrottleState>> {
    let row = sqlx::query(
        "SELECT attempts, last_attempt_at, locked_until FROM login_throttles WHERE key = ?",
    )
    .bind(key.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(|row| decode(row, key)).transpose()
}

/// Rebuilds a count from its row; a malformed row is a
/// [`StoreError::Backend`](crate::StoreError::Backend).
fn decode(row: &SqliteRow, key: &ThrottleKey) -> StoreResult<ThrottleState> {
    throttle_state(
        get(row, "attempts")?,
        get(row, "last_attempt_at")?,
        get(row, "locked_until")?,
        &format!("login throttle {}", key.as_str()),
    )
}
