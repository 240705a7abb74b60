//! Configuration: defaults → TOML file → `TESSERA_*` environment variables (`__` nests), then
//! command-line flags on top. Unknown keys are reported as warnings, not errors, so a typo is
//! visible without breaking a deployment that sets unrelated `TESSERA_` variables.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use tessera_jose::Algorithm;
use url::{Host, Url};

/// Everything `tessera` reads from its configuration sources.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The issuer URL (`iss`). Derived from the listen address when unset.
    pub issuer: Option<String>,
    /// Directory for the SQLite database and the key-encryption key file.
    pub data_dir: PathBuf,
    /// Store URL; defaults to `sqlite://<data_dir>/tessera.db`.
    pub database_url: Option<String>,
    /// The key-encryption key itself (base64 of 32 bytes). Prefer the file or the environment.
    pub key_encryption_key: Option<String>,
    /// File holding the key-encryption key; defaults to `<data_dir>/key-encryption-key`.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Log output: `text` or `json`.
    pub log_format: LogFormat,
    /// Token lifetimes, algorithms, audience.
    pub tokens: TokenConfig,
    /// Signing-key housekeeping.
    pub keys: KeysConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Password hashing.
    pub passwords: PasswordConfig,
    /// Browser sessions.
    pub sessions: SessionConfig,
    /// Brute-force limits on password sign-in.
    pub login_throttle: LoginThrottleConfig,
    /// Refresh tokens.
    pub refresh_tokens: RefreshTokenConfig,
    /// Custom claims.
    pub claims: ClaimsConfig,
    /// The revocation feed.
    pub feed: FeedConfig,
    /// Second factors.
    pub mfa: MfaConfig,
    /// Outgoing mail (codes, notifications).
    pub email: EmailConfig,
    /// Outgoing SMS (codes), through the operator's provider webhook.
    pub sms: SmsConfig,
    /// Self-service sign-up.
    pub signup: SignUpConfig,
    /// Passkeys (WebAuthn).
    pub passkeys: PasskeyConfig,
    /// Allows an `http://` issuer on a non-loopback host. Tokens and sign-ins would then cross the
    /// network in clear text: only for a TLS-terminating proxy you fully control.
    pub insecure_allow_http_issuer: bool,
}

/// Token settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenConfig {
    /// Access token lifetime in seconds (default 900).
    pub access_token_lifetime_seconds: u32,
    /// ID token lifetime in seconds (default 900).
    pub id_token_lifetime_seconds: u32,
    /// Algorithm for access tokens.
    pub access_token_alg: Algorithm,
    /// Algorithm for ID tokens.
    pub id_token_alg: Algorithm,
    /// `aud` of access tokens; defaults to the issuer.
    pub access_token_audience: Option<String>,
    /// The APIs a token request may name with `resource` (RFC 8707): absolute URIs without a
    /// fragment. An access token requested for one carries it as its only `aud`. Empty by
    /// default: `resource` is then always refused with `invalid_target`.
    pub resources: Vec<String>,
}

/// Signing-key settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// How often a running server re-reads the key set from the store, so that `tessera keys
    /// rotate` run elsewhere takes effect (seconds).
    pub refresh_interval_seconds: u64,
    /// Extra time a rotated-out key stays published beyond the longest token lifetime, to cover
    /// clock skew between Tessera and resource servers (seconds).
    pub retirement_grace_seconds: u32,
}

/// The revocation feed (`docs/revocation-feed.md`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedConfig {
    /// Most `GET /revocations/stream` streams one client may hold open on this server
    /// (default 16); more are refused with `429`.
    pub max_streams_per_client: usize,
    /// Most streams open on this server, all clients together (default 1000); more are refused
    /// with `503`. Each holds a connection, so keep it below `http.max_connections`.
    pub max_streams: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            max_streams_per_client: 16,
            max_streams: 1000,
        }
    }
}

