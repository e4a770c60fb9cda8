//! `pumpguard sensors …` (the remote sensors a central pumpguard accepts, and the
//! nats-server configuration for them) and `pumpguard sensor-ingest` (the central
//! ingester). The fleet crate does the work; this module reads passwords, signals and
//! prints.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::time::Duration;

use pumpguard_fleet::natsconf;
use pumpguard_model::time;
use pumpguard_store::Store;

use crate::args::{Context, ListFormat, NatsArgs, SensorIngestArgs, SensorsCmd, ShowFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};
use crate::pki::first_line;

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// The NATS password: the file's first line, else PUMPGUARD_NATS_PASSWORD.
pub(crate) fn nats_password(file: Option<&Path>) -> Result<Option<String>, Fail> {
    match file {
        Some(f) => Ok(Some(first_line(f)?)),
        None => Ok(std::env::var("PUMPGUARD_NATS_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())),
    }
}

/// The user and password to connect with (`default_user` when only a password is given).
pub(crate) fn nats_login(
    args: &NatsArgs,
    default_user: &str,
) -> Result<(Option<String>, Option<String>), Fail> {
    let password = nats_password(args.nats_password_file.as_deref())?;
    let user = match (&args.nats_user, &password) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(_)) => Some(default_user.to_owned()),
        (None, None) => None,
    };
    if user.is_some() && password.is_none() {
        return Err(Fail::input(
            "--nats-user needs a password: --nats-password-file or PUMPGUARD_NATS_PASSWORD",
        ));
    }
    Ok((user, password))
}

/// A sensor password: given (at least 12 characters) or generated (returned with
/// `true`, to be shown once).
fn new_password(file: Option<&Path>) -> Result<(String, bool), Fail> {
    match nats_password(file)? {
        Some(p) if p.chars().count() >= 12 => Ok((p, false)),
        Some(_) => Err(Fail::input("a sensor password needs 12 or more characters")),
        None => Ok((pumpguard_server::passwords::generate(), true)),
    }
}

#[allow(clippy::print_stdout)]
fn show_generated(name: &str, password: &str) {
    println!("NATS password for sensor '{name}': {password}");
}

pub async fn run(ctx: &Context, cmd: SensorsCmd) -> Result<(), Fail> {
    let store = Store::open(&ctx.db).await?;
    let result = sensors(ctx, &store, cmd).await;
    store.close().await;
    result
}

