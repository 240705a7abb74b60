//! Signing and verification throughput: tessera-jose against the bare aws-lc-rs primitive.
//!
//! For each algorithm, `raw_aws_lc_rs` signs the exact signing input (`header.payload`) of a
//! realistic access token with an already-parsed aws-lc-rs key, and `tessera_sign_jwt`
//! produces the whole token (claims serialization, base64url, signature) with
//! [`SigningKey::sign_jwt`]. The ratio of the two is the overhead of the JWT layer.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::Serialize;
use tessera_jose::{verify_compact, Algorithm, JwkSet, SigningKey};

/// A realistic RFC 9068 access token's claims.
#[derive(Serialize)]
struct AccessTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: String,
    scope: String,
}

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://id.example.com".into(),
        sub: "248289761001".into(),
        aud: "https://api.example.com".into(),
        exp: 1_700_003_600,
        iat: 1_700_000_000,
        jti: "3f9c5a1e-7b2d-4c8e-9a10-5d6e7f8a9b0c".into(),
        client_id: "s6BhdRkqt3".into(),
        scope: "openid profile email offline_access".into(),
    }
}

/// The same private key, parsed directly by aws-lc-rs.
enum RawKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl RawKey {
    fn from(key: &SigningKey) -> RawKey {
        let der = key.to_pkcs8_der().unwrap();
        match key.algorithm() {
            Algorithm::RS256 => RawKey::Rsa(RsaKeyPair::from_pkcs8(&der).unwrap()),
            Algorithm::ES256 => RawKey::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap(),
            ),
            Algorithm::EdDSA => RawKey::Ed(Ed25519KeyPair::from_pkcs8(&der).unwrap()),
        }
    }
}

fn bench_sign(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let claims = claims();
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg, "bench-2024-01").unwrap();
        let raw = RawKey::from(&key);
        let token = key.sign_jwt("at+jwt", &claims).unwrap();
        let signing_input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();

        let mut group = c.benchmark_group(format!("sign/{alg}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("raw_aws_lc_rs", |b| match &raw {
            RawKey::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                b.iter(|| {
                    kp.sign(&RSA_PKCS1_SHA256, &rng, black_box(&signing_input), &mut sig)
                        .unwrap();
                    black_box(&sig);
                });
            }
            RawKey::Ec(kp) => {
                b.iter(|| black_box(kp.sign(&rng, black_box(&signing_input)).unwrap()))
            }
            RawKey::Ed(kp) => b.iter(|| black_box(kp.sign(black_box(&signing_input)))),
        });
        group.bench_function("tessera_sign_jwt", |b| {
            b.iter(|| {
                black_box(
                    key.sign_jwt(black_box("at+jwt"), black_box(&claims))
                        .unwrap(),
                )
            });
        });
        group.finish();
    }
}

fn bench_verify(c: &mut Criterion) {
    let claims = claims();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg, "bench-2024-01").unwrap();
        let jwks = JwkSet {
            keys: vec![key.public_jwk().clone()],
        };
        let token = key.sign_jwt("at+jwt", &claims).unwrap();
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| black_box(verify_compact(black_box(&token), &jwks, &[alg]).unwrap()));
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_sign, bench_verify
}
criterion_main!(benches);
