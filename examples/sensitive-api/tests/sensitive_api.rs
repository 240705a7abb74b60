//! The sensitive API against a real Tessera, over real HTTP on loopback: it accepts Tessera's
//! tokens, refuses every bad input of issue 5 with `401 invalid_token`, demands a fresh sign-in
//! for `POST /sensitive` after 5 minutes and accepts again after `prompt=login`, and enforces a
//! revocation made at Tessera without asking Tessera on the request path.

mod support;

use aws_lc_rs::hmac;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{start, World};
use tessera_core::{RevocationReason, RevocationTarget, SessionId, UserId};
use tessera_jose::{b64, Algorithm, SigningKey};
use tessera_testkit::browser::Browser;

const INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";
const STEP_UP: &str = "Bearer error=\"insufficient_user_authentication\", \
    error_description=\"A more recent authentication is required\", max_age=\"300\"";

/// Tessera's current signing key for `alg` (the test owns the server, so it can forge tokens
/// that carry a valid signature and break exactly one other rule).
fn tessera_key(world: &World, alg: Algorithm) -> Arc<SigningKey> {
    world
        .tessera
        .state
        .services
        .keys
        .signer(alg)
        .expect("a signing key")
}

/// `header.payload` signed by `key` over exactly those bytes.
fn sign_raw(key: &SigningKey, header: &Value, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload)
    );
    let signature = key.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(signature))
}

