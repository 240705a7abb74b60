-- Email codes and the mail outbox (issue 15).

-- email_verified: the user typed back a code sent to the address. email_codes_enabled: codes by
-- email are one of the user's second factors (only with a verified address).
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0
    CHECK (email_verified IN (0, 1));
ALTER TABLE users ADD COLUMN email_codes_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (email_codes_enabled IN (0, 1));

-- Codes sent by email: one live code per user and purpose (sign-in, verify-email), a keyed hash
-- bound to both, single use, with a count of wrong tries. Sending a new one replaces the row.
CREATE TABLE email_codes (
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        TEXT    NOT NULL,
    code_hash      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    wrong_attempts INTEGER NOT NULL DEFAULT 0,
    used_at        INTEGER,
    PRIMARY KEY (user_id, purpose)
) STRICT;

-- Mail waiting to be sent, so that a slow or dead SMTP server never blocks a request and every
-- node can send. The body is sealed under the key-encryption key (it may hold a code), bound to
-- the row's id; a sent message is deleted. next_attempt_at doubles as the lease of a claim.
CREATE TABLE mail_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    sealed_body     BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
) STRICT;

CREATE INDEX mail_outbox_next_attempt_at ON mail_outbox (next_attempt_at);
