//! Tessera's store: the contract (one trait per aggregate) and its backends.
//!
//! The rest of Tessera codes against the traits in [`traits`] (re-exported here) and opens a
//! store with [`connect`]. Only the backend modules know which database is underneath; every
//! backend passes the same contract suite (`tests/contract/`).

#![warn(missing_docs)]

pub mod error;
pub mod sqlite;
pub mod traits;

pub use error::{StoreError, StoreResult};
pub use traits::{
    AuditStore, BackchannelStore, ClientStore, CodeStore, ConsentStore, FeedRead, FeedSnapshot,
    KeyStore, LoginRequestStore, RefreshTokenStore, RevocationOutcome, RevocationStore,
    SessionStore, SessionSummary, Store, UserStore,
};

use std::path::PathBuf;
use std::sync::Arc;

/// What [`connect`] accepts, for error messages.
const SUPPORTED_URLS: &str = "supported: sqlite://PATH or sqlite:PATH";

/// Opens the store named by a URL, creating the database and running migrations.
///
/// `sqlite://PATH` and `sqlite:PATH` open (or create) the SQLite file at `PATH`; its parent
/// directory must exist. Anything else is [`StoreError::InvalidUrl`] with a message listing the
/// supported schemes. The URL itself is never echoed back, since it may carry a password.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    match parse_url(url)? {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(&path).await?)),
    }
}

/// A parsed database URL.
#[derive(Debug, PartialEq, Eq)]
enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
}

fn parse_url(url: &str) -> StoreResult<DatabaseUrl> {
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
    fn passwords_in_urls_are_not_echoed() {
        let Err(err) = parse_url("postgres://tessera:hunter2@db/tessera") else {
            panic!("postgres is not supported yet");
        };
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
