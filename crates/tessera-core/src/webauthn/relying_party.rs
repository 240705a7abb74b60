//! Who the relying party is (RP ID and allowed origins) and how much user verification it asks
//! for: the two pieces of policy every ceremony is checked against.

use aws_lc_rs::digest;
use serde::Serialize;

use super::WebauthnError;

/// The relying party as the browser and the authenticator see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID (a registrable domain suffix of the origin, e.g. `login.example.com` or
    /// `localhost`); authenticators scope credentials to it and sign its SHA-256.
    pub id: String,
    /// The exact origins allowed in clientDataJSON: the issuer's origin (`https://host[:port]`,
    /// no path, no trailing slash) plus configured extra ones such as
    /// `android:apk-key-hash:…` for native apps. Compared byte for byte, never by prefix.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// A relying party with RP ID `id` and the allowed `origins`.
    pub fn new<I, S>(id: impl Into<String>, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            id: id.into(),
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// SHA-256 of the RP ID: what authenticator data's rpIdHash must equal.
    pub fn id_hash(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, self.id.as_bytes()).as_ref());
        out
    }

    /// Whether `origin` is exactly one of the allowed origins.
    pub(crate) fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == origin)
    }
}

/// Whether the authenticator must verify the user (PIN, biometric) or only see them present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// The UV flag must be set, or the ceremony is refused.
    Required,
    /// Asked for but not enforced; the outcome reports whether it happened.
    Preferred,
}

impl UserVerification {
    /// Refuses a clear UV flag when verification is required.
    pub(crate) fn check(self, user_verified: bool) -> Result<(), WebauthnError> {
        match self {
            Self::Required if !user_verified => Err(WebauthnError::UserNotVerified),
            _ => Ok(()),
        }
    }
}
