-- Second factors (issue 15). TOTP authenticators: a row is an enrolment until a code from the
-- app confirms it (confirmed_at set), then the user's factor. sealed_seed is the seed sealed under the
-- key-encryption key, bound to the row's id. last_used_step is advanced by compare-and-swap
-- so each code is accepted once (RFC 6238 §5.2).
CREATE TABLE totp_factors (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sealed_seed    BLOB    NOT NULL,
    confirmed_at   INTEGER,
    last_used_step INTEGER,
    created_at     INTEGER NOT NULL
) STRICT;

-- At most one confirmed factor and one waiting enrolment per user.
CREATE UNIQUE INDEX totp_factors_one_confirmed ON totp_factors (user_id)
    WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX totp_factors_one_enrolment ON totp_factors (user_id)
    WHERE confirmed_at IS NULL;

-- Recovery codes: keyed hashes (HMAC-SHA-256 under a key derived from the KEK) of the user's
-- current set; used_at is set once, by a conditional UPDATE, when a code signs the user in.
-- A new set replaces every row of the user.
CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- require_mfa: every sign-in to the client needs a second factor.
ALTER TABLE clients ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0
    CHECK (require_mfa IN (0, 1));
