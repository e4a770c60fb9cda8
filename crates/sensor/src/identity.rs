//! Device identity from the wire: facts (field, value, source, confidence) about MAC
//! addresses and IP addresses, which address belongs to which MAC, which MACs are
//! routers, and the [`Sighting`]s that merge them into one picture per device.
//!
//! Facts are kept against what they were seen about: a DHCP hostname against the
//! client's MAC, a DNS name or a served protocol against an address. When a batch is
//! reported, each address bound to a (non-router) MAC lends its facts to that MAC's
//! device; addresses that no MAC on a captured segment claims (hosts behind a router)
//! become devices of their own, if they are private addresses.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::net::IpAddr;

use pumpguard_model::{AssetKind, Evidence, Field, MacAddr, Sighting, time};

pub(crate) type Mac = [u8; 6];

/// What a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    Mac(Mac),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Fact {
    confidence: u8,
    first_us: i64,
    last_us: i64,
    /// Sightings since the last report (the store adds counts up).
    pending: u64,
}

/// A fact's identity: field, value and where it was seen.
type FactKey = (Field, Box<str>, &'static str);

#[derive(Debug, Default)]
struct Record {
    /// Few per device: a vector searched in place allocates nothing for a fact seen
    /// again (the common case: a heartbeat repeats what the last one said).
    facts: Vec<(FactKey, Fact)>,
    first_us: i64,
    last_us: i64,
    /// Whether anything happened since the last report.
    dirty: bool,
    /// Whether this MAC or address sent packets itself (not only was named).
    sent: bool,
}

impl Record {
    fn touch(&mut self, ts: i64) {
        if self.first_us == 0 || ts < self.first_us {
            self.first_us = ts;
        }
        if ts > self.last_us {
            self.last_us = ts;
        }
        self.dirty = true;
    }
}

/// How sure an address ↔ MAC binding is.
pub(crate) mod bind {
    /// A DHCP ACK assigned the address to the client hardware address.
    pub const DHCP_ACK: u8 = 95;
    /// An ARP sender claimed it.
    pub const ARP: u8 = 90;
    /// A DHCP request asked for it.
    pub const DHCP_REQUEST: u8 = 80;
    /// Packets came from it with this source MAC (a router's MAC carries many).
    pub const TRAFFIC: u8 = 50;
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    mac: Mac,
    strength: u8,
    last_us: i64,
}

/// MACs and addresses tracked at most (beyond, only those with facts).
const MAX_RECORDS: usize = 262_144;

/// Distinct facts kept per MAC or address (a device that says something new every
/// packet must not grow memory without bound).
const MAX_FACTS: usize = 256;

/// MACs remembered per address (its own, a router's on another segment, a clone).
const MAX_CANDIDATES: usize = 4;

/// Distinct source addresses a MAC may carry before it is taken for a router.
const ROUTER_SOURCES: usize = 3;

/// The identity engine. Bounded by the number of devices and addresses on the
/// segment; facts per record are distinct (field, value, source) triples.
#[derive(Debug, Default)]
pub(crate) struct Identity {
    records: HashMap<Subject, Record>,
    /// Up to [`MAX_CANDIDATES`] MACs each address was seen with, the best decides.
    /// Inline for the one MAC most addresses have (a heap vector per address was 4 MB
    /// per 65,000 addresses).
    ip_mac: HashMap<IpAddr, smallvec::SmallVec<[Binding; 1]>>,
    /// Up to [`ROUTER_SOURCES`] distinct source addresses seen behind each MAC.
    mac_sources: HashMap<Mac, Vec<IpAddr>>,
    routers: HashSet<Mac>,
    /// Router addresses announced by DHCP (option 3).
    announced_routers: HashSet<IpAddr>,
    /// Recently seen sources (MAC, address) and when, direct-mapped by a hash of the
    /// pair: a packet from a source seen within the last second teaches nothing new, so
    /// it skips the five map lookups (with 400 pumps interleaved, remembering only the
    /// last source hardly ever hit). Fixed size: 40 KiB whatever the traffic.
    recent: Vec<Option<(Mac, Option<IpAddr>, i64)>>,
}

/// Slots of [`Identity::recent`] (a power of two).
const RECENT: usize = 1024;

/// The slot of a source in [`Identity::recent`].
fn recent_slot(mac: &Mac, ip: Option<IpAddr>) -> usize {
    let [a, b, c, d, e, f] = *mac;
    let mut h = u64::from_le_bytes([a, b, c, d, e, f, 0, 0]);
    match ip {
        Some(IpAddr::V4(v4)) => h ^= u64::from(u32::from(v4)) << 17,
        Some(IpAddr::V6(v6)) => {
            let bits = u128::from(v6);
            h ^= (bits as u64) ^ ((bits >> 64) as u64).rotate_left(29);
        }
        None => {}
    }
    // Fibonacci hashing: the top bits of the product index the table.
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - RECENT.trailing_zeros())) as usize
}

