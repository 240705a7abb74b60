//! [`Verifier`]: the keys, the expected issuer and audience, and the checks.

use crate::claims::{AccessToken, ClaimReader, IdToken};
use crate::clock::{Clock, SystemClock};
use crate::error::{ClaimsError, ConfigError, VerifyError};
use crate::freshness::StepUpRequired;
use serde_json::{Map, Value};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tessera_jose::{Algorithm, JoseError, JwkSet, VerifiedJws, VerifyingKeys};

/// The largest leeway a verifier accepts for clock differences (5 minutes): more would keep
/// expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The `typ` values of an access token (RFC 9068 §2.1; the media-type form is allowed too).
const ACCESS_TOKEN_TYPES: [&str; 2] = ["at+jwt", "application/at+jwt"];

/// The `typ` of Tessera's ID tokens.
const ID_TOKEN_TYPE: &str = "JWT";

/// What a [`Verifier`] expects of tokens.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifierOptions {
    /// The issuer, exactly as in the tokens' `iss` (Tessera's issuer URL, no trailing slash).
    pub issuer: String,
    /// This API's audience: access tokens must name it in `aud`.
    pub audience: String,
    /// Allowed clock difference for `exp`, `nbf` and `iat` (default 30 s, at most
    /// [`MAX_LEEWAY`]).
    pub leeway: Duration,
    /// Algorithms accepted (default RS256, ES256, EdDSA). `none` and HMAC are never possible.
    pub algorithms: Vec<Algorithm>,
}

impl VerifierOptions {
    /// Options for tokens from `issuer` meant for `audience`, with the defaults.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(30),
            algorithms: Algorithm::ALL.to_vec(),
        }
    }

    /// Sets the leeway.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Restricts the accepted algorithms.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }
}

/// Verifies Tessera's tokens against a set of keys, each parsed once. Cheap to share (`Arc`);
/// the keys can be replaced while it is in use ([`replace_keys`](Self::replace_keys)).
#[derive(Debug)]
pub struct Verifier {
    options: VerifierOptions,
    leeway: i64,
    keys: RwLock<Arc<VerifyingKeys>>,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// A verifier with a fixed set of keys (for example the issuer's JWKS, fetched by you or
    /// shipped with the application) and the system clock.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an empty issuer or audience, no algorithms, or too large a leeway.
    pub fn new(options: VerifierOptions, keys: JwkSet) -> Result<Self, ConfigError> {
        Self::with_clock(options, keys, Arc::new(SystemClock))
    }

