//! `tessera keys …`.

use crate::cli::KeysCommand;
use anyhow::bail;
use std::sync::Arc;
use tessera_core::{Actor, SystemClock};
use tessera_jose::Algorithm;
use tessera_server::admin::{self, RotateKeys};
use tessera_server::{app, Config};

pub async fn run(config: &Config, actor: Actor, command: KeysCommand) -> anyhow::Result<()> {
    let (store, operator) = super::operator(config, actor).await?;
    let store = store.as_ref();
    let clock = SystemClock;
    match command {
        KeysCommand::Rotate { algs, revoke_all } => {
            let algs = algs
                .iter()
                .map(|a| match Algorithm::parse(a) {
                    Some(alg) => Ok(alg),
                    None => bail!("unknown algorithm {a:?} (RS256, ES256, EdDSA)"),
                })
                .collect::<anyhow::Result<_>>()?;
            let (ring, _) = app::open_key_ring(config, store, &clock).await?;
            let rotated = operator
                .with_keys(Arc::new(ring))
                .rotate_keys(RotateKeys { algs, revoke_all })
                .await?;
            for (alg, kid) in rotated {
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
