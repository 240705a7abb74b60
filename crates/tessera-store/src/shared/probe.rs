//! [`StoreProbe`](crate::StoreProbe), the reads tests need, written once for every backend (see
//! the module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`StoreProbe`](crate::StoreProbe) implementation for `DbStore`.
macro_rules! impl_probe {
    () => {
        /// [`StoreProbe`]: plain reads on the pool, and the one bare delete.
        pub(crate) mod probe {
            use super::*;
            use tessera_core::{SessionId, ThrottleKey, ThrottleState};
            use $crate::{StoreError, StoreProbe, StoreResult};

            /// `SELECT count(*)` of a table.
            async fn count(store: &DbStore, sql: &str) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&store.pool)
                    .await
                    .map_err(db_err)?;
                Ok(count.unsigned_abs())
            }

            #[async_trait::async_trait]
            impl StoreProbe for DbStore {
                async fn count_revocations(&self) -> StoreResult<u64> {
                    count(self, "SELECT count(*) FROM revocations").await
                }

                async fn count_backchannel_deliveries(&self) -> StoreResult<u64> {
                    count(self, "SELECT count(*) FROM backchannel_deliveries").await
                }

                async fn list_queued_messages(
                    &self,
                ) -> StoreResult<Vec<(String, u32, Option<String>)>> {
                    let rows = sqlx::query(
                        "SELECT id, attempts, last_error FROM outbox \
                         ORDER BY created_at, id COLLATE \"C\"",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|row| {
                            let attempts: i64 = get(row, "attempts")?;
                            Ok((
                                get(row, "id")?,
                                u32::try_from(attempts).unwrap_or(u32::MAX),
                                get(row, "last_error")?,
                            ))
                        })
                        .collect()
                }

                async fn find_login_throttle(
                    &self,
                    key: &ThrottleKey,
                ) -> StoreResult<Option<ThrottleState>> {
                    let mut conn = self.pool.acquire().await.map_err(db_err)?;
                    super::login_throttles::read(&mut conn, key, "").await
                }

                async fn delete_session(&self, sid: &SessionId) -> StoreResult<()> {
                    let done = sqlx::query("DELETE FROM sessions WHERE sid = $1")
                        .bind(sid.as_str())
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

pub(crate) use impl_probe;