    /// As [`new`](Self::new), reading time from `clock`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_clock(
        options: VerifierOptions,
        keys: JwkSet,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        if options.issuer.is_empty() {
            return Err(ConfigError::Empty("issuer"));
        }
        if options.audience.is_empty() {
            return Err(ConfigError::Empty("audience"));
        }
        if options.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if options.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge(options.leeway.as_secs()));
        }
        Ok(Self {
            leeway: i64::try_from(options.leeway.as_secs()).unwrap_or(0),
            options,
            keys: RwLock::new(Arc::new(VerifyingKeys::new(keys))),
            clock,
        })
    }

    /// The options it was built with.
    pub fn options(&self) -> &VerifierOptions {
        &self.options
    }

    /// Now, by the verifier's clock (seconds since the epoch): the time to pass to
    /// [`RevocationMirror::check`](crate::revocation::RevocationMirror::check), so that the
    /// token's checks and the revocation check read the same clock.
    pub fn now_unix(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Replaces the keys (after the issuer rotated them).
    pub fn replace_keys(&self, keys: JwkSet) {
        let keys = Arc::new(VerifyingKeys::new(keys));
        match self.keys.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    fn current_keys(&self) -> Arc<VerifyingKeys> {
        match self.keys.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Verifies the signature and the token type; returns the claims as a JSON object.
    fn verify_jws(
        &self,
        token: &str,
        expected: &'static str,
        types: &[&str],
    ) -> Result<Map<String, Value>, VerifyError> {
        let verified: VerifiedJws = self
            .current_keys()
            .verify_compact(token, &self.options.algorithms)?;
        let typ = verified.typ();
        if !typ.is_some_and(|typ| types.iter().any(|t| t.eq_ignore_ascii_case(typ))) {
            return Err(VerifyError::WrongType {
                expected,
                found: typ.map(str::to_owned),
            });
        }
        verified.claims_object().map_err(|err| match err {
            JoseError::Malformed(why) => VerifyError::Claims(ClaimsError::Malformed(why)),
            other => VerifyError::Signature(other),
        })
    }

    /// The checks every token gets: `iss` exactly, `aud` containing `audience`, `exp` and `iat`
    /// required numbers, `nbf` a number when present, all within the leeway.
    fn check_common(
        &self,
        claims: &ClaimReader<'_>,
        audience: &str,
    ) -> Result<(i64, i64), ClaimsError> {
        let iss = claims.required_string("iss")?;
        if iss != self.options.issuer {
            return Err(ClaimsError::WrongIssuer { found: iss });
        }
        if !claims.audiences()?.iter().any(|aud| aud == audience) {
            return Err(ClaimsError::WrongAudience);
        }
        let exp = claims.required_date("exp")?;
        let iat = claims.required_date("iat")?;
        let nbf = claims.date("nbf")?;
        let now = self.clock.now_unix();
        if exp.saturating_add(self.leeway) <= now {
            return Err(ClaimsError::Expired { exp, now });
        }
        if let Some(nbf) = nbf {
            if nbf > now.saturating_add(self.leeway) {
                return Err(ClaimsError::NotYetValid { nbf, now });
            }
        }
        if iat > now.saturating_add(self.leeway) {
            return Err(ClaimsError::IssuedInTheFuture { iat, now });
        }
        Ok((exp, iat))
    }

    /// Verifies an access token (RFC 9068) meant for this API.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] saying which check failed. Answer every one with `401` and
    /// `WWW-Authenticate: Bearer error="invalid_token"`, without the detail.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessToken, VerifyError> {
        let claims = self.verify_jws(token, "at+jwt", &ACCESS_TOKEN_TYPES)?;
        let reader = ClaimReader(&claims);
        let (exp, iat) = self.check_common(&reader, &self.options.audience)?;
        let sub = reader.required_string("sub")?;
        let client_id = reader.required_string("client_id")?;
        let jti = reader.required_string("jti")?;
        let scopes = reader
            .string("scope")?
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let sid = reader.string("sid")?;
        let auth_time = reader.date("auth_time")?;
        let roles = reader.strings("roles")?;
        let acr = reader.string("acr")?;
        let amr = reader.strings("amr")?;
        // The reader's borrow ends here, so the claims move into the result uncopied.
        Ok(AccessToken {
            acr,
            amr,
            sub,
            client_id,
            jti,
            iat,
            exp,
            scopes,
            sid,
            auth_time,
            roles,
            claims,
        })
    }

    /// Verifies an ID token issued to the client `client_id` (for a client, or a backend of
    /// one, that reads the user's authentication facts).
    ///
    /// # Errors
    ///
    /// [`VerifyError`] saying which check failed.
    pub fn verify_id_token(&self, token: &str, client_id: &str) -> Result<IdToken, VerifyError> {
        let claims = self.verify_jws(token, ID_TOKEN_TYPE, &[ID_TOKEN_TYPE])?;
        let reader = ClaimReader(&claims);
        self.check_common(&reader, client_id)?;
        let sub = reader.required_string("sub")?;
        let auth_time = reader.required_date("auth_time")?;
        let sid = reader.string("sid")?;
        let nonce = reader.string("nonce")?;
        Ok(IdToken {
            sub,
            auth_time,
            sid,
            nonce,
            claims,
        })
    }

    /// Demands that the user authenticated within `max_age` (for a sensitive operation). A
    /// token without `auth_time` (a `client_credentials` token) never qualifies.
    ///
    /// # Errors
    ///
    /// [`StepUpRequired`], whose `WWW-Authenticate` value tells the app to reauthenticate the
    /// user (RFC 9470).
    pub fn require_auth_within(
        &self,
        token: &AccessToken,
        max_age: Duration,
    ) -> Result<(), StepUpRequired> {
        let max_age_secs = max_age.as_secs();
        let fresh = token.auth_time.is_some_and(|auth_time| {
            let age = self.clock.now_unix().saturating_sub(auth_time);
            u64::try_from(age).map_or(true, |age| age <= max_age_secs)
        });
        if fresh {
            Ok(())
        } else {
            Err(StepUpRequired {
                max_age: Some(max_age_secs),
                acr_values: None,
                auth_time: token.auth_time,
            })
        }
    }

    /// Demands that the user's sign-in reached one of the `accepted` authentication levels
    /// (`acr`; for a second factor, [`ACR_MFA`](crate::ACR_MFA)). A token without `acr` (a
    /// `client_credentials` token, or one from before Tessera issued it) never qualifies.
    ///
    /// # Errors
    ///
    /// [`StepUpRequired`] naming the accepted values, whose `WWW-Authenticate` value tells the
    /// app to sign the user in again with `acr_values` (RFC 9470).
    pub fn require_acr(
        &self,
        token: &AccessToken,
        accepted: &[&str],
    ) -> Result<(), StepUpRequired> {
        if token
            .acr
            .as_deref()
            .is_some_and(|acr| accepted.contains(&acr))
        {
            Ok(())
        } else {
            Err(StepUpRequired {
                max_age: None,
                acr_values: Some(accepted.join(" ")),
                auth_time: token.auth_time,
            })
        }
    }
}