async fn sensors(ctx: &Context, store: &Store, cmd: SensorsCmd) -> Result<(), Fail> {
    match cmd {
        SensorsCmd::Add {
            name,
            password_file,
        } => {
            pumpguard_store::check_sensor_name(&name)?;
            let (password, generated) = new_password(password_file.as_deref())?;
            let hash = natsconf::hash_password(&password).map_err(Fail::runtime)?;
            store.sensor_add(&ctx.actor, &name, &hash).await?;
            say(&format!(
                "sensor '{name}' added (NATS user {}); run `pumpguard sensors nats-config` and reload nats-server",
                natsconf::sensor_user(&name)
            ));
            if generated {
                show_generated(&name, &password);
            }
            Ok(())
        }
        SensorsCmd::Passwd {
            name,
            password_file,
        } => {
            let (password, generated) = new_password(password_file.as_deref())?;
            let hash = natsconf::hash_password(&password).map_err(Fail::runtime)?;
            store.sensor_set_password(&ctx.actor, &name, &hash).await?;
            say(&format!(
                "sensor '{name}': password changed; run `pumpguard sensors nats-config` and reload nats-server"
            ));
            if generated {
                show_generated(&name, &password);
            }
            Ok(())
        }
        SensorsCmd::Remove { name } => {
            store.sensor_remove(&ctx.actor, &name).await?;
            say(&format!(
                "sensor '{name}' removed; its messages are now rejected"
            ));
            Ok(())
        }
        SensorsCmd::NatsConfig {
            ingest_password_file,
            out,
        } => {
            let password = first_line(&ingest_password_file)?;
            if password.chars().count() < 12 {
                return Err(Fail::input(format!(
                    "{}: the ingest password needs 12 or more characters",
                    ingest_password_file.display()
                )));
            }
            let hash = natsconf::hash_password(&password).map_err(Fail::runtime)?;
            let sensors = store.sensors().await?;
            let text = natsconf::authorization(&sensors, &hash);
            write_to(out.as_deref(), |w| w.write_all(text.as_bytes()))
        }
        SensorsCmd::List { format } => {
            let sensors = store.sensors().await?;
            let now = time::now();
            let ago = |t: Option<time::Timestamp>| {
                t.map(|t| {
                    let secs = now.duration_since(t).as_secs_f64().max(0.0);
                    format!("{secs:.0} s ago")
                })
                .unwrap_or_else(|| "never".into())
            };
            write_to(None, |w| match list_format(format) {
                ListFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &sensors)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => {
                    let mut c = csv::Writer::from_writer(w);
                    c.write_record(["name", "last_contact", "lag_ms", "messages", "observations"])?;
                    for s in &sensors {
                        c.write_record([
                            s.name.clone(),
                            s.last_contact.map(time::rfc3339).unwrap_or_default(),
                            s.lag_ms.map(|l| l.to_string()).unwrap_or_default(),
                            s.messages.to_string(),
                            s.observations.to_string(),
                        ])?;
                    }
                    c.flush()
                }
                ListFormat::Table => {
                    let mut t = table();
                    t.set_header(["sensor", "last contact", "lag", "messages", "observations"]);
                    for s in &sensors {
                        t.add_row([
                            s.name.clone(),
                            ago(s.last_contact),
                            s.lag_ms.map(|l| format!("{l} ms")).unwrap_or_default(),
                            s.messages.to_string(),
                            s.observations.to_string(),
                        ]);
                    }
                    writeln!(w, "{t}")
                }
            })
        }
    }
}

/// `pumpguard sensor-ingest`.
pub async fn ingest(ctx: &Context, args: &SensorIngestArgs) -> Result<(), Fail> {
    let (user, password) = nats_login(&args.nats, natsconf::INGEST_USER)?;
    let store = Store::open(&ctx.db).await?;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });
    let opts = pumpguard_fleet::IngestOptions {
        url: args.from.clone(),
        user,
        password,
        consumer: args.consumer.clone(),
        batch: args.batch as usize,
        linger: Duration::from_millis(100),
        ack_wait: Duration::from_secs(args.ack_wait_seconds),
        stream_max_bytes: (args.stream_max_mb * 1024 * 1024) as i64,
        idle_exit: args.exit_when_idle.map(Duration::from_secs),
        actor: ctx.actor.clone(),
    };
    say(&format!(
        "ingesting from {} (consumer {}) into {}",
        args.from,
        args.consumer,
        store.backend_name()
    ));
    let result = pumpguard_fleet::ingest::run(&store, &opts, stop, &|line| say(line)).await;
    signals.abort();
    store.close().await;
    let report = result.map_err(|e| match e {
        pumpguard_fleet::FleetError::Store(e) => Fail::from(e),
        other => Fail::runtime(other.to_string()),
    })?;
    print_report(&report, args.format)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

#[allow(clippy::print_stdout)]
fn print_report(r: &pumpguard_fleet::IngestReport, format: Option<ShowFormat>) -> Result<(), Fail> {
    let json = match format {
        Some(f) => f == ShowFormat::Json,
        None => !io::stdout().is_terminal(),
    };
    if json {
        let text = serde_json::to_string_pretty(r).map_err(io::Error::other)?;
        println!("{text}");
    } else {
        println!(
            "{} messages in {:.1} s: {} written, {} already written, {} rejected; {} observations ({:.0}/s) in {} transactions; {} new assets, {} new alerts",
            r.messages,
            r.seconds,
            r.applied,
            r.duplicates,
            r.rejected,
            r.observations,
            r.observations as f64 / r.seconds.max(1e-9),
            r.transactions,
            r.assets_created,
            r.alerts_raised
        );
    }
    Ok(())
}
