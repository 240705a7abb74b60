-- The first slice of revocation (issue 4's "token" entries), and remembered refresh-family
-- revocations. Conventions as in 0001/0002.

-- The jti of the access token a code's first redemption issues, chosen when the code is issued,
-- so that a replay of the code can revoke that token. SQLite can only add a NOT NULL column with
-- a constant default; every code written from now on names its own jti, and codes already
-- stored get a random one each (128 bits, hex) so no two share it. A replay of a code issued
-- before this migration revokes that random jti, which matches no token: such codes expire
-- within a minute of issue, and the sweep deletes them a day later.
ALTER TABLE authorization_codes ADD COLUMN access_token_jti TEXT NOT NULL DEFAULT '';
UPDATE authorization_codes SET access_token_jti = lower(hex(randomblob(16)));

-- Revoked access tokens, by jti, each kept until the token's own expiry (after which the token
-- is refused anyway) and then swept.
CREATE TABLE revoked_access_tokens (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

-- Refresh-token families that were revoked, so a token of one stored afterwards (the first
-- redemption of a code racing with its replay) is stored revoked. Not a foreign key to anything:
-- a family may be revoked before any of its tokens exists. Kept for the absolute refresh
-- lifetime, after which no token of the family can still be valid.
CREATE TABLE revoked_refresh_families (
    family_id  TEXT    NOT NULL PRIMARY KEY,
    revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_refresh_families_revoked_at ON revoked_refresh_families (revoked_at);
