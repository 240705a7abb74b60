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

/// Appended to a read whose rows the transaction updates next: concurrent transactions wait
/// for the row and decide one after the other, each on what the previous one committed.
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";

/// Appended to the read of the session a new authorization code joins: holds the session
/// against deletion (a revocation ending it) until the commit, without blocking other codes.
pub(crate) const FOR_KEY_SHARE: &str = " FOR KEY SHARE";

/// Appended to the read of due back-channel deliveries: each delivery read is locked until the
/// commit, and deliveries another claimer has locked are passed over rather than waited for, so
/// two workers never lease one delivery and neither waits for the other. A delivery whose lease
/// a concurrent claimer has just committed is re-checked on its new row and no longer due.
pub(crate) const CLAIM_DELIVERIES: &str = " FOR UPDATE OF d SKIP LOCKED";

/// Appended to the read of due outbox messages, for the same reason as [`CLAIM_DELIVERIES`].
pub(crate) const CLAIM_MESSAGES: &str = " FOR UPDATE SKIP LOCKED";

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
pub(crate) async fn revocations_exclusive(conn: &mut PgConnection) -> StoreResult<()> {
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
pub(crate) async fn audit(conn: &mut PgConnection) -> StoreResult<()> {
    lock(conn, "SELECT pg_advisory_xact_lock($1, $2)", TESSERA, AUDIT).await
}

/// Takes `signing_keys` in SHARE ROW EXCLUSIVE mode: for key rotations.
///
/// Why: two rotations of one algorithm must not overlap. Under READ COMMITTED the second's
/// UPDATE would not see the first's uncommitted new key, leave it active, and add its own.
/// SHARE ROW EXCLUSIVE conflicts with itself and with every other write to the table, but not
/// with readers; rotations are rare.
pub(crate) async fn signing_keys(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Takes the locks every transaction that stores or revokes refresh tokens of `families`
/// needs, in the order above: the revocation lock shared (no revocation entry commits
/// meanwhile), then the families' locks (no revocation of those families commits meanwhile,
/// and no token of them is stored meanwhile).
pub(crate) async fn refresh_tokens(conn: &mut PgConnection, families: &[&str]) -> StoreResult<()> {
    revocations_shared(&mut *conn).await?;
    refresh_families(conn, families).await
}

/// The lock for storing refresh tokens of families nobody else can know yet (`SeedStore`): the
/// revocation lock shared, so no revocation that should cover them commits between the check
/// and the insert. The per-family locks are not needed: no one can be revoking a new family.
pub(crate) async fn new_refresh_families(conn: &mut PgConnection) -> StoreResult<()> {
    revocations_shared(conn).await
}

/// Before a rotation reads the presented token: takes [`refresh_tokens`] for its family and the
/// successor's. The family a token belongs to never changes, so it can be read before the
/// locks. Returns false for an unknown token (no locks taken; the caller answers invalid).
/// The rotation then reads the row [`FOR_UPDATE`]: the family lock already orders rotations of
/// one token, and the row lock keeps the row as read until the commit, whoever else writes it.
pub(crate) async fn presented_refresh_token(
    conn: &mut PgConnection,
    token_hash: &str,
    successor_family: &str,
) -> StoreResult<bool> {
    let family: Option<String> =
        sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    let Some(family) = family else {
        return Ok(false);
    };
    refresh_tokens(conn, &[&family, successor_family]).await?;
    Ok(true)
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

/// Locks the sessions a revocation is about to end (`sessions_where` over `$1` = `key`), before
/// it reads who took part in them.
///
/// Why: a code being issued in one of them holds it (`FOR KEY SHARE`, see `create_code`) until
/// its commit, so once these locks are held every participation is committed and the read sees
/// it; later codes find the session gone and record none.
pub(crate) async fn ending_sessions(
    conn: &mut PgConnection,
    sessions_where: &str,
    key: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "SELECT 1 FROM sessions WHERE {sessions_where} FOR UPDATE"
    ))
    .bind(key)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
