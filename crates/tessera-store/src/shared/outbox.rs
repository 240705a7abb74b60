//! [`OutboxStore`](crate::OutboxStore), written once for every backend (see the module
//! doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`OutboxStore`](crate::OutboxStore) implementation for `DbStore`.
macro_rules! impl_outbox {
    () => {
        /// [`OutboxStore`]. Claiming reads due messages with the backend's claim lock
        /// (`backend::locks::CLAIM_MESSAGES`) inside a write transaction and moves their
        /// `next_attempt_at` to the lease's end, so two workers never claim one message.
        pub(crate) mod outbox {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{OutboxStore, StoreError, StoreResult};
            use tessera_core::{OutgoingMessage, Recipient};
            use time::OffsetDateTime;

            #[async_trait::async_trait]
            impl OutboxStore for DbStore {
                async fn enqueue_message(&self, mail: &OutgoingMessage) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO outbox (id, channel, recipient, subject, sealed_body, \
                         created_at, attempts, next_attempt_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
                    )
                    .bind(&mail.id)
                    .bind(mail.recipient.channel())
                    .bind(mail.recipient.address())
                    .bind(&mail.subject)
                    .bind(&mail.sealed_body)
                    .bind(to_secs(mail.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn claim_messages(
                    &self,
                    now: OffsetDateTime,
                    lease_until: OffsetDateTime,
                    limit: u32,
                ) -> StoreResult<Vec<OutgoingMessage>> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    let rows = sqlx::query(&format!(
                        "SELECT id, channel, recipient, subject, sealed_body, created_at, attempts \
                         FROM outbox WHERE next_attempt_at <= $1 \
                         ORDER BY created_at, id COLLATE \"C\" LIMIT $2{}",
                        backend::locks::CLAIM_MESSAGES
                    ))
                    .bind(to_secs(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let mut claimed = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let id: String = get(row, "id")?;
                        sqlx::query(
                            "UPDATE outbox SET attempts = attempts + 1, \
                             next_attempt_at = $1 WHERE id = $2",
                        )
                        .bind(to_secs(lease_until))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                        let attempts: i64 = get(row, "attempts")?;
                        let what = format!("outbox message {id}");
                        let channel: String = get(row, "channel")?;
                        let recipient = Recipient::from_stored(&channel, get(row, "recipient")?)
                            .ok_or_else(|| {
                                StoreError::Backend(format!("{what}: unknown channel {channel:?}"))
                            })?;
                        claimed.push(OutgoingMessage {
                            recipient,
                            subject: get(row, "subject")?,
                            sealed_body: get(row, "sealed_body")?,
                            created_at: from_secs(get(row, "created_at")?, &what)?,
                            attempts: u32::try_from(attempts + 1).map_err(|_| {
                                StoreError::Backend(format!("{what}: attempts {attempts}"))
                            })?,
                            id,
                        });
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(claimed)
                }

                async fn finish_message(&self, id: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM outbox WHERE id = $1")
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn retry_message(
                    &self,
                    id: &str,
                    next_attempt_at: OffsetDateTime,
                    error: &str,
                ) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE outbox SET next_attempt_at = $1, last_error = $2 \
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

pub(crate) use impl_outbox;