/// HTTP limits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Time limit for one request in seconds.
    pub request_timeout_seconds: u64,
    /// Time allowed for a request's line and headers, counted from when the connection is ready
    /// for a request: when it opens, or (HTTP/1.1 keep-alive) when the previous answer has been
    /// sent. So it is also how long an idle HTTP/1.1 connection is kept (seconds).
    pub header_read_timeout_seconds: u64,
    /// A connection with no request in progress for this long is closed, whatever its protocol
    /// (it is what closes idle HTTP/2 connections; seconds).
    pub idle_timeout_seconds: u64,
    /// Most connections open at once. At the cap the server stops accepting, and new
    /// connections wait in the kernel's queue until one closes (back-pressure, not refusal).
    /// Lowered at start-up to fit the process's open-file limit, with a warning.
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes; a larger one gets `431`.
    /// Also the HTTP/2 header-list limit. At least 8192.
    pub max_header_bytes: usize,
    /// Reverse proxies (addresses or CIDR blocks) whose `client_ip_header` says who the client
    /// is, for per-source limits. Empty (the default): the TCP peer is the client and the
    /// header is ignored. See `crate::client_ip`.
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies put the client's address in: a comma-separated list, read
    /// from the right (`X-Forwarded-For`, the default, or e.g. `X-Real-IP`).
    pub client_ip_header: String,
}

/// Password hashing settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordConfig {
    /// How many argon2 computations may run at once (each takes 19 MiB and a core for tens of
    /// milliseconds). Defaults to the number of cores.
    pub max_concurrent_hashes: Option<usize>,
}

/// Browser-session settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// How long a sign-in at Tessera lasts before the user must log in again (default 14 days).
    pub lifetime_seconds: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            lifetime_seconds: 14 * 86_400,
        }
    }
}

/// Brute-force limits on password sign-in, per account and shared by every node on the store
/// (see `tessera_core::login_throttle`). The defaults admit 5 attempts, then lock the account's
/// sign-in for 1 minute, doubling per further attempt up to 15 minutes, and forget the count
/// after an hour without attempts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginThrottleConfig {
    /// Attempts admitted before the first lock (1 to 100).
    pub free_attempts: u32,
    /// The first lock (at least 1 second).
    pub base_lockout_seconds: u32,
    /// The longest lock (at least `base_lockout_seconds`, at most a day).
    pub max_lockout_seconds: u32,
    /// How long a count is kept after the last attempt or the end of the lock (at least 60).
    pub forget_after_seconds: u32,
    /// Failed attempts one network source (an IPv4 address or IPv6 /64) may have outstanding
    /// before its attempts are refused (1 to 10000); see `tessera_core::source_throttle`.
    pub source_burst: u32,
    /// How often one of a source's outstanding failed attempts drains away (1 to 3600 seconds).
    pub source_refill_seconds: u32,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        let policy = tessera_core::LoginThrottlePolicy::default();
        let source = tessera_core::SourceThrottlePolicy::default();
        let secs = |d: time::Duration| u32::try_from(d.whole_seconds()).unwrap_or(u32::MAX);
        Self {
            free_attempts: policy.free_attempts,
            base_lockout_seconds: secs(policy.base_lockout),
            max_lockout_seconds: secs(policy.max_lockout),
            forget_after_seconds: secs(policy.forget_after),
            source_burst: source.burst,
            source_refill_seconds: secs(source.refill_every),
        }
    }
}

impl LoginThrottleConfig {
    /// The policy these settings describe.
    pub fn policy(&self) -> tessera_core::LoginThrottlePolicy {
        let secs = |s: u32| time::Duration::seconds(s.into());
        tessera_core::LoginThrottlePolicy {
            free_attempts: self.free_attempts,
            base_lockout: secs(self.base_lockout_seconds),
            max_lockout: secs(self.max_lockout_seconds),
            forget_after: secs(self.forget_after_seconds),
        }
    }

    /// The per-source rule these settings describe.
    pub fn source_policy(&self) -> tessera_core::SourceThrottlePolicy {
        tessera_core::SourceThrottlePolicy {
            burst: self.source_burst,
            refill_every: time::Duration::seconds(self.source_refill_seconds.into()),
        }
    }
}

