//! [`ClientStore`](crate::ClientStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`ClientStore`](crate::ClientStore) implementation for `DbStore`.
macro_rules! impl_clients {
    () => {
        /// [`ClientStore`]: plain statements, no locking.
        pub(crate) mod clients {
            use super::*;
            use $crate::codec::{from_json, from_secs, to_json, to_secs};
            use $crate::{ClientStore, StoreError, StoreResult};
            use tessera_core::client::SecretHash;
            use tessera_core::{Client, ClientId, GrantType, Origin, RedirectUri, ScopeSet};

            const SELECT: &str = "SELECT id, name, secret_hash, redirect_uris, \
                                  post_logout_redirect_uris, grant_types, scopes, \
                                  is_first_party, backchannel_logout_uri, is_resource_server, \
                                  allowed_origins, require_pkce, require_mfa, created_at \
                                  FROM clients";

            #[async_trait::async_trait]
            impl ClientStore for DbStore {
                async fn create_client(&self, client: &Client) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO clients (id, name, secret_hash, redirect_uris, \
                         post_logout_redirect_uris, grant_types, scopes, is_first_party, \
                         backchannel_logout_uri, is_resource_server, allowed_origins, \
                         require_pkce, require_mfa, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(client.id.as_str())
                    .bind(&client.name)
                    .bind(client.secret_hash.as_ref().map(SecretHash::as_str))
                    .bind(to_json(client.redirect_uris.iter().map(RedirectUri::as_str))?)
                    .bind(to_json(
                        client
                            .post_logout_redirect_uris
                            .iter()
                            .map(RedirectUri::as_str),
                    )?)
                    .bind(to_json(client.grant_types.iter().map(GrantType::as_str))?)
                    .bind(to_json(client.scopes.iter())?)
                    .bind(client.is_first_party)
                    .bind(
                        client
                            .backchannel_logout_uri
                            .as_ref()
                            .map(RedirectUri::as_str),
                    )
                    .bind(client.is_resource_server)
                    .bind(to_json(client.allowed_origins.iter().map(Origin::as_str))?)
                    .bind(client.require_pkce)
                    .bind(client.require_mfa)
                    .bind(to_secs(client.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        Some(_) => {
                            StoreError::Conflict(format!("client {} already exists", client.id))
                        }
                        None => db_err(e),
                    })?;
                    Ok(())
                }

                async fn find_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                    let rows = sqlx::query(&format!("{SELECT} ORDER BY id COLLATE \"C\""))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(decode).collect()
                }

                async fn update_client_require_mfa(
                    &self,
                    id: &ClientId,
                    require_mfa: bool,
                ) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE clients SET require_mfa = $1 WHERE id = $2")
                        .bind(require_mfa)
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn delete_client(&self, id: &ClientId) -> StoreResult<()> {
                    let done = sqlx::query("DELETE FROM clients WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }
            }

            /// Rebuilds a client from its row. A row the domain would not accept (unknown
            /// grant type, malformed list) is a [`StoreError::Backend`], never a panic.
            fn decode(row: &Row) -> StoreResult<Client> {
                let id: String = get(row, "id")?;
                let what = |col: &str| format!("client {id:?}, column {col}");
                let uris = |col: &str| -> StoreResult<Vec<RedirectUri>> {
                    let text: String = get(row, col)?;
                    Ok(from_json(&text, &what(col))?
                        .into_iter()
                        .map(RedirectUri::from_stored)
                        .collect())
                };
                let grant_types =
                    from_json(&get::<String>(row, "grant_types")?, &what("grant_types"))?
                        .iter()
                        .map(|g| {
                            GrantType::parse(g).ok_or_else(|| {
                                StoreError::Backend(format!(
                                    "{}: unknown grant type {g:?}",
                                    what("grant_types")
                                ))
                            })
                        })
                        .collect::<StoreResult<Vec<_>>>()?;
                let scopes = ScopeSet::from_tokens(from_json(
                    &get::<String>(row, "scopes")?,
                    &what("scopes"),
                )?)
                .map_err(|e| StoreError::Backend(format!("{}: {e}", what("scopes"))))?;
                Ok(Client {
                    name: get(row, "name")?,
                    secret_hash: get::<Option<String>>(row, "secret_hash")?
                        .map(SecretHash::from_stored),
                    redirect_uris: uris("redirect_uris")?,
                    post_logout_redirect_uris: uris("post_logout_redirect_uris")?,
                    grant_types,
                    scopes,
                    is_first_party: get(row, "is_first_party")?,
                    backchannel_logout_uri: get::<Option<String>>(row, "backchannel_logout_uri")?
                        .map(RedirectUri::from_stored),
                    is_resource_server: get(row, "is_resource_server")?,
                    allowed_origins: from_json(
                        &get::<String>(row, "allowed_origins")?,
                        &what("allowed_origins"),
                    )?
                    .into_iter()
                    .map(Origin::from_stored)
                    .collect(),
                    require_pkce: get(row, "require_pkce")?,
                    require_mfa: get(row, "require_mfa")?,
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    id: ClientId::from_stored(id),
                })
            }
        }
    };
}

pub(crate) use impl_clients;
