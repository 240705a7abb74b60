//! `tessera keys …`.

use crate::cli::KeysCommand;
use anyhow::bail;
use tessera_core::SystemClock;
use tessera_jose::Algorithm;
use tessera_server::{admin, app, Config};
use time::Duration;

pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = app::open_store(config).await?;
    let store = store.as_ref();
    let clock = SystemClock;
    match command {
        KeysCommand::Rotate { algs, revoke_all } => {
            let algs = if algs.is_empty() {
                let mut algs = vec![config.tokens.access_token_alg, config.tokens.id_token_alg];
                algs.dedup();
                algs
            } else {
                algs.iter()
                    .map(|a| match Algorithm::parse(a) {
                        Some(alg) => Ok(alg),
                        None => bail!("unknown algorithm {a:?} (RS256, ES256, EdDSA)"),
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let (ring, _) = app::open_key_ring(config, store, &clock).await?;
            let grace = Duration::seconds(config.keys.retirement_grace_seconds.into());
            let kids = admin::rotate_keys(
                store,
                ring.kek(),
                &algs,
                &app::lifetimes(config),
                grace,
                revoke_all,
                &clock,
            )
            .await?;
            for (alg, kid) in algs.iter().zip(kids) {
                println!("new active {alg} key: {kid}");
            }
            if revoke_all {
                println!(
                    "the old keys are unpublished and every token issued until now is revoked"
                );
            }
            println!(
                "running servers pick the new keys up within {} s",
                config.keys.refresh_interval_seconds
            );
        }
        KeysCommand::List => {
            println!("KID\tALG\tSTATE\tCREATED\tRETIRES-AT");
            for key in admin::list_keys(store, &clock).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    key.kid,
                    key.alg,
                    key.state.as_str(),
                    super::format_time(key.created_at),
                    key.retires_at.map_or("-".into(), super::format_time)
                );
            }
        }
    }
    Ok(())
}
