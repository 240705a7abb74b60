//! One module per command family.

mod audit;
mod client;
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
use tessera_server::config::{self, LogFormat};
use tessera_server::Config;

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
    match cli.command {
        Command::Serve(_) => serve::run(config).await,
        Command::Client(command) => client::run(&config, command).await,
        Command::User(command) => user::run(&config, command).await,
        Command::Keys(command) => keys::run(&config, command).await,
        Command::Session(command) => session::run(&config, command).await,
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

/// Formats an instant for listings.
fn format_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
