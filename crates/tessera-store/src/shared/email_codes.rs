//! [`EmailCodeStore`](crate::EmailCodeStore), written once for every backend (see the module
//! doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`EmailCodeStore`](crate::EmailCodeStore) implementation for `DbStore`.
macro_rules! impl_email_codes {
    () => {
        /// [`EmailCodeStore`]: replacing is an upsert; checking is two conditional statements,
        /// each atomic on its own: accept (and use up) the live code if the hash matches, else
        /// count a wrong try on the live code.
        pub(crate) mod email_codes {
            use super::*;
            use $crate::codec::to_secs;
            use $crate::{EmailCodeStore, StoreResult};
            use tessera_core::{CodeCheck, CodePurpose, EmailCode, UserId};
            use time::OffsetDateTime;

            #[async_trait::async_trait]
            impl EmailCodeStore for DbStore {
                async fn create_email_code(&self, code: &EmailCode) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO email_codes (user_id, purpose, code_hash, created_at, \
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

                async fn check_email_code(
                    &self,
                    user: &UserId,
                    purpose: CodePurpose,
                    code_hash: &str,
                    now: OffsetDateTime,
                    max_wrong_attempts: u32,
                ) -> StoreResult<CodeCheck> {
                    // "Live": not used, not expired, tries left.
                    let accepted = sqlx::query(
                        "UPDATE email_codes SET used_at = $1 \
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
                        "UPDATE email_codes SET wrong_attempts = wrong_attempts + 1 \
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

                async fn delete_expired_email_codes(&self, now: OffsetDateTime) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM email_codes WHERE expires_at <= $1")
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

pub(crate) use impl_email_codes;
