//! `pumpguard baselines …`: the stored baseline versions, listed, and one shown the way
//! an analyst reads it (per device: model, services used, ports listened on, bytes per
//! hour of the day; per model: services used; the version's audit history).

use std::io::{self, IsTerminal};
use std::net::SocketAddr;

use pumpguard_model::{Baseline, BaselineInfo, DeviceBaseline, ModelBaseline, PeerService, time};
use pumpguard_store::Store;

use crate::args::{BaselinesCmd, Context, DeviceKey, ShowFormat};
use crate::fail::Fail;
use crate::output::{history_table, table, write_to};

pub async fn run(ctx: &Context, cmd: BaselinesCmd) -> Result<(), Fail> {
    match cmd {
        BaselinesCmd::List { format } => {
            let store = Store::open(&ctx.db).await?;
            let list = store.list_baselines().await?;
            write_to(None, |w| {
                if json(format) {
                    serde_json::to_writer_pretty(&mut *w, &list)?;
                    w.write_all(b"\n")
                } else {
                    w.write_all(list_table(&list).as_bytes())
                }
            })
        }
        BaselinesCmd::Show {
            version,
            device,
            model,
            format,
        } => {
            let store = Store::open(&ctx.db).await?;
            let (info, baseline) = match version {
                Some(v) => store
                    .get_baseline(v)
                    .await?
                    .ok_or_else(|| Fail::input(format!("baseline {v} not found")))?,
                None => store.latest_baseline().await?.ok_or_else(|| {
                    Fail::input(
                        "no baseline is stored yet (learn one with `pumpguard sense --learn`)",
                    )
                })?,
            };
            let history = store
                .audit_for_object(&format!("baseline:{}", info.version))
                .await?;
            let (devices, models) = select(&baseline, device, model.as_deref());
            write_to(None, |w| {
                if json(format) {
                    let v = serde_json::json!({
                        "baseline": info,
                        "devices": devices,
                        "models": models,
                        "history": history,
                    });
                    serde_json::to_writer_pretty(&mut *w, &v)?;
                    w.write_all(b"\n")
                } else {
                    w.write_all(detail(&info, &devices, &models).as_bytes())?;
                    w.write_all(format!("\nhistory:\n{}\n", history_table(&history)).as_bytes())
                }
            })
        }
    }
}

fn json(format: Option<ShowFormat>) -> bool {
    match format {
        Some(f) => f == ShowFormat::Json,
        None => !io::stdout().is_terminal(),
    }
}

/// The devices `--device` and `--model` keep, and the models that go with them: those
/// `--model` names, and those of the kept devices when `--device` is given.
fn select<'a>(
    b: &'a Baseline,
    device: Option<DeviceKey>,
    model: Option<&str>,
) -> (Vec<&'a DeviceBaseline>, Vec<&'a ModelBaseline>) {
    let wanted = model.map(str::to_lowercase);
    let model_matches = |m: Option<&str>| match &wanted {
        Some(w) => m.is_some_and(|m| m.to_lowercase().contains(w.as_str())),
        None => true,
    };
    let devices: Vec<&DeviceBaseline> = b
        .devices
        .iter()
        .filter(|d| match device {
            Some(DeviceKey::Ip(ip)) => d.ip == Some(ip),
            Some(DeviceKey::Mac(mac)) => d.mac == Some(mac),
            None => true,
        })
        .filter(|d| model_matches(d.model.as_deref()))
        .collect();
    let models = b
        .models
        .iter()
        .filter(|m| model_matches(Some(&m.model)))
        .filter(|m| {
            device.is_none() || devices.iter().any(|d| d.model.as_deref() == Some(&m.model))
        })
        .collect();
    (devices, models)
}

fn window(info: &BaselineInfo) -> String {
    let secs = info
        .learned_until
        .as_second()
        .saturating_sub(info.learned_from.as_second());
    format!(
        "{} to {} ({})",
        time::rfc3339(info.learned_from),
        time::rfc3339(info.learned_until),
        duration(secs)
    )
}

/// `2d 3h`, `1h 30m`, `45m`, `20s`: the two largest units.
fn duration(secs: i64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3_600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return "0s".into();
    };
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn list_table(list: &[BaselineInfo]) -> String {
    let mut t = table();
    t.set_header([
        "version", "created", "window", "devices", "models", "origin",
    ]);
    for b in list {
        t.add_row([
            b.version.to_string(),
            time::rfc3339(b.created),
            window(b),
            b.devices.to_string(),
            b.models.to_string(),
            b.origin.clone(),
        ]);
    }
    format!("{t}\n{} baseline(s)\n", list.len())
}

