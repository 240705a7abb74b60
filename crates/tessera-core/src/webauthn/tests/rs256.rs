//! RS256 (Windows Hello's algorithm), which the `passkey` authenticator does not make: an RSA key
//! from aws-lc-rs, its public components in a COSE_Key, and hand-signed ceremonies.

use ciborium::Value;

use super::builder::*;
use super::harness::rp;
use crate::webauthn::*;

#[test]
fn rs256_registers_and_signs_in_and_a_tampered_signature_is_refused() {
    let key = TestKey::rsa();
    let c = Challenge::new();
    let client_data_json = client_data("webauthn.create", c.as_str(), ORIGIN, "");
    let data = auth_data(RP_ID, UP_UV, 0, Some((&[3; 32], &key.cose())), None);
    let registration = RegistrationResponse {
        attestation_object: attestation_object(
            "packed",
            packed_self(&key, -257, &data, &client_data_json),
            &data,
        ),
        client_data_json,
        transports: vec![],
    };
    let credential =
        verify_registration(&rp(), &c, &registration, UserVerification::Required).unwrap();
    assert_eq!(credential.algorithm, CoseAlgorithm::Rs256);
    assert_eq!(credential.public_key, key.cose());

    let stored = StoredCredential {
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: 0,
        backup_eligible: false,
    };
    let c = Challenge::new();
    let client_data_json = client_data("webauthn.get", c.as_str(), ORIGIN, "");
    let authenticator_data = auth_data(RP_ID, UP_UV, 7, None, None);
    let mut assertion = AssertionResponse {
        credential_id: vec![3; 32],
        signature: key.sign_ceremony(&authenticator_data, &client_data_json),
        client_data_json,
        authenticator_data,
        user_handle: Some(vec![9; 8]),
    };
    let outcome =
        verify_assertion(&rp(), &c, &stored, &assertion, UserVerification::Required).unwrap();
    assert_eq!(outcome.new_sign_count, 7);

    assertion.signature[100] ^= 0x20;
    assert_eq!(
        verify_assertion(&rp(), &c, &stored, &assertion, UserVerification::Required),
        Err(WebauthnError::BadSignature)
    );
}

fn rsa_cose(n: Vec<u8>, e: Vec<u8>) -> Vec<u8> {
    let int = |i: i64| Value::Integer(i.into());
    cbor(&Value::Map(vec![
        (int(1), int(3)),
        (int(3), int(-257)),
        (int(-1), Value::Bytes(n)),
        (int(-2), Value::Bytes(e)),
    ]))
}

#[test]
fn weak_or_broken_rsa_keys_are_refused_up_front() {
    let mut short = vec![0xC5; 128]; // 1024 bits
    short[127] |= 1;
    assert!(matches!(
        CredentialPublicKey::from_cose_bytes(&rsa_cose(short, vec![1, 0, 1])),
        Err(WebauthnError::MalformedPublicKey(_))
    ));
    assert!(matches!(
        CredentialPublicKey::from_cose_bytes(&rsa_cose(vec![], vec![1, 0, 1])),
        Err(WebauthnError::MalformedPublicKey(_))
    ));
    assert!(matches!(
        CredentialPublicKey::from_cose_bytes(&rsa_cose(vec![0xC5; 256], vec![])),
        Err(WebauthnError::MalformedPublicKey(_))
    ));
}

#[test]
fn keys_must_fit_their_algorithm() {
    let int = |i: i64| Value::Integer(i.into());
    // ES256 on an OKP key, and EdDSA on Ed448: the first is broken, the second unsupported.
    let es256_okp = cbor(&Value::Map(vec![
        (int(1), int(1)),
        (int(3), int(-7)),
        (int(-1), int(6)),
        (int(-2), Value::Bytes(vec![1; 32])),
    ]));
    assert!(matches!(
        CredentialPublicKey::from_cose_bytes(&es256_okp),
        Err(WebauthnError::MalformedPublicKey(_))
    ));
    let ed448 = cbor(&Value::Map(vec![
        (int(1), int(1)),
        (int(3), int(-8)),
        (int(-1), int(7)),
        (int(-2), Value::Bytes(vec![1; 57])),
    ]));
    assert_eq!(
        CredentialPublicKey::from_cose_bytes(&ed448).err(),
        Some(WebauthnError::UnsupportedAlgorithm)
    );
    // A P-256 "point" that is not on the curve.
    let off_curve = cbor(&Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Value::Bytes(vec![1; 32])),
        (int(-3), Value::Bytes(vec![1; 32])),
    ]));
    assert!(matches!(
        CredentialPublicKey::from_cose_bytes(&off_curve),
        Err(WebauthnError::MalformedPublicKey(_))
    ));
    assert_eq!(
        CredentialPublicKey::from_cose_bytes(&es384_cose_key()).err(),
        Some(WebauthnError::UnsupportedAlgorithm)
    );
    // The stored form is one item: trailing bytes are corruption.
    let mut trailing = TestKey::ed25519().cose();
    assert!(CredentialPublicKey::from_cose_bytes(&trailing).is_ok());
    trailing.push(0);
    assert!(CredentialPublicKey::from_cose_bytes(&trailing).is_err());
}
