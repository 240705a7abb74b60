-- Passkeys (issue 16). Mirrors migrations/sqlite/0014_passkeys.sql (read it for what each
-- column means): WebAuthn credentials registered by users, and the single-use challenges of
-- the ceremonies that register and use them.
CREATE TABLE passkeys (
    credential_id   BYTEA   NOT NULL PRIMARY KEY
        CHECK (octet_length(credential_id) BETWEEN 1 AND 1023),
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    public_key      BYTEA   NOT NULL,
    algorithm       BIGINT  NOT NULL,
    sign_count      BIGINT  NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    backup_eligible BOOLEAN NOT NULL,
    backed_up       BOOLEAN NOT NULL,
    transports      TEXT    NOT NULL,
    aaguid          BYTEA   NOT NULL CHECK (octet_length(aaguid) = 16),
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT
);

CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE passkey_challenges (
    purpose    TEXT   NOT NULL CHECK (purpose IN ('registration', 'authentication')),
    bound_to   TEXT   NOT NULL,
    user_id    TEXT   REFERENCES users (id) ON DELETE CASCADE,
    challenge  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (purpose, bound_to)
);

CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
CREATE INDEX passkey_challenges_user_id ON passkey_challenges (user_id);
