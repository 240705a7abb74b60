//! The PostgreSQL backend: the shared contract suite against a real server, plus what only
//! PostgreSQL has (URLs and connect errors, several pools on one database, a server that drops
//! connections or is slow, change notifications between stores).
//!
//! The server comes from `TESSERA_TEST_POSTGRES_URL` (default [`DEFAULT_URL`]); that role must be
//! able to create schemas. Every test gets a schema of its own, so tests run in parallel without
//! sharing state, and drops it when done; schemas a crashed run left behind are dropped by the
//! next run once they are an hour old. An unreachable server fails the tests (it does not skip
//! them).

mod contract;

use tessera_pgtest::{admin, server_url, Schema};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_core::{
    Client, ClientId, Email, NewClient, Revocation, RevocationReason, RevocationTarget,
    SigningKeyRecord, User,
};
use tessera_store::postgres::PostgresStore;
use tessera_store::{
    connect, ClientStore, KeyStore, ProbedStore, RevocationStore, SessionStore, Store, StoreChange,
    StoreError, UserStore,
};
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// The PostgreSQL store on `schema`.
async fn open(schema: &Schema) -> PostgresStore {
    PostgresStore::connect_with(schema.options()).await.unwrap()
}

/// A fresh store on a schema of its own (dropped with the guard).
async fn fresh_store() -> (Schema, Arc<dyn ProbedStore>) {
    let schema = Schema::create().await;
    let store = PostgresStore::connect_with(schema.options()).await.unwrap();
    (schema, Arc::new(store))
}

contract::contract_suite!(fresh_store);

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn sample_client(id: &str) -> Client {
    Client::register(
        NewClient {
            id: id.into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            scopes: vec!["openid".into()],
            ..Default::default()
        },
        t(0),
    )
    .unwrap()
    .0
}

fn sample_user(email: &str) -> User {
    User::new(
        Email::parse(email).unwrap(),
        None,
        vec!["admin".into()],
        None,
        t(0),
    )
    .unwrap()
}

fn sample_key(kid: &str, created: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: "RS256".into(),
        sealed_private_key: vec![0, 1, 2, 255],
        created_at: t(created),
        rotated_at: None,
        expires_at: None,
    }
}

/// A raw connection with `schema` as the search path, to tamper with the tables the way an
/// older or newer binary (or a bug) would.
async fn raw(schema: &Schema) -> PgConnection {
    PgConnection::connect_with(&schema.options()).await.unwrap()
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let schema = Schema::create().await;
    let client = sample_client("app");
    let user = sample_user("ada@example.com");
    let key = SigningKeyRecord {
        rotated_at: Some(t(10)),
        expires_at: Some(t(20)),
        ..sample_key("k1", 0)
    };

    let store = open(&schema).await;
    store.create_client(&client).await.unwrap();
    store.create_user(&user).await.unwrap();
    store.create_signing_key(&key).await.unwrap();
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    drop(store);

    // Reopening runs the migrator again; it must find nothing to do.
    let store = open(&schema).await;
    assert_eq!(store.list_clients().await.unwrap(), vec![client]);
    assert_eq!(store.list_users().await.unwrap(), vec![user]);
    assert_eq!(store.list_signing_keys().await.unwrap(), vec![key]);
    assert!(format!("{store:?}").contains("127.0.0.1") || !server_url().contains("127.0.0.1"));
}

