//! A software authenticator (1Password's `passkey` crate on aws-lc-rs) with this file playing the
//! browser: it writes clientDataJSON itself, so a test can make the authenticator genuinely sign
//! a foreign origin, a cross-origin ceremony or the wrong type, and the refusal is then about
//! that rule and not about a broken signature.

use aws_lc_rs::digest;
use passkey::authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey::crypto::aws_lc_rs::AwsLcRsBackend;
use passkey::crypto::iana::Algorithm;
use passkey::types::ctap2::{get_assertion, make_credential, Aaguid, Ctap2Error};
use passkey::types::webauthn::{
    PublicKeyCredentialParameters, PublicKeyCredentialType, PublicKeyCredentialUserEntity,
};
use passkey::types::Passkey;

use super::builder::{client_data, ORIGIN, RP_ID};
use crate::webauthn::{
    verify_registration, AssertionResponse, Challenge, RegistrationResponse, RelyingParty,
    StoredCredential, UserVerification,
};

pub const AAGUID: [u8; 16] = *b"tessera-test-key";

/// The person at the authenticator: always present when asked, verified only if `verifies`.
pub struct User {
    pub verifies: bool,
}

#[async_trait::async_trait]
impl UserValidationMethod for User {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: verification && self.verifies,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.verifies)
    }
}

/// One authenticator holding (at most) one credential.
pub struct Device {
    authenticator: Authenticator<Option<Passkey>, User, AwsLcRsBackend>,
    alg: Algorithm,
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

pub fn rp() -> RelyingParty {
    RelyingParty::new(RP_ID, [ORIGIN, "android:apk-key-hash:c2lnbmluZy1rZXk"])
}

impl Device {
    /// A device making `alg` keys, with a signature counter, that verifies users if `verifies`.
    pub fn new(alg: Algorithm, verifies: bool) -> Self {
        let user = User { verifies };
        let mut authenticator =
            Authenticator::new(Aaguid::from(AAGUID), None, user, AwsLcRsBackend);
        authenticator.set_make_credentials_with_signature_counter(true);
        Self { authenticator, alg }
    }

    /// A device that keeps no signature counter (as synced passkeys do): every count is 0.
    pub fn without_counter(alg: Algorithm) -> Self {
        let mut device = Self::new(alg, true);
        device
            .authenticator
            .set_make_credentials_with_signature_counter(false);
        device
    }

    /// authenticatorMakeCredential for `rp_id`, over this clientDataJSON.
    pub async fn register(
        &mut self,
        rp_id: &str,
        client_data_json: Vec<u8>,
        uv: bool,
    ) -> RegistrationResponse {
        let request = make_credential::Request {
            client_data_hash: sha256(&client_data_json).into(),
            rp: make_credential::PublicKeyCredentialRpEntity {
                id: rp_id.into(),
                name: Some("Tessera".into()),
            },
            user: PublicKeyCredentialUserEntity {
                id: vec![7; 16].into(),
                name: "ada@example.com".into(),
                display_name: "Ada".into(),
            },
            pub_key_cred_params: vec![PublicKeyCredentialParameters {
                ty: PublicKeyCredentialType::PublicKey,
                alg: self.alg,
            }],
            exclude_list: None,
            extensions: None,
            options: make_credential::Options {
                rk: true,
                up: true,
                uv,
            },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = self.authenticator.make_credential(request).await.unwrap();
        RegistrationResponse {
            client_data_json,
            attestation_object: response.as_webauthn_bytes().into(),
            transports: vec!["internal".into()],
        }
    }

    /// authenticatorGetAssertion for `rp_id`, over this clientDataJSON.
    pub async fn sign(
        &mut self,
        rp_id: &str,
        client_data_json: Vec<u8>,
        up: bool,
        uv: bool,
    ) -> AssertionResponse {
        let request = get_assertion::Request {
            rp_id: rp_id.into(),
            client_data_hash: sha256(&client_data_json).into(),
            allow_list: None,
            extensions: None,
            options: get_assertion::Options { up, uv },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = self.authenticator.get_assertion(request).await.unwrap();
        AssertionResponse {
            credential_id: response.credential.unwrap().id.into(),
            client_data_json,
            authenticator_data: response.auth_data.to_vec(),
            signature: response.signature.into(),
            user_handle: response.user.map(|user| user.id.into()),
        }
    }

    /// A sign-in as a browser at `ORIGIN` makes it, for `challenge`, UP and UV set.
    pub async fn sign_in(&mut self, challenge: &Challenge) -> AssertionResponse {
        let data = client_data("webauthn.get", challenge.as_str(), ORIGIN, "");
        self.sign(RP_ID, data, true, true).await
    }
}

/// A device with a credential registered the ordinary way, and the record stored for it.
pub async fn registered(alg: Algorithm) -> (Device, StoredCredential) {
    let mut device = Device::new(alg, true);
    let challenge = Challenge::new();
    let data = client_data("webauthn.create", challenge.as_str(), ORIGIN, "");
    let response = device.register(RP_ID, data, true).await;
    let credential =
        verify_registration(&rp(), &challenge, &response, UserVerification::Required).unwrap();
    let stored = StoredCredential {
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: credential.sign_count,
        backup_eligible: credential.backup_eligible,
    };
    (device, stored)
}
