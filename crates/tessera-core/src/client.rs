//! OAuth clients: their registration data, redirect URI rules and secrets.

use crate::ids::ClientId;
use crate::scope::ScopeSet;
use aws_lc_rs::{constant_time, digest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;
use std::net::IpAddr;
use time::OffsetDateTime;
use url::{Host, Url};
use zeroize::Zeroizing;

/// The grants a client may use at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
}

impl GrantType {
    /// Every grant type Tessera knows.
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated redirect URI (or post-logout redirect URI).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates a redirect URI: absolute, no fragment (RFC 6749 §3.1.2), no user info; `https`,
    /// or `http` only for a loopback host (RFC 8252 §7.3), or a private-use scheme in
    /// reverse-domain form such as `com.example.app:/cb` for native apps (RFC 8252 §7.1).
    /// The exact string is kept, because redirect URIs are compared by exact string match.
    pub fn parse(uri: &str) -> Result<Self, ClientValidationError> {
        let bad = |why: &'static str| ClientValidationError::RedirectUri {
            uri: uri.to_owned(),
            why,
        };
        if uri.len() > 2000 {
            return Err(bad("longer than 2000 characters"));
        }
        if uri.contains('#') {
            return Err(bad("a redirect URI must not contain a fragment"));
        }
        let url = Url::parse(uri).map_err(|_| bad("not an absolute URI"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("a redirect URI must not carry user information"));
        }
        match url.scheme() {
            "https" => Ok(Self(uri.to_owned())),
            "http" => {
                if is_loopback(&url) {
                    Ok(Self(uri.to_owned()))
                } else {
                    Err(bad("http is allowed only for loopback hosts; use https"))
                }
            }
            scheme if scheme.contains('.') => Ok(Self(uri.to_owned())),
            _ => Err(bad(
                "the scheme must be https, http on loopback, or a reverse-domain private-use scheme",
            )),
        }
    }

    /// Wraps a URI read back from the store (validated when it was stored).
    pub fn from_stored(uri: String) -> Self {
        Self(uri)
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a client registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientValidationError {
    /// The client id has characters or a length Tessera does not accept.
    #[error(transparent)]
    ClientId(#[from] crate::ids::InvalidClientId),
    /// A redirect URI breaks a rule.
    #[error("redirect URI {uri:?} is invalid: {why}")]
    RedirectUri {
        /// The URI as given.
        uri: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// A grant type name is unknown.
    #[error(
        "unknown grant type {0:?} (known: authorization_code, refresh_token, client_credentials)"
    )]
    GrantType(String),
    /// A scope is malformed.
    #[error(transparent)]
    Scope(#[from] crate::scope::ScopeError),
    /// A public client cannot use a grant that needs client authentication.
    #[error("a public client cannot use the client_credentials grant")]
    PublicClientCredentials,
    /// The authorization code grant needs somewhere to send the code.
    #[error("the authorization_code grant needs at least one --redirect-uri")]
    MissingRedirectUri,
    /// The display name is too long.
    #[error("the client name is longer than 200 characters")]
    NameTooLong,
    /// A browser origin is malformed.
    #[error("origin {origin:?} is invalid: {why}")]
    Origin {
        /// The origin as given.
        origin: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// Only public clients run in a browser on another origin: a confidential client's secret
    /// must not be there.
    #[error("only a public client may register browser origins (--origin)")]
    OriginsForConfidentialClient,
    /// A resource server authenticates to read the revocation feed and introspect tokens.
    #[error("a resource server must be a confidential client (it authenticates with a secret)")]
    PublicResourceServer,
}

/// A browser origin (`scheme://host[:port]`, RFC 6454) allowed to call Tessera's endpoints from
/// scripts (CORS), registered per public client. Kept in its serialised form, compared exactly
/// with a request's `Origin` header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Validates an origin: `https://host[:port]`, or `http` for a loopback host, with no path,
    /// query, fragment or user information; stored as the browser sends it (lower-case host,
    /// no default port).
    pub fn parse(origin: &str) -> Result<Self, ClientValidationError> {
        let bad = |why: &'static str| ClientValidationError::Origin {
            origin: origin.to_owned(),
            why,
        };
        let url = Url::parse(origin).map_err(|_| bad("not an absolute origin"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("an origin has no user information"));
        }
        let bare = origin.trim_end_matches('/');
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("an origin is scheme://host[:port], with no path"));
        }
        let serialised = url.origin().ascii_serialization();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(bad("http is allowed only for loopback hosts; use https")),
            _ => return Err(bad("the scheme must be https (or http on loopback)")),
        }
        if serialised != bare {
            return Err(bad(
                "write it as the browser sends it: lower-case host, no default port",
            ));
        }
        Ok(Self(serialised))
    }

    /// Wraps an origin read back from the store (validated when it was stored).
    pub fn from_stored(origin: String) -> Self {
        Self(origin)
    }

    /// The origin as a browser sends it in `Origin`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What an operator supplies to register a client.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    /// The client id.
    pub id: String,
    /// A display name; defaults to the id.
    pub name: Option<String>,
    /// Redirect URIs for the authorization code flow.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Public clients (SPAs, native apps) have no secret.
    pub is_public: bool,
    /// Grant types; empty means a sensible default (see [`Client::register`]).
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// First-party clients skip the consent page.
    pub is_first_party: bool,
    /// Where OpenID Connect Back-Channel Logout sends logout tokens, if anywhere.
    pub backchannel_logout_uri: Option<String>,
    /// A resource server: may read the revocation feed and introspect tokens.
    pub is_resource_server: bool,
    /// Browser origins whose scripts may call the token, UserInfo, revocation and discovery
    /// endpoints (public clients only).
    pub allowed_origins: Vec<String>,
    /// Refuse authorization requests without PKCE (always so for public clients).
    pub require_pkce: bool,
    /// Every sign-in to this client needs a second factor.
    pub require_mfa: bool,
}

