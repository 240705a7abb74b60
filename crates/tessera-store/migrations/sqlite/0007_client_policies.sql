-- Per-client policies found missing by the attack pass (issue 14):
-- is_resource_server: may read the revocation feed and introspect tokens (others may not);
-- allowed_origins: JSON list of browser origins allowed by CORS (public clients only);
-- require_pkce: authorization requests must carry PKCE (public clients always must).
ALTER TABLE clients ADD COLUMN is_resource_server INTEGER NOT NULL DEFAULT 0
    CHECK (is_resource_server IN (0, 1));
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN require_pkce INTEGER NOT NULL DEFAULT 0
    CHECK (require_pkce IN (0, 1));

-- replays: how often a spent authorization code was presented again (the first replay is
-- audited, the rest only counted).
ALTER TABLE authorization_codes ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;

-- The access token issued with each refresh token, so that revoking the grant (reuse, RFC 7009,
-- a replayed code) revokes it too. NULL for seeded sign-ins and rows stored before this.
ALTER TABLE refresh_tokens ADD COLUMN access_token_jti TEXT;
ALTER TABLE refresh_tokens ADD COLUMN access_token_expires_at INTEGER;