/// Refresh-token settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshTokenConfig {
    /// A refresh token unused this long expires (default 14 days).
    pub idle_lifetime_seconds: u32,
    /// No refresh token outlives its sign-in by more than this (default 30 days); rotation never
    /// extends it.
    pub absolute_lifetime_seconds: u32,
    /// For this many seconds after a refresh token is replaced, presenting it again gets
    /// another set of tokens instead of revoking the grant (two tabs refreshing at once, a
    /// retry after a lost answer). 0, the default, disables it; at most 60. Weakens reuse
    /// detection: a thief replaying a stolen token within the grace gets tokens undetected.
    /// See docs/sign-in.md.
    pub insecure_reuse_grace_seconds: u32,
}

impl Default for RefreshTokenConfig {
    fn default() -> Self {
        Self {
            idle_lifetime_seconds: 14 * 86_400,
            absolute_lifetime_seconds: 30 * 86_400,
            insecure_reuse_grace_seconds: 0,
        }
    }
}

/// Second-factor policy. A client can also require one (`tessera client add|update
/// --require-mfa`); a request asks for one with `acr_values=urn:tessera:acr:mfa`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MfaConfig {
    /// Every sign-in needs a second factor (default false).
    pub required: bool,
    /// Sign-ins of users with any of these roles need a second factor (default none).
    pub required_roles: Vec<String>,
}

/// Passkeys (WebAuthn). On by default whenever the issuer's host is a domain name (`localhost`
/// included): browsers refuse WebAuthn for an IP address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct PasskeyConfig {
    /// Whether passkeys are offered (default true).
    pub enabled: bool,
    /// The relying-party ID passkeys are bound to: the issuer's host (the default) or a domain
    /// it belongs to (`example.com` for `https://id.example.com`), so that passkeys keep working
    /// if the issuer moves within that domain. Passkeys cannot move to another RP ID.
    pub rp_id: Option<String>,
    /// The name browsers show when a passkey is created (default: the RP ID).
    pub rp_name: Option<String>,
    /// Origins besides the issuer's that may use the passkeys: native apps
    /// (`android:apk-key-hash:…`) or sites under the RP ID. Exact strings.
    pub extra_origins: Vec<String>,
}

impl Default for PasskeyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rp_id: None,
            rp_name: None,
            extra_origins: Vec::new(),
        }
    }
}

/// Self-service sign-up at `/signup`. Off by default: most deployments create accounts
/// themselves (`tessera user add`, an import) or let anyone in only deliberately.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignUpConfig {
    /// Whether anyone may create an account with an address they receive mail at (default
    /// false). Needs `email.smtp_url`: the account is created only from a mailed link.
    pub enabled: bool,
}

/// Outgoing mail. Without `smtp_url` Tessera sends no mail, and nothing that needs it (codes by
/// email) is offered.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// The SMTP server: `smtp://host:port` (STARTTLS required, except on a loopback host) or
    /// `smtps://host:port` (TLS from the first byte); credentials as `smtp://user:password@…`.
    pub smtp_url: Option<String>,
    /// The sender address (`From`), e.g. `Tessera <no-reply@example.com>`.
    pub from: Option<String>,
    /// Allows `smtp://` without STARTTLS to a host that is not loopback: codes and addresses
    /// then cross the network in clear text. Only for a relay on a network you fully control.
    pub insecure_smtp_plaintext: bool,
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry the SMTP password.
        f.debug_struct("EmailConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("from", &self.from)
            .field("insecure_smtp_plaintext", &self.insecure_smtp_plaintext)
            .finish()
    }
}

/// Outgoing SMS: Tessera posts `{"to": "+E164", "body": "…"}` as JSON to the provider's webhook,
/// signed with `webhook_secret` (see `tessera_core::webhook`). Without `webhook_url` no SMS is
/// sent, and codes by SMS are not offered.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    /// The webhook: `https://…`, or `http://` on a loopback host.
    pub webhook_url: Option<String>,
    /// The shared secret the requests are signed with (at least 32 characters).
    pub webhook_secret: Option<String>,
}

