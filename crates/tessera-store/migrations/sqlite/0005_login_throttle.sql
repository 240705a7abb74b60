-- Per-account sign-in attempt counts (brute-force limits). `key` is a SHA-256 of what was typed
-- in the email field, not a user id: addresses without an account are counted the same way, and
-- no typed address is kept in clear. `forget_at` is when the count may be deleted (an hour after
-- the later of the last attempt and the end of the lock, by default); the sweep deletes by it.

CREATE TABLE login_throttles (
    key             TEXT    NOT NULL PRIMARY KEY,
    attempts        INTEGER NOT NULL,
    last_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    forget_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX login_throttles_forget_at ON login_throttles (forget_at);
