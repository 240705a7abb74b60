//! The SQLite backend: the shared contract suite on real files, plus what only SQLite has
//! (files, URLs, migrations on disk, several processes on one file).

mod contract;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use tessera_core::client::SecretHash;
use tessera_core::{
    BearerSecret, BrowserSession, Client, ClientId, CodeRedemption, Email, NewClient,
    RevocationReason, SessionId, SigningKeyRecord, User,
};
use tessera_store::sqlite::SqliteStore;
use tessera_store::{
    connect, ClientStore, CodeStore, KeyStore, ProbedStore, RefreshTokenStore, RevocationStore,
    SessionStore, Store, StoreError, UserStore,
};
use time::OffsetDateTime;

/// A fresh store on a new file in its own temporary directory (kept alive by the guard).
async fn fresh_store() -> (TempDir, Arc<dyn ProbedStore>) {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(&dir.path().join("tessera.db"))
        .await
        .unwrap();
    (dir, Arc::new(store))
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

/// A raw connection to the file, to tamper with it the way an older or newer binary would.
async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tessera.db");
    let client = sample_client("app");
    let user = sample_user("ada@example.com");
    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: "RS256".into(),
        sealed_private_key: vec![0, 1, 2, 255],
        created_at: t(0),
        rotated_at: Some(t(10)),
        expires_at: Some(t(20)),
    };

    let store = SqliteStore::open(&path).await.unwrap();
    store.create_client(&client).await.unwrap();
    store.create_user(&user).await.unwrap();
    store.create_signing_key(&key).await.unwrap();
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    drop(store);

    // Reopening runs the migrator again; it must find nothing to do.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.list_clients().await.unwrap(), vec![client]);
    assert_eq!(store.list_users().await.unwrap(), vec![user]);
    assert_eq!(store.list_signing_keys().await.unwrap(), vec![key]);
}

/// The database holds emails and password hashes: it and its WAL files are created owner-only,
/// whatever the umask (the directory here is a world-readable 0755 one).
#[cfg(unix)]
#[tokio::test]
async fn new_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("tessera.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.create_client(&sample_client("app")).await.unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("tessera.db{suffix}"));
        assert!(side.exists(), "{suffix} exists in WAL mode");
        assert_eq!(mode(&side), 0o600, "{suffix}");
    }
    store.close().await;
}

#[tokio::test]
async fn connect_opens_sqlite_urls() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("via-url.db");

    let store = connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.backend_name(), "sqlite");
    assert!(path.is_file(), "the file is created");
    store.create_client(&sample_client("app")).await.unwrap();

    // The other spelling, on the same file while the first store is open (CLI next to server).
    let second = connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let found = second
        .find_client(&ClientId::parse("app").unwrap())
        .await
        .unwrap();
    assert!(found.is_some());
}

#[tokio::test]
async fn connect_rejects_other_urls() {
    for url in [
        "mysql://root@localhost/tessera",
        "mysql://tessera:hunter2@db.example/tessera",
        "garbage",
        "",
        "sqlite://",
        "sqlite::memory:",
    ] {
        let err = connect(url).await.unwrap_err();
        let StoreError::InvalidUrl(msg) = &err else {
            panic!("{url:?}: {err:?}");
        };
        assert!(msg.contains("sqlite://PATH"), "{url:?}: {msg}");
        assert!(!msg.contains("hunter2"), "the password leaked: {msg}");
    }
}

#[tokio::test]
async fn missing_parent_directory_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("no-such-dir").join("tessera.db");
    let err = SqliteStore::open(&path).await.unwrap_err();
    let StoreError::Unavailable(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tessera.db");
    SqliteStore::open(&path).await.unwrap().close().await;

    // Pretend a newer tessera applied a migration this binary does not know.
    let mut conn = raw(&path).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = SqliteStore::open(&path).await.unwrap_err();
    let StoreError::SchemaTooNew(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("newer version of tessera"), "{msg}");
    assert!(msg.contains("9999") && msg.contains("upgrade"), "{msg}");
    let err = connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew(_)), "{err:?}");
}