/// First-hop redundancy virtual MACs (HSRP v1 `00:00:0c:07:ac:xx`, HSRP v2
/// `00:00:0c:9f:fx:xx`, VRRP `00:00:5e:00:01:xx` and `…:02:xx` for IPv6): whoever
/// uses one is a router.
pub(crate) fn is_virtual_router(mac: &Mac) -> bool {
    matches!(mac, [0x00, 0x00, 0x0c, 0x07, 0xac, _])
        || matches!(mac, [0x00, 0x00, 0x0c, 0x9f, x, _] if x & 0xf0 == 0xf0)
        || matches!(mac, [0x00, 0x00, 0x5e, 0x00, 0x01 | 0x02, _])
}

/// A unicast, globally meaningful MAC (not multicast/broadcast, not all zero).
pub(crate) fn is_unicast(mac: &Mac) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

/// An address that names one host (not unspecified, multicast or broadcast).
pub(crate) fn is_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[3] == 255)
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// A private (site-local) address: devices behind a router are only tracked if theirs is.
pub(crate) fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

impl Identity {
    /// Accounts a packet's source: the sending MAC and the address it sent from.
    /// Returns the MAC when it is new.
    pub(crate) fn packet(
        &mut self,
        src_mac: Option<Mac>,
        src_ip: Option<IpAddr>,
        ts: i64,
    ) -> Option<Mac> {
        let mac = src_mac.filter(is_unicast);
        let ip = src_ip.filter(is_host);
        if let Some(m) = &mac
            && let Some(Some((seen_mac, seen_ip, t))) = self.recent.get(recent_slot(m, ip))
            && seen_mac == m
            && *seen_ip == ip
            && ts >= *t
            && ts - t < 1_000_000
        {
            // The same source within a second: nothing new to learn.
            return None;
        }
        let mut new = None;
        if let Some(m) = mac {
            let r = self.records.entry(Subject::Mac(m)).or_default();
            if !r.sent {
                r.sent = true;
                new = Some(m);
            }
            r.touch(ts);
            if is_virtual_router(&m) && self.routers.insert(m) {
                self.fact(
                    Subject::Mac(m),
                    Field::Role,
                    "router",
                    "mac.virtual_router",
                    95,
                    ts,
                );
                self.fact(
                    Subject::Mac(m),
                    Field::Kind,
                    "network",
                    "mac.virtual_router",
                    90,
                    ts,
                );
            }
            if let Some(i) = ip {
                let sources = self.mac_sources.entry(m).or_default();
                if !sources.contains(&i) && sources.len() < ROUTER_SOURCES {
                    sources.push(i);
                }
                self.bind(i, m, bind::TRAFFIC, ts);
            }
            if self.recent.is_empty() {
                self.recent = vec![None; RECENT];
            }
            if let Some(slot) = self.recent.get_mut(recent_slot(&m, ip)) {
                *slot = Some((m, ip, ts));
            }
        }
        if let Some(i) = ip {
            // Bounded: past the limit, new addresses are only tracked once a fact
            // names them (a flood of spoofed sources cannot grow this map).
            if self.records.len() < MAX_RECORDS || self.records.contains_key(&Subject::Ip(i)) {
                let r = self.records.entry(Subject::Ip(i)).or_default();
                r.touch(ts);
                r.sent = true;
            }
        }
        new
    }

