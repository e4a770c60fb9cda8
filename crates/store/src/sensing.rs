//! What the passive sensor writes: sightings merged into the inventory (with their
//! evidence) and flow summaries, one transaction per batch.

use std::net::IpAddr;

use pumpguard_model::{Asset, AssetId, AssetKind, Detection, FlowRecord, Sighting, Source};
use serde::Serialize;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store};

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SenseSummary {
    pub assets_created: u64,
    /// Assets whose identity changed (not counting times last seen).
    pub assets_updated: u64,
    pub flows: u64,
    pub evidence: u64,
    /// Alerts the batch's detections (and class changes) created.
    pub alerts_raised: u64,
    /// Stored alerts they recurred in (counts added, resolved ones opened again).
    pub alerts_updated: u64,
    /// The alerts raised or updated, by id (to forward them, e.g. to a SIEM).
    pub alert_ids: Vec<i64>,
}

/// Which flows to list.
#[derive(Debug, Clone, Default)]
pub struct FlowFilter {
    /// Flows with this address at either end.
    pub ip: Option<IpAddr>,
    pub app: Option<String>,
    pub proto: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// The most addresses an asset keeps (newest first for discovered assets).
pub(crate) const MAX_IPS: usize = 8;

/// The id of an asset the sensor discovers: by MAC, else by address.
pub(crate) fn discovered_id(s: &Sighting) -> Option<AssetId> {
    if let Some(mac) = s.mac {
        return Some(AssetId::from_mac(mac));
    }
    let ip = s.ips.first()?;
    let text = match ip {
        IpAddr::V4(v4) => format!("ip-{v4}"),
        IpAddr::V6(v6) => format!("ip-{}", v6.to_string().replace(':', "-")),
    };
    text.parse().ok()
}

/// Merges a sighting into the stored asset (or a new discovered one). Imported assets
/// keep what the inventory says and only gain what it leaves empty; discovered assets
/// take the sensor's best current values. Returns `None` when there is nothing to
/// identify (no MAC, no address).
pub(crate) fn merge(stored: Option<&Asset>, s: &Sighting) -> Option<Asset> {
    let mut a = match stored {
        Some(a) => a.clone(),
        None => {
            let kind = s.kind.unwrap_or(AssetKind::Other);
            Asset::new(discovered_id(s)?, kind, Source::Discovered)
        }
    };
    let discovered = a.source == Source::Discovered;
    let take = |old: &mut Option<String>, new: &Option<String>| {
        if let Some(v) = new
            && (discovered || old.is_none())
        {
            *old = Some(v.clone());
        }
    };
    take(&mut a.hostname, &s.hostname);
    take(&mut a.vendor, &s.vendor);
    take(&mut a.model, &s.model);
    take(&mut a.firmware, &s.firmware);
    take(&mut a.serial, &s.serial);
    if let Some(k) = s.kind
        && discovered
        && a.kind != k
    {
        // Keep the criticality a person set; follow the kind's default otherwise.
        if a.criticality == a.kind.default_criticality() {
            a.criticality = k.default_criticality();
        }
        a.kind = k;
    }
    if a.mac.is_none() {
        a.mac = s.mac;
    }
    if discovered {
        let mut ips = s.ips.clone();
        ips.extend(a.ips.iter().filter(|ip| !s.ips.contains(ip)));
        ips.truncate(MAX_IPS);
        a.ips = ips;
    } else {
        for ip in &s.ips {
            if !a.ips.contains(ip) && a.ips.len() < MAX_IPS {
                a.ips.push(*ip);
            }
        }
    }
    a.first_seen = Some(a.first_seen.map_or(s.first_seen, |t| t.min(s.first_seen)));
    a.last_seen = Some(a.last_seen.map_or(s.last_seen, |t| t.max(s.last_seen)));
    Some(a)
}

/// Whether two versions of an asset differ in more than when it was seen.
pub(crate) fn identity_changed(before: &Asset, after: &Asset) -> bool {
    let mut b = before.clone();
    b.first_seen = after.first_seen;
    b.last_seen = after.last_seen;
    b != *after
}

impl Store {
    /// Merges sightings into the inventory (creating discovered assets, linking
    /// imported ones by MAC or address), stores their evidence, adds flow counters and
    /// turns detections into alerts, all in one transaction with one audit entry per
    /// created or changed asset and per raised or reopened alert.
    ///
    /// Each detection's ends are tied to assets by MAC, then by address (the assets as
    /// this batch leaves them first, then the stored ones; a router's MAC with an
    /// address the router does not hold is routed traffic, tied by address); its
    /// severity is raised for a life-sustaining subject; alerts are one per
    /// `kind|subject|peer` (asset id, else address, else MAC), a recurrence adding to
    /// the stored one and opening it again if it was resolved. A discovered asset whose
    /// kind changes from a specific one raises a `device_class_change` alert. A
    /// detection without a subject address or MAC, or with its times reversed, is
    /// `Rejected` before anything is written.
    pub async fn record_sense(
        &self,
        actor: &str,
        origin: &str,
        sightings: &[Sighting],
        flows: &[FlowRecord],
        detections: &[Detection],
    ) -> Result<SenseSummary> {
        dispatch!(
            self,
            record_sense(actor, origin, sightings, flows, detections)
        )
    }

