//! The options the browser is handed, in WebAuthn Level 3's JSON forms
//! (`PublicKeyCredentialCreationOptionsJSON`, `PublicKeyCredentialRequestOptionsJSON`, §5.1):
//! binary members are base64url without padding, so a page can pass them to
//! `PublicKeyCredential.parseCreationOptionsFromJSON()` / `parseRequestOptionsFromJSON()` as
//! they are.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::{Challenge, CoseAlgorithm, RelyingParty, UserVerification};

/// `PublicKeyCredentialRpEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpEntity {
    /// The RP ID.
    pub id: String,
    /// A name the authenticator may show.
    pub name: String,
}

/// `PublicKeyCredentialUserEntityJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// The user handle, base64url. It must be an opaque value of at most 64 bytes with nothing
    /// personal in it (§14.6.1): authenticators store it and hand it to anyone who signs in.
    pub id: String,
    /// The account name the authenticator shows (e.g. the email address).
    pub name: String,
    /// A friendlier name the authenticator may show.
    pub display_name: String,
}

impl UserEntity {
    /// A user entity for the user handle `handle` (raw bytes, encoded here).
    pub fn new(handle: &[u8], name: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: URL_SAFE_NO_PAD.encode(handle),
            name: name.into(),
            display_name: display_name.into(),
        }
    }
}

/// `PublicKeyCredentialParameters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CredentialParameters {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The COSE algorithm identifier.
    pub alg: i64,
}

/// `PublicKeyCredentialDescriptorJSON`: an existing credential, to exclude at registration or
/// to allow at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// The credential ID, base64url.
    pub id: String,
    /// The transports recorded at registration, as a hint to the browser.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

impl CredentialDescriptor {
    /// A descriptor for the credential `credential_id` reached over `transports`.
    pub fn new(credential_id: &[u8], transports: Vec<String>) -> Self {
        Self {
            ty: "public-key",
            id: URL_SAFE_NO_PAD.encode(credential_id),
            transports,
        }
    }
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// Always `required`: a passkey must be discoverable, so sign-in needs no username.
    pub resident_key: &'static str,
    /// Always true: the Level 1 spelling of the same requirement, for older browsers.
    pub require_resident_key: bool,
    /// Whether the authenticator must verify the user.
    pub user_verification: UserVerification,
}

/// `PublicKeyCredentialCreationOptionsJSON`, for `navigator.credentials.create()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The relying party.
    pub rp: RpEntity,
    /// The account the credential is for.
    pub user: UserEntity,
    /// The challenge, base64url.
    pub challenge: String,
    /// The allow-list, EdDSA first (smallest, fastest), then ES256, then RS256.
    pub pub_key_cred_params: Vec<CredentialParameters>,
    /// How long the browser waits, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The user's existing credentials, so an authenticator that holds one says so instead of
    /// creating a second.
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Discoverable credential and the user verification requirement.
    pub authenticator_selection: AuthenticatorSelection,
    /// Always `none`: see the attestation module for why.
    pub attestation: &'static str,
}

impl CreationOptions {
    /// Options for registering a passkey for `user`, with no timeout and nothing excluded (set
    /// the public fields to change that).
    pub fn new(
        rp: &RelyingParty,
        rp_name: impl Into<String>,
        user: UserEntity,
        challenge: &Challenge,
        user_verification: UserVerification,
    ) -> Self {
        Self {
            rp: RpEntity {
                id: rp.id.clone(),
                name: rp_name.into(),
            },
            user,
            challenge: challenge.as_str().to_owned(),
            pub_key_cred_params: CoseAlgorithm::ALL
                .into_iter()
                .map(|alg| CredentialParameters {
                    ty: "public-key",
                    alg: alg.cose_id(),
                })
                .collect(),
            timeout: None,
            exclude_credentials: Vec::new(),
            authenticator_selection: AuthenticatorSelection {
                resident_key: "required",
                require_resident_key: true,
                user_verification,
            },
            attestation: "none",
        }
    }
}

/// `PublicKeyCredentialRequestOptionsJSON`, for `navigator.credentials.get()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// The challenge, base64url.
    pub challenge: String,
    /// How long the browser waits, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The RP ID.
    pub rp_id: String,
    /// Empty for discoverable sign-in (the authenticator offers its passkeys for this RP ID);
    /// the user's credentials when the user is already known.
    pub allow_credentials: Vec<CredentialDescriptor>,
    /// Whether the authenticator must verify the user.
    pub user_verification: UserVerification,
}

impl RequestOptions {
    /// Options for a discoverable sign-in (empty `allowCredentials`, no timeout).
    pub fn new(
        rp: &RelyingParty,
        challenge: &Challenge,
        user_verification: UserVerification,
    ) -> Self {
        Self {
            challenge: challenge.as_str().to_owned(),
            timeout: None,
            rp_id: rp.id.clone(),
            allow_credentials: Vec::new(),
            user_verification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_options_have_the_level_3_json_shape() {
        let rp = RelyingParty::new("login.example.com", ["https://login.example.com"]);
        let challenge = Challenge::new();
        let user = UserEntity::new(&[1, 2, 3], "ada@example.com", "Ada");
        let mut options =
            CreationOptions::new(&rp, "Tessera", user, &challenge, UserVerification::Required);
        options.timeout = Some(300_000);
        options.exclude_credentials = vec![CredentialDescriptor::new(&[9; 4], vec![])];
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "rp": {"id": "login.example.com", "name": "Tessera"},
                "user": {"id": "AQID", "name": "ada@example.com", "displayName": "Ada"},
                "challenge": challenge.as_str(),
                "pubKeyCredParams": [
                    {"type": "public-key", "alg": -8},
                    {"type": "public-key", "alg": -7},
                    {"type": "public-key", "alg": -257},
                ],
                "timeout": 300000,
                "excludeCredentials": [{"type": "public-key", "id": "CQkJCQ"}],
                "authenticatorSelection": {
                    "residentKey": "required",
                    "requireResidentKey": true,
                    "userVerification": "required",
                },
                "attestation": "none",
            })
        );
    }

    #[test]
    fn request_options_have_the_level_3_json_shape() {
        let rp = RelyingParty::new("localhost", ["http://localhost:8080"]);
        let challenge = Challenge::new();
        let options = RequestOptions::new(&rp, &challenge, UserVerification::Preferred);
        assert_eq!(
            serde_json::to_value(&options).unwrap(),
            serde_json::json!({
                "challenge": challenge.as_str(),
                "rpId": "localhost",
                "allowCredentials": [],
                "userVerification": "preferred",
            })
        );
    }
}
