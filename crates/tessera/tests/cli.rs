//! The `tessera` binary as an operator uses it: real processes, a real SQLite file, real HTTP.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{Server, BIN};

/// Runs `tessera ARGS` in `dir` with `stdin`, returning its output.
fn tessera(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        // The operator the audit trail names when no --actor is given: the OS user.
        .env_remove("TESSERA_ACTOR")
        .env("USER", "test-operator")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tessera runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn fails(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected failure: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn secret_from(add_output: &str) -> String {
    add_output
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("the secret is printed")
        .to_owned()
}

/// An HTTP client for the server under test: reqwest gets its TLS configuration (rustls on
/// aws-lc-rs) from tessera-server, as it has no crypto provider of its own.
fn http() -> reqwest::Client {
    tessera_server::http_client::https_client_builder()
        .build()
        .unwrap()
}

async fn client_credentials(server: &Server, id: &str, secret: &str) -> Value {
    http()
        .post(server.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The kids a running server publishes in its JWKS.
async fn published_kids(server: &Server) -> Vec<String> {
    let jwks: Value = http()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn verify(server: &Server, token: &str) -> Value {
    let http = http();
    let discovery: Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[&server.base_url]);
    validation.set_audience(&[&server.base_url]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("verifies")
        .claims
}

/// The README's five-minute tour, step by step: start the server with its defaults, add a client,
/// get a token, verify it through discovery and the JWKS.
#[tokio::test]
async fn the_readme_tour_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    assert!(
        dir.path().join("tessera-data/tessera.db").exists(),
        "default data dir"
    );
    assert!(
        server.log().contains("no clients yet"),
        "says what to do next"
    );

    let added = ok(&tessera(
        dir.path(),
        &["client", "add", "my-service", "--scope", "api:read"],
        None,
    ));
    let secret = secret_from(&added);
    let body = client_credentials(&server, "my-service", &secret).await;
    let token = body["access_token"].as_str().expect("a token");
    let claims = verify(&server, token).await;
    assert_eq!(claims["sub"], "my-service");
    assert_eq!(claims["scope"], "api:read");

    // The secret is shown once: `client show` never prints it.
    let shown = ok(&tessera(
        dir.path(),
        &["client", "show", "my-service"],
        None,
    ));
    assert!(!shown.contains(&secret) && !shown.contains("client_secret"));
    let status = server.stop_with("TERM");
    assert!(status.success(), "graceful shutdown on SIGTERM exits 0");
}

#[tokio::test]
async fn sigint_shuts_down_gracefully_and_logs_are_json_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    // Registering before the first start needs the store `init` creates.
    ok(&tessera(dir.path(), &["init"], None));
    ok(&tessera(
        dir.path(),
        &["client", "add", "svc", "--scope", "api:read"],
        None,
    ));
    let secret = secret_from(&ok(&tessera(
        dir.path(),
        &["client", "add", "svc2", "--scope", "api:read"],
        None,
    )));
    let server = Server::start(dir.path(), &["--log-format", "json"], &[]);
    let body = client_credentials(&server, "svc2", &secret).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let log = server.log.clone();
    assert!(server.stop_with("INT").success());
    let log = log.lock().unwrap().clone();
    let mut saw_request = false;
    for line in log.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        saw_request |= entry["span"]["path"] == "/oauth/token" || line.contains("/oauth/token");
    }
    assert!(saw_request, "requests are logged: {log}");
    assert!(!log.contains(&token), "no token in the log");
    assert!(!log.contains(&secret), "no secret in the log");
    // No fragment of the signature either (the JWT's last segment).
    assert!(!log.contains(token.rsplit('.').next().unwrap()));
}

#[test]
fn a_bad_key_encryption_key_stops_start_up_without_touching_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    // First start creates the KEK and a signing key.
    let server = Server::start(dir.path(), &[], &[]);
    drop(server);
    let keys_before = ok(&tessera(dir.path(), &["keys", "list"], None));
    let kek_path = dir.path().join("tessera-data/key-encryption-key");
    let kek = std::fs::read_to_string(&kek_path).unwrap();

    let serve = |env: &[(&str, &str)]| {
        let output = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .output()
            .unwrap();
        fails(&output)
    };

    // Corrupt file.
    std::fs::write(&kek_path, "garbage").unwrap();
    let message = serve(&[]);
    assert!(
        message.contains("key-encryption key file") && message.contains("invalid"),
        "{message}"
    );

    // A well-formed but different key.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    std::fs::write(&kek_path, other).unwrap();
    let message = serve(&[]);
    assert!(message.contains("could not be decrypted"), "{message}");

    // Missing file while sealed keys exist.
    std::fs::remove_file(&kek_path).unwrap();
    let message = serve(&[]);
    assert!(
        message.contains("is missing") && message.contains("will not generate new keys"),
        "{message}"
    );
    assert!(!kek_path.exists(), "no new KEK was written");

    // A malformed key from the environment.
    let message = serve(&[("TESSERA_KEY_ENCRYPTION_KEY", "short")]);
    assert!(
        message.contains("key_encryption_key is invalid"),
        "{message}"
    );

    // Nothing changed: restoring the KEK brings the same keys back.
    std::fs::write(&kek_path, &kek).unwrap();
    assert_eq!(
        ok(&tessera(dir.path(), &["keys", "list"], None)),
        keys_before
    );
    let server = Server::start(dir.path(), &[], &[]);
    assert!(!server.log().contains("generated a signing key"));
}

#[test]
fn user_commands() {
    let dir = tempfile::tempdir().unwrap();
    // Registering before the first start needs the store `init` creates.
    ok(&tessera(dir.path(), &["init"], None));
    let d = dir.path();
    let added = ok(&tessera(
        d,
        &[
            "user",
            "add",
            "Ada@Example.com",
            "--password-stdin",
            "--name",
            "Ada",
            "--role",
            "admin",
            "--role",
            "dev",
        ],
        Some("correct horse battery staple\n"),
    ));
    assert!(
        added.contains("email: ada@example.com") && added.contains("roles: admin,dev"),
        "{added}"
    );
    assert!(
        !added.contains("correct horse"),
        "the password is never printed"
    );

    // Password rules.
    let err = fails(&tessera(
        d,
        &["user", "add", "bob@example.com", "--password-stdin"],
        Some("password1\n"),
    ));
    assert!(err.contains("most common"), "{err}");
    let err = fails(&tessera(
        d,
        &["user", "add", "bob@example.com", "--password-stdin"],
        Some("short\n"),
    ));
    assert!(err.contains("at least 8"), "{err}");
    let err = fails(&tessera(
        d,
        &["user", "add", "bob@example.com", "--password-stdin"],
        Some(&"x".repeat(129)),
    ));
    assert!(err.contains("at most 128"), "{err}");
    // Nothing was stored by the refused attempts.
    let list = ok(&tessera(d, &["user", "list"], None));
    assert_eq!(list.lines().count(), 1, "{list}");

    let err = fails(&tessera(d, &["user", "add", "ada@example.com"], None));
    assert!(err.contains("already exists"), "{err}");
    let err = fails(&tessera(d, &["user", "add", "not-an-email"], None));
    assert!(err.contains("not an email address"), "{err}");

    ok(&tessera(d, &["user", "disable", "ada@example.com"], None));
    assert!(
        ok(&tessera(d, &["user", "show", "ada@example.com"], None)).contains("status: disabled")
    );
    ok(&tessera(d, &["user", "enable", "ada@example.com"], None));
    assert!(ok(&tessera(d, &["user", "show", "ada@example.com"], None)).contains("status: enabled"));
    let err = fails(&tessera(
        d,
        &[
            "user",
            "set-password",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("qwertyuiop"),
    ));
    assert!(err.contains("most common"), "{err}");
    ok(&tessera(
        d,
        &[
            "user",
            "set-password",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("another long passphrase"),
    ));
    // Second factors and locks (enrolment itself is the account page's: see the server's
    // flow tests, which also run these operator actions on an enrolled user).
    let listed = ok(&tessera(
        d,
        &["user", "mfa", "list", "ada@example.com"],
        None,
    ));
    assert_eq!(listed.trim(), "no second factors");
    let reset = ok(&tessera(
        d,
        &["user", "mfa", "reset", "ada@example.com"],
        None,
    ));
    assert!(reset.starts_with("removed 0 second factor(s)"), "{reset}");
    assert!(ok(&tessera(d, &["user", "unlock", "ada@example.com"], None)).contains("unlocked"));
    let err = fails(&tessera(d, &["user", "unlock", "nobody@example.com"], None));
    assert!(err.contains("not found"), "{err}");
    let audit = ok(&tessera(d, &["audit", "tail"], None));
    assert!(
        audit.contains("mfa-reset") && audit.contains("user-unlocked"),
        "{audit}"
    );

    ok(&tessera(d, &["user", "remove", "ada@example.com"], None));
    let err = fails(&tessera(d, &["user", "show", "ada@example.com"], None));
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn client_commands_validate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    // Registering before the first start needs the store `init` creates.
    ok(&tessera(dir.path(), &["init"], None));
    let d = dir.path();
    let err = fails(&tessera(
        d,
        &[
            "client",
            "add",
            "web",
            "--redirect-uri",
            "http://app.example.com/cb",
        ],
        None,
    ));
    assert!(err.contains("http is allowed only for loopback"), "{err}");
    let err = fails(&tessera(
        d,
        &[
            "client",
            "add",
            "web",
            "--redirect-uri",
            "https://app.example.com/cb#x",
        ],
        None,
    ));
    assert!(err.contains("fragment"), "{err}");
    let err = fails(&tessera(
        d,
        &["client", "add", "web", "--redirect-uri", "cb"],
        None,
    ));
    assert!(err.contains("absolute"), "{err}");

    let web = ok(&tessera(
        d,
        &[
            "client",
            "add",
            "web",
            "--name",
            "Web App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--redirect-uri",
            "http://127.0.0.1:3000/cb",
            "--scope",
            "openid",
            "--first-party",
            "--post-logout-redirect-uri",
            "https://app.example.com/bye",
        ],
        None,
    ));
    assert!(
        web.contains("grant_types: authorization_code,refresh_token"),
        "{web}"
    );
    assert!(web.contains("client_secret: "));
    let spa = ok(&tessera(
        d,
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--redirect-uri",
            "https://spa.example.com/cb",
        ],
        None,
    ));
    assert!(
        !spa.contains("client_secret"),
        "public clients have no secret"
    );
    let err = fails(&tessera(
        d,
        &[
            "client",
            "add",
            "spa2",
            "--public",
            "--grant-type",
            "client_credentials",
        ],
        None,
    ));
    assert!(err.contains("public client cannot"), "{err}");
    let err = fails(&tessera(d, &["client", "add", "web"], None));
    assert!(err.contains("already exists"), "{err}");

    let list = ok(&tessera(d, &["client", "list"], None));
    assert!(
        list.starts_with("spa\tpublic") && list.contains("web\tconfidential"),
        "{list}"
    );
    let shown = ok(&tessera(d, &["client", "show", "web"], None));
    assert!(
        shown.contains("redirect_uris: https://app.example.com/cb http://127.0.0.1:3000/cb"),
        "{shown}"
    );
    assert!(shown.contains("first_party: true") && shown.contains("name: Web App"));
    ok(&tessera(d, &["client", "remove", "web"], None));
    let err = fails(&tessera(d, &["client", "remove", "web"], None));
    assert!(err.contains("not found"), "{err}");
}

#[tokio::test]
async fn keys_rotate_reaches_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("tessera.toml");
    std::fs::write(&config, "[keys]\nrefresh_interval_seconds = 1\n").unwrap();
    let server = Server::start(d, &["--config", config.to_str().unwrap()], &[]);
    let list = ok(&tessera(d, &["keys", "list"], None));
    assert_eq!(list.lines().count(), 2, "header and one key: {list}");
    let old_kid = list
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();

    let rotated = ok(&tessera(
        d,
        &["--config", config.to_str().unwrap(), "keys", "rotate"],
        None,
    ));
    let new_kid = rotated
        .split("key: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let list = ok(&tessera(d, &["keys", "list"], None));
    let states: Vec<(&str, &str)> = list
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0], cols[2])
        })
        .collect();
    assert!(states.contains(&(old_kid.as_str(), "retiring")), "{list}");
    assert!(states.contains(&(new_kid.as_str(), "active")), "{list}");

    // The running server picks the new key up by itself (bounded wait, no timing assertion).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let kids = published_kids(&server).await;
        if kids.contains(&new_kid) {
            assert!(kids.contains(&old_kid), "the old key stays published");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never saw the rotation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = fails(&tessera(d, &["keys", "rotate", "--alg", "HS256"], None));
    assert!(err.contains("unknown algorithm"), "{err}");
}

