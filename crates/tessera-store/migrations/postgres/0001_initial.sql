-- Tessera's PostgreSQL schema: the same logical schema as SQLite's migrations 0001-0004
-- together (read those for what each table and column means). PostgreSQL's migrations are
-- numbered on their own; a later change to the schema adds a migration to both directories.
--
-- Conventions:
-- - Timestamps are BIGINT unix seconds (the domain works at whole-second precision, and both
--   backends keep the same values).
-- - List-valued fields (URIs, grant types, scopes, roles, amr, acr_values) are JSON arrays of
--   strings in TEXT columns, encoded and decoded by the code both backends share.
-- - Identifiers that the contract orders by (client ids, emails, kids, sids) are,
--   so ORDER BY is byte-wise whatever the database's default collation.
-- - Feed cursors and queue ids are identity columns. Their values are handed out in commit
--   order only because the code serialises the transactions that insert them (see
--   src/postgres/locks.rs); an identity column alone does not promise that.
-- - Bearer secrets are stored only as their SHA-256 hashes.

CREATE TABLE clients (
    id                        TEXT NOT NULL PRIMARY KEY,
    name                      TEXT    NOT NULL,
    -- NULL for public clients.
    secret_hash               TEXT,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL,
    grant_types               TEXT    NOT NULL,
    scopes                    TEXT    NOT NULL,
    is_first_party            BOOLEAN NOT NULL,
    backchannel_logout_uri    TEXT,
    created_at                BIGINT  NOT NULL
);

