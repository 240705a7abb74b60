//! The copy from SQLite to PostgreSQL (`tessera_store::copy`) on real parts: a SQLite file
//! filled through the store traits, and the PostgreSQL server of `tests/postgres.rs`, each test
//! in a schema of its own. What was copied is read back through the PostgreSQL store's traits.

mod fixtures;
mod pg;

use fixtures::{fill, t, Filled};
use pg::Schema;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tessera_core::revocation::new_jti;
use tessera_core::{
    AuditEvent, BearerSecret, CodeRedemption, Revocation, RevocationReason, RevocationTarget,
};
use tessera_store::copy::{self, CopyReport, Progress, SqliteToPostgres};
use tessera_store::sqlite::SqliteStore;
use tessera_store::{
    AuditStore, ClientStore, FeedRead, ProbedStore, RevocationStore, StoreError, UserStore,
};
use time::Duration;

/// A SQLite file in a temporary directory, filled by `fill` and closed, as a stopped node
/// leaves it.
async fn sqlite_file<F, Fut, T>(fill: F) -> (TempDir, PathBuf, T)
where
    F: FnOnce(SqliteStore) -> Fut,
    Fut: std::future::Future<Output = (SqliteStore, T)>,
{
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let (store, filled) = fill(store).await;
    store.close().await;
    (dir, path, filled)
}

async fn filled_file() -> (TempDir, PathBuf, Filled) {
    sqlite_file(|store| async move {
        let filled = fill(&store).await;
        (store, filled)
    })
    .await
}

