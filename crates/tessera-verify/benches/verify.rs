//! Verification throughput of a realistic RS256 access token, in one run:
//!
//! - `tessera_verify`: [`Verifier::verify_access_token`] with every check (size, base64url,
//!   strict header and claims JSON, algorithm and key pinning, signature, `typ`, `iss`, `aud`,
//!   `exp`, `iat`, the claims read into an [`AccessToken`](tessera_verify::AccessToken));
//! - `raw_aws_lc_rs`: the bare aws-lc-rs RSA PKCS#1 v1.5 SHA-256 verification of the same
//!   signature over the same signing input, the public key given as DER
//!   (`UnparsedPublicKey`, parsed on each call, as most JWT libraries do);
//! - `raw_aws_lc_rs_parsed`: the same with the public key parsed once beforehand (the primitive
//!   alone);
//! - `tessera_jose_signature_only`: tessera-jose's `VerifyingKeys::verify_compact` alone (the JWS
//!   layer with the key parsed once, as tessera-verify uses it, no claim checks), to split
//!   tessera-verify's overhead between the signature layer and the claims;
//! - `jsonwebtoken`: the `jsonwebtoken` crate doing the same validation (RS256, `iss`, `aud`,
//!   `exp`, key from the JWK's `n` and `e`).
//!
//! After criterion's figures (only under `cargo bench`), an interleaved measurement prints the
//! ratios to the raw primitive: the variants alternate in short batches, so the machine's
//! load drifts affect them alike.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    KeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
};
use criterion::{Criterion, Throughput};
use serde::{Deserialize, Serialize};
use tessera_jose::{b64, Algorithm, JwkSet, SigningKey, VerifyingKeys};
use tessera_verify::{Verifier, VerifierOptions};

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";

/// A realistic RFC 9068 access token's claims.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    scope: String,
}

/// The same token and key, prepared for each contender.
struct Fixture {
    token: String,
    verifier: Verifier,
    keys: VerifyingKeys,
    /// The RSAPublicKey DER, for `UnparsedPublicKey`.
    public_der: Vec<u8>,
    /// The modulus and exponent, for the pre-parsed key.
    n: Vec<u8>,
    e: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    jwt_key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

impl Fixture {
    fn new() -> Fixture {
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let key = SigningKey::generate(Algorithm::RS256, "bench-2026-11").unwrap();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: "248289761001".into(),
            aud: AUDIENCE.into(),
            // Valid for the whole run, however long it takes.
            exp: now + 86_400,
            iat: now,
            jti: "3f9c5a1e-7b2d-4c8e-9a10-5d6e7f8a9b0c".into(),
            client_id: "s6BhdRkqt3".into(),
            scope: "openid profile email offline_access".into(),
        };
        let token = key.sign_jwt("at+jwt", &claims).unwrap();
        let jwk = key.public_jwk().clone();
        let verifier = Verifier::new(
            VerifierOptions::new(ISSUER, AUDIENCE).algorithms(&[Algorithm::RS256]),
            JwkSet {
                keys: vec![jwk.clone()],
            },
        )
        .unwrap();

        let der = key.to_pkcs8_der().unwrap();
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let public_der = pair.public_key().as_ref().to_vec();
        let (signing_input, signature_b64) = token.rsplit_once('.').unwrap();

        let (n_b64, e_b64) = (jwk.n.unwrap(), jwk.e.unwrap());
        let jwt_key = jsonwebtoken::DecodingKey::from_rsa_components(&n_b64, &e_b64).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;

        let fixture = Fixture {
            verifier,
            keys: VerifyingKeys::new(JwkSet {
                keys: vec![key.public_jwk().clone()],
            }),
            public_der,
            n: b64::decode(&n_b64).unwrap(),
            e: b64::decode(&e_b64).unwrap(),
            signing_input: signing_input.as_bytes().to_vec(),
            signature: b64::decode(signature_b64).unwrap(),
            jwt_key,
            validation,
            token,
        };
        // Every contender accepts the token (and so does real work in the loops).
        fixture.tessera();
        fixture.jose();
        fixture.raw();
        fixture.raw_parsed_once()(&fixture);
        fixture.jsonwebtoken();
        fixture
    }

