-- Mirrors migrations/sqlite/0009_email_codes_and_mail.sql (read it for what each column means).

ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN email_codes_enabled BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE email_codes (
    user_id        TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose        TEXT   NOT NULL,
    code_hash      TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    wrong_attempts BIGINT NOT NULL DEFAULT 0,
    used_at        BIGINT,
    PRIMARY KEY (user_id, purpose)
);

CREATE TABLE mail_outbox (
    id              TEXT   NOT NULL PRIMARY KEY,
    recipient       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    sealed_body     BYTEA  NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT
);

CREATE INDEX mail_outbox_next_attempt_at ON mail_outbox (next_attempt_at);
