//! [`AuditStore`] for PostgreSQL.

use super::convert::{db_err, from_secs, get, to_secs};
use super::locks;
use super::PostgresStore;
use crate::{AuditStore, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use tessera_core::AuditEvent;

const SELECT: &str = "SELECT id, at, actor, action, target, reason, detail FROM audit_events";

/// Appends `event` on `conn`, which must be an open transaction holding the audit lock
/// ([`locks::audit`]); returns its id.
pub(super) async fn insert_audit(conn: &mut PgConnection, event: &AuditEvent) -> StoreResult<i64> {
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
impl AuditStore for PostgresStore {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        locks::audit(&mut tx).await?;
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
        let rows = sqlx::query(&format!("{SELECT} WHERE id > $1 ORDER BY id LIMIT $2"))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &PgRow) -> StoreResult<AuditEvent> {
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
