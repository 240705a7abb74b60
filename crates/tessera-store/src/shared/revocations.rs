//! [`RevocationStore`](crate::RevocationStore), written once for every backend (see the module
//! doc of [`crate::shared`] for the names an expansion needs). What differs per backend is
//! behind hooks: where the feed's newest cursor comes from and how the sweep advances the
//! horizon (`backend::revocations`), the read snapshot (`DbStore::begin_read`), the locks
//! (`backend::locks::revocations_exclusive`, `ending_sessions`, `audit`) and the change
//! notification (`backend::notify::queue`).

/// Expands to the [`RevocationStore`](crate::RevocationStore) implementation for `DbStore`,
/// with the revocation rows' decoding and the helpers the copy and tests share.
macro_rules! impl_revocations {
    () => {
        /// [`RevocationStore`]: entries, their effects, the feed.
        ///
        /// Every writer of the feed (`revoke`, the sweep) holds the exclusive revocation lock
        /// from before its first read to its commit (SQLite: the write lock), so cursors commit
        /// in the order they are drawn and a reader never skips one.
        pub(crate) mod revocations {
            use super::*;
            use super::audit::insert_audit;
            use $crate::codec::{from_secs, to_secs};
            use $crate::{
                FeedRead, FeedSnapshot, FeedSnapshotPage, RevocationOutcome, RevocationStore,
                StoreChange, StoreError, StoreResult,
            };
            use tessera_core::revocation::{new_jti, RevocationEffects, TargetIds};
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
            async fn is_access_token_revoked(
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
            async fn latest_not_before(
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

            /// Which sessions and refresh tokens a session or user entry ends, as conditions on
            /// `sessions` and on `refresh_tokens` over `$1` (the sid or user id) and, for
            /// tokens, `$2` (the entry's `not_before`).
            struct Ends {
                sessions: &'static str,
                tokens: &'static str,
            }

            const SESSION_ENDS: Ends = Ends {
                sessions: "sid = $1",
                tokens: "sid = $1",
            };

            const USER_ENDS: Ends = Ends {
                sessions: "user_id = $1",
                tokens: "user_id = $1 AND issued_at < $2",
            };

            /// Ends the sessions and revokes the refresh tokens `ends` selects for `key`, and
            /// queues a back-channel logout for each (sid, client) that took part; returns the
            /// sessions ended, the tokens revoked and the deliveries queued.
            async fn end_sessions(
                conn: &mut Conn,
                ends: &Ends,
                key: &str,
                not_before: Option<i64>,
                now: OffsetDateTime,
            ) -> StoreResult<(Vec<SessionId>, u64, u64)> {
                backend::locks::ending_sessions(&mut *conn, ends.sessions, key).await?;
                // The (sid, client, user) triples to notify: clients that took part in a
                // session being deleted, and clients holding an unrevoked refresh token being
                // revoked. Read before the deletes and updates. No refresh token is stored
                // meanwhile: the caller holds the revocation lock exclusively.
                let rows = sqlx::query(&format!(
                    "SELECT sc.sid AS sid, sc.client_id AS client_id, s.user_id AS user_id \
                     FROM session_clients sc JOIN sessions s ON s.sid = sc.sid WHERE s.{} \
                     UNION SELECT sid, client_id, user_id FROM refresh_tokens \
                     WHERE revoked_at IS NULL AND {} ORDER BY sid, client_id",
                    ends.sessions, ends.tokens
                ))
                .bind(key)
                .bind(not_before)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let pairs = rows
                    .iter()
                    .map(|row| Ok((get(row, "sid")?, get(row, "client_id")?, get(row, "user_id")?)))
                    .collect::<StoreResult<Vec<(String, String, String)>>>()?;

                let sids: Vec<String> = sqlx::query_scalar(&format!(
                    "DELETE FROM sessions WHERE {} RETURNING sid",
                    ends.sessions
                ))
                .bind(key)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                let mut sessions_ended: Vec<SessionId> =
                    sids.into_iter().map(SessionId::from_stored).collect();
                sessions_ended.sort();
                let revoked = sqlx::query(&format!(
                    "UPDATE refresh_tokens SET revoked_at = $3 WHERE revoked_at IS NULL AND {}",
                    ends.tokens
                ))
                .bind(key)
                .bind(not_before)
                .bind(to_secs(now))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?
                .rows_affected();
                let queued = queue_logouts(conn, &pairs, now).await?;
                Ok((sessions_ended, revoked, queued))
            }

            /// Applies the effects of a recorded entry on sessions and refresh tokens.
            async fn apply_effects(
                conn: &mut Conn,
                revocation: &Revocation,
            ) -> StoreResult<(Vec<SessionId>, u64, u64)> {
                let not_before = revocation.not_before.map(to_secs);
                let now = revocation.revoked_at;
                match &revocation.target {
                    RevocationTarget::Token { .. } | RevocationTarget::UserClaims { .. } => {
                        Ok((Vec::new(), 0, 0))
                    }
                    RevocationTarget::Session { sid, .. } => {
                        end_sessions(conn, &SESSION_ENDS, sid.as_str(), None, now).await
                    }
                    RevocationTarget::User { user_id } => {
                        end_sessions(conn, &USER_ENDS, user_id.as_str(), not_before, now).await
                    }
                    // A global entry ends no browser session (a session cookie is not a token),
                    // and its refresh tokens fail at their next use; there is no one session to
                    // notify about.
                    RevocationTarget::Global => {
                        let revoked = sqlx::query(
                            "UPDATE refresh_tokens SET revoked_at = $1 \
                             WHERE revoked_at IS NULL AND issued_at < $2",
                        )
                        .bind(to_secs(now))
                        .bind(not_before)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                        Ok((Vec::new(), revoked, 0))
                    }
                }
            }

            /// Records `revocation` and applies its effects on `conn`, which must be an open
            /// write transaction holding the exclusive revocation lock (taken before anything
            /// was read); queues the change notification. `None` for a repeat of a token or
            /// session entry, which changes nothing.
            pub(crate) async fn record(
                conn: &mut Conn,
                revocation: &Revocation,
            ) -> StoreResult<Option<RevocationOutcome>> {
                if !check_target(&mut *conn, &revocation.target).await? {
                    return Ok(None);
                }
                let TargetIds { jti, sid, user_id } = revocation.target.ids();
                let cursor: i64 = sqlx::query_scalar(
                    "INSERT INTO revocations (kind, jti, sid, user_id, not_before, \
                     revoked_at, expires_at, reason, actor) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING cursor",
                )
                .bind(revocation.kind().as_str())
                .bind(jti)
                .bind(sid)
                .bind(user_id)
                .bind(revocation.not_before.map(to_secs))
                .bind(to_secs(revocation.revoked_at))
                .bind(to_secs(revocation.expires_at))
                .bind(revocation.reason.as_str())
                .bind(&revocation.actor)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
                let (sessions_ended, refresh_tokens_revoked, logout_notifications) =
                    apply_effects(&mut *conn, revocation).await?;
                backend::locks::audit(&mut *conn).await?;
                let effects = RevocationEffects {
                    cursor,
                    sessions_ended: sessions_ended.len(),
                    refresh_tokens_revoked,
                    logout_notifications,
                };
                insert_audit(&mut *conn, &revocation.audit_event(&effects)).await?;
                // Heard by every node when (and only if) the entry commits: one that reads on
                // it finds the entry.
                backend::notify::queue(&mut *conn, StoreChange::Revocations).await?;
                Ok(Some(RevocationOutcome {
                    entry: RevocationEntry {
                        cursor,
                        revocation: revocation.clone(),
                    },
                    sessions_ended,
                    refresh_tokens_revoked,
                    logout_notifications,
                }))
            }

            #[async_trait::async_trait]
            impl RevocationStore for DbStore {
                async fn revoke(
                    &self,
                    revocation: &Revocation,
                ) -> StoreResult<Option<RevocationOutcome>> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // Before anything is read: the check must see every earlier entry, and
                    // this entry's cursor must commit before any later one is drawn.
                    backend::locks::revocations_exclusive(&mut tx).await?;
                    let outcome = record(&mut tx, revocation).await?;
                    match outcome {
                        Some(_) => tx.commit().await.map_err(db_err)?,
                        None => tx.rollback().await.map_err(db_err)?,
                    }
                    Ok(outcome)
                }

                async fn is_access_token_revoked(
                    &self,
                    token: &TokenFacts<'_>,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    is_access_token_revoked(self, token, now).await
                }

                async fn latest_not_before(
                    &self,
                    user: Option<&UserId>,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<OffsetDateTime>> {
                    latest_not_before(self, user, now).await
                }

                async fn revocations_after(&self, after: i64, limit: u32) -> StoreResult<FeedRead> {
                    // One snapshot for every statement: the horizon, the newest cursor and the
                    // rows agree.
                    let mut tx = self.begin_read().await?;
                    let horizon: i64 =
                        sqlx::query_scalar("SELECT horizon FROM revocation_feed WHERE id = 1")
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    let latest = backend::revocations::latest_cursor(&mut tx).await?;
                    let answer = if after > latest {
                        FeedRead::Ahead
                    } else if after < horizon {
                        FeedRead::Behind
                    } else {
                        let rows = sqlx::query(&format!(
                            "{SELECT} WHERE cursor > $1 ORDER BY cursor LIMIT $2"
                        ))
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?;
                        FeedRead::Entries(rows.iter().map(decode).collect::<StoreResult<_>>()?)
                    };
                    tx.commit().await.map_err(db_err)?;
                    Ok(answer)
                }

                async fn revocation_snapshot(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<FeedSnapshot> {
                    let mut tx = self.begin_read().await?;
                    let cursor = backend::revocations::latest_cursor(&mut tx).await?;
                    let rows =
                        sqlx::query(&format!("{SELECT} WHERE expires_at > $1 ORDER BY cursor"))
                            .bind(to_secs(now))
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)?;
                    Ok(FeedSnapshot {
                        entries: rows.iter().map(decode).collect::<StoreResult<_>>()?,
                        cursor,
                    })
                }

                async fn revocation_snapshot_page(
                    &self,
                    now: OffsetDateTime,
                    snapshot: Option<i64>,
                    after: i64,
                    limit: u32,
                ) -> StoreResult<Option<FeedSnapshotPage>> {
                    let limit = limit.max(1);
                    // One read for the newest cursor and the rows: a new snapshot's cursor and
                    // its first page agree.
                    let mut tx = self.begin_read().await?;
                    let latest = backend::revocations::latest_cursor(&mut tx).await?;
                    let cursor = snapshot.unwrap_or(latest);
                    if cursor > latest {
                        tx.commit().await.map_err(db_err)?;
                        return Ok(None);
                    }
                    // One row more than the page, to tell whether another page follows.
                    let rows = sqlx::query(&format!(
                        "{SELECT} WHERE expires_at > $1 AND cursor > $2 AND cursor <= $3 \
                         ORDER BY cursor LIMIT $4"
                    ))
                    .bind(to_secs(now))
                    .bind(after)
                    .bind(cursor)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx.commit().await.map_err(db_err)?;
                    let mut entries = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
                    let more = entries.len() > limit as usize;
                    entries.truncate(limit as usize);
                    let next = more.then(|| entries.last().map_or(after, |e| e.cursor));
                    Ok(Some(FeedSnapshotPage {
                        entries,
                        cursor,
                        next,
                    }))
                }

                async fn delete_expired_revocations(&self, now: OffsetDateTime) -> StoreResult<u64> {
                    let (_writer, mut tx) = self.begin_write().await?;
                    // A writer of the feed like `revoke`: with the lock held, no entry commits
                    // between the two statements, so the horizon covers exactly the entries
                    // deleted.
                    backend::locks::revocations_exclusive(&mut tx).await?;
                    sqlx::query(backend::revocations::ADVANCE_HORIZON)
                        .bind(to_secs(now))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let done = sqlx::query("DELETE FROM revocations WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    // The horizon moved only if entries were deleted: only then can a reader be
                    // behind.
                    if done.rows_affected() > 0 {
                        backend::notify::queue(&mut tx, StoreChange::Revocations).await?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }
        }
    };
}

pub(crate) use impl_revocations;
