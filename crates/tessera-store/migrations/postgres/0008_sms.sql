-- Mirrors migrations/sqlite/0011_sms.sql (read it for what changes).
ALTER TABLE email_codes RENAME TO sent_codes;
ALTER TABLE mail_outbox RENAME TO outbox;
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email'
    CHECK (channel IN ('email', 'sms'));
ALTER TABLE users ADD COLUMN phone_number TEXT;