impl fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsConfig")
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Custom-claim settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimsConfig {
    /// Prefix of Tessera's own claims, e.g. `<namespace>can_reauthenticate`.
    pub namespace: String,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        Self {
            namespace: "https://tessera.dev/claims/".into(),
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: None,
            data_dir: PathBuf::from("./tessera-data"),
            database_url: None,
            key_encryption_key: None,
            key_encryption_key_file: None,
            log_format: LogFormat::Text,
            tokens: TokenConfig::default(),
            keys: KeysConfig::default(),
            http: HttpConfig::default(),
            passwords: PasswordConfig::default(),
            sessions: SessionConfig::default(),
            login_throttle: LoginThrottleConfig::default(),
            refresh_tokens: RefreshTokenConfig::default(),
            claims: ClaimsConfig::default(),
            feed: FeedConfig::default(),
            mfa: MfaConfig::default(),
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            signup: SignUpConfig::default(),
            passkeys: PasskeyConfig::default(),
            insecure_allow_http_issuer: false,
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            access_token_lifetime_seconds: 900,
            id_token_lifetime_seconds: 900,
            access_token_alg: Algorithm::RS256,
            id_token_alg: Algorithm::RS256,
            access_token_audience: None,
            resources: Vec::new(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            refresh_interval_seconds: 10,
            retirement_grace_seconds: 60,
        }
    }
}

