-- Passkeys (issue 16): WebAuthn credentials registered by users, and the single-use challenges
-- of the ceremonies that register and use them.
--
-- A credential ID is registered once across all users (WebAuthn §7.1 step 25), so it is the
-- key. sign_count is advanced by compare-and-swap on the count an assertion was verified
-- against, so of two uses racing from one state one records its count. backup_eligible is the
-- BE flag at registration and never changes; backed_up is the BS flag at the last use.
-- transports is a JSON array of strings; aaguid is the authenticator model's 16-byte id.
CREATE TABLE passkeys (
    credential_id   BLOB    NOT NULL PRIMARY KEY
        CHECK (length(credential_id) BETWEEN 1 AND 1023),
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    public_key      BLOB    NOT NULL,
    algorithm       INTEGER NOT NULL,
    sign_count      INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    backup_eligible INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
    backed_up       INTEGER NOT NULL CHECK (backed_up IN (0, 1)),
    transports      TEXT    NOT NULL,
    aaguid          BLOB    NOT NULL CHECK (length(aaguid) = 16),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;

CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- Challenges waiting for the browser's answer: one live challenge per purpose and what the
-- ceremony is bound to (a pending sign-in's id for authentication, a session's sid for
-- registration); issuing another replaces it (an upsert), and answering takes it with one
-- DELETE … RETURNING, so it is used once. user_id is NULL for a sign-in with no username; its
-- index serves the cascade when a user is deleted.
CREATE TABLE passkey_challenges (
    purpose    TEXT    NOT NULL CHECK (purpose IN ('registration', 'authentication')),
    bound_to   TEXT    NOT NULL,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    challenge  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (purpose, bound_to)
) STRICT;

CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
CREATE INDEX passkey_challenges_user_id ON passkey_challenges (user_id);
