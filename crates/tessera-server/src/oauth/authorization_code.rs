//! The `authorization_code` grant (RFC 6749 §4.1.3, PKCE RFC 7636 §4.5–4.6): the client trades
//! the code it received at its redirect URI for tokens.
//!
//! Every way a code can be wrong is the same `invalid_grant` to the client (only a malformed PKCE
//! verifier is `invalid_request`), so a caller learns nothing about codes it does not own.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use crate::tokens::{self, SignIn, TokenResponse};
use tessera_core::audit::action;
use tessera_core::client::SecretHash;
use tessera_core::{
    AuthorizationCode, Client, CodeRedemption, GrantType, RefreshToken, RevocationReason,
    RevocationTarget, TokenFacts,
};

/// Exchanges a code for tokens. The client is already authenticated and allowed this grant.
pub async fn grant(
    state: &AppState,
    client: &Client,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?;
    // Checked before the code is spent: a bad `resource` leaves it redeemable.
    let audience = crate::oauth::resource::audience(state, params)?;
    let now = state.services.clock.now();
    // Redemption is one atomic store operation: of concurrent exchanges of one code exactly one
    // sees `First`. Once redeemed, a code is spent even if a check below fails.
    let code = match state
        .services
        .store
        .redeem_code(&SecretHash::of(code), now)
        .await?
    {
        CodeRedemption::First(code) => code,
        CodeRedemption::Replayed { code, replays } => {
            // RFC 6749 §4.1.2: a code used twice means someone else may hold it; revoke every
            // token issued from it. The access token's jti was fixed when the code was issued,
            // and the refresh-token family is remembered as revoked, so both are revoked even
            // when this replay overtakes the first redemption: its refresh token is then stored
            // revoked, and its access token is refused by introspection, UserInfo and the
            // resource servers that mirror the revocation feed.
            let revoked_until = tessera_core::revocation::replayed_code_revocation_expiry(
                &code,
                now,
                state.settings.lifetimes.access_token,
            );
            state
                .revoke(
                    RevocationTarget::Token {
                        jti: code.access_token_jti.clone(),
                        expires_at: revoked_until,
                    },
                    RevocationReason::CodeReplay,
                    format!("client:{}", client.id),
                )
                .await?;
            let revoked = state
                .revoke_grant(
                    &code.family_id,
                    RevocationReason::CodeReplay,
                    format!("client:{}", client.id),
                )
                .await?;
            // The revocations above are idempotent and repeated, in case an earlier replay
            // failed half way; the audit record is written once, for the first replay. A spent
            // code of a public client can be replayed in a loop by anyone (no secret needed):
            // the rest are counted on the code and logged at 1, 2, 4, 8… replays.
            if replays > 1 {
                if replays.is_power_of_two() {
                    tracing::warn!(
                        client_id = %code.client_id,
                        sid = %code.sid,
                        replays,
                        "a spent authorization code is being replayed"
                    );
                }
                return Err(invalid_code());
            }
            state
                .audit(
                    format!("client:{}", client.id),
                    action::CODE_REPLAY,
                    code.sid.as_str(),
                    None,
                    serde_json::json!({
                        "client_id": code.client_id.as_str(),
                        "presented_by": client.id.as_str(),
                        "family_id": code.family_id,
                        "jti": code.access_token_jti,
                        "refresh_tokens_revoked": revoked.refresh_tokens_revoked,
                        "access_tokens_revoked": revoked.access_tokens_revoked.len(),
                    }),
                )
                .await;
            return Err(invalid_code());
        }
        CodeRedemption::Unknown => return Err(invalid_code()),
    };
    check_code(client, &code, params, now)?;

    let user = state
        .services
        .store
        .find_user(&code.user_id)
        .await?
        .filter(|user| !user.is_disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user cannot sign in"))?;

    // A code issued before its session was revoked (logout), or before its user's or every
    // token was revoked, must not bring new tokens: check it as the access token it would mint,
    // stamped with the code's own issue time.
    let pending = TokenFacts {
        jti: &code.access_token_jti,
        sid: Some(code.sid.as_str()),
        sub: code.user_id.as_str(),
        iat: code.issued_at.unix_timestamp(),
    };
    if state
        .services
        .store
        .is_access_token_revoked(&pending, now)
        .await?
    {
        return Err(invalid_code());
    }
    let now = state.issuance_time(Some(&user.id)).await?;
    let access_token = tokens::plan_access_token(state, now, Some(&code.access_token_jti));

    let can_reauthenticate = crate::authn::passkeys::can_reauthenticate(state, &user).await?;
    let tokens = tokens::issue(
        state,
        &SignIn {
            client,
            user: &user,
            sid: &code.sid,
            scope: &code.scope,
            auth_time: code.auth_time,
            amr: &code.amr,
            acr: code.acr.as_deref(),
            nonce: code.nonce.as_deref(),
            audience: &audience,
            access_token: &access_token,
            can_reauthenticate,
        },
        now,
    )?;

    // Refresh tokens follow the client's registration, not an `offline_access` scope: a client
    // registered for the refresh_token grant gets one with every code exchange. `offline_access`
    // is therefore not required (and not treated specially when present).
    let refresh_token = if client.allows_grant(GrantType::RefreshToken) {
        let secret = tokens::new_refresh_token();
        let lifetimes = state.settings.refresh_lifetimes;
        let record = RefreshToken {
            token_hash: secret.hash(),
            family_id: code.family_id.clone(),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            sid: code.sid.clone(),
            scope: code.scope.clone(),
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            acr: code.acr.clone(),
            issued_at: now,
            idle_expires_at: now + lifetimes.idle,
            absolute_expires_at: now + lifetimes.absolute,
            access_token: Some(access_token),
        };
        if !state.services.store.create_refresh_token(&record).await? {
            // A replay of the code revoked the family after this redemption won the code and
            // before its refresh token was stored; the token is stored revoked, and the access
            // token signed above carries the jti the replay revoked. Nothing is handed out.
            tracing::warn!(
                client_id = %client.id,
                family_id = %code.family_id,
                "authorization code replayed during its first redemption; no tokens issued"
            );
            return Err(invalid_code());
        }
        Some(secret.expose().to_owned())
    } else {
        None
    };
    Ok(tokens.into_response(refresh_token))
}

fn invalid_code() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

/// The checks on a code redeemed for the first time: its client, its lifetime, the redirect URI
/// it was delivered to, and its PKCE challenge.
fn check_code(
    client: &Client,
    code: &AuthorizationCode,
    params: &FormParams,
    now: time::OffsetDateTime,
) -> Result<(), OAuthError> {
    if code.client_id != client.id {
        tracing::warn!(
            client_id = %code.client_id,
            presented_by = %client.id,
            "authorization code presented by another client"
        );
        return Err(invalid_code());
    }
    if now >= code.expires_at {
        return Err(invalid_code());
    }
    // RFC 6749 §4.1.3: when the authorization request named the redirect URI, the token request
    // must repeat it exactly; when it did not, a redirect_uri sent anyway must still match.
    match params.get("redirect_uri") {
        Some(sent) if sent != code.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ))
        }
        None if code.redirect_uri_in_request => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri is required because the authorization request included it",
            ))
        }
        _ => {}
    }
    let verifier = params.get("code_verifier");
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => match challenge.verify(verifier) {
            Ok(true) => {}
            Ok(false) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier does not match the code_challenge",
                ))
            }
            Err(err) => return Err(OAuthError::invalid_request(err.to_string())),
        },
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier is required: the authorization request had a code_challenge",
            ))
        }
        // A verifier without a challenge could let an attacker who injected a code without PKCE
        // pass for a PKCE flow (the "PKCE downgrade"); refuse it.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent, but the authorization request had no code_challenge",
            ))
        }
        (None, None) if client.is_public() => {
            // The authorization endpoint already requires PKCE of public clients; a code
            // without a challenge for one is never valid.
            return Err(invalid_code());
        }
        (None, None) => {}
    }
    Ok(())
}
