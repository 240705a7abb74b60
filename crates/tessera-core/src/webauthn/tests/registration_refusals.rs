//! One refused registration per rule. Each response is genuinely produced (and, where it is
//! signed, genuinely signed) with only the rule under test broken, so each test fails if its
//! rule is removed.

use ciborium::Value;
use passkey::crypto::iana::Algorithm;

use super::builder::*;
use super::harness::{rp, Device};
use crate::webauthn::*;

/// Registers on a fresh verifying ES256 device with this clientDataJSON and RP ID.
async fn register(rp_id: &str, client_data_json: Vec<u8>) -> RegistrationResponse {
    Device::new(Algorithm::ES256, true)
        .register(rp_id, client_data_json, true)
        .await
}

fn verify(
    challenge: &Challenge,
    response: &RegistrationResponse,
) -> Result<VerifiedCredential, WebauthnError> {
    verify_registration(&rp(), challenge, response, UserVerification::Required)
}

#[tokio::test]
async fn a_foreign_challenge_is_refused() {
    let issued = Challenge::new();
    let other = Challenge::new();
    let response = register(
        RP_ID,
        client_data("webauthn.create", other.as_str(), ORIGIN, ""),
    )
    .await;
    assert_eq!(
        verify(&issued, &response),
        Err(WebauthnError::ChallengeMismatch)
    );
    assert!(verify(&other, &response).is_ok());
}

#[tokio::test]
async fn another_rp_id_is_refused() {
    let c = Challenge::new();
    let data = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let response = register("login.example.org", data).await;
    assert_eq!(verify(&c, &response), Err(WebauthnError::RpIdMismatch));
}

