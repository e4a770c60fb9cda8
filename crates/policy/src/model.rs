//! The policy file: zones (by address range and/or inventory attributes) and the
//! conduits allowed between them, read from YAML with the line of every value so that a
//! fault is reported where it is (`policy.yaml:12: unknown zone 'ehr'`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use marked_yaml::Spanned;
use pumpguard_model::AssetKind;
use serde::{Deserialize, Serialize};

/// A policy file that does not load: the file, the line (0 when unknown), why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// A service a conduit allows: a transport with a port range, or ICMP (v4 and v6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Tcp { first: u16, last: u16 },
    Udp { first: u16, last: u16 },
    Icmp,
}

impl Service {
    /// Whether a flow of transport `proto` (`tcp`, `udp`, `icmp`, `icmpv6`) to `port`
    /// is this service.
    pub fn matches(&self, proto: &str, port: u16) -> bool {
        match self {
            Service::Tcp { first, last } => proto == "tcp" && (*first..=*last).contains(&port),
            Service::Udp { first, last } => proto == "udp" && (*first..=*last).contains(&port),
            Service::Icmp => proto == "icmp" || proto == "icmpv6",
        }
    }

    /// The service a flow uses: its transport and server port.
    pub fn of_flow(proto: &str, port: u16) -> Option<Service> {
        match proto {
            "tcp" => Some(Service::Tcp {
                first: port,
                last: port,
            }),
            "udp" => Some(Service::Udp {
                first: port,
                last: port,
            }),
            "icmp" | "icmpv6" => Some(Service::Icmp),
            _ => None,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (proto, first, last) = match self {
            Service::Tcp { first, last } => ("tcp", first, last),
            Service::Udp { first, last } => ("udp", first, last),
            Service::Icmp => return f.write_str("icmp"),
        };
        if first == last {
            write!(f, "{proto}/{first}")
        } else {
            write!(f, "{proto}/{first}-{last}")
        }
    }
}

impl FromStr for Service {
    type Err = String;

    /// `tcp/N`, `udp/N`, `tcp/N-M`, `udp/N-M` or `icmp`.
    fn from_str(s: &str) -> Result<Service, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("icmp") {
            return Ok(Service::Icmp);
        }
        let bad = || format!("'{s}' is not a service (tcp/N, udp/N, tcp/N-M, udp/N-M or icmp)");
        let (proto, ports) = s.split_once('/').ok_or_else(bad)?;
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0);
        let (first, last) = match ports.split_once('-') {
            Some((a, b)) => (port(a).ok_or_else(bad)?, port(b).ok_or_else(bad)?),
            None => {
                let p = port(ports).ok_or_else(bad)?;
                (p, p)
            }
        };
        if first > last {
            return Err(format!("'{s}': the range runs backwards"));
        }
        match proto.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Service::Tcp { first, last }),
            "udp" => Ok(Service::Udp { first, last }),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A network zone: the addresses in its ranges, and the inventory's assets of its kinds
/// or models wherever they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<IpNet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<AssetKind>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The line the zone starts on in its file (0 when built in code).
    #[serde(skip)]
    pub line: usize,
}

/// Connections `from` one zone may open `to` another, for these services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conduit {
    pub from: String,
    pub to: String,
    pub services: Vec<Service>,
    /// Log (and count) each connection it allows.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub log: bool,
    #[serde(skip)]
    pub line: usize,
}

/// What happens to traffic between zones that no conduit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAction {
    Deny,
    Allow,
}

/// A segmentation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub zones: Vec<Zone>,
    pub conduits: Vec<Conduit>,
    pub default: DefaultAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    zones: Spanned<Vec<RawZone>>,
    #[serde(default)]
    conduits: Vec<RawConduit>,
    default: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: Spanned<String>,
    vlan: Option<Spanned<String>>,
    #[serde(default)]
    cidrs: Vec<Spanned<String>>,
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    #[serde(default)]
    models: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConduit {
    from: Spanned<String>,
    to: Spanned<String>,
    services: Spanned<Vec<Spanned<String>>>,
    log: Option<Spanned<String>>,
}

