//! One module per command family.

mod audit;
mod client;
mod init;
mod keys;
mod migrate;
mod seed;
mod serve;
mod session;
mod token;
mod user;

use crate::cli::{Cli, Command, GlobalArgs, LogFormatArg};
use anyhow::Context;
use figment::providers::Serialized;
use std::sync::Arc;
use tessera_core::{Actor, SystemClock};
use tessera_server::admin::{Operator, OperatorSettings};
use tessera_server::config::{self, LogFormat};
use tessera_server::hashing::HashingPool;
use tessera_server::Config;
use tessera_store::Store;

/// Loads the configuration, sets up logging and runs the command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let (listen, issuer) = match &cli.command {
        Command::Serve(args) => (args.listen, args.issuer.clone()),
        _ => (None, None),
    };
    let (config, unknown_keys) = load_config(&cli.global, listen, issuer)?;
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    crate::logging::init(config.log_format, default_level);
    for key in unknown_keys {
        tracing::warn!(key, "unknown configuration key ignored");
    }
    let actor = || actor(cli.global.actor.as_deref());
    match cli.command {
        Command::Serve(_) => serve::run(config).await,
        Command::Init => init::run(&config).await,
        Command::Client(command) => client::run(&config, actor()?, command).await,
        Command::User(command) => user::run(&config, actor()?, command).await,
        Command::Keys(command) => keys::run(&config, actor()?, command).await,
        Command::Session(command) => session::run(&config, actor()?, command).await,
        Command::Audit(command) => audit::run(&config, command).await,
        Command::Token(command) => token::run(&config, command).await,
        Command::Migrate(args) => migrate::run(&config, args).await,
        Command::Seed(args) => seed::run(&config, args).await,
    }
}

/// Layers defaults, the TOML file, `TESSERA_*` variables, and finally command-line flags.
fn load_config(
    global: &GlobalArgs,
    listen: Option<std::net::SocketAddr>,
    issuer: Option<String>,
) -> anyhow::Result<(Config, Vec<String>)> {
    let mut figment = config::figment(global.config.as_deref());
    if let Some(dir) = &global.data_dir {
        figment = figment.merge(Serialized::default("data_dir", dir));
    }
    if let Some(url) = &global.database_url {
        figment = figment.merge(Serialized::default("database_url", url));
    }
    if let Some(format) = global.log_format {
        let format = match format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
        figment = figment.merge(Serialized::default("log_format", format));
    }
    if let Some(listen) = listen {
        figment = figment.merge(Serialized::default("listen", listen));
    }
    if let Some(issuer) = issuer {
        figment = figment.merge(Serialized::default("issuer", issuer));
    }
    config::load(&figment).context("configuration")
}

/// Who runs this command, for the audit trail and revocations: the name given with `--actor` or
/// `TESSERA_ACTOR`, else the OS user (`USER`, `LOGNAME`, else `uid-N` of the process).
fn actor(given: Option<&str>) -> anyhow::Result<Actor> {
    if let Some(name) = given {
        return Actor::cli(name).with_context(|| format!("--actor / TESSERA_ACTOR {name:?}"));
    }
    let from_env = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find_map(|name| Actor::cli(&name).ok());
    if let Some(actor) = from_env {
        return Ok(actor);
    }
    Ok(Actor::cli(&os_uid_name()).expect("uid-N is a valid name"))
}

/// `uid-N` for the process's user, read from the owner of `/proc/self` (no libc needed).
fn os_uid_name() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self") {
            return format!("uid-{}", meta.uid());
        }
    }
    "unknown".to_owned()
}

/// Opens the store and an operator acting as `actor` on it, outside any server.
async fn operator(config: &Config, actor: Actor) -> anyhow::Result<(Arc<dyn Store>, Operator)> {
    let store = tessera_server::app::open_existing_store(config).await?;
    let operator = Operator::new(
        actor,
        store.clone(),
        Arc::new(SystemClock),
        HashingPool::new(Default::default(), 1),
        OperatorSettings::from_config(config),
    );
    Ok((store, operator))
}

/// Formats an instant for listings.
fn format_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
