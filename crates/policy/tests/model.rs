//! Policy files: the example reads; every fault names the file and the line;
//! zones resolve by range and by inventory attributes; verdicts follow the conduits.

use pumpguard_model::{Asset, AssetKind, Source};
use pumpguard_policy::{DefaultAction, Policy, Service, Verdict, Zoning};

const EXAMPLE: &str = "\
zones:
  - name: pumps
    vlan: 120
    cidrs: [10.20.0.0/16]
  - name: pump_servers
    vlan: 130
    cidrs: [10.30.0.0/24]
conduits:
  - from: pumps
    to: pump_servers
    services: [tcp/8443, udp/123]
default: deny
";

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().expect("ip")
}

#[test]
fn the_example_reads_and_round_trips() {
    let p = Policy::parse(EXAMPLE, "policy.yaml").expect("reads");
    assert_eq!(p.zones.len(), 2);
    assert_eq!(p.zones[0].vlan, Some(120));
    assert_eq!(p.zones[1].line, 5);
    assert_eq!(
        p.conduits[0].services,
        [
            Service::Tcp {
                first: 8443,
                last: 8443
            },
            Service::Udp {
                first: 123,
                last: 123
            }
        ]
    );
    assert_eq!(p.default, DefaultAction::Deny);
    let again = Policy::parse(&p.to_yaml(), "again.yaml").expect("its YAML reads");
    assert_eq!(again.to_yaml(), p.to_yaml());
    assert_eq!(again.conduits, {
        let mut c = p.conduits.clone();
        c[0].line = again.conduits[0].line;
        c
    });
}

fn fault(text: &str) -> String {
    Policy::parse(text, "p.yaml")
        .expect_err("refused")
        .to_string()
}

#[test]
fn faults_name_the_file_and_line() {
    let unknown = EXAMPLE.replace("    to: pump_servers", "    to: ehr");
    assert_eq!(fault(&unknown), "p.yaml:10: unknown zone 'ehr'");
    let service = EXAMPLE.replace("tcp/8443", "tcp/84443");
    assert!(
        fault(&service).starts_with("p.yaml:11: 'tcp/84443' is not a service"),
        "{}",
        fault(&service)
    );
    let overlap = EXAMPLE.replace("10.30.0.0/24", "10.20.5.0/24");
    assert_eq!(
        fault(&overlap),
        "p.yaml:5: zone 'pump_servers' range 10.20.5.0/24 overlaps zone 'pumps' range 10.20.0.0/16 (line 2)"
    );
    let twice = EXAMPLE.replace("pump_servers\n    vlan", "pumps\n    vlan");
    assert_eq!(fault(&twice), "p.yaml:5: zone 'pumps' is defined twice");
    let host_bits = EXAMPLE.replace("10.30.0.0/24", "10.30.0.7/24");
    assert!(fault(&host_bits).contains("did you mean 10.30.0.0/24"));
    let vlan = EXAMPLE.replace("vlan: 130", "vlan: 5000");
    assert_eq!(fault(&vlan), "p.yaml:6: vlan '5000' is not 1-4094");
    let field = EXAMPLE.replace("    vlan: 120", "    vlna: 120");
    let f = fault(&field);
    assert!(f.starts_with("p.yaml:3: ") && f.contains("vlna"), "{f}");
    let syntax = "zones: [\n  - name: x\n";
    assert!(fault(syntax).starts_with("p.yaml:"), "{}", fault(syntax));
    let default = EXAMPLE.replace("default: deny", "default: maybe");
    assert_eq!(
        fault(&default),
        "p.yaml:12: default: 'maybe' is not deny or allow"
    );
    let kind = EXAMPLE.replace("    cidrs: [10.30.0.0/24]", "    kinds: [toaster]");
    assert!(fault(&kind).starts_with("p.yaml:7: "), "{}", fault(&kind));
    let itself = EXAMPLE.replace("    to: pump_servers", "    to: pumps");
    assert!(fault(&itself).contains("to itself"));
}

#[test]
fn zones_by_range_and_by_inventory_and_the_verdicts() {
    let text = format!(
        "{EXAMPLE}\n"
    )
    .replace(
        "conduits:",
        "  - name: ehr\n    kinds: [ehr]\n    models: [\"Epic Bridges\"]\nconduits:",
    )
    .replace(
        "default: deny",
        "  - from: pump_servers\n    to: ehr\n    services: [tcp/6661-6662, icmp]\n    log: true\ndefault: deny",
    );
    let p = Policy::parse(&text, "p.yaml").expect("reads");
    let mut ehr = Asset::new(
        "EHR-1".parse().expect("id"),
        AssetKind::Ehr,
        Source::Imported,
    );
    ehr.ips = vec![ip("10.40.0.5")];
    let mut bridge = Asset::new(
        "BR-1".parse().expect("id"),
        AssetKind::Other,
        Source::Imported,
    );
    bridge.model = Some("Epic Bridges".into());
    bridge.ips = vec![ip("10.50.0.9")];
    // A pump asset inside the pumps range stays in pumps (ranges win).
    let mut pump = Asset::new("P-1".parse().expect("id"), AssetKind::Ehr, Source::Imported);
    pump.ips = vec![ip("10.20.0.7")];
    let assets = [ehr, bridge, pump];
    let z = Zoning::new(&p, &assets);
    assert_eq!(z.zone_name(ip("10.20.9.9")), Some("pumps"));
    assert_eq!(z.zone_name(ip("10.20.0.7")), Some("pumps"));
    assert_eq!(z.zone_name(ip("10.40.0.5")), Some("ehr"));
    assert_eq!(z.zone_name(ip("10.50.0.9")), Some("ehr"));
    assert_eq!(z.zone_name(ip("192.0.2.1")), None);
    assert_eq!(
        z.members(2)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["10.40.0.5/32", "10.50.0.9/32"]
    );

    let (pump, server, e) = (ip("10.20.0.7"), ip("10.30.0.10"), ip("10.40.0.5"));
    assert_eq!(
        z.evaluate("tcp", pump, server, 8443),
        Verdict::Allowed { conduit: 0 }
    );
    assert_eq!(
        z.evaluate("udp", pump, server, 123),
        Verdict::Allowed { conduit: 0 }
    );
    assert_eq!(z.evaluate("tcp", pump, server, 23), Verdict::Denied);
    // Conduits have a direction: the server may not open connections to pumps.
    assert_eq!(z.evaluate("tcp", server, pump, 8443), Verdict::Denied);
    assert_eq!(
        z.evaluate("tcp", server, e, 6662),
        Verdict::Allowed { conduit: 1 }
    );
    assert_eq!(z.evaluate("tcp", server, e, 6663), Verdict::Denied);
    assert_eq!(
        z.evaluate("icmp", server, e, 0),
        Verdict::Allowed { conduit: 1 }
    );
    assert_eq!(
        z.evaluate("tcp", pump, ip("10.20.1.1"), 23),
        Verdict::SameZone
    );
    // An address in no zone gets the default.
    assert_eq!(
        z.evaluate("tcp", pump, ip("192.0.2.1"), 443),
        Verdict::Denied
    );
    let open = Policy {
        default: DefaultAction::Allow,
        ..p.clone()
    };
    let z = Zoning::new(&open, &assets);
    assert_eq!(z.evaluate("tcp", pump, server, 23), Verdict::DefaultAllowed);
}