#[test]
fn configuration_from_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("elsewhere");
    let server = Server::start(
        dir.path(),
        &["--issuer", "http://localhost:9999"],
        &[("TESSERA_DATA_DIR", data.to_str().unwrap())],
    );
    assert!(data.join("tessera.db").exists(), "TESSERA_DATA_DIR is used");
    assert!(
        server.log().contains("issuer=http://localhost:9999"),
        "{}",
        server.log()
    );
    drop(server);
    // A non-loopback http issuer is refused unless explicitly made insecure.
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            "http://id.example.com",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let message = fails(&output);
    assert!(message.contains("use https"), "{message}");
}

/// Puts a browser session for `email` into the store at `dir`, with `client` taking part in it
/// (it received a code there), as a sign-in through the hosted pages would; returns the sid.
async fn seed_session(dir: &Path, email: &str, client: &str) -> String {
    use tessera_core::client::SecretHash;
    use tessera_core::{AuthorizationCode, BrowserSession, ClientId, Email, ScopeSet, SessionId};
    let store = tessera_store::sqlite::SqliteStore::open(&dir.join("tessera-data/tessera.db"))
        .await
        .unwrap();
    use tessera_store::{CodeStore, SessionStore, UserStore};
    let user = store
        .find_user_by_email(&Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let session = BrowserSession {
        sid: SessionId::generate(),
        secret_hash: SecretHash::of(&tessera_core::random::token(32)),
        user_id: user.id.clone(),
        auth_time: now,
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + time::Duration::days(1),
        user_agent: None,
        last_seen_at: now,
    };
    store.create_session(&session).await.unwrap();
    let code = AuthorizationCode {
        code_hash: SecretHash::of(&tessera_core::random::token(32)),
        client_id: ClientId::parse(client).unwrap(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_in_request: true,
        user_id: user.id,
        sid: session.sid.clone(),
        scope: ScopeSet::parse("openid").unwrap(),
        nonce: None,
        code_challenge: None,
        auth_time: now,
        amr: vec!["pwd".into()],
        acr: None,
        family_id: tessera_core::random::token(16),
        access_token_jti: tessera_core::revocation::new_jti(),
        issued_at: now,
        expires_at: now + time::Duration::seconds(60),
    };
    store.create_code(&code).await.unwrap();
    store.close().await;
    session.sid.to_string()
}

#[tokio::test]
async fn session_revocation_and_audit_commands() {
    let dir = tempfile::tempdir().unwrap();
    // Registering before the first start needs the store `init` creates.
    ok(&tessera(dir.path(), &["init"], None));
    let d = dir.path();
    ok(&tessera(
        d,
        &["user", "add", "ada@example.com", "--role", "dev"],
        None,
    ));
    ok(&tessera(
        d,
        &[
            "client",
            "add",
            "web",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--backchannel-logout-uri",
            "https://app.example.com/backchannel",
        ],
        None,
    ));
    let shown = ok(&tessera(d, &["client", "show", "web"], None));
    assert!(
        shown.contains("backchannel_logout_uri: https://app.example.com/backchannel"),
        "{shown}"
    );
    let err = fails(&tessera(
        d,
        &[
            "client",
            "add",
            "bad",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--backchannel-logout-uri",
            "http://app.example.com/backchannel",
        ],
        None,
    ));
    assert!(err.contains("loopback"), "{err}");

    let laptop = seed_session(d, "ada@example.com", "web").await;
    let phone = seed_session(d, "ada@example.com", "web").await;
    let list = ok(&tessera(d, &["session", "list", "ada@example.com"], None));
    assert_eq!(list.lines().count(), 3, "header and two sessions: {list}");
    assert!(list.contains(&laptop) && list.contains(&phone), "{list}");
    assert!(list.lines().skip(1).all(|l| l.ends_with("\tweb")), "{list}");

    // --actor names the operator in the trail instead of the OS user.
    let revoked = ok(&tessera(
        d,
        &["--actor", "night-shift", "session", "revoke", &laptop],
        None,
    ));
    assert!(revoked.contains("1 clients to notify"), "{revoked}");
    let list = ok(&tessera(d, &["session", "list", "ada@example.com"], None));
    assert!(!list.contains(&laptop) && list.contains(&phone), "{list}");
    // Twice, or an unknown sid: a clear error, nothing recorded.
    // A sid beginning with '-' (base64url allows it) is a sid, not an option.
    for sid in [laptop.as_str(), "nope", "-Xk2"] {
        let err = fails(&tessera(d, &["session", "revoke", sid], None));
        assert!(err.contains("not found"), "{err}");
    }

    let roles = ok(&tessera(
        d,
        &["user", "set-roles", "ada@example.com", "--role", "ops"],
        None,
    ));
    assert!(roles.contains("roles of ada@example.com: ops"), "{roles}");
    let everywhere = ok(&tessera(
        d,
        &["user", "revoke-tokens", "ada@example.com"],
        None,
    ));
    assert!(everywhere.contains("1 sessions ended"), "{everywhere}");
    let err = fails(&tessera(
        d,
        &["user", "revoke-tokens", "bob@example.com"],
        None,
    ));
    assert!(err.contains("not found"), "{err}");
    assert_eq!(
        ok(&tessera(d, &["session", "list", "ada@example.com"], None)).trim(),
        "no sessions"
    );

    let audit = ok(&tessera(d, &["audit", "tail"], None));
    let actions: Vec<(&str, &str, &str)> = audit
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[1], cols[2], cols[4])
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("cli:test-operator", "user-added", "-"),
            ("cli:test-operator", "client-added", "-"),
            ("cli:night-shift", "session-revoked", "admin-revoke"),
            ("cli:test-operator", "token-claims-change", "roles-change"),
            ("cli:test-operator", "credential-change", "admin-revoke"),
        ],
        "{audit}"
    );
    let last = ok(&tessera(d, &["audit", "tail", "-n", "1"], None));
    assert!(
        last.contains("credential-change") && last.lines().count() == 1,
        "{last}"
    );
    // A name that could forge another kind of actor, or a log line, is refused before
    // anything changes.
    for bad in ["system\nfake", "a b", ""] {
        let err = fails(&tessera(
            d,
            &["--actor", bad, "user", "revoke-tokens", "ada@example.com"],
            None,
        ));
        assert!(err.contains("operator name"), "{err}");
    }
    assert_eq!(
        ok(&tessera(d, &["audit", "tail"], None)).lines().count(),
        5,
        "refused commands record nothing"
    );
}

