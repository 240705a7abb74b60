-- Mirrors migrations/sqlite/0012_acr_essential.sql.
ALTER TABLE login_requests ADD COLUMN acr_essential BOOLEAN NOT NULL DEFAULT FALSE;
