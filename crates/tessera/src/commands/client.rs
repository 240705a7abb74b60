//! `tessera client …`.

use crate::cli::{ClientAddArgs, ClientCommand};
use tessera_core::{Actor, Client, NewClient};
use tessera_server::admin::{self, Operator};
use tessera_server::Config;

pub async fn run(config: &Config, actor: Actor, command: ClientCommand) -> anyhow::Result<()> {
    let (store, operator) = super::operator(config, actor).await?;
    let store = store.as_ref();
    match command {
        ClientCommand::Add(args) => add(&operator, args).await,
        ClientCommand::List => {
            let clients = store.list_clients().await?;
            if clients.is_empty() {
                println!("no clients");
            }
            for c in clients {
                println!(
                    "{}\t{}\t{}\t{}",
                    c.id,
                    if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    },
                    grants(&c),
                    c.name
                );
            }
            Ok(())
        }
        ClientCommand::Show { client_id } => {
            print_client(&admin::find_client(store, &client_id).await?);
            Ok(())
        }
        ClientCommand::Remove { client_id } => {
            operator.remove_client(&client_id).await?;
            println!("removed client {client_id}");
            Ok(())
        }
        ClientCommand::Update {
            client_id,
            require_mfa,
            no_require_mfa,
        } => {
            if !require_mfa && !no_require_mfa {
                anyhow::bail!("nothing to change: give --require-mfa or --no-require-mfa");
            }
            let client = operator
                .set_client_require_mfa(&client_id, require_mfa)
                .await?;
            print_client(&client);
            Ok(())
        }
    }
}

async fn add(operator: &Operator, args: ClientAddArgs) -> anyhow::Result<()> {
    let new = NewClient {
        id: args.client_id,
        name: args.name,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        is_public: args.public,
        grant_types: args.grant_types,
        scopes: args.scopes,
        is_first_party: args.first_party,
        backchannel_logout_uri: args.backchannel_logout_uri,
        is_resource_server: args.resource_server,
        allowed_origins: args.allowed_origins,
        require_pkce: args.require_pkce,
        require_mfa: args.require_mfa,
    };
    let (client, secret) = operator.add_client(new).await?;
    print_client(&client);
    if let Some(secret) = secret {
        println!("client_secret: {}", secret.expose());
        eprintln!("Store the client secret now: it is shown only once and kept only as a hash.");
    }
    Ok(())
}

fn grants(c: &Client) -> String {
    c.grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn print_client(c: &Client) {
    let join = |uris: &[tessera_core::RedirectUri]| {
        uris.iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("client_id: {}", c.id);
    println!("name: {}", c.name);
    println!(
        "type: {}",
        if c.is_public() {
            "public"
        } else {
            "confidential"
        }
    );
    println!("grant_types: {}", grants(c));
    println!("scopes: {}", c.scopes);
    println!("redirect_uris: {}", join(&c.redirect_uris));
    println!(
        "post_logout_redirect_uris: {}",
        join(&c.post_logout_redirect_uris)
    );
    println!(
        "backchannel_logout_uri: {}",
        c.backchannel_logout_uri.as_ref().map_or("", |u| u.as_str())
    );
    println!("first_party: {}", c.is_first_party);
    println!("resource_server: {}", c.is_resource_server);
    println!("require_pkce: {}", c.require_pkce);
    println!("require_mfa: {}", c.require_mfa);
    println!(
        "allowed_origins: {}",
        c.allowed_origins
            .iter()
            .map(|o| o.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("created: {}", super::format_time(c.created_at));
}
