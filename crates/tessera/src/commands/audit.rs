//! `tessera audit …`.

use crate::cli::AuditCommand;
use std::time::Duration;
use tessera_core::AuditEvent;
use tessera_server::{app, Config};

/// How often `audit tail --follow` looks for new records.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

pub async fn run(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    let store = app::open_existing_store(config).await?;
    match command {
        AuditCommand::Tail { lines, follow } => {
            let mut last = 0;
            for event in store.recent_audit(lines).await? {
                last = event.id;
                print_event(&event);
            }
            if follow {
                loop {
                    tokio::time::sleep(FOLLOW_INTERVAL).await;
                    for event in store.audit_after(last, 1000).await? {
                        last = event.id;
                        print_event(&event);
                    }
                }
            }
        }
    }
    Ok(())
}

/// One line per record: time, actor, action, target, reason, detail.
fn print_event(event: &AuditEvent) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        super::format_time(event.at),
        event.actor,
        event.action,
        event.target,
        event.reason.as_deref().unwrap_or("-"),
        event.detail
    );
}
