//! `tessera session …`.

use crate::cli::SessionCommand;
use tessera_core::Actor;
use tessera_server::{admin, Config};

pub async fn run(config: &Config, actor: Actor, command: SessionCommand) -> anyhow::Result<()> {
    let (store, operator) = super::operator(config, actor).await?;
    let store = store.as_ref();
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
            let done = operator.revoke_session(&sid).await?;
            println!(
                "session {sid} ended: {} refresh tokens revoked, {} clients to notify",
                done.refresh_tokens_revoked, done.logout_notifications
            );
        }
    }
    Ok(())
}