fn keep_going(_: &Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn count(report: &CopyReport, table: &str) -> (u64, u64) {
    let row = report
        .tables
        .iter()
        .find(|row| row.table == table)
        .unwrap_or_else(|| panic!("no {table} in the report"));
    (row.source_rows, row.target_rows)
}

/// Everything stored comes back identical through the PostgreSQL store; ids and cursors keep
/// their values, and new ones continue above every one the source handed out.
#[tokio::test]
async fn every_aggregate_comes_back_through_the_postgres_store() {
    let (_dir, path, filled) = filled_file().await;
    // Fold the WAL into the file first, so that the file's bytes are the whole database and
    // any write to it would show.
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = std::fs::read(&path).unwrap();
    let schema = Schema::create().await;

    let mut calls = Vec::new();
    let report = copy::copy_sqlite_to_postgres(&path, schema.options(), |p| {
        calls.push(p.clone());
        ControlFlow::Continue(())
    })
    .await
    .unwrap();

    assert!(report.verified(), "{report:?}");
    assert!(!report.stopped);
    assert_eq!(count(&report, "users"), (2, 2));
    assert_eq!(count(&report, "session_clients"), (2, 2));
    assert_eq!(count(&report, "backchannel_deliveries"), (1, 1));
    assert_eq!(count(&report, "revoked_refresh_families"), (1, 1));
    assert_eq!(report.source_horizon, filled.last_cursor);
    assert_eq!(report.target_horizon, filled.last_cursor);
    for row in &report.tables {
        assert_eq!(row.inserted, row.source_rows, "{row:?}");
    }
    // Every table of the PostgreSQL schema is accounted for (the feed's one row by its
    // horizon), so nothing the migrations create is left behind.
    let mut pg_tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name NOT IN \
         ('_sqlx_migrations', 'revocation_feed') ORDER BY 1",
    )
    .fetch_all(&mut schema.raw().await)
    .await
    .unwrap();
    let mut reported: Vec<String> = report.tables.iter().map(|r| r.table.to_owned()).collect();
    reported.sort();
    pg_tables.sort();
    assert_eq!(reported, pg_tables);
    // Progress: a start and an end for every table, never past the total.
    for row in &report.tables {
        let of_table: Vec<_> = calls.iter().filter(|p| p.table == row.table).collect();
        assert_eq!(of_table.first().unwrap().done, 0, "{}", row.table);
        assert!(of_table.iter().all(|p| p.done <= p.total));
        assert_eq!(
            of_table.last().unwrap().done,
            row.source_rows,
            "{}",
            row.table
        );
    }
    // The source was only read: the file is as it was, and nothing waits in a WAL to be
    // folded into it (SQLite creates an empty WAL beside a WAL-mode file even for a reader).
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the source file changed"
    );
    let wal = path.with_extension("db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);

    let source = SqliteStore::open(&path).await.unwrap();
    let target = pg::open(&schema).await;
    compare(&source, &target, &filled).await;

    // New feed entries and audit records continue above the swept newest cursor.
    let outcome = target
        .revoke(&Revocation::new(
            RevocationTarget::Token {
                jti: new_jti(),
                expires_at: t(9000),
            },
            t(200),
            Duration::minutes(15),
            RevocationReason::ClientRequest,
            "client:spa",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.entry.cursor, filled.last_cursor + 1);
    let source_audit = source.recent_audit(100).await.unwrap();
    let newest = target
        .append_audit(&AuditEvent::new(t(300), "cli", "x", "y", None, "{}".into()))
        .await
        .unwrap();
    assert!(newest > source_audit.last().unwrap().id);
    source.close().await;
    target.close().await;
}

/// Reads every aggregate from both stores and compares.
async fn compare(source: &dyn ProbedStore, target: &dyn ProbedStore, filled: &Filled) {
    assert_eq!(target.list_users().await.unwrap(), filled.users_sorted());
    assert_eq!(
        target.list_users().await.unwrap(),
        source.list_users().await.unwrap()
    );
    assert_eq!(
        target.list_clients().await.unwrap(),
        source.list_clients().await.unwrap()
    );
    assert_eq!(
        target.list_clients().await.unwrap().len(),
        filled.clients.len()
    );
    let keys = target.list_signing_keys().await.unwrap();
    assert_eq!(keys, source.list_signing_keys().await.unwrap());
    assert_eq!(keys[0].sealed_private_key, vec![0, 1, 2, 254, 255, 0]);
    assert!(keys[0].rotated_at.is_some() && keys[1].rotated_at.is_none());

    for session in &filled.sessions {
        assert_eq!(
            target.find_session(&session.sid).await.unwrap().as_ref(),
            Some(session)
        );
        assert_eq!(
            target.list_user_sessions(&session.user_id).await.unwrap(),
            source.list_user_sessions(&session.user_id).await.unwrap()
        );
    }
    let summaries = target
        .list_user_sessions(&filled.users[0].id)
        .await
        .unwrap();
    assert_eq!(summaries[0].clients.len(), 2, "{summaries:?}");

    for hash in &filled.refresh_hashes {
        let copied = target.find_refresh_token(hash).await.unwrap();
        assert!(copied.is_some());
        assert_eq!(copied, source.find_refresh_token(hash).await.unwrap());
    }
    // The revoked family is remembered: a token of it is born revoked.
    let mut late = target
        .find_refresh_token(&filled.refresh_hashes[1])
        .await
        .unwrap()
        .unwrap()
        .token;
    late.token_hash = BearerSecret::generate(32).hash();
    late.family_id = filled.revoked_family.clone();
    assert!(!target.create_refresh_token(&late).await.unwrap());

    assert_eq!(
        target
            .find_consent(&filled.consent.user_id, &filled.consent.client_id)
            .await
            .unwrap(),
        Some(filled.consent.clone())
    );
    for request in &filled.login_requests {
        assert_eq!(
            target.find_login_request(&request.id).await.unwrap(),
            Some(request.clone())
        );
    }

    let lock = target.find_login_throttle(&filled.throttled).await.unwrap();
    assert!(lock.as_ref().is_some_and(|l| l.locked_until.is_some()));
    assert_eq!(
        lock,
        source.find_login_throttle(&filled.throttled).await.unwrap()
    );

    let now = t(100);
    assert_eq!(
        target.revocation_snapshot(now).await.unwrap(),
        source.revocation_snapshot(now).await.unwrap()
    );
    assert_eq!(
        target.count_revocations().await.unwrap(),
        source.count_revocations().await.unwrap()
    );
    // A reader from the start has missed the swept entry on both.
    assert_eq!(
        target.revocations_after(0, 100).await.unwrap(),
        FeedRead::Behind
    );
    assert_eq!(
        target
            .revocations_after(filled.last_cursor, 100)
            .await
            .unwrap(),
        FeedRead::Entries(vec![])
    );
    assert_eq!(
        target
            .revocations_after(filled.last_cursor + 1, 100)
            .await
            .unwrap(),
        FeedRead::Ahead
    );
    assert_eq!(
        target.recent_audit(100).await.unwrap(),
        source.recent_audit(100).await.unwrap()
    );
    assert_eq!(
        target
            .claim_backchannel_deliveries(now, t(160), 10)
            .await
            .unwrap(),
        source
            .claim_backchannel_deliveries(now, t(160), 10)
            .await
            .unwrap()
    );

    // Codes: the redeemed one is a replay on PostgreSQL too, the other is redeemable once.
    match target
        .redeem_code(&filled.redeemed_code.code_hash, now)
        .await
        .unwrap()
    {
        CodeRedemption::Replayed { code, .. } => assert_eq!(code, filled.redeemed_code),
        other => panic!("{other:?}"),
    }
    match target
        .redeem_code(&filled.fresh_code.code_hash, now)
        .await
        .unwrap()
    {
        CodeRedemption::First(code) => assert_eq!(code, filled.fresh_code),
        other => panic!("{other:?}"),
    }
}

impl Filled {
    fn users_sorted(&self) -> Vec<tessera_core::User> {
        let mut users = self.users.clone();
        users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        users
    }
}

/// 25 users and 25 audit records, for copies in several batches.
async fn many_rows_file() -> (TempDir, PathBuf, ()) {
    sqlite_file(|store| async move {
        for i in 0..25 {
            store
                .create_user(&fixtures::user(&format!("user{i:02}@example.com")))
                .await
                .unwrap();
            store
                .append_audit(&AuditEvent::new(t(i), "cli", "a", "b", None, "{}".into()))
                .await
                .unwrap();
        }
        store
            .create_client(&fixtures::public_client("spa"))
            .await
            .unwrap();
        (store, ())
    })
    .await
}

/// A copy stopped after some batches (as an interruption would leave it) is completed by
/// running it again: every row once, none twice, and the sequences moved.
#[tokio::test]
async fn an_interrupted_copy_resumes_without_duplicates() {
    let (_dir, path, ()) = many_rows_file().await;
    let schema = Schema::create().await;
    let run = |stop_in: &'static str, after_batches: usize| {
        let path = path.clone();
        let options = schema.options();
        async move {
            let mut batches = 0;
            SqliteToPostgres::new(&path, options)
                .batch_size(4)
                .run(move |p| {
                    if p.table == stop_in && p.done > 0 {
                        batches += 1;
                        if batches == after_batches {
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                })
                .await
                .unwrap()
        }
    };

    // Stopped in the middle of the users: 3 batches of 4.
    let first = run("users", 3).await;
    assert!(first.stopped && !first.verified());
    assert_eq!(count(&first, "users"), (25, 12));
    assert_eq!(count(&first, "audit_events"), (25, 0));

    // Stopped again in the middle of the audit records, the users completed.
    let second = run("audit_events", 2).await;
    assert!(second.stopped);
    assert_eq!(count(&second, "users"), (25, 25));
    let users = second.tables.iter().find(|r| r.table == "users").unwrap();
    assert_eq!(users.inserted, 13, "only what the first run left out");
    assert_eq!(count(&second, "audit_events"), (25, 8));

    let third = run("none", 0).await;
    assert!(third.verified(), "{third:?}");
    let audit = third
        .tables
        .iter()
        .find(|r| r.table == "audit_events")
        .unwrap();
    assert_eq!((audit.inserted, audit.target_rows), (17, 25));
    // Once more: nothing left to do.
    let fourth = run("none", 0).await;
    assert!(fourth.verified());
    assert!(fourth.tables.iter().all(|r| r.inserted == 0), "{fourth:?}");

    let target = pg::open(&schema).await;
    let source = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        target.list_users().await.unwrap(),
        source.list_users().await.unwrap()
    );
    let audit = target.recent_audit(100).await.unwrap();
    assert_eq!(audit, source.recent_audit(100).await.unwrap());
    let ids: Vec<i64> = audit.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    let next = target
        .append_audit(&AuditEvent::new(t(99), "cli", "a", "b", None, "{}".into()))
        .await
        .unwrap();
    assert_eq!(next, 26);
    source.close().await;
    target.close().await;
}

/// A target holding rows the source does not have is refused before anything is written.
#[tokio::test]
async fn a_target_with_foreign_data_is_refused() {
    let (_dir, path, _) = filled_file().await;
    let schema = Schema::create().await;
    let target = pg::open(&schema).await;
    target
        .create_user(&fixtures::user("eve@elsewhere.example"))
        .await
        .unwrap();
    target.close().await;

    let err = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap_err();
    let StoreError::Conflict(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("users (1)"), "{msg}");
    assert!(msg.contains("not in the source"), "{msg}");
    let target = pg::open(&schema).await;
    assert!(target.list_clients().await.unwrap().is_empty());
    assert_eq!(target.list_users().await.unwrap().len(), 1);
    target.close().await;
}

/// A target already filled by this same source (an earlier, complete run) is not foreign: the
/// copy runs again and writes nothing.
#[tokio::test]
async fn a_target_filled_from_this_source_is_accepted_again() {
    let (_dir, path, _) = filled_file().await;
    let schema = Schema::create().await;
    let first = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap();
    assert!(first.verified());
    let again = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap();
    assert!(again.verified());
    assert!(again.tables.iter().all(|r| r.inserted == 0));
    assert_eq!(first.tables.len(), again.tables.len());
}

/// A missing source file is refused, and not created.
#[tokio::test]
async fn a_missing_source_is_refused_and_not_created() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nothing-here.db");
    let schema = Schema::create().await;
    let err = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!path.exists());
}

