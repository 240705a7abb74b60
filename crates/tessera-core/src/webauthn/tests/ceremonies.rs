//! Good paths. The first tests drive `passkey`'s own WebAuthn client, so the options JSON is read
//! and the clientDataJSON written by an independent implementation, and the responses travel as
//! the Level 3 JSON a browser's `toJSON()` produces.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passkey::authenticator::Authenticator;
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::aws_lc_rs::AwsLcRsBackend;
use passkey::crypto::iana::Algorithm;
use passkey::types::ctap2::Aaguid;
use passkey::types::webauthn::{
    AuthenticatedPublicKeyCredential, CreatedPublicKeyCredential, CredentialCreationOptions,
    CredentialRequestOptions,
};
use serde_json::json;
use url::Url;

use super::harness::{registered, rp, Device, User, AAGUID};
use crate::webauthn::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `RegistrationResponseJSON`, as `PublicKeyCredential.toJSON()` writes it.
fn registration_json(created: &CreatedPublicKeyCredential) -> Vec<u8> {
    let response = &created.response;
    let transports = serde_json::to_value(response.transports.clone().unwrap_or_default());
    json!({
        "id": created.id,
        "rawId": b64(&created.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&response.client_data_json),
            "authenticatorData": b64(&response.authenticator_data),
            "transports": transports.unwrap(),
            "publicKeyAlgorithm": response.public_key_algorithm,
            "attestationObject": b64(&response.attestation_object),
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {"credProps": {"rk": true}},
    })
    .to_string()
    .into_bytes()
}

/// `AuthenticationResponseJSON`, likewise.
fn authentication_json(got: &AuthenticatedPublicKeyCredential) -> Vec<u8> {
    let response = &got.response;
    json!({
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
    .to_string()
    .into_bytes()
}

/// Register, then sign in twice, through `passkey`'s client at `origin` for `rp`.
async fn browser_flow(rp: RelyingParty, origin: &str, alg: Algorithm, expected: CoseAlgorithm) {
    let origin = Url::parse(origin).unwrap();
    let mut authenticator = Authenticator::new(
        Aaguid::from(AAGUID),
        None,
        User { verifies: true },
        AwsLcRsBackend,
    );
    authenticator.set_make_credentials_with_signature_counter(true);
    authenticator.set_algorithms(&[alg]).unwrap();
    let mut client = Client::new(authenticator).allows_insecure_localhost(true);

    let challenge = Challenge::new();
    let user = UserEntity::new(&[7; 16], "ada@example.com", "Ada");
    let options =
        CreationOptions::new(&rp, "Tessera", user, &challenge, UserVerification::Required);
    let request: CredentialCreationOptions =
        serde_json::from_value(json!({ "publicKey": options })).unwrap();
    let created = client
        .register(&origin, request, DefaultClientData)
        .await
        .unwrap();
    let response = RegistrationResponse::from_json(&registration_json(&created)).unwrap();
    let credential =
        verify_registration(&rp, &challenge, &response, UserVerification::Required).unwrap();
    assert_eq!(credential.algorithm, expected);
    assert_eq!(credential.aaguid, AAGUID);
    assert_eq!(credential.attestation_format, "none");
    assert_eq!(credential.sign_count, 0);
    // `passkey` models a synced (1Password-style) passkey: BE and BS set.
    assert!(credential.user_verified && credential.backup_eligible && credential.backed_up);
    assert_eq!(credential.credential_id, created.raw_id.to_vec());
    assert!(response.transports.contains(&"internal".to_owned()));
    let mut stored = StoredCredential {
        credential_id: credential.credential_id.clone(),
        public_key: credential.public_key,
        sign_count: credential.sign_count,
        backup_eligible: credential.backup_eligible,
    };

    // Discoverable sign-in first (empty allowCredentials), then one naming the credential.
    for (round, allow) in [(1, vec![]), (2, vec![credential.credential_id.clone()])] {
        let challenge = Challenge::new();
        let mut options = RequestOptions::new(&rp, &challenge, UserVerification::Required);
        options.allow_credentials = allow
            .iter()
            .map(|id| CredentialDescriptor::new(id, response.transports.clone()))
            .collect();
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let got = client
            .authenticate(&origin, request, DefaultClientData)
            .await
            .unwrap();
        let assertion = AssertionResponse::from_json(&authentication_json(&got)).unwrap();
        let outcome = verify_assertion(
            &rp,
            &challenge,
            &stored,
            &assertion,
            UserVerification::Required,
        )
        .unwrap();
        assert_eq!(outcome.new_sign_count, round, "the counter grows");
        assert_eq!(outcome.user_handle.as_deref(), Some(&[7u8; 16][..]));
        assert_eq!(amr_values(&outcome), ["swk", "user"]);
        stored.sign_count = outcome.new_sign_count;
    }
}

#[tokio::test]
async fn es256_registers_and_signs_in_through_a_webauthn_client() {
    let rp = RelyingParty::new("login.example.com", ["https://login.example.com"]);
    browser_flow(
        rp,
        "https://login.example.com",
        Algorithm::ES256,
        CoseAlgorithm::Es256,
    )
    .await;
}

#[tokio::test]
async fn eddsa_registers_and_signs_in_through_a_webauthn_client() {
    let rp = RelyingParty::new("login.example.com", ["https://login.example.com"]);
    browser_flow(
        rp,
        "https://login.example.com",
        Algorithm::EdDSA,
        CoseAlgorithm::EdDsa,
    )
    .await;
}

#[tokio::test]
async fn localhost_works_for_development() {
    let rp = RelyingParty::new("localhost", ["http://localhost:8080"]);
    browser_flow(
        rp,
        "http://localhost:8080",
        Algorithm::ES256,
        CoseAlgorithm::Es256,
    )
    .await;
}

#[tokio::test]
async fn an_extra_origin_such_as_an_android_app_is_accepted() {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let challenge = Challenge::new();
    let origin = "android:apk-key-hash:c2lnbmluZy1rZXk";
    let data = super::builder::client_data("webauthn.get", challenge.as_str(), origin, "");
    let assertion = device.sign(super::builder::RP_ID, data, true, true).await;
    let outcome = verify_assertion(
        &rp(),
        &challenge,
        &stored,
        &assertion,
        UserVerification::Required,
    );
    assert_eq!(outcome.map(|o| o.new_sign_count), Ok(1));
}

#[tokio::test]
async fn authenticators_without_a_counter_stay_at_zero() {
    let mut device = Device::without_counter(Algorithm::EdDSA);
    let challenge = Challenge::new();
    let data = super::builder::client_data(
        "webauthn.create",
        challenge.as_str(),
        super::builder::ORIGIN,
        "",
    );
    let response = device.register(super::builder::RP_ID, data, true).await;
    let credential =
        verify_registration(&rp(), &challenge, &response, UserVerification::Required).unwrap();
    let stored = StoredCredential {
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: 0,
        backup_eligible: credential.backup_eligible,
    };
    for _ in 0..2 {
        let challenge = Challenge::new();
        let assertion = device.sign_in(&challenge).await;
        let outcome = verify_assertion(
            &rp(),
            &challenge,
            &stored,
            &assertion,
            UserVerification::Required,
        );
        assert_eq!(
            outcome.map(|o| o.new_sign_count),
            Ok(0),
            "0 then 0 is allowed"
        );
    }
}