CREATE TABLE users (
    id            TEXT NOT NULL PRIMARY KEY,
    -- Normalised (trimmed, lower-cased) by the domain before it gets here.
    email         TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    name          TEXT,
    roles         TEXT    NOT NULL,
    password_hash TEXT,
    is_disabled   BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE signing_keys (
    kid                TEXT NOT NULL PRIMARY KEY,
    alg                TEXT   NOT NULL,
    -- PKCS#8 private key sealed under the key-encryption key; never stored in the clear.
    sealed_private_key BYTEA  NOT NULL,
    created_at         BIGINT NOT NULL,
    -- NULL while the key is active.
    rotated_at         BIGINT,
    expires_at         BIGINT
);

-- `sid` in codes and refresh tokens is deliberately NOT a foreign key to sessions: tokens may
-- outlive the session row. Everything a user or a client owns goes with it.

CREATE TABLE sessions (
    sid         TEXT NOT NULL PRIMARY KEY,
    secret_hash TEXT   NOT NULL CONSTRAINT sessions_secret_hash_key UNIQUE,
    user_id     TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   BIGINT NOT NULL,
    amr         TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE authorization_codes (
    code_hash               TEXT    NOT NULL PRIMARY KEY,
    client_id               TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri            TEXT    NOT NULL,
    redirect_uri_in_request BOOLEAN NOT NULL,
    user_id                 TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid                     TEXT    NOT NULL,
    scope                   TEXT    NOT NULL,
    nonce                   TEXT,
    -- S256 challenge; NULL when the client sent none.
    code_challenge          TEXT,
    auth_time               BIGINT  NOT NULL,
    amr                     TEXT    NOT NULL,
    acr                     TEXT,
    family_id               TEXT    NOT NULL,
    -- The jti of the access token the first redemption issues (so a replay can revoke it).
    access_token_jti        TEXT    NOT NULL,
    issued_at               BIGINT  NOT NULL,
    expires_at              BIGINT  NOT NULL,
    -- NULL until the first redemption; set once and never cleared (replays are detected by it).
    redeemed_at             BIGINT
);

CREATE INDEX authorization_codes_sid ON authorization_codes (sid);
-- PostgreSQL does not index foreign keys by itself; these serve the cascades and the sweep.
CREATE INDEX authorization_codes_client_id ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_id ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash          TEXT   NOT NULL PRIMARY KEY,
    family_id           TEXT   NOT NULL,
    client_id           TEXT   NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id             TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid                 TEXT   NOT NULL,
    scope               TEXT   NOT NULL,
    auth_time           BIGINT NOT NULL,
    amr                 TEXT   NOT NULL,
    acr                 TEXT,
    issued_at           BIGINT NOT NULL,
    idle_expires_at     BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    -- Set when a successor replaced this token; presenting it afterwards is reuse.
    rotated_at          BIGINT,
    revoked_at          BIGINT
);

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_sid ON refresh_tokens (sid);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_client_id ON refresh_tokens (client_id);

CREATE TABLE consents (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT   NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT   NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE INDEX consents_client_id ON consents (client_id);

-- A pending sign-in: the columns after csrf_hash hold the validated AuthorizationRequest.
CREATE TABLE login_requests (
    id                      TEXT    NOT NULL PRIMARY KEY,
    csrf_hash               TEXT    NOT NULL,
    client_id               TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri            TEXT    NOT NULL,
    redirect_uri_in_request BOOLEAN NOT NULL,
    scope                   TEXT    NOT NULL,
    state                   TEXT,
    nonce                   TEXT,
    code_challenge          TEXT,
    prompt_login            BOOLEAN NOT NULL,
    prompt_consent          BOOLEAN NOT NULL,
    max_age                 BIGINT,
    acr_values              TEXT    NOT NULL,
    login_hint              TEXT,
    created_at              BIGINT  NOT NULL,
    expires_at              BIGINT  NOT NULL
);

CREATE INDEX login_requests_client_id ON login_requests (client_id);
CREATE INDEX login_requests_expires_at ON login_requests (expires_at);

-- Refresh-token families that were revoked, so a token of one stored afterwards is stored
-- revoked. Not a foreign key: a family may be revoked before any of its tokens exists.
CREATE TABLE revoked_refresh_families (
    family_id  TEXT   NOT NULL PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);

CREATE INDEX revoked_refresh_families_revoked_at ON revoked_refresh_families (revoked_at);

-- Every revocation entry, in the order it was made; `cursor` is the feed position and is never
-- handed out twice. Which columns are set depends on the kind (see SQLite's 0004). user_id is
-- deliberately not a foreign key: the entry for a removed user must outlive the user.
CREATE TABLE revocations (
    cursor     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('token-revoked', 'session-revoked',
                   'credential-change', 'token-claims-change', 'global-revoked')),
    jti        TEXT,
    sid        TEXT,
    user_id    TEXT,
    not_before BIGINT,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    CHECK ((kind = 'token-revoked') = (jti IS NOT NULL)),
    CHECK ((kind = 'session-revoked') = (sid IS NOT NULL)),
    CHECK ((kind IN ('credential-change', 'token-claims-change', 'global-revoked'))
           = (not_before IS NOT NULL))
);

CREATE INDEX revocations_jti ON revocations (jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_sid ON revocations (sid) WHERE sid IS NOT NULL;
CREATE INDEX revocations_user_id ON revocations (user_id, not_before) WHERE not_before IS NOT NULL;
CREATE INDEX revocations_global ON revocations (not_before) WHERE kind = 'global-revoked';
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The highest cursor ever swept: a feed reader whose cursor is below it has missed an entry and
-- must resync. One row.
CREATE TABLE revocation_feed (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    horizon BIGINT  NOT NULL
);
INSERT INTO revocation_feed (id, horizon) VALUES (1, 0);

-- Which clients took part in which browser session (received a code in it).
CREATE TABLE session_clients (
    sid       TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (sid, client_id)
);

CREATE INDEX session_clients_client_id ON session_clients (client_id);

-- Logout tokens waiting to be delivered. user_id and sid are not foreign keys: the session (and,
-- for a removal, the user) is gone by the time the delivery runs.
CREATE TABLE backchannel_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       TEXT   NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT   NOT NULL,
    sid             TEXT   NOT NULL,
    jti             TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT
);

CREATE INDEX backchannel_deliveries_next_attempt_at ON backchannel_deliveries (next_attempt_at);
CREATE INDEX backchannel_deliveries_client_id ON backchannel_deliveries (client_id);

-- The audit trail; `audit tail --follow` reads it by id like a feed.
CREATE TABLE audit_events (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    reason TEXT,
    detail TEXT   NOT NULL
);
