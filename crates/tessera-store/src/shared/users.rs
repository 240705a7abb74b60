//! [`UserStore`](crate::UserStore), written once for every backend (see the module doc of
//! [`crate::shared`] for the names an expansion needs).

/// Expands to the [`UserStore`](crate::UserStore) implementation for `DbStore`, and `insert`
/// for the seeding transaction.
macro_rules! impl_users {
    () => {
        /// [`UserStore`]: plain statements, no locking.
        pub(crate) mod users {
            use super::*;
            use tessera_core::{Email, PasswordHash, PhoneNumber, User, UserId};
            use $crate::codec::{from_json, from_secs, to_json, to_secs};
            use $crate::{StoreError, StoreResult, UserStore};

            const SELECT: &str = "SELECT id, email, name, roles, password_hash, is_disabled, \
                                  email_verified, email_codes_enabled, phone_number, \
                                  created_at, updated_at \
                                  FROM users";

            /// Turns a unique violation into a [`StoreError::Conflict`] that says which field
            /// clashed. Both backends name the column in what `unique_violation` returns
            /// (`users.email` on SQLite, the constraint `users_email_key` on PostgreSQL).
            fn conflict(e: sqlx::Error, user: &User) -> StoreError {
                match unique_violation(&e) {
                    Some(what) if what.contains("email") => {
                        StoreError::Conflict(format!("email {} is already taken", user.email))
                    }
                    Some(_) => StoreError::Conflict(format!("user {} already exists", user.id)),
                    None => db_err(e),
                }
            }

            /// Inserts one user on `conn` (a pooled connection or an open transaction).
            pub(crate) async fn insert(conn: &mut Conn, user: &User) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO users (id, email, name, roles, password_hash, is_disabled, \
                     email_verified, email_codes_enabled, phone_number, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(user.id.as_str())
                .bind(user.email.as_str())
                .bind(user.name.as_deref())
                .bind(to_json(user.roles.iter().map(String::as_str))?)
                .bind(user.password_hash.as_ref().map(PasswordHash::as_str))
                .bind(user.is_disabled)
                .bind(user.email_verified)
                .bind(user.email_codes_enabled)
                .bind(user.phone_number.as_ref().map(PhoneNumber::as_str))
                .bind(to_secs(user.created_at))
                .bind(to_secs(user.updated_at))
                .execute(conn)
                .await
                .map_err(|e| conflict(e, user))?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl UserStore for DbStore {
                async fn create_user(&self, user: &User) -> StoreResult<()> {
                    let mut conn = self.pool.acquire().await.map_err(db_err)?;
                    insert(&mut conn, user).await
                }

                async fn find_user(&self, id: &UserId) -> StoreResult<Option<User>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn find_user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
                    let row = sqlx::query(&format!("{SELECT} WHERE email = $1"))
                        .bind(email.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(decode).transpose()
                }

                async fn list_users(&self) -> StoreResult<Vec<User>> {
                    let rows = sqlx::query(&format!("{SELECT} ORDER BY email COLLATE \"C\""))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(decode).collect()
                }

                async fn update_user(&self, user: &User) -> StoreResult<()> {
                    // One statement, so a failure (such as a taken email) leaves the row as it
                    // was.
                    let done = sqlx::query(
                        "UPDATE users SET email = $1, name = $2, roles = $3, password_hash = $4, \
                         is_disabled = $5, email_verified = $6, email_codes_enabled = $7, \
                         phone_number = $8, updated_at = $9 WHERE id = $10",
                    )
                    .bind(user.email.as_str())
                    .bind(user.name.as_deref())
                    .bind(to_json(user.roles.iter().map(String::as_str))?)
                    .bind(user.password_hash.as_ref().map(PasswordHash::as_str))
                    .bind(user.is_disabled)
                    .bind(user.email_verified)
                    .bind(user.email_codes_enabled)
                    .bind(user.phone_number.as_ref().map(PhoneNumber::as_str))
                    .bind(to_secs(user.updated_at))
                    .bind(user.id.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(|e| conflict(e, user))?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn delete_user(&self, id: &UserId) -> StoreResult<()> {
                    let done = sqlx::query("DELETE FROM users WHERE id = $1")
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

            /// Rebuilds a user from its row; a malformed row is a [`StoreError::Backend`].
            fn decode(row: &Row) -> StoreResult<User> {
                let id: String = get(row, "id")?;
                let what = |col: &str| format!("user {id:?}, column {col}");
                let roles = from_json(&get::<String>(row, "roles")?, &what("roles"))?;
                Ok(User {
                    email: Email::from_stored(get(row, "email")?),
                    name: get(row, "name")?,
                    roles,
                    password_hash: get::<Option<String>>(row, "password_hash")?
                        .map(PasswordHash::from_stored),
                    is_disabled: get(row, "is_disabled")?,
                    email_verified: get(row, "email_verified")?,
                    email_codes_enabled: get(row, "email_codes_enabled")?,
                    phone_number: get::<Option<String>>(row, "phone_number")?
                        .map(PhoneNumber::from_stored),
                    created_at: from_secs(get(row, "created_at")?, &what("created_at"))?,
                    updated_at: from_secs(get(row, "updated_at")?, &what("updated_at"))?,
                    id: UserId::from_stored(id),
                })
            }
        }
    };
}

pub(crate) use impl_users;
