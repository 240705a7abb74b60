//! [`AuditStore`](crate::AuditStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`AuditStore`](crate::AuditStore) implementation for `DbStore`, and
/// `insert_audit` for the revocation transactions.
macro_rules! impl_audit {
    () => {
        /// [`AuditStore`]. Appends run in a write transaction holding the backend's audit lock
        /// (`locks::audit`): audit ids are read like a feed, so they must commit in order.
        pub(crate) mod audit {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{AuditStore, StoreResult};
            use tessera_core::AuditEvent;

            const SELECT: &str =
                "SELECT id, at, actor, action, target, reason, detail FROM audit_events";

            /// Appends `event` on `conn`, which must be an open write transaction holding the
            /// audit lock (`backend::locks::audit`); returns its id.
            pub(crate) async fn insert_audit(conn: &mut Conn, event: &AuditEvent) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO audit_events (at, actor, action, target, reason, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(to_secs(event.at))
                .bind(&event.actor)
                .bind(&event.action)
                .bind(&event.target)
                .bind(event.reason.as_deref())
                .bind(&event.detail)
                .fetch_one(conn)
                .await
                .map_err(db_err)
            }

            #[async_trait::async_trait]
            impl AuditStore for DbStore {
                async fn append_audit(&self, event: &AuditEvent) -> StoreResult<i64> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    backend::locks::audit(&mut tx).await?;
                    let id = insert_audit(&mut tx, event).await?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(id)
                }

                async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditEvent>> {
                    let rows = sqlx::query(&format!(
                        "SELECT * FROM ({SELECT} ORDER BY id DESC LIMIT $1) AS recent ORDER BY id"
                    ))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(decode).collect()
                }

                async fn audit_after(&self, after: i64, limit: u32) -> StoreResult<Vec<AuditEvent>> {
                    let rows =
                        sqlx::query(&format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"))
                            .bind(after)
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await
                            .map_err(db_err)?;
                    rows.iter().map(decode).collect()
                }
            }

            fn decode(row: &Row) -> StoreResult<AuditEvent> {
                let id: i64 = get(row, "id")?;
                Ok(AuditEvent {
                    id,
                    at: from_secs(get(row, "at")?, &format!("audit event {id}, column at"))?,
                    actor: get(row, "actor")?,
                    action: get(row, "action")?,
                    target: get(row, "target")?,
                    reason: get(row, "reason")?,
                    detail: get(row, "detail")?,
                })
            }
        }
    };
}

pub(crate) use impl_audit;