    /// The MAC an address belongs to: the strongest, then newest, binding; a router's
    /// MAC only by ARP or DHCP (it carries every address behind it).
    fn owner(&self, ip: &IpAddr) -> Option<Binding> {
        self.ip_mac
            .get(ip)?
            .iter()
            .filter(|b| b.strength >= bind::DHCP_REQUEST || !self.routers.contains(&b.mac))
            .max_by_key(|b| (b.strength, b.last_us))
            .copied()
    }

    /// Whether anything is known about `subject`.
    pub(crate) fn knows(&self, subject: Subject) -> bool {
        self.records.contains_key(&subject)
    }

    /// Binds `ip` to `mac` unless a stronger (or as strong and newer) binding exists.
    pub(crate) fn bind(&mut self, ip: IpAddr, mac: Mac, strength: u8, ts: i64) {
        if !is_host(&ip) || !is_unicast(&mac) {
            return;
        }
        let candidates = self.ip_mac.entry(ip).or_default();
        if let Some(b) = candidates.iter_mut().find(|b| b.mac == mac) {
            b.strength = b.strength.max(strength);
            b.last_us = b.last_us.max(ts);
        } else {
            let new = Binding {
                mac,
                strength,
                last_us: ts,
            };
            if candidates.len() < MAX_CANDIDATES {
                candidates.push(new);
            } else if let Some(weakest) = candidates
                .iter_mut()
                .min_by_key(|b| (b.strength, b.last_us))
                .filter(|b| (b.strength, b.last_us) < (strength, ts))
            {
                *weakest = new;
            }
        }
        self.records.entry(Subject::Mac(mac)).or_default().touch(ts);
    }

    pub(crate) fn announce_router(&mut self, ip: IpAddr) {
        if is_host(&ip) {
            self.announced_routers.insert(ip);
        }
    }

    /// Records a fact about a subject.
    pub(crate) fn fact(
        &mut self,
        subject: Subject,
        field: Field,
        value: &str,
        source: &'static str,
        confidence: u8,
        ts: i64,
    ) {
        let value = value.trim();
        if value.is_empty() || value.len() > 256 {
            return;
        }
        match subject {
            Subject::Mac(m) if !is_unicast(&m) => return,
            Subject::Ip(i) if !is_host(&i) => return,
            _ => {}
        }
        let r = self.records.entry(subject).or_default();
        r.touch(ts);
        let at = match r
            .facts
            .iter()
            .position(|((f, v, s), _)| *f == field && *s == source && **v == *value)
        {
            Some(at) => at,
            None => {
                if r.facts.len() >= MAX_FACTS {
                    return;
                }
                let fact = Fact {
                    confidence,
                    first_us: ts,
                    last_us: ts,
                    pending: 0,
                };
                r.facts.push(((field, Box::from(value), source), fact));
                r.facts.len() - 1
            }
        };
        let Some((_, f)) = r.facts.get_mut(at) else {
            return;
        };
        f.confidence = f.confidence.max(confidence);
        f.first_us = f.first_us.min(ts);
        f.last_us = f.last_us.max(ts);
        f.pending += 1;
    }

    /// The best value of `field` known about `subject` (for rules that depend on other
    /// facts, e.g. "the client is a pump").
    pub(crate) fn best(&self, subject: Subject, field: Field) -> Option<&str> {
        let r = self.records.get(&subject)?;
        best_of(
            r.facts
                .iter()
                .map(|(k, f)| (k, f))
                .filter(|((f, _, _), _)| *f == field),
        )
        .map(|(v, _)| v)
    }

    /// The kind of the device an address belongs to, as known now.
    pub(crate) fn kind_of_ip(&self, ip: IpAddr) -> Option<AssetKind> {
        self.best_of_ip(ip, Field::Kind)
            .and_then(|k| k.parse().ok())
    }

    /// The vendor of the device an address belongs to, as known now.
    pub(crate) fn vendor_of_ip(&self, ip: IpAddr) -> Option<String> {
        self.best_of_ip(ip, Field::Vendor).map(str::to_owned)
    }

