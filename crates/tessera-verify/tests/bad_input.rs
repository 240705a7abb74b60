//! Every bad input of issue 5, each refused; the good token beside them is accepted, so a check
//! that refused everything would fail here too.

use aws_lc_rs::hmac;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_jose::{b64, Algorithm, JoseError, JwkSet, SigningKey};
use tessera_verify::{ClaimsError, Clock, Verifier, VerifierOptions, VerifyError};

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";
const NOW: i64 = 1_800_000_000;

#[derive(Debug)]
struct FixedClock(AtomicI64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    rsa: SigningKey,
    ec: SigningKey,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let rsa = SigningKey::generate(Algorithm::RS256, "rsa-1").unwrap();
    let ec = SigningKey::generate(Algorithm::ES256, "ec-1").unwrap();
    let jwks = JwkSet {
        keys: vec![rsa.public_jwk().clone(), ec.public_jwk().clone()],
    };
    let verifier = Verifier::with_clock(
        VerifierOptions::new(ISSUER, AUDIENCE).leeway(Duration::from_secs(30)),
        jwks,
        Arc::new(FixedClock(AtomicI64::new(NOW))),
    )
    .unwrap();
    Fixture { rsa, ec, verifier }
}

fn good_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": NOW + 600,
        "iat": NOW - 10,
        "jti": "jti-1",
        "client_id": "web",
        "scope": "openid orders:read",
        "sid": "sid-1",
        "auth_time": NOW - 100,
        "roles": ["admin"],
    })
}

/// `header.payload` signed by `key` over exactly those bytes.
fn sign_raw(key: &SigningKey, header: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let signature = key.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(signature))
}

fn header(alg: &str, kid: &str, typ: &str) -> String {
    json!({"alg": alg, "kid": kid, "typ": typ}).to_string()
}

fn access_token(key: &SigningKey, claims: &Value) -> String {
    let alg = key.algorithm().as_str();
    sign_raw(
        key,
        &header(alg, key.kid(), "at+jwt"),
        claims.to_string().as_bytes(),
    )
}

fn with(claims: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut value = good_claims();
    claims(value.as_object_mut().unwrap());
    value
}

fn refused(f: &Fixture, token: &str, what: &str) -> VerifyError {
    match f.verifier.verify_access_token(token) {
        Ok(t) => panic!("{what}: accepted {t:?}"),
        Err(err) => err,
    }
}

#[test]
fn a_good_token_is_accepted_with_its_claims() {
    let f = fixture();
    for key in [&f.rsa, &f.ec] {
        let token = f
            .verifier
            .verify_access_token(&access_token(key, &good_claims()))
            .unwrap();
        assert_eq!(token.sub, "user-1");
        assert_eq!(token.client_id, "web");
        assert_eq!(token.scopes, ["openid", "orders:read"]);
        assert_eq!(token.sid.as_deref(), Some("sid-1"));
        assert_eq!(token.roles, ["admin"]);
        assert!(token.require_scope("orders:read").is_ok());
        assert!(token.require_scope("orders:write").is_err());
        assert!(token.require_role("admin").is_ok());
        assert!(token.require_role("root").is_err());
    }
    // The media-type form of typ, and an audience array.
    let claims = with(|c| {
        c.insert("aud".into(), json!(["other", AUDIENCE]));
    });
    let token = sign_raw(
        &f.rsa,
        &header("RS256", "rsa-1", "application/at+jwt"),
        claims.to_string().as_bytes(),
    );
    f.verifier.verify_access_token(&token).unwrap();
}

#[test]
fn alg_none_and_null_signatures_are_refused() {
    let f = fixture();
    let payload = b64::encode(good_claims().to_string());
    for alg in ["none", "None", "NONE"] {
        let head = b64::encode(json!({"alg": alg, "kid": "rsa-1", "typ": "at+jwt"}).to_string());
        for token in [format!("{head}.{payload}."), format!("{head}.{payload}")] {
            let err = refused(&f, &token, alg);
            assert!(matches!(err, VerifyError::Signature(_)), "{alg}: {err:?}");
        }
    }
    // A real header with its signature stripped.
    let good = access_token(&f.rsa, &good_claims());
    let stripped = &good[..good.rfind('.').unwrap() + 1];
    assert!(matches!(
        refused(&f, stripped, "null signature"),
        VerifyError::Signature(JoseError::Malformed(_))
    ));
}

