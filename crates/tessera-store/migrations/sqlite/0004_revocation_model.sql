-- The whole revocation model of issue 4: one table of entries that is also the feed, session
-- participation and the back-channel logout queue, and the audit trail. Conventions as in 0001.

ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- Every revocation entry, in the order it was made. `cursor` is the feed position:
-- AUTOINCREMENT, so a cursor is never handed out twice, even after the newest entries are
-- swept. Which columns are set depends on the kind:
--   token-revoked        jti
--   session-revoked      sid, user_id
--   credential-change    user_id, not_before
--   token-claims-change  user_id, not_before
--   global-revoked       not_before
-- user_id is deliberately not a foreign key: the entry for a removed user must outlive the user.
CREATE TABLE revocations (
    cursor     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('token-revoked', 'session-revoked',
                   'credential-change', 'token-claims-change', 'global-revoked')),
    jti        TEXT,
    sid        TEXT,
    user_id    TEXT,
    not_before INTEGER,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    CHECK ((kind = 'token-revoked') = (jti IS NOT NULL)),
    CHECK ((kind = 'session-revoked') = (sid IS NOT NULL)),
    CHECK ((kind IN ('credential-change', 'token-claims-change', 'global-revoked'))
           = (not_before IS NOT NULL))
) STRICT;

CREATE INDEX revocations_jti ON revocations (jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_sid ON revocations (sid) WHERE sid IS NOT NULL;
CREATE INDEX revocations_user_id ON revocations (user_id, not_before) WHERE not_before IS NOT NULL;
CREATE INDEX revocations_global ON revocations (not_before) WHERE kind = 'global-revoked';
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- The entries of 0003's table carry over as token entries; when they were made was not kept,
-- so their expiry stands in for it.
INSERT INTO revocations (kind, jti, revoked_at, expires_at, reason, actor)
    SELECT 'token-revoked', jti, expires_at, expires_at, 'client-request', 'system'
    FROM revoked_access_tokens ORDER BY expires_at;
DROP TABLE revoked_access_tokens;

-- The highest cursor ever swept: a feed reader whose cursor is below it has missed an entry and
-- must resync. One row.
CREATE TABLE revocation_feed (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    horizon INTEGER NOT NULL
) STRICT;
INSERT INTO revocation_feed (id, horizon) VALUES (1, 0);

-- Which clients took part in which browser session (received a code in it): the clients to
-- notify by back-channel logout when it ends. Goes with the session or the client.
CREATE TABLE session_clients (
    sid       TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    PRIMARY KEY (sid, client_id)
) STRICT;

CREATE INDEX session_clients_client_id ON session_clients (client_id);

-- Logout tokens waiting to be delivered. user_id and sid are not foreign keys: the session (and,
-- for a removal, the user) is gone by the time the delivery runs.
CREATE TABLE backchannel_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT    NOT NULL,
    sid             TEXT    NOT NULL,
    jti             TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
) STRICT;

CREATE INDEX backchannel_deliveries_next_attempt_at ON backchannel_deliveries (next_attempt_at);
CREATE INDEX backchannel_deliveries_client_id ON backchannel_deliveries (client_id);

-- The audit trail. Kept until an operator prunes it (it is small: one row per revocation,
-- logout or detected reuse).
CREATE TABLE audit_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    reason TEXT,
    detail TEXT    NOT NULL
) STRICT;
