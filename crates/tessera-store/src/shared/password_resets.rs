//! [`PasswordResetStore`](crate::PasswordResetStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`PasswordResetStore`](crate::PasswordResetStore) implementation for `DbStore`.
macro_rules! impl_password_resets {
    () => {
        /// [`PasswordResetStore`]: an upsert per user; using a link is one conditional
        /// `UPDATE … RETURNING`, which only one of racing submissions changes.
        pub(crate) mod password_resets {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{PasswordResetStore, StoreResult};
            use tessera_core::client::SecretHash;
            use tessera_core::{PasswordReset, UserId};
            use time::OffsetDateTime;

            #[async_trait::async_trait]
            impl PasswordResetStore for DbStore {
                async fn create_password_reset(&self, reset: &PasswordReset) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO password_resets (user_id, token_hash, created_at, \
                         expires_at, used_at) VALUES ($1, $2, $3, $4, NULL) \
                         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
                         created_at = excluded.created_at, expires_at = excluded.expires_at, \
                         used_at = NULL",
                    )
                    .bind(reset.user_id.as_str())
                    .bind(reset.token_hash.as_str())
                    .bind(to_secs(reset.created_at))
                    .bind(to_secs(reset.expires_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn find_password_reset(
                    &self,
                    token_hash: &SecretHash,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<PasswordReset>> {
                    let row = sqlx::query(
                        "SELECT user_id, token_hash, created_at, expires_at FROM password_resets \
                         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                    )
                    .bind(token_hash.as_str())
                    .bind(to_secs(now))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let what = "password reset";
                    Ok(Some(PasswordReset {
                        user_id: UserId::from_stored(get(&row, "user_id")?),
                        token_hash: SecretHash::from_stored(get(&row, "token_hash")?),
                        created_at: from_secs(get(&row, "created_at")?, what)?,
                        expires_at: from_secs(get(&row, "expires_at")?, what)?,
                    }))
                }

                async fn use_password_reset(
                    &self,
                    token_hash: &SecretHash,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<UserId>> {
                    let user: Option<String> = sqlx::query_scalar(
                        "UPDATE password_resets SET used_at = $1 \
                         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING user_id",
                    )
                    .bind(to_secs(now))
                    .bind(token_hash.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(user.map(UserId::from_stored))
                }

                async fn delete_expired_password_resets(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM password_resets WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_password_resets;
