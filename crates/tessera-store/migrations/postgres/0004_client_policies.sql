-- Mirrors migrations/sqlite/0007_client_policies.sql (read it for what each column means).
ALTER TABLE clients ADD COLUMN is_resource_server BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN require_pkce BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authorization_codes ADD COLUMN replays BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN access_token_jti TEXT;
ALTER TABLE refresh_tokens ADD COLUMN access_token_expires_at BIGINT;
