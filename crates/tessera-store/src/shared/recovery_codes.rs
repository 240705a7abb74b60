//! [`RecoveryCodeStore`](crate::RecoveryCodeStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`RecoveryCodeStore`](crate::RecoveryCodeStore) implementation for `DbStore`.
macro_rules! impl_recovery_codes {
    () => {
        /// [`RecoveryCodeStore`]: replacing a set is a write transaction; using a code is one
        /// conditional `UPDATE … WHERE used_at IS NULL`, which only one of racing uses changes.
        pub(crate) mod recovery_codes {
            use super::*;
            use tessera_core::UserId;
            use time::OffsetDateTime;
            use $crate::codec::to_secs;
            use $crate::{RecoveryCodeStore, StoreResult};

            #[async_trait::async_trait]
            impl RecoveryCodeStore for DbStore {
                async fn replace_recovery_codes(
                    &self,
                    user: &UserId,
                    hashes: &[String],
                    now: OffsetDateTime,
                ) -> StoreResult<()> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    for hash in hashes {
                        sqlx::query(
                            "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) \
                             VALUES ($1, $2, $3, NULL)",
                        )
                        .bind(user.as_str())
                        .bind(hash)
                        .bind(to_secs(now))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(())
                }

                async fn use_recovery_code(
                    &self,
                    user: &UserId,
                    hash: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE recovery_codes SET used_at = $1 \
                         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                    )
                    .bind(to_secs(now))
                    .bind(user.as_str())
                    .bind(hash)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn count_unused_recovery_codes(&self, user: &UserId) -> StoreResult<u64> {
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM recovery_codes \
                         WHERE user_id = $1 AND used_at IS NULL",
                    )
                    .bind(user.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(count.max(0) as u64)
                }

                async fn delete_recovery_codes(&self, user: &UserId) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_recovery_codes;
