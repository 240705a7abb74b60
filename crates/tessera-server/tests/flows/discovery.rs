//! Discovery, JWKS and the health probes.

use reqwest::StatusCode;
use serde_json::Value;
use tessera_testkit::spawn_app;

#[tokio::test]
async fn discovery_names_the_issuer_and_only_endpoints_that_answer() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], app.base_url);
    assert_eq!(doc["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(doc["jwks_uri"], app.url("/.well-known/jwks.json"));
    assert_eq!(doc["authorization_endpoint"], app.url("/authorize"));
    assert_eq!(doc["userinfo_endpoint"], app.url("/userinfo"));
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!([
            "urn:tessera:acr:password",
            "urn:tessera:acr:mfa",
            "urn:tessera:acr:phr"
        ]),
        "the levels acr_values can ask for, weakest first"
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    for field in [
        "response_types_supported",
        "subject_types_supported",
        "claims_supported",
    ] {
        assert!(doc[field].is_array(), "{field}");
    }
    // Every advertised endpoint exists: none answers 404.
    for (name, url) in doc.as_object().unwrap() {
        if name.ends_with("_endpoint") || name == "jwks_uri" {
            let url = url.as_str().unwrap();
            assert!(url.starts_with(&app.base_url), "{name}");
            let get = app.http.get(url).send().await.unwrap().status();
            let post = app.http.post(url).send().await.unwrap().status();
            assert!(
                get != StatusCode::NOT_FOUND && post != StatusCode::NOT_FOUND,
                "{name} {url}"
            );
        }
    }
    // RFC 8414 metadata is the same document.
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(metadata, doc);
}

#[tokio::test]
async fn jwks_publishes_public_keys_with_kid_alg_and_use() {
    let app = spawn_app_with_two_algs().await;
    let response = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let mut kids = std::collections::HashSet::new();
    for key in keys {
        assert!(
            kids.insert(key["kid"].as_str().unwrap().to_owned()),
            "distinct kids"
        );
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string());
        // Never any private part.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "{private} must not be published"
            );
        }
    }
}

async fn spawn_app_with_two_algs() -> tessera_testkit::TestApp {
    tessera_testkit::spawn_app_with(|config| {
        config.tokens.id_token_alg = tessera_jose::Algorithm::ES256
    })
    .await
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        app.http
            .get(app.url("/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}
