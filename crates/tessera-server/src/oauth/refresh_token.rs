//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection: every use replaces
//! the token with a new one, and presenting a replaced token revokes its whole family (unless
//! it comes within the optional reuse grace, `refresh_tokens.insecure_reuse_grace_seconds`).
//!
//! The refreshed ID token keeps the original `auth_time` but carries the user's current name,
//! email and roles; this is how an app "refreshes the ID token" before a sensitive operation.

use crate::app::AppState;
use crate::error::OAuthError;
use crate::oauth::form::FormParams;
use crate::oauth::resource;
use crate::tokens::{self, SignIn, TokenResponse};
use tessera_core::audit::action;
use tessera_core::client::SecretHash;
use tessera_core::{Client, RefreshPresentation, RefreshRotation, ScopeSet};

/// Rotates a refresh token and issues fresh tokens. The client is already authenticated and
/// allowed this grant.
pub async fn grant(
    state: &AppState,
    client: &Client,
    params: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    let presented = SecretHash::of(params.require("refresh_token")?);
    let now = state.services.clock.now();
    let stored = state
        .services
        .store
        .find_refresh_token(&presented)
        .await?
        .filter(|stored| stored.revoked_at.is_none())
        .ok_or_else(invalid_token)?;
    let family = &stored.token;
    // A token of another client is refused without touching it: the other client's session must
    // not be ended by someone who merely learned its token's value (RFC 6749 §6).
    if family.client_id != client.id {
        tracing::warn!(
            client_id = %family.client_id,
            presented_by = %client.id,
            "refresh token presented by another client"
        );
        return Err(invalid_token());
    }
    if now >= family.expires_at() {
        return Err(invalid_token());
    }

    // An already replaced token goes straight to the store's rotation, which reports the reuse
    // and revokes the family, whatever else is wrong with the request. Within the (optional)
    // reuse grace a replaced token counts as current: it gets another successor.
    let grace = state.settings.refresh_reuse_grace;
    let is_current = matches!(
        stored.presented_with_grace(now, grace),
        RefreshPresentation::Rotate | RefreshPresentation::RotateAgain
    );
    // A bad `resource` refuses a current token before it is rotated (it stays usable); a
    // replaced one still goes to the rotation, which reports the reuse.
    let audience = resource::audience(state, params);
    if let (true, Err(err)) = (is_current, &audience) {
        return Err(err.clone());
    }
    let scope = match params.get("scope") {
        Some(requested) if is_current => {
            let requested =
                ScopeSet::parse(requested).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if !requested.is_subset_of(&family.scope) {
                let excess: Vec<&str> = requested.excess_over(&family.scope).collect();
                return Err(OAuthError::invalid_scope(format!(
                    "a refresh cannot widen the granted scope; not granted: {}",
                    excess.join(" ")
                )));
            }
            requested
        }
        _ => family.scope.clone(),
    };
    let user = if is_current {
        let user = state
            .services
            .store
            .find_user(&family.user_id)
            .await?
            .filter(|user| !user.is_disabled)
            .ok_or_else(|| OAuthError::invalid_grant("the user cannot sign in"))?;
        Some(user)
    } else {
        None
    };

    // Right after a revocation of this user (or of everything), new tokens wait for its
    // `not_before` so that they are not born revoked.
    let now = state.issuance_time(Some(&family.user_id)).await?;
    // The successor keeps the family's scope even when this refresh narrowed it: narrowing
    // applies to the tokens issued now, not to the grant (RFC 6749 §6).
    let secret = tokens::new_refresh_token();
    let access_token = tokens::plan_access_token(state, now, None);
    let successor = family.successor(
        secret.hash(),
        now,
        state.settings.refresh_lifetimes.idle,
        access_token.clone(),
    );
    let rotated = match state
        .services
        .store
        .rotate_refresh_token_with_grace(&presented, &successor, now, grace)
        .await?
    {
        RefreshRotation::Rotated(rotated) => rotated,
        RefreshRotation::Reused(reused) => {
            state
                .audit(
                    format!("client:{}", client.id),
                    action::REFRESH_REUSE,
                    reused.sid.as_str(),
                    None,
                    serde_json::json!({
                        "client_id": reused.client_id.as_str(),
                        "user_id": reused.user_id.as_str(),
                        "family_id": reused.family_id,
                    }),
                )
                .await;
            return Err(invalid_token());
        }
        RefreshRotation::Invalid => return Err(invalid_token()),
    };
    let Some(user) = user else {
        // The token was replaced when we read it, so the store can only have reported reuse;
        // a `Rotated` here means the store broke its contract.
        return Err(OAuthError::internal(
            "the store rotated a refresh token that was already rotated",
        ));
    };

    let audience = audience?;
    let can_reauthenticate = crate::authn::passkeys::can_reauthenticate(state, &user).await?;
    let tokens = tokens::issue(
        state,
        &SignIn {
            client,
            user: &user,
            sid: &rotated.sid,
            scope: &scope,
            auth_time: rotated.auth_time,
            amr: &rotated.amr,
            acr: rotated.acr.as_deref(),
            nonce: None,
            audience: &audience,
            access_token: &access_token,
            can_reauthenticate,
        },
        now,
    )?;
    Ok(tokens.into_response(Some(secret.expose().to_owned())))
}

fn invalid_token() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}
