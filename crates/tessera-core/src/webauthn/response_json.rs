//! The browser's answer in WebAuthn Level 3's JSON forms (`RegistrationResponseJSON`,
//! `AuthenticationResponseJSON`, §5.1, what `PublicKeyCredential.toJSON()` returns), and their
//! conversion into the decoded responses the verifiers take.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{AssertionResponse, RegistrationResponse, WebauthnError};

/// base64url, with or without padding: `toJSON()` omits it, but RFC 4648 §5 allows it and some
/// polyfills add it; refusing it would refuse nothing dangerous.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest credential ID (§5.8.3).
const MAX_CREDENTIAL_ID: usize = 1023;
/// Longest user handle (§5.4.3).
const MAX_USER_HANDLE: usize = 64;
/// The transports §5.8.4 defines; others are dropped, as the specification asks of RPs.
const KNOWN_TRANSPORTS: [&str; 6] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];

/// `AuthenticatorAttestationResponseJSON`. The convenience members (`authenticatorData`,
/// `publicKey`, `publicKeyAlgorithm`) are ignored: everything is read from the signed
/// attestation object instead.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponseJson {
    /// base64url clientDataJSON.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// base64url attestation object.
    pub attestation_object: String,
    /// Transport hints.
    #[serde(default)]
    pub transports: Vec<String>,
}

/// `RegistrationResponseJSON`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponseJson {
    /// base64url credential ID.
    pub id: String,
    /// The same, again (the browser sends both).
    pub raw_id: String,
    /// Must be `public-key`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The authenticator's response.
    pub response: AttestationResponseJson,
    /// `platform` or `cross-platform`, informational.
    #[serde(default)]
    pub authenticator_attachment: Option<String>,
    /// Ignored: Tessera requests no extensions.
    #[serde(default)]
    pub client_extension_results: IgnoredAny,
}

/// `AuthenticatorAssertionResponseJSON`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponseJson {
    /// base64url clientDataJSON.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// base64url authenticator data.
    pub authenticator_data: String,
    /// base64url signature.
    pub signature: String,
    /// base64url user handle; absent or null for credentials that have none.
    #[serde(default)]
    pub user_handle: Option<String>,
}

/// `AuthenticationResponseJSON`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponseJson {
    /// base64url credential ID.
    pub id: String,
    /// The same, again.
    pub raw_id: String,
    /// Must be `public-key`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The authenticator's response.
    pub response: AssertionResponseJson,
    /// `platform` or `cross-platform`, informational.
    #[serde(default)]
    pub authenticator_attachment: Option<String>,
    /// Ignored: Tessera requests no extensions.
    #[serde(default)]
    pub client_extension_results: IgnoredAny,
}

fn decode(text: &str, what: &'static str) -> Result<Vec<u8>, WebauthnError> {
    BASE64URL
        .decode(text)
        .map_err(|_| WebauthnError::MalformedResponse(what))
}

/// Checks `type`, and that `id` and `rawId` name the same credential of a plausible length.
fn credential_id(ty: &str, id: &str, raw_id: &str) -> Result<Vec<u8>, WebauthnError> {
    if ty != "public-key" {
        return Err(WebauthnError::MalformedResponse("type is not public-key"));
    }
    let raw = decode(raw_id, "rawId is not base64url")?;
    if decode(id, "id is not base64url")? != raw {
        return Err(WebauthnError::MalformedResponse("id and rawId differ"));
    }
    if raw.is_empty() || raw.len() > MAX_CREDENTIAL_ID {
        return Err(WebauthnError::MalformedResponse("credential ID length"));
    }
    Ok(raw)
}

impl TryFrom<RegistrationResponseJson> for RegistrationResponse {
    type Error = WebauthnError;

    fn try_from(json: RegistrationResponseJson) -> Result<Self, Self::Error> {
        credential_id(&json.ty, &json.id, &json.raw_id)?;
        let response = json.response;
        Ok(Self {
            client_data_json: decode(&response.client_data_json, "clientDataJSON")?,
            attestation_object: decode(&response.attestation_object, "attestationObject")?,
            transports: response
                .transports
                .into_iter()
                .filter(|t| KNOWN_TRANSPORTS.contains(&t.as_str()))
                .collect(),
        })
    }
}

impl RegistrationResponse {
    /// Parses and decodes a `RegistrationResponseJSON` body.
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        serde_json::from_slice::<RegistrationResponseJson>(json)
            .map_err(|_| WebauthnError::MalformedResponse("not a RegistrationResponseJSON"))?
            .try_into()
    }
}

impl TryFrom<AuthenticationResponseJson> for AssertionResponse {
    type Error = WebauthnError;

    fn try_from(json: AuthenticationResponseJson) -> Result<Self, Self::Error> {
        let credential_id = credential_id(&json.ty, &json.id, &json.raw_id)?;
        let response = json.response;
        // Some authenticators send an empty handle where they mean none.
        let user_handle = match response.user_handle.as_deref() {
            None | Some("") => None,
            Some(text) => Some(decode(text, "userHandle")?),
        };
        if user_handle
            .as_ref()
            .is_some_and(|h| h.len() > MAX_USER_HANDLE)
        {
            return Err(WebauthnError::MalformedResponse("userHandle over 64 bytes"));
        }
        Ok(Self {
            credential_id,
            client_data_json: decode(&response.client_data_json, "clientDataJSON")?,
            authenticator_data: decode(&response.authenticator_data, "authenticatorData")?,
            signature: decode(&response.signature, "signature")?,
            user_handle,
        })
    }
}

impl AssertionResponse {
    /// Parses and decodes an `AuthenticationResponseJSON` body.
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        serde_json::from_slice::<AuthenticationResponseJson>(json)
            .map_err(|_| WebauthnError::MalformedResponse("not an AuthenticationResponseJSON"))?
            .try_into()
    }
}