#[tokio::test]
async fn connect_opens_postgres_urls() {
    let schema = Schema::create().await;
    let store = connect(&schema.url()).await.unwrap();
    assert_eq!(store.backend_name(), "postgres");
    store.create_client(&sample_client("app")).await.unwrap();

    // The other spelling, on the same schema while the first store is open (a second node).
    let url = schema.url();
    let other = url.replacen("postgres://", "postgresql://", 1);
    assert_ne!(url, other, "the test URL is expected to use postgres://");
    let second = connect(&other).await.unwrap();
    let found = second
        .find_client(&ClientId::parse("app").unwrap())
        .await
        .unwrap();
    assert!(found.is_some());
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_the_password_stays_secret() {
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    let url = "postgres://tessera:hunter2@127.0.0.1:1/tessera";
    let started = Instant::now();
    let errors = [
        PostgresStore::connect(url).await.unwrap_err(),
        connect(url).await.unwrap_err(),
        connect(&url.replacen("postgres:", "postgresql:", 1))
            .await
            .unwrap_err(),
    ];
    for err in errors {
        let StoreError::Unavailable(msg) = &err else {
            panic!("{err:?}");
        };
        assert!(msg.contains("127.0.0.1:1"), "names host and port: {msg}");
        assert!(msg.contains("tessera"), "names database and user: {msg}");
        assert!(!msg.contains("hunter2"), "the password leaked: {msg}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(15), "fails fast");
}

#[tokio::test]
async fn a_wrong_database_is_unavailable_and_named() {
    let options = PgConnectOptions::from_str(&server_url())
        .unwrap()
        .database("tessera_no_such_database")
        .password("hunter2");
    let err = PostgresStore::connect_with(options).await.unwrap_err();
    let StoreError::Unavailable(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("tessera_no_such_database"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let schema = Schema::create().await;
    open(&schema).await.close().await;

    // Pretend a newer tessera applied a migration this binary does not know.
    let mut conn = raw(&schema).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = PostgresStore::connect_with(schema.options())
        .await
        .unwrap_err();
    let StoreError::SchemaTooNew(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("newer version of tessera"), "{msg}");
    assert!(msg.contains("9999") && msg.contains("upgrade"), "{msg}");
    let err = connect(&schema.url()).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew(_)), "{err:?}");
}

#[tokio::test]
async fn undecodable_rows_are_backend_errors() {
    let schema = Schema::create().await;
    let store = open(&schema).await;
    store.create_client(&sample_client("good")).await.unwrap();
    let user = sample_user("good@example.com");
    store.create_user(&user).await.unwrap();

    let mut conn = raw(&schema).await;
    sqlx::query(
        "INSERT INTO clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
         grant_types, scopes, is_first_party, created_at) \
         VALUES ('bad', 'bad', NULL, '[]', '[]', '[\"password\"]', '[]', false, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sessions (sid, secret_hash, user_id, auth_time, amr, created_at, \
         expires_at) VALUES ('s-bad', 'h-bad', $1, 0, 'pwd', 0, 0)",
    )
    .bind(user.id.as_str())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = store
        .find_client(&ClientId::parse("bad").unwrap())
        .await
        .unwrap_err();
    let StoreError::Backend(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("password"), "{msg}");
    assert!(matches!(
        store.list_clients().await,
        Err(StoreError::Backend(_))
    ));
    let good = store.find_client(&ClientId::parse("good").unwrap()).await;
    assert!(good.unwrap().is_some());

    let err = store
        .find_session(&tessera_core::SessionId::from_stored("s-bad".into()))
        .await
        .unwrap_err();
    let StoreError::Backend(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("s-bad") && msg.contains("amr"), "{msg}");
}

#[tokio::test]
async fn conflicts_say_what_clashed_without_sql() {
    let (_schema, store) = fresh_store().await;
    let ada = sample_user("ada@example.com");
    store.create_user(&ada).await.unwrap();
    store.create_client(&sample_client("app")).await.unwrap();

    let mut same_id = sample_user("other@example.com");
    same_id.id = ada.id.clone();
    let cases = [
        (
            store.create_user(&sample_user("ada@example.com")).await,
            "email",
        ),
        (store.create_user(&same_id).await, ada.id.as_str()),
        (
            store.create_client(&sample_client("app")).await,
            "client app",
        ),
    ];
    for (result, fragment) in cases {
        let Err(StoreError::Conflict(msg)) = result else {
            panic!("{result:?}");
        };
        assert!(msg.contains(fragment), "{msg}");
        assert!(
            !msg.contains("INSERT") && !msg.contains("duplicate key"),
            "{msg}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_write_one_database_concurrently() {
    // Two nodes, each with its own pool, on the same database.
    let schema = Schema::create().await;
    let first = Arc::new(open(&schema).await);
    let second = Arc::new(open(&schema).await);

    let mut tasks = Vec::new();
    for (who, store) in [("first", first.clone()), ("second", second.clone())] {
        for i in 0..15 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_user(&sample_user(&format!("{who}-{i}@example.com")))
                    .await
                    .unwrap();
                let key = sample_key(&format!("{who}-{i}"), i);
                store
                    .rotate_signing_key(&key, t(i), t(i + 60))
                    .await
                    .unwrap();
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(first.list_users().await.unwrap().len(), 30);
    let keys = second.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), 30);
    // Every rotation retired the previous active key, so exactly one remains active.
    assert_eq!(keys.iter().filter(|k| k.rotated_at.is_none()).count(), 1);
}

#[tokio::test]
async fn the_pool_reconnects_after_the_server_drops_its_connections() {
    let schema = Schema::create().await;
    let app = format!("tessera-reconnect-{}", schema.name());
    let store = PostgresStore::connect_with(schema.options().application_name(&app))
        .await
        .unwrap();
    store.create_client(&sample_client("app")).await.unwrap();

    // The server ends every connection of this store (a restart, a failover, an operator).
    let mut admin = admin().await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&app)
    .execute(&mut admin)
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&app)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the backends did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The pool notices the dead connections and opens new ones; no caller sees an error.
    store.ping().await.unwrap();
    assert_eq!(store.list_clients().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_statement_stuck_behind_a_lock_is_unavailable() {
    let schema = Schema::create().await;
    let store =
        PostgresStore::connect_with(schema.options().options([("statement_timeout", "500ms")]))
            .await
            .unwrap();

    // Another session holds the table for longer than the store's statement timeout.
    let mut holder = raw(&schema).await;
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = store.list_users().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    assert!(store.list_users().await.unwrap().is_empty());
}

/// The next change `changes` reports. The timeout only guards against a hang.
async fn next_change(changes: &mut broadcast::Receiver<StoreChange>) -> StoreChange {
    tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("a change is reported")
        .expect("the listener runs")
}

fn global_revocation(at: OffsetDateTime) -> Revocation {
    Revocation::new(
        RevocationTarget::Global,
        at,
        time::Duration::minutes(5),
        RevocationReason::AdminRevoke,
        "test",
    )
}

fn token_revocation(jti: &str, at: OffsetDateTime) -> Revocation {
    Revocation::new(
        RevocationTarget::Token {
            jti: jti.into(),
            expires_at: at + time::Duration::minutes(5),
        },
        at,
        time::Duration::minutes(5),
        RevocationReason::AdminRevoke,
        "test",
    )
}

#[tokio::test]
async fn committed_changes_of_the_schema_are_reported_to_every_store_once_each() {
    let schema = Schema::create().await;
    let listening = open(&schema).await;
    let writer = open(&schema).await;
    let elsewhere_schema = Schema::create().await;
    let elsewhere = open(&elsewhere_schema).await;
    let mut changes = listening
        .subscribe_changes()
        .expect("PostgreSQL reports changes");
    // The listener says when it listens: anything before may have been missed.
    assert_eq!(next_change(&mut changes).await, StoreChange::Resync);

    // Notifications arrive in commit order, so each expected change below also proves that
    // nothing was reported for the steps before it that must not notify.
    // Another schema on the same database (the channel is database-wide) is not ours.
    elsewhere.revoke(&global_revocation(t(0))).await.unwrap();
    // A revocation written by another store (node) is; a repeat, which writes nothing, is not.
    writer
        .revoke(&token_revocation("jti-1", t(0)))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(next_change(&mut changes).await, StoreChange::Revocations);
    assert_eq!(
        writer
            .revoke(&token_revocation("jti-1", t(1)))
            .await
            .unwrap(),
        None
    );
    // A rotation that fails (duplicate kid) rolls back, and its notification with it.
    writer
        .create_signing_key(&sample_key("k1", 0))
        .await
        .unwrap();
    assert_eq!(next_change(&mut changes).await, StoreChange::SigningKeys);
    let err = writer
        .rotate_signing_key(&sample_key("k1", 1), t(1), t(2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    writer
        .rotate_signing_key(&sample_key("k2", 1), t(1), t(2))
        .await
        .unwrap();
    assert_eq!(next_change(&mut changes).await, StoreChange::SigningKeys);
    // Sweeps notify only when they delete something.
    assert_eq!(writer.delete_expired_signing_keys(t(1)).await.unwrap(), 0);
    assert_eq!(writer.delete_expired_revocations(t(0)).await.unwrap(), 0);
    assert_eq!(
        writer
            .delete_expired_revocations(t(0) + time::Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(next_change(&mut changes).await, StoreChange::Revocations);
    assert_eq!(writer.delete_expired_signing_keys(t(2)).await.unwrap(), 1);
    assert_eq!(next_change(&mut changes).await, StoreChange::SigningKeys);
    // The store's own writes are reported to it too, and to every subscriber.
    let mut second = listening.subscribe_changes().unwrap();
    listening
        .revoke(&global_revocation(t(3)))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(next_change(&mut changes).await, StoreChange::Revocations);
    assert_eq!(next_change(&mut second).await, StoreChange::Revocations);
    assert!(changes.try_recv().is_err(), "nothing else was reported");
}

#[tokio::test]
async fn the_listener_reconnects_after_losing_its_connection_and_says_to_resync() {
    let schema = Schema::create().await;
    let store = open(&schema).await;
    let mut changes = store.subscribe_changes().unwrap();
    assert_eq!(next_change(&mut changes).await, StoreChange::Resync);

    // The server ends the listener's connection (a restart, a failover, an operator).
    let mut admin = admin().await;
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND query LIKE 'LISTEN %'",
    )
    .bind(schema.name())
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one listener connection");

    // Whatever was committed while it was away went unheard: it says so once it listens again,
    // and then hears new changes.
    assert_eq!(next_change(&mut changes).await, StoreChange::Resync);
    store
        .revoke(&global_revocation(t(0)))
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(next_change(&mut changes).await, StoreChange::Revocations);
}

#[tokio::test]
async fn closing_the_store_stops_its_listener() {
    let schema = Schema::create().await;
    let store = open(&schema).await;
    let mut changes = store.subscribe_changes().unwrap();
    assert_eq!(next_change(&mut changes).await, StoreChange::Resync);
    store.close().await;
    let closed = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("the channel closes");
    assert_eq!(closed, Err(broadcast::error::RecvError::Closed));
}

/// Operator commands open the store with `connect_existing`: a database Tessera never set up is
/// refused and left without a single table, instead of being given an empty schema no server
/// reads.
#[tokio::test]
async fn connect_existing_never_creates_the_schema() {
    let schema = Schema::create().await;
    let err = tessera_store::connect_existing(&schema.url())
        .await
        .unwrap_err();
    let StoreError::Missing(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("has no Tessera tables"), "{msg}");
    let mut conn = raw(&schema).await;
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 0);
    conn.close().await.unwrap();

    open(&schema).await.close().await;
    let store = tessera_store::connect_existing(&schema.url())
        .await
        .unwrap();
    assert!(store.list_clients().await.unwrap().is_empty());
}
