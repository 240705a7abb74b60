//! [`SessionStore`](crate::SessionStore), written once for every backend (see the module doc
//! of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`SessionStore`](crate::SessionStore) implementation for `DbStore`, and
/// `insert` for the seeding transaction.
macro_rules! impl_sessions {
    () => {
        /// [`SessionStore`]: plain statements, no locking.
        pub(crate) mod sessions {
            use super::*;
            use $crate::codec::{from_json, from_secs, to_json, to_secs};
            use $crate::{SessionStore, SessionSummary, StoreError, StoreResult};
            use tessera_core::client::SecretHash;
            use tessera_core::{BrowserSession, ClientId, SessionId, UserId};
            use time::OffsetDateTime;

            const SELECT: &str = "SELECT sid, secret_hash, user_id, auth_time, amr, created_at, \
                                  expires_at, user_agent, last_seen_at FROM sessions";

            /// Turns a unique violation into a [`StoreError::Conflict`] that says which key
            /// clashed, without echoing the secret hash. Both backends name the column in what
            /// `unique_violation` returns (`sessions.secret_hash` on SQLite, the constraint
            /// `sessions_secret_hash_key` on PostgreSQL).
            fn conflict(e: sqlx::Error, sid: &SessionId) -> StoreError {
                match unique_violation(&e) {
                    Some(what) if what.contains("secret_hash") => {
                        StoreError::Conflict("another session has the same secret".into())
                    }
                    Some(_) => StoreError::Conflict(format!("session {sid} already exists")),
                    None => db_err(e),
                }
            }

            /// Inserts one session on `conn` (a pooled connection or an open transaction).
            pub(crate) async fn insert(conn: &mut Conn, session: &BrowserSession) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (sid, secret_hash, user_id, auth_time, amr, created_at, \
                     expires_at, user_agent, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(session.sid.as_str())
                .bind(session.secret_hash.as_str())
                .bind(session.user_id.as_str())
                .bind(to_secs(session.auth_time))
                .bind(to_json(session.amr.iter().map(String::as_str))?)
                .bind(to_secs(session.created_at))
                .bind(to_secs(session.expires_at))
                .bind(session.user_agent.as_deref())
                .bind(to_secs(session.last_seen_at))
                .execute(conn)
                .await
                .map_err(|e| conflict(e, &session.sid))?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl SessionStore for DbStore {
                async fn create_session(&self, session: &BrowserSession) -> StoreResult<()> {
                    let mut conn = self.pool.acquire().await.map_err(db_err)?;
                    insert(&mut conn, session).await
                }

                async fn find_session(&self, sid: &SessionId) -> StoreResult<Option<BrowserSession>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE sid = $1"))
                        .bind(sid.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn find_session_by_secret(
                    &self,
                    secret_hash: &SecretHash,
                ) -> StoreResult<Option<BrowserSession>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE secret_hash = $1"))
                        .bind(secret_hash.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn reauthenticate_session(
                    &self,
                    sid: &SessionId,
                    new_secret_hash: &SecretHash,
                    auth_time: OffsetDateTime,
                    amr: &[String],
                ) -> StoreResult<()> {
                    // One statement, so the old secret stops working at the same instant the new
                    // one starts. Authenticating is also using the session.
                    let done = sqlx::query(
                        "UPDATE sessions SET secret_hash = $1, auth_time = $2, amr = $3, \
                         last_seen_at = $2 WHERE sid = $4",
                    )
                    .bind(new_secret_hash.as_str())
                    .bind(to_secs(auth_time))
                    .bind(to_json(amr.iter().map(String::as_str))?)
                    .bind(sid.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| conflict(e, sid))?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn record_session_seen(
                    &self,
                    sid: &SessionId,
                    now: OffsetDateTime,
                ) -> StoreResult<()> {
                    // Never moves the time backwards: two nodes recording at once keep the later.
                    sqlx::query(
                        "UPDATE sessions SET last_seen_at = $1 WHERE sid = $2 AND last_seen_at < $1",
                    )
                    .bind(to_secs(now))
                    .bind(sid.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn list_user_sessions(&self, user: &UserId) -> StoreResult<Vec<SessionSummary>> {
                    let rows = sqlx::query(&format!(
                        "{SELECT} WHERE user_id = $1 ORDER BY created_at DESC, sid COLLATE \"C\""
                    ))
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let mut summaries = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let session = decode(row)?;
                        let clients: Vec<String> = sqlx::query_scalar(
                            "SELECT client_id FROM session_clients WHERE sid = $1 \
                             ORDER BY client_id COLLATE \"C\"",
                        )
                        .bind(session.sid.as_str())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                        summaries.push(SessionSummary {
                            session,
                            clients: clients.into_iter().map(ClientId::from_stored).collect(),
                        });
                    }
                    Ok(summaries)
                }

                async fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Rebuilds a session from its row; a malformed row is a [`StoreError::Backend`].
            fn decode(row: &Row) -> StoreResult<BrowserSession> {
                let sid: String = get(row, "sid")?;
                let what = |col: &str| format!("session {sid:?}, column {col}");
                Ok(BrowserSession {
                    secret_hash: SecretHash::from_stored(get(row, "secret_hash")?),
                    user_id: UserId::from_stored(get(row, "user_id")?),
                    auth_time: from_secs(get(row, "auth_time")?, &what("auth_time"))?,
                    amr: from_json(&get::<String>(row, "amr")?, &what("amr"))?,
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    expires_at: from_secs(get(row, "expires_at")?, &what("expires_at"))?,
                    user_agent: get(row, "user_agent")?,
                    last_seen_at: from_secs(get(row, "last_seen_at")?, &what("last_seen_at"))?,
                    sid: SessionId::from_stored(sid),
                })
            }
        }
    };
}

pub(crate) use impl_sessions;
