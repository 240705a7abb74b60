//! Messages Tessera sends (codes and notices, by email or SMS), as queued in the store's outbox.
//!
//! Requests never talk to an SMTP server or an SMS provider: they queue a message, and a worker
//! on any node sends it, retrying with backoff, so a slow or dead provider never blocks a
//! sign-in. Bodies can hold a code, so they are sealed under the key-encryption key while
//! queued, bound to the message's id, and a sent message is deleted.

use crate::kek::{KekError, KeyEncryptionKey};
use crate::phone::PhoneNumber;
use crate::user::Email;
use std::fmt;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Attempts after which a message is given up (and audited).
pub const MAX_ATTEMPTS: u32 = 8;

/// How long a message may wait in the outbox before it is given up whatever its attempts: a
/// code mailed an hour late is useless, and a user told "we sent a code" has long moved on.
pub const MAX_AGE: Duration = Duration::hours(1);

/// Who a message goes to, and so by which channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// By email, through the SMTP server.
    Email(Email),
    /// By SMS, through the provider's webhook.
    Phone(PhoneNumber),
}

impl Recipient {
    /// The stored channel name.
    pub fn channel(&self) -> &'static str {
        match self {
            Recipient::Email(_) => "email",
            Recipient::Phone(_) => "sms",
        }
    }

    /// The stored address.
    pub fn address(&self) -> &str {
        match self {
            Recipient::Email(email) => email.as_str(),
            Recipient::Phone(number) => number.as_str(),
        }
    }

    /// Reads a stored channel and address back; `None` for an unknown channel.
    pub fn from_stored(channel: &str, address: String) -> Option<Self> {
        match channel {
            "email" => Some(Recipient::Email(Email::from_stored(address))),
            "sms" => Some(Recipient::Phone(PhoneNumber::from_stored(address))),
            _ => None,
        }
    }
}

/// A message in the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Random id.
    pub id: String,
    /// The one recipient, and so the channel.
    pub recipient: Recipient,
    /// The subject line of an email (never holds a secret); empty for SMS.
    pub subject: String,
    /// The plain-text body, sealed under the KEK and bound to `id`.
    pub sealed_body: Vec<u8>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Attempts made so far (counting one now claimed).
    pub attempts: u32,
}

impl fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("subject", &self.subject)
            .field("created_at", &self.created_at)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl OutgoingMessage {
    /// A new message to queue.
    pub fn new(
        recipient: Recipient,
        subject: impl Into<String>,
        body: &str,
        kek: &KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> Self {
        let id = crate::random::token(16);
        let sealed_body = kek.seal(&Self::sealing_context(&id), body.as_bytes());
        Self {
            id,
            recipient,
            subject: subject.into(),
            sealed_body,
            created_at: now,
            attempts: 0,
        }
    }

    /// The body in clear, to send.
    pub fn body(&self, kek: &KeyEncryptionKey) -> Result<Zeroizing<String>, KekError> {
        let bytes = kek.open(&Self::sealing_context(&self.id), &self.sealed_body)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| KekError::WrongKeyOrCorrupt)
    }

    /// Whether a failed message is given up rather than retried.
    pub fn is_spent(&self, now: OffsetDateTime) -> bool {
        self.attempts >= MAX_ATTEMPTS || now - self.created_at >= MAX_AGE
    }

    fn sealing_context(id: &str) -> String {
        format!("mail:{id}")
    }
}

/// A masked form of an address for pages ("a•••@example.com"), so that a page shown before the
/// second factor does not spell out the address to whoever holds the password.
pub fn masked(email: &Email) -> String {
    let address = email.as_str();
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn the_body_is_sealed_to_its_message_and_never_debug_printed() {
        let (kek, _) = KeyEncryptionKey::generate();
        let to = Email::parse("ada@example.com").unwrap();
        let mail = OutgoingMessage::new(
            Recipient::Email(to.clone()),
            "Your code",
            "Your code is 123456",
            &kek,
            t(0),
        );
        assert!(!mail.sealed_body.windows(6).any(|w| w == b"123456"));
        assert_eq!(mail.body(&kek).unwrap().as_str(), "Your code is 123456");
        let mut moved = OutgoingMessage::new(Recipient::Email(to), "x", "other", &kek, t(0));
        moved.sealed_body = mail.sealed_body.clone();
        assert!(moved.body(&kek).is_err());
        assert!(!format!("{mail:?}").contains("123456"));
    }

    #[test]
    fn a_message_is_spent_after_its_attempts_or_an_hour() {
        let (kek, _) = KeyEncryptionKey::generate();
        let mut mail = OutgoingMessage::new(
            Recipient::Email(Email::parse("ada@example.com").unwrap()),
            "s",
            "b",
            &kek,
            t(0),
        );
        mail.attempts = MAX_ATTEMPTS - 1;
        assert!(!mail.is_spent(t(60)));
        assert!(mail.is_spent(t(3600)));
        mail.attempts = MAX_ATTEMPTS;
        assert!(mail.is_spent(t(60)));
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            masked(&Email::parse("ada@example.com").unwrap()),
            "a•••@example.com"
        );
    }
}