#[test]
fn rs256_to_hs256_key_confusion_is_refused() {
    let f = fixture();
    // An attacker signs with HMAC, using the public key (as the JWKS publishes it) as the secret.
    let secret = serde_json::to_vec(f.rsa.public_jwk()).unwrap();
    let input = format!(
        "{}.{}",
        b64::encode(header("HS256", "rsa-1", "at+jwt")),
        b64::encode(good_claims().to_string())
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64::encode(tag.as_ref()));
    assert!(matches!(
        refused(&f, &token, "HS256"),
        VerifyError::Signature(JoseError::UnsupportedAlgorithm(_))
    ));
}

#[test]
fn embedded_keys_are_ignored_and_never_trusted() {
    let f = fixture();
    let attacker = SigningKey::generate(Algorithm::RS256, "rsa-1").unwrap();
    let jwk = serde_json::to_value(attacker.public_jwk()).unwrap();
    for extra in [
        json!({"jwk": jwk}),
        json!({"jku": "https://evil.example/jwks.json"}),
        json!({"x5u": "https://evil.example/cert.pem"}),
    ] {
        let mut head = json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"});
        head.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let token = sign_raw(
            &attacker,
            &head.to_string(),
            good_claims().to_string().as_bytes(),
        );
        assert!(
            matches!(
                refused(&f, &token, "embedded key"),
                VerifyError::Signature(JoseError::BadSignature)
            ),
            "{extra}"
        );
    }
}

#[test]
fn hostile_or_empty_kids_find_no_key() {
    let f = fixture();
    for kid in [
        "../../etc/passwd",
        "' OR '1'='1' --",
        "",
        "rsa-1\u{0}",
        "RSA-1",
    ] {
        let token = sign_raw(
            &f.rsa,
            &header("RS256", kid, "at+jwt"),
            good_claims().to_string().as_bytes(),
        );
        assert!(
            matches!(
                refused(&f, &token, kid),
                VerifyError::Signature(JoseError::UnknownKey)
            ),
            "{kid:?}"
        );
    }
}

#[test]
fn damaged_signatures_are_refused() {
    let f = fixture();
    let good = access_token(&f.rsa, &good_claims());
    let (input, signature) = good.rsplit_once('.').unwrap();
    let mut bytes = b64::decode(signature).unwrap();
    let truncated = format!("{input}.{}", b64::encode(&bytes[..bytes.len() - 1]));
    bytes[10] ^= 0x01;
    let flipped = format!("{input}.{}", b64::encode(&bytes));
    for token in [truncated, flipped] {
        assert!(matches!(
            refused(&f, &token, "damaged"),
            VerifyError::Signature(JoseError::BadSignature)
        ));
    }
    // ECDSA with r = s = 0 (the "psychic signature" of CVE-2022-21449).
    let ec_input = format!(
        "{}.{}",
        b64::encode(header("ES256", "ec-1", "at+jwt")),
        b64::encode(good_claims().to_string())
    );
    let zero = format!("{ec_input}.{}", b64::encode([0u8; 64]));
    assert!(matches!(
        refused(&f, &zero, "r = s = 0"),
        VerifyError::Signature(JoseError::BadSignature)
    ));
    // A payload changed after signing.
    let (head, rest) = good.split_once('.').unwrap();
    let sig = rest.rsplit_once('.').unwrap().1;
    let other = b64::encode(
        with(|c| {
            c.insert("sub".into(), json!("admin"));
        })
        .to_string(),
    );
    assert!(matches!(
        refused(&f, &format!("{head}.{other}.{sig}"), "tampered"),
        VerifyError::Signature(JoseError::BadSignature)
    ));
}

