//! Exposure: how reachable each asset is, from its zone and the flows the sensor saw.
//! It is one factor of a finding's priority (see [`crate::matcher::Priority`]).

use std::collections::HashMap;
use std::net::IpAddr;

use pumpguard_model::{Asset, is_internet};
use serde::Serialize;

/// How reachable an asset is, from its zone and what the sensor saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    pub factor: f64,
    pub reason: String,
}

impl Exposure {
    /// What the zone alone says when the sensor has seen nothing of the asset: 1.2 with
    /// no zone (flat network), 1.0 in a zone.
    pub fn from_zone(asset: &Asset) -> Exposure {
        match &asset.zone {
            Some(z) => Exposure {
                factor: 1.0,
                reason: format!("in zone {z}; not seen talking outside it"),
            },
            None => Exposure {
                factor: 1.2,
                reason: "in no zone (flat network)".into(),
            },
        }
    }
}

/// What one asset was seen doing, worst first.
#[derive(Debug, Default)]
struct Seen {
    internet: Option<IpAddr>,
    inbound_from_zone: Option<(String, IpAddr)>,
    outbound_to_zone: Option<(String, IpAddr)>,
    any: bool,
}

/// The exposure of every asset the flows show, by asset id, from who talked to whom
/// (`(client, server)` address pairs, one per pair is enough):
/// - 1.5 when it exchanged traffic with a public address;
/// - 1.3 when a host of another zone (or of none) connected to it;
/// - 1.1 when it connected to a host of another zone;
/// - 1.0 when it was seen only inside its zone (1.2 when it has no zone: flat network).
///
/// Assets the flows do not show are absent (the caller falls back on
/// [`Exposure::from_zone`]).
pub fn exposures(assets: &[Asset], peers: &[(IpAddr, IpAddr)]) -> HashMap<String, Exposure> {
    let mut by_ip: HashMap<IpAddr, usize> = HashMap::new();
    for (i, a) in assets.iter().enumerate() {
        for ip in &a.ips {
            by_ip.entry(*ip).or_insert(i);
        }
    }
    let zone_of =
        |ip: &IpAddr| -> Option<&str> { by_ip.get(ip).and_then(|&i| assets[i].zone.as_deref()) };
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    for &(client, server) in peers {
        for (me, peer, inbound) in [(server, client, true), (client, server, false)] {
            let Some(&i) = by_ip.get(&me) else {
                continue;
            };
            let s = seen.entry(i).or_default();
            s.any = true;
            if is_internet(peer) {
                s.internet.get_or_insert(peer);
                continue;
            }
            let mine = assets[i].zone.as_deref();
            let theirs = zone_of(&peer);
            if mine.is_some() && theirs != mine {
                let z = theirs.unwrap_or("no zone").to_owned();
                if inbound {
                    s.inbound_from_zone.get_or_insert((z, peer));
                } else {
                    s.outbound_to_zone.get_or_insert((z, peer));
                }
            }
        }
    }
    seen.into_iter()
        .filter(|(_, s)| s.any)
        .map(|(i, s)| {
            let a = &assets[i];
            let e = if let Some(ip) = s.internet {
                Exposure {
                    factor: 1.5,
                    reason: format!("seen exchanging traffic with the internet ({ip})"),
                }
            } else if let Some((z, ip)) = s.inbound_from_zone {
                Exposure {
                    factor: 1.3,
                    reason: format!("reached from {z} ({ip})"),
                }
            } else if let Some((z, ip)) = s.outbound_to_zone {
                Exposure {
                    factor: 1.1,
                    reason: format!("connects to {z} ({ip})"),
                }
            } else if let Some(z) = &a.zone {
                Exposure {
                    factor: 1.0,
                    reason: format!("seen only inside zone {z}"),
                }
            } else {
                Exposure {
                    factor: 1.2,
                    reason: "in no zone (flat network); seen on the network".into(),
                }
            };
            (a.asset_id.as_str().to_owned(), e)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::{AssetId, AssetKind, FlowRecord, Source};

    fn asset(id: &str, ip: &str, zone: Option<&str>) -> Asset {
        let mut a = Asset::new(
            id.parse::<AssetId>().expect("id"),
            AssetKind::InfusionPump,
            Source::Imported,
        );
        a.ips = vec![ip.parse().expect("ip")];
        a.zone = zone.map(str::to_owned);
        a
    }

    fn flow(client: &str, server: &str) -> FlowRecord {
        FlowRecord {
            proto: "tcp".into(),
            client_ip: client.parse().expect("ip"),
            client_port: 40000,
            server_ip: server.parse().expect("ip"),
            server_port: 443,
            client_mac: None,
            server_mac: None,
            vlan: None,
            app: "tls".into(),
            packets_to_server: 1,
            packets_to_client: 1,
            bytes_to_server: 60,
            bytes_to_client: 60,
            first_seen: jiff::Timestamp::UNIX_EPOCH,
            last_seen: jiff::Timestamp::UNIX_EPOCH,
            sessions: 1,
            tcp_state: "closed".into(),
        }
    }

    #[test]
    fn the_worst_thing_seen_sets_the_factor() {
        let assets = [
            asset("pump-1", "10.20.1.10", Some("pumps")),
            asset("pump-2", "10.20.1.11", Some("pumps")),
            asset("server", "10.30.0.11", Some("servers")),
            asset("ws", "10.40.0.5", None),
            asset("quiet", "10.20.1.99", Some("pumps")),
        ];
        let flows = [
            flow("10.20.1.10", "100.64.0.9"), // shared address space: not the internet
            flow("10.20.1.10", "93.184.216.34"), // public
            flow("10.40.0.5", "10.20.1.11"),  // a host of no zone reaches pump-2
            flow("10.20.1.10", "10.30.0.11"), // pump-1 to servers (server: inbound)
        ];
        let peers: Vec<_> = flows.iter().map(|f| (f.client_ip, f.server_ip)).collect();
        let e = exposures(&assets, &peers);
        assert_eq!(e["pump-1"].factor, 1.5, "{:?}", e["pump-1"]);
        assert!(e["pump-1"].reason.contains("93.184.216.34"));
        assert_eq!(e["pump-2"].factor, 1.3);
        assert_eq!(e["pump-2"].reason, "reached from no zone (10.40.0.5)");
        assert_eq!(e["server"].factor, 1.3, "{:?}", e["server"]);
        assert_eq!(e["ws"].factor, 1.2, "{:?}", e["ws"]);
        assert!(!e.contains_key("quiet"));
    }

    #[test]
    fn internet_means_routable() {
        for ip in [
            "10.1.1.1",
            "192.168.0.1",
            "172.16.5.4",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
            "::1",
            "224.0.0.1",
            "0.1.2.3",
            "250.0.0.1",
        ] {
            assert!(!is_internet(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_internet(ip.parse().expect("ip")), "{ip}");
        }
    }
}
