//! `tessera init`.

use tessera_core::SystemClock;
use tessera_server::kek_source::KekOrigin;
use tessera_server::{app, Config};

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let report = app::init(config, &SystemClock).await?;
    println!("store: {}", report.store);
    match &report.kek_origin {
        KekOrigin::Created(path) => println!(
            "created the key-encryption key {} (back it up: without it the signing keys cannot \
             be read)",
            path.display()
        ),
        KekOrigin::File(path) => println!("key-encryption key: {}", path.display()),
        KekOrigin::Configured => println!("key-encryption key: from the configuration"),
    }
    for kid in &report.created_kids {
        println!("generated a signing key: {kid}");
    }
    if report.created_kids.is_empty() && !matches!(report.kek_origin, KekOrigin::Created(_)) {
        println!("already set up: nothing changed");
    }
    Ok(())
}
