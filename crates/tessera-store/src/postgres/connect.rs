//! Opening a connection pool: URL parsing that never echoes a password, the defaults the store
//! adds to the caller's connect options, and connect errors that name the server (host, port,
//! database, user) but nothing secret.

use super::convert::db_err;
use crate::StoreError;
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;
use std::time::Duration;

/// How long one statement may run (waiting for locks included) before the server cancels it;
/// the store then answers [`StoreError::Unavailable`].
pub(super) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a session may sit idle inside a transaction before the server ends it, so that a
/// stuck caller cannot hold the store's advisory locks (see `locks.rs`) for long.
pub(super) const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Parses a `postgres://` or `postgresql://` URL. A malformed URL is
/// [`StoreError::InvalidUrl`]; neither the URL nor its password appears in the message.
pub(crate) fn parse_url(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::InvalidUrl(format!(
            "the postgres URL is malformed: {}",
            redact(&e.to_string(), url)
        ))
    })
}

/// `text` with every password that `url` carries (in its user info or a `password` query
/// parameter, raw or percent-decoded) replaced by `***`.
pub(super) fn redact(text: &str, url: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Ok(parsed) = url::Url::parse(url) {
        if let Some(raw) = parsed.password() {
            secrets.push(raw.to_owned());
            if let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8() {
                secrets.push(decoded.into_owned());
            }
        }
        for (key, value) in parsed.query_pairs() {
            if key == "password" {
                secrets.push(value.into_owned());
            }
        }
    } else if let Some((_, rest)) = url.split_once("://") {
        // Not a URL at all, but it may still look like one with user info: take everything
        // between the first ':' and the last '@' of the authority as a possible password.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                secrets.push(password.to_owned());
            }
        }
    }
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

/// The caller's options plus the store's defaults: a statement timeout and an
/// idle-in-transaction timeout unless the caller set their own, and an application name.
pub(super) fn with_defaults(options: PgConnectOptions) -> PgConnectOptions {
    let given = options.get_options().unwrap_or("").to_owned();
    let mut extra = Vec::new();
    if !given.contains("statement_timeout") {
        extra.push((
            "statement_timeout",
            format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
        ));
    }
    if !given.contains("idle_in_transaction_session_timeout") {
        extra.push((
            "idle_in_transaction_session_timeout",
            format!("{}ms", IDLE_IN_TRANSACTION_TIMEOUT.as_millis()),
        ));
    }
    let options = if options.get_application_name().is_none() {
        options.application_name("tessera")
    } else {
        options
    };
    if extra.is_empty() {
        options
    } else {
        options.options(extra)
    }
}

/// Where `options` point, for messages and `Debug`: host (or socket) and port, database and
/// user. Never the password.
pub(crate) fn describe(options: &PgConnectOptions) -> String {
    let place = match options.get_socket() {
        Some(socket) => format!("{} (port {})", socket.display(), options.get_port()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let database = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    format!(
        "{place}, database {database:?}, user {:?}",
        options.get_username()
    )
}

/// Why the first connection to the server named by `target` failed, as
/// [`StoreError::Unavailable`]: whatever the cause (refused, unknown host, wrong password,
/// missing database), the store cannot be used until an operator or the network fixes it.
pub(super) fn connect_err(target: &str, e: sqlx::Error) -> StoreError {
    let cause = match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => match db_err(other) {
            StoreError::Unavailable(msg) | StoreError::Backend(msg) => msg,
            other => other.to_string(),
        },
    };
    StoreError::Unavailable(format!("cannot connect to PostgreSQL at {target}: {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_every_spelling() {
        let url = "postgres://tessera:p%40ss%3Aw0rd@db.example:5432/tessera?password=other-secret";
        let text = "p%40ss%3Aw0rd / p@ss:w0rd / other-secret";
        let redacted = redact(text, url);
        assert_eq!(redacted, "*** / *** / ***");
        // Not a valid URL (bad port), password still found.
        let bad = "postgres://tessera:hunter2@db:99999999/tessera";
        assert_eq!(redact("x hunter2 y", bad), "x *** y");
    }

    #[test]
    fn malformed_urls_do_not_echo_the_password() {
        for url in [
            "postgres://tessera:hunter2@db:99999999/tessera",
            "postgres://tessera:hunter2@[::1/tessera",
            "postgres://tessera:hunter2@db/tessera?sslmode=hunter2",
        ] {
            let err = parse_url(url).unwrap_err();
            let StoreError::InvalidUrl(msg) = &err else {
                panic!("{url}: {err:?}");
            };
            assert!(!msg.contains("hunter2"), "{url}: {msg}");
        }
    }

    #[test]
    fn defaults_do_not_override_the_callers_settings() {
        let options = with_defaults(parse_url("postgres://u@h/d").unwrap());
        let set = options.get_options().unwrap();
        assert!(set.contains("statement_timeout=30000ms"), "{set}");
        assert!(set.contains("idle_in_transaction_session_timeout"), "{set}");
        assert_eq!(options.get_application_name(), Some("tessera"));

        let options = with_defaults(
            parse_url("postgres://u@h/d?options=-c%20statement_timeout%3D1s&application_name=mine")
                .unwrap(),
        );
        let set = options.get_options().unwrap();
        assert!(set.contains("statement_timeout=1s"), "{set}");
        assert!(!set.contains("statement_timeout=30000ms"), "{set}");
        assert_eq!(options.get_application_name(), Some("mine"));
    }

    #[test]
    fn descriptions_name_the_server_but_not_the_password() {
        let options = parse_url("postgres://tessera:hunter2@db.example:6543/idp").unwrap();
        let text = describe(&options);
        assert_eq!(text, "db.example:6543, database \"idp\", user \"tessera\"");
        let err = connect_err(
            &text,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
        );
        let StoreError::Unavailable(msg) = &err else {
            panic!("{err:?}");
        };
        assert!(msg.contains("db.example:6543"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}