#[tokio::test]
async fn keys_rotate_revoke_all_takes_back_tokens_at_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("tessera.toml");
    std::fs::write(&config, "[keys]\nrefresh_interval_seconds = 1\n").unwrap();
    let config = config.to_str().unwrap();
    let server = Server::start(d, &["--config", config], &[]);
    let secret = secret_from(&ok(&tessera(
        d,
        &["client", "add", "api", "--scope", "api:read"],
        None,
    )));
    let token = client_credentials(&server, "api", &secret).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = http();
    let introspect = |token: String| {
        let request = http
            .post(server.url("/oauth/introspect"))
            .basic_auth("api", Some(&secret))
            .form(&[("token", token)]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(introspect(token.clone()).await["active"], true);

    let rotated = ok(&tessera(
        d,
        &["--config", config, "keys", "rotate", "--revoke-all"],
        None,
    ));
    assert!(
        rotated.contains("every token issued until now is revoked"),
        "{rotated}"
    );
    // The server reads revocations from the store on every request: inactive at once.
    assert_eq!(introspect(token).await["active"], false);
    let list = ok(&tessera(d, &["keys", "list"], None));
    let old_kid = list
        .lines()
        .find(|l| l.contains("\texpired\t"))
        .unwrap_or_else(|| panic!("the old key is retired at once: {list}"))
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    // The running server drops it from the JWKS at its next key refresh (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if !published_kids(&server).await.contains(&old_kid) {
            break;
        }
        assert!(Instant::now() < deadline, "the old key stayed published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn token_verify_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = Server::start(d, &[], &[]);
    let issuer = server.url("");
    let issuer = issuer.trim_end_matches('/');
    let secret = secret_from(&ok(&tessera(
        d,
        &["client", "add", "api", "--scope", "api:read"],
        None,
    )));
    let token = client_credentials(&server, "api", &secret).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let valid = ok(&tessera(
        d,
        &["token", "verify", "--issuer", issuer, &token],
        None,
    ));
    assert!(valid.starts_with("valid access token"), "{valid}");
    assert!(valid.contains("\"client_id\": \"api\""), "{valid}");

    let inspected = ok(&tessera(d, &["token", "inspect", &token], None));
    assert!(inspected.starts_with("UNVERIFIED"), "{inspected}");
    assert!(inspected.contains("\"typ\": \"at+jwt\""), "{inspected}");

    // A wrong issuer, a tampered token, garbage: refused, exit status 1.
    let err = fails(&tessera(
        d,
        &[
            "token",
            "verify",
            "--issuer",
            "https://evil.example",
            &token,
        ],
        None,
    ));
    assert!(err.contains("INVALID access token"), "{err}");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let err = fails(&tessera(
        d,
        &["token", "verify", "--issuer", issuer, &tampered],
        None,
    ));
    assert!(err.contains("INVALID"), "{err}");
    let err = fails(&tessera(d, &["token", "inspect", "garbage"], None));
    assert!(err.contains("not a JWT"), "{err}");

    // Revoked at the RFC 7009 endpoint: still well signed, but reported revoked.
    let revoked = http()
        .post(server.url("/oauth/revoke"))
        .basic_auth("api", Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let err = fails(&tessera(
        d,
        &["token", "verify", "--issuer", issuer, &token],
        None,
    ));
    assert!(err.contains("REVOKED"), "{err}");
}

#[tokio::test]
async fn seed_creates_users_whose_refresh_tokens_work() {
    let dir = tempfile::tempdir().unwrap();
    // Registering before the first start needs the store `init` creates.
    ok(&tessera(dir.path(), &["init"], None));
    let d = dir.path();
    let web = secret_from(&ok(&tessera(
        d,
        &[
            "client",
            "add",
            "web",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--scope",
            "openid",
        ],
        None,
    )));
    ok(&tessera(
        d,
        &["client", "add", "svc", "--scope", "api:read"],
        None,
    ));
    // A client without the refresh grant cannot be seeded for, and nothing is written.
    let refused = fails(&tessera(
        d,
        &[
            "seed",
            "--users",
            "2",
            "--client",
            "svc",
            "--refresh-tokens-out",
            "none.txt",
        ],
        None,
    ));
    assert!(refused.contains("refresh_token grant"), "{refused}");
    assert!(!d.join("none.txt").exists());

    ok(&tessera(
        d,
        &[
            "seed",
            "--users",
            "3",
            "--client",
            "web",
            "--refresh-tokens-out",
            "tokens.txt",
        ],
        None,
    ));
    let tokens_file = d.join("tokens.txt");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&tokens_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let tokens: Vec<String> = std::fs::read_to_string(&tokens_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(tokens.len(), 3);
    let users = ok(&tessera(d, &["user", "list"], None));
    for n in 0..3 {
        assert!(
            users.contains(&format!("bench-user-{n}@bench.example")),
            "{users}"
        );
    }

    let server = Server::start(d, &[], &[]);
    for token in &tokens {
        let response = http()
            .post(server.url("/oauth/token"))
            .basic_auth("web", Some(&web))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["refresh_token"].is_string() && body["id_token"].is_string());
    }
}

/// The wrong-directory trap: run from another directory, `client list` used to print "No
/// clients" after creating an empty store there, and `client add` "succeeded" into it. Now
/// every command but `serve` and `init` refuses, says where it looked and how to point at the
/// server's store, and creates nothing.
#[test]
fn commands_other_than_serve_and_init_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 6] = [
        &["client", "list"],
        &["client", "add", "svc", "--scope", "api:read"],
        &["user", "list"],
        &["keys", "list"],
        &["audit", "tail"],
        &["session", "list", "ada@example.com"],
    ];
    for args in commands {
        let err = fails(&tessera(dir.path(), args, None));
        assert!(
            err.contains("there is no SQLite database at") && err.contains("tessera.db"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("--data-dir") && err.contains(&dir.path().display().to_string()),
            "{args:?} does not say where it looked or how to point elsewhere: {err}"
        );
        assert!(
            !dir.path().join("tessera-data").exists(),
            "{args:?} created the data directory"
        );
    }

    let initialised = ok(&tessera(dir.path(), &["init"], None));
    assert!(
        initialised.contains("created the key-encryption key")
            && initialised.contains("generated a signing key"),
        "{initialised}"
    );
    assert!(ok(&tessera(dir.path(), &["client", "list"], None)).contains("no clients"));
    let again = ok(&tessera(dir.path(), &["init"], None));
    assert!(again.contains("already set up"), "{again}");

    // --data-dir points a command run elsewhere at the store.
    let elsewhere = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("tessera-data");
    let data_dir = data_dir.to_str().unwrap();
    ok(&tessera(
        elsewhere.path(),
        &[
            "--data-dir",
            data_dir,
            "client",
            "add",
            "svc",
            "--scope",
            "api:read",
        ],
        None,
    ));
    assert!(ok(&tessera(dir.path(), &["client", "list"], None)).contains("svc"));
}

#[tokio::test]
async fn passkey_commands_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    ok(&tessera(dir.path(), &["init"], None));
    let d = dir.path();
    ok(&tessera(d, &["user", "add", "ada@example.com"], None));
    ok(&tessera(d, &["user", "add", "bob@example.com"], None));
    assert_eq!(
        ok(&tessera(
            d,
            &["user", "passkeys", "list", "ada@example.com"],
            None
        ))
        .trim(),
        "no passkeys"
    );
    // A passkey as the account page stores one (registration itself is the server's: see its
    // flow and browser tests).
    let store = tessera_store::sqlite::SqliteStore::open(&d.join("tessera-data/tessera.db"))
        .await
        .unwrap();
    use tessera_store::{PasskeyStore, UserStore};
    let ada = store
        .find_user_by_email(&tessera_core::Email::parse("ada@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let passkey = tessera_core::passkey::Passkey {
        credential_id: vec![7; 16],
        user_id: ada.id.clone(),
        name: "Work laptop".into(),
        public_key: vec![1, 2, 3],
        algorithm: -7,
        sign_count: 3,
        backup_eligible: false,
        backed_up: false,
        transports: vec!["internal".into()],
        aaguid: [0; 16],
        created_at: time::OffsetDateTime::now_utc(),
        last_used_at: None,
    };
    store.create_passkey(&passkey).await.unwrap();
    drop(store);
    let id = passkey.id_text();
    let listed = ok(&tessera(
        d,
        &["user", "passkeys", "list", "ada@example.com"],
        None,
    ));
    assert!(
        listed.starts_with(&id)
            && listed.contains("Work laptop")
            && listed.contains("device-bound"),
        "{listed}"
    );
    // Another user's passkey id, or a malformed one, removes nothing.
    let err = fails(&tessera(
        d,
        &["user", "passkeys", "remove", "bob@example.com", &id],
        None,
    ));
    assert!(err.contains("has no passkey"), "{err}");
    let err = fails(&tessera(
        d,
        &[
            "user",
            "passkeys",
            "remove",
            "ada@example.com",
            "not base64!",
        ],
        None,
    ));
    assert!(err.contains("not a passkey id"), "{err}");
    let removed = ok(&tessera(
        d,
        &[
            "user",
            "passkeys",
            "remove",
            "ada@example.com",
            &id,
            "--end-sessions",
        ],
        None,
    ));
    assert!(
        removed.contains("removed passkey") && removed.contains("every session"),
        "{removed}"
    );
    assert_eq!(
        ok(&tessera(
            d,
            &["user", "passkeys", "list", "ada@example.com"],
            None
        ))
        .trim(),
        "no passkeys"
    );
    let audit = ok(&tessera(d, &["audit", "tail"], None));
    assert!(audit.contains("passkey-removed"), "{audit}");
}
