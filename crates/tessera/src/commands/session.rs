//! `tessera session …`.

use crate::cli::SessionCommand;
use tessera_core::SystemClock;
use tessera_server::{admin, app, Config};

pub async fn run(config: &Config, command: SessionCommand) -> anyhow::Result<()> {
    let store = app::open_store(config).await?;
    let store = store.as_ref();
    let clock = SystemClock;
    match command {
        SessionCommand::List { email } => {
            let sessions = admin::list_sessions(store, &email).await?;
            if sessions.is_empty() {
                println!("no sessions");
                return Ok(());
            }
            println!("SID\tCREATED\tAUTHENTICATED\tEXPIRES\tCLIENTS");
            for summary in sessions {
                let s = &summary.session;
                let clients: Vec<&str> = summary.clients.iter().map(|c| c.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    s.sid,
                    super::format_time(s.created_at),
                    super::format_time(s.auth_time),
                    super::format_time(s.expires_at),
                    if clients.is_empty() {
                        "-".to_owned()
                    } else {
                        clients.join(",")
                    }
                );
            }
        }
        SessionCommand::Revoke { sid } => {
            let done = admin::revoke_session(store, &sid, &app::lifetimes(config), &clock).await?;
            println!(
                "session {sid} ended: {} refresh tokens revoked, {} clients to notify",
                done.refresh_tokens_revoked, done.logout_notifications
            );
        }
    }
    Ok(())
}
