//! [`TotpStore`](crate::TotpStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`TotpStore`](crate::TotpStore) implementation for `DbStore`.
macro_rules! impl_totp_factors {
    () => {
        /// [`TotpStore`]: the one-use rule is a conditional `UPDATE` (a compare-and-swap on
        /// `last_used_step`), which both backends apply atomically row by row; confirming is a
        /// write transaction, so the old factor goes exactly when the new one counts.
        pub(crate) mod totp_factors {
            use super::*;
            use tessera_core::{TotpFactor, UserId};
            use time::OffsetDateTime;
            use $crate::codec::{from_opt_secs, from_secs, to_secs};
            use $crate::{StoreError, StoreResult, TotpStore};

            const COLUMNS: &str =
                "id, user_id, sealed_seed, confirmed_at, last_used_step, created_at";

            #[async_trait::async_trait]
            impl TotpStore for DbStore {
                async fn create_totp_enrolment(&self, enrolment: &TotpFactor) -> StoreResult<()> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    sqlx::query(
                        "DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL",
                    )
                    .bind(enrolment.user_id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    sqlx::query(&format!(
                        "INSERT INTO totp_factors ({COLUMNS}) VALUES ($1, $2, $3, NULL, NULL, $4)"
                    ))
                    .bind(&enrolment.id)
                    .bind(enrolment.user_id.as_str())
                    .bind(&enrolment.sealed_seed)
                    .bind(to_secs(enrolment.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        Some(_) => StoreError::Conflict(format!(
                            "a TOTP enrolment of user {} is being created concurrently",
                            enrolment.user_id.as_str()
                        )),
                        None => db_err(e),
                    })?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(())
                }

                async fn find_totp_enrolment(
                    &self,
                    user: &UserId,
                    id: &str,
                ) -> StoreResult<Option<TotpFactor>> {
                    let row = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM totp_factors \
                         WHERE id = $1 AND user_id = $2 AND confirmed_at IS NULL"
                    ))
                    .bind(id)
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn confirm_totp_enrolment(
                    &self,
                    user: &UserId,
                    id: &str,
                    step: i64,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // The old factor goes first: the unique index allows one confirmed row.
                    // If the enrolment is gone, the rollback below keeps the old factor.
                    sqlx::query(
                        "DELETE FROM totp_factors \
                         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND id <> $2",
                    )
                    .bind(user.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let confirmed = sqlx::query(
                        "UPDATE totp_factors SET confirmed_at = $1, last_used_step = $2 \
                         WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL",
                    )
                    .bind(to_secs(now))
                    .bind(step)
                    .bind(id)
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected()
                        == 1;
                    if confirmed {
                        tx.commit().await.map_err(db_err)?;
                    } else {
                        tx.rollback().await.map_err(db_err)?;
                    }
                    Ok(confirmed)
                }

                async fn find_totp_factor(&self, user: &UserId) -> StoreResult<Option<TotpFactor>> {
                    let row = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM totp_factors \
                         WHERE user_id = $1 AND confirmed_at IS NOT NULL"
                    ))
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool> {
                    // One conditional statement: of two requests with the same code, the
                    // second finds last_used_step already at `step` and changes nothing.
                    let done = sqlx::query(
                        "UPDATE totp_factors SET last_used_step = $1 \
                         WHERE id = $2 AND confirmed_at IS NOT NULL \
                         AND (last_used_step IS NULL OR last_used_step < $1)",
                    )
                    .bind(step)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_totp_factors(&self, user: &UserId) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }

                async fn delete_stale_totp_enrolments(
                    &self,
                    before: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query(
                        "DELETE FROM totp_factors \
                         WHERE confirmed_at IS NULL AND created_at <= $1",
                    )
                    .bind(to_secs(before))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Rebuilds a factor from its row; a malformed row is a
            /// [`StoreError::Backend`]($crate::StoreError::Backend).
            fn decode(row: &Row) -> StoreResult<TotpFactor> {
                let id: String = get(row, "id")?;
                let what = |col: &str| format!("TOTP factor {id:?}, column {col}");
                Ok(TotpFactor {
                    user_id: UserId::from_stored(get(row, "user_id")?),
                    sealed_seed: get(row, "sealed_seed")?,
                    confirmed_at: from_opt_secs(get(row, "confirmed_at")?, &what("confirmed_at"))?,
                    last_used_step: get(row, "last_used_step")?,
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    id,
                })
            }
        }
    };
}

pub(crate) use impl_totp_factors;