    /// Flows matching `filter`, by first seen then key.
    pub async fn list_flows(&self, filter: &FlowFilter) -> Result<Vec<FlowRecord>> {
        dispatch!(self, list_flows(filter))
    }

    /// Every (client, server) address pair the flows show, once: who talked to whom,
    /// without the flows (the exposure of `vuln match` needs no more).
    pub async fn flow_peers(&self) -> Result<Vec<(std::net::IpAddr, std::net::IpAddr)>> {
        dispatch!(self, flow_peers())
    }

    /// The evidence behind an asset's identity fields.
    pub async fn asset_evidence(&self, id: &str) -> Result<Vec<pumpguard_model::Evidence>> {
        dispatch!(self, asset_evidence(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpguard_model::MacAddr;

    fn sighting() -> Sighting {
        let t: jiff::Timestamp = "2026-11-01T08:00:00Z".parse().expect("time");
        Sighting {
            mac: Some(MacAddr([0x00, 0x1a, 0x01, 1, 2, 3])),
            ips: vec!["10.20.0.7".parse().expect("ip")],
            hostname: Some("MEDF4000-1".into()),
            kind: Some(AssetKind::InfusionPump),
            vendor: Some("Smiths Medical".into()),
            model: None,
            firmware: Some("1.6.1".into()),
            serial: None,
            first_seen: t,
            last_seen: t,
            evidence: vec![],
        }
    }

    #[test]
    fn discovered_asset_takes_the_sighting() {
        let a = merge(None, &sighting()).expect("asset");
        assert_eq!(a.asset_id.as_str(), "mac-001a01010203");
        assert_eq!(a.kind, AssetKind::InfusionPump);
        assert_eq!(a.source, Source::Discovered);
        assert_eq!(a.hostname.as_deref(), Some("MEDF4000-1"));
        let mut s = sighting();
        s.mac = None;
        assert_eq!(
            merge(None, &s).expect("asset").asset_id.as_str(),
            "ip-10.20.0.7"
        );
    }

    #[test]
    fn imported_asset_keeps_its_fields_and_gains_empty_ones() {
        let mut imported = Asset::new(
            "PUMP-1".parse().expect("id"),
            AssetKind::InfusionPump,
            Source::Imported,
        );
        imported.vendor = Some("Smiths".into());
        let a = merge(Some(&imported), &sighting()).expect("asset");
        assert_eq!(a.asset_id.as_str(), "PUMP-1");
        assert_eq!(a.vendor.as_deref(), Some("Smiths"));
        assert_eq!(a.firmware.as_deref(), Some("1.6.1"));
        assert_eq!(a.mac, sighting().mac);
        assert!(identity_changed(&imported, &a));
        let again = merge(Some(&a), &sighting()).expect("asset");
        assert!(!identity_changed(&a, &again));
    }

    #[test]
    fn flow_keys_ignore_direction() {
        let t: jiff::Timestamp = "2026-11-01T08:00:00Z".parse().expect("time");
        let f = FlowRecord {
            proto: "udp".into(),
            client_ip: "10.0.0.9".parse().expect("ip"),
            client_port: 5000,
            server_ip: "10.0.0.1".parse().expect("ip"),
            server_port: 53,
            client_mac: None,
            server_mac: None,
            vlan: None,
            app: "dns".into(),
            packets_to_server: 1,
            packets_to_client: 1,
            bytes_to_server: 60,
            bytes_to_client: 90,
            first_seen: t,
            last_seen: t,
            sessions: 1,
            tcp_state: "none".into(),
        };
        let mut r = f.clone();
        std::mem::swap(&mut r.client_ip, &mut r.server_ip);
        std::mem::swap(&mut r.client_port, &mut r.server_port);
        assert_eq!(f.key(), r.key());
        assert_eq!(f.key(), "udp 10.0.0.1 53 10.0.0.9 5000");
    }
}
