//! `tessera-verify` wired to a test server: the server's manual clock and its published keys, so
//! that moving the clock moves the verifier too.

use crate::TestApp;
use std::sync::Arc;
use tessera_core::{Clock as _, ManualClock};
use tessera_jose::JwkSet;
use tessera_verify::{Clock, Verifier, VerifierOptions};

/// A test server's [`ManualClock`], as tessera-verify reads time.
#[derive(Debug)]
pub struct AppClock(pub ManualClock);

impl Clock for AppClock {
    fn now_unix(&self) -> i64 {
        self.0.now().unix_timestamp()
    }
}

impl TestApp {
    /// The server's clock for tessera-verify.
    pub fn verify_clock(&self) -> Arc<dyn Clock> {
        Arc::new(AppClock(self.clock.clone()))
    }

    /// A verifier for this server's access tokens (its issuer and audience), with the keys its
    /// JWKS publishes now (fetched from this server, or node) and the server's clock.
    pub async fn verifier(&self) -> Verifier {
        let jwks: JwkSet = serde_json::from_value(self.get_json("/.well-known/jwks.json").await)
            .expect("the JWKS parses");
        Verifier::with_clock(
            VerifierOptions::new(
                &self.state.settings.issuer,
                &self.state.settings.access_token_audience,
            ),
            jwks,
            self.verify_clock(),
        )
        .expect("a valid verifier configuration")
    }
}