fn segments(token: &str) -> (String, String, String) {
    let mut parts = token.split('.').map(str::to_owned);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

/// The header and claims of a real access token.
fn decode(token: &str) -> (Value, Value) {
    let (header, payload, _) = segments(token);
    (
        serde_json::from_slice(&b64::decode(header).unwrap()).unwrap(),
        serde_json::from_slice(&b64::decode(payload).unwrap()).unwrap(),
    )
}

/// Every bad input the issue lists, built from a real access token (`good`) and ID token,
/// each paired with its name; and the controls: tokens forged the same ways but breaking no
/// rule, which must be accepted (so a bad input is refused for what it breaks, not for a
/// mistake in how it was made).
fn bad_inputs(world: &World, good: &str, id_token: &str) -> (Vec<(String, String)>, Vec<String>) {
    let rsa = tessera_key(world, Algorithm::RS256);
    let ec = tessera_key(world, Algorithm::ES256);
    let (header, claims) = decode(good);
    let (h64, p64, s64) = segments(good);
    let now = world.tessera.clock.now_unix();
    let issuer = world.tessera.base_url.clone();
    let resign = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = claims.clone();
        change(claims.as_object_mut().unwrap());
        sign_raw(&rsa, &header, claims.to_string().as_bytes())
    };
    let with_header = |key: &SigningKey, change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut header = header.clone();
        change(header.as_object_mut().unwrap());
        sign_raw(key, &header, claims.to_string().as_bytes())
    };
    let mut bad: Vec<(String, String)> = Vec::new();
    let ec_header = json!({"alg": "ES256", "kid": ec.kid(), "typ": "at+jwt"});
    let controls = vec![
        resign(&|_| {}),
        with_header(&rsa, &|_| {}),
        sign_raw(&ec, &ec_header, claims.to_string().as_bytes()),
    ];

    for alg in ["none", "None", "NONE"] {
        let head = b64::encode(json!({"alg": alg, "kid": rsa.kid(), "typ": "at+jwt"}).to_string());
        bad.push((
            format!("alg {alg}, empty signature"),
            format!("{head}.{p64}."),
        ));
        bad.push((format!("alg {alg}, two segments"), format!("{head}.{p64}")));
    }
    bad.push(("null signature".into(), format!("{h64}.{p64}.")));

    // RS256 → HS256: HMAC keyed with the public key as published.
    let public_jwk = serde_json::to_vec(rsa.public_jwk()).unwrap();
    let input = format!(
        "{}.{p64}",
        b64::encode(json!({"alg": "HS256", "kid": rsa.kid(), "typ": "at+jwt"}).to_string())
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &public_jwk),
        input.as_bytes(),
    );
    bad.push((
        "HS256 with the public key".into(),
        format!("{input}.{}", b64::encode(tag.as_ref())),
    ));

    // Embedded keys: the attacker signs with its own key and points at it.
    let attacker = SigningKey::generate(Algorithm::RS256, rsa.kid()).unwrap();
    let attacker_jwk = serde_json::to_value(attacker.public_jwk()).unwrap();
    for (name, value) in [
        ("jwk", attacker_jwk),
        ("jku", json!("https://evil.example/jwks.json")),
        ("x5u", json!("https://evil.example/cert.pem")),
    ] {
        bad.push((
            format!("embedded {name}"),
            with_header(&attacker, &|h| {
                h.insert(name.into(), value.clone());
            }),
        ));
    }
    for kid in ["../../etc/passwd", "' OR '1'='1' --", ""] {
        bad.push((
            format!("kid {kid:?}"),
            with_header(&rsa, &|h| {
                h.insert("kid".into(), json!(kid));
            }),
        ));
    }

    // Damaged signatures.
    bad.push((
        "truncated signature".into(),
        format!("{h64}.{p64}.{}", &s64[..s64.len() - 8]),
    ));
    let mut flipped = b64::decode(&s64).unwrap();
    flipped[10] ^= 0x01;
    bad.push((
        "bit-flipped signature".into(),
        format!("{h64}.{p64}.{}", b64::encode(flipped)),
    ));
    let ec_head =
        b64::encode(json!({"alg": "ES256", "kid": ec.kid(), "typ": "at+jwt"}).to_string());
    bad.push((
        "ECDSA r = s = 0".into(),
        format!("{ec_head}.{p64}.{}", b64::encode([0u8; 64])),
    ));

    // Validly signed, but the claims break a rule.
    bad.push((
        "expired".into(),
        resign(&|c| {
            c.insert("exp".into(), json!(now - 3600));
            c.insert("iat".into(), json!(now - 4500));
        }),
    ));
    bad.push((
        "not yet valid".into(),
        resign(&|c| {
            c.insert("nbf".into(), json!(now + 3600));
        }),
    ));
    let exp = claims["exp"].as_i64().unwrap();
    bad.push((
        "exp as a string".into(),
        resign(&|c| {
            c.insert("exp".into(), json!(exp.to_string()));
        }),
    ));
    let host_only = issuer.rsplit_once(':').unwrap().0.to_owned();
    for wrong in [
        "https://evil.example".to_owned(),
        format!("{issuer}/"),
        format!("{issuer}.evil.example"),
        host_only,
        issuer[..issuer.len() - 1].to_owned(),
        issuer.to_uppercase(),
    ] {
        bad.push((
            format!("iss {wrong}"),
            resign(&|c| {
                c.insert("iss".into(), json!(wrong));
            }),
        ));
    }
    bad.push((
        "no aud".into(),
        resign(&|c| {
            c.remove("aud");
        }),
    ));
    bad.push((
        "wrong aud".into(),
        resign(&|c| {
            c.insert("aud".into(), json!("https://other-api.example"));
        }),
    ));
    bad.push(("an ID token".into(), id_token.to_owned()));
    bad.push((
        "unknown crit".into(),
        with_header(&rsa, &|h| {
            h.insert("crit".into(), json!(["exp"]));
        }),
    ));
    bad.push(("invalid base64url".into(), format!("{h64}.{p64}!.{s64}")));
    bad.push(("padded base64".into(), format!("{h64}.{p64}==.{s64}")));
    bad.push((
        "non-UTF-8 claims".into(),
        sign_raw(&rsa, &header, b"{\"sub\":\"\xff\xfe\"}"),
    ));
    let mut duplicated = claims.to_string();
    duplicated.pop();
    duplicated.push_str(&format!(
        ",\"sub\":\"someone-else\",\"exp\":{}}}",
        exp + 3600
    ));
    bad.push((
        "duplicate claim names".into(),
        sign_raw(&rsa, &header, duplicated.as_bytes()),
    ));
    // Larger than the library's 16 KiB limit, but within the HTTP server's header limit.
    bad.push((
        "a 64 KiB token".into(),
        format!("{h64}.{}.{s64}", "A".repeat(64 * 1024)),
    ));
    (bad, controls)
}

