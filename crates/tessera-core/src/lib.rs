//! Tessera's domain: identifiers, users, clients, signing-key records, token claims, lifetimes,
//! revocation and password rules.
//!
//! Nothing here performs IO. Time comes from an injected [`Clock`], so every lifetime rule is
//! testable without sleeping; storage is reached through the traits in `tessera-store`, and HTTP
//! lives in `tessera-server`.

pub mod audit;
pub mod backchannel;
pub mod client;
pub mod clock;
pub mod code;
pub mod consent;
pub mod ids;
pub mod kek;
pub mod keys;
pub mod login;
pub mod login_throttle;
pub mod outbox;
pub mod passkey;
pub mod password;
pub mod password_reset;
pub mod phone;
pub mod pkce;
pub mod random;
pub mod recovery_codes;
pub mod refresh;
pub mod revocation;
pub mod scope;
pub mod sent_code;
pub mod session;
pub mod sign_in;
pub mod sign_up;
pub mod source_throttle;
pub mod token;
pub mod totp;
pub mod user;
pub mod webauthn;
pub mod webhook;

pub use audit::{Actor, ActorError, AuditEvent};
pub use backchannel::BackchannelDelivery;
pub use client::{
    Client, ClientSecret, ClientValidationError, GrantType, NewClient, Origin, RedirectUri,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use code::{AuthorizationCode, CodeRedemption};
pub use consent::Consent;
pub use ids::{ClientId, UserId};
pub use kek::{KekError, KeyEncryptionKey};
pub use keys::{KeyState, SigningKeyRecord};
pub use login::AuthorizationRequest;
pub use login_throttle::{
    Admission, LoginThrottlePolicy, ThrottleKey, ThrottleRule, ThrottleState,
};
pub use outbox::{OutgoingMessage, Recipient};
pub use passkey::{
    normalise_passkey_name, ChallengePurpose, InvalidPasskeyName, Passkey, PasskeyChallenge,
};
pub use password::{HashingMemory, PasswordHash, PasswordHasher, PasswordRejection};
pub use password_reset::PasswordReset;
pub use phone::{PhoneNumber, PhoneNumberError};
pub use pkce::{CodeChallenge, PkceError};
pub use refresh::{
    IssuedAccessToken, RefreshLifetimes, RefreshPresentation, RefreshRotation, RefreshToken,
    StoredRefreshToken,
};
pub use revocation::{
    Revocation, RevocationEffects, RevocationEntry, RevocationKind, RevocationReason,
    RevocationTarget, TokenFacts,
};
pub use scope::{ScopeError, ScopeSet};
pub use sent_code::{CodeCheck, CodePurpose, SentCode};
pub use session::{BearerSecret, BrowserSession, SessionId};
pub use sign_in::{Continuation, PendingSignIn, Stage};
pub use source_throttle::{SourceCheck, SourceThrottlePolicy};
pub use token::{at_hash, AccessTokenClaims, IdTokenClaims, NamespacedClaim, TokenLifetimes};
pub use totp::{TotpFactor, TotpRejection, TotpSeed};
pub use user::{Email, EmailError, User};