    fn tessera(&self) {
        let token = self.verifier.verify_access_token(black_box(&self.token));
        black_box(token.unwrap());
    }

    fn jose(&self) {
        let jws = self
            .keys
            .verify_compact(black_box(&self.token), &[Algorithm::RS256]);
        black_box(jws.unwrap());
    }

    fn raw(&self) {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, black_box(&self.public_der))
            .verify(black_box(&self.signing_input), black_box(&self.signature))
            .unwrap();
    }

    /// The key parsed once; returns the closure verifying with it.
    fn raw_parsed_once(&self) -> impl Fn(&Fixture) {
        let parsed = RsaPublicKeyComponents {
            n: &self.n[..],
            e: &self.e[..],
        }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap();
        move |f: &Fixture| {
            parsed
                .verify_sig(black_box(&f.signing_input), black_box(&f.signature))
                .unwrap();
        }
    }

    fn jsonwebtoken(&self) {
        let data =
            jsonwebtoken::decode::<Claims>(black_box(&self.token), &self.jwt_key, &self.validation);
        black_box(data.unwrap());
    }
}

fn bench(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("verify_access_token/RS256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("raw_aws_lc_rs", |b| b.iter(|| f.raw()));
    let parsed = f.raw_parsed_once();
    group.bench_function("raw_aws_lc_rs_parsed", |b| b.iter(|| parsed(f)));
    group.bench_function("tessera_verify", |b| b.iter(|| f.tessera()));
    group.bench_function("tessera_jose_signature_only", |b| b.iter(|| f.jose()));
    group.bench_function("jsonwebtoken", |b| b.iter(|| f.jsonwebtoken()));
    group.finish();
}

/// Alternates the contenders in short batches and prints each one's median time and its
/// throughput relative to the raw primitive.
fn print_ratios(f: &Fixture) {
    const ROUNDS: usize = 40;
    const BATCH: u32 = 200;
    let parsed = f.raw_parsed_once();
    let contenders: [(&str, &dyn Fn()); 5] = [
        ("raw_aws_lc_rs", &|| f.raw()),
        ("raw_aws_lc_rs_parsed", &|| parsed(f)),
        ("tessera_verify", &|| f.tessera()),
        ("tessera_jose_signature_only", &|| f.jose()),
        ("jsonwebtoken", &|| f.jsonwebtoken()),
    ];
    let mut samples = vec![Vec::with_capacity(ROUNDS); contenders.len()];
    for _ in 0..ROUNDS {
        for (i, (_, run)) in contenders.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..BATCH {
                run();
            }
            samples[i].push(start.elapsed() / BATCH);
        }
    }
    let medians: Vec<Duration> = samples
        .iter_mut()
        .map(|s| {
            s.sort_unstable();
            s[s.len() / 2]
        })
        .collect();
    let per_sec = |d: Duration| 1.0 / d.as_secs_f64();
    println!(
        "\nInterleaved ({ROUNDS} rounds of {BATCH} per contender, medians); ratio = throughput / raw_aws_lc_rs's (and / raw_aws_lc_rs_parsed's):"
    );
    for ((name, _), median) in contenders.iter().zip(&medians) {
        println!(
            "  {name:<28} {:>8.2} µs  {:>7.1} k/s  ratio {:.3}  ({:.3})",
            median.as_secs_f64() * 1e6,
            per_sec(*median) / 1e3,
            per_sec(*median) / per_sec(medians[0]),
            per_sec(*median) / per_sec(medians[1]),
        );
    }
}

fn main() {
    let fixture = Fixture::new();
    let mut criterion = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut criterion, &fixture);
    criterion.final_summary();
    // Only in a real benchmark run, not in `cargo test --benches` (criterion's test mode).
    if std::env::args().any(|a| a == "--bench") {
        print_ratios(&fixture);
    }
}
