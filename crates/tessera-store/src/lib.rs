//! Tessera's store: the contract (one trait per aggregate) and its backends.
//!
//! The rest of Tessera codes against the traits in [`traits`] (re-exported here) and opens a
//! store with [`connect`]. Only the backend modules know which database is underneath; every
//! backend passes the same contract suite (`tests/contract/`).

#![warn(missing_docs)]

mod codec;
pub mod copy;
pub mod error;
mod migrations;

pub mod postgres;
mod shared;
pub mod sqlite;
pub mod traits;

pub use error::{StoreError, StoreResult};
pub use traits::{
    AuditStore, BackchannelStore, ClientStore, CodeStore, ConsentStore, FamilyRevocation, FeedRead,
    FeedSnapshot, FeedSnapshotPage, KeyStore, LoginRequestStore, LoginThrottleStore, OutboxStore,
    PasskeyStore, PasswordResetStore, ProbedStore, RecoveryCodeStore, RefreshTokenStore,
    RevocationOutcome, RevocationStore, SeedStore, SentCodeStore, SessionStore, SessionSummary,
    SignedInUser, Store, StoreChange, StoreProbe, TotpStore, UserStore,
};

use std::path::PathBuf;
use std::sync::Arc;

/// What [`connect`] accepts, for error messages.
const SUPPORTED_URLS: &str =
    "supported: sqlite://PATH, sqlite:PATH, postgres://USER@HOST/DATABASE or postgresql://…";

/// Opens the store named by a URL, creating the database and running migrations.
///
/// `sqlite://PATH` and `sqlite:PATH` open (or create) the SQLite file at `PATH`; its parent
/// directory must exist. `postgres://…` and `postgresql://…` open a PostgreSQL database (see
/// [`postgres::PostgresStore::connect`]); it must exist. Anything else is
/// [`StoreError::InvalidUrl`] with a message listing the supported schemes. The URL itself is
/// never echoed back, since it may carry a password.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(connect_probed(url).await?)
}

/// Opens an existing store as [`connect`] does, but never creates one: a SQLite file that does
/// not exist, or a PostgreSQL database without Tessera's tables, is [`StoreError::Missing`].
/// Operator commands use this, so that one run from the wrong directory cannot create an
/// empty store that no server reads.
pub async fn connect_existing(url: &str) -> StoreResult<Arc<dyn Store>> {
    match parse_url(url)? {
        DatabaseUrl::Sqlite(path) => {
            if !path.is_file() {
                return Err(StoreError::Missing(format!(
                    "there is no SQLite database at {}",
                    path.display()
                )));
            }
            Ok(Arc::new(sqlite::SqliteStore::open(&path).await?))
        }
        DatabaseUrl::Postgres(url) => Ok(Arc::new(
            postgres::PostgresStore::connect_existing(url).await?,
        )),
    }
}

/// [`connect`], with the store's [`StoreProbe`] reachable: for tests.
pub async fn connect_probed(url: &str) -> StoreResult<Arc<dyn ProbedStore>> {
    match parse_url(url)? {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(&path).await?)),
        DatabaseUrl::Postgres(url) => Ok(Arc::new(postgres::PostgresStore::connect(url).await?)),
    }
}

/// A parsed database URL.
#[derive(PartialEq, Eq)]
enum DatabaseUrl<'a> {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, handed whole to the PostgreSQL backend, which parses the rest.
    Postgres(&'a str),
}

/// Never shows a PostgreSQL URL: it may carry a password.
impl std::fmt::Debug for DatabaseUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

fn parse_url(url: &str) -> StoreResult<DatabaseUrl<'_>> {
    let invalid = |why: String| StoreError::InvalidUrl(format!("{why}; {SUPPORTED_URLS}"));
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(invalid("the database URL has no scheme".into()));
    };
    // Only a syntactically valid scheme is quoted back; anything else may be a stray secret.
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !is_scheme {
        return Err(invalid("the database URL is malformed".into()));
    }
    if scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql") {
        return Ok(DatabaseUrl::Postgres(url));
    }
    if !scheme.eq_ignore_ascii_case("sqlite") {
        return Err(invalid(format!(
            "unsupported database URL scheme {scheme:?}"
        )));
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(invalid("the sqlite URL has no file path".into()));
    }
    if path == ":memory:" {
        // Each pooled connection would get its own empty database.
        return Err(invalid(
            "in-memory SQLite databases are not supported".into(),
        ));
    }
    if path.contains('?') {
        return Err(invalid(
            "sqlite URLs take a plain file path without query parameters".into(),
        ));
    }
    Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expect: Result<&str, &str>) {
        let got = parse_url(url);
        match (got, expect) {
            (Ok(DatabaseUrl::Sqlite(p)), Ok(want)) => assert_eq!(p, PathBuf::from(want), "{url}"),
            (Ok(DatabaseUrl::Postgres(u)), Ok(want)) => assert_eq!(u, want, "{url}"),
            (Err(StoreError::InvalidUrl(msg)), Err(fragment)) => {
                assert!(msg.contains(fragment), "{url}: {msg}");
                assert!(msg.contains("sqlite://PATH"), "{url}: {msg}");
            }
            (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn database_urls() {
        check(
            "sqlite:///var/lib/tessera/db.sqlite",
            Ok("/var/lib/tessera/db.sqlite"),
        );
        check("sqlite://data/tessera.db", Ok("data/tessera.db"));
        check("sqlite:tessera.db", Ok("tessera.db"));
        check("SQLite:tessera.db", Ok("tessera.db"));
        check("sqlite:/abs/t.db", Ok("/abs/t.db"));
        check(
            "mysql://localhost/db",
            Err("unsupported database URL scheme \"mysql\""),
        );
        check("garbage", Err("no scheme"));
        check("", Err("no scheme"));
        check("sqlite://", Err("no file path"));
        check("sqlite:", Err("no file path"));
        check("sqlite::memory:", Err("in-memory"));
        check("sqlite://t.db?mode=rwc", Err("query parameters"));
        check("not a url:x", Err("malformed"));
    }

    #[test]
    fn postgres_urls_are_accepted_whole() {
        for url in [
            "postgres://tessera:hunter2@db/tessera",
            "postgresql://tessera@db:5433/tessera?sslmode=require",
            "POSTGRES://db/tessera",
        ] {
            check(url, Ok(url));
        }
        let parsed = parse_url("postgres://tessera:hunter2@db/tessera").unwrap();
        let shown = format!("{parsed:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn passwords_in_urls_are_not_echoed() {
        for url in [
            "mysql://tessera:hunter2@db/tessera",
            "my sql://tessera:hunter2@db/tessera",
            "tessera:hunter2@db/tessera",
        ] {
            let Err(err) = parse_url(url) else {
                panic!("{url} was accepted");
            };
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[tokio::test]
    async fn malformed_postgres_urls_are_invalid_without_the_password() {
        let Err(err) = connect("postgres://tessera:hunter2@db:99999999/tessera").await else {
            panic!("a port out of range was accepted");
        };
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