    /// The best value of `field` for the device an address belongs to: what its MAC
    /// says (unless the MAC is a router's), else what the address itself says.
    fn best_of_ip(&self, ip: IpAddr, field: Field) -> Option<&str> {
        self.owner(&ip)
            .filter(|b| !self.routers.contains(&b.mac))
            .and_then(|b| self.best(Subject::Mac(b.mac), field))
            .or_else(|| self.best(Subject::Ip(ip), field))
    }

    pub(crate) fn devices(&self) -> usize {
        self.records.len()
    }

    /// Sightings of every device that changed since the last call (all of them with
    /// `all`), and resets the pending counts.
    pub(crate) fn take_sightings(&mut self, all: bool) -> Vec<Sighting> {
        // A MAC that holds an IPv4 address by ARP or DHCP and sends from another one
        // it does not hold that way forwards for others: a router.
        let strong: HashSet<(IpAddr, Mac)> = self
            .ip_mac
            .iter()
            .flat_map(|(ip, bs)| bs.iter().map(move |b| (*ip, *b)))
            .filter(|(_, b)| b.strength >= bind::DHCP_REQUEST)
            .map(|(ip, b)| (ip, b.mac))
            .collect();
        let holders: HashSet<Mac> = strong.iter().map(|(_, m)| *m).collect();
        let forwarding: Vec<Mac> = self
            .mac_sources
            .iter()
            .filter(|(mac, sources)| {
                sources.len() >= ROUTER_SOURCES
                    || (holders.contains(*mac)
                        && sources
                            .iter()
                            .any(|ip| ip.is_ipv4() && !strong.contains(&(*ip, **mac))))
            })
            .map(|(mac, _)| *mac)
            .collect();
        for mac in forwarding {
            self.routers.insert(mac);
            let last = self
                .records
                .get(&Subject::Mac(mac))
                .map_or(0, |r| r.last_us);
            let known = self.records.get(&Subject::Mac(mac)).is_some_and(|r| {
                r.facts
                    .iter()
                    .any(|((f, v, _), _)| *f == Field::Role && &**v == "router")
            });
            if !known {
                self.fact(
                    Subject::Mac(mac),
                    Field::Role,
                    "router",
                    "ip.forwarding",
                    70,
                    last,
                );
                self.fact(
                    Subject::Mac(mac),
                    Field::Kind,
                    "network",
                    "ip.forwarding",
                    70,
                    last,
                );
            }
        }
        // Which addresses belong to which MAC: strong bindings always; traffic
        // bindings only to MACs that are not routers.
        let mut ips_of: HashMap<Mac, Vec<(IpAddr, Binding)>> = HashMap::new();
        let mut owned: HashSet<IpAddr> = HashSet::new();
        let ips: Vec<IpAddr> = self.ip_mac.keys().copied().collect();
        for ip in &ips {
            let Some(b) = self.owner(ip) else { continue };
            ips_of.entry(b.mac).or_default().push((*ip, b));
            owned.insert(*ip);
        }
        // A router's own address: the DHCP-announced router address no one else
        // claims, when exactly one router MAC is on the segment.
        if self.routers.len() == 1
            && let Some(r) = self.routers.iter().next()
        {
            {
                for ip in &self.announced_routers {
                    if !owned.contains(ip) {
                        let entry = ips_of.entry(*r).or_default();
                        if !entry.iter().any(|(i, _)| i == ip) {
                            entry.push((
                                *ip,
                                Binding {
                                    mac: *r,
                                    strength: bind::DHCP_REQUEST,
                                    last_us: 0,
                                },
                            ));
                        }
                        owned.insert(*ip);
                    }
                }
            }
        }

        let mut out = Vec::new();
        let subjects: Vec<Subject> = self.records.keys().copied().collect();
        for subject in subjects {
            match subject {
                Subject::Mac(mac) => {
                    let ips = ips_of.remove(&mac).unwrap_or_default();
                    let changed = all
                        || self.records.get(&subject).is_some_and(|r| r.dirty)
                        || ips.iter().any(|(ip, _)| {
                            self.records.get(&Subject::Ip(*ip)).is_some_and(|r| r.dirty)
                        });
                    if !changed {
                        continue;
                    }
                    let mut ips = ips;
                    // Strongest, then newest binding first.
                    ips.sort_by(|a, b| {
                        (b.1.strength, b.1.last_us, b.0).cmp(&(a.1.strength, a.1.last_us, a.0))
                    });
                    let mut parts = vec![subject];
                    parts.extend(ips.iter().map(|(ip, _)| Subject::Ip(*ip)));
                    let addrs: Vec<IpAddr> = ips.iter().map(|(ip, _)| *ip).collect();
                    if let Some(s) = self.sighting(Some(MacAddr(mac)), addrs, &parts) {
                        out.push(s);
                    }
                }
                Subject::Ip(ip) => {
                    if owned.contains(&ip) || !is_private(&ip) {
                        continue;
                    }
                    let Some(r) = self.records.get(&subject) else {
                        continue;
                    };
                    // An address behind a router is a device once something says what it
                    // is: spoofed sources of a flood must not become assets.
                    if !(all || r.dirty) || r.facts.is_empty() {
                        continue;
                    }
                    if let Some(s) = self.sighting(None, vec![ip], &[subject]) {
                        out.push(s);
                    }
                }
            }
        }
        for r in self.records.values_mut() {
            r.dirty = false;
            for (_, f) in &mut r.facts {
                f.pending = 0;
            }
        }
        out
    }

