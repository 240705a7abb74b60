-- Forgotten-password links (issue 15): the SHA-256 of the token in the mailed link, one live
-- link per user (asking again replaces it), used once (used_at, set by a conditional UPDATE).
CREATE TABLE password_resets (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
