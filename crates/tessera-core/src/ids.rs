//! Identifier newtypes, so a user id can never be passed where a client id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The stable, opaque identifier of a user; it is the `sub` of the user's tokens and never
/// changes, unlike the email address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// A fresh random id (128 bits).
    pub fn generate() -> Self {
        Self(crate::random::token(16))
    }

    /// Wraps an id read back from the store.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identifier of an OAuth client, chosen by the operator (`tessera client add CLIENT_ID`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// Why a client id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a client id is 1 to 128 characters of letters, digits and '-', '_', '.', '~', ':'")]
pub struct InvalidClientId;

impl ClientId {
    /// Validates an operator-chosen client id. The character set is the URL-unreserved set plus
    /// ':' so ids survive form encoding and Basic authentication unchanged.
    pub fn parse(id: &str) -> Result<Self, InvalidClientId> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.~:".contains(&c));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    /// Wraps an id read back from the store.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_checked() {
        for good in ["app", "my-app_1.0", "urn:app:x", "a~b"] {
            assert!(ClientId::parse(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(129);
        for bad in ["", "has space", "a/b", "ü", "a%20", too_long.as_str()] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_are_random() {
        assert_ne!(UserId::generate(), UserId::generate());
        assert_eq!(UserId::generate().as_str().len(), 22);
    }
}
