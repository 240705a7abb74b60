//! [`LoginRequestStore`](crate::LoginRequestStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`LoginRequestStore`](crate::LoginRequestStore) implementation for `DbStore`.
macro_rules! impl_login_requests {
    () => {
        /// [`LoginRequestStore`]: plain statements; taking is one `DELETE … RETURNING`.
        pub(crate) mod login_requests {
            use super::*;
            use $crate::codec::{
                from_json, from_secs, proofs_from_json, proofs_to_json, scope_from_json,
                scope_to_json, to_json, to_secs,
            };
            use $crate::{LoginRequestStore, StoreError, StoreResult};
            use tessera_core::client::SecretHash;
            use tessera_core::{
                AuthorizationRequest, ClientId, CodeChallenge, Continuation, PendingSignIn, Stage,
                UserId,
            };
            use time::OffsetDateTime;

            const COLUMNS: &str = "id, csrf_hash, client_id, redirect_uri, \
                                   redirect_uri_in_request, scope, state, nonce, code_challenge, \
                                   prompt_login, prompt_consent, max_age, acr_values, \
                                   login_hint, created_at, expires_at, stage, user_id, proofs, \
                                   acr_essential";

            #[async_trait::async_trait]
            impl LoginRequestStore for DbStore {
                async fn create_login_request(&self, request: &PendingSignIn) -> StoreResult<()> {
                    let Continuation::Oidc(auth) = &request.continuation;
                    sqlx::query(&format!(
                        "INSERT INTO login_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
                         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
                    ))
                    .bind(&request.id)
                    .bind(request.csrf_hash.as_str())
                    .bind(auth.client_id.as_str())
                    .bind(&auth.redirect_uri)
                    .bind(auth.redirect_uri_in_request)
                    .bind(scope_to_json(&auth.scope)?)
                    .bind(auth.state.as_deref())
                    .bind(auth.nonce.as_deref())
                    .bind(auth.code_challenge.as_ref().map(CodeChallenge::as_str))
                    .bind(auth.prompt_login)
                    .bind(auth.prompt_consent)
                    .bind(auth.max_age)
                    .bind(to_json(auth.acr_values.iter().map(String::as_str))?)
                    .bind(auth.login_hint.as_deref())
                    .bind(to_secs(request.created_at))
                    .bind(to_secs(request.expires_at))
                    .bind(request.stage.as_str())
                    .bind(request.user_id.as_ref().map(UserId::as_str))
                    .bind(proofs_to_json(&request.proofs)?)
                    .bind(auth.acr_essential)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        Some(_) => StoreError::Conflict(format!(
                            "login request {} already exists",
                            request.id
                        )),
                        None => db_err(e),
                    })?;
                    Ok(())
                }

                async fn find_login_request(&self, id: &str) -> StoreResult<Option<PendingSignIn>> {
                    let row = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM login_requests WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn take_login_request(&self, id: &str) -> StoreResult<Option<PendingSignIn>> {
                    // One statement: only the taker whose DELETE removed the row gets it back. A
                    // row that cannot be decoded is consumed all the same (and reported): it
                    // could never be served.
                    let row = sqlx::query(&format!(
                        "DELETE FROM login_requests WHERE id = $1 RETURNING {COLUMNS}"
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn delete_expired_login_requests(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM login_requests WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Rebuilds a pending sign-in from its row; a malformed row is a
            /// [`StoreError::Backend`].
            fn decode(row: &Row) -> StoreResult<PendingSignIn> {
                let id: String = get(row, "id")?;
                let what = |col: &str| format!("login request {id:?}, column {col}");
                let request = AuthorizationRequest {
                    client_id: ClientId::from_stored(get(row, "client_id")?),
                    redirect_uri: get(row, "redirect_uri")?,
                    redirect_uri_in_request: get(row, "redirect_uri_in_request")?,
                    scope: scope_from_json(&get::<String>(row, "scope")?, &what("scope"))?,
                    state: get(row, "state")?,
                    nonce: get(row, "nonce")?,
                    code_challenge: get::<Option<String>>(row, "code_challenge")?
                        .map(CodeChallenge::from_stored),
                    prompt_login: get(row, "prompt_login")?,
                    prompt_consent: get(row, "prompt_consent")?,
                    max_age: get(row, "max_age")?,
                    acr_values: from_json(&get::<String>(row, "acr_values")?, &what("acr_values"))?,
                    acr_essential: get(row, "acr_essential")?,
                    login_hint: get(row, "login_hint")?,
                };
                let stage: String = get(row, "stage")?;
                Ok(PendingSignIn {
                    csrf_hash: SecretHash::from_stored(get(row, "csrf_hash")?),
                    stage: Stage::parse(&stage).ok_or_else(|| {
                        StoreError::Backend(format!("{}: unknown {stage:?}", what("stage")))
                    })?,
                    user_id: get::<Option<String>>(row, "user_id")?.map(UserId::from_stored),
                    proofs: proofs_from_json(&get::<String>(row, "proofs")?, &what("proofs"))?,
                    continuation: Continuation::Oidc(request),
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    expires_at: from_secs(get(row, "expires_at")?, &what("expires_at"))?,
                    id,
                })
            }
        }
    };
}

pub(crate) use impl_login_requests;
