//! [`BackchannelStore`] for SQLite.

use super::convert::{db_err, from_secs, get, to_secs};
use super::SqliteStore;
use crate::{BackchannelStore, StoreError, StoreResult};
use tessera_core::{BackchannelDelivery, ClientId, SessionId, UserId};
use time::OffsetDateTime;

#[async_trait::async_trait]
impl BackchannelStore for SqliteStore {
    async fn claim_backchannel_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<BackchannelDelivery>> {
        let (_writer, mut tx) = self.begin_immediate().await?;
        let rows = sqlx::query(
            "SELECT d.id, d.client_id, c.backchannel_logout_uri AS uri, d.user_id, d.sid, d.jti, \
             d.created_at, d.attempts FROM backchannel_deliveries d \
             JOIN clients c ON c.id = d.client_id \
             WHERE d.next_attempt_at <= ? ORDER BY d.id LIMIT ?",
        )
        .bind(to_secs(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = get(row, "id")?;
            let Some(uri) = get::<Option<String>>(row, "uri")? else {
                // The client dropped its back-channel logout URI since the session ended.
                sqlx::query("DELETE FROM backchannel_deliveries WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                continue;
            };
            sqlx::query(
                "UPDATE backchannel_deliveries SET attempts = attempts + 1, next_attempt_at = ? \
                 WHERE id = ?",
            )
            .bind(to_secs(lease_until))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let attempts: i64 = get(row, "attempts")?;
            claimed.push(BackchannelDelivery {
                id,
                client_id: ClientId::from_stored(get(row, "client_id")?),
                uri,
                user_id: UserId::from_stored(get(row, "user_id")?),
                sid: SessionId::from_stored(get(row, "sid")?),
                jti: get(row, "jti")?,
                created_at: from_secs(
                    get(row, "created_at")?,
                    &format!("back-channel delivery {id}, column created_at"),
                )?,
                attempts: u32::try_from(attempts + 1).map_err(|_| {
                    StoreError::Backend(format!("back-channel delivery {id}: attempts {attempts}"))
                })?,
            });
        }
        tx.commit().await.map_err(db_err)?;
        Ok(claimed)
    }

    async fn finish_backchannel_delivery(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM backchannel_deliveries WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn retry_backchannel_delivery(
        &self,
        id: i64,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE backchannel_deliveries SET next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(to_secs(next_attempt_at))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_backchannel_deliveries(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM backchannel_deliveries")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count.unsigned_abs())
    }
}