#[tokio::test]
async fn tesseras_tokens_are_accepted() {
    let world = start().await;
    let browser = Browser::new(&world.tessera.base_url);
    let tokens = world.sign_in(&browser, &[]).await;
    let (_, claims) = decode(&tokens.access_token);

    let me = world.client.me(&tokens.access_token).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&me.body).unwrap(),
        json!({"sub": claims["sub"]})
    );
    let sensitive = world.client.sensitive(&tokens.access_token).await;
    assert_eq!(sensitive.status, 200, "{sensitive:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&sensitive.body).unwrap()["auth_time"],
        claims["auth_time"]
    );

    // A client_credentials token is an access token too, but no user signed in: it can read
    // `/me`, never do the sensitive operation.
    let service_secret = world.tessera.add_service_client("batch", &[]).await;
    let response = world
        .tessera
        .client_credentials("batch", &service_secret, None)
        .await;
    let body: Value = response.json().await.unwrap();
    let service_token = body["access_token"].as_str().unwrap();
    assert_eq!(world.client.me(service_token).await.status, 200);
    let refused = world.client.sensitive(service_token).await;
    assert_eq!(
        (refused.status, refused.challenge.as_deref()),
        (401, Some(STEP_UP))
    );
}

#[tokio::test]
async fn every_bad_input_is_refused_with_401_invalid_token() {
    let world = start().await;
    let browser = Browser::new(&world.tessera.base_url);
    let tokens = world.sign_in(&browser, &[]).await;
    // The fixture is right: the real token itself passes.
    assert_eq!(world.client.me(&tokens.access_token).await.status, 200);

    let (bad, controls) = bad_inputs(&world, &tokens.access_token, &tokens.id_token);
    for control in &controls {
        let answer = world.client.me(control).await;
        assert_eq!(answer.status, 200, "a control token: {answer:?}");
    }
    assert_eq!(bad.len(), 35);
    for (name, token) in &bad {
        for answer in [
            world.client.me(token).await,
            world.client.sensitive(token).await,
        ] {
            assert_eq!(answer.status, 401, "{name}: {answer:?}");
            assert_eq!(answer.challenge.as_deref(), Some(INVALID_TOKEN), "{name}");
            assert_eq!(
                serde_json::from_str::<Value>(&answer.body).unwrap(),
                json!({"error": "invalid_token"}),
                "{name}: nothing that helps an attacker"
            );
        }
    }
    // Embedded key URLs were never fetched, and nothing above made the API refetch the JWKS
    // more than once (the made-up kids share one rate-limited refetch).
    assert!(
        world.api.jwks_fetches() <= 2,
        "{}",
        world.api.jwks_fetches()
    );

    // A 1 MB token does not even reach the application: the HTTP server refuses a header that
    // large (431) before any handler runs. The library's own refusal of it is in
    // tessera-verify's bad-input table.
    let huge = format!("Bearer {}", "A".repeat(1024 * 1024));
    let answer = world.client.call("GET", "/me", Some(&huge)).await;
    assert_eq!(answer.status, 431, "{answer:?}");

    // Credentials of the wrong kind are not bearer tokens.
    let answer = world.client.call("GET", "/me", None).await;
    assert_eq!(
        (answer.status, answer.challenge.as_deref()),
        (401, Some("Bearer"))
    );
}

