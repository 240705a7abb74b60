//! [`KeyStore`] for SQLite.

use super::convert::{db_err, from_secs, get, to_secs, unique_violation};
use super::SqliteStore;
use crate::{KeyStore, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;
use tessera_core::SigningKeyRecord;
use time::OffsetDateTime;

/// Inserts `key` on `conn` (a pooled connection or an open transaction).
async fn insert(conn: &mut SqliteConnection, key: &SigningKeyRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, sealed_private_key, created_at, rotated_at, \
         expires_at) VALUES (?, ?, ?, ?, ?, ?)",
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
impl KeyStore for SqliteStore {
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, created_at, rotated_at, expires_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(decode).collect()
    }

    async fn create_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert(&mut conn, key).await
    }

    async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        // IMMEDIATE takes the write lock up front, so the busy timeout applies to waiting for
        // it instead of failing at the first write of a deferred transaction.
        let (_writer, mut tx) = self.begin_immediate().await?;
        sqlx::query(
            "UPDATE signing_keys SET rotated_at = ?, expires_at = ? \
             WHERE alg = ? AND rotated_at IS NULL",
        )
        .bind(to_secs(now))
        .bind(to_secs(expires_at))
        .bind(&new.alg)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // On error the transaction is dropped uncommitted, which rolls the update back.
        insert(&mut tx, new).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_expired_signing_keys(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= ?",
        )
        .bind(to_secs(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

/// Rebuilds a key record from its row; a malformed row is a [`StoreError::Backend`].
fn decode(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
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
