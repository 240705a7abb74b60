//! [`BackchannelStore`](crate::BackchannelStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`BackchannelStore`](crate::BackchannelStore) implementation for `DbStore`.
macro_rules! impl_backchannel {
    () => {
        /// [`BackchannelStore`]. Claiming reads due deliveries with the backend's claim lock
        /// (`backend::locks::CLAIM_DELIVERIES`) inside a write transaction, so two workers
        /// never lease one delivery.
        pub(crate) mod backchannel {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{BackchannelStore, StoreError, StoreResult};
            use tessera_core::{BackchannelDelivery, ClientId, SessionId, UserId};
            use time::OffsetDateTime;

            #[async_trait::async_trait]
            impl BackchannelStore for DbStore {
                async fn claim_backchannel_deliveries(
                    &self,
                    now: OffsetDateTime,
                    lease_until: OffsetDateTime,
                    limit: u32,
                ) -> StoreResult<Vec<BackchannelDelivery>> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    let rows = sqlx::query(&format!(
                        "SELECT d.id, d.client_id, c.backchannel_logout_uri AS uri, d.user_id, \
                         d.sid, d.jti, d.created_at, d.attempts FROM backchannel_deliveries d \
                         JOIN clients c ON c.id = d.client_id \
                         WHERE d.next_attempt_at <= $1 ORDER BY d.id LIMIT $2{}",
                        backend::locks::CLAIM_DELIVERIES
                    ))
                    .bind(to_secs(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let mut claimed = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id: i64 = get(row, "id")?;
                        let Some(uri) = get::<Option<String>>(row, "uri")? else {
                            // The client dropped its back-channel logout URI since the session
                            // ended.
                            sqlx::query("DELETE FROM backchannel_deliveries WHERE id = $1")
                                .bind(id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                            continue;
                        };
                        sqlx::query(
                            "UPDATE backchannel_deliveries SET attempts = attempts + 1, \
                             next_attempt_at = $1 WHERE id = $2",
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
                                StoreError::Backend(format!(
                                    "back-channel delivery {id}: attempts {attempts}"
                                ))
                            })?,
                        });
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(claimed)
                }

                async fn finish_backchannel_delivery(&self, id: i64) -> StoreResult<()> {
                    sqlx::query("DELETE FROM backchannel_deliveries WHERE id = $1")
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
                        "UPDATE backchannel_deliveries SET next_attempt_at = $1, last_error = $2 \
                         WHERE id = $3",
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
            }
        }
    };
}

pub(crate) use impl_backchannel;