impl HttpConfig {
    /// Where clients' addresses are read from, as configured.
    pub fn client_ip_source(&self) -> Result<crate::client_ip::ClientIpSource, String> {
        crate::client_ip::ClientIpSource::new(&self.trusted_proxies, &self.client_ip_header)
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            max_connections: 1024,
            max_header_bytes: 32 * 1024,
            trusted_proxies: Vec::new(),
            client_ip_header: crate::client_ip::DEFAULT_HEADER.to_owned(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("issuer", &self.issuer)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field(
                "key_encryption_key",
                &self.key_encryption_key.as_ref().map(|_| "<redacted>"),
            )
            .field("key_encryption_key_file", &self.key_encryption_key_file)
            .field("log_format", &self.log_format)
            .field("tokens", &self.tokens)
            .field("keys", &self.keys)
            .field("http", &self.http)
            .field("passwords", &self.passwords)
            .field("sessions", &self.sessions)
            .field("login_throttle", &self.login_throttle)
            .field("refresh_tokens", &self.refresh_tokens)
            .field("claims", &self.claims)
            .field("feed", &self.feed)
            .field("mfa", &self.mfa)
            .field("email", &self.email)
            .field("sms", &self.sms)
            .field("signup", &self.signup)
            .field("passkeys", &self.passkeys)
            .field(
                "insecure_allow_http_issuer",
                &self.insecure_allow_http_issuer,
            )
            .finish()
    }
}

/// A configuration that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A source could not be read or a value has the wrong type.
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The layered sources, before command-line flags.
pub fn figment(config_file: Option<&Path>) -> Figment {
    defaults_and_file(config_file).merge(Env::prefixed("TESSERA_").split("__"))
}

/// Defaults and the TOML file, without the environment (whose contents vary by machine).
fn defaults_and_file(config_file: Option<&Path>) -> Figment {
    let figment = Figment::from(Serialized::defaults(Config::default()));
    match config_file {
        Some(path) => figment.merge(Toml::file_exact(path)),
        None => figment,
    }
}

/// Extracts the configuration, returning it with the dotted names of keys it does not know.
pub fn load(figment: &Figment) -> Result<(Config, Vec<String>), ConfigError> {
    let dict: Dict = figment.extract().map_err(Box::new)?;
    let mut unknown = Vec::new();
    let value = Value::from(dict);
    let _: Result<Config, _> = serde_ignored::deserialize(&value, |path| {
        unknown.push(path.to_string());
    });
    let config: Config = figment.extract().map_err(Box::new)?;
    config.validate()?;
    Ok((config, unknown))
}

impl Config {
    /// Checks ranges and consistency that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let t = &self.tokens;
        if !(60..=86_400).contains(&t.access_token_lifetime_seconds) {
            return invalid(
                "tokens.access_token_lifetime_seconds must be between 60 and 86400".into(),
            );
        }
        if !(60..=86_400).contains(&t.id_token_lifetime_seconds) {
            return invalid("tokens.id_token_lifetime_seconds must be between 60 and 86400".into());
        }
        if self.keys.refresh_interval_seconds == 0 {
            return invalid("keys.refresh_interval_seconds must be at least 1".into());
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.http.max_body_bytes) {
            return invalid("http.max_body_bytes must be between 1024 and 16777216".into());
        }
        if !(1..=3600).contains(&self.http.header_read_timeout_seconds) {
            return invalid("http.header_read_timeout_seconds must be between 1 and 3600".into());
        }
        if !(1..=86_400).contains(&self.http.idle_timeout_seconds) {
            return invalid("http.idle_timeout_seconds must be between 1 and 86400".into());
        }
        if !(1..=1_000_000).contains(&self.http.max_connections) {
            return invalid("http.max_connections must be between 1 and 1000000".into());
        }
        if !(8192..=1024 * 1024).contains(&self.http.max_header_bytes) {
            return invalid("http.max_header_bytes must be between 8192 and 1048576".into());
        }
        if let Some(url) = &self.email.smtp_url {
            if let Err(message) = crate::mailer::SmtpTarget::parse(url, &self.email) {
                return invalid(format!("email.smtp_url: {message}"));
            }
            if self.email.from.is_none() {
                return invalid("email.from is required when email.smtp_url is set".into());
            }
        }
        if self.signup.enabled && self.email.smtp_url.is_none() {
            return invalid(
                "signup.enabled needs email.smtp_url: accounts are created from a mailed link"
                    .into(),
            );
        }
        if let Some(url) = &self.sms.webhook_url {
            let usable = url::Url::parse(url).is_ok_and(|u| {
                u.scheme() == "https"
                    || (u.scheme() == "http"
                        && match u.host() {
                            Some(Host::Domain(d)) => d == "localhost",
                            Some(Host::Ipv4(ip)) => ip.is_loopback(),
                            Some(Host::Ipv6(ip)) => ip.is_loopback(),
                            None => false,
                        })
            });
            if !usable {
                return invalid(
                    "sms.webhook_url must be https:// (or http:// on a loopback host)".into(),
                );
            }
            if self
                .sms
                .webhook_secret
                .as_ref()
                .is_none_or(|s| s.len() < 32)
            {
                return invalid(
                    "sms.webhook_secret of at least 32 characters is required with sms.webhook_url"
                        .into(),
                );
            }
        }
        for resource in &self.tokens.resources {
            let usable = url::Url::parse(resource)
                .map(|url| !url.cannot_be_a_base() && url.fragment().is_none())
                .unwrap_or(false);
            if !usable {
                return invalid(format!(
                    "tokens.resources: {resource:?} is not an absolute URI without a fragment"
                ));
            }
        }
        if self.refresh_tokens.insecure_reuse_grace_seconds > 60 {
            return invalid(
                "refresh_tokens.insecure_reuse_grace_seconds must be between 0 and 60".into(),
            );
        }
        if let Err(message) = self.http.client_ip_source() {
            return invalid(message);
        }
        if !(1..=10_000).contains(&self.login_throttle.source_burst)
            || !(1..=3600).contains(&self.login_throttle.source_refill_seconds)
        {
            return invalid(
                "login_throttle: source_burst must be between 1 and 10000, source_refill_seconds between 1 and 3600".into(),
            );
        }
        if self.passwords.max_concurrent_hashes == Some(0) {
            return invalid("passwords.max_concurrent_hashes must be at least 1".into());
        }
        let r = &self.refresh_tokens;
        if r.idle_lifetime_seconds < 60 || r.absolute_lifetime_seconds < r.idle_lifetime_seconds {
            return invalid(
                "refresh_tokens: idle_lifetime_seconds must be at least 60 and at most absolute_lifetime_seconds".into(),
            );
        }
        if self.sessions.lifetime_seconds < 60 {
            return invalid("sessions.lifetime_seconds must be at least 60".into());
        }
        let l = &self.login_throttle;
        if !(1..=100).contains(&l.free_attempts)
            || l.base_lockout_seconds == 0
            || !(l.base_lockout_seconds..=86_400).contains(&l.max_lockout_seconds)
            || l.forget_after_seconds < 60
        {
            return invalid(
                "login_throttle: free_attempts must be between 1 and 100, base_lockout_seconds at least 1, max_lockout_seconds between base_lockout_seconds and 86400, forget_after_seconds at least 60".into(),
            );
        }
        let f = &self.feed;
        if !(1..=1_000_000).contains(&f.max_streams)
            || !(1..=f.max_streams).contains(&f.max_streams_per_client)
        {
            return invalid(
                "feed: max_streams must be between 1 and 1000000, max_streams_per_client between 1 and max_streams".into(),
            );
        }
        if self.claims.namespace.is_empty() {
            return invalid("claims.namespace must not be empty".into());
        }
        if let Some(issuer) = &self.issuer {
            check_issuer(issuer, self.insecure_allow_http_issuer).map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }

