//! What changes between two policies, for review before a change: zones added, removed
//! or changed (field by field), services opened and closed per conduit, the default.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{Policy, Service, Zone};

/// One zone's change of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneChange {
    pub zone: String,
    pub field: &'static str,
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

/// Services that a change opens or closes between two zones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConduitChange {
    pub from: String,
    pub to: String,
    pub opened: Vec<String>,
    pub closed: Vec<String>,
}

/// Everything that differs; empty when the policies mean the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    pub zones_added: Vec<String>,
    pub zones_removed: Vec<String>,
    pub zones_changed: Vec<ZoneChange>,
    pub conduits: Vec<ConduitChange>,
    /// `deny -> allow` when the default changes.
    pub default: Option<String>,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        *self == PolicyDiff::default()
    }
}

fn field_values(z: &Zone) -> [(&'static str, BTreeSet<String>); 4] {
    [
        ("vlan", z.vlan.iter().map(ToString::to_string).collect()),
        ("cidrs", z.cidrs.iter().map(ToString::to_string).collect()),
        (
            "kinds",
            z.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        ),
        ("models", z.models.iter().cloned().collect()),
    ]
}

fn services(p: &Policy) -> BTreeMap<(String, String), BTreeSet<Service>> {
    let mut out: BTreeMap<(String, String), BTreeSet<Service>> = BTreeMap::new();
    for c in &p.conduits {
        out.entry((c.from.clone(), c.to.clone()))
            .or_default()
            .extend(c.services.iter().copied());
    }
    out
}

/// The changes from `old` to `new`.
pub fn diff(old: &Policy, new: &Policy) -> PolicyDiff {
    let mut d = PolicyDiff::default();
    for z in &new.zones {
        match old.zone(&z.name) {
            None => d.zones_added.push(z.name.clone()),
            Some(o) => {
                for ((field, before), (_, after)) in
                    field_values(o).into_iter().zip(field_values(z))
                {
                    if before != after {
                        d.zones_changed.push(ZoneChange {
                            zone: z.name.clone(),
                            field,
                            removed: before.difference(&after).cloned().collect(),
                            added: after.difference(&before).cloned().collect(),
                        });
                    }
                }
            }
        }
    }
    d.zones_removed = old
        .zones
        .iter()
        .filter(|z| new.zone(&z.name).is_none())
        .map(|z| z.name.clone())
        .collect();
    let (before, after) = (services(old), services(new));
    let pairs: BTreeSet<&(String, String)> = before.keys().chain(after.keys()).collect();
    let empty = BTreeSet::new();
    for pair in pairs {
        let b = before.get(pair).unwrap_or(&empty);
        let a = after.get(pair).unwrap_or(&empty);
        if a != b {
            d.conduits.push(ConduitChange {
                from: pair.0.clone(),
                to: pair.1.clone(),
                opened: a.difference(b).map(ToString::to_string).collect(),
                closed: b.difference(a).map(ToString::to_string).collect(),
            });
        }
    }
    if old.default != new.default {
        d.default = Some(format!("{:?} -> {:?}", old.default, new.default).to_lowercase());
    }
    d
}
