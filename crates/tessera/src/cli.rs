//! The command-line interface (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Tessera: an OpenID Connect provider and token service.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes. Each can also come from the TOML file or a `TESSERA_*`
/// environment variable (`TESSERA_DATA_DIR`, `TESSERA_DATABASE_URL`, …); flags win.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE", env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, key-encryption key) [default: ./tessera-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store URL, e.g. sqlite:///var/lib/tessera/tessera.db.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Your name in the audit trail and in revocations, recorded as `cli:NAME` (letters, digits
    /// and . _ - @ +) [default: the OS user name].
    #[arg(long, global = true, value_name = "NAME", env = "TESSERA_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create the store, the key-encryption key and the signing keys, as the first `serve`
    /// would, without serving (to register clients and users before the first start). Other
    /// commands never create a store.
    Init,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect and end users' browser sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Read the audit trail (revocations, logouts, detected token reuse).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check or decode a token.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Copy a single-node SQLite database into PostgreSQL, then verify the copy table by table.
    /// Stop the node first; run again to resume an interrupted copy.
    Migrate(MigrateArgs),
    /// Fill the store with benchmark data: users, each with one browser session and one refresh
    /// token of a client. For benchmarks and load tests (bench/run), never for real users.
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many users to create (`bench-user-<n>@bench.example`, numbered from --first).
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Number of the first user, to add to an earlier seed.
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// The client the refresh tokens are issued to (registered, allowed the refresh_token grant).
    #[arg(long)]
    pub client: String,
    /// Where to write the refresh tokens, one per line (the file is created, mode 0600).
    #[arg(long = "refresh-tokens-out", value_name = "FILE")]
    pub refresh_tokens_out: std::path::PathBuf,
    /// Read one password for every seeded user from stdin; without it they have none.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Public issuer URL [default: http://<listen address>].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

#[derive(Args)]
pub struct MigrateArgs {
    /// The SQLite database to copy: sqlite://PATH. Opened read-only, never changed.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The PostgreSQL database to copy into: postgres://USER@HOST/DATABASE (its tables are
    /// created if missing). Also read from TESSERA_MIGRATE_TO, which keeps a password off the
    /// command line.
    #[arg(
        long,
        value_name = "URL",
        env = "TESSERA_MIGRATE_TO",
        hide_env_values = true
    )]
    pub to: String,
    /// Rows per batch; each batch is one PostgreSQL transaction.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
}

/// Never shows the target URL: it may carry a password.
impl std::fmt::Debug for MigrateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrateArgs")
            .field("from", &self.from)
            .field("to", &"<redacted>")
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Prints the secret of a confidential client once.
    Add(ClientAddArgs),
    /// List clients.
    List,
    /// Show one client.
    Show { client_id: String },
    /// Remove a client.
    Remove { client_id: String },
    /// Change a client's policy.
    Update {
        client_id: String,
        /// Every sign-in to this client needs a second factor.
        #[arg(long, conflicts_with = "no_require_mfa")]
        require_mfa: bool,
        /// A second factor is asked only when the request's `acr_values` ask for it.
        #[arg(long)]
        no_require_mfa: bool,
    },
}

