-- Mirrors migrations/sqlite/0008_second_factors.sql (read it for what each column means).
CREATE TABLE totp_factors (
    id             TEXT   NOT NULL PRIMARY KEY,
    user_id        TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sealed_seed    BYTEA  NOT NULL,
    confirmed_at   BIGINT,
    last_used_step BIGINT,
    created_at     BIGINT NOT NULL
);

CREATE UNIQUE INDEX totp_factors_one_confirmed ON totp_factors (user_id)
    WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX totp_factors_one_enrolment ON totp_factors (user_id)
    WHERE confirmed_at IS NULL;

CREATE TABLE recovery_codes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
