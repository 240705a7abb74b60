//! The transaction-scoped advisory locks that stand in for SQLite's single writer where the
//! contract needs one. Each is released when its transaction commits or rolls back.
//!
//! Lock order, to rule out deadlocks between them: the revocation lock (shared or exclusive)
//! first, then refresh-family locks (in sorted order), then the audit lock. No transaction asks
//! for the exclusive revocation lock while holding a shared one.
//!
//! Keys use PostgreSQL's two-`int4` form, whose key space does not overlap the single-`bigint`
//! one that sqlx's migrator locks; the first number tells Tessera's locks from anyone else's.

use super::convert::db_err;
use crate::StoreResult;
use sqlx::PgConnection;

/// "TESS": the first key of every Tessera lock on one object.
const TESSERA: i32 = 0x5445_5353;
/// "TESF": the first key of refresh-family locks; the second is a hash of the family id.
const TESSERA_FAMILY: i32 = 0x5445_5346;

/// Second keys under [`TESSERA`].
const REVOCATIONS: i32 = 1;
const AUDIT: i32 = 2;

/// Takes the revocation lock exclusively: for transactions that insert into (or sweep) the
/// revocation feed.
///
/// Why: a feed cursor is an identity value, drawn when the row is inserted, but PostgreSQL may
/// commit a transaction that drew cursor 5 after one that drew cursor 6. A reader that has
/// already seen 6 would then skip 5 for ever. Holding this lock from before the insert until
/// the commit makes cursors commit in order. It also makes `revoke`'s read-check-write (is
/// this jti already revoked? which sessions and tokens does it end?) see every earlier
/// revocation and every refresh token stored before it. Revocations are rare; the lock costs
/// nothing noticeable.
pub(super) async fn revocations_exclusive(conn: &mut PgConnection) -> StoreResult<()> {
    lock(
        conn,
        "SELECT pg_advisory_xact_lock($1, $2)",
        TESSERA,
        REVOCATIONS,
    )
    .await
}

/// Takes the revocation lock shared: for transactions that store or revoke refresh tokens.
///
/// Why: storing a token checks the revocation entries that cover it and inserts it in one
/// transaction. Under READ COMMITTED, a revocation committing between that check and the
/// insert would miss the new token in its own update (it cannot see the uncommitted row), and
/// the token would be stored live for a revoked session or user. Shared holders do not block
/// each other; they only wait for (and hold off) a revocation in progress.
pub(super) async fn revocations_shared(conn: &mut PgConnection) -> StoreResult<()> {
    lock(
        conn,
        "SELECT pg_advisory_xact_lock_shared($1, $2)",
        TESSERA,
        REVOCATIONS,
    )
    .await
}

/// Takes the audit lock: for transactions that append to the audit trail, whose ids are read
/// like a feed (`audit tail --follow` asks for ids after the last one it printed), for the same
/// reason as [`revocations_exclusive`].
pub(super) async fn audit(conn: &mut PgConnection) -> StoreResult<()> {
    lock(conn, "SELECT pg_advisory_xact_lock($1, $2)", TESSERA, AUDIT).await
}

/// Takes the locks of refresh-token families, sorted and without repeats so that two
/// transactions never wait for each other's second family.
///
/// Why: "revoke this family" and "store a token of this family" must not interleave; whichever
/// comes second must see the first (the contract: the family ends revoked either way).
/// Row locks cannot do it, since a family may be revoked before any of its tokens exists.
pub(super) async fn refresh_families(
    conn: &mut PgConnection,
    families: &[&str],
) -> StoreResult<()> {
    let mut families = families.to_vec();
    families.sort_unstable();
    families.dedup();
    for family in families {
        // Two families may hash alike; they then merely share a lock.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(TESSERA_FAMILY)
            .bind(family)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn lock(conn: &mut PgConnection, sql: &str, class: i32, object: i32) -> StoreResult<()> {
    sqlx::query(sql)
        .bind(class)
        .bind(object)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