fn line_of<T>(s: &Spanned<T>) -> usize {
    s.span().start().map_or(0, |m| m.line())
}

/// Names usable as zone names: they become nftables set and chain names, MUD ACL names
/// and Cisco ACL names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Policy {
    /// Reads a policy from YAML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
        let err = |line: usize, message: String| PolicyError {
            file: file.to_owned(),
            line,
            message,
        };
        let raw: RawPolicy = marked_yaml::from_yaml(0, text).map_err(|e| {
            let (line, message) = yaml_fault(e);
            err(
                if line > 0 {
                    line
                } else {
                    field_line(text, &message)
                },
                message,
            )
        })?;

        let mut zones: Vec<Zone> = Vec::new();
        for z in raw.zones.iter() {
            let line = line_of(&z.name);
            let name = z.name.as_str().trim().to_owned();
            if !valid_name(&name) {
                return Err(err(
                    line,
                    format!(
                        "zone name '{name}': use letters, digits, '_' or '-' (up to 32, a letter first)"
                    ),
                ));
            }
            if zones.iter().any(|o| o.name == name) {
                return Err(err(line, format!("zone '{name}' is defined twice")));
            }
            let vlan = match &z.vlan {
                None => None,
                Some(v) => Some(
                    v.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|v| (1..=4094).contains(v))
                        .ok_or_else(|| {
                            err(line_of(v), format!("vlan '{}' is not 1-4094", v.as_str()))
                        })?,
                ),
            };
            let mut cidrs = Vec::new();
            for c in &z.cidrs {
                let text = c.trim();
                let net = text
                    .parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        err(
                            line_of(c),
                            format!("'{text}' is not an address range (10.20.0.0/16)"),
                        )
                    })?;
                if net != net.trunc() {
                    return Err(err(
                        line_of(c),
                        format!("'{text}' has host bits set; did you mean {}?", net.trunc()),
                    ));
                }
                cidrs.push(net);
            }
            let mut kinds = Vec::new();
            for k in &z.kinds {
                kinds.push(
                    k.trim()
                        .parse::<AssetKind>()
                        .map_err(|e| err(line_of(k), e.to_string()))?,
                );
            }
            let models: Vec<String> = z.models.iter().map(|m| m.trim().to_owned()).collect();
            if cidrs.is_empty() && kinds.is_empty() && models.is_empty() {
                return Err(err(
                    line,
                    format!("zone '{name}' has no cidrs, kinds or models: nothing can be in it"),
                ));
            }
            zones.push(Zone {
                name,
                vlan,
                cidrs,
                kinds,
                models,
                line,
            });
        }
        if zones.is_empty() {
            return Err(err(
                line_of(&raw.zones),
                "a policy needs at least one zone".into(),
            ));
        }
        // Overlapping ranges would put an address in two zones.
        for (i, a) in zones.iter().enumerate() {
            for b in &zones[i + 1..] {
                for na in &a.cidrs {
                    if let Some(nb) = b
                        .cidrs
                        .iter()
                        .find(|nb| na.contains(*nb) || nb.contains(na))
                    {
                        return Err(err(
                            b.line,
                            format!(
                                "zone '{}' range {nb} overlaps zone '{}' range {na} (line {})",
                                b.name, a.name, a.line
                            ),
                        ));
                    }
                }
            }
        }

        let mut conduits = Vec::new();
        for c in &raw.conduits {
            let line = line_of(&c.from);
            for end in [&c.from, &c.to] {
                let name = end.trim();
                if !zones.iter().any(|z| z.name == name) {
                    return Err(err(line_of(end), format!("unknown zone '{name}'")));
                }
            }
            if c.from.trim() == c.to.trim() {
                return Err(err(
                    line,
                    format!(
                        "conduit from '{}' to itself: traffic inside a zone is not filtered",
                        c.from.trim()
                    ),
                ));
            }
            if c.services.is_empty() {
                return Err(err(
                    line_of(&c.services),
                    "a conduit needs at least one service".into(),
                ));
            }
            let mut services = Vec::new();
            for s in c.services.iter() {
                services.push(s.parse::<Service>().map_err(|e| err(line_of(s), e))?);
            }
            let log = match &c.log {
                None => false,
                Some(l) => match l.trim() {
                    "true" | "yes" => true,
                    "false" | "no" => false,
                    other => {
                        return Err(err(
                            line_of(l),
                            format!("log: '{other}' is not true or false"),
                        ));
                    }
                },
            };
            conduits.push(Conduit {
                from: c.from.trim().to_owned(),
                to: c.to.trim().to_owned(),
                services,
                log,
                line,
            });
        }
        let default = match &raw.default {
            None => DefaultAction::Deny,
            Some(d) => match d.trim() {
                "deny" => DefaultAction::Deny,
                "allow" => DefaultAction::Allow,
                other => {
                    return Err(err(
                        line_of(d),
                        format!("default: '{other}' is not deny or allow"),
                    ));
                }
            },
        };
        Ok(Policy {
            zones,
            conduits,
            default,
        })
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name)
    }

    /// The policy as YAML, in the file format [`Policy::parse`] reads.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from("zones:\n");
        let list = |items: Vec<String>| format!("[{}]", items.join(", "));
        for z in &self.zones {
            out.push_str(&format!("  - name: {}\n", z.name));
            if let Some(v) = z.vlan {
                out.push_str(&format!("    vlan: {v}\n"));
            }
            if !z.cidrs.is_empty() {
                out.push_str(&format!(
                    "    cidrs: {}\n",
                    list(z.cidrs.iter().map(ToString::to_string).collect())
                ));
            }
            if !z.kinds.is_empty() {
                out.push_str(&format!(
                    "    kinds: {}\n",
                    list(z.kinds.iter().map(|k| k.as_str().to_owned()).collect())
                ));
            }
            if !z.models.is_empty() {
                out.push_str(&format!(
                    "    models: {}\n",
                    list(z.models.iter().map(|m| yaml_quote(m)).collect())
                ));
            }
        }
        if self.conduits.is_empty() {
            out.push_str("conduits: []\n");
        } else {
            out.push_str("conduits:\n");
        }
        for c in &self.conduits {
            out.push_str(&format!(
                "  - from: {}\n    to: {}\n    services: {}\n",
                c.from,
                c.to,
                list(c.services.iter().map(ToString::to_string).collect())
            ));
            if c.log {
                out.push_str("    log: true\n");
            }
        }
        out.push_str(match self.default {
            DefaultAction::Deny => "default: deny\n",
            DefaultAction::Allow => "default: allow\n",
        });
        out
    }
}

