//! A pending sign-in: what a protocol asked for (its continuation), the stage it waits in, and
//! what has been proven so far. Stored server-side under a random id between pages; the forms
//! carry the id and a CSRF token, and a page's POST consumes it, so a replayed POST finds nothing.

use super::{
    ConsentPolicy, Interaction, Progress, Proof, SignInPolicy, ACR_MFA, ACR_PASSWORD, ACR_PHR,
};
use crate::client::{Client, SecretHash};
use crate::ids::UserId;
use crate::login::AuthorizationRequest;
use time::{Duration, OffsetDateTime};

/// How long a user has to complete a sign-in page.
pub const PENDING_SIGN_IN_LIFETIME: Duration = Duration::minutes(15);

/// The page a pending sign-in waits for. A page's POST is only accepted for its own stage, so a
/// sign-in cannot skip a step by posting to another page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The login page: who the user is and a first factor.
    FirstFactor,
    /// A second factor.
    SecondFactor,
    /// Enrolling a second factor the policy requires.
    EnrolSecondFactor,
    /// The consent page.
    Consent,
}

impl Stage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FirstFactor => "first-factor",
            Stage::SecondFactor => "second-factor",
            Stage::EnrolSecondFactor => "enrol-second-factor",
            Stage::Consent => "consent",
        }
    }

    /// Reads a stored name back.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Stage::FirstFactor,
            Stage::SecondFactor,
            Stage::EnrolSecondFactor,
            Stage::Consent,
        ]
        .into_iter()
        .find(|stage| stage.as_str() == name)
    }
}

/// A page was posted for a pending sign-in waiting in another stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sign-in waits for {expected:?}, not {posted:?}")]
pub struct StageMismatch {
    /// The stage the sign-in waits in.
    pub expected: Stage,
    /// The stage of the page that was posted.
    pub posted: Stage,
}

/// The protocol that asked for the sign-in and is answered when it finishes. Deliberately not
/// `#[non_exhaustive]`: a new protocol must be handled wherever a continuation is matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Continuation {
    /// An OpenID Connect authorization request: finished with a code.
    Oidc(AuthorizationRequest),
}

impl Continuation {
    /// What this request and its client ask of the sign-in. `interaction` is
    /// [`Interaction::None`] only before a pending sign-in exists (`prompt=none` never shows a
    /// page); `expected_user` is the user of a valid `id_token_hint`.
    pub fn policy(
        &self,
        client: &Client,
        interaction: Interaction,
        expected_user: Option<UserId>,
    ) -> SignInPolicy {
        match self {
            Continuation::Oidc(request) => {
                let asks = |level: &str| request.acr_values.iter().any(|acr| acr == level);
                let wants_phishing_resistant = asks(ACR_PHR);
                // The passkey level includes the MFA level: a user without a passkey gets the
                // next best (OpenID Connect Core §5.5.1.1: the acr_values are preferences).
                let wants_second_factor = asks(ACR_MFA) || wants_phishing_resistant;
                SignInPolicy {
                    interaction,
                    // OpenID Connect Core §3.1.2.1: max_age=0 asks for a fresh authentication,
                    // like prompt=login.
                    reauthenticate: request.prompt_login || request.max_age == Some(0),
                    max_age: request.max_age,
                    expected_user,
                    // prompt=consent asks even for a first-party client (OpenID Connect Core
                    // §3.1.2.1: the server prompts, or answers consent_required).
                    consent: if request.prompt_consent {
                        ConsentPolicy::Always
                    } else if client.is_first_party {
                        ConsentPolicy::NotNeeded
                    } else {
                        ConsentPolicy::UnlessRemembered
                    },
                    wants_second_factor,
                    reports_acr: !request.acr_values.is_empty(),
                    requires_second_factor: client.require_mfa,
                    // Essential, and the password's level not among the acceptable ones.
                    second_factor_essential: wants_second_factor
                        && request.acr_essential
                        && !asks(ACR_PASSWORD),
                    wants_phishing_resistant,
                    phishing_resistant_essential: wants_phishing_resistant
                        && request.acr_essential
                        && !asks(ACR_PASSWORD)
                        && !asks(ACR_MFA),
                }
            }
        }
    }

    /// Whether a remembered consent covers what this sign-in asks for.
    pub fn is_covered_by(&self, consent: &crate::Consent) -> bool {
        match self {
            Continuation::Oidc(request) => consent.covers(&request.scope),
        }
    }

    /// The client the sign-in is for.
    pub fn client_id(&self) -> &crate::ClientId {
        match self {
            Continuation::Oidc(request) => &request.client_id,
        }
    }
}

/// A pending sign-in, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn {
    /// Random id (128 bits), in the form's hidden input.
    pub id: String,
    /// Hash of the CSRF token the form and the cookie must both carry.
    pub csrf_hash: SecretHash,
    /// The page it waits for.
    pub stage: Stage,
    /// The user a first factor identified, once one has.
    pub user_id: Option<UserId>,
    /// Methods proven so far, oldest first.
    pub proofs: Vec<Proof>,
    /// What asked for the sign-in.
    pub continuation: Continuation,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
}

impl PendingSignIn {
    /// Accepts a page's POST only in the stage the engine asked for.
    pub fn expect_stage(&self, posted: Stage) -> Result<(), StageMismatch> {
        if self.stage == posted {
            Ok(())
        } else {
            Err(StageMismatch {
                expected: self.stage,
                posted,
            })
        }
    }

    /// What it has established, for the engine.
    pub fn progress(&self) -> Progress {
        Progress {
            user_id: self.user_id.clone(),
            proofs: self.proofs.clone(),
            consented: false,
        }
    }
}
