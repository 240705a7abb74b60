//! The fuzz test of the parsers: every parser that takes bytes from the browser is fed valid
//! samples truncated at every length, thousands of random mutations of them, and random
//! strings. Each call must return (Ok or a typed Err); a panic fails the test. The generator is a
//! fixed-seed SplitMix64, so a failure reproduces exactly.

use ciborium::Value;

use super::builder::*;
use super::harness::rp;
use crate::webauthn::*;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Bytes that mean something to CBOR and JSON: lengths, maps, arrays, breaks, quotes.
const INTERESTING: [u8; 12] = [
    0x00, 0xff, 0x7f, 0x80, 0x1b, 0x5b, 0x9f, 0xbf, 0xa0, b'"', b'{', b'\\',
];

fn mutate(rng: &mut Rng, sample: &[u8]) -> Vec<u8> {
    let mut out = sample.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len());
        match rng.below(6) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            1 if !out.is_empty() => out[at] = rng.byte(),
            2 if !out.is_empty() => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            3 => out.insert(at.min(out.len()), rng.byte()),
            4 if !out.is_empty() => {
                out.remove(at);
            }
            _ => {
                // Duplicate a chunk in place: repeated map entries, doubled lengths.
                let start = at.min(out.len());
                let end = (start + rng.below(16)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(start..start, chunk);
            }
        }
    }
    out
}

/// Every input derived from `sample`: each truncation, random mutations, random strings.
fn inputs(rng: &mut Rng, sample: &[u8], mutations: usize) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = (0..=sample.len()).map(|n| sample[..n].to_vec()).collect();
    all.extend((0..mutations).map(|_| mutate(rng, sample)));
    all.extend((0..mutations / 4).map(|_| {
        let len = rng.below(sample.len() * 2);
        (0..len).map(|_| rng.byte()).collect()
    }));
    all
}

#[test]
fn fuzz_the_parsers_they_never_panic() {
    let mut rng = Rng(0x7e55_e4a0_0000_0001);
    let c = Challenge::from_encoded("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let keys = [TestKey::p256(), TestKey::ed25519(), TestKey::rsa()];
    let cose_keys: Vec<Vec<u8>> = keys.iter().map(TestKey::cose).collect();
    let client_data_json = client_data(
        "webauthn.create",
        c.as_str(),
        ORIGIN,
        r#","crossOrigin":false,"topOrigin":"https://login.example.com""#,
    );
    let extensions = Value::Map(vec![(
        Value::Text("credProtect".into()),
        Value::Integer(1.into()),
    )]);
    let mut checked = 0usize;

    for (key, cose) in keys.iter().zip(&cose_keys) {
        for cose_sample in inputs(&mut rng, cose, 1500) {
            let _ = CredentialPublicKey::from_cose_bytes(&cose_sample);
            checked += 1;
        }
        let data = auth_data(RP_ID, UP_UV, 9, Some((&[6; 24], cose)), Some(&extensions));
        for data_sample in inputs(&mut rng, &data, 2000) {
            let _ = AuthenticatorData::parse(&data_sample);
            checked += 1;
        }
        let statement = packed_self(key, key.alg(), &data, &client_data_json);
        let object = attestation_object("packed", statement, &data);
        for object_sample in inputs(&mut rng, &object, 2000) {
            let _ = AttestationObject::parse(&object_sample);
            // The whole registration path too, where a mutation may survive parsing.
            let response = RegistrationResponse {
                client_data_json: client_data_json.clone(),
                attestation_object: object_sample,
                transports: vec![],
            };
            let _ = verify_registration(&rp(), &c, &response, UserVerification::Preferred);
            checked += 1;
        }
    }

    for json_sample in inputs(&mut rng, &client_data_json, 3000) {
        let _ = CollectedClientData::parse(&json_sample);
        checked += 1;
    }

    let id = "BgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYG";
    let response_json = format!(
        r#"{{"id":"{id}","rawId":"{id}","type":"public-key","response":{{"clientDataJSON":"e30",
        "authenticatorData":"AAAA","signature":"AQID","userHandle":"BwcH"}},"clientExtensionResults":{{}}}}"#
    );
    for json_sample in inputs(&mut rng, response_json.as_bytes(), 3000) {
        let _ = AssertionResponse::from_json(&json_sample);
        let _ = RegistrationResponse::from_json(&json_sample);
        checked += 1;
    }

    // Assertions: mutated authenticator data and signatures against a real stored key.
    let stored = StoredCredential {
        credential_id: vec![6; 24],
        public_key: cose_keys[0].clone(),
        sign_count: 3,
        backup_eligible: false,
    };
    let get_json = client_data("webauthn.get", c.as_str(), ORIGIN, "");
    let data = auth_data(RP_ID, UP_UV, 4, None, Some(&extensions));
    let signature = keys[0].sign_ceremony(&data, &get_json);
    for (data_sample, signature_sample) in inputs(&mut rng, &data, 1500)
        .into_iter()
        .zip(inputs(&mut rng, &signature, 1500))
    {
        let response = AssertionResponse {
            credential_id: vec![6; 24],
            client_data_json: get_json.clone(),
            authenticator_data: data_sample,
            signature: signature_sample,
            user_handle: None,
        };
        let _ = verify_assertion(&rp(), &c, &stored, &response, UserVerification::Preferred);
        checked += 1;
    }
    assert!(checked > 30_000, "only {checked} inputs were tried");
}