#[derive(Debug, Args)]
pub struct ClientAddArgs {
    /// The client id (letters, digits, '-', '_', '.', '~', ':').
    pub client_id: String,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Redirect URI (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// A public client (SPA, native app): no secret.
    #[arg(long)]
    pub public: bool,
    /// Grant type (repeatable): authorization_code, refresh_token, client_credentials.
    #[arg(long = "grant-type", value_name = "T")]
    pub grant_types: Vec<String>,
    /// Scope the client may request (repeatable).
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,
    /// A first-party client: users are not asked for consent.
    #[arg(long)]
    pub first_party: bool,
    /// Post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where to post OpenID Connect back-channel logout tokens when a session the client took
    /// part in ends (https, or http on a loopback host).
    #[arg(long = "backchannel-logout-uri", value_name = "URI")]
    pub backchannel_logout_uri: Option<String>,
    /// A resource server (an API): may read the revocation feed and introspect any client's
    /// tokens. Confidential clients only.
    #[arg(long)]
    pub resource_server: bool,
    /// A browser origin (https://host[:port]) whose scripts may call the token, UserInfo and
    /// revocation endpoints (CORS; repeatable). Public clients only.
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Refuse this client's authorization requests without PKCE (public clients always need it).
    #[arg(long)]
    pub require_pkce: bool,
    /// Every sign-in to this client needs a second factor; users without one enrol one right
    /// after their password.
    #[arg(long)]
    pub require_mfa: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add(UserAddArgs),
    /// List users.
    List,
    /// Show one user.
    Show { email: String },
    /// Disable a user: no sign-in, and every token and session of the user is revoked.
    Disable { email: String },
    /// Enable a disabled user.
    Enable { email: String },
    /// Remove a user, revoking every token and session of the user first.
    Remove { email: String },
    /// Log the user out everywhere: revoke every token and end every session of the user.
    RevokeTokens { email: String },
    /// Replace a user's roles; their access tokens are revoked so refreshed ones carry the new
    /// roles (sessions and refresh tokens stay).
    SetRoles {
        email: String,
        /// Role (repeatable); none clears the roles.
        #[arg(long = "role", value_name = "R")]
        roles: Vec<String>,
    },
    /// Set a user's password (prompted, or read from standard input). Every token and session
    /// of the user is revoked.
    SetPassword {
        email: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// A user's second factors (authenticator apps).
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Lift the locks too many wrong passwords or codes put on a user's sign-in.
    Unlock { email: String },
    /// A user's passkeys.
    Passkeys {
        #[command(subcommand)]
        command: PasskeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PasskeyCommand {
    /// List a user's passkeys: id, name, kind, created, last used.
    List { email: String },
    /// Remove one passkey of a user (a lost or stolen device).
    Remove {
        email: String,
        /// The passkey's id, as `list` shows it.
        id: String,
        /// Also end every session and token of the user (the device may be signed in).
        #[arg(long)]
        end_sessions: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// List a user's second factors (kinds and dates, never secrets).
    List { email: String },
    /// Remove every second factor of a user (a lost phone); they sign in with the password
    /// until they enrol again.
    Reset { email: String },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Email address (the sign-in name).
    pub email: String,
    /// Read a password from standard input; without it the user has no password yet.
    #[arg(long)]
    pub password_stdin: bool,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Role (repeatable).
    #[arg(long = "role", value_name = "R")]
    pub roles: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key active; the old one stays published until its tokens expire.
    Rotate {
        /// Algorithm to rotate (repeatable) [default: every configured algorithm].
        #[arg(long = "alg", value_name = "ALG")]
        algs: Vec<String>,
        /// Suspected key compromise: unpublish the old keys now and revoke every token issued
        /// until now (users' browser sessions stay).
        #[arg(long)]
        revoke_all: bool,
    },
    /// List signing keys: kid, alg, state, created, retires-at.
    List,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List a user's browser sessions: sid, created, authenticated, expires, clients.
    List { email: String },
    /// Log out one device: end the session, revoke its tokens, notify its clients.
    Revoke {
        /// The session id, as `session list` prints it (base64url: it may begin with '-').
        #[arg(allow_hyphen_values = true)]
        sid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest audit records, oldest first.
    Tail {
        /// How many records.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        /// Keep printing new records as they are written.
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify an access token (or, with --client-id, an ID token) against this installation's
    /// published keys, as a resource server would, and say whether it is revoked.
    Verify {
        /// The expected issuer [default: the configured issuer].
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// The expected audience of an access token [default: the configured access-token
        /// audience].
        #[arg(long, value_name = "AUD")]
        audience: Option<String>,
        /// Verify an ID token issued to this client instead of an access token.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// The token.
        token: String,
    },
    /// Decode a token WITHOUT verifying it: print its header and claims.
    Inspect {
        /// The token.
        token: String,
    },
}
