//! What the revocation mirror adds to verifying an access token: `verify` alone against
//! `verify` + `RevocationMirror::check` with 100 000 live entries (a mix of every kind), RS256,
//! in the same run. After criterion's figures, prints the overhead ratio measured by
//! interleaved batches (target: at most 5 %).

use criterion::{black_box, Criterion};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_jose::{b64, Algorithm, JwkSet, SigningKey};
use tessera_verify::revocation::{FeedEntry, RevocationMirror};
use tessera_verify::{Clock, Verifier, VerifierOptions};

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";
const NOW: i64 = 1_800_000_000;
const ENTRIES: usize = 100_000;
const MAX_STALENESS: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        NOW
    }
}

struct Fixture {
    verifier: Verifier,
    token: String,
    mirror: RevocationMirror,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate(Algorithm::RS256, "rsa-1").expect("key");
    let jwks = JwkSet {
        keys: vec![key.public_jwk().clone()],
    };
    let verifier = Verifier::with_clock(
        VerifierOptions::new(ISSUER, AUDIENCE),
        jwks,
        Arc::new(FixedClock),
    )
    .expect("verifier");
    let claims = json!({
        "iss": ISSUER, "sub": "user-42", "aud": AUDIENCE, "exp": NOW + 600, "iat": NOW - 10,
        "jti": "jti-live", "client_id": "web", "scope": "openid", "sid": "sid-live",
        "auth_time": NOW - 100,
    });
    let header = json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"});
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let signature = key.sign_bytes(input.as_bytes()).expect("signature");
    let token = format!("{input}.{}", b64::encode(signature));

    // 100 000 live entries: tokens, sessions, users (both kinds) and a few global ones, none of
    // which covers the benchmarked token (so every index is consulted).
    let entries: Vec<FeedEntry> = (0..ENTRIES)
        .map(|i| {
            let cursor = (i + 1).to_string();
            let common = |kind: &str| {
                json!({"cursor": cursor, "kind": kind, "reason": "admin-revoke",
                       "revoked_at": NOW - 60, "expires_at": NOW + 1000})
            };
            let mut e = match i % 10 {
                0..=3 => {
                    let mut e = common("token-revoked");
                    e["jti"] = json!(format!("jti-{i}"));
                    e
                }
                4..=6 => {
                    let mut e = common("session-revoked");
                    e["sid"] = json!(format!("sid-{i}"));
                    e["sub"] = json!(format!("user-{i}"));
                    e
                }
                7 | 8 => {
                    let kind = if i % 10 == 7 {
                        "credential-change"
                    } else {
                        "token-claims-change"
                    };
                    let mut e = common(kind);
                    e["sub"] = json!(format!("user-{}", i % 5000));
                    e["not_before"] = json!(NOW - 50);
                    e
                }
                _ => {
                    let mut e = common("global-revoked");
                    e["not_before"] = json!(NOW - 3600 - i64::try_from(i).unwrap_or(0));
                    e
                }
            };
            e["future_field"] = json!(true);
            serde_json::from_value(e).expect("entry")
        })
        .collect();
    let mirror = RevocationMirror::new();
    mirror
        .apply_snapshot(&entries, ENTRIES as u64)
        .expect("snapshot");
    mirror.mark_synced(NOW);
    Fixture {
        verifier,
        token,
        mirror,
    }
}

fn verify_only(f: &Fixture) {
    let token = f.verifier.verify_access_token(black_box(&f.token)).unwrap();
    black_box(token);
}

fn verify_and_check(f: &Fixture) {
    let token = f.verifier.verify_access_token(black_box(&f.token)).unwrap();
    f.mirror.check(&token, NOW, MAX_STALENESS).unwrap();
    black_box(token);
}

fn benches(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("access_token_rs256");
    group.bench_function("verify", |b| b.iter(|| verify_only(f)));
    group.bench_function("verify+mirror_check_100k", |b| {
        b.iter(|| verify_and_check(f))
    });
    group.finish();
    c.bench_function("mirror_check_100k_alone", |b| {
        let token = f.verifier.verify_access_token(&f.token).unwrap();
        b.iter(|| f.mirror.check(black_box(&token), NOW, MAX_STALENESS))
    });
}

/// Interleaved batches of each, so drift (frequency scaling, other load) hits both alike.
fn overhead(f: &Fixture) {
    const BATCH: u32 = 200;
    const ROUNDS: u32 = 15;
    let (mut plain, mut checked) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..BATCH {
            verify_only(f);
        }
        plain += start.elapsed();
        let start = Instant::now();
        for _ in 0..BATCH {
            verify_and_check(f);
        }
        checked += start.elapsed();
    }
    let n = f64::from(BATCH * ROUNDS);
    let plain_us = plain.as_secs_f64() * 1e6 / n;
    let checked_us = checked.as_secs_f64() * 1e6 / n;
    println!(
        "overhead of mirror.check ({} index records): verify {plain_us:.2} µs, verify+check \
         {checked_us:.2} µs, ratio {:.4} ({:+.2} %, target <= 5 %)",
        f.mirror.len(),
        checked_us / plain_us,
        (checked_us / plain_us - 1.0) * 100.0
    );
}

fn main() {
    let f = fixture();
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &f);
    c.final_summary();
    // Under `cargo bench` (not `cargo test --benches`), measure the ratio too.
    if std::env::args().any(|a| a == "--bench") {
        overhead(&f);
    }
}
