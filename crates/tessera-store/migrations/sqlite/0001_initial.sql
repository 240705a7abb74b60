-- Tessera's initial SQLite schema.
--
-- Timestamps are INTEGER unix seconds (the domain works at whole-second precision).
-- List-valued fields are JSON arrays of strings in TEXT columns.
-- STRICT tables make SQLite refuse values of the wrong type instead of storing them silently.

CREATE TABLE clients (
    id                        TEXT    NOT NULL PRIMARY KEY,
    name                      TEXT    NOT NULL,
    -- NULL for public clients.
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    -- Wire names, e.g. ["authorization_code","refresh_token"].
    grant_types               TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    is_first_party            INTEGER NOT NULL CHECK (is_first_party IN (0, 1)),
    created_at                INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- Normalised (trimmed, lower-cased) by the domain before it gets here.
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT,
    roles         TEXT    NOT NULL,
    password_hash TEXT,
    is_disabled   INTEGER NOT NULL CHECK (is_disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    kid                TEXT    NOT NULL PRIMARY KEY,
    alg                TEXT    NOT NULL,
    -- PKCS#8 private key sealed under the key-encryption key; never stored in the clear.
    sealed_private_key BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    -- NULL while the key is active.
    rotated_at         INTEGER,
    expires_at         INTEGER
) STRICT;