#[test]
fn time_claims_are_required_numbers_within_the_leeway() {
    let f = fixture();
    let check = |claims: Value, expect: ClaimsError| {
        let err = refused(&f, &access_token(&f.rsa, &claims), &claims.to_string());
        assert!(
            matches!(&err, VerifyError::Claims(got) if *got == expect),
            "{claims}: {err:?}"
        );
    };
    check(
        with(|c| {
            c.insert("exp".into(), json!(NOW - 31));
        }),
        ClaimsError::Expired {
            exp: NOW - 31,
            now: NOW,
        },
    );
    check(
        with(|c| {
            c.insert("nbf".into(), json!(NOW + 31));
        }),
        ClaimsError::NotYetValid {
            nbf: NOW + 31,
            now: NOW,
        },
    );
    check(
        with(|c| {
            c.insert("iat".into(), json!(NOW + 31));
        }),
        ClaimsError::IssuedInTheFuture {
            iat: NOW + 31,
            now: NOW,
        },
    );
    check(
        with(|c| {
            c.insert("exp".into(), json!((NOW + 600).to_string()));
        }),
        ClaimsError::WrongType("exp"),
    );
    check(
        with(|c| {
            c.insert("nbf".into(), json!("0"));
        }),
        ClaimsError::WrongType("nbf"),
    );
    check(
        with(|c| {
            c.remove("exp");
        }),
        ClaimsError::Missing("exp"),
    );
    check(
        with(|c| {
            c.remove("iat");
        }),
        ClaimsError::Missing("iat"),
    );
    // Within the leeway: accepted.
    let edge = with(|c| {
        c.insert("exp".into(), json!(NOW - 29));
        c.insert("nbf".into(), json!(NOW + 29));
    });
    f.verifier
        .verify_access_token(&access_token(&f.rsa, &edge))
        .unwrap();
}

#[test]
fn issuer_and_audience_must_match_exactly() {
    let f = fixture();
    for iss in [
        "https://id.example",
        "https://id.example.com/",
        "https://id.example.com.evil.example",
        "http://id.example.com",
        "HTTPS://ID.EXAMPLE.COM",
        "",
    ] {
        let err = refused(
            &f,
            &access_token(
                &f.rsa,
                &with(|c| {
                    c.insert("iss".into(), json!(iss));
                }),
            ),
            iss,
        );
        assert!(
            matches!(err, VerifyError::Claims(ClaimsError::WrongIssuer { .. })),
            "{iss}: {err:?}"
        );
    }
    for (aud, expect) in [
        (None, ClaimsError::Missing("aud")),
        (
            Some(json!("https://other.example.com")),
            ClaimsError::WrongAudience,
        ),
        (Some(json!([])), ClaimsError::WrongAudience),
        (
            Some(json!("https://api.example.co")),
            ClaimsError::WrongAudience,
        ),
        (Some(json!(1)), ClaimsError::WrongType("aud")),
    ] {
        let claims = with(|c| match &aud {
            Some(aud) => {
                c.insert("aud".into(), aud.clone());
            }
            None => {
                c.remove("aud");
            }
        });
        let err = refused(&f, &access_token(&f.rsa, &claims), &claims.to_string());
        assert!(
            matches!(&err, VerifyError::Claims(got) if *got == expect),
            "{aud:?}: {err:?}"
        );
    }
}

#[test]
fn an_id_token_is_not_an_access_token_and_the_reverse() {
    let f = fixture();
    let id_claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "exp": NOW + 600, "iat": NOW,
        "auth_time": NOW, "jti": "j", "client_id": "web",
    });
    let id_token = f.rsa.sign_jwt("JWT", &id_claims).unwrap();
    let err = refused(&f, &id_token, "ID token");
    assert!(
        matches!(
            err,
            VerifyError::WrongType {
                expected: "at+jwt",
                ..
            }
        ),
        "{err:?}"
    );
    // No typ at all is not an access token either.
    let untyped = sign_raw(
        &f.rsa,
        &json!({"alg": "RS256", "kid": "rsa-1"}).to_string(),
        good_claims().to_string().as_bytes(),
    );
    assert!(matches!(
        refused(&f, &untyped, "no typ"),
        VerifyError::WrongType { found: None, .. }
    ));
    // And an access token is not an ID token.
    let access = access_token(&f.rsa, &good_claims());
    assert!(matches!(
        f.verifier.verify_id_token(&access, AUDIENCE),
        Err(VerifyError::WrongType {
            expected: "JWT",
            ..
        })
    ));
    // The ID token itself verifies as one.
    let id = f.verifier.verify_id_token(&id_token, AUDIENCE).unwrap();
    assert_eq!(id.auth_time, NOW);
}

