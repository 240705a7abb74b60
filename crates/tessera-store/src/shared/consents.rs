//! [`ConsentStore`](crate::ConsentStore), written once for every backend (see the module doc
//! of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`ConsentStore`](crate::ConsentStore) implementation for `DbStore`.
macro_rules! impl_consents {
    () => {
        /// [`ConsentStore`]: plain statements; saving is an upsert.
        pub(crate) mod consents {
            use super::*;
            use $crate::codec::{from_secs, scope_from_json, scope_to_json, to_secs};
            use $crate::{ConsentStore, StoreResult};
            use tessera_core::{ClientId, Consent, UserId};

            #[async_trait::async_trait]
            impl ConsentStore for DbStore {
                async fn find_consent(
                    &self,
                    user: &UserId,
                    client: &ClientId,
                ) -> StoreResult<Option<Consent>> {
                    let row = sqlx::query(
                        "SELECT user_id, client_id, scope, granted_at FROM consents \
                         WHERE user_id = $1 AND client_id = $2",
                    )
                    .bind(user.as_str())
                    .bind(client.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn save_consent(&self, consent: &Consent) -> StoreResult<()> {
                    // An upsert, so two concurrent saves for one pair cannot collide on the
                    // primary key.
                    sqlx::query(
                        "INSERT INTO consents (user_id, client_id, scope, granted_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
                         DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                    )
                    .bind(consent.user_id.as_str())
                    .bind(consent.client_id.as_str())
                    .bind(scope_to_json(&consent.scope)?)
                    .bind(to_secs(consent.granted_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }
            }

            /// Rebuilds a consent from its row; a malformed row is a
            /// [`StoreError::Backend`]($crate::StoreError::Backend).
            fn decode(row: &Row) -> StoreResult<Consent> {
                let user_id: String = get(row, "user_id")?;
                let client_id: String = get(row, "client_id")?;
                let what = |col: &str| {
                    format!("consent of user {user_id:?} for {client_id:?}, column {col}")
                };
                Ok(Consent {
                    scope: scope_from_json(&get::<String>(row, "scope")?, &what("scope"))?,
                    granted_at: from_secs(get(row, "granted_at")?, &what("granted_at"))?,
                    user_id: UserId::from_stored(user_id),
                    client_id: ClientId::from_stored(client_id),
                })
            }
        }
    };
}

pub(crate) use impl_consents;
