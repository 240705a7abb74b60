//! One refused assertion per rule, each signed by the credential's real key with only the rule
//! under test broken, so each test fails if its rule is removed.

use passkey::crypto::iana::Algorithm;

use super::builder::*;
use super::harness::{registered, rp, Device};
use crate::webauthn::*;

fn verify(
    challenge: &Challenge,
    stored: &StoredCredential,
    response: &AssertionResponse,
) -> Result<VerifiedAssertion, WebauthnError> {
    verify_assertion(
        &rp(),
        challenge,
        stored,
        response,
        UserVerification::Required,
    )
}

/// A signed assertion with this clientDataJSON (UP and UV set) from a freshly registered device.
async fn signed(client_data_json: Vec<u8>) -> (StoredCredential, AssertionResponse) {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let response = device.sign(RP_ID, client_data_json, true, true).await;
    (stored, response)
}

#[tokio::test]
async fn a_replayed_or_foreign_challenge_is_refused() {
    let (mut device, stored) = registered(Algorithm::EdDSA).await;
    let old = Challenge::new();
    let response = device.sign_in(&old).await;
    assert!(verify(&old, &stored, &response).is_ok());
    let current = Challenge::new();
    assert_eq!(
        verify(&current, &stored, &response),
        Err(WebauthnError::ChallengeMismatch)
    );
}

#[tokio::test]
async fn another_rp_id_is_refused() {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let c = Challenge::new();
    let data = client_data("webauthn.get", c.as_str(), ORIGIN, "");
    let response = device.sign("login.example.org", data, true, true).await;
    assert_eq!(
        verify(&c, &stored, &response),
        Err(WebauthnError::RpIdMismatch)
    );
}

#[tokio::test]
async fn another_origin_is_refused() {
    let c = Challenge::new();
    let (stored, response) = signed(client_data(
        "webauthn.get",
        c.as_str(),
        "https://evil.example",
        "",
    ))
    .await;
    assert_eq!(
        verify(&c, &stored, &response),
        Err(WebauthnError::OriginNotAllowed)
    );
}

#[tokio::test]
async fn a_cross_origin_ceremony_is_refused() {
    let c = Challenge::new();
    let extra = r#","crossOrigin":true,"topOrigin":"https://login.example.com""#;
    let (stored, response) = signed(client_data("webauthn.get", c.as_str(), ORIGIN, extra)).await;
    assert_eq!(
        verify(&c, &stored, &response),
        Err(WebauthnError::CrossOrigin)
    );
}

#[tokio::test]
async fn a_registration_ceremony_type_is_refused() {
    let c = Challenge::new();
    let (stored, response) = signed(client_data("webauthn.create", c.as_str(), ORIGIN, "")).await;
    assert_eq!(
        verify(&c, &stored, &response),
        Err(WebauthnError::WrongCeremonyType)
    );
}

#[tokio::test]
async fn an_unverified_user_is_refused_when_verification_is_required() {
    // Registered on an authenticator that cannot verify users: its assertions genuinely lack UV.
    let mut device = Device::new(Algorithm::ES256, false);
    let c = Challenge::new();
    let data = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let registration = device.register(RP_ID, data, false).await;
    let credential =
        verify_registration(&rp(), &c, &registration, UserVerification::Preferred).unwrap();
    let stored = StoredCredential {
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: credential.sign_count,
        backup_eligible: credential.backup_eligible,
    };
    let c = Challenge::new();
    let data = client_data("webauthn.get", c.as_str(), ORIGIN, "");
    let response = device.sign(RP_ID, data, true, false).await;
    assert_eq!(
        verify(&c, &stored, &response),
        Err(WebauthnError::UserNotVerified)
    );
    let preferred = verify_assertion(&rp(), &c, &stored, &response, UserVerification::Preferred);
    let preferred = preferred.unwrap();
    assert!(!preferred.user_verified);
    assert_eq!(amr_values(&preferred), ["swk"]);
}

#[tokio::test]
async fn an_absent_user_is_refused() {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let c = Challenge::new();
    let data = client_data("webauthn.get", c.as_str(), ORIGIN, "");
    // CTAP2 "silent" assertion: up=false, so the authenticator signs without a touch.
    let response = device.sign(RP_ID, data, false, true).await;
    let preferred = verify_assertion(&rp(), &c, &stored, &response, UserVerification::Preferred);
    assert_eq!(preferred, Err(WebauthnError::UserNotPresent));
}

