//! The physical limit of token work on this machine: how many RS256 signatures and
//! verifications aws-lc-rs alone makes per second, on one thread and on every core at once.
//! bench/run prints each server's results as a fraction of these.
//!
//!     cargo run --release -p tessera-jose --example raw_limits -- [SECONDS]
//!
//! Prints one JSON object: {"threads": N, "seconds": S, "sign_per_s_1": …, "verify_per_s_1": …,
//! "sign_per_s_all": …, "verify_per_s_all": …}.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_jose::{Algorithm, SigningKey};

/// A typical access token's signing input (`header.payload`), about 400 bytes.
const SIGNING_INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjIwMjYxMTMwLWFiYyJ9.\
eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY29tIiwic3ViIjoiMjQ4Mjg5NzYxMDAxIiwiYXVkIjoiaHR0cHM6Ly9hcGku\
ZXhhbXBsZS5jb20iLCJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiM2Y5YzVhMWUtN2IyZC00YzhlLTlh\
MTAtNWQ2ZTdmOGE5YjBjIiwiY2xpZW50X2lkIjoiczZCaGRScWt0MyIsInNjb3BlIjoib3BlbmlkIHByb2ZpbGUifQ";

/// Runs `op` in a loop on `threads` threads for `seconds`; returns operations per second.
fn rate(threads: usize, seconds: f64, op: impl Fn() + Send + Sync + 'static) -> f64 {
    let op = Arc::new(op);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let op = op.clone();
            std::thread::spawn(move || {
                let mut count = 0u64;
                while Instant::now() < deadline {
                    for _ in 0..16 {
                        op();
                    }
                    count += 16;
                }
                count
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("SECONDS is a number"))
        .unwrap_or(3.0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let key = SigningKey::generate(Algorithm::RS256, "raw").expect("an RSA key");
    let der = key.to_pkcs8_der().expect("the key's DER");
    let pair = Arc::new(RsaKeyPair::from_pkcs8(&der).expect("aws-lc-rs parses it"));
    let rng = SystemRandom::new();
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &rng, SIGNING_INPUT, &mut signature)
        .expect("signing works");
    let public = Arc::new(pair.public_key().as_ref().to_vec());
    let signature = Arc::new(signature);

    let sign = {
        let pair = pair.clone();
        move || {
            let rng = SystemRandom::new();
            let mut out = vec![0; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, black_box(SIGNING_INPUT), &mut out)
                .unwrap();
            black_box(out);
        }
    };
    let verify = move || {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public.as_slice())
            .verify(black_box(SIGNING_INPUT), &signature)
            .unwrap();
    };
    let sign_1 = rate(1, seconds, sign.clone());
    let verify_1 = rate(1, seconds, verify.clone());
    let sign_all = rate(threads, seconds, sign);
    let verify_all = rate(threads, seconds, verify);
    println!(
        "{{\"threads\": {threads}, \"seconds\": {seconds}, \"sign_per_s_1\": {sign_1:.0}, \
         \"verify_per_s_1\": {verify_1:.0}, \"sign_per_s_all\": {sign_all:.0}, \
         \"verify_per_s_all\": {verify_all:.0}}}"
    );
}
