//! Log set-up. `RUST_LOG` overrides the default filter.

use std::io::IsTerminal;
use tessera_server::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `default_level` is `info` for the server, `warn` for CLI
/// commands so their output stays clean.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or log collectors.
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
