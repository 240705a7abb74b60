-- Devices on the account page (issue 15): the browser a session began in and when it was last
-- used. Existing sessions were last seen, as far as anyone knows, when they last authenticated.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = auth_time;
