//! `tessera seed`: benchmark data. Each seeded user gets what a finished sign-in leaves behind —
//! a browser session and a refresh token of one client — so a benchmark can start refreshing at
//! once, and the refresh grant can be measured as the store grows (bench/run).
//!
//! All seeded users share one argon2id hash (one salt): hashing a million passwords at
//! tens of milliseconds each would take hours, and the data is not for real people.

use crate::cli::SeedArgs;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::sync::Arc;
use tessera_core::{
    BearerSecret, BrowserSession, Client, Clock, Email, GrantType, PasswordHash, PasswordHasher,
    RefreshLifetimes, RefreshToken, SessionId, SystemClock, User,
};
use tessera_server::{app, tokens, Config};
use tessera_store::{SignedInUser, Store};

/// Users created per transaction: large enough that commits cost little, small enough that
/// the progress bar moves and a transaction holds SQLite's write lock only briefly.
const BATCH: u64 = 1_000;

/// Transactions in flight at once. PostgreSQL takes them in parallel; SQLite has one writer,
/// so a second transaction would only wait for the first.
fn batches_in_flight(store: &dyn Store) -> usize {
    if store.backend_name() == "sqlite" {
        1
    } else {
        4
    }
}

/// What every seeded user shares.
struct Template {
    client: Client,
    password_hash: Option<PasswordHash>,
    refresh: RefreshLifetimes,
    session_lifetime: time::Duration,
}

pub async fn run(config: &Config, args: SeedArgs) -> anyhow::Result<()> {
    let store = app::open_existing_store(config).await?;
    let client_id = tessera_core::ClientId::parse(&args.client)
        .map_err(|e| anyhow::anyhow!("--client: {e}"))?;
    let Some(client) = store.find_client(&client_id).await? else {
        bail!("no client {client_id}: register it first (tessera client add)");
    };
    if !client.allows_grant(GrantType::RefreshToken) {
        bail!("client {client_id} is not allowed the refresh_token grant");
    }
    let password_hash = if args.password_stdin {
        let password = super::user::read_password_stdin()?;
        Some(PasswordHasher::owasp().hash(&password))
    } else {
        None
    };
    let template = Arc::new(Template {
        client,
        password_hash,
        refresh: app::refresh_lifetimes(config),
        session_lifetime: time::Duration::seconds(config.sessions.lifetime_seconds.into()),
    });

    let mut out = open_private(&args.refresh_tokens_out)?;
    let bar = ProgressBar::new(args.users).with_style(
        ProgressStyle::with_template("seeding [{bar:40}] {pos}/{len} users, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let in_flight = batches_in_flight(store.as_ref());
    let mut tasks = tokio::task::JoinSet::new();
    let (mut next, end) = (args.first, args.first + args.users);
    let mut born_revoked = 0;
    loop {
        while tasks.len() < in_flight && next < end {
            let batch_end = end.min(next + BATCH);
            tasks.spawn(seed_batch(store.clone(), template.clone(), next..batch_end));
            next = batch_end;
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let (secrets, live) = done.context("a seeding task failed")??;
        born_revoked += secrets.len() as u64 - live;
        for secret in &secrets {
            writeln!(out, "{}", secret.expose()).context("writing the refresh tokens")?;
        }
        bar.inc(secrets.len() as u64);
    }
    bar.finish();
    out.flush().context("writing the refresh tokens")?;
    if born_revoked > 0 {
        eprintln!(
            "warning: {born_revoked} refresh tokens were created revoked: a revocation of \
             everything (or of these users) is in effect"
        );
    }
    eprintln!(
        "seeded {} users with a session and a refresh token of {client_id}; tokens in {}",
        args.users,
        args.refresh_tokens_out.display()
    );
    Ok(())
}

/// Users numbered `numbers`, each with a session and a refresh token, in one transaction;
/// returns their refresh tokens and how many of them were created live.
async fn seed_batch(
    store: Arc<dyn Store>,
    template: Arc<Template>,
    numbers: std::ops::Range<u64>,
) -> anyhow::Result<(Vec<BearerSecret>, u64)> {
    let now = SystemClock.now();
    let (batch, secrets): (Vec<SignedInUser>, Vec<BearerSecret>) = numbers
        .map(|n| signed_in_user(&template, n, now))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let live = store.create_signed_in_users(&batch).await?;
    Ok((secrets, live))
}

/// User number `n` as a finished sign-in leaves it, and its refresh token's secret.
fn signed_in_user(
    template: &Template,
    n: u64,
    now: time::OffsetDateTime,
) -> anyhow::Result<(SignedInUser, BearerSecret)> {
    let email = Email::parse(&format!("bench-user-{n}@bench.example"))?;
    let user = User::new(email, None, Vec::new(), template.password_hash.clone(), now)?;
    let session = BrowserSession {
        sid: SessionId::generate(),
        secret_hash: BearerSecret::generate(32).hash(),
        user_id: user.id.clone(),
        auth_time: now,
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + template.session_lifetime,
        user_agent: None,
        last_seen_at: now,
    };
    let secret = tokens::new_refresh_token();
    let refresh_token = RefreshToken {
        token_hash: secret.hash(),
        family_id: tessera_core::random::token(16),
        client_id: template.client.id.clone(),
        user_id: user.id.clone(),
        sid: session.sid.clone(),
        scope: template.client.scopes.clone(),
        auth_time: now,
        amr: session.amr.clone(),
        acr: None,
        issued_at: now,
        idle_expires_at: now + template.refresh.idle,
        absolute_expires_at: now + template.refresh.absolute,
        access_token: None,
    };
    let signed_in = SignedInUser {
        user,
        session,
        refresh_token,
    };
    Ok((signed_in, secret))
}

/// Creates `path` for writing, readable by its owner only: it holds live refresh tokens.
fn open_private(path: &std::path::Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(std::io::BufWriter::new(file))
}