/// Changes the migration history of a closed file the way an older or newer binary would have
/// left it.
async fn tamper(path: &Path, sql: &str) {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn applied(path: &Path) -> Vec<i64> {
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap();
    let versions = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    versions
}

/// A source whose schema is older or newer than this binary's is refused, and never migrated.
#[tokio::test]
async fn a_source_of_another_schema_version_is_refused_unmigrated() {
    let (_dir, path, _) = filled_file().await;
    let schema = Schema::create().await;
    let latest = *applied(&path).await.last().unwrap();

    tamper(
        &path,
        &format!("DELETE FROM _sqlx_migrations WHERE version = {latest}"),
    )
    .await;
    let err = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooOld(_)), "{err:?}");
    assert!(err.to_string().contains("tessera serve"), "{err}");
    assert!(
        !applied(&path).await.contains(&latest),
        "the source was migrated"
    );

    tamper(
        &path,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 9999, 'from the future', 1, x'00', 0",
    )
    .await;
    let err = copy::copy_sqlite_to_postgres(&path, schema.options(), keep_going)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew(_)), "{err:?}");
    assert!(err.to_string().contains("9999"), "{err}");

    // Nothing reached the target.
    let target = pg::open(&schema).await;
    assert!(target.list_users().await.unwrap().is_empty());
    target.close().await;
}

/// URLs: the source must be SQLite and the target PostgreSQL; neither message repeats a
/// password.
#[tokio::test]
async fn urls_name_the_right_backends_without_echoing_passwords() {
    assert_eq!(
        copy::source_path("sqlite:///var/lib/tessera/tessera.db").unwrap(),
        PathBuf::from("/var/lib/tessera/tessera.db")
    );
    let err = copy::source_path("postgres://u:hunter2@db/tessera").unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
    assert!(err.to_string().contains("sqlite://"), "{err}");
    assert!(!err.to_string().contains("hunter2"));

    let err = copy::target_options("sqlite://tessera.db").unwrap_err();
    assert!(err.to_string().contains("postgres://"), "{err}");
    for url in [
        "mysql://u:hunter2@db/tessera",
        "postgres://u:hunter2@db:99999999/tessera",
    ] {
        let err = copy::target_options(url).unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    // An unreachable server: named, the password not.
    let (_dir, path, _) = filled_file().await;
    let options = copy::target_options("postgres://u:hunter2@127.0.0.1:1/tessera").unwrap();
    let err = copy::copy_sqlite_to_postgres(&path, options, keep_going)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