    /// One device made of `parts` (its MAC and its addresses, or one address).
    fn sighting(
        &self,
        mac: Option<MacAddr>,
        ips: Vec<IpAddr>,
        parts: &[Subject],
    ) -> Option<Sighting> {
        let records: Vec<&Record> = parts.iter().filter_map(|s| self.records.get(s)).collect();
        // A device's times are those of its own MAC, or of its address when it has none.
        let own = records.first()?;
        let (first, last) = (own.first_us, own.last_us);
        let mut evidence = Vec::new();
        let mut all_facts: Vec<(&FactKey, &Fact)> = Vec::new();
        for r in &records {
            for (k, f) in &r.facts {
                all_facts.push((k, f));
                if f.pending > 0 {
                    evidence.push(Evidence {
                        field: k.0,
                        value: k.1.to_string(),
                        source: k.2.to_owned(),
                        confidence: f.confidence,
                        first_seen: ts(f.first_us),
                        last_seen: ts(f.last_us),
                        count: f.pending,
                    });
                }
            }
        }
        let best = |field: Field| {
            best_of(
                all_facts
                    .iter()
                    .copied()
                    .filter(|((f, _, _), _)| *f == field),
            )
            .map(|(v, _)| v.to_owned())
        };
        let kind = best(Field::Kind).and_then(|k| k.parse::<AssetKind>().ok());
        // A vendor lent by the pumps a server serves only counts for a pump server.
        let vendor = best_of(all_facts.iter().copied().filter(|((f, _, src), _)| {
            *f == Field::Vendor
                && (*src != "flow.pump_clients" || kind == Some(AssetKind::PumpServer))
        }))
        .map(|(v, _)| v.to_owned());
        evidence
            .sort_by(|a, b| (a.field, &a.value, &a.source).cmp(&(b.field, &b.value, &b.source)));
        Some(Sighting {
            mac,
            ips,
            hostname: best(Field::Hostname),
            kind,
            vendor,
            model: best(Field::Model),
            firmware: best(Field::Firmware),
            serial: best(Field::Serial),
            first_seen: ts(first),
            last_seen: ts(last.max(first)),
            evidence,
        })
    }
}

/// The most confident value, then the most recently seen, then the most seen.
/// What the detectors may ask: the identity engine's current view of a device.
impl pumpguard_detect::World for Identity {
    fn kind_of(&self, ip: IpAddr) -> Option<AssetKind> {
        self.kind_of_ip(ip)
    }

    fn name_of(&self, ip: IpAddr) -> Option<String> {
        self.best_of_ip(ip, Field::Hostname).map(str::to_owned)
    }

    fn is_router(&self, mac: pumpguard_model::MacAddr) -> bool {
        self.routers.contains(&mac.0) || is_virtual_router(&mac.0)
    }

