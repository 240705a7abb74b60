-- An essential acr asked in the claims parameter (issue 15): a pending sign-in that cannot reach
-- one of its acr_values fails instead of finishing at a lower level.
ALTER TABLE login_requests ADD COLUMN acr_essential INTEGER NOT NULL DEFAULT 0
    CHECK (acr_essential IN (0, 1));
