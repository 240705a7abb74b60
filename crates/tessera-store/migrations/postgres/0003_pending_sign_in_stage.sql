-- The stage a pending sign-in waits in, and what it has proven so far. Mirrors
-- migrations/sqlite/0006_pending_sign_in_stage.sql (read it for what each column means).
ALTER TABLE login_requests ADD COLUMN stage TEXT NOT NULL DEFAULT 'first-factor';
ALTER TABLE login_requests ADD COLUMN user_id TEXT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE login_requests ADD COLUMN proofs TEXT NOT NULL DEFAULT '[]';
CREATE INDEX login_requests_user_id ON login_requests (user_id);
