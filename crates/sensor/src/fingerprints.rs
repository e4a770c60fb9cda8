//! Tables that turn what a device says into who made it and what it is: the IEEE OUI
//! of its MAC, and the DHCP vendor class it announces. Shipped as data files under
//! `data/` (see their headers for provenance).

use std::collections::HashMap;
use std::sync::LazyLock;

use pumpguard_model::AssetKind;

static OUI_TSV: &str = include_str!("../data/oui.tsv");
static DHCP_TSV: &str = include_str!("../data/dhcp_vendor_classes.tsv");

static OUI: LazyLock<HashMap<[u8; 3], &'static str>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for line in OUI_TSV.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(prefix), Some(vendor)) = (cols.next(), cols.next()) else {
            continue;
        };
        let mut oui = [0u8; 3];
        let mut parts = prefix.split(':');
        let ok = oui.iter_mut().all(|b| {
            parts
                .next()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .map(|v| *b = v)
                .is_some()
        });
        if ok {
            map.insert(oui, vendor);
        }
    }
    map
});

/// The vendor name for a MAC's OUI, if it is one of the vendors that matter here.
pub fn vendor_of_mac(mac: &[u8; 6]) -> Option<&'static str> {
    if mac[0] & 0x02 != 0 {
        // Locally administered: not from the IEEE registry.
        return None;
    }
    OUI.get(&[mac[0], mac[1], mac[2]]).copied()
}

/// Vendors whose MA-L blocks on a pump network are, in practice, infusion pumps or
/// their communication modules.
pub fn is_pump_vendor(vendor: &str) -> bool {
    matches!(
        vendor,
        "Baxter" | "BD" | "B. Braun" | "Smiths Medical" | "Fresenius Kabi" | "ICU Medical"
    )
}

/// Vendors whose MACs are virtual NICs (the hypervisor's maker, not the device's).
pub fn is_virtualization(vendor: &str) -> bool {
    matches!(vendor, "VMware")
}

/// What a DHCP vendor class says about a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorClass {
    pub kind: Option<AssetKind>,
    pub vendor: Option<&'static str>,
    pub model: Option<&'static str>,
    pub os: Option<&'static str>,
}

#[derive(Debug)]
struct Rule {
    prefix: bool,
    pattern: String,
    class: VendorClass,
}

static DHCP_RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let cell = |c: Option<&'static str>| c.filter(|c| !c.is_empty());
    DHCP_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("how\t") && !l.trim().is_empty())
        .filter_map(|line| {
            let c: Vec<&'static str> = line.split('\t').collect();
            Some(Rule {
                prefix: *c.first()? == "prefix",
                pattern: c.get(1)?.to_ascii_lowercase(),
                class: VendorClass {
                    kind: cell(c.get(2).copied()).and_then(|k| k.parse().ok()),
                    vendor: cell(c.get(3).copied()),
                    model: cell(c.get(4).copied()),
                    os: cell(c.get(5).copied()),
                },
            })
        })
        .collect()
});

/// The first table entry matching a DHCP option 60 value.
pub fn dhcp_vendor_class(value: &str) -> Option<VendorClass> {
    let v = value.to_ascii_lowercase();
    DHCP_RULES
        .iter()
        .find(|r| {
            if r.prefix {
                v.starts_with(&r.pattern)
            } else {
                v.contains(&r.pattern)
            }
        })
        .map(|r| r.class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load() {
        assert!(OUI.len() > 1_000, "{}", OUI.len());
        assert_eq!(vendor_of_mac(&[0x58, 0x42, 0xe4, 1, 2, 3]), Some("Baxter"));
        assert_eq!(
            vendor_of_mac(&[0xdc, 0xa6, 0x32, 1, 2, 3]),
            Some("Raspberry Pi")
        );
        assert_eq!(vendor_of_mac(&[0x02, 0x50, 0x47, 0, 0, 2]), None);
        let pi = dhcp_vendor_class("dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835").expect("pi");
        assert_eq!(pi.vendor, Some("Raspberry Pi"));
        assert_eq!(pi.kind, Some(AssetKind::Other));
        let win = dhcp_vendor_class("MSFT 5.0").expect("windows");
        assert_eq!(win.kind, Some(AssetKind::Workstation));
        assert!(dhcp_vendor_class("something else").is_none());
    }

    /// Every OUI we ship names the same organisation in Wireshark's copy of the IEEE
    /// registry (when it is installed).
    #[test]
    fn oui_table_agrees_with_wireshark_manuf() {
        let Ok(manuf) = std::fs::read_to_string("/usr/share/wireshark/manuf") else {
            eprintln!("skipped: /usr/share/wireshark/manuf not installed");
            return;
        };
        let theirs: HashMap<String, &str> = manuf
            .lines()
            .filter_map(|l| {
                let mut c = l.split('\t');
                Some((c.next()?.to_ascii_lowercase(), c.nth(1)?))
            })
            .collect();
        for line in OUI_TSV.lines().skip(1) {
            let c: Vec<&str> = line.split('\t').collect();
            assert_eq!(theirs.get(c[0]).copied(), Some(c[2]), "{line}");
        }
    }
}
