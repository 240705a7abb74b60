-- Codes by SMS (issue 15). Sent codes and the outbox now serve both channels:
-- sent_codes (was email_codes): one live code per user and purpose (sign-in, verify-email,
--   sms-sign-in, verify-phone), a keyed hash bound to the destination it was sent to;
-- outbox (was mail_outbox): channel is 'email' (recipient an address, a subject) or 'sms'
--   (recipient an E.164 number, no subject);
-- users.phone_number: the verified number SMS codes go to (NULL: no SMS factor).
ALTER TABLE email_codes RENAME TO sent_codes;
ALTER TABLE mail_outbox RENAME TO outbox;
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email'
    CHECK (channel IN ('email', 'sms'));
ALTER TABLE users ADD COLUMN phone_number TEXT;
