//! [`RefreshTokenStore`](crate::RefreshTokenStore) and [`SeedStore`](crate::SeedStore),
//! written once for every backend (see the module doc of [`crate::shared`] for the names an
//! expansion needs).
//!
//! What presenting a token means is decided in the core
//! ([`StoredRefreshToken::presented_at`](tessera_core::StoredRefreshToken::presented_at)); this
//! makes the decision and its writes one transaction. The backends differ only in the locks
//! they take first (`backend::locks`): SQLite's write lock, held from `BEGIN IMMEDIATE`, orders
//! everything; PostgreSQL takes the revocation lock shared and the families' advisory locks,
//! and reads the presented token `FOR UPDATE`.

/// Expands to the [`RefreshTokenStore`](crate::RefreshTokenStore) and
/// [`SeedStore`](crate::SeedStore) implementations for `DbStore`.
macro_rules! impl_refresh_tokens {
    () => {
        /// [`RefreshTokenStore`] and [`SeedStore`].
        pub(crate) mod refresh_tokens {
            use super::*;
            use $crate::codec::{
                from_json, from_opt_secs, from_secs, scope_from_json, scope_to_json, to_json,
                to_secs,
            };
            use $crate::{
                FamilyRevocation, RefreshTokenStore, SeedStore, SignedInUser, StoreError,
                StoreResult,
            };
            use tessera_core::client::SecretHash;
            use tessera_core::{
                ClientId, IssuedAccessToken, RefreshPresentation, RefreshRotation, RefreshToken,
                RevocationReason, SessionId, StoredRefreshToken, UserId,
            };
            use time::OffsetDateTime;

            const SELECT: &str = "SELECT token_hash, family_id, client_id, user_id, sid, scope, \
                                  auth_time, amr, acr, issued_at, idle_expires_at, \
                                  absolute_expires_at, access_token_jti, \
                                  access_token_expires_at, rotated_at, revoked_at \
                                  FROM refresh_tokens";

            /// Inserts `token` on `conn`: current, unless its family is recorded as revoked, or
            /// a revocation entry covers it (its session, or a user or global entry whose
            /// `not_before` is after its `issued_at`), in which case it is stored revoked with
            /// that `revoked_at`. Returns whether it was stored current.
            ///
            /// `conn` must be an open write transaction that took
            /// `backend::locks::refresh_tokens` for `token`'s family: the statement's check
            /// reads only what was committed when it started, and the lock makes sure that no
            /// family revocation or revocation entry can commit between the check and this
            /// transaction's commit. (A family nobody else can know yet, as `SeedStore` creates
            /// them, needs only `backend::locks::new_refresh_families`: no one can be revoking
            /// it.)
            pub(crate) async fn insert(conn: &mut Conn, token: &RefreshToken) -> StoreResult<bool> {
                let row = sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, sid, \
                     scope, auth_time, amr, acr, issued_at, idle_expires_at, \
                     absolute_expires_at, access_token_jti, access_token_expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, coalesce( \
                     (SELECT revoked_at FROM revoked_refresh_families WHERE family_id = $2), \
                     (SELECT min(revoked_at) FROM revocations WHERE sid = $5 \
                      OR (kind = 'credential-change' AND user_id = $4 AND not_before > $10) \
                      OR (kind = 'global-revoked' AND not_before > $10)))) \
                     RETURNING revoked_at IS NULL AS live",
                )
                .bind(token.token_hash.as_str())
                .bind(&token.family_id)
                .bind(token.client_id.as_str())
                .bind(token.user_id.as_str())
                .bind(token.sid.as_str())
                .bind(scope_to_json(&token.scope)?)
                .bind(to_secs(token.auth_time))
                .bind(to_json(token.amr.iter().map(String::as_str))?)
                .bind(token.acr.as_deref())
                .bind(to_secs(token.issued_at))
                .bind(to_secs(token.idle_expires_at))
                .bind(to_secs(token.absolute_expires_at))
                .bind(token.access_token.as_ref().map(|a| a.jti.as_str()))
                .bind(token.access_token.as_ref().map(|a| to_secs(a.expires_at)))
                .fetch_one(conn)
                .await
                .map_err(|e| match unique_violation(&e) {
                    // The hash of a bearer secret is not echoed, not even into a log line.
                    Some(_) => StoreError::Conflict("a refresh token with that hash exists".into()),
                    None => db_err(e),
                })?;
                get(&row, "live")
            }

            /// Revokes the grant `family_id` at `now` on `conn`, which must be an open write
            /// transaction that took the exclusive revocation lock and then
            /// `backend::locks::refresh_tokens` for the family: its refresh tokens (as
            /// [`revoke_family`]) and, with an entry each in the feed, the access tokens issued
            /// with them that have not expired (the rule:
            /// [`IssuedAccessToken::revocation`](tessera_core::IssuedAccessToken::revocation)).
            async fn revoke_grant(
                conn: &mut Conn,
                family_id: &str,
                now: OffsetDateTime,
                reason: RevocationReason,
                actor: &str,
            ) -> StoreResult<FamilyRevocation> {
                let refresh_tokens_revoked = revoke_family(&mut *conn, family_id, now).await?;
                let rows = sqlx::query(
                    "SELECT access_token_jti, access_token_expires_at FROM refresh_tokens \
                     WHERE family_id = $1 AND access_token_jti IS NOT NULL \
                     AND access_token_expires_at > $2 ORDER BY issued_at, access_token_jti",
                )
                .bind(family_id)
                .bind(to_secs(now))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let mut access_tokens_revoked = Vec::new();
                for row in &rows {
                    let what = "refresh token's access_token_expires_at";
                    let issued = IssuedAccessToken {
                        jti: get(row, "access_token_jti")?,
                        expires_at: from_secs(get(row, "access_token_expires_at")?, what)?,
                    };
                    let Some(revocation) = issued.revocation(now, reason, actor) else {
                        continue;
                    };
                    // `None`: already revoked (a replayed code's own entry), nothing to add.
                    if let Some(outcome) = super::revocations::record(&mut *conn, &revocation).await? {
                        access_tokens_revoked.push(outcome.entry);
                    }
                }
                Ok(FamilyRevocation {
                    refresh_tokens_revoked,
                    access_tokens_revoked,
                })
            }

            /// Revokes every token of `family_id` not revoked yet and records the family as
            /// revoked at `now` (keeping an earlier record), on `conn`, which must be an open
            /// write transaction that took `backend::locks::refresh_tokens` for the family.
            async fn revoke_family(
                conn: &mut Conn,
                family_id: &str,
                now: OffsetDateTime,
            ) -> StoreResult<u64> {
                sqlx::query(
                    "INSERT INTO revoked_refresh_families (family_id, revoked_at) \
                     VALUES ($1, $2) ON CONFLICT (family_id) DO NOTHING",
                )
                .bind(family_id)
                .bind(to_secs(now))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                let done = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 \
                     WHERE family_id = $2 AND revoked_at IS NULL",
                )
                .bind(to_secs(now))
                .bind(family_id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            /// The rotation's one transaction: rotates a current token, and reports reuse
            /// (`Reused`) without writing anything; the caller then revokes the grant.
            async fn rotate_unless_reused(
                store: &DbStore,
                presented: &SecretHash,
                successor: &RefreshToken,
                now: OffsetDateTime,
                reuse_grace: time::Duration,
            ) -> StoreResult<RefreshRotation> {
                let (_writer, mut tx) = store.begin_write().await?;
                // Concurrent rotations of one token must decide one after the other, each
                // on what the previous one committed.
                let known = backend::locks::presented_refresh_token(
                    &mut tx,
                    presented.as_str(),
                    &successor.family_id,
                )
                .await?;
                let row = match known {
                    false => None,
                    true => sqlx::query(&format!(
                        "{SELECT} WHERE token_hash = $1{}",
                        backend::locks::FOR_UPDATE
                    ))
                    .bind(presented.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?,
                };
                let Some(stored) = row.as_ref().map(decode).transpose()? else {
                    tx.rollback().await.map_err(db_err)?;
                    return Ok(RefreshRotation::Invalid);
                };
                match stored.presented_with_grace(now, reuse_grace) {
                    RefreshPresentation::Invalid => {
                        tx.rollback().await.map_err(db_err)?;
                        Ok(RefreshRotation::Invalid)
                    }
                    RefreshPresentation::Reuse => {
                        tx.rollback().await.map_err(db_err)?;
                        Ok(RefreshRotation::Reused(stored.token))
                    }
                    presentation @ (RefreshPresentation::Rotate
                    | RefreshPresentation::RotateAgain) => {
                        // Within the reuse grace the token keeps its first `rotated_at`, so
                        // the grace is counted from the first replacement, not extended.
                        if presentation == RefreshPresentation::Rotate {
                            sqlx::query(
                                "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2",
                            )
                            .bind(to_secs(now))
                            .bind(presented.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        }
                        // On error the transaction is dropped uncommitted, which rolls the
                        // update back.
                        if !insert(&mut tx, successor).await? {
                            // The family is recorded as revoked, yet this token was not:
                            // revoking a family revokes its tokens in the same transaction,
                            // so this cannot happen while the records agree. Should they
                            // ever disagree, the revocation wins.
                            tx.rollback().await.map_err(db_err)?;
                            return Ok(RefreshRotation::Invalid);
                        }
                        tx.commit().await.map_err(db_err)?;
                        Ok(RefreshRotation::Rotated(stored.token))
                    }
                }
            }

            #[async_trait::async_trait]
            impl RefreshTokenStore for DbStore {
                async fn create_refresh_token(&self, token: &RefreshToken) -> StoreResult<bool> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    backend::locks::refresh_tokens(&mut tx, &[&token.family_id]).await?;
                    let live = insert(&mut tx, token).await?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(live)
                }

                async fn find_refresh_token(
                    &self,
                    token_hash: &SecretHash,
                ) -> StoreResult<Option<StoredRefreshToken>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE token_hash = $1"))
                        .bind(token_hash.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn rotate_refresh_token_with_grace(
                    &self,
                    presented: &SecretHash,
                    successor: &RefreshToken,
                    now: OffsetDateTime,
                    reuse_grace: time::Duration,
                ) -> StoreResult<RefreshRotation> {
                    let rotation =
                        rotate_unless_reused(self, presented, successor, now, reuse_grace)
                            .await?;
                    if let RefreshRotation::Reused(reused) = &rotation {
                        // Recording the access tokens' entries needs the revocation lock
                        // exclusively, which the rotation's transaction held shared
                        // (PostgreSQL): the grant is revoked in a transaction of its own. A
                        // successor someone obtains meanwhile is revoked with it (whichever
                        // commits second sees the other), and `Reused` is answered only once
                        // the grant is revoked.
                        let actor = format!("client:{}", reused.client_id);
                        self.revoke_refresh_family(
                            &reused.family_id,
                            now,
                            RevocationReason::RefreshReuse,
                            &actor,
                        )
                        .await?;
                    }
                    Ok(rotation)
                }

                async fn revoke_refresh_family(
                    &self,
                    family_id: &str,
                    now: OffsetDateTime,
                    reason: RevocationReason,
                    actor: &str,
                ) -> StoreResult<FamilyRevocation> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // The locks [`revoke_grant`] needs, in the order every transaction takes
                    // them: the revocation lock, then the family's.
                    backend::locks::revocations_exclusive(&mut tx).await?;
                    backend::locks::refresh_tokens(&mut tx, &[family_id]).await?;
                    let revoked = revoke_grant(&mut tx, family_id, now, reason, actor).await?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(revoked)
                }

                async fn delete_expired_refresh_tokens(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query(
                        "DELETE FROM refresh_tokens \
                         WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1",
                    )
                    .bind(to_secs(now))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected())
                }

                async fn delete_refresh_family_revocations(
                    &self,
                    revoked_before: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done =
                        sqlx::query("DELETE FROM revoked_refresh_families WHERE revoked_at <= $1")
                            .bind(to_secs(revoked_before))
                            .execute(&self.pool)
                            .await
                            .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait::async_trait]
            impl SeedStore for DbStore {
                async fn create_signed_in_users(&self, batch: &[SignedInUser]) -> StoreResult<u64> {
                    // All or none: on any error the transaction is dropped uncommitted.
                    let (_writer, mut tx) = self.begin_write().await?;
                    // Every family here is new (the contract), so no one can be revoking it.
                    backend::locks::new_refresh_families(&mut tx).await?;
                    let mut live = 0;
                    for signed_in in batch {
                        super::users::insert(&mut tx, &signed_in.user).await?;
                        super::sessions::insert(&mut tx, &signed_in.session).await?;
                        live += u64::from(insert(&mut tx, &signed_in.refresh_token).await?);
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(live)
                }
            }

            /// Rebuilds a stored token from its row; a malformed row is a
            /// [`StoreError::Backend`]. The hash is not quoted in messages: it is the stored
            /// form of a bearer secret.
            fn decode(row: &Row) -> StoreResult<StoredRefreshToken> {
                let family_id: String = get(row, "family_id")?;
                let what =
                    |col: &str| format!("refresh token of family {family_id:?}, column {col}");
                let at = |col: &str| from_secs(get(row, col)?, &what(col));
                let token = RefreshToken {
                    token_hash: SecretHash::from_stored(get(row, "token_hash")?),
                    client_id: ClientId::from_stored(get(row, "client_id")?),
                    user_id: UserId::from_stored(get(row, "user_id")?),
                    sid: SessionId::from_stored(get(row, "sid")?),
                    scope: scope_from_json(&get::<String>(row, "scope")?, &what("scope"))?,
                    auth_time: at("auth_time")?,
                    amr: from_json(&get::<String>(row, "amr")?, &what("amr"))?,
                    acr: get(row, "acr")?,
                    issued_at: at("issued_at")?,
                    idle_expires_at: at("idle_expires_at")?,
                    absolute_expires_at: at("absolute_expires_at")?,
                    access_token: match get::<Option<String>>(row, "access_token_jti")? {
                        Some(jti) => Some(IssuedAccessToken {
                            jti,
                            expires_at: from_secs(
                                get(row, "access_token_expires_at")?,
                                &what("access_token_expires_at"),
                            )?,
                        }),
                        None => None,
                    },
                    family_id: family_id.clone(),
                };
                Ok(StoredRefreshToken {
                    token,
                    rotated_at: from_opt_secs(get(row, "rotated_at")?, &what("rotated_at"))?,
                    revoked_at: from_opt_secs(get(row, "revoked_at")?, &what("revoked_at"))?,
                })
            }
        }
    };
}

pub(crate) use impl_refresh_tokens;
