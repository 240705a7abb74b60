-- The sign-in flow: browser sessions, authorization codes, refresh tokens, consents and pending
-- login requests.
--
-- Conventions as in 0001: INTEGER unix seconds, JSON arrays of strings for lists (amr, scopes,
-- acr_values), INTEGER 0/1 for flags, STRICT tables. Bearer secrets (cookie secrets, codes,
-- refresh tokens, CSRF tokens) are stored only as their SHA-256 hashes.
--
-- Everything a user or a client owns goes with it (ON DELETE CASCADE). `sid` in codes and
-- refresh tokens is deliberately NOT a foreign key to sessions: tokens may outlive the session
-- row (and are revoked by sid explicitly when they must not).
--
-- Indexes on foreign-key columns exist where a lookup needs them or the child table grows
-- large (sessions, refresh tokens); short-lived codes and login requests are swept by expiry,
-- and a client deletion (rare) may scan them.

CREATE TABLE sessions (
    sid         TEXT    NOT NULL PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   INTEGER NOT NULL,
    amr         TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE authorization_codes (
    code_hash               TEXT    NOT NULL PRIMARY KEY,
    client_id               TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri            TEXT    NOT NULL,
    redirect_uri_in_request INTEGER NOT NULL CHECK (redirect_uri_in_request IN (0, 1)),
    user_id                 TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid                     TEXT    NOT NULL,
    scope                   TEXT    NOT NULL,
    nonce                   TEXT,
    -- S256 challenge; NULL when the client sent none.
    code_challenge          TEXT,
    auth_time               INTEGER NOT NULL,
    amr                     TEXT    NOT NULL,
    acr                     TEXT,
    family_id               TEXT    NOT NULL,
    issued_at               INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    -- NULL until the first redemption; set once and never cleared (replays are detected by it).
    redeemed_at             INTEGER
) STRICT;

CREATE INDEX authorization_codes_sid ON authorization_codes (sid);

CREATE TABLE refresh_tokens (
    token_hash          TEXT    NOT NULL PRIMARY KEY,
    family_id           TEXT    NOT NULL,
    client_id           TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id             TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid                 TEXT    NOT NULL,
    scope               TEXT    NOT NULL,
    auth_time           INTEGER NOT NULL,
    amr                 TEXT    NOT NULL,
    acr                 TEXT,
    issued_at           INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    -- Set when a successor replaced this token; presenting it afterwards is reuse.
    rotated_at          INTEGER,
    revoked_at          INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_sid ON refresh_tokens (sid);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);

CREATE TABLE consents (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

-- The primary key serves lookups by user; this one serves the cascade from clients.
CREATE INDEX consents_client_id ON consents (client_id);

-- A pending sign-in: the columns after csrf_hash hold the validated AuthorizationRequest.
CREATE TABLE login_requests (
    id                      TEXT    NOT NULL PRIMARY KEY,
    csrf_hash               TEXT    NOT NULL,
    client_id               TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri            TEXT    NOT NULL,
    redirect_uri_in_request INTEGER NOT NULL CHECK (redirect_uri_in_request IN (0, 1)),
    scope                   TEXT    NOT NULL,
    state                   TEXT,
    nonce                   TEXT,
    code_challenge          TEXT,
    prompt_login            INTEGER NOT NULL CHECK (prompt_login IN (0, 1)),
    prompt_consent          INTEGER NOT NULL CHECK (prompt_consent IN (0, 1)),
    max_age                 INTEGER,
    acr_values              TEXT    NOT NULL,
    login_hint              TEXT,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL
) STRICT;
