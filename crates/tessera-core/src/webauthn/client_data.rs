//! clientDataJSON (WebAuthn §5.8.1): what the browser says it asked for, where, and for which
//! challenge. Checks §7.1 steps 5–10 (registration) and §7.2 steps 9–15 (assertion).

use serde::Deserialize;

use super::{Challenge, RelyingParty, WebauthnError};

/// Which ceremony a clientDataJSON was made for (its `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `webauthn.create`: registering a new credential.
    Create,
    /// `webauthn.get`: signing in with an existing one.
    Get,
}

/// The members of clientDataJSON that the relying party checks; the others are ignored, as the
/// specification requires (it reserves the right to add keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectedClientData {
    /// The ceremony, from `type`.
    pub ceremony: Ceremony,
    /// The challenge as the browser echoed it (base64url).
    pub challenge: String,
    /// The origin of the page that called the API.
    pub origin: String,
    /// `crossOrigin`, false when absent.
    pub cross_origin: bool,
    /// `topOrigin`, present when the caller was in an iframe.
    pub top_origin: Option<String>,
}

/// The wire shape. Duplicate members are refused by serde's derive, so a second `origin` cannot
/// shadow the first.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

impl CollectedClientData {
    /// Parses clientDataJSON. An unknown `type` is not a parse error: it is reported later as
    /// [`WebauthnError::WrongCeremonyType`], the more useful audit code.
    pub fn parse(json: &[u8]) -> Result<Self, WebauthnError> {
        let wire: Wire = serde_json::from_slice(json)
            .map_err(|_| WebauthnError::MalformedClientData("not the expected JSON object"))?;
        let ceremony = match wire.ty.as_str() {
            "webauthn.create" => Some(Ceremony::Create),
            "webauthn.get" => Some(Ceremony::Get),
            _ => None,
        };
        let ceremony = ceremony.ok_or(WebauthnError::WrongCeremonyType)?;
        Ok(Self {
            ceremony,
            challenge: wire.challenge,
            origin: wire.origin,
            cross_origin: wire.cross_origin.unwrap_or(false),
            top_origin: wire.top_origin,
        })
    }

    /// Checks type, challenge, origin, crossOrigin and topOrigin, in the specification's order.
    pub(crate) fn check(
        &self,
        rp: &RelyingParty,
        expected: &Challenge,
        ceremony: Ceremony,
    ) -> Result<(), WebauthnError> {
        if self.ceremony != ceremony {
            return Err(WebauthnError::WrongCeremonyType);
        }
        if !expected.matches(&self.challenge) {
            return Err(WebauthnError::ChallengeMismatch);
        }
        if !rp.allows_origin(&self.origin) {
            return Err(WebauthnError::OriginNotAllowed);
        }
        // §7.1 step 10 lets an RP accept ceremonies from iframes it expects; Tessera's pages are
        // never meant to be framed by another origin, so a cross-origin ceremony is refused.
        if self.cross_origin {
            return Err(WebauthnError::CrossOrigin);
        }
        if let Some(top) = &self.top_origin {
            if !rp.allows_origin(top) {
                return Err(WebauthnError::TopOriginNotAllowed);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::new("login.example.com", ["https://login.example.com"])
    }

    fn json(challenge: &Challenge, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"https://login.example.com"{extra}}}"#,
            challenge.as_str()
        )
        .into_bytes()
    }

    fn check(challenge: &Challenge, extra: &str) -> Result<(), WebauthnError> {
        CollectedClientData::parse(&json(challenge, extra))?.check(&rp(), challenge, Ceremony::Get)
    }

    #[test]
    fn accepts_the_expected_data_and_ignores_unknown_members() {
        let c = Challenge::new();
        assert_eq!(check(&c, ""), Ok(()));
        assert_eq!(check(&c, r#","crossOrigin":false,"other_keys":1"#), Ok(()));
        let top = r#","topOrigin":"https://login.example.com""#;
        assert_eq!(check(&c, top), Ok(()));
    }

    #[test]
    fn refuses_each_broken_rule() {
        let c = Challenge::new();
        assert_eq!(
            check(&c, r#","crossOrigin":true"#),
            Err(WebauthnError::CrossOrigin)
        );
        assert_eq!(
            check(&c, r#","topOrigin":"https://evil.example""#),
            Err(WebauthnError::TopOriginNotAllowed)
        );
        let data = CollectedClientData::parse(&json(&c, "")).unwrap();
        assert_eq!(
            data.check(&rp(), &Challenge::new(), Ceremony::Get),
            Err(WebauthnError::ChallengeMismatch)
        );
        assert_eq!(
            data.check(&rp(), &c, Ceremony::Create),
            Err(WebauthnError::WrongCeremonyType)
        );
        let other = RelyingParty::new("login.example.com", ["https://login.example.com:8443"]);
        assert_eq!(
            data.check(&other, &c, Ceremony::Get),
            Err(WebauthnError::OriginNotAllowed)
        );
    }

    #[test]
    fn refuses_malformed_json() {
        let c = Challenge::new();
        for bad in [&b""[..], b"[]", b"{\"type\":\"webauthn.get\"}", b"\xff\xfe"] {
            assert!(matches!(
                CollectedClientData::parse(bad),
                Err(WebauthnError::MalformedClientData(_))
            ));
        }
        // A second `origin` must not be able to replace the first.
        assert!(matches!(
            check(&c, r#","origin":"https://evil.example""#),
            Err(WebauthnError::MalformedClientData(_))
        ));
        assert!(matches!(
            check(&c, r#","crossOrigin":"false""#),
            Err(WebauthnError::MalformedClientData(_))
        ));
        let other_type = br#"{"type":"payment.get","challenge":"x","origin":"o"}"#;
        assert_eq!(
            CollectedClientData::parse(other_type),
            Err(WebauthnError::WrongCeremonyType)
        );
    }
}
