//! [`RevocationStore`] for SQLite.

use super::convert::{db_err, to_secs};
use super::SqliteStore;
use crate::{RevocationStore, StoreResult};
use time::OffsetDateTime;

#[async_trait::async_trait]
impl RevocationStore for SqliteStore {
    async fn revoke_access_token(&self, jti: &str, expires_at: OffsetDateTime) -> StoreResult<()> {
        // One statement: concurrent revocations of one token end with the later expiry.
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) \
             ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(to_secs(expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let row =
            sqlx::query("SELECT 1 FROM revoked_access_tokens WHERE jti = ? AND expires_at > ?")
                .bind(jti)
                .bind(to_secs(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn delete_expired_revocations(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at <= ?")
            .bind(to_secs(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
