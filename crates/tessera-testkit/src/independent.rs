//! Verification of Tessera's tokens by an independent library (`jsonwebtoken`), starting from
//! discovery exactly as a relying party would: discovery → `jwks_uri` → key by `kid`.

use anyhow::{anyhow, bail, Context};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// The verified header and claims of a token.
#[derive(Debug)]
pub struct Verified {
    /// The JOSE header.
    pub header: jsonwebtoken::Header,
    /// The claims.
    pub claims: Value,
}

impl Verified {
    /// Asserts that the token was issued at `now` (the test clock) and expires `lifetime_secs`
    /// later.
    pub fn assert_issued_at(&self, now: i64, lifetime_secs: i64) {
        assert_eq!(self.claims["iat"], now, "iat is the issuing clock's time");
        assert_eq!(
            self.claims["exp"],
            now + lifetime_secs,
            "exp is iat + lifetime"
        );
    }
}

/// Fetches discovery and the JWKS from `issuer`, then verifies `token` with `jsonwebtoken`:
/// signature, `iss`, `aud`, `exp`, and `typ`.
pub async fn verify_via_discovery(
    http: &reqwest::Client,
    issuer: &str,
    token: &str,
    audience: &str,
    expected_typ: &str,
) -> anyhow::Result<Verified> {
    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if discovery["issuer"] != issuer {
        bail!("discovery issuer {} is not {issuer}", discovery["issuer"]);
    }
    let jwks_uri = discovery["jwks_uri"]
        .as_str()
        .ok_or_else(|| anyhow!("discovery has no jwks_uri"))?;
    let jwks: JwkSet = http
        .get(jwks_uri)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    verify_with_jwks(&jwks, issuer, token, audience, expected_typ)
}

/// Verifies `token` against an already fetched JWKS.
pub fn verify_with_jwks(
    jwks: &JwkSet,
    issuer: &str,
    token: &str,
    audience: &str,
    expected_typ: &str,
) -> anyhow::Result<Verified> {
    let header = decode_header(token).context("header")?;
    let kid = header
        .kid
        .clone()
        .ok_or_else(|| anyhow!("token has no kid"))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| anyhow!("kid {kid} is not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).context("decoding key")?;
    if !matches!(
        header.alg,
        Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
    ) {
        bail!("unexpected alg {:?}", header.alg);
    }
    if header.typ.as_deref() != Some(expected_typ) {
        bail!("typ is {:?}, expected {expected_typ}", header.typ);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // jsonwebtoken reads the system clock, but test servers run on a manual clock; callers check
    // `exp` against that clock with [`Verified::assert_live_at`].
    validation.validate_exp = false;
    let data = decode::<Value>(token, &key, &validation).context("jsonwebtoken verification")?;
    Ok(Verified {
        header: data.header,
        claims: data.claims,
    })
}