/// `10.30.0.10:2575/tcp hl7` (`[fd00::1]:443/tcp tls` for IPv6).
fn peer_text(p: &PeerService) -> String {
    format!("{}/{} {}", SocketAddr::new(p.ip, p.port), p.proto, p.app)
}

fn peers_text(peers: &[PeerService]) -> String {
    peers.iter().map(peer_text).collect::<Vec<_>>().join("\n")
}

/// A byte count in three significant digits at most: `950`, `1.2k`, `34M`.
fn compact(n: u64) -> String {
    const UNITS: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 999.5 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => n.to_string(),
        _ if v < 9.95 => format!("{v:.1}{}", UNITS[unit]),
        _ => format!("{v:.0}{}", UNITS[unit]),
    }
}

/// The hourly profile on one line, hour 0 (UTC) first.
fn hourly_text(bytes: &[u64]) -> String {
    bytes
        .iter()
        .map(|b| compact(*b))
        .collect::<Vec<_>>()
        .join(" ")
}

fn detail(info: &BaselineInfo, devices: &[&DeviceBaseline], models: &[&ModelBaseline]) -> String {
    let mut t = table();
    for (k, v) in [
        ("version", info.version.to_string()),
        ("created", time::rfc3339(info.created)),
        ("window", window(info)),
        ("devices", info.devices.to_string()),
        ("models", info.models.to_string()),
        ("origin", info.origin.clone()),
    ] {
        t.add_row([k.to_owned(), v]);
    }
    let mut out = format!("{t}\n");

    let mut d = table();
    d.set_header([
        "device",
        "model",
        "peers (ip:port/proto app)",
        "listens",
        "bytes per hour, UTC 0-23 (most in one hour)",
        "hours seen",
    ]);
    for dev in devices {
        let id = [
            dev.mac.map(|m| m.to_string()),
            dev.ip.map(|ip| ip.to_string()),
        ];
        let listens: Vec<String> = dev.listens.iter().map(u16::to_string).collect();
        d.add_row([
            id.into_iter().flatten().collect::<Vec<_>>().join("\n"),
            dev.model.clone().unwrap_or_default(),
            peers_text(&dev.peers),
            listens.join(", "),
            hourly_text(&dev.hourly_bytes),
            dev.hours_seen.to_string(),
        ]);
    }
    out.push_str(&format!(
        "\ndevices:\n{d}\n{} of {} device(s)\n",
        devices.len(),
        info.devices
    ));

    let mut m = table();
    m.set_header(["model", "devices", "peers (ip:port/proto app)"]);
    for model in models {
        m.add_row([
            model.model.clone(),
            model.devices.to_string(),
            peers_text(&model.peers),
        ]);
    }
    out.push_str(&format!(
        "\nmodels:\n{m}\n{} of {} model(s)\n",
        models.len(),
        info.models
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_are_compact() {
        let got: Vec<String> = [0, 999, 1000, 1_234, 9_960, 56_700, 999_600, 3_400_000_000]
            .into_iter()
            .map(compact)
            .collect();
        assert_eq!(
            got,
            ["0", "999", "1.0k", "1.2k", "10k", "57k", "1.0M", "3.4G"]
        );
        assert_eq!(compact(u64::MAX), "18E");
        assert_eq!(hourly_text(&[0, 1_500, 20]), "0 1.5k 20");
    }

    #[test]
    fn windows_read_in_their_two_largest_units() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(3_600), "1h");
        assert_eq!(duration(5_400 + 7), "1h 30m");
        assert_eq!(duration(2 * 86_400 + 3 * 3_600 + 59), "2d 3h");
    }

    #[test]
    fn peers_read_as_socket_addresses() {
        let p = |ip: &str| PeerService {
            ip: ip.parse().expect("ip"),
            port: 2575,
            proto: "tcp".into(),
            app: "hl7".into(),
        };
        assert_eq!(peer_text(&p("10.30.0.10")), "10.30.0.10:2575/tcp hl7");
        assert_eq!(peer_text(&p("fd00::1")), "[fd00::1]:2575/tcp hl7");
    }
}