#[tokio::test]
async fn another_origin_is_refused() {
    let c = Challenge::new();
    for origin in [
        "https://evil.example",
        "https://login.example.com:8443",
        "http://login.example.com",
    ] {
        let response = register(
            RP_ID,
            client_data("webauthn.create", c.as_str(), origin, ""),
        )
        .await;
        assert_eq!(
            verify(&c, &response),
            Err(WebauthnError::OriginNotAllowed),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn a_cross_origin_ceremony_is_refused() {
    let c = Challenge::new();
    let data = client_data(
        "webauthn.create",
        c.as_str(),
        ORIGIN,
        r#","crossOrigin":true"#,
    );
    let response = register(RP_ID, data).await;
    assert_eq!(verify(&c, &response), Err(WebauthnError::CrossOrigin));
}

#[tokio::test]
async fn a_foreign_top_origin_is_refused() {
    let c = Challenge::new();
    let data = client_data(
        "webauthn.create",
        c.as_str(),
        ORIGIN,
        r#","topOrigin":"https://evil.example""#,
    );
    let response = register(RP_ID, data).await;
    assert_eq!(
        verify(&c, &response),
        Err(WebauthnError::TopOriginNotAllowed)
    );
}

#[tokio::test]
async fn an_assertion_ceremony_type_is_refused() {
    let c = Challenge::new();
    let response = register(RP_ID, client_data("webauthn.get", c.as_str(), ORIGIN, "")).await;
    assert_eq!(verify(&c, &response), Err(WebauthnError::WrongCeremonyType));
}

#[tokio::test]
async fn an_unverified_user_is_refused_when_verification_is_required() {
    let c = Challenge::new();
    let data = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    // An authenticator that cannot verify users at all: the refusal is about UV alone.
    let response = Device::new(Algorithm::ES256, false)
        .register(RP_ID, data, false)
        .await;
    assert_eq!(verify(&c, &response), Err(WebauthnError::UserNotVerified));
    let preferred = verify_registration(&rp(), &c, &response, UserVerification::Preferred);
    assert!(!preferred.unwrap().user_verified);
}

#[tokio::test]
async fn an_algorithm_outside_the_allow_list_is_refused() {
    let c = Challenge::new();
    let data = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    // The software authenticator also makes ML-DSA keys, which Tessera does not accept (yet).
    let response = Device::new(Algorithm::ML_DSA_44, true)
        .register(RP_ID, data, true)
        .await;
    assert_eq!(
        verify(&c, &response),
        Err(WebauthnError::UnsupportedAlgorithm)
    );
}

/// A hand-built `none` registration: the pieces `passkey` will not produce.
fn hand_built(c: &Challenge, flags: u8, cose: &[u8]) -> RegistrationResponse {
    let client_data_json = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let data = auth_data(RP_ID, flags, 0, Some((&[1; 16], cose)), None);
    RegistrationResponse {
        client_data_json,
        attestation_object: attestation_object("none", vec![], &data),
        transports: vec![],
    }
}

#[test]
fn es384_is_refused_as_unsupported() {
    let c = Challenge::new();
    let response = hand_built(&c, UP_UV, &es384_cose_key());
    assert_eq!(
        verify(&c, &response),
        Err(WebauthnError::UnsupportedAlgorithm)
    );
}

#[test]
fn an_absent_user_is_refused() {
    let c = Challenge::new();
    let key = TestKey::p256().cose();
    assert!(verify(&c, &hand_built(&c, UP_UV, &key)).is_ok());
    let response = hand_built(&c, Flags::USER_VERIFIED, &key);
    assert_eq!(verify(&c, &response), Err(WebauthnError::UserNotPresent));
}

#[test]
fn backup_flags_are_reported() {
    let c = Challenge::new();
    let key = TestKey::ed25519().cose();
    let flags = UP_UV | Flags::BACKUP_ELIGIBLE | Flags::BACKED_UP;
    let credential = verify(&c, &hand_built(&c, flags, &key)).unwrap();
    assert!(credential.backup_eligible && credential.backed_up);
    let response = hand_built(&c, UP_UV | Flags::BACKED_UP, &key);
    assert!(matches!(
        verify(&c, &response),
        Err(WebauthnError::MalformedAuthenticatorData(
            "BS set without BE"
        ))
    ));
}

#[test]
fn a_registration_without_a_credential_is_refused() {
    let c = Challenge::new();
    let response = RegistrationResponse {
        client_data_json: client_data("webauthn.create", c.as_str(), ORIGIN, ""),
        attestation_object: attestation_object(
            "none",
            vec![],
            &auth_data(RP_ID, UP_UV, 0, None, None),
        ),
        transports: vec![],
    };
    assert_eq!(
        verify(&c, &response),
        Err(WebauthnError::MissingAttestedCredential)
    );
}

#[test]
fn packed_self_attestation_is_verified() {
    let c = Challenge::new();
    let key = TestKey::p256();
    let client_data_json = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let data = auth_data(RP_ID, UP_UV, 0, Some((&[1; 16], &key.cose())), None);
    let response = |statement| RegistrationResponse {
        client_data_json: client_data_json.clone(),
        attestation_object: attestation_object("packed", statement, &data),
        transports: vec![],
    };
    let good = verify(
        &c,
        &response(packed_self(&key, -7, &data, &client_data_json)),
    );
    assert_eq!(good.unwrap().attestation_format, "packed");
    // Signed by another key: refused, even though the credential itself is fine.
    let forged = packed_self(&TestKey::p256(), -7, &data, &client_data_json);
    assert_eq!(
        verify(&c, &response(forged)),
        Err(WebauthnError::BadAttestationSignature)
    );
    let wrong_alg = packed_self(&key, -8, &data, &client_data_json);
    assert!(matches!(
        verify(&c, &response(wrong_alg)),
        Err(WebauthnError::MalformedAttestation(_))
    ));
    // With a certificate chain: not trusted, not refused, treated as `none`.
    let mut with_x5c = packed_self(&TestKey::p256(), -7, &data, &client_data_json);
    with_x5c.push((
        Value::Text("x5c".into()),
        Value::Array(vec![Value::Bytes(vec![0x30])]),
    ));
    assert_eq!(
        verify(&c, &response(with_x5c)).unwrap().attestation_format,
        "packed"
    );
}

#[test]
fn other_formats_are_treated_as_none_and_none_must_be_empty() {
    let c = Challenge::new();
    let key = TestKey::p256().cose();
    let client_data_json = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let data = auth_data(RP_ID, UP_UV, 0, Some((&[1; 16], &key)), None);
    let with = |fmt: &str, statement| RegistrationResponse {
        client_data_json: client_data_json.clone(),
        attestation_object: attestation_object(fmt, statement, &data),
        transports: vec![],
    };
    let junk = || vec![(Value::Text("ver".into()), Value::Text("2.0".into()))];
    assert_eq!(
        verify(&c, &with("tpm", junk())).unwrap().attestation_format,
        "tpm"
    );
    assert!(matches!(
        verify(&c, &with("none", junk())),
        Err(WebauthnError::MalformedAttestation(_))
    ));
    assert!(matches!(
        verify(&c, &with("bad\nfmt", vec![])),
        Err(WebauthnError::MalformedAttestation(_))
    ));
}
