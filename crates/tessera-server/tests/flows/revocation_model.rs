//! A property-style test of the revocation model: for random sequences of sign-ins, refreshes,
//! revocations of every kind and clock moves, introspection and the refresh grant agree with a
//! simple reference model of which tokens are valid.
//!
//! The reference model knows nothing of `not_before` seconds or store queries: a revocation
//! takes back exactly the tokens that exist when it is made (per session, per user, access
//! tokens only, or everything), and an access token also dies when its lifetime is over.

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use tessera_core::{Clock, RevocationReason, RevocationTarget, SessionId, User};
use tessera_testkit::grants::{CodeOptions, WebClient};
use tessera_testkit::{spawn_app, TestApp};
use time::Duration;

/// A tiny deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

struct AccessToken {
    token: String,
    user: usize,
    sid: String,
    expires_at: i64,
    /// The model's verdict: revoked by some revocation made after it was issued.
    revoked: bool,
}

struct Device {
    user: usize,
    sid: String,
    refresh: String,
    /// The model's verdict on the refresh token.
    refresh_valid: bool,
}

struct World {
    app: TestApp,
    web: WebClient,
    api_secret: String,
    users: Vec<User>,
    devices: Vec<Device>,
    access: Vec<AccessToken>,
}

impl World {
    fn record_access(&mut self, user: usize, sid: &str, body: &Value) {
        let lifetime = body["expires_in"].as_i64().unwrap();
        self.access.push(AccessToken {
            token: body["access_token"].as_str().unwrap().to_owned(),
            user,
            sid: sid.to_owned(),
            expires_at: self.app.clock.now().unix_timestamp() + lifetime,
            revoked: false,
        });
    }

    async fn sign_in(&mut self, user: usize) {
        let (body, issued) = self
            .app
            .sign_in(&self.web, &self.users[user], CodeOptions::scope("openid"))
            .await;
        let sid = issued.session.sid.to_string();
        self.record_access(user, &sid, &body);
        self.devices.push(Device {
            user,
            sid,
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            refresh_valid: true,
        });
    }

    async fn refresh(&mut self, device: usize) {
        let response = self
            .app
            .refresh(&self.web, &self.devices[device].refresh, None)
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        let expected = self.devices[device].refresh_valid;
        assert_eq!(
            status == StatusCode::OK,
            expected,
            "refresh of device {device}: model says valid = {expected}, server said {status} {body}"
        );
        if expected {
            let (user, sid) = (self.devices[device].user, self.devices[device].sid.clone());
            self.record_access(user, &sid, &body);
            self.devices[device].refresh = body["refresh_token"].as_str().unwrap().to_owned();
        }
    }

    async fn revoke(&mut self, target: RevocationTarget, reason: RevocationReason) {
        match self.app.state.revoke(target, reason, "test").await {
            // `None`: revoked before. `NotFound`: a session already ended by a user revocation
            // (and with no live refresh token). Either way the model's verdicts already hold.
            Ok(_) | Err(tessera_store::StoreError::NotFound) => {}
            Err(err) => panic!("revocation failed: {err}"),
        }
    }

    async fn revoke_session(&mut self, device: usize) {
        let (user, sid) = (self.devices[device].user, self.devices[device].sid.clone());
        let target = RevocationTarget::Session {
            sid: SessionId::from_stored(sid.clone()),
            user_id: self.users[user].id.clone(),
        };
        // A session revoked before answers `None`; the model is unchanged by that too.
        self.revoke(target, RevocationReason::AdminRevoke).await;
        self.access
            .iter_mut()
            .filter(|t| t.sid == sid)
            .for_each(|t| t.revoked = true);
        self.devices
            .iter_mut()
            .filter(|d| d.sid == sid)
            .for_each(|d| d.refresh_valid = false);
    }

    async fn revoke_user(&mut self, user: usize, claims_only: bool) {
        let user_id = self.users[user].id.clone();
        let target = if claims_only {
            RevocationTarget::UserClaims { user_id }
        } else {
            RevocationTarget::User { user_id }
        };
        self.revoke(target, RevocationReason::AdminRevoke).await;
        self.access
            .iter_mut()
            .filter(|t| t.user == user)
            .for_each(|t| t.revoked = true);
        if !claims_only {
            self.devices
                .iter_mut()
                .filter(|d| d.user == user)
                .for_each(|d| d.refresh_valid = false);
        }
    }

    async fn revoke_everything(&mut self) {
        self.revoke(RevocationTarget::Global, RevocationReason::KeyRotation)
            .await;
        self.access.iter_mut().for_each(|t| t.revoked = true);
        self.devices
            .iter_mut()
            .for_each(|d| d.refresh_valid = false);
    }

    /// Every access token's introspection answer matches the model.
    async fn check(&self, step: usize) {
        let now = self.app.clock.now().unix_timestamp();
        let mut checked = HashSet::new();
        for (i, token) in self.access.iter().enumerate() {
            if !checked.insert(token.token.as_str()) {
                continue;
            }
            let expected = !token.revoked && token.expires_at > now;
            let answer: Value = self
                .app
                .http
                .post(self.app.url("/oauth/introspect"))
                .basic_auth("api", Some(&self.api_secret))
                .form(&[("token", token.token.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(
                answer["active"] == true,
                expected,
                "step {step}, access token {i} (user {}, revoked {}, expires {} at now {now}): {answer}",
                token.user,
                token.revoked,
                token.expires_at
            );
        }
    }
}

async fn run(seed: u64, steps: usize) {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for name in ["ada", "bob", "cy"] {
        users.push(
            app.add_user(&format!("{name}@example.com"), None, None, &[])
                .await,
        );
    }
    let web = app.add_web_client("web", false, &["openid"], &[]).await;
    let api_secret = app.add_resource_server("api", &[]).await;
    let mut world = World {
        app,
        web,
        api_secret,
        users,
        devices: Vec::new(),
        access: Vec::new(),
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for step in 0..steps {
        let users = world.users.len();
        match rng.below(10) {
            0..=2 => world.sign_in(rng.below(users)).await,
            3..=4 if !world.devices.is_empty() => {
                world.refresh(rng.below(world.devices.len())).await;
            }
            5 if !world.devices.is_empty() => {
                world.revoke_session(rng.below(world.devices.len())).await;
            }
            6 => world.revoke_user(rng.below(users), false).await,
            7 => world.revoke_user(rng.below(users), true).await,
            8 if rng.below(4) == 0 => world.revoke_everything().await,
            _ => {
                let seconds = i64::try_from(rng.below(400)).unwrap();
                world.app.clock.advance(Duration::seconds(seconds));
                world.app.state.purge_expired().await.unwrap();
            }
        }
        world.check(step).await;
    }
}

#[tokio::test]
async fn introspection_and_refresh_agree_with_the_reference_model() {
    let (seeds, steps) = if std::env::var_os("TESSERA_SLOW_TESTS").is_some() {
        (12, 60)
    } else {
        (3, 40)
    };
    for seed in 0..seeds {
        run(seed, steps).await;
    }
}