#[tokio::test]
async fn the_sensitive_operation_demands_a_sign_in_within_5_minutes() {
    let world = start().await;
    let browser = Browser::new(&world.tessera.base_url);
    let tokens = world.sign_in(&browser, &[]).await;
    assert_eq!(
        world.client.sensitive(&tokens.access_token).await.status,
        200
    );

    // Five minutes and one second later: still a valid token, but not a recent sign-in.
    world.tessera.clock.advance(time::Duration::seconds(301));
    world.nudge_feed().await;
    assert_eq!(world.client.me(&tokens.access_token).await.status, 200);
    let refused = world.client.sensitive(&tokens.access_token).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.challenge.as_deref(), Some(STEP_UP));

    // A silent sign-in (the browser's session) brings a new token, but the same auth_time.
    let silent = world.sign_in(&browser, &[]).await;
    assert_eq!(
        decode(&silent.access_token).1["auth_time"],
        decode(&tokens.access_token).1["auth_time"]
    );
    assert_eq!(
        world.client.sensitive(&silent.access_token).await.status,
        401
    );

    // What the app does on the challenge: prompt=login, the user types the password again.
    let fresh = world.sign_in(&browser, &[("prompt", "login")]).await;
    let fresh_claims = decode(&fresh.access_token).1;
    assert_eq!(fresh_claims["auth_time"], world.tessera.clock.now_unix());
    let answer = world.client.sensitive(&fresh.access_token).await;
    assert_eq!(answer.status, 200, "{answer:?}");

    // max_age=300 on the authorization request does the same once the session is too old.
    world.tessera.clock.advance(time::Duration::seconds(301));
    world.nudge_feed().await;
    assert_eq!(
        world.client.sensitive(&fresh.access_token).await.status,
        401
    );
    let again = world.sign_in(&browser, &[("max_age", "300")]).await;
    assert_eq!(
        world.client.sensitive(&again.access_token).await.status,
        200
    );
}

#[tokio::test]
async fn a_revocation_at_tessera_is_enforced_without_asking_tessera() {
    let world = start().await;
    let browser = Browser::new(&world.tessera.base_url);
    let revoked = world.sign_in(&browser, &[]).await;
    let other_browser = Browser::new(&world.tessera.base_url);
    let kept = world.sign_in(&other_browser, &[]).await;
    assert_eq!(
        world.client.sensitive(&revoked.access_token).await.status,
        200
    );
    assert_eq!(world.client.sensitive(&kept.access_token).await.status, 200);
    let fetches = world.api.jwks_fetches();

    // An operator ends the first device's session at Tessera (`tessera session revoke`).
    let claims = decode(&revoked.access_token).1;
    world
        .tessera
        .state
        .revoke(
            RevocationTarget::Session {
                sid: SessionId::from_stored(claims["sid"].as_str().unwrap().to_owned()),
                user_id: UserId::from_stored(claims["sub"].as_str().unwrap().to_owned()),
            },
            RevocationReason::AdminRevoke,
            "test",
        )
        .await
        .unwrap();
    let mut refused = None;
    let deadline = tokio::time::Instant::now() + support::HANG_GUARD;
    while refused.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "hang guard");
        let answer = world.client.me(&revoked.access_token).await;
        if answer.status != 200 {
            refused = Some(answer);
        }
    }
    let refused = refused.unwrap();
    assert_eq!(
        (refused.status, refused.challenge.as_deref()),
        (401, Some(INVALID_TOKEN))
    );
    assert_eq!(
        world.client.sensitive(&revoked.access_token).await.status,
        401
    );
    assert_eq!(
        world.client.sensitive(&kept.access_token).await.status,
        200,
        "other device unaffected"
    );

    assert_eq!(
        world.api.jwks_fetches(),
        fetches,
        "no key fetch on the request path"
    );

    // Answering needs nothing from Tessera: with Tessera stopped, the API still tells the two
    // tokens apart from memory, within its staleness bound.
    let World {
        tessera,
        api,
        client,
        ..
    } = world;
    let clock = tessera.clock.clone();
    tessera.stop().await;
    assert_eq!(client.me(&revoked.access_token).await.status, 401);
    assert_eq!(client.sensitive(&kept.access_token).await.status, 200);
    assert_eq!(api.jwks_fetches(), fetches);

    // Once the mirror is older than its bound (30 s) the API cannot tell any more: it refuses
    // everything (fail closed) rather than trust a token that may have been revoked since.
    clock.advance(time::Duration::seconds(31));
    let answer = client.me(&kept.access_token).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.challenge, None);
}