    fn model_of(&self, ip: IpAddr) -> Option<String> {
        let model = self.best_of_ip(ip, Field::Model)?;
        Some(match self.best_of_ip(ip, Field::Vendor) {
            Some(v) => format!("{v} {model}"),
            None => model.to_owned(),
        })
    }

    /// Scans the bindings: detectors ask rarely (new devices, clones).
    fn ip_of(&self, mac: pumpguard_model::MacAddr) -> Option<IpAddr> {
        self.ip_mac
            .iter()
            .filter(|(ip, _)| self.owner(ip).is_some_and(|b| b.mac == mac.0))
            .filter_map(|(ip, bs)| {
                bs.iter()
                    .find(|b| b.mac == mac.0)
                    .map(|b| (b.strength, b.last_us, *ip))
            })
            .max()
            .map(|(_, _, ip)| ip)
    }
}

fn best_of<'a>(facts: impl Iterator<Item = (&'a FactKey, &'a Fact)>) -> Option<(&'a str, u8)> {
    let mut best: Option<(&'a str, &'a Fact)> = None;
    for ((_, v, _), f) in facts {
        let better = match best {
            None => true,
            Some((bv, b)) => {
                (f.confidence, f.last_us, std::cmp::Reverse(&**v))
                    > (b.confidence, b.last_us, std::cmp::Reverse(bv))
            }
        };
        if better {
            best = Some((v, f));
        }
    }
    best.map(|(v, f)| (v, f.confidence))
}

fn ts(us: i64) -> jiff::Timestamp {
    time::from_micros(us).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUMP: Mac = [0x00, 0x1a, 0x01, 0, 0, 1];
    const ROUTER: Mac = [0x00, 0x00, 0x0c, 0x07, 0xac, 0x78];

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn addresses_behind_a_router_are_their_own_devices() {
        let mut id = Identity::default();
        id.packet(Some(PUMP), Some(ip("10.20.0.5")), 1_000_000);
        for (k, a) in ["10.10.0.53", "10.40.0.10", "10.30.0.10", "8.8.8.8"]
            .iter()
            .enumerate()
        {
            id.packet(Some(ROUTER), Some(ip(a)), 2_000_000 + k as i64 * 2_000_000);
        }
        id.fact(
            Subject::Ip(ip("10.10.0.53")),
            Field::Kind,
            "network",
            "dns.server",
            60,
            3_000_000,
        );
        let s = id.take_sightings(true);
        let pump = s
            .iter()
            .find(|s| s.mac == Some(MacAddr(PUMP)))
            .expect("pump");
        assert_eq!(pump.ips, vec![ip("10.20.0.5")]);
        let router = s
            .iter()
            .find(|s| s.mac == Some(MacAddr(ROUTER)))
            .expect("router");
        assert!(router.ips.is_empty(), "{:?}", router.ips);
        let dns = s
            .iter()
            .find(|s| s.ips == vec![ip("10.10.0.53")] && s.mac.is_none())
            .expect("dns");
        assert_eq!(dns.kind, Some(AssetKind::Network));
        assert!(
            !s.iter().any(|s| s.ips.contains(&ip("8.8.8.8"))),
            "public addresses are not devices"
        );
    }

    #[test]
    fn confident_facts_win_and_counts_are_reported_once() {
        let mut id = Identity::default();
        let m = Subject::Mac(PUMP);
        id.fact(m, Field::Vendor, "Smiths Medical", "oui", 70, 1);
        id.fact(m, Field::Vendor, "Other Co", "guess", 30, 2);
        id.fact(m, Field::Hostname, "MEDF-1", "dhcp.option12", 90, 3);
        id.fact(m, Field::Hostname, "MEDF-1", "dhcp.option12", 90, 4);
        let s = id.take_sightings(false);
        assert_eq!(s[0].vendor.as_deref(), Some("Smiths Medical"));
        let host = s[0]
            .evidence
            .iter()
            .find(|e| e.field == Field::Hostname)
            .expect("evidence");
        assert_eq!(host.count, 2);
        assert!(id.take_sightings(false).is_empty(), "nothing changed");
        let again = id.take_sightings(true);
        assert!(
            again[0].evidence.is_empty(),
            "no new sightings of the facts"
        );
    }
}
