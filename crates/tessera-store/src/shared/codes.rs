//! [`CodeStore`](crate::CodeStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`CodeStore`](crate::CodeStore) implementation for `DbStore`.
macro_rules! impl_codes {
    () => {
        /// [`CodeStore`]. Redeeming is one conditional `UPDATE … RETURNING`, which decides by
        /// itself on both backends; storing a code locks its session
        /// (`backend::locks::FOR_KEY_SHARE`) so a revocation ending that session sees the
        /// client's participation or none.
        pub(crate) mod codes {
            use super::*;
            use $crate::codec::{
                from_json, from_secs, scope_from_json, scope_to_json, to_json, to_secs,
            };
            use $crate::{CodeStore, StoreError, StoreResult};
            use tessera_core::client::SecretHash;
            use tessera_core::{
                AuthorizationCode, ClientId, CodeChallenge, CodeRedemption, SessionId, UserId,
            };
            use time::OffsetDateTime;

            /// Every column but `redeemed_at`, which the domain type does not carry.
            const COLUMNS: &str = "code_hash, client_id, redirect_uri, redirect_uri_in_request, \
                                   user_id, sid, scope, nonce, code_challenge, auth_time, amr, \
                                   acr, family_id, access_token_jti, issued_at, expires_at";

            #[async_trait::async_trait]
            impl CodeStore for DbStore {
                async fn create_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // Hold the session (if it exists) against deletion until the commit: a
                    // revocation ending it waits for this transaction and then sees the
                    // participation recorded below, or has already deleted it and this records
                    // none. Without the lock, the participation's foreign-key check could fail
                    // on a session deleted meanwhile. (SQLite's write lock, held since BEGIN,
                    // already does this.)
                    let session_live = sqlx::query(&format!(
                        "SELECT 1 FROM sessions WHERE sid = $1{}",
                        backend::locks::FOR_KEY_SHARE
                    ))
                    .bind(code.sid.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .is_some();
                    sqlx::query(&format!(
                        "INSERT INTO authorization_codes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
                         $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                    ))
                    .bind(code.code_hash.as_str())
                    .bind(code.client_id.as_str())
                    .bind(&code.redirect_uri)
                    .bind(code.redirect_uri_in_request)
                    .bind(code.user_id.as_str())
                    .bind(code.sid.as_str())
                    .bind(scope_to_json(&code.scope)?)
                    .bind(code.nonce.as_deref())
                    .bind(code.code_challenge.as_ref().map(CodeChallenge::as_str))
                    .bind(to_secs(code.auth_time))
                    .bind(to_json(code.amr.iter().map(String::as_str))?)
                    .bind(code.acr.as_deref())
                    .bind(&code.family_id)
                    .bind(&code.access_token_jti)
                    .bind(to_secs(code.issued_at))
                    .bind(to_secs(code.expires_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        // The hash of a bearer secret is not echoed, not even into a log line.
                        Some(_) => StoreError::Conflict(
                            "an authorization code with that hash exists".into(),
                        ),
                        None => db_err(e),
                    })?;
                    if session_live {
                        sqlx::query(
                            "INSERT INTO session_clients (sid, client_id) VALUES ($1, $2) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(code.sid.as_str())
                        .bind(code.client_id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(())
                }

                async fn redeem_code(
                    &self,
                    code_hash: &SecretHash,
                    now: OffsetDateTime,
                ) -> StoreResult<CodeRedemption> {
                    // The conditional update is the whole decision. SQLite runs one writer at a
                    // time, so of concurrent redemptions exactly one finds `redeemed_at` still
                    // NULL; on PostgreSQL a concurrent redeemer waits for the winner's row lock,
                    // then re-checks `redeemed_at IS NULL` on the committed row (READ
                    // COMMITTED's re-check of an updated row) and matches nothing.
                    let first = sqlx::query(&format!(
                        "UPDATE authorization_codes SET redeemed_at = $1 \
                         WHERE code_hash = $2 AND redeemed_at IS NULL RETURNING {COLUMNS}"
                    ))
                    .bind(to_secs(now))
                    .bind(code_hash.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    if let Some(row) = first {
                        return Ok(CodeRedemption::First(decode(&row)?));
                    }
                    // Not redeemable now. `redeemed_at` is never cleared, so a row found here
                    // was redeemed before (a replay, counted: the increment is as atomic as the
                    // redemption); a row swept away in between is simply unknown.
                    let row = sqlx::query(&format!(
                        "UPDATE authorization_codes SET replays = replays + 1 \
                         WHERE code_hash = $1 RETURNING {COLUMNS}, replays"
                    ))
                    .bind(code_hash.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(match row {
                        Some(row) => CodeRedemption::Replayed {
                            code: decode(&row)?,
                            replays: get::<i64>(&row, "replays")?.unsigned_abs(),
                        },
                        None => CodeRedemption::Unknown,
                    })
                }

                async fn delete_expired_codes(&self, before: OffsetDateTime) -> StoreResult<u64> {
                    let done =
                        sqlx::query("DELETE FROM authorization_codes WHERE expires_at <= $1")
                            .bind(to_secs(before))
                            .execute(&self.pool)
                            .await
                            .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Rebuilds a code from its row; a malformed row is a [`StoreError::Backend`]. The
            /// hash is not quoted in messages: it is the stored form of a bearer secret.
            fn decode(row: &Row) -> StoreResult<AuthorizationCode> {
                let family_id: String = get(row, "family_id")?;
                let what = |col: &str| {
                    format!("authorization code of family {family_id:?}, column {col}")
                };
                Ok(AuthorizationCode {
                    code_hash: SecretHash::from_stored(get(row, "code_hash")?),
                    client_id: ClientId::from_stored(get(row, "client_id")?),
                    redirect_uri: get(row, "redirect_uri")?,
                    redirect_uri_in_request: get(row, "redirect_uri_in_request")?,
                    user_id: UserId::from_stored(get(row, "user_id")?),
                    sid: SessionId::from_stored(get(row, "sid")?),
                    scope: scope_from_json(&get::<String>(row, "scope")?, &what("scope"))?,
                    nonce: get(row, "nonce")?,
                    code_challenge: get::<Option<String>>(row, "code_challenge")?
                        .map(CodeChallenge::from_stored),
                    auth_time: from_secs(get(row, "auth_time")?, &what("auth_time"))?,
                    amr: from_json(&get::<String>(row, "amr")?, &what("amr"))?,
                    acr: get(row, "acr")?,
                    access_token_jti: get(row, "access_token_jti")?,
                    issued_at: from_secs(get(row, "issued_at")?, &what("issued_at"))?,
                    expires_at: from_secs(get(row, "expires_at")?, &what("expires_at"))?,
                    family_id,
                })
            }
        }
    };
}

pub(crate) use impl_codes;