/// A registered OAuth client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client id.
    pub id: ClientId,
    /// Display name.
    pub name: String,
    /// The SHA-256 of the client secret; `None` for public clients.
    pub secret_hash: Option<SecretHash>,
    /// Registered redirect URIs, compared by exact string match.
    pub redirect_uris: Vec<RedirectUri>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request.
    pub scopes: ScopeSet,
    /// Whether consent is skipped for this client.
    pub is_first_party: bool,
    /// Where logout tokens are posted when a session the client took part in ends
    /// (OpenID Connect Back-Channel Logout 1.0); `https`, or `http` on a loopback host.
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// Whether the client is a resource server, allowed to read the revocation feed (every
    /// user's sessions and revocation reasons) and to introspect any client's tokens. Other
    /// clients get `invalid_client` from the feed and `active: false` from introspection
    /// (RFC 7662 §2.2 lets a server limit who introspects).
    pub is_resource_server: bool,
    /// Browser origins allowed to call Tessera's endpoints from scripts (CORS); public
    /// clients only, empty for the rest.
    pub allowed_origins: Vec<Origin>,
    /// Whether authorization requests of this client must carry PKCE. Public clients always
    /// must (S256), whatever this says; a confidential client opts in (RFC 9700 §2.1.1
    /// recommends PKCE for every client).
    pub require_pkce: bool,
    /// Whether every sign-in to this client needs a second factor (a user without one enrols
    /// one right after the password), whatever the request's `acr_values` say.
    pub require_mfa: bool,
    /// When the client was registered.
    pub created_at: OffsetDateTime,
}

