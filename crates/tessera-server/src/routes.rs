//! Every route path in one place, so discovery and the router cannot disagree.

/// OpenID Connect discovery document.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// RFC 8414 authorization server metadata (same document).
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
/// JSON Web Key Set.
pub const JWKS: &str = "/.well-known/jwks.json";
/// Token endpoint.
pub const TOKEN: &str = "/oauth/token";
/// Liveness.
pub const HEALTHZ: &str = "/healthz";
/// Readiness.
pub const READYZ: &str = "/readyz";
/// Authorization endpoint.
pub const AUTHORIZE: &str = "/authorize";
/// Hosted login page.
pub const LOGIN: &str = "/login";
/// Hosted second-factor page (a code from an authenticator app).
pub const SECOND_FACTOR: &str = "/login/second-factor";
/// The account's home: profile and links to every setting.
pub const ACCOUNT: &str = "/account";
/// The account page's email address: confirming it, or moving to a new one.
pub const ACCOUNT_EMAIL: &str = "/account/email";
/// Self-service sign-up (only when `signup.enabled`): asking for a link by email.
pub const SIGN_UP: &str = "/signup";
/// Sign-up's mailed link: choosing a password creates the account.
pub const SIGN_UP_COMPLETE: &str = "/signup/complete";
/// Signing in with a passkey: the ceremony's options (JSON).
pub const PASSKEY_SIGN_IN_OPTIONS: &str = "/login/passkey/options";
/// Signing in with a passkey: the browser's answer.
pub const PASSKEY_SIGN_IN: &str = "/login/passkey";
/// The account page's passkeys: list, add, remove.
pub const ACCOUNT_PASSKEYS: &str = "/account/passkeys";
/// Registering a passkey: the ceremony's options (JSON).
pub const ACCOUNT_PASSKEYS_OPTIONS: &str = "/account/passkeys/options";
/// The pages' one script: the passkey ceremonies.
pub const PASSKEY_SCRIPT: &str = "/assets/passkeys.js";
/// The account page's authenticator-app (TOTP) enrolment.
pub const ACCOUNT_TOTP: &str = "/account/totp";
/// Removing the authenticator app.
pub const ACCOUNT_TOTP_REMOVE: &str = "/account/totp/remove";
/// The account page's codes by SMS.
pub const ACCOUNT_PHONE: &str = "/account/phone";
/// The account page's codes by email.
pub const ACCOUNT_EMAIL_CODES: &str = "/account/email-codes";
/// The account page's password change.
pub const ACCOUNT_PASSWORD: &str = "/account/password";
/// The account page's list of signed-in devices.
pub const ACCOUNT_DEVICES: &str = "/account/devices";
/// Asking for a forgotten-password link.
pub const FORGOT_PASSWORD: &str = "/account/forgot-password";
/// The mailed link's page: a new password.
pub const RESET_PASSWORD: &str = "/account/reset-password";
/// The account page's recovery codes.
pub const ACCOUNT_RECOVERY_CODES: &str = "/account/recovery-codes";
/// Hosted page enrolling the second factor a policy requires, during a sign-in.
pub const ENROL_SECOND_FACTOR: &str = "/login/enrol-second-factor";
/// Hosted consent page.
pub const CONSENT: &str = "/consent";
/// UserInfo endpoint.
pub const USERINFO: &str = "/userinfo";
/// Token revocation (RFC 7009).
pub const REVOKE: &str = "/oauth/revoke";
/// Token introspection (RFC 7662).
pub const INTROSPECT: &str = "/oauth/introspect";
/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
pub const END_SESSION: &str = "/logout";
/// The revocation feed for resource servers: entries after a cursor.
pub const REVOCATION_FEED: &str = "/revocations";
/// The revocation feed as Server-Sent Events.
pub const REVOCATION_STREAM: &str = "/revocations/stream";