    /// The store URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tessera.db").display()))
    }

    /// The key-encryption key file in effect.
    pub fn key_encryption_key_file(&self) -> PathBuf {
        self.key_encryption_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("key-encryption-key"))
    }

    /// The issuer in effect once the listener is bound: the configured one, or
    /// `http://<bound address>` (an unspecified bind address such as 0.0.0.0 becomes 127.0.0.1).
    pub fn resolve_issuer(&self, bound: SocketAddr) -> Result<String, ConfigError> {
        if let Some(issuer) = &self.issuer {
            return Ok(issuer.trim_end_matches('/').to_owned());
        }
        let ip = match bound.ip() {
            ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            ip => ip,
        };
        let issuer = format!("http://{}", SocketAddr::new(ip, bound.port()));
        check_issuer(&issuer, self.insecure_allow_http_issuer).map_err(|e| {
            ConfigError::Invalid(format!(
                "{e}; listening on {bound}, so set `issuer` to the public https URL"
            ))
        })?;
        Ok(issuer)
    }
}

/// OpenID Connect Discovery §3: the issuer is an https URL with no query or fragment. Plain http is
/// accepted for loopback hosts (a laptop) and otherwise only with `insecure_allow_http_issuer`.
fn check_issuer(issuer: &str, allow_http: bool) -> Result<(), String> {
    let url =
        Url::parse(issuer).map_err(|_| format!("issuer {issuer:?} is not an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "issuer {issuer:?} must not have a query or fragment"
        ));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(Host::Ipv4(ip)) => ip.is_loopback(),
                Some(Host::Ipv6(ip)) => ip.is_loopback(),
                Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if loopback || allow_http {
                Ok(())
            } else {
                Err(format!(
                    "issuer {issuer:?} uses http on a non-loopback host; use https (or set insecure_allow_http_issuer)"
                ))
            }
        }
        _ => Err(format!("issuer {issuer:?} must be an https URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_just_work() {
        let (config, unknown) =
            load(&Figment::from(Serialized::defaults(Config::default()))).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(
            config.resolve_issuer(config.listen).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(config.database_url(), "sqlite://./tessera-data/tessera.db");
        assert_eq!(config.tokens.access_token_alg, Algorithm::RS256);
    }

    #[test]
    fn toml_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:0\"\nissuer = \"https://id.example.com\"\nlistne = 1\n\
             [tokens]\naccess_token_alg = \"ES256\"\nid_token_alg = \"EdDSA\"\naccess_token_lifetim = 5\n",
        )
        .unwrap();
        // Without the environment: CI sets unrelated TESSERA_* variables (TESSERA_SLOW_TESTS).
        let (config, mut unknown) = load(&defaults_and_file(Some(&path))).unwrap();
        unknown.sort();
        assert_eq!(unknown, ["listne", "tokens.access_token_lifetim"]);
        assert_eq!(config.tokens.access_token_alg, Algorithm::ES256);
        assert_eq!(config.tokens.id_token_alg, Algorithm::EdDSA);
        assert_eq!(
            config
                .resolve_issuer("127.0.0.1:9999".parse().unwrap())
                .unwrap(),
            "https://id.example.com"
        );
    }

    #[test]
    fn issuer_rules() {
        assert!(check_issuer("https://id.example.com", false).is_ok());
        assert!(check_issuer("http://localhost:8080", false).is_ok());
        assert!(check_issuer("http://[::1]:8080", false).is_ok());
        assert!(check_issuer("http://id.example.com", false).is_err());
        assert!(check_issuer("http://id.example.com", true).is_ok());
        assert!(check_issuer("https://id.example.com?x=1", false).is_err());
        assert!(check_issuer("https://id.example.com#f", false).is_err());
        assert!(check_issuer("ftp://id.example.com", false).is_err());
        assert!(check_issuer("id.example.com", false).is_err());
        // A public bind address derives a non-loopback http issuer, which is refused.
        let config = Config::default();
        assert!(config
            .resolve_issuer("10.1.2.3:80".parse().unwrap())
            .is_err());
        assert_eq!(
            config
                .resolve_issuer("0.0.0.0:8080".parse().unwrap())
                .unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let mut config = Config::default();
        config.tokens.access_token_lifetime_seconds = 5;
        assert!(config.validate().is_err());
        let mut config = Config::default();
        config.passwords.max_concurrent_hashes = Some(0);
        assert!(config.validate().is_err());
    }

    #[test]
    fn feed_stream_caps_are_checked() {
        let with = |per_client, total| {
            let mut config = Config::default();
            config.feed.max_streams_per_client = per_client;
            config.feed.max_streams = total;
            config.validate()
        };
        assert!(with(16, 1000).is_ok());
        assert!(with(1, 1).is_ok());
        for (per_client, total) in [(0, 10), (11, 10), (1, 0), (1, 1_000_001)] {
            assert!(with(per_client, total).is_err(), "{per_client} {total}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "[feed]\nmax_streams_per_client = 2\nmax_streams = 5\n",
        )
        .unwrap();
        let (config, unknown) = load(&defaults_and_file(Some(&path))).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            (config.feed.max_streams_per_client, config.feed.max_streams),
            (2, 5)
        );
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    fn valid(change: impl FnOnce(&mut Config)) -> bool {
        let mut config = Config::default();
        change(&mut config);
        config.validate().is_ok()
    }

    #[test]
    fn the_sms_webhook_must_be_https_or_loopback_and_signed_with_a_long_secret() {
        let secret = Some("x".repeat(32));
        for (url, ok) in [
            ("https://sms.example.com/hook", true),
            ("http://127.0.0.1:9000/hook", true),
            ("http://localhost:9000/hook", true),
            ("http://sms.example.com/hook", false),
            ("ftp://sms.example.com/hook", false),
        ] {
            let secret = secret.clone();
            assert_eq!(
                valid(|c| {
                    c.sms.webhook_url = Some(url.into());
                    c.sms.webhook_secret = secret;
                }),
                ok,
                "{url}"
            );
        }
        assert!(!valid(|c| {
            c.sms.webhook_url = Some("https://sms.example.com/hook".into());
            c.sms.webhook_secret = Some("too short".into());
        }));
        assert!(!valid(
            |c| c.sms.webhook_url = Some("https://sms.example.com/hook".into())
        ));
    }

    #[test]
    fn sign_up_needs_mail() {
        assert!(!valid(|c| c.signup.enabled = true));
        assert!(valid(|c| {
            c.signup.enabled = true;
            c.email.smtp_url = Some("smtps://mail.example.com".into());
            c.email.from = Some("no-reply@example.com".into());
        }));
    }

    #[test]
    fn mail_needs_a_sender_and_a_usable_smtp_url() {
        assert!(valid(|c| {
            c.email.smtp_url = Some("smtps://mail.example.com".into());
            c.email.from = Some("no-reply@example.com".into());
        }));
        assert!(!valid(
            |c| c.email.smtp_url = Some("smtps://mail.example.com".into())
        ));
        assert!(!valid(|c| {
            c.email.smtp_url = Some("http://mail.example.com".into());
            c.email.from = Some("no-reply@example.com".into());
        }));
    }
}
