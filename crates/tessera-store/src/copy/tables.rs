//! What the copy moves: every table of the schema, its columns with their SQLite-to-PostgreSQL
//! type mapping, its key, and its identity column. Written from `migrations/sqlite/*.sql` (all
//! applied) and `migrations/postgres/*.sql`. Before copying, the copy checks that
//! this list still matches both databases' tables column for column (`schema.rs`), so a later
//! migration that adds a table or a column makes it refuse, rather than silently leave data
//! behind, until it learns about the change.
//!
//! `revocation_feed` (one row, the feed horizon) is not in the list: it exists on both sides
//! from the migrations, and the copy moves its one value with an update (see `target.rs`).

/// How a column is stored on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// TEXT on both.
    Text,
    /// INTEGER on SQLite, BIGINT on PostgreSQL (unix seconds, counters, ids).
    Int,
    /// INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL.
    Bool,
    /// BLOB on SQLite, BYTEA on PostgreSQL.
    Blob,
}

/// One table to copy.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    /// Every column, in the order the copy reads and writes them. Any may be NULL as far as
    /// the copy is concerned: it moves what is there, and the target's constraints judge.
    pub(crate) columns: &'static [(&'static str, Kind)],
    /// The primary key: the order rows are read in, and what the check for foreign rows in
    /// the target compares.
    pub(crate) key: &'static [&'static str],
    /// The column PostgreSQL fills from a sequence (`GENERATED ALWAYS AS IDENTITY`), if any.
    /// The copy writes the source's values into it and then moves the sequence past them.
    pub(crate) identity: Option<&'static str>,
}

impl Table {
    /// The columns' names, comma-separated.
    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The key's columns, comma-separated.
    pub(crate) fn key_list(&self) -> String {
        self.key.join(", ")
    }

    /// The kind of column `name`.
    pub(crate) fn kind_of(&self, name: &str) -> Kind {
        self.columns
            .iter()
            .find(|(column, _)| *column == name)
            .map(|(_, kind)| *kind)
            .expect("key columns are columns")
    }
}

use Kind::{Blob, Bool, Int, Text};

