//! [`SeedStore`] for PostgreSQL.

use super::convert::db_err;
use super::{locks, refresh_tokens, sessions, users, PostgresStore};
use crate::{SeedStore, SignedInUser, StoreResult};

#[async_trait::async_trait]
impl SeedStore for PostgresStore {
    async fn create_signed_in_users(&self, batch: &[SignedInUser]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // The revocation lock that every transaction storing refresh tokens takes: no
        // revocation that should cover these tokens commits between its check and the insert.
        // The per-family locks are not needed: every family here is new (the contract), so no
        // one can be revoking it.
        locks::revocations_shared(&mut tx).await?;
        let mut live = 0;
        for signed_in in batch {
            users::insert(&mut tx, &signed_in.user).await?;
            sessions::insert(&mut tx, &signed_in.session).await?;
            live += u64::from(refresh_tokens::insert(&mut tx, &signed_in.refresh_token).await?);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(live)
    }
}
