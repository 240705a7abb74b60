//! The parsers' individual rules: authenticator data layout and the browser JSON.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use serde_json::json;

use super::builder::*;
use crate::webauthn::*;

fn extensions() -> Value {
    Value::Map(vec![(
        Value::Text("credProtect".into()),
        Value::Integer(2.into()),
    )])
}

#[test]
fn authenticator_data_with_credential_and_extensions_parses() {
    let cose = TestKey::p256().cose();
    let bytes = auth_data(
        RP_ID,
        UP_UV,
        258,
        Some((&[5; 20], &cose)),
        Some(&extensions()),
    );
    let parsed = AuthenticatorData::parse(&bytes).unwrap();
    assert_eq!(parsed.sign_count, 258);
    assert!(parsed.flags.user_present() && parsed.flags.user_verified());
    let credential = parsed.attested_credential.unwrap();
    assert_eq!(credential.aaguid, [0xAA; 16]);
    assert_eq!(credential.credential_id, vec![5; 20]);
    assert_eq!(
        credential.public_key, cose,
        "the key ends where its CBOR ends"
    );
}

fn malformed(bytes: &[u8]) -> bool {
    matches!(
        AuthenticatorData::parse(bytes),
        Err(WebauthnError::MalformedAuthenticatorData(_))
    )
}

#[test]
fn authenticator_data_layout_rules() {
    let cose = TestKey::ed25519().cose();
    let good = auth_data(RP_ID, UP_UV, 1, Some((&[5; 16], &cose)), None);
    assert!(!malformed(&good));
    // Trailing bytes, after the key or after a plain assertion's 37 bytes.
    assert!(malformed(&[good.as_slice(), &[0]].concat()));
    assert!(malformed(
        &[auth_data(RP_ID, UP_UV, 1, None, None), vec![0xa0]].concat()
    ));
    // ED set but the extensions are not a map.
    let mut not_a_map = auth_data(RP_ID, UP_UV | Flags::EXTENSIONS, 1, None, None);
    not_a_map.push(0x01);
    assert!(malformed(&not_a_map));
    // AT set with nothing after the counter.
    assert!(malformed(&auth_data(
        RP_ID,
        UP_UV | Flags::ATTESTED_CREDENTIAL,
        1,
        None,
        None
    )));
    // BS without BE.
    assert!(malformed(&auth_data(
        RP_ID,
        UP_UV | Flags::BACKED_UP,
        1,
        None,
        None
    )));
    // Credential IDs of 0 and 1024 bytes; 1023 is the longest allowed.
    assert!(malformed(&auth_data(
        RP_ID,
        UP_UV,
        1,
        Some((&[], &cose)),
        None
    )));
    assert!(malformed(&auth_data(
        RP_ID,
        UP_UV,
        1,
        Some((&[1; 1024], &cose)),
        None
    )));
    assert!(!malformed(&auth_data(
        RP_ID,
        UP_UV,
        1,
        Some((&[1; 1023], &cose)),
        None
    )));
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn assertion_json(id: &str, raw_id: &str, ty: &str, user_handle: serde_json::Value) -> Vec<u8> {
    json!({
        "id": id, "rawId": raw_id, "type": ty,
        "response": {
            "clientDataJSON": b64(b"{}"), "authenticatorData": b64(&[0; 37]),
            "signature": b64(&[1; 70]), "userHandle": user_handle,
        },
        "clientExtensionResults": {},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn browser_json_is_decoded_and_malformed_json_refused() {
    let id = b64(&[4; 16]);
    let parsed = AssertionResponse::from_json(&assertion_json(&id, &id, "public-key", json!(null)));
    let parsed = parsed.unwrap();
    assert_eq!(parsed.credential_id, vec![4; 16]);
    assert_eq!(parsed.authenticator_data, vec![0; 37]);
    assert_eq!(parsed.user_handle, None);
    let with_handle = assertion_json(&id, &id, "public-key", json!(b64(&[8; 64])));
    assert_eq!(
        AssertionResponse::from_json(&with_handle)
            .unwrap()
            .user_handle,
        Some(vec![8; 64])
    );
    let padded = format!("{id}==");
    assert!(
        AssertionResponse::from_json(&assertion_json(&padded, &id, "public-key", json!(null)))
            .is_ok()
    );

    let refused = |json: Vec<u8>| {
        matches!(
            AssertionResponse::from_json(&json),
            Err(WebauthnError::MalformedResponse(_))
        )
    };
    assert!(refused(assertion_json(
        &id,
        &b64(&[5; 16]),
        "public-key",
        json!(null)
    )));
    assert!(refused(assertion_json(&id, &id, "password", json!(null))));
    assert!(refused(assertion_json(
        "not base64!",
        &id,
        "public-key",
        json!(null)
    )));
    assert!(refused(assertion_json(
        &id,
        &id,
        "public-key",
        json!(b64(&[8; 65]))
    )));
    assert!(refused(assertion_json(&id, &id, "public-key", json!(7))));
    let long = b64(&[1; 1024]);
    assert!(refused(assertion_json(
        &long,
        &long,
        "public-key",
        json!(null)
    )));
    assert!(refused(b"{}".to_vec()));
    assert!(refused(b"not json".to_vec()));

    let registration = |transports| {
        json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {"clientDataJSON": b64(b"{}"), "attestationObject": b64(&[0xa0]),
                         "transports": transports},
        })
        .to_string()
        .into_bytes()
    };
    let parsed = RegistrationResponse::from_json(&registration(json!(["usb", "carrier-pigeon"])));
    assert_eq!(
        parsed.unwrap().transports,
        ["usb"],
        "unknown transports are dropped"
    );
    assert!(matches!(
        RegistrationResponse::from_json(&registration(json!("usb"))),
        Err(WebauthnError::MalformedResponse(_))
    ));
}
