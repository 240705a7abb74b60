//! [`PasskeyStore`](crate::traits::PasskeyStore), written once for every backend (see the
//! module doc of [`crate::shared`] for the names an expansion needs).

/// Expands to the [`PasskeyStore`](crate::traits::PasskeyStore) implementation for `DbStore`.
macro_rules! impl_passkeys {
    () => {
        /// [`PasskeyStore`]: every operation is one statement. Recording a use is a conditional
        /// `UPDATE` (a compare-and-swap on `sign_count`), putting a challenge an upsert, and
        /// taking one a `DELETE … RETURNING`; both backends apply each atomically row by row
        /// (see the PostgreSQL module doc for why they hold under concurrent writers there).
        pub(crate) mod passkeys {
            use super::*;
            use tessera_core::{ChallengePurpose, Passkey, PasskeyChallenge, UserId};
            use time::OffsetDateTime;
            use $crate::codec::{from_json, from_opt_secs, from_secs, to_json, to_secs};
            use $crate::traits::PasskeyStore;
            use $crate::{StoreError, StoreResult};

            const COLUMNS: &str = "credential_id, user_id, name, public_key, algorithm, \
                                   sign_count, backup_eligible, backed_up, transports, aaguid, \
                                   created_at, last_used_at";

            const CHALLENGE_COLUMNS: &str =
                "purpose, bound_to, user_id, challenge, created_at, expires_at";

            #[async_trait::async_trait]
            impl PasskeyStore for DbStore {
                async fn create_passkey(&self, passkey: &Passkey) -> StoreResult<()> {
                    sqlx::query(&format!(
                        "INSERT INTO passkeys ({COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    ))
                    .bind(&passkey.credential_id)
                    .bind(passkey.user_id.as_str())
                    .bind(&passkey.name)
                    .bind(&passkey.public_key)
                    .bind(passkey.algorithm)
                    .bind(i64::from(passkey.sign_count))
                    .bind(passkey.backup_eligible)
                    .bind(passkey.backed_up)
                    .bind(to_json(passkey.transports.iter().map(String::as_str))?)
                    .bind(&passkey.aaguid[..])
                    .bind(to_secs(passkey.created_at))
                    .bind(passkey.last_used_at.map(to_secs))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| match unique_violation(&e) {
                        // The credential ID is the only unique key.
                        Some(_) => StoreError::Conflict(
                            "a passkey with this credential ID is already registered".into(),
                        ),
                        None => db_err(e),
                    })?;
                    Ok(())
                }

                async fn find_passkey(&self, credential_id: &[u8]) -> StoreResult<Option<Passkey>> {
                    let row = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
                    ))
                    .bind(credential_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn list_passkeys(&self, user: &UserId) -> StoreResult<Vec<Passkey>> {
                    // Blobs compare byte-wise on both backends, so no collation is needed.
                    let rows = sqlx::query(&format!(
                        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 \
                         ORDER BY created_at, credential_id"
                    ))
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(decode).collect()
                }

                async fn delete_passkey(
                    &self,
                    user: &UserId,
                    credential_id: &[u8],
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2",
                    )
                    .bind(user.as_str())
                    .bind(credential_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn record_passkey_use(
                    &self,
                    credential_id: &[u8],
                    previous_count: u32,
                    new_count: u32,
                    backed_up: bool,
                    now: OffsetDateTime,
                ) -> StoreResult<bool> {
                    // One conditional statement: of two uses verified against the same count,
                    // the second finds the counter already moved and changes nothing.
                    let done = sqlx::query(
                        "UPDATE passkeys SET sign_count = $1, backed_up = $2, last_used_at = $3 \
                         WHERE credential_id = $4 AND sign_count = $5",
                    )
                    .bind(i64::from(new_count))
                    .bind(backed_up)
                    .bind(to_secs(now))
                    .bind(credential_id)
                    .bind(i64::from(previous_count))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn put_passkey_challenge(
                    &self,
                    challenge: &PasskeyChallenge,
                ) -> StoreResult<()> {
                    sqlx::query(&format!(
                        "INSERT INTO passkey_challenges ({CHALLENGE_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (purpose, bound_to) DO UPDATE SET \
                         user_id = excluded.user_id, challenge = excluded.challenge, \
                         created_at = excluded.created_at, expires_at = excluded.expires_at"
                    ))
                    .bind(challenge.purpose.as_str())
                    .bind(&challenge.bound_to)
                    .bind(challenge.user_id.as_ref().map(UserId::as_str))
                    .bind(&challenge.challenge)
                    .bind(to_secs(challenge.created_at))
                    .bind(to_secs(challenge.expires_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                }

                async fn take_passkey_challenge(
                    &self,
                    purpose: ChallengePurpose,
                    bound_to: &str,
                    now: OffsetDateTime,
                ) -> StoreResult<Option<PasskeyChallenge>> {
                    // One statement: only the taker whose DELETE removed the row gets it back.
                    // An expired challenge is removed all the same (it can never be answered),
                    // and so is one that cannot be decoded (reported as an error).
                    let row = sqlx::query(&format!(
                        "DELETE FROM passkey_challenges WHERE purpose = $1 AND bound_to = $2 \
                         RETURNING {CHALLENGE_COLUMNS}"
                    ))
                    .bind(purpose.as_str())
                    .bind(bound_to)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let challenge = decode_challenge(&row)?;
                    Ok(challenge.is_live(now).then_some(challenge))
                }

                async fn delete_expired_passkey_challenges(
                    &self,
                    now: OffsetDateTime,
                ) -> StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM passkey_challenges WHERE expires_at <= $1")
                        .bind(to_secs(now))
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected())
                }
            }

            /// Rebuilds a passkey from its row; a malformed row is a
            /// [`StoreError::Backend`]($crate::StoreError::Backend).
            fn decode(row: &Row) -> StoreResult<Passkey> {
                let user_id = UserId::from_stored(get(row, "user_id")?);
                let what = |col: &str| format!("passkey of user {user_id}, column {col}");
                let sign_count: i64 = get(row, "sign_count")?;
                let aaguid: Vec<u8> = get(row, "aaguid")?;
                Ok(Passkey {
                    credential_id: get(row, "credential_id")?,
                    name: get(row, "name")?,
                    public_key: get(row, "public_key")?,
                    algorithm: get(row, "algorithm")?,
                    sign_count: u32::try_from(sign_count).map_err(|_| {
                        StoreError::Backend(format!(
                            "{}: {sign_count} is out of range",
                            what("sign_count")
                        ))
                    })?,
                    backup_eligible: get(row, "backup_eligible")?,
                    backed_up: get(row, "backed_up")?,
                    transports: from_json(&get::<String>(row, "transports")?, &what("transports"))?,
                    aaguid: <[u8; 16]>::try_from(aaguid.as_slice()).map_err(|_| {
                        StoreError::Backend(format!(
                            "{}: {} bytes, not 16",
                            what("aaguid"),
                            aaguid.len()
                        ))
                    })?,
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    last_used_at: from_opt_secs(get(row, "last_used_at")?, &what("last_used_at"))?,
                    user_id,
                })
            }

            /// Rebuilds a challenge from its row; a malformed row is a
            /// [`StoreError::Backend`]($crate::StoreError::Backend).
            fn decode_challenge(row: &Row) -> StoreResult<PasskeyChallenge> {
                let what = "passkey challenge";
                let purpose: String = get(row, "purpose")?;
                Ok(PasskeyChallenge {
                    purpose: ChallengePurpose::from_stored(&purpose).ok_or_else(|| {
                        StoreError::Backend(format!("{what}: unknown purpose {purpose:?}"))
                    })?,
                    bound_to: get(row, "bound_to")?,
                    user_id: get::<Option<String>>(row, "user_id")?.map(UserId::from_stored),
                    challenge: get(row, "challenge")?,
                    created_at: from_secs(get(row, "created_at")?, what)?,
                    expires_at: from_secs(get(row, "expires_at")?, what)?,
                })
            }
        }
    };
}

pub(crate) use impl_passkeys;
