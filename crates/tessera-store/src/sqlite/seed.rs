//! [`SeedStore`] for SQLite.

use super::convert::db_err;
use super::{refresh_tokens, sessions, users, SqliteStore};
use crate::{SeedStore, SignedInUser, StoreResult};

#[async_trait::async_trait]
impl SeedStore for SqliteStore {
    async fn create_signed_in_users(&self, batch: &[SignedInUser]) -> StoreResult<u64> {
        // A deferred BEGIN: the first statement writes, so the write lock is taken at once and
        // no read is ever upgraded. On any error the transaction is dropped uncommitted.
        let mut tx = self.pool.begin().await.map_err(db_err)?;
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