#[test]
fn malformed_tokens_are_refused() {
    let f = fixture();
    let good = access_token(&f.rsa, &good_claims());
    let head = header("RS256", "rsa-1", "at+jwt");
    // Unknown crit.
    let crit = sign_raw(
        &f.rsa,
        &json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt", "crit": ["exp"], "exp": 1})
            .to_string(),
        good_claims().to_string().as_bytes(),
    );
    assert!(matches!(
        refused(&f, &crit, "crit"),
        VerifyError::Signature(JoseError::CriticalHeader)
    ));
    // A 1 MB token.
    let huge = format!("{good}{}", "A".repeat(1 << 20));
    assert!(matches!(
        refused(&f, &huge, "1 MB"),
        VerifyError::Signature(JoseError::TooLarge { .. })
    ));
    // Invalid base64url: padding, the standard alphabet, stray characters.
    for token in [
        good.replacen('.', "=.", 1),
        good.replace('-', "+").replace('_', "/") + "+/",
        format!("{good}!"),
        "a.b".to_owned(),
        String::new(),
    ] {
        assert!(
            matches!(refused(&f, &token, &token), VerifyError::Signature(_)),
            "{token}"
        );
    }
    // Claims that are not UTF-8 JSON, or repeat a name.
    for (payload, why) in [
        (&b"{\"sub\":\"\xff\xfe\"}"[..], "claims are not UTF-8"),
        (
            br#"{"iss":"https://id.example.com","aud":"https://api.example.com","exp":1,"exp":9999999999}"#,
            "claims have duplicate members",
        ),
        (&b"[]"[..], "claims are not a JSON object"),
    ] {
        let token = sign_raw(&f.rsa, &head, payload);
        let err = refused(&f, &token, why);
        assert!(
            matches!(&err, VerifyError::Claims(ClaimsError::Malformed(got)) if *got == why),
            "{why}: {err:?}"
        );
    }
}

#[test]
fn configuration_limits() {
    let jwks = JwkSet { keys: vec![] };
    assert!(Verifier::new(
        VerifierOptions::new(ISSUER, AUDIENCE).leeway(Duration::from_secs(301)),
        jwks.clone()
    )
    .is_err());
    assert!(Verifier::new(VerifierOptions::new("", AUDIENCE), jwks.clone()).is_err());
    assert!(Verifier::new(VerifierOptions::new(ISSUER, ""), jwks.clone()).is_err());
    assert!(Verifier::new(VerifierOptions::new(ISSUER, AUDIENCE).algorithms(&[]), jwks).is_err());
}

#[test]
fn freshness_demands_a_recent_authentication() {
    let f = fixture();
    let token = f
        .verifier
        .verify_access_token(&access_token(&f.rsa, &good_claims()))
        .unwrap();
    // Authenticated 100 s ago.
    assert!(f
        .verifier
        .require_auth_within(&token, Duration::from_secs(300))
        .is_ok());
    let step_up = f
        .verifier
        .require_auth_within(&token, Duration::from_secs(60))
        .unwrap_err();
    assert_eq!(step_up.max_age, Some(60));
    assert!(step_up
        .www_authenticate()
        .contains("error=\"insufficient_user_authentication\""));
    // A client_credentials token (no auth_time) never qualifies.
    let service = f
        .verifier
        .verify_access_token(&access_token(
            &f.rsa,
            &with(|c| {
                c.remove("auth_time");
                c.remove("sid");
            }),
        ))
        .unwrap();
    assert!(!service.is_user_token());
    assert!(f
        .verifier
        .require_auth_within(&service, Duration::from_secs(3600))
        .is_err());
}
