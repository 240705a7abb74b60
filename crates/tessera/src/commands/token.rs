//! `tessera token …`: check a token as a resource server would, or decode one.

use crate::cli::TokenCommand;
use anyhow::{bail, Context};
use serde_json::Value;
use tessera_core::{SystemClock, TokenFacts};
use tessera_jose::{b64, JwkSet};
use tessera_server::{app, Config};
use tessera_verify::{Verifier, VerifierOptions};

pub async fn run(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Verify {
            issuer,
            audience,
            client_id,
            token,
        } => verify(config, issuer, audience, client_id, &token).await,
        TokenCommand::Inspect { token } => inspect(&token),
    }
}

async fn verify(
    config: &Config,
    issuer: Option<String>,
    audience: Option<String>,
    client_id: Option<String>,
    token: &str,
) -> anyhow::Result<()> {
    let store = app::open_existing_store(config).await?;
    let (ring, _) = app::open_key_ring(config, store.as_ref(), &SystemClock).await?;
    let jwks: JwkSet =
        serde_json::from_slice(&ring.jwks_json()).context("the published key set")?;
    let issuer = match issuer {
        Some(issuer) => issuer,
        None => config.resolve_issuer(config.listen)?,
    };
    let audience = audience
        .or_else(|| config.tokens.access_token_audience.clone())
        .unwrap_or_else(|| issuer.clone());
    let verifier = Verifier::new(VerifierOptions::new(&issuer, audience), jwks)?;
    let claims = match &client_id {
        Some(client_id) => match verifier.verify_id_token(token, client_id) {
            Ok(id) => id.claims,
            Err(err) => bail!("INVALID ID token: {err}"),
        },
        None => match verifier.verify_access_token(token) {
            Ok(access) => {
                let facts = TokenFacts {
                    jti: &access.jti,
                    sid: access.sid.as_deref(),
                    sub: &access.sub,
                    iat: access.iat,
                };
                let now = time::OffsetDateTime::now_utc();
                if store.is_access_token_revoked(&facts, now).await? {
                    bail!("REVOKED access token (signature and claims are valid)");
                }
                access.claims
            }
            Err(err) => bail!("INVALID access token: {err}"),
        },
    };
    println!(
        "valid {} token",
        if client_id.is_some() { "ID" } else { "access" }
    );
    println!("{}", serde_json::to_string_pretty(&Value::Object(claims))?);
    Ok(())
}

/// Decodes without any check. Every line of output says so, so that nobody mistakes it for a
/// verification.
fn inspect(token: &str) -> anyhow::Result<()> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        bail!("not a JWT: expected header.payload.signature");
    };
    let decode = |part: &str, what: &str| -> anyhow::Result<Value> {
        let bytes =
            b64::decode(part).map_err(|_| anyhow::anyhow!("the {what} is not base64url"))?;
        serde_json::from_slice(&bytes).with_context(|| format!("the {what} is not JSON"))
    };
    println!("UNVERIFIED — decoded only; the signature and claims were NOT checked");
    println!(
        "header:\n{}",
        serde_json::to_string_pretty(&decode(header, "header")?)?
    );
    let claims = decode(payload, "payload")?;
    println!("claims:\n{}", serde_json::to_string_pretty(&claims)?);
    for name in ["iat", "nbf", "exp", "auth_time"] {
        if let Some(secs) = claims.get(name).and_then(Value::as_i64) {
            if let Ok(at) = time::OffsetDateTime::from_unix_timestamp(secs) {
                println!("{name}: {}", super::format_time(at));
            }
        }
    }
    Ok(())
}
