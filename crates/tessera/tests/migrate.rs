//! `tessera migrate` as an operator runs it: the real binary, a real SQLite file, and the test
//! PostgreSQL server (`TESSERA_TEST_POSTGRES_URL`, as for the store's tests), each test in a
//! schema of its own.

use sqlx::Connection as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use tempfile::TempDir;
use tessera_core::{Client, Email, NewClient, PasswordHash, SigningKeyRecord, User};
use tessera_pgtest::Schema;
use tessera_store::sqlite::SqliteStore;
use tessera_store::{ClientStore, KeyStore, UserStore};
use time::OffsetDateTime;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

/// A SQLite database in `dir` with `users` users (sharing one precomputed, fake hash: hashing
/// thousands of real passwords would take minutes), a client and a sealed signing key.
async fn sqlite_with_users(dir: &Path, users: usize) -> PathBuf {
    let path = dir.join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let hash = PasswordHash::from_stored(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA".to_owned(),
    );
    for i in 0..users {
        let user = User::new(
            Email::parse(&format!("user{i:05}@example.com")).unwrap(),
            Some(format!("User {i}")),
            vec!["staff".into()],
            Some(hash.clone()),
            t(i as i64),
        )
        .unwrap();
        store.create_user(&user).await.unwrap();
    }
    let (client, _) = Client::register(
        NewClient {
            id: "app".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            is_public: true,
            ..Default::default()
        },
        t(0),
    )
    .unwrap();
    store.create_client(&client).await.unwrap();
    store
        .create_signing_key(&SigningKeyRecord {
            kid: "k1".into(),
            alg: "RS256".into(),
            sealed_private_key: vec![1, 2, 3, 0, 255],
            created_at: t(0),
            rotated_at: None,
            expires_at: None,
        })
        .await
        .unwrap();
    store.close().await;
    path
}

/// Runs `tessera ARGS` in `dir`.
fn tessera(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("TESSERA_MIGRATE_TO")
        .output()
        .expect("tessera runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn migrate(dir: &Path, from: &Path, to: &str) -> Output {
    tessera(
        dir,
        &[
            "migrate",
            "--from",
            &format!("sqlite://{}", from.display()),
            "--to",
            to,
        ],
    )
}

/// The counts line of `table` in the verification: (sqlite, postgres, new).
fn counts(stdout: &str, table: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no line for {table} in:\n{stdout}"));
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

/// 10,000 users copied, verified and printed; readable through `tessera` on PostgreSQL
/// afterwards; a second run copies nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_users_are_copied_and_verified() {
    let dir = TempDir::new().unwrap();
    let source = sqlite_with_users(dir.path(), 10_000).await;
    let schema = Schema::create().await;

    let started = Instant::now();
    let out = migrate(dir.path(), &source, &schema.url());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    eprintln!("copied 10,000 users in {:?}", started.elapsed());

    assert_eq!(counts(&stdout, "users"), (10_000, 10_000, 10_000));
    assert_eq!(counts(&stdout, "clients"), (1, 1, 1));
    assert_eq!(counts(&stdout, "signing_keys"), (1, 1, 1));
    assert_eq!(counts(&stdout, "audit_events"), (0, 0, 0));
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    assert!(stdout.contains("verified:"), "{stdout}");
    // The key-encryption key stays behind; the operator is told to bring it.
    assert!(stdout.contains("key-encryption key file"), "{stdout}");
    assert!(stdout.contains("key-encryption-key"), "{stdout}");
    // Not a terminal: plain lines, one when each table starts and one when it is done.
    assert!(stderr.contains("users: 0/10000 rows copying"), "{stderr}");
    assert!(
        stderr.contains("users: 10000/10000 rows done, 10000 new"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in a log: {stderr}"
    );

    // The PostgreSQL database serves the CLI (and so the server) as the store it now is.
    let out = tessera(
        dir.path(),
        &[
            "--database-url",
            &schema.url(),
            "user",
            "show",
            "user04242@example.com",
        ],
    );
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}{}", text(&out.stderr));
    assert!(shown.contains("user04242@example.com"), "{shown}");
    assert!(shown.contains("User 4242"), "{shown}");

    // Again: everything is there, nothing is written twice.
    let out = migrate(dir.path(), &source, &schema.url());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(counts(&stdout, "users"), (10_000, 10_000, 0));
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut schema.raw().await)
        .await
        .unwrap();
    assert_eq!(users, 10_000);
}

/// A target that loses rows (here a rule swallows inserts into one table) fails the
/// verification: the table is marked and the exit code is non-zero.
#[tokio::test]
async fn a_count_that_differs_fails_the_verification() {
    let dir = TempDir::new().unwrap();
    let source = sqlite_with_users(dir.path(), 3).await;
    let schema = Schema::create().await;
    // A first run creates the tables; the keys are then emptied and swallowed from now on.
    assert!(migrate(dir.path(), &source, &schema.url()).status.success());
    let mut conn = schema.raw().await;
    for sql in [
        "DELETE FROM signing_keys",
        "CREATE RULE swallow AS ON INSERT TO signing_keys DO INSTEAD NOTHING",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let out = migrate(dir.path(), &source, &schema.url());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}");
    assert_eq!(counts(&stdout, "signing_keys"), (1, 0, 0));
    assert!(stdout.contains("MISMATCH"), "{stdout}");
    assert!(!stdout.contains("verified:"), "{stdout}");
    assert!(stderr.contains("verification failed"), "{stderr}");
}

/// Each refusal exits non-zero and names the problem, never the password.
#[tokio::test]
async fn refusals_name_the_problem_and_not_the_password() {
    let dir = TempDir::new().unwrap();
    let source = sqlite_with_users(dir.path(), 2).await;
    let from = format!("sqlite://{}", source.display());
    let schema = Schema::create().await;

    let refused = |args: &[&str], expect: &str| {
        let out = tessera(dir.path(), args);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
        assert!(!text(&out.stdout).contains("hunter2"));
    };
    refused(
        &[
            "migrate",
            "--from",
            "sqlite://missing.db",
            "--to",
            &schema.url(),
        ],
        "does not exist",
    );
    assert!(!dir.path().join("missing.db").exists());
    refused(
        &[
            "migrate",
            "--from",
            "postgres://u:hunter2@db/x",
            "--to",
            &schema.url(),
        ],
        "must be a sqlite:// URL",
    );
    refused(
        &["migrate", "--from", &from, "--to", "sqlite://other.db"],
        "must be a postgres:// URL",
    );
    refused(
        &[
            "migrate",
            "--from",
            &from,
            "--to",
            "postgres://tessera:hunter2@127.0.0.1:1/tessera",
        ],
        "cannot connect to PostgreSQL at 127.0.0.1:1",
    );

    // A target another installation already uses.
    let out = tessera(dir.path(), &["--database-url", &schema.url(), "init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tessera(
        dir.path(),
        &[
            "--database-url",
            &schema.url(),
            "user",
            "add",
            "eve@elsewhere.example",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    refused(
        &["migrate", "--from", &from, "--to", &schema.url()],
        "already holds data that is not in the source",
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut schema.raw().await)
        .await
        .unwrap();
    assert_eq!(users, 1, "nothing was copied");
}
