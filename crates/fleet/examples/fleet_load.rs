//! Load for `bench/scale.sh`: N simulated sites, each a sensor publishing through the
//! real [`Publisher`] what a sensor would send about its share of the pumps — one
//! sighting per pump (address, hostname, vendor, kind: four pieces of evidence) and one
//! flow (pump to pump server over TLS) — round after round, all sites at once.
//!
//! `fleet_load URL SITES ASSETS ROUNDS SPOOL_DIR [INTERVAL_SECONDS [FIRST_ROUND]]`
//! prints one JSON line: messages, observations and seconds. With an interval, each
//! site starts a round every INTERVAL_SECONDS (a steady offered load) instead of
//! sending them back to back; rounds are numbered from FIRST_ROUND (each round's flows
//! are new 5-tuples).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line program

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use pumpguard_fleet::{PublishOptions, Publisher};
use pumpguard_model::{AssetKind, Evidence, Field, FlowRecord, MacAddr, Sighting};
use pumpguard_sensor::Batch;

fn evidence(field: Field, value: String, source: &str, at: Timestamp) -> Evidence {
    Evidence {
        field,
        value,
        source: source.to_owned(),
        confidence: 90,
        first_seen: at,
        last_seen: at,
        count: 1,
    }
}

/// Site `site`'s pumps `0..n` as seen in round `round`.
fn batch(site: u32, n: u32, round: u32) -> Batch {
    let at = Timestamp::now();
    let server = IpAddr::V4(Ipv4Addr::new(10, 200, site as u8, 1));
    let mut b = Batch::default();
    for i in 0..n {
        let mac = MacAddr([0x00, 0x1a, 0x01, site as u8, (i >> 8) as u8, i as u8]);
        let ip = IpAddr::V4(Ipv4Addr::new(
            10,
            100 + (site / 8) as u8,
            (site % 8 * 32 + i / 256) as u8,
            i as u8,
        ));
        let hostname = format!("PUMP-{site:02}-{i:05}");
        b.sightings.push(Sighting {
            mac: Some(mac),
            ips: vec![ip],
            hostname: Some(hostname.clone()),
            kind: Some(AssetKind::InfusionPump),
            vendor: Some("Smiths Medical".into()),
            model: None,
            firmware: None,
            serial: None,
            first_seen: at,
            last_seen: at,
            evidence: vec![
                evidence(Field::Ip, ip.to_string(), "dhcp.ack", at),
                evidence(Field::Hostname, hostname, "dhcp.option12", at),
                evidence(Field::Vendor, "Smiths Medical".into(), "oui", at),
                evidence(Field::Kind, "infusion_pump".into(), "dhcp.fingerprint", at),
            ],
        });
        b.flows.push(FlowRecord {
            proto: "tcp".into(),
            client_ip: ip,
            client_port: 40_000 + (round % 20_000) as u16,
            server_ip: server,
            server_port: 443,
            client_mac: Some(mac),
            server_mac: None,
            vlan: None,
            app: "tls".into(),
            packets_to_server: 12,
            packets_to_client: 10,
            bytes_to_server: 2_400,
            bytes_to_client: 5_100,
            first_seen: at,
            last_seen: at,
            sessions: 1,
            tcp_state: "closed".into(),
        });
    }
    b
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, sites, assets, rounds, spool_dir, rest) = match args.as_slice() {
        [_, url, sites, assets, rounds, spool_dir, rest @ ..] if rest.len() <= 2 => {
            (url, sites, assets, rounds, spool_dir, rest)
        }
        _ => {
            eprintln!(
                "usage: fleet_load URL SITES ASSETS ROUNDS SPOOL_DIR [INTERVAL_SECONDS [FIRST_ROUND]]"
            );
            std::process::exit(2);
        }
    };
    let interval =
        Duration::from_secs_f64(rest.first().map_or(0.0, |s| s.parse().expect("INTERVAL")));
    let first: u32 = rest.get(1).map_or(0, |s| s.parse().expect("FIRST_ROUND"));
    let sites: u32 = sites.parse().expect("SITES");
    let assets: u32 = assets.parse().expect("ASSETS");
    let rounds: u32 = rounds.parse().expect("ROUNDS");
    let per_site = assets / sites;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for site in 0..sites {
        let opts = PublishOptions {
            url: url.clone(),
            sensor: format!("site-{site:02}"),
            user: None,
            password: None,
            spool: format!("{spool_dir}/site-{site:02}.spool").into(),
            spool_max_bytes: 1 << 30,
            ack_timeout: Duration::from_secs(10),
            items_per_message: pumpguard_fleet::schema::ITEMS_PER_MESSAGE,
        };
        tasks.push(tokio::spawn(async move {
            let mut p = Publisher::connect(&opts).await.expect("publisher");
            let start = tokio::time::Instant::now();
            for (k, round) in (first..first + rounds).enumerate() {
                tokio::time::sleep_until(start + interval * k as u32).await;
                p.send(&batch(site, per_site, round)).await.expect("send");
            }
            let waiting = p.drain(Duration::from_secs(60)).await.expect("drain");
            assert_eq!(waiting, 0, "{} messages left in the spool", waiting);
            let stats = p.stats();
            p.close().await;
            stats
        }));
    }
    let (mut messages, mut observations, mut spooled) = (0, 0, 0);
    for t in tasks {
        let s = t.await.expect("site");
        messages += s.messages;
        observations += s.observations;
        spooled += s.spooled;
    }
    println!(
        "{{\"messages\": {messages}, \"observations\": {observations}, \"spooled\": {spooled}, \"seconds\": {:.3}}}",
        started.elapsed().as_secs_f64()
    );
}
