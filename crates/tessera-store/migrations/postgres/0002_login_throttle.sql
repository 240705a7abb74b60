-- Per-account sign-in attempt counts (brute-force limits), shared by every node. `key` is a
-- SHA-256 of what was typed in the email field, not a user id: addresses without an account are
-- counted the same way, and no typed address is kept in clear. `forget_at` is when the count may
-- be deleted; the sweep deletes by it. Mirrors migrations/sqlite/0005_login_throttle.sql.

CREATE TABLE login_throttles (
    key             TEXT   NOT NULL PRIMARY KEY,
    attempts        BIGINT NOT NULL,
    last_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    forget_at       BIGINT NOT NULL
);

CREATE INDEX login_throttles_forget_at ON login_throttles (forget_at);
