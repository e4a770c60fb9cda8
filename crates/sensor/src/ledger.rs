//! Drug-library reports: which library version each pump said it runs. An HL7 message
//! with an `MDC_PUMP_DRUG_LIBRARY_VERSION` observation (IHE PCD-10, ORU^R42) reports the
//! library of the device it names in OBX-18 — a pump server reports for its pumps, each
//! named by an EUI-64 built from its MAC — or, when it names none, of its sender.
//! Reports are added up per (pump, version) until the next batch.

use std::net::IpAddr;

use foldhash::HashMap;
use pumpguard_detect::World;
use pumpguard_model::{Endpoint, LibraryReport, MacAddr};
use pumpguard_proto::hl7::Hl7Summary;

use crate::rules::mac_of_eui64;

/// Distinct (pump, version) pairs kept between batches: beyond, new pairs wait for the
/// next batch to be taken (a flood of invented versions cannot grow memory).
const MAX_PENDING: usize = 16_384;

/// Flow keys kept per report.
const MAX_FLOWS: usize = 4;

type Key = (Endpoint, Option<String>, String);

#[derive(Debug)]
struct Pending {
    reporter: Endpoint,
    care_area: Option<String>,
    first_us: i64,
    last_us: i64,
    count: u64,
    flows: Vec<String>,
}

/// Reports since the last batch.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pending: HashMap<Key, Pending>,
}

impl Ledger {
    /// Notes the library an HL7 message reports, if any. `sender` is the end that sent
    /// it (address and, when the frame carried one, MAC); `flow` its flow's key.
    pub(crate) fn hl7(&mut self, h: &Hl7Summary, sender: Endpoint, flow: &str, ts: i64) {
        let Some(lib) = &h.library else {
            return;
        };
        let pump = match &lib.device {
            Some(d) => match mac_of_eui64(d) {
                Some(mac) => Endpoint {
                    ip: None,
                    mac: Some(MacAddr(mac)),
                },
                None => Endpoint::default(),
            },
            None => sender.clone(),
        };
        let device = lib.device.clone();
        let key = (pump, device, lib.version.clone());
        let full = self.pending.len() >= MAX_PENDING;
        let entry = match self.pending.get_mut(&key) {
            Some(e) => e,
            None if full => return,
            None => self.pending.entry(key).or_insert(Pending {
                reporter: sender.clone(),
                care_area: None,
                first_us: ts,
                last_us: ts,
                count: 0,
                flows: Vec::new(),
            }),
        };
        entry.count += 1;
        entry.first_us = entry.first_us.min(ts);
        if ts >= entry.last_us {
            entry.last_us = ts;
            entry.reporter = sender;
        }
        if lib.care_area.is_some() {
            entry.care_area.clone_from(&lib.care_area);
        }
        if entry.flows.len() < MAX_FLOWS && !entry.flows.iter().any(|f| f == flow) {
            entry.flows.push(flow.to_owned());
        }
    }

    /// The reports since the last call, by pump then version; a pump known by MAC gets
    /// the address it uses now.
    pub(crate) fn take(&mut self, world: &impl World) -> Vec<LibraryReport> {
        let mut out: Vec<LibraryReport> = self
            .pending
            .drain()
            .map(|((mut pump, device, version), p)| {
                if pump.ip.is_none()
                    && let Some(mac) = pump.mac
                {
                    pump.ip = world.ip_of(mac);
                }
                LibraryReport {
                    pump,
                    device,
                    reporter: p.reporter,
                    version,
                    care_area: p.care_area,
                    first_seen: crate::timestamp(p.first_us),
                    last_seen: crate::timestamp(p.last_us),
                    count: p.count,
                    flows: p.flows,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let key = |r: &LibraryReport| (r.pump.mac, r.pump.ip, r.device.clone());
            key(a).cmp(&key(b)).then_with(|| a.version.cmp(&b.version))
        });
        out
    }
}

/// The sender of a message on a flow: the server side when `from_server`.
pub(crate) fn sender(
    client: (IpAddr, Option<MacAddr>),
    server: (IpAddr, Option<MacAddr>),
    from_server: bool,
) -> Endpoint {
    let (ip, mac) = if from_server { server } else { client };
    Endpoint { ip: Some(ip), mac }
}
