//! Assets: every pump, pump server, EHR system, workstation and network device the
//! hospital must know about (SP 1800-8 asset management).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::MacAddr;

/// A domain enum value that is not one of its names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{text}' (expected one of: {expected})")]
pub struct ParseEnumError {
    pub(crate) what: &'static str,
    pub(crate) text: String,
    pub(crate) expected: &'static str,
}

/// Declares a closed enum whose serialised names are the snake_case domain words used in
/// CSV, JSON, SQL and the command line alike.
macro_rules! domain_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The domain name, as stored and printed.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::ParseEnumError {
                        what: $what,
                        text: other.to_owned(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

domain_enum! {
    /// What an asset is in the infusion ecosystem.
    AssetKind, "kind" {
        /// A (wireless) infusion pump, including its communication module.
        InfusionPump => "infusion_pump",
        /// The vendor's pump server: drug libraries, firmware, event logs.
        PumpServer => "pump_server",
        /// EHR, barcode medication administration or interface engine.
        Ehr => "ehr",
        /// Alarm manager or clinical notification system (receives IHE PCD-04 alarms).
        AlarmManager => "alarm_manager",
        /// Biomedical or clinical workstations.
        Workstation => "workstation",
        /// Switches, access points, controllers, firewalls.
        Network => "network",
        Other => "other",
    }
}

domain_enum! {
    /// How much harm to patients follows if the asset is compromised or unavailable.
    Criticality, "criticality" {
        LifeSustaining => "life_sustaining",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

domain_enum! {
    /// Where an asset is in its life at the hospital.
    Lifecycle, "lifecycle" {
        /// Bought (or certificate pre-provisioned) but not yet in clinical use.
        Procured => "procured",
        InService => "in_service",
        /// Taken off the network pending investigation or remediation.
        Quarantined => "quarantined",
        /// Decommissioned; terminal.
        Retired => "retired",
    }
}

domain_enum! {
    /// Who told pumpguard the asset exists.
    Source, "source" {
        /// An inventory file (CMMS export, procurement list).
        Imported => "imported",
        /// Seen on the wire by the passive sensor.
        Discovered => "discovered",
    }
}

impl AssetKind {
    /// Criticality assumed when an inventory does not say: pumps and the systems that
    /// feed them orders are `high` until a clinical engineer rates them (which may raise
    /// a pump to `life_sustaining`); unknown devices are `low`.
    pub fn default_criticality(self) -> Criticality {
        match self {
            AssetKind::InfusionPump
            | AssetKind::PumpServer
            | AssetKind::Ehr
            | AssetKind::AlarmManager => Criticality::High,
            AssetKind::Workstation | AssetKind::Network => Criticality::Medium,
            AssetKind::Other => Criticality::Low,
        }
    }
}

/// A lifecycle change that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("asset lifecycle cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: Lifecycle,
    pub to: Lifecycle,
}

impl Lifecycle {
    /// Allowed moves: procured → in_service; in_service ⇄ quarantined; procured →
    /// quarantined (a device that misbehaves before go-live); anything → retired.
    /// Retired is terminal: a device back from the dead must be re-procured under a new
    /// asset id, so its history stays unambiguous. Staying in a state is always allowed.
    pub fn transition(self, to: Lifecycle) -> Result<Lifecycle, TransitionError> {
        use Lifecycle::*;
        let ok = matches!(
            (self, to),
            (Procured, InService)
                | (Procured, Quarantined)
                | (InService, Quarantined)
                | (Quarantined, InService)
                | (Procured | InService | Quarantined, Retired)
        ) || self == to;
        if ok {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

/// The identifier of an asset: the hospital's own tag (CMMS number), or a MAC-based id
/// for devices the sensor discovers. Non-empty, at most 128 characters, no control
/// characters and no surrounding whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AssetId(String);

impl AssetId {
    pub const MAX_LEN: usize = 128;

    /// The id the sensor gives a device it discovered: `mac-001a012b3c4d`.
    pub fn from_mac(mac: MacAddr) -> AssetId {
        let hex: String = mac.0.iter().map(|b| format!("{b:02x}")).collect();
        AssetId(format!("mac-{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AssetId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("asset_id is empty".into());
        }
        if s.trim() != s {
            return Err(format!("asset_id '{s}' has surrounding whitespace"));
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "asset_id is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        if s.chars().any(char::is_control) {
            return Err("asset_id contains a control character".into());
        }
        Ok(AssetId(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for AssetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One device of the ecosystem as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asset {
    pub asset_id: AssetId,
    pub kind: AssetKind,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<MacAddr>,
    /// Every address the asset is known by; the first is its primary address.
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    pub hostname: Option<String>,
    pub location: Option<String>,
    /// Network zone name (see the segmentation policy).
    pub zone: Option<String>,
    pub criticality: Criticality,
    pub lifecycle: Lifecycle,
    /// When the sensor first and last saw it on the network (`None` until it does).
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub source: Source,
}

impl Asset {
    /// A new asset with nothing known but its id and kind.
    pub fn new(asset_id: AssetId, kind: AssetKind, source: Source) -> Asset {
        Asset {
            asset_id,
            kind,
            vendor: None,
            model: None,
            firmware: None,
            serial: None,
            mac: None,
            ips: Vec::new(),
            hostname: None,
            location: None,
            zone: None,
            criticality: kind.default_criticality(),
            lifecycle: Lifecycle::InService,
            first_seen: None,
            last_seen: None,
            source,
        }
    }

    /// The primary address.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ips.first().copied()
    }
}

/// JSON form: every field, plus `ip` (the primary address) beside `ips`.
impl Serialize for Asset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            asset_id: &'a AssetId,
            kind: AssetKind,
            vendor: &'a Option<String>,
            model: &'a Option<String>,
            firmware: &'a Option<String>,
            serial: &'a Option<String>,
            mac: &'a Option<MacAddr>,
            ip: Option<IpAddr>,
            ips: &'a [IpAddr],
            hostname: &'a Option<String>,
            location: &'a Option<String>,
            zone: &'a Option<String>,
            criticality: Criticality,
            lifecycle: Lifecycle,
            first_seen: &'a Option<Timestamp>,
            last_seen: &'a Option<Timestamp>,
            source: Source,
        }
        View {
            asset_id: &self.asset_id,
            kind: self.kind,
            vendor: &self.vendor,
            model: &self.model,
            firmware: &self.firmware,
            serial: &self.serial,
            mac: &self.mac,
            ip: self.ip(),
            ips: &self.ips,
            hostname: &self.hostname,
            location: &self.location,
            zone: &self.zone,
            criticality: self.criticality,
            lifecycle: self.lifecycle,
            first_seen: &self.first_seen,
            last_seen: &self.last_seen,
            source: self.source,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_round_trip() {
        for k in AssetKind::ALL {
            assert_eq!(k.as_str().parse::<AssetKind>(), Ok(*k));
        }
        for c in Criticality::ALL {
            assert_eq!(c.as_str().parse::<Criticality>(), Ok(*c));
        }
        for l in Lifecycle::ALL {
            assert_eq!(l.as_str().parse::<Lifecycle>(), Ok(*l));
        }
        let err = "pump".parse::<AssetKind>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown kind 'pump' (expected one of: infusion_pump pump_server ehr alarm_manager workstation network other)"
        );
    }

    #[test]
    fn retired_is_terminal() {
        for l in Lifecycle::ALL {
            assert_eq!(l.transition(Lifecycle::Retired), Ok(Lifecycle::Retired));
            assert_eq!(l.transition(*l), Ok(*l));
            if *l != Lifecycle::Retired {
                assert!(Lifecycle::Retired.transition(*l).is_err(), "retired -> {l}");
            }
        }
        assert!(
            Lifecycle::Quarantined
                .transition(Lifecycle::Procured)
                .is_err()
        );
        assert!(
            Lifecycle::InService
                .transition(Lifecycle::Quarantined)
                .is_ok()
        );
    }

    #[test]
    fn asset_ids() {
        assert!("PUMP-0001".parse::<AssetId>().is_ok());
        assert!("".parse::<AssetId>().is_err());
        assert!(" x".parse::<AssetId>().is_err());
        assert!("a\tb".parse::<AssetId>().is_err());
        assert!("x".repeat(129).parse::<AssetId>().is_err());
        let mac: MacAddr = "00:1A:01:2B:3C:4D".parse().expect("valid");
        assert_eq!(AssetId::from_mac(mac).as_str(), "mac-001a012b3c4d");
    }

    #[test]
    fn json_has_ip_and_ips() {
        let mut a = Asset::new(
            "P1".parse().expect("id"),
            AssetKind::InfusionPump,
            Source::Imported,
        );
        a.ips = vec![
            "10.20.0.5".parse().expect("ip"),
            "fe80::1".parse().expect("ip"),
        ];
        a.mac = Some("00-1A-01-2B-3C-4D".parse().expect("mac"));
        let v = serde_json::to_value(&a).expect("serialises");
        assert_eq!(v["ip"], "10.20.0.5");
        assert_eq!(v["ips"][1], "fe80::1");
        assert_eq!(v["mac"], "00:1a:01:2b:3c:4d");
        assert_eq!(v["criticality"], "high");
        assert_eq!(v["lifecycle"], "in_service");
        let back: Asset = serde_json::from_value(v).expect("deserialises");
        assert_eq!(back, a);
    }
}

/// What one inventory row says about an asset. Each optional field is either not
/// mentioned (`None`: leave the stored value alone) or set (`Some`, possibly to empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetPatch {
    pub asset_id: AssetId,
    pub kind: Option<AssetKind>,
    pub vendor: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub firmware: Option<Option<String>>,
    pub serial: Option<Option<String>>,
    pub mac: Option<Option<MacAddr>>,
    pub ips: Option<Vec<IpAddr>>,
    pub hostname: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub zone: Option<Option<String>>,
    /// `None` keeps the stored rating, or gives a new asset its kind's default.
    pub criticality: Option<Criticality>,
    /// `None` keeps the stored state; a new asset starts `in_service`.
    pub lifecycle: Option<Lifecycle>,
}

impl AssetPatch {
    /// A patch that mentions nothing but the id.
    pub fn new(asset_id: AssetId) -> AssetPatch {
        AssetPatch {
            asset_id,
            kind: None,
            vendor: None,
            model: None,
            firmware: None,
            serial: None,
            mac: None,
            ips: None,
            hostname: None,
            location: None,
            zone: None,
            criticality: None,
            lifecycle: None,
        }
    }

    /// The asset after this patch, starting from what is stored (`None` for a new one).
    /// An imported patch makes the asset `imported`: the hospital has vouched for it.
    pub fn apply(&self, stored: Option<&Asset>, source: Source) -> Result<Asset, String> {
        let mut a = match stored {
            Some(a) => a.clone(),
            None => {
                let kind = self
                    .kind
                    .ok_or_else(|| format!("new asset '{}' has no kind", self.asset_id))?;
                Asset::new(self.asset_id.clone(), kind, source)
            }
        };
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *field = v.clone();
            }
        }
        set(&mut a.kind, &self.kind);
        set(&mut a.vendor, &self.vendor);
        set(&mut a.model, &self.model);
        set(&mut a.firmware, &self.firmware);
        set(&mut a.serial, &self.serial);
        set(&mut a.mac, &self.mac);
        set(&mut a.ips, &self.ips);
        set(&mut a.hostname, &self.hostname);
        set(&mut a.location, &self.location);
        set(&mut a.zone, &self.zone);
        set(&mut a.criticality, &self.criticality);
        match (stored, self.lifecycle) {
            // A new asset starts wherever the inventory says (a procurement list says
            // `procured`); only a stored asset's state is bound by the transition rules.
            (None, Some(state)) => a.lifecycle = state,
            (Some(_), Some(to)) => {
                a.lifecycle = a
                    .lifecycle
                    .transition(to)
                    .map_err(|e| format!("asset '{}': {e}", self.asset_id))?;
            }
            (_, None) => {}
        }
        a.source = source;
        Ok(a)
    }
}

#[cfg(test)]
mod patch_tests {
    use super::*;

    fn id(s: &str) -> AssetId {
        s.parse().expect("id")
    }

    #[test]
    fn new_asset_needs_a_kind_and_gets_defaults() {
        let p = AssetPatch::new(id("P1"));
        assert!(p.apply(None, Source::Imported).is_err());
        let p = AssetPatch {
            kind: Some(AssetKind::InfusionPump),
            ..AssetPatch::new(id("P1"))
        };
        let a = p.apply(None, Source::Imported).expect("applies");
        assert_eq!(a.criticality, Criticality::High);
        assert_eq!(a.lifecycle, Lifecycle::InService);
        // A procurement list brings new assets in as `procured` (found by fuzzing).
        for state in Lifecycle::ALL {
            let p = AssetPatch {
                lifecycle: Some(*state),
                ..p.clone()
            };
            assert_eq!(
                p.apply(None, Source::Imported).expect("applies").lifecycle,
                *state
            );
        }
    }

    #[test]
    fn unmentioned_fields_are_kept_and_empty_ones_cleared() {
        let mut stored = Asset::new(id("P1"), AssetKind::InfusionPump, Source::Discovered);
        stored.vendor = Some("B. Braun".into());
        stored.location = Some("ICU-3".into());
        stored.criticality = Criticality::LifeSustaining;
        stored.lifecycle = Lifecycle::Retired;
        let p = AssetPatch {
            kind: Some(AssetKind::InfusionPump),
            location: Some(None),
            ..AssetPatch::new(id("P1"))
        };
        let a = p.apply(Some(&stored), Source::Imported).expect("applies");
        assert_eq!(a.vendor.as_deref(), Some("B. Braun"));
        assert_eq!(a.location, None);
        assert_eq!(a.criticality, Criticality::LifeSustaining);
        assert_eq!(a.lifecycle, Lifecycle::Retired, "re-import does not revive");
        assert_eq!(a.source, Source::Imported);
        let revive = AssetPatch {
            lifecycle: Some(Lifecycle::InService),
            ..p
        };
        assert!(revive.apply(Some(&stored), Source::Imported).is_err());
    }
}