impl Client {
    /// Validates a registration. For a confidential client it also generates the secret, which
    /// is returned once and kept only as a hash. Without explicit grant types, a client with
    /// redirect URIs gets `authorization_code` + `refresh_token`, and a confidential client
    /// without any gets `client_credentials`.
    pub fn register(
        new: NewClient,
        now: OffsetDateTime,
    ) -> Result<(Client, Option<ClientSecret>), ClientValidationError> {
        let id = ClientId::parse(&new.id)?;
        let name = new.name.unwrap_or_else(|| new.id.clone());
        if name.chars().count() > 200 {
            return Err(ClientValidationError::NameTooLong);
        }
        let redirect_uris = parse_uris(&new.redirect_uris)?;
        let post_logout_redirect_uris = parse_uris(&new.post_logout_redirect_uris)?;
        let backchannel_logout_uri = new
            .backchannel_logout_uri
            .as_deref()
            .map(parse_backchannel_logout_uri)
            .transpose()?;
        let mut grant_types = new
            .grant_types
            .iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| ClientValidationError::GrantType(g.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        if grant_types.is_empty() {
            if !redirect_uris.is_empty() {
                grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            } else if !new.is_public {
                grant_types = vec![GrantType::ClientCredentials];
            }
        }
        grant_types.sort();
        grant_types.dedup();
        if new.is_public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ClientValidationError::PublicClientCredentials);
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(ClientValidationError::MissingRedirectUri);
        }
        let scopes = ScopeSet::from_tokens(&new.scopes)?;
        let mut allowed_origins: Vec<Origin> = Vec::with_capacity(new.allowed_origins.len());
        for origin in &new.allowed_origins {
            let origin = Origin::parse(origin)?;
            if !allowed_origins.contains(&origin) {
                allowed_origins.push(origin);
            }
        }
        if !new.is_public && !allowed_origins.is_empty() {
            return Err(ClientValidationError::OriginsForConfidentialClient);
        }
        if new.is_public && new.is_resource_server {
            return Err(ClientValidationError::PublicResourceServer);
        }
        let secret = (!new.is_public).then(ClientSecret::generate);
        let client = Client {
            id,
            name,
            secret_hash: secret.as_ref().map(ClientSecret::hash),
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            is_first_party: new.is_first_party,
            backchannel_logout_uri,
            is_resource_server: new.is_resource_server,
            allowed_origins,
            require_pkce: new.require_pkce || new.is_public,
            require_mfa: new.require_mfa,
            created_at: now,
        };
        Ok((client, secret))
    }

    /// Public clients have no secret and cannot authenticate.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether `origin` (a request's `Origin` header) is one of the client's browser origins.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.as_str() == origin)
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Checks a presented secret in constant time. Always false for public clients.
    pub fn verify_secret(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(hash) => hash.matches(presented),
            None => false,
        }
    }
}

/// A back-channel logout URI is called by the server, not a browser: it must be `https`, or
/// `http` on a loopback host; a private-use scheme means nothing to an HTTP client. It may carry
/// a query but no fragment (Back-Channel Logout 1.0 §2.2).
fn parse_backchannel_logout_uri(uri: &str) -> Result<RedirectUri, ClientValidationError> {
    let parsed = RedirectUri::parse(uri)?;
    if !(uri.starts_with("https:") || uri.starts_with("http:")) {
        return Err(ClientValidationError::RedirectUri {
            uri: uri.to_owned(),
            why: "a back-channel logout URI must use https (or http on a loopback host)",
        });
    }
    Ok(parsed)
}

