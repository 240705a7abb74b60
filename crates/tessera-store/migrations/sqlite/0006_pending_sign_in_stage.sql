-- A pending sign-in waits in a stage: the page whose POST it accepts (`first-factor`,
-- `second-factor`, `consent`), so a sign-in cannot skip a step by posting to another page. It
-- also carries what this sign-in has proven so far: the user a first factor identified, and the
-- methods with their times (`proofs`, a JSON array of {"method", "at"}), from which the code's
-- `auth_time`, `amr` and `acr` are derived. Rows written before this migration (at most 15
-- minutes' worth) read as waiting for the login page.
ALTER TABLE login_requests ADD COLUMN stage TEXT NOT NULL DEFAULT 'first-factor';
ALTER TABLE login_requests ADD COLUMN user_id TEXT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE login_requests ADD COLUMN proofs TEXT NOT NULL DEFAULT '[]';
