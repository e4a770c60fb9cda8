//! Baselines: learning what each device (and each device model) normally does — the
//! services it uses, the ports others reach it on, the bytes it moves per hour of the
//! day — and comparing live traffic with it, so that alerts can say "PUMP-0042 never
//! spoke to 10.9.9.9 before; its model talks only to 10.30.0.5:8443".

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use pumpguard_model::{
    AlertKind, Baseline, DeviceBaseline, Endpoint, MacAddr, ModelBaseline, PeerService, Severity,
    time,
};

use crate::reach::proto_name;
use crate::{Finding, Findings, FlowEnd, FlowInfo, World, who};

/// Services and ports remembered per device or model while learning.
const MAX_PEERS: usize = 256;
const MAX_LISTENS: usize = 64;
/// Devices learned at most.
const MAX_DEVICES: usize = 100_000;
const HOUR_US: i64 = 3_600 * 1_000_000;

/// How a device is known across flows: its MAC on the segment, else its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DeviceKey {
    Mac(MacAddr),
    Ip(IpAddr),
}

pub(crate) fn device_key(mac: Option<MacAddr>, ip: IpAddr, world: &dyn World) -> DeviceKey {
    match mac {
        Some(m) if !world.is_router(m) => DeviceKey::Mac(m),
        _ => DeviceKey::Ip(ip),
    }
}

/// Bytes a device moved in the current clock hour.
#[derive(Debug, Default, Clone, Copy)]
struct Hour {
    /// Hours since the epoch.
    hour: i64,
    bytes: u64,
}

#[derive(Debug, Default)]
struct DeviceLearning {
    mac: Option<MacAddr>,
    ip: Option<IpAddr>,
    model: Option<String>,
    peers: BTreeSet<PeerService>,
    listens: BTreeSet<u16>,
    hourly: [u64; 24],
    hours_seen: u32,
    now: Hour,
}

impl DeviceLearning {
    fn fold(&mut self) {
        if self.now.bytes > 0 || self.now.hour != 0 {
            let slot = self.now.hour.rem_euclid(24) as usize;
            self.hourly[slot] = self.hourly[slot].max(self.now.bytes);
            self.hours_seen += 1;
        }
    }

    fn add_bytes(&mut self, hour: i64, bytes: u64) {
        if hour != self.now.hour {
            if hour < self.now.hour {
                // A flow that ended late in an earlier hour: count it there.
                let slot = hour.rem_euclid(24) as usize;
                self.hourly[slot] = self.hourly[slot].max(bytes);
                return;
            }
            self.fold();
            self.now = Hour { hour, bytes: 0 };
        }
        self.now.bytes += bytes;
    }
}

/// Learns a baseline from ended flows.
#[derive(Debug, Default)]
pub(crate) struct Learner {
    devices: HashMap<DeviceKey, DeviceLearning>,
    first_us: Option<i64>,
    last_us: i64,
}

fn service(end: &FlowEnd) -> PeerService {
    PeerService {
        ip: end.flow.server.ip(),
        port: end.flow.server.port(),
        proto: proto_name(end.flow.proto).to_owned(),
        app: end.app.as_str().to_owned(),
    }
}

impl Learner {
    /// Bytes a flow moved since it was last accounted, at `ts`, to both its ends.
    pub(crate) fn bytes(&mut self, flow: &FlowInfo, bytes: u64, ts: i64, world: &dyn World) {
        if bytes == 0 {
            return;
        }
        let hour = ts.div_euclid(HOUR_US);
        for (mac, ip) in [
            (flow.client_mac, flow.client.ip()),
            (flow.server_mac, flow.server.ip()),
        ] {
            let key = device_key(mac, ip, world);
            if self.devices.len() >= MAX_DEVICES && !self.devices.contains_key(&key) {
                continue;
            }
            self.devices.entry(key).or_default().add_bytes(hour, bytes);
        }
    }

