//! [`KeyStore`](crate::KeyStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`KeyStore`](crate::KeyStore) implementation for `DbStore`.
macro_rules! impl_keys {
    () => {
        /// [`KeyStore`]. Every change runs in a write transaction that queues a
        /// [`StoreChange::SigningKeys`] notification (`backend::notify::queue`; delivered only
        /// if it commits), so other nodes re-read their key ring at once. A rotation holds the
        /// backend's signing-key lock (`backend::locks::signing_keys`): two rotations of one
        /// algorithm must not both leave their key active.
        pub(crate) mod keys {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{KeyStore, StoreChange, StoreError, StoreResult};
            use tessera_core::SigningKeyRecord;
            use time::OffsetDateTime;

            /// Inserts `key` on `conn` (an open transaction).
            async fn insert(conn: &mut Conn, key: &SigningKeyRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, alg, sealed_private_key, created_at, \
                     rotated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
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
                    Some(_) => {
                        StoreError::Conflict(format!("signing key {} already exists", key.kid))
                    }
                    None => db_err(e),
                })?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl KeyStore for DbStore {
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
                    let (_writer, mut tx) = self.begin_write().await?;
                    insert(&mut tx, key).await?;
                    backend::notify::queue(&mut tx, StoreChange::SigningKeys).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn rotate_signing_key(
                    &self,
                    new: &SigningKeyRecord,
                    now: OffsetDateTime,
                    expires_at: OffsetDateTime,
                ) -> StoreResult<()> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    backend::locks::signing_keys(&mut tx).await?;
                    sqlx::query(
                        "UPDATE signing_keys SET rotated_at = coalesce(rotated_at, $1), \
                         expires_at = $2 WHERE alg = $3 AND (rotated_at IS NULL \
                         OR ($2 <= $1 AND expires_at > $2))",
                    )
                    .bind(to_secs(now))
                    .bind(to_secs(expires_at))
                    .bind(&new.alg)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    // On error the transaction is dropped uncommitted, which rolls the update
                    // back.
                    insert(&mut tx, new).await?;
                    backend::notify::queue(&mut tx, StoreChange::SigningKeys).await?;
                    tx.commit().await.map_err(db_err)
                }

                async fn delete_expired_signing_keys(&self, now: OffsetDateTime) -> StoreResult<u64> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    let deleted = sqlx::query(
                        "DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1",
                    )
                    .bind(to_secs(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                    // Only a real change wakes the other nodes (each of them sweeps
                    // periodically too).
                    if deleted > 0 {
                        backend::notify::queue(&mut tx, StoreChange::SigningKeys).await?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(deleted)
                }
            }

            /// Rebuilds a key record from its row; a malformed row is a
            /// [`StoreError::Backend`].
            fn decode(row: &Row) -> StoreResult<SigningKeyRecord> {
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
        }
    };
}

pub(crate) use impl_keys;