#[tokio::test]
async fn undecodable_rows_are_backend_errors() {
    let (dir, store) = fresh_store().await;
    let path = dir.path().join("tessera.db");
    store.create_client(&sample_client("good")).await.unwrap();
    store
        .create_user(&sample_user("good@example.com"))
        .await
        .unwrap();

    let mut conn = raw(&path).await;
    sqlx::query(
        "INSERT INTO clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
         grant_types, scopes, is_first_party, created_at) \
         VALUES ('bad', 'bad', NULL, '[]', '[]', '[\"password\"]', '[]', 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, name, roles, password_hash, is_disabled, created_at, \
         updated_at) VALUES ('u-bad', 'bad@example.com', NULL, 'not json', NULL, 0, 0, 0)",
    )
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

    let bad_email = Email::parse("bad@example.com").unwrap();
    let err = store.find_user_by_email(&bad_email).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(matches!(
        store.list_users().await,
        Err(StoreError::Backend(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_write_one_file_concurrently() {
    // The CLI and a running server each open their own pool on the same file.
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tessera.db");
    let server = Arc::new(SqliteStore::open(&path).await.unwrap());
    let cli = Arc::new(SqliteStore::open(&path).await.unwrap());

    let mut tasks = Vec::new();
    for (who, store) in [("server", server.clone()), ("cli", cli.clone())] {
        for i in 0..15 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .create_user(&sample_user(&format!("{who}-{i}@example.com")))
                    .await
                    .unwrap();
                let key = SigningKeyRecord {
                    kid: format!("{who}-{i}"),
                    alg: "RS256".into(),
                    sealed_private_key: vec![1],
                    created_at: t(i),
                    rotated_at: None,
                    expires_at: None,
                };
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
    assert_eq!(server.list_users().await.unwrap().len(), 30);
    let keys = cli.list_signing_keys().await.unwrap();
    assert_eq!(keys.len(), 30);
    // Every rotation retired the previous active key, so exactly one remains active.
    assert_eq!(keys.iter().filter(|k| k.rotated_at.is_none()).count(), 1);
}

#[tokio::test]
async fn conflicts_say_what_clashed_without_sql() {
    let (_dir, store) = fresh_store().await;
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
        assert!(!msg.contains("INSERT") && !msg.contains("UNIQUE"), "{msg}");
    }
}

#[tokio::test]
async fn a_database_from_before_sign_in_is_upgraded() {
    // Build the file the way the first release did: only 0001 applied.
    let dir = TempDir::new().unwrap();
    let old_migrations = dir.path().join("migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    let initial = "0001_initial.sql";
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations/sqlite")
            .join(initial),
        old_migrations.join(initial),
    )
    .unwrap();
    let path = dir.path().join("tessera.db");
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    // Data the first release wrote.
    let user = sample_user("ada@example.com");
    {
        let mut conn = raw(&path).await;
        sqlx::query(
            "INSERT INTO users (id, email, name, roles, password_hash, is_disabled, created_at, \
             updated_at) VALUES (?, 'ada@example.com', NULL, '[\"admin\"]', NULL, 0, ?, ?)",
        )
        .bind(user.id.as_str())
        .bind(user.created_at.unix_timestamp())
        .bind(user.updated_at.unix_timestamp())
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }

    // Opening applies 0002; the old data is intact and the new tables work with it.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.find_user(&user.id).await.unwrap(), Some(user.clone()));
    let session = BrowserSession {
        sid: SessionId::generate(),
        secret_hash: BearerSecret::generate(32).hash(),
        user_id: user.id.clone(),
        auth_time: t(0),
        amr: vec!["pwd".into()],
        created_at: t(0),
        expires_at: t(3600),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        last_seen_at: t(0),
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.find_session(&session.sid).await.unwrap(),
        Some(session)
    );
}

#[tokio::test]
async fn undecodable_sign_in_rows_are_backend_errors() {
    let (dir, store) = fresh_store().await;
    let path = dir.path().join("tessera.db");
    let user = sample_user("ada@example.com");
    store.create_user(&user).await.unwrap();
    store.create_client(&sample_client("app")).await.unwrap();

    let mut conn = raw(&path).await;
    sqlx::query(
        "INSERT INTO sessions (sid, secret_hash, user_id, auth_time, amr, created_at, \
         expires_at) VALUES ('s-bad', 'h-bad', ?, 0, 'pwd', 0, 0)",
    )
    .bind(user.id.as_str())
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, sid, scope, \
         auth_time, amr, acr, issued_at, idle_expires_at, absolute_expires_at) \
         VALUES ('r-bad', 'f-bad', 'app', ?, 's', '[\"two words\"]', 0, '[]', NULL, 0, 9, 9)",
    )
    .bind(user.id.as_str())
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO login_requests (id, csrf_hash, client_id, redirect_uri, \
         redirect_uri_in_request, scope, state, nonce, code_challenge, prompt_login, \
         prompt_consent, max_age, acr_values, login_hint, created_at, expires_at) \
         VALUES ('l-bad', 'c', 'app', 'https://app.example.com/cb', 1, '[]', NULL, NULL, NULL, \
         0, 0, NULL, '{\"not\": \"a list\"}', NULL, 0, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let err = store
        .find_session(&SessionId::from_stored("s-bad".into()))
        .await
        .unwrap_err();
    let StoreError::Backend(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("s-bad") && msg.contains("amr"), "{msg}");

    let hash = tessera_core::client::SecretHash::from_stored("r-bad".into());
    let err = store.find_refresh_token(&hash).await.unwrap_err();
    let StoreError::Backend(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains("scope") && msg.contains("two words"), "{msg}");
    assert!(!msg.contains("r-bad"), "the token hash leaked: {msg}");

    let err = store.take_login_request("l-bad").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

/// A database file in `dir` with only the named migrations applied, as an older release left it.
async fn file_migrated_with(dir: &Path, migrations: &[&str]) -> std::path::PathBuf {
    let old_migrations = dir.join("old-migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    for name in migrations {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations/sqlite")
                .join(name),
            old_migrations.join(name),
        )
        .unwrap();
    }
    let path = dir.join("tessera.db");
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    path
}

#[tokio::test]
async fn a_database_from_before_revocation_is_upgraded() {
    let dir = TempDir::new().unwrap();
    let path = file_migrated_with(dir.path(), &["0001_initial.sql", "0002_sign_in.sql"]).await;
    // Codes the sign-in release wrote, one of them already redeemed, without a jti column.
    let user = sample_user("ada@example.com");
    {
        let mut conn = raw(&path).await;
        sqlx::query(
            "INSERT INTO users (id, email, name, roles, password_hash, is_disabled, created_at, \
             updated_at) VALUES (?, 'ada@example.com', NULL, '[]', NULL, 0, 0, 0)",
        )
        .bind(user.id.as_str())
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, redirect_uris, \
             post_logout_redirect_uris, grant_types, scopes, is_first_party, created_at) \
             VALUES ('app', 'app', NULL, '[\"https://app.example.com/cb\"]', '[]', \
             '[\"authorization_code\"]', '[]', 1, 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for (hash, redeemed_at) in [("h-new", None), ("h-redeemed", Some(5_i64))] {
            sqlx::query(
                "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, \
                 redirect_uri_in_request, user_id, sid, scope, nonce, code_challenge, auth_time, \
                 amr, acr, family_id, issued_at, expires_at, redeemed_at) \
                 VALUES (?, 'app', 'https://app.example.com/cb', 1, ?, 's', '[\"openid\"]', \
                 NULL, NULL, 0, '[\"pwd\"]', NULL, ?, 0, 60, ?)",
            )
            .bind(hash)
            .bind(user.id.as_str())
            .bind(format!("family-{hash}"))
            .bind(redeemed_at)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        conn.close().await.unwrap();
    }

    // Opening applies 0003: every old code gets its own non-empty jti, and the new tables work.
    let store = SqliteStore::open(&path).await.unwrap();
    let mut jtis = Vec::new();
    for hash in ["h-new", "h-redeemed"] {
        let redeemed = store
            .redeem_code(&SecretHash::from_stored(hash.into()), t(10))
            .await
            .unwrap();
        let (CodeRedemption::First(code) | CodeRedemption::Replayed { code, .. }) = redeemed else {
            panic!("{hash}: {redeemed:?}");
        };
        assert_eq!(code.family_id, format!("family-{hash}"));
        assert_eq!(code.access_token_jti.len(), 32, "{}", code.access_token_jti);
        jtis.push(code.access_token_jti);
    }
    assert_ne!(jtis[0], jtis[1]);

    assert!(contract::revoke_token(&store, &jtis[1], t(100)).await);
    assert!(store
        .is_access_token_revoked(&contract::by_jti(&jtis[1]), t(10))
        .await
        .unwrap());
    assert!(!store
        .is_access_token_revoked(&contract::by_jti(&jtis[0]), t(10))
        .await
        .unwrap());
    store
        .revoke_refresh_family(
            "family-h-redeemed",
            t(10),
            RevocationReason::ClientRequest,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_refresh_family_revocations(t(10))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn sqlite_reports_no_changes_so_callers_poll() {
    let (_dir, store) = fresh_store().await;
    assert!(store.subscribe_changes().is_none());
}

/// Operator commands open the store with `connect_existing`: no file is created where there
/// was none (the CLI's wrong-directory trap).
#[tokio::test]
async fn connect_existing_never_creates_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tessera.db");
    let url = format!("sqlite://{}", path.display());
    let err = tessera_store::connect_existing(&url).await.unwrap_err();
    let StoreError::Missing(msg) = &err else {
        panic!("{err:?}");
    };
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(!path.exists());

    SqliteStore::open(&path).await.unwrap().close().await;
    let store = tessera_store::connect_existing(&url).await.unwrap();
    assert!(store.list_clients().await.unwrap().is_empty());
}
