//! The plain reads of [`RevocationStore`](crate::RevocationStore), written once for every
//! backend (see the module doc of [`crate::shared`] for the names an expansion needs). Writing
//! entries and reading the feed stay in each backend's `revocations.rs`: cursors, the locks
//! and the snapshot they need differ (see the backends' module docs).

/// Expands to the revocation rows' decoding and the plain revocation queries for `DbStore`;
/// each backend's `RevocationStore` implementation calls them.
macro_rules! impl_revocation_reads {
    () => {
        /// Revocation rows and the plain revocation queries.
        pub(crate) mod revocations {
            use super::*;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{StoreError, StoreResult};
            use tessera_core::revocation::new_jti;
            use tessera_core::{
                Revocation, RevocationEntry, RevocationKind, RevocationReason, RevocationTarget,
                SessionId, TokenFacts, UserId,
            };
            use time::OffsetDateTime;

            /// Every column of an entry, for [`decode`].
            pub(crate) const SELECT: &str = "SELECT cursor, kind, jti, sid, user_id, \
                                             not_before, revoked_at, expires_at, reason, actor \
                                             FROM revocations";

            /// Whether a live entry covers the access token `token` at `now`.
            pub(crate) async fn is_access_token_revoked(
                store: &DbStore,
                token: &TokenFacts<'_>,
                now: OffsetDateTime,
            ) -> StoreResult<bool> {
                // The terms mirror `Revocation::covers`: by jti; by sid; a user's (or claims)
                // entry for the token's subject, for a user's token (one with a sid) issued
                // before it; a global entry for any token issued before it. Session rows have
                // no not_before, so the third term never matches them. The contract test
                // `revocations_queries_agree_with_covers` holds the two together.
                let row = sqlx::query(
                    "SELECT 1 FROM revocations WHERE expires_at > $1 AND ( \
                         jti = $2 \
                         OR (sid = $3) \
                         OR ($3 IS NOT NULL AND user_id = $4 AND not_before > $5) \
                         OR (kind = 'global-revoked' AND not_before > $5)) \
                     LIMIT 1",
                )
                .bind(to_secs(now))
                .bind(token.jti)
                .bind(token.sid)
                .bind(token.sub)
                .bind(token.iat)
                .fetch_optional(&store.pool)
                .await
                .map_err(db_err)?;
                Ok(row.is_some())
            }

            /// The latest `not_before` among live user, claims and global entries that concern
            /// `user` (global ones only when `user` is `None`).
            pub(crate) async fn latest_not_before(
                store: &DbStore,
                user: Option<&UserId>,
                now: OffsetDateTime,
            ) -> StoreResult<Option<OffsetDateTime>> {
                let latest: Option<i64> = sqlx::query_scalar(
                    "SELECT max(not_before) FROM revocations WHERE expires_at > $1 \
                     AND not_before IS NOT NULL AND (kind = 'global-revoked' OR user_id = $2)",
                )
                .bind(to_secs(now))
                .bind(user.map(UserId::as_str))
                .fetch_one(&store.pool)
                .await
                .map_err(db_err)?;
                latest
                    .map(|secs| from_secs(secs, "revocations.not_before"))
                    .transpose()
            }

            /// How many entries are stored, expired or not.
            pub(crate) async fn count_revocations(store: &DbStore) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar("SELECT count(*) FROM revocations")
                    .fetch_one(&store.pool)
                    .await
                    .map_err(db_err)?;
                Ok(count.unsigned_abs())
            }

            pub(crate) async fn exists(conn: &mut Conn, sql: &str, key: &str) -> StoreResult<bool> {
                Ok(sqlx::query(sql)
                    .bind(key)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)?
                    .is_some())
            }


            /// Whether `revocation` may be recorded: `Ok(false)` for a repeat of a token or session entry,
            /// [`StoreError::NotFound`] when what it names does not exist.
            pub(crate) async fn check_target(conn: &mut Conn, target: &RevocationTarget) -> StoreResult<bool> {
                match target {
                    RevocationTarget::Token { jti, .. } => {
                        Ok(!exists(conn, "SELECT 1 FROM revocations WHERE jti = $1", jti).await?)
                    }
                    RevocationTarget::Session { sid, .. } => {
                        if exists(
                            &mut *conn,
                            "SELECT 1 FROM revocations WHERE sid = $1",
                            sid.as_str(),
                        )
                        .await?
                        {
                            return Ok(false);
                        }
                        let known = exists(
                            &mut *conn,
                            "SELECT 1 FROM sessions WHERE sid = $1",
                            sid.as_str(),
                        )
                        .await?
                            || exists(
                                &mut *conn,
                                "SELECT 1 FROM refresh_tokens WHERE sid = $1 AND revoked_at IS NULL",
                                sid.as_str(),
                            )
                            .await?;
                        if known {
                            Ok(true)
                        } else {
                            Err(StoreError::NotFound)
                        }
                    }
                    RevocationTarget::User { user_id } | RevocationTarget::UserClaims { user_id } => {
                        if exists(conn, "SELECT 1 FROM users WHERE id = $1", user_id.as_str()).await? {
                            Ok(true)
                        } else {
                            Err(StoreError::NotFound)
                        }
                    }
                    RevocationTarget::Global => Ok(true),
                }
            }


            /// Queues a back-channel logout for each pair whose client has a back-channel logout URI;
            /// returns how many were queued.
            pub(crate) async fn queue_logouts(
                conn: &mut Conn,
                pairs: &[(String, String, String)],
                now: OffsetDateTime,
            ) -> StoreResult<u64> {
                let mut queued = 0;
                for (sid, client_id, user_id) in pairs {
                    let done = sqlx::query(
                        "INSERT INTO backchannel_deliveries (client_id, user_id, sid, jti, created_at, \
                         next_attempt_at) SELECT id, $1, $2, $3, $4, $4 FROM clients \
                         WHERE id = $5 AND backchannel_logout_uri IS NOT NULL",
                    )
                    .bind(user_id)
                    .bind(sid)
                    .bind(new_jti())
                    .bind(to_secs(now))
                    .bind(client_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    queued += done.rows_affected();
                }
                Ok(queued)
            }

            /// Rebuilds an entry from its row; a row the domain would not accept is a
            /// [`StoreError::Backend`].
            pub(crate) fn decode(row: &Row) -> StoreResult<RevocationEntry> {
                let cursor: i64 = get(row, "cursor")?;
                let what = |col: &str| format!("revocation {cursor}, column {col}");
                let bad =
                    |col: &str| StoreError::Backend(format!("{}: missing or invalid", what(col)));
                let kind: String = get(row, "kind")?;
                let kind = RevocationKind::parse(&kind).ok_or_else(|| bad("kind"))?;
                let reason: String = get(row, "reason")?;
                let reason = RevocationReason::parse(&reason).ok_or_else(|| bad("reason"))?;
                let expires_at = from_secs(get(row, "expires_at")?, &what("expires_at"))?;
                let user = || -> StoreResult<UserId> {
                    get::<Option<String>>(row, "user_id")?
                        .map(UserId::from_stored)
                        .ok_or_else(|| bad("user_id"))
                };
                let target = match kind {
                    RevocationKind::TokenRevoked => RevocationTarget::Token {
                        jti: get::<Option<String>>(row, "jti")?.ok_or_else(|| bad("jti"))?,
                        expires_at,
                    },
                    RevocationKind::SessionRevoked => RevocationTarget::Session {
                        sid: SessionId::from_stored(
                            get::<Option<String>>(row, "sid")?.ok_or_else(|| bad("sid"))?,
                        ),
                        user_id: user()?,
                    },
                    RevocationKind::CredentialChange => {
                        RevocationTarget::User { user_id: user()? }
                    }
                    RevocationKind::TokenClaimsChange => {
                        RevocationTarget::UserClaims { user_id: user()? }
                    }
                    RevocationKind::GlobalRevoked => RevocationTarget::Global,
                };
                let not_before = get::<Option<i64>>(row, "not_before")?
                    .map(|secs| from_secs(secs, &what("not_before")))
                    .transpose()?;
                Ok(RevocationEntry {
                    cursor,
                    revocation: Revocation {
                        target,
                        revoked_at: from_secs(get(row, "revoked_at")?, &what("revoked_at"))?,
                        not_before,
                        expires_at,
                        reason,
                        actor: get(row, "actor")?,
                    },
                })
            }
        }
    };
}

pub(crate) use impl_revocation_reads;
