//! [`SentCodeStore`](crate::SentCodeStore), written once for every backend (see the module
//! doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`SentCodeStore`](crate::SentCodeStore) implementation for `DbStore`.
macro_rules! impl_sent_codes {
    () => {
        /// [`SentCodeStore`]: replacing is an upsert; checking is two conditional statements,
        /// each atomic on its own: accept (and use up) the live code if the hash matches, else
        /// count a wrong try on the live code.
        pub(crate) mod sent_codes {
            use super::*;
            use $crate::codec::to_secs;
            use $crate::{SentCodeStore, StoreResult};
            use tessera_core::{CodeCheck, CodePurpose, SentCode, UserId};
            use time::OffsetDateTime;

            #[async_trait::async_trait]
            impl SentCodeStore for DbStore {
                async fn create_sent_code(&self, code: &SentCode) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO sent_codes (user_id, purpose, code_hash, created_at, \
                         expires_at, wrong_attempts, used_at) VALUES ($1, $2, $3, $4, $5, 0, NULL) \
                         ON CONFLICT (user_id, purpose) DO UPDATE SET \
                         code_hash = excluded.code_hash, created_at = excluded.created_at, \
                         expires_at = excluded.expires_at, wrong_attempts = 0, used_at = NULL",
                    )
                    .bind(code.user_id.as_str())
                    .bind(code.purpose.as_str())
                    .bind(&code.code_hash)
                    .bind(to_secs(code.created_at))
                    .bind(to_secs(code.expires_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn check_sent_code(
                    &self,
                    user: &UserId,
                    purpose: CodePurpose,
                    code_hash: &str,
                    now: OffsetDateTime,
                    max_wrong_attempts: u32,
                ) -> StoreResult<CodeCheck> {
                    // "Live": not used, not expired, tries left.
                    let accepted = sqlx::query(
                        "UPDATE sent_codes SET used_at = $1 \
                         WHERE user_id = $2 AND purpose = $3 AND code_hash = $4 \
                         AND used_at IS NULL AND expires_at > $1 AND wrong_attempts < $5",
                    )
                    .bind(to_secs(now))
                    .bind(user.as_str())
                    .bind(purpose.as_str())
                    .bind(code_hash)
                    .bind(i64::from(max_wrong_attempts))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?
                    .rows_affected()
                        == 1;
                    if accepted {
                        return Ok(CodeCheck::Accepted);
                    }
                    let wrong: Option<i64> = sqlx::query_scalar(
                        "UPDATE sent_codes SET wrong_attempts = wrong_attempts + 1 \
                         WHERE user_id = $1 AND purpose = $2 \
                         AND used_at IS NULL AND expires_at > $3 AND wrong_attempts < $4 \
                         RETURNING wrong_attempts",
                    )
                    .bind(user.as_str())
                    .bind(purpose.as_str())
                    .bind(to_secs(now))
                    .bind(i64::from(max_wrong_attempts))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(match wrong {
                        Some(wrong) => CodeCheck::Wrong {
                            tries_left: u32::try_from(i64::from(max_wrong_attempts) - wrong)
                                .unwrap_or(0),
                        },
                        None => CodeCheck::NoLiveCode,
                    })
                }

                async fn delete_expired_sent_codes(&self, now: OffsetDateTime) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM sent_codes WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_sent_codes;
