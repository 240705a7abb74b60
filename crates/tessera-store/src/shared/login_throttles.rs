//! [`LoginThrottleStore`](crate::LoginThrottleStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs). The policy itself is
//! pure and lives in `tessera_core::login_throttle`; this only makes it atomic.

/// Expands to the [`LoginThrottleStore`](crate::LoginThrottleStore) implementation for
/// `DbStore`.
macro_rules! impl_login_throttles {
    () => {
        /// [`LoginThrottleStore`]. An attempt reads its count with the backend's row lock
        /// (`backend::locks::FOR_UPDATE`) inside a write transaction, so concurrent attempts at
        /// one key decide one after the other.
        pub(crate) mod login_throttles {
            use super::*;
            use tessera_core::{Admission, ThrottleKey, ThrottleRule, ThrottleState};
            use time::OffsetDateTime;
            use $crate::codec::{throttle_state, to_secs};
            use $crate::{LoginThrottleStore, StoreResult};

            #[async_trait::async_trait]
            impl LoginThrottleStore for DbStore {
                async fn admit_login_attempt(
                    &self,
                    key: &ThrottleKey,
                    rule: &dyn ThrottleRule,
                    now: OffsetDateTime,
                ) -> StoreResult<Admission> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // Make sure there is a row to lock: two first attempts at one key would
                    // otherwise both read nothing and both start from zero. The placeholder (no
                    // attempts, no lock) decides exactly as a missing count does. A concurrent
                    // inserter waits for this one's commit, then inserts nothing.
                    sqlx::query(
                        "INSERT INTO login_throttles \
                         (key, attempts, last_attempt_at, locked_until, forget_at) \
                         VALUES ($1, 0, $2, NULL, $2) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(key.as_str())
                    .bind(to_secs(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    // The row lock (or SQLite's write lock) makes concurrent attempts decide one
                    // after the other, each on what the previous one committed.
                    let stored = read(&mut tx, key, backend::locks::FOR_UPDATE).await?;
                    let (admission, next) = rule.admit(stored.as_ref(), now);
                    if stored.as_ref() != Some(&next) {
                        write(&mut tx, key, &next, rule).await?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(admission)
                }

                async fn clear_login_attempts(&self, key: &ThrottleKey) -> StoreResult<()> {
                    sqlx::query("DELETE FROM login_throttles WHERE key = $1")
                        .bind(key.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn delete_forgotten_login_throttles(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM login_throttles WHERE forget_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Replaces the stored count of `key` (whose row exists) with `next`.
            async fn write(
                conn: &mut Conn,
                key: &ThrottleKey,
                next: &ThrottleState,
                rule: &dyn ThrottleRule,
            ) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE login_throttles SET attempts = $2, last_attempt_at = $3, \
                     locked_until = $4, forget_at = $5 WHERE key = $1",
                )
                .bind(key.as_str())
                .bind(i64::from(next.attempts))
                .bind(to_secs(next.last_attempt_at))
                .bind(next.locked_until.map(to_secs))
                .bind(to_secs(rule.forgettable_at(next)))
                .execute(conn)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            /// The count of `key` on `conn`; `lock` is appended to the query
            /// (`backend::locks::FOR_UPDATE` or `""`).
            pub(crate) async fn read(
                conn: &mut Conn,
                key: &ThrottleKey,
                lock: &str,
            ) -> StoreResult<Option<ThrottleState>> {
                let row = sqlx::query(&format!(
                    "SELECT attempts, last_attempt_at, locked_until FROM login_throttles \
                     WHERE key = $1{lock}"
                ))
                .bind(key.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)?;
                row.as_ref()
                    .map(|row| {
                        throttle_state(
                            get(row, "attempts")?,
                            get(row, "last_attempt_at")?,
                            get(row, "locked_until")?,
                            &format!("login throttle {}", key.as_str()),
                        )
                    })
                    .transpose()
            }
        }
    };
}

pub(crate) use impl_login_throttles;