#[tokio::test]
async fn a_tampered_signature_authenticator_data_or_client_data_is_refused() {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let c = Challenge::new();
    let good = device.sign_in(&c).await;
    assert!(verify(&c, &stored, &good).is_ok());

    let mut bad = good.clone();
    let last = bad.signature.len() - 1;
    bad.signature[last] ^= 0x01;
    assert_eq!(verify(&c, &stored, &bad), Err(WebauthnError::BadSignature));

    let mut bad = good.clone();
    bad.authenticator_data[36] ^= 0x40; // the low byte of the counter
    assert_eq!(verify(&c, &stored, &bad), Err(WebauthnError::BadSignature));

    let mut bad = good.clone();
    let data = String::from_utf8(bad.client_data_json).unwrap();
    bad.client_data_json = data.replace('}', r#","extra":1}"#).into_bytes();
    assert_eq!(verify(&c, &stored, &bad), Err(WebauthnError::BadSignature));
}

#[tokio::test]
async fn another_credentials_id_or_key_is_refused() {
    let (mut device, stored) = registered(Algorithm::ES256).await;
    let (_, other) = registered(Algorithm::ES256).await;
    let c = Challenge::new();
    let response = device.sign_in(&c).await;
    assert_eq!(
        verify(&c, &other, &response),
        Err(WebauthnError::CredentialMismatch)
    );
    // The right ID with another credential's key: the signature is what gives it away.
    let swapped = StoredCredential {
        public_key: other.public_key.clone(),
        ..stored.clone()
    };
    assert_eq!(
        verify(&c, &swapped, &response),
        Err(WebauthnError::BadSignature)
    );
}

#[tokio::test]
async fn a_counter_that_does_not_grow_is_refused() {
    let (mut device, mut stored) = registered(Algorithm::ES256).await;
    let c = Challenge::new();
    let first = device.sign_in(&c).await;
    let outcome = verify(&c, &stored, &first).unwrap();
    assert_eq!(outcome.new_sign_count, 1);
    stored.sign_count = outcome.new_sign_count;
    // The same assertion again (same challenge, as a replay within the challenge's lifetime).
    assert_eq!(
        verify(&c, &stored, &first),
        Err(WebauthnError::CounterRegressed {
            stored: 1,
            presented: 1
        })
    );
    // A clone lagging behind the original.
    stored.sign_count = 5;
    let c = Challenge::new();
    let behind = device.sign_in(&c).await;
    assert_eq!(
        verify(&c, &stored, &behind),
        Err(WebauthnError::CounterRegressed {
            stored: 5,
            presented: 2
        })
    );
}

#[tokio::test]
async fn a_change_of_backup_eligibility_is_refused() {
    let (mut device, stored) = registered(Algorithm::EdDSA).await;
    let c = Challenge::new();
    let response = device.sign_in(&c).await;
    assert!(verify(&c, &stored, &response).is_ok());
    // `passkey` makes synced credentials (BE set); a record saying device-bound must not match.
    assert!(stored.backup_eligible);
    let recorded_as_device_bound = StoredCredential {
        backup_eligible: false,
        ..stored
    };
    assert_eq!(
        verify(&c, &recorded_as_device_bound, &response),
        Err(WebauthnError::BackupEligibilityChanged)
    );
}

#[test]
fn a_synced_credential_must_stay_backup_eligible() {
    let key = TestKey::p256();
    let stored = StoredCredential {
        credential_id: vec![1; 16],
        public_key: key.cose(),
        sign_count: 0,
        backup_eligible: true,
    };
    let c = Challenge::new();
    let assertion = |flags| {
        let client_data_json = client_data("webauthn.get", c.as_str(), ORIGIN, "");
        let authenticator_data = auth_data(RP_ID, flags, 0, None, None);
        AssertionResponse {
            credential_id: vec![1; 16],
            signature: key.sign_ceremony(&authenticator_data, &client_data_json),
            client_data_json,
            authenticator_data,
            user_handle: None,
        }
    };
    let synced = verify(&c, &stored, &assertion(UP_UV | Flags::BACKUP_ELIGIBLE)).unwrap();
    assert!(synced.backup_eligible && !synced.backed_up);
    assert_eq!(amr_values(&synced), ["swk", "user"]);
    assert_eq!(
        verify(&c, &stored, &assertion(UP_UV)),
        Err(WebauthnError::BackupEligibilityChanged)
    );
}