    pub(crate) fn flow_end(&mut self, end: &FlowEnd, world: &dyn World) {
        if !matches!(end.flow.proto, 6 | 17) {
            return;
        }
        self.first_us = Some(self.first_us.map_or(end.first_us, |f| f.min(end.first_us)));
        self.last_us = self.last_us.max(end.last_us);
        self.bytes(&end.flow, end.unaccounted(), end.last_us, world);
        let ends = [
            (end.flow.client_mac, end.flow.client.ip(), true),
            (end.flow.server_mac, end.flow.server.ip(), false),
        ];
        for (mac, ip, client) in ends {
            let key = device_key(mac, ip, world);
            if self.devices.len() >= MAX_DEVICES && !self.devices.contains_key(&key) {
                continue;
            }
            let d = self.devices.entry(key).or_default();
            d.mac = d.mac.or(mac.filter(|m| !world.is_router(*m)));
            d.ip = Some(ip);
            if d.model.is_none() {
                d.model = world.model_of(ip);
            }
            // Only what was answered is normal: a scan's refused ports are not.
            if client && end.packets[1] > 0 && d.peers.len() < MAX_PEERS {
                d.peers.insert(service(end));
            }
            if !client && end.packets[1] > 0 && d.listens.len() < MAX_LISTENS {
                d.listens.insert(end.flow.server.port());
            }
        }
    }

    /// What was learned so far.
    pub(crate) fn baseline(&self) -> Option<Baseline> {
        let first = self.first_us?;
        let mut models: HashMap<String, (BTreeSet<PeerService>, u32)> = HashMap::new();
        let mut devices = Vec::with_capacity(self.devices.len());
        let mut keys: Vec<&DeviceKey> = self.devices.keys().collect();
        keys.sort_by_key(|k| match k {
            DeviceKey::Mac(m) => (0, m.to_string()),
            DeviceKey::Ip(i) => (1, i.to_string()),
        });
        for k in keys {
            let Some(d) = self.devices.get(k) else {
                continue;
            };
            let mut hourly = d.hourly;
            let slot = d.now.hour.rem_euclid(24) as usize;
            hourly[slot] = hourly[slot].max(d.now.bytes);
            if let Some(m) = &d.model {
                let e = models.entry(m.clone()).or_default();
                e.1 += 1;
                for p in &d.peers {
                    if e.0.len() < MAX_PEERS {
                        e.0.insert(p.clone());
                    }
                }
            }
            devices.push(DeviceBaseline {
                mac: d.mac,
                ip: d.ip,
                model: d.model.clone(),
                peers: d.peers.iter().cloned().collect(),
                listens: d.listens.iter().copied().collect(),
                hourly_bytes: hourly.to_vec(),
                hours_seen: d.hours_seen + u32::from(d.now.bytes > 0),
            });
        }
        let mut models: Vec<ModelBaseline> = models
            .into_iter()
            .map(|(model, (peers, n))| ModelBaseline {
                model,
                peers: peers.into_iter().collect(),
                devices: n,
            })
            .collect();
        models.sort_by(|a, b| a.model.cmp(&b.model));
        let t = |us: i64| time::from_micros(us).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Some(Baseline {
            learned_from: t(first),
            learned_until: t(self.last_us),
            devices,
            models,
        })
    }
}

/// Compares live traffic with a baseline.
#[derive(Debug)]
pub(crate) struct Watch {
    baseline: Arc<Baseline>,
    devices: HashMap<DeviceKey, usize>,
    models: HashMap<String, usize>,
    /// Bytes per device in the current clock hour, and whether it was alerted.
    hours: HashMap<DeviceKey, (Hour, bool)>,
}

/// Bytes in an hour below which volume is never anomalous.
const VOLUME_FLOOR: u64 = 1 << 20;
/// How many times its usual hourly bytes a device must move to be anomalous.
const VOLUME_FACTOR: u64 = 5;

