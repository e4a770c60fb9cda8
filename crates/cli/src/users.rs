//! `pumpguard users …`: the console and API users, their roles and tokens. The same
//! rules as the API's: names of letters, digits and `._@-`, passwords of 12 or more
//! characters, argon2id at rest; every change audited by the store.

use pumpguard_model::time;
use pumpguard_server::api::auth::{valid_password, valid_username};
use pumpguard_server::passwords;
use pumpguard_store::Store;

use crate::args::{Context, ListFormat, RoleArg, UsersCmd};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};
use crate::pki::first_line;

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

pub(crate) fn role_name(r: RoleArg) -> &'static str {
    match r {
        RoleArg::Admin => "admin",
        RoleArg::Analyst => "analyst",
        RoleArg::Biomed => "biomed",
        RoleArg::Viewer => "viewer",
    }
}

/// The password to set: the file's first line, else PUMPGUARD_USER_PASSWORD, else a
/// generated one (returned with `true` so that it is shown once).
fn password(file: Option<&std::path::Path>) -> Result<(String, bool), Fail> {
    let given = match file {
        Some(f) => Some(first_line(f)?),
        None => std::env::var("PUMPGUARD_USER_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
    };
    match given {
        Some(p) => {
            valid_password(&p).map_err(Fail::input)?;
            Ok((p, false))
        }
        None => Ok((passwords::generate(), true)),
    }
}

#[allow(clippy::print_stdout)]
fn show_generated(name: &str, password: &str) {
    println!("password for '{name}': {password}");
}

pub async fn run(ctx: &Context, cmd: UsersCmd) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let result = users(ctx, &store, cmd).await;
    store.close().await;
    result
}

async fn users(ctx: &Context, store: &Store, cmd: UsersCmd) -> Result<(), Fail> {
    match cmd {
        UsersCmd::Add {
            name,
            role,
            password_file,
        } => {
            valid_username(&name).map_err(Fail::input)?;
            let (password, generated) = password(password_file.as_deref())?;
            let hash = passwords::hash(&password).map_err(Fail::input)?;
            store
                .user_add(&ctx.actor, &name, &hash, role_name(role))
                .await?;
            say(&format!("user '{name}' added as {}", role_name(role)));
            if generated {
                show_generated(&name, &password);
            }
            Ok(())
        }
        UsersCmd::List { format } => {
            let users = store.users().await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Json => {
                    let rows: Vec<serde_json::Value> = users
                        .iter()
                        .map(|u| {
                            serde_json::json!({
                                "username": u.name,
                                "role": u.role,
                                "created": time::rfc3339(u.created),
                            })
                        })
                        .collect();
                    serde_json::to_writer_pretty(&mut *w, &rows)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => {
                    let mut c = csv::Writer::from_writer(w);
                    c.write_record(["username", "role", "created"])?;
                    for u in &users {
                        c.write_record([&u.name, &u.role, &time::rfc3339(u.created)])?;
                    }
                    c.flush()
                }
                ListFormat::Table => {
                    let mut t = table();
                    t.set_header(["username", "role", "created"]);
                    for u in &users {
                        t.add_row([u.name.clone(), u.role.clone(), time::rfc3339(u.created)]);
                    }
                    writeln!(w, "{t}")
                }
            })
        }
        UsersCmd::SetRole { name, role } => {
            store
                .user_set_role(&ctx.actor, &name, role_name(role))
                .await?;
            say(&format!("user '{name}' is now {}", role_name(role)));
            Ok(())
        }
        UsersCmd::Passwd {
            name,
            password_file,
        } => {
            let (password, generated) = password(password_file.as_deref())?;
            let hash = passwords::hash(&password).map_err(Fail::input)?;
            store.user_set_password(&ctx.actor, &name, &hash).await?;
            say(&format!(
                "user '{name}': password changed, tokens and sessions revoked"
            ));
            if generated {
                show_generated(&name, &password);
            }
            Ok(())
        }
        UsersCmd::Remove { name } => {
            store.user_remove(&ctx.actor, &name).await?;
            say(&format!("user '{name}' removed"));
            Ok(())
        }
        UsersCmd::Tokens { name, format } => {
            if store.user(&name).await?.is_none() {
                return Err(Fail::input(format!("user '{name}' not found")));
            }
            let tokens = store.tokens(&name).await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &tokens)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => {
                    let mut c = csv::Writer::from_writer(w);
                    c.write_record(["id", "kind", "label", "created", "expires", "revoked"])?;
                    for t in &tokens {
                        c.write_record([
                            t.id.clone(),
                            t.kind.clone(),
                            t.label.clone(),
                            time::rfc3339(t.created),
                            time::rfc3339(t.expires),
                            t.revoked.map(time::rfc3339).unwrap_or_default(),
                        ])?;
                    }
                    c.flush()
                }
                ListFormat::Table => {
                    let mut t = table();
                    t.set_header(["id", "kind", "label", "created", "expires", "revoked"]);
                    for k in &tokens {
                        t.add_row([
                            k.id.clone(),
                            k.kind.clone(),
                            k.label.clone(),
                            time::rfc3339(k.created),
                            time::rfc3339(k.expires),
                            k.revoked.map(time::rfc3339).unwrap_or_default(),
                        ]);
                    }
                    writeln!(w, "{t}")
                }
            })
        }
        UsersCmd::Revoke { id } => {
            let t = store.token_revoke(&ctx.actor, &id).await?;
            say(&format!(
                "{} token {id} of '{}' revoked",
                t.kind, t.username
            ));
            Ok(())
        }
    }
}
