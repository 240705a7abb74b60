//! `tessera user …`.

use crate::cli::{MfaCommand, PasskeyCommand, UserAddArgs, UserCommand};
use anyhow::Context;
use std::io::Read;
use tessera_core::{Actor, User};
use tessera_server::admin::{self, AddUser, UserStatus};
use tessera_server::Config;
use zeroize::Zeroizing;

pub async fn run(config: &Config, actor: Actor, command: UserCommand) -> anyhow::Result<()> {
    let (store, operator) = super::operator(config, actor).await?;
    let store = store.as_ref();
    match command {
        UserCommand::Add(UserAddArgs {
            email,
            password_stdin,
            name,
            roles,
        }) => {
            let password = if password_stdin {
                Some(read_password_stdin()?)
            } else {
                None
            };
            let user = operator
                .add_user(AddUser {
                    email,
                    name,
                    roles,
                    password,
                })
                .await?;
            print_user(&user);
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            if users.is_empty() {
                println!("no users");
            }
            for u in users {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.email,
                    u.id,
                    if u.is_disabled { "disabled" } else { "enabled" },
                    u.roles.join(",")
                );
            }
        }
        UserCommand::Show { email } => print_user(&admin::find_user(store, &email).await?),
        UserCommand::Disable { email } => {
            operator
                .set_user_status(&email, UserStatus::Disabled)
                .await?;
            println!("disabled {email}; every token and session of the user is revoked");
        }
        UserCommand::Enable { email } => {
            operator
                .set_user_status(&email, UserStatus::Enabled)
                .await?;
            println!("enabled {email}");
        }
        UserCommand::Remove { email } => {
            operator.remove_user(&email).await?;
            println!("removed {email}");
        }
        UserCommand::RevokeTokens { email } => {
            let done = operator.revoke_user_tokens(&email).await?;
            println!(
                "revoked every token of {email}: {} sessions ended, {} refresh tokens revoked, \
                 {} clients to notify",
                done.sessions_ended.len(),
                done.refresh_tokens_revoked,
                done.logout_notifications
            );
        }
        UserCommand::SetRoles { email, roles } => {
            let user = operator.set_roles(&email, roles).await?;
            println!("roles of {email}: {}", user.roles.join(","));
        }
        UserCommand::SetPassword {
            email,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_password_stdin()?
            } else {
                Zeroizing::new(
                    rpassword::prompt_password(format!("New password for {email}: ")).context(
                        "cannot read the password (use --password-stdin without a terminal)",
                    )?,
                )
            };
            operator.set_password(&email, password).await?;
            println!("password set for {email}; every token and session of the user is revoked");
        }
        UserCommand::Mfa {
            command: MfaCommand::List { email },
        } => {
            let factors = admin::list_second_factors(store, &email).await?;
            if factors.is_empty() {
                println!("no second factors");
            }
            for factor in factors {
                let time_or = |t: Option<time::OffsetDateTime>, none: &str| {
                    t.map_or_else(|| none.to_owned(), super::format_time)
                };
                println!(
                    "{}\tenrolled {}\tlast used {}",
                    factor.kind,
                    time_or(factor.enrolled_at, "-"),
                    time_or(factor.last_used_at, "never"),
                );
            }
        }
        UserCommand::Mfa {
            command: MfaCommand::Reset { email },
        } => {
            let removed = operator.reset_second_factors(&email).await?;
            println!("removed {removed} second factor(s) of {email}; the password alone signs in until they enrol again");
        }
        UserCommand::Unlock { email } => {
            operator.unlock_user(&email).await?;
            println!("unlocked {email}");
        }
        UserCommand::Passkeys {
            command: PasskeyCommand::List { email },
        } => {
            let passkeys = admin::list_passkeys(store, &email).await?;
            if passkeys.is_empty() {
                println!("no passkeys");
            }
            for passkey in passkeys {
                println!(
                    "{}\t{}\t{}\tcreated {}\tlast used {}",
                    passkey.id_text(),
                    passkey.name,
                    if passkey.backup_eligible {
                        "synced"
                    } else {
                        "device-bound"
                    },
                    super::format_time(passkey.created_at),
                    passkey
                        .last_used_at
                        .map_or_else(|| "never".to_owned(), super::format_time),
                );
            }
        }
        UserCommand::Passkeys {
            command:
                PasskeyCommand::Remove {
                    email,
                    id,
                    end_sessions,
                },
        } => {
            operator.remove_passkey(&email, &id).await?;
            println!("removed passkey {id} of {email}");
            if end_sessions {
                operator.revoke_user_tokens(&email).await?;
                println!("every session and token of {email} is revoked");
            }
        }
    }
    Ok(())
}

/// Reads a password from standard input. Only one trailing line ending is removed; nothing else
/// is trimmed or truncated, because spaces are legitimate password characters.
pub(super) fn read_password_stdin() -> anyhow::Result<Zeroizing<String>> {
    let mut input = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let len = input
        .strip_suffix("\r\n")
        .or_else(|| input.strip_suffix('\n'))
        .map_or(input.len(), str::len);
    input.truncate(len);
    Ok(input)
}

fn print_user(u: &User) {
    println!("id: {}", u.id);
    println!("email: {}", u.email);
    println!("name: {}", u.name.as_deref().unwrap_or(""));
    println!("roles: {}", u.roles.join(","));
    println!(
        "status: {}",
        if u.is_disabled { "disabled" } else { "enabled" }
    );
    println!(
        "password: {}",
        if u.password_hash.is_some() {
            "set"
        } else {
            "none"
        }
    );
    println!("created: {}", super::format_time(u.created_at));
}