impl Watch {
    pub(crate) fn new(baseline: Arc<Baseline>) -> Watch {
        let mut devices = HashMap::new();
        for (i, d) in baseline.devices.iter().enumerate() {
            if let Some(m) = d.mac {
                devices.insert(DeviceKey::Mac(m), i);
            } else if let Some(ip) = d.ip {
                devices.insert(DeviceKey::Ip(ip), i);
            }
        }
        let models = baseline
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.model.clone(), i))
            .collect();
        Watch {
            baseline,
            devices,
            models,
            hours: HashMap::new(),
        }
    }

    fn device(&self, key: &DeviceKey) -> Option<&DeviceBaseline> {
        self.devices
            .get(key)
            .and_then(|i| self.baseline.devices.get(*i))
    }

    /// Whether the pump's own or its model's baseline has this service; `None` when
    /// the baseline does not know the device (it is new: other rules apply).
    pub(crate) fn knows_service(&self, end: &FlowEnd, world: &dyn World) -> Option<bool> {
        let key = device_key(end.flow.client_mac, end.flow.client.ip(), world);
        let d = self.device(&key)?;
        let same = |p: &PeerService| {
            p.ip == end.flow.server.ip()
                && p.port == end.flow.server.port()
                && p.proto == proto_name(end.flow.proto)
        };
        if d.peers.iter().any(same) {
            return Some(true);
        }
        let model = d
            .model
            .as_ref()
            .and_then(|m| self.models.get(m))
            .and_then(|i| self.baseline.models.get(*i));
        Some(model.is_some_and(|m| m.peers.iter().any(same)))
    }

    /// The services a device's model (or the device) normally uses, for sentences.
    pub(crate) fn usual_services(&self, end: &FlowEnd, world: &dyn World) -> String {
        let key = device_key(end.flow.client_mac, end.flow.client.ip(), world);
        let Some(d) = self.device(&key) else {
            return String::new();
        };
        let model = d
            .model
            .as_ref()
            .and_then(|m| self.models.get(m))
            .and_then(|i| self.baseline.models.get(*i));
        let peers = model.map_or(&d.peers, |m| &m.peers);
        let mut shown: Vec<String> = peers
            .iter()
            .filter(|p| p.app != "dns" && p.app != "ntp" && p.app != "dhcp")
            .take(4)
            .map(|p| format!("{}:{}", p.ip, p.port))
            .collect();
        if peers.len() > shown.len() + 1 {
            shown.push("…".into());
        }
        match model {
            Some(m) => format!(
                "; its model ({}) talks only to {}",
                m.model,
                shown.join(", ")
            ),
            None => format!("; it talks only to {}", shown.join(", ")),
        }
    }

    /// Adds bytes a flow moved (since last accounted, at `ts`) to both ends' hours,
    /// raising `volume_anomaly` for a device far above what its baseline moved in that
    /// hour of the day.
    pub(crate) fn volume(
        &mut self,
        f: &mut Findings,
        flow: &FlowInfo,
        bytes: u64,
        ts: i64,
        world: &dyn World,
    ) {
        if bytes == 0 {
            return;
        }
        let hour = ts.div_euclid(HOUR_US);
        let ends = [
            (flow.client_mac, flow.client.ip()),
            (flow.server_mac, flow.server.ip()),
        ];
        for (mac, ip) in ends {
            let key = device_key(mac, ip, world);
            let Some(&index) = self.devices.get(&key) else {
                continue;
            };
            let entry = self
                .hours
                .entry(key)
                .or_insert((Hour { hour, bytes: 0 }, false));
            if entry.0.hour != hour {
                if hour < entry.0.hour {
                    continue;
                }
                *entry = (Hour { hour, bytes: 0 }, false);
            }
            entry.0.bytes += bytes;
            let Some(d) = self.baseline.devices.get(index) else {
                continue;
            };
            let slot = hour.rem_euclid(24) as usize;
            let usual = d
                .hourly_bytes
                .get(slot)
                .copied()
                .filter(|b| *b > 0)
                .unwrap_or_else(|| d.hourly_bytes.iter().copied().max().unwrap_or(0));
            let limit = usual.saturating_mul(VOLUME_FACTOR).max(VOLUME_FLOOR);
            if entry.1 || entry.0.bytes <= limit {
                continue;
            }
            entry.1 = true;
            let moved = entry.0.bytes;
            f.raise(Finding {
                kind: AlertKind::VolumeAnomaly,
                severity: Severity::Medium,
                subject: Endpoint { ip: Some(ip), mac: mac.filter(|m| !world.is_router(*m)) },
                peer: None,
                proto: proto_name(flow.proto),
                port: None,
                ts,
                flow: Some(flow.key()),
                facts: vec![
                    ("bytes_this_hour", moved.to_string()),
                    ("baseline_bytes_per_hour", usual.to_string()),
                    ("hour_utc", format!("{slot:02}:00")),
                ],
                sentence: format!(
                    "{} moved {moved} bytes in the hour from {slot:02}:00 UTC; its baseline for that hour is at most {usual} bytes",
                    who(world, ip)
                ),
                action: "Look at the device's flows of that hour (pumpguard flows list --ip): \
                    a pump that suddenly moves much more data may be exfiltrating or \
                    being updated by someone it should not be.",
            });
        }
    }
}
