//! [`KeyStore`] for PostgreSQL. Every change to the keys notifies the other nodes
//! ([`StoreChange::SigningKeys`], queued inside the changing transaction; see `notify.rs`), so
//! they re-read their key ring at once.

use super::convert::{db_err, from_secs, get, to_secs, unique_violation};
use super::{notify, PostgresStore};
use crate::{KeyStore, StoreChange, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use tessera_core::SigningKeyRecord;
use time::OffsetDateTime;

/// Inserts `key` on `conn` (a pooled connection or an open transaction).
async fn insert(conn: &mut PgConnection, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, sealed_private_key, created_at, rotated_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.sealed_private_key)
    .bind(to_secs(key.created_at))
    .bind(key.rotated_at.map(to_secs))
    .bind(key.expires_at.map(to_secs))
    .execute(conn)
    .await
    .map_err(|e| match unique_violation(&e) {
        Some(_) => StoreError::Conflict(format!("signing key {} already exists", key.kid)),
        None => db_err(e),
    })?;
    Ok(())
}

#[async_trait::async_trait]
impl KeyStore for PostgresStore {
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, created_at, rotated_at, expires_at \
             FROM signing_keys ORDER BY created_at, kid COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(decode).collect()
    }

    async fn create_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert(&mut tx, key).await?;
        notify::queue(&mut tx, StoreChange::SigningKeys).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Two rotations of one algorithm must not overlap: under READ COMMITTED the second's
        // UPDATE would not see the first's uncommitted new key, leave it active, and add its
        // own. SHARE ROW EXCLUSIVE conflicts with itself and with every other write to the
        // table, but not with readers; rotations are rare.
        sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE signing_keys SET rotated_at = $1, expires_at = $2 \
             WHERE alg = $3 AND rotated_at IS NULL",
        )
        .bind(to_secs(now))
        .bind(to_secs(expires_at))
        .bind(&new.alg)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // On error the transaction is dropped uncommitted, which rolls the update back.
        insert(&mut tx, new).await?;
        // Delivered to other nodes when (and only if) the rotation commits.
        notify::queue(&mut tx, StoreChange::SigningKeys).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_expired_signing_keys(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let deleted = sqlx::query(
            "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1",
        )
        .bind(to_secs(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        // Only a real change wakes the other nodes (each of them sweeps periodically too).
        if deleted > 0 {
            notify::queue(&mut tx, StoreChange::SigningKeys).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(deleted)
    }
}

/// Rebuilds a key record from its row; a malformed row is a [`StoreError::Backend`].
fn decode(row: &PgRow) -> StoreResult<SigningKeyRecord> {
    let kid: String = get(row, "kid")?;
    let what = |col: &str| format!("signing key {kid:?}, column {col}");
    let opt = |col: &str| -> StoreResult<Option<OffsetDateTime>> {
        get::<Option<i64>>(row, col)?
            .map(|secs| from_secs(secs, &what(col)))
            .transpose()
    };
    Ok(SigningKeyRecord {
        alg: get(row, "alg")?,
        sealed_private_key: get(row, "sealed_private_key")?,
        created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
        rotated_at: opt("rotated_at")?,
        expires_at: opt("expires_at")?,
        kid,
    })
}