fn parse_uris(uris: &[String]) -> Result<Vec<RedirectUri>, ClientValidationError> {
    let mut out: Vec<RedirectUri> = Vec::with_capacity(uris.len());
    for uri in uris {
        let uri = RedirectUri::parse(uri)?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// A freshly generated client secret (256 bits). Shown to the operator once, never stored.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        Self(Zeroizing::new(crate::random::token(32)))
    }

    /// The secret, to print once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash that is stored in its place.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// The stored form of a high-entropy secret: SHA-256, base64url.
///
/// A fast hash is right here, unlike for passwords: the secret has 256 bits of entropy, so there
/// is nothing to brute-force, and a slow hash would cap the `client_credentials` rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    /// Hashes `secret`.
    pub fn of(secret: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, secret.as_bytes())))
    }

    /// Wraps a hash read back from the store.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` hashes to this value; compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let presented = Self::of(presented);
        constant_time::verify_slices_are_equal(self.0.as_bytes(), presented.0.as_bytes()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_uri(uri: &str, ok: bool) {
        assert_eq!(RedirectUri::parse(uri).is_ok(), ok, "{uri}");
    }

    #[test]
    fn redirect_uri_rules() {
        check_uri("https://app.example.com/cb", true);
        check_uri("https://app.example.com/cb?x=1", true);
        check_uri("http://127.0.0.1:3000/cb", true);
        check_uri("http://127.5.0.1/cb", true);
        check_uri("http://[::1]:8080/cb", true);
        check_uri("http://localhost/cb", true);
        check_uri("com.example.app:/oauth2redirect", true);
        check_uri("http://app.example.com/cb", false);
        check_uri("https://app.example.com/cb#frag", false);
        check_uri("https://app.example.com/cb#", false);
        check_uri("/relative/cb", false);
        check_uri("javascript:alert(1)", false);
        check_uri("data:text/html,hi", false);
        check_uri("https://user:pw@app.example.com/cb", false);
    }

    #[test]
    fn backchannel_logout_uri_rules() {
        let ok = |uri: &str| parse_backchannel_logout_uri(uri).is_ok();
        assert!(ok("https://rp.example/logout?x=1"));
        assert!(ok("http://127.0.0.1:9000/logout"));
        assert!(!ok("http://rp.example/logout"), "plain http off loopback");
        assert!(!ok("com.example.app:/logout"), "private-use scheme");
        assert!(!ok("https://rp.example/logout#f"), "fragment");
    }

    #[test]
    fn origin_rules() {
        let ok = |o: &str| Origin::parse(o).map(|o| o.as_str().to_owned());
        assert_eq!(
            ok("https://app.example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            ok("https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            ok("https://app.example.com:8443").unwrap(),
            "https://app.example.com:8443"
        );
        assert_eq!(
            ok("http://127.0.0.1:5173").unwrap(),
            "http://127.0.0.1:5173"
        );
        assert_eq!(
            ok("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        for bad in [
            "http://app.example.com",      // plain http off loopback
            "https://app.example.com/spa", // a path
            "https://app.example.com?x=1", // a query
            "https://u:p@app.example.com", // user information
            "https://APP.example.com",     // not as a browser sends it
            "https://app.example.com:443", // default port spelled out
            "*",
            "null",
            "app.example.com",
            "com.example.app:/cb",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_only_for_public_clients_and_resource_servers_only_confidential() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut spa = new_client(true, &["https://app.example.com/cb"], &[]);
        spa.allowed_origins = vec![
            "https://app.example.com".into(),
            "https://app.example.com/".into(),
        ];
        let (spa, _) = Client::register(spa, now).unwrap();
        assert_eq!(spa.allowed_origins.len(), 1, "duplicates collapse");
        assert!(spa.allows_origin("https://app.example.com"));
        assert!(!spa.allows_origin("https://evil.example"));
        assert!(spa.require_pkce, "public clients always require PKCE");

        let mut web = new_client(false, &["https://app.example.com/cb"], &[]);
        web.allowed_origins = vec!["https://app.example.com".into()];
        assert_eq!(
            Client::register(web, now).unwrap_err(),
            ClientValidationError::OriginsForConfidentialClient
        );
        let mut api = new_client(true, &["https://app.example.com/cb"], &[]);
        api.is_resource_server = true;
        assert_eq!(
            Client::register(api, now).unwrap_err(),
            ClientValidationError::PublicResourceServer
        );
        let mut api = new_client(false, &[], &[]);
        api.is_resource_server = true;
        assert!(Client::register(api, now).unwrap().0.is_resource_server);
        let (web, _) =
            Client::register(new_client(false, &["https://a.example/cb"], &[]), now).unwrap();
        assert!(!web.require_pkce && !web.is_resource_server);
    }

    fn new_client(public: bool, redirects: &[&str], grants: &[&str]) -> NewClient {
        NewClient {
            id: "app".into(),
            is_public: public,
            redirect_uris: redirects.iter().map(|s| s.to_string()).collect(),
            grant_types: grants.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn registration_defaults_and_rules() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let (c, secret) = Client::register(new_client(false, &[], &[]), now).unwrap();
        assert_eq!(c.grant_types, [GrantType::ClientCredentials]);
        let secret = secret.expect("confidential clients get a secret");
        assert!(c.verify_secret(secret.expose()));
        assert!(!c.verify_secret("wrong"));
        assert_ne!(c.secret_hash.as_ref().unwrap().as_str(), secret.expose());

        let (c, secret) =
            Client::register(new_client(true, &["https://a.example/cb"], &[]), now).unwrap();
        assert!(secret.is_none() && c.is_public());
        assert!(!c.verify_secret(""));
        assert_eq!(
            c.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );

        assert_eq!(
            Client::register(new_client(true, &[], &["client_credentials"]), now).unwrap_err(),
            ClientValidationError::PublicClientCredentials
        );
        assert_eq!(
            Client::register(new_client(false, &[], &["authorization_code"]), now).unwrap_err(),
            ClientValidationError::MissingRedirectUri
        );
        assert!(matches!(
            Client::register(new_client(false, &[], &["password"]), now).unwrap_err(),
            ClientValidationError::GrantType(_)
        ));
    }
}
