//! A software passkey authenticator for flow tests: 1Password's `passkey` crate (a WebAuthn
//! client and a CTAP2 authenticator, on aws-lc-rs) playing the browser's part, so a test drives
//! Tessera's passkey endpoints over real HTTP with a real, independent implementation on the
//! other side. It reads the options JSON the server sends, writes the clientDataJSON itself, and
//! answers the Level 3 JSON a browser's `PublicKeyCredential.toJSON()` produces.
//!
//! The person at the device can be told to stop verifying (`set_user_verified(false)`, as
//! Chromium's virtual authenticator's `WebAuthn.setUserVerified`), for the negative tests of
//! "user verification is required".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passkey::authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::aws_lc_rs::AwsLcRsBackend;
use passkey::types::ctap2::{Aaguid, Ctap2Error};
use passkey::types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use passkey::types::Passkey;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use url::Url;

/// The AAGUID the test authenticator reports.
pub const AAGUID: [u8; 16] = *b"tessera-testkit!";

/// The person at the device: present whenever asked; verified (fingerprint, PIN) while the
/// shared flag says so.
#[derive(Debug, Clone)]
struct Person {
    verifies: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl UserValidationMethod for Person {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: verification && self.verifies.load(Ordering::SeqCst),
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.verifies.load(Ordering::SeqCst))
    }
}

/// A device holding one passkey (once registered), used from `origin`.
pub struct SoftAuthenticator {
    client: Client<Option<Passkey>, Person, AwsLcRsBackend, public_suffix::PublicSuffixList, ()>,
    origin: Url,
    verifies: Arc<AtomicBool>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("origin", &self.origin.as_str())
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SoftAuthenticator {
    /// A device with no passkey yet, used at `origin` (the issuer's, e.g.
    /// `http://localhost:PORT`), verifying its user.
    pub fn new(origin: &str) -> Self {
        let verifies = Arc::new(AtomicBool::new(true));
        let person = Person {
            verifies: verifies.clone(),
        };
        let mut authenticator =
            Authenticator::new(Aaguid::from(AAGUID), None, person, AwsLcRsBackend);
        authenticator.set_make_credentials_with_signature_counter(true);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin).expect("an origin"),
            verifies,
        }
    }

    /// Whether the device verifies its user from now on.
    pub fn set_user_verified(&self, verified: bool) {
        self.verifies.store(verified, Ordering::SeqCst);
    }

    /// Answers `navigator.credentials.create({publicKey: options})`: the
    /// `RegistrationResponseJSON`, or the client's error.
    pub async fn create(&mut self, options: &Value) -> Result<String, String> {
        let request: CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let response = &created.response;
        Ok(json!({
            "id": created.id,
            "rawId": b64(&created.raw_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&response.client_data_json),
                "authenticatorData": b64(&response.authenticator_data),
                "transports": response.transports.clone().unwrap_or_default(),
                "publicKeyAlgorithm": response.public_key_algorithm,
                "attestationObject": b64(&response.attestation_object),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
        .to_string())
    }

    /// Answers `navigator.credentials.get({publicKey: options})`: the
    /// `AuthenticationResponseJSON`, or the client's error.
    pub async fn get(&mut self, options: &Value) -> Result<String, String> {
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).map_err(|e| e.to_string())?;
        let got = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let response = &got.response;
        Ok(json!({
            "id": got.id,
            "rawId": b64(&got.raw_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&response.client_data_json),
                "authenticatorData": b64(&response.authenticator_data),
                "signature": b64(&response.signature),
                "userHandle": response.user_handle.as_ref().map(|h| b64(h)),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
        .to_string())
    }
}