/// The line and words of a YAML or shape fault (marked-yaml writes its markers as
/// `SOURCE:LINE:COLUMN: ` before the message; the line goes to the error's place).
fn yaml_fault(e: marked_yaml::FromYamlError) -> (usize, String) {
    use marked_yaml::{FromYamlError, LoadError};
    let (marker, message) = match e {
        FromYamlError::ParseYaml(le) => {
            let marker = match &le {
                LoadError::TopLevelMustBeMapping(m)
                | LoadError::TopLevelMustBeSequence(m)
                | LoadError::UnexpectedAnchor(m)
                | LoadError::MappingKeyMustBeScalar(m)
                | LoadError::UnexpectedTag(m)
                | LoadError::ScanError(m, _) => Some(*m),
                LoadError::DuplicateKey(inner) => inner.key.span().start().copied(),
            };
            (marker, le.to_string())
        }
        FromYamlError::FromNode(fe) => (fe.start_mark(), fe.to_string()),
    };
    let message = match marker {
        Some(m) => message
            .strip_prefix(&format!("{m}: "))
            .unwrap_or(&message)
            .to_owned(),
        None => message,
    };
    (marker.map_or(0, |m| m.line()), message.replace('\n', " "))
}

/// The line of the first key named in backquotes in `message` (marked-yaml gives no
/// place for an unknown field), or 0.
fn field_line(text: &str, message: &str) -> usize {
    let Some(key) = message.split('`').nth(1) else {
        return 0;
    };
    text.lines()
        .position(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(0, |i| i + 1)
}

/// A YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