/// Every table, parents before children so that each batch satisfies the target's foreign
/// keys: clients and users, then what refers to them, then sessions' participants.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "clients",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("secret_hash", Text),
            ("redirect_uris", Text),
            ("post_logout_redirect_uris", Text),
            ("grant_types", Text),
            ("scopes", Text),
            ("is_first_party", Bool),
            ("backchannel_logout_uri", Text),
            ("is_resource_server", Bool),
            ("allowed_origins", Text),
            ("require_pkce", Bool),
            ("require_mfa", Bool),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "users",
        columns: &[
            ("id", Text),
            ("email", Text),
            ("name", Text),
            ("roles", Text),
            ("password_hash", Text),
            ("is_disabled", Bool),
            ("email_verified", Bool),
            ("email_codes_enabled", Bool),
            ("phone_number", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "signing_keys",
        columns: &[
            ("kid", Text),
            ("alg", Text),
            // Sealed under the key-encryption key; copied as they are, never opened.
            ("sealed_private_key", Blob),
            ("created_at", Int),
            ("rotated_at", Int),
            ("expires_at", Int),
        ],
        key: &["kid"],
        identity: None,
    },
    Table {
        name: "sessions",
        columns: &[
            ("sid", Text),
            ("secret_hash", Text),
            ("user_id", Text),
            ("auth_time", Int),
            ("amr", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("user_agent", Text),
            ("last_seen_at", Int),
        ],
        key: &["sid"],
        identity: None,
    },
    Table {
        name: "session_clients",
        columns: &[("sid", Text), ("client_id", Text)],
        key: &["sid", "client_id"],
        identity: None,
    },
    Table {
        name: "authorization_codes",
        columns: &[
            ("code_hash", Text),
            ("client_id", Text),
            ("redirect_uri", Text),
            ("redirect_uri_in_request", Bool),
            ("user_id", Text),
            ("sid", Text),
            ("scope", Text),
            ("nonce", Text),
            ("code_challenge", Text),
            ("auth_time", Int),
            ("amr", Text),
            ("acr", Text),
            ("family_id", Text),
            ("access_token_jti", Text),
            ("issued_at", Int),
            ("expires_at", Int),
            ("redeemed_at", Int),
            ("replays", Int),
        ],
        key: &["code_hash"],
        identity: None,
    },
    Table {
        name: "refresh_tokens",
        columns: &[
            ("token_hash", Text),
            ("family_id", Text),
            ("client_id", Text),
            ("user_id", Text),
            ("sid", Text),
            ("scope", Text),
            ("auth_time", Int),
            ("amr", Text),
            ("acr", Text),
            ("issued_at", Int),
            ("idle_expires_at", Int),
            ("absolute_expires_at", Int),
            ("access_token_jti", Text),
            ("access_token_expires_at", Int),
            ("rotated_at", Int),
            ("revoked_at", Int),
        ],
        key: &["token_hash"],
        identity: None,
    },
    Table {
        name: "revoked_refresh_families",
        columns: &[("family_id", Text), ("revoked_at", Int)],
        key: &["family_id"],
        identity: None,
    },
    Table {
        name: "consents",
        columns: &[
            ("user_id", Text),
            ("client_id", Text),
            ("scope", Text),
            ("granted_at", Int),
        ],
        key: &["user_id", "client_id"],
        identity: None,
    },
    Table {
        name: "totp_factors",
        columns: &[
            ("id", Text),
            ("user_id", Text),
            ("sealed_seed", Blob),
            ("confirmed_at", Int),
            ("last_used_step", Int),
            ("created_at", Int),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "recovery_codes",
        columns: &[
            ("user_id", Text),
            ("code_hash", Text),
            ("created_at", Int),
            ("used_at", Int),
        ],
        key: &["user_id", "code_hash"],
        identity: None,
    },
    Table {
        name: "sent_codes",
        columns: &[
            ("user_id", Text),
            ("purpose", Text),
            ("code_hash", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("wrong_attempts", Int),
            ("used_at", Int),
        ],
        key: &["user_id", "purpose"],
        identity: None,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", Text),
            ("recipient", Text),
            ("channel", Text),
            ("subject", Text),
            ("sealed_body", Blob),
            ("created_at", Int),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("last_error", Text),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "password_resets",
        columns: &[
            ("user_id", Text),
            ("token_hash", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
        ],
        key: &["user_id"],
        identity: None,
    },
    Table {
        name: "passkeys",
        columns: &[
            ("credential_id", Blob),
            ("user_id", Text),
            ("name", Text),
            ("public_key", Blob),
            ("algorithm", Int),
            ("sign_count", Int),
            ("backup_eligible", Bool),
            ("backed_up", Bool),
            ("transports", Text),
            ("aaguid", Blob),
            ("created_at", Int),
            ("last_used_at", Int),
        ],
        key: &["credential_id"],
        identity: None,
    },
    Table {
        name: "passkey_challenges",
        columns: &[
            ("purpose", Text),
            ("bound_to", Text),
            ("user_id", Text),
            ("challenge", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
        key: &["purpose", "bound_to"],
        identity: None,
    },
    Table {
        name: "login_requests",
        columns: &[
            ("id", Text),
            ("csrf_hash", Text),
            ("client_id", Text),
            ("redirect_uri", Text),
            ("redirect_uri_in_request", Bool),
            ("scope", Text),
            ("state", Text),
            ("nonce", Text),
            ("code_challenge", Text),
            ("prompt_login", Bool),
            ("prompt_consent", Bool),
            ("max_age", Int),
            ("acr_values", Text),
            ("login_hint", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("stage", Text),
            ("user_id", Text),
            ("proofs", Text),
            ("acr_essential", Bool),
        ],
        key: &["id"],
        identity: None,
    },
    Table {
        name: "login_throttles",
        columns: &[
            ("key", Text),
            ("attempts", Int),
            ("last_attempt_at", Int),
            ("locked_until", Int),
            ("forget_at", Int),
        ],
        key: &["key"],
        identity: None,
    },
    Table {
        name: "revocations",
        columns: &[
            ("cursor", Int),
            ("kind", Text),
            ("jti", Text),
            ("sid", Text),
            ("user_id", Text),
            ("not_before", Int),
            ("revoked_at", Int),
            ("expires_at", Int),
            ("reason", Text),
            ("actor", Text),
        ],
        key: &["cursor"],
        identity: Some("cursor"),
    },
    Table {
        name: "backchannel_deliveries",
        columns: &[
            ("id", Int),
            ("client_id", Text),
            ("user_id", Text),
            ("sid", Text),
            ("jti", Text),
            ("created_at", Int),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("last_error", Text),
        ],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "audit_events",
        columns: &[
            ("id", Int),
            ("at", Int),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("reason", Text),
            ("detail", Text),
        ],
        key: &["id"],
        identity: Some("id"),
    },
];

/// The one-row table holding the feed horizon, copied by value rather than row by row.
pub(crate) const FEED_TABLE: &str = "revocation_feed";
