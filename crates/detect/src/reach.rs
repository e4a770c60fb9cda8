//! Who pumps talk to: a pump opening connections to hosts that are not its servers or
//! network services (pivoting, scanning), a pump exchanging traffic with the internet
//! (exfiltration, remote control), and files pushed to a pump by a host that is not a
//! pump server (unauthenticated drug-library or firmware updates, cf. CVE-2014-5406).

use pumpguard_model::{AlertKind, AssetKind, Severity};
use pumpguard_proto::App;

use crate::baseline::Watch;
use crate::{DetectConfig, Finding, Findings, FlowEnd, World, is_internet, is_pump, who};

/// Applications a pump legitimately uses towards network services.
fn is_infrastructure(app: App) -> bool {
    matches!(
        app,
        App::Dhcp | App::Dns | App::Mdns | App::Ntp | App::Syslog | App::Snmp
    )
}

pub(crate) fn flow_end(
    f: &mut Findings,
    config: &DetectConfig,
    end: &FlowEnd,
    watch: Option<&Watch>,
    world: &dyn World,
) {
    let flow = &end.flow;
    if !matches!(flow.proto, 6 | 17) {
        return;
    }
    let (client, server) = (flow.client.ip(), flow.server.ip());
    let client_pump = is_pump(world, client);
    let server_pump = is_pump(world, server);
    let internet = if client_pump && is_internet(server) {
        Some((flow.client_end(), flow.server_end(), server))
    } else if server_pump && is_internet(client) {
        Some((flow.server_end(), flow.client_end(), client))
    } else {
        None
    };
    if let Some((pump, peer, remote)) = internet {
        let bytes = end.bytes[0] + end.bytes[1];
        f.raise(Finding {
            kind: AlertKind::PumpToInternet,
            severity: Severity::Critical,
            subject: pump.clone(),
            peer: Some(peer),
            proto: proto_name(flow.proto),
            port: Some(flow.server.port()),
            ts: end.first_us,
            flow: Some(flow.key()),
            facts: vec![
                ("remote", remote.to_string()),
                (
                    "bytes_out",
                    end.bytes[usize::from(!client_pump)].to_string(),
                ),
                ("bytes", bytes.to_string()),
            ],
            sentence: format!(
                "pump {} exchanged {bytes} bytes with internet host {remote} on {}/{}",
                who(world, pump.ip.unwrap_or(remote)),
                proto_name(flow.proto),
                flow.server.port()
            ),
            action: "Isolate the pump (quarantine VLAN), block the address at the \
                firewall, and check what left: pumps never need the internet.",
        });
        return;
    }
    if client_pump && !is_infrastructure(end.app) && end.app != App::Hl7 {
        let peer_kind = world.kind_of(server);
        let lateral = matches!(
            peer_kind,
            Some(AssetKind::Ehr | AssetKind::Workstation | AssetKind::InfusionPump)
        );
        // With a baseline that knows the pump: anything it (and its model) never used
        // is a pivot, and what they use is not. Without one: lateral peers only.
        // A pump server or alarm manager the baseline did not see is still a server
        // pumps are meant to use.
        let server_role = matches!(
            peer_kind,
            Some(AssetKind::PumpServer | AssetKind::AlarmManager)
        );
        let (pivot, never) = match watch.and_then(|w| w.knows_service(end, world)) {
            Some(known) => (!known && !server_role, !known),
            None => (lateral, false),
        };
        if pivot {
            let before = if never {
                format!(
                    "; it never spoke to {}:{} before{}",
                    server,
                    flow.server.port(),
                    watch
                        .map(|w| w.usual_services(end, world))
                        .unwrap_or_default()
                )
            } else {
                String::new()
            };
            f.raise(Finding {
                kind: AlertKind::PumpPivot,
                severity: Severity::High,
                subject: flow.client_end(),
                peer: Some(flow.server_end()),
                proto: proto_name(flow.proto),
                port: Some(flow.server.port()),
                ts: end.first_us,
                flow: Some(flow.key()),
                facts: vec![
                    (
                        "peer_kind",
                        peer_kind.map(|k| k.as_str()).unwrap_or("").into(),
                    ),
                    ("port", flow.server.port().to_string()),
                    ("answered", (end.packets[1] > 0).to_string()),
                ],
                sentence: format!(
                    "pump {} opened {}/{} on {} {}{}",
                    who(world, client),
                    proto_name(flow.proto),
                    flow.server.port(),
                    peer_kind.map(|k| k.as_str()).unwrap_or("host"),
                    who(world, server),
                    if never {
                        before
                    } else {
                        ", which is not a pump server or network service".to_owned()
                    }
                ),
                action: "Quarantine the pump and inspect it: a pump only talks to its \
                    pump server and network services; allow only those in the firewall.",
            });
        }
    }
    if server_pump
        && flow.proto == 6
        && end.bytes[0] >= config.push_bytes
        && !matches!(end.app, App::FtpData | App::Ftp | App::Telnet)
        && world.kind_of(client) != Some(AssetKind::PumpServer)
    {
        f.raise(Finding {
            kind: AlertKind::DruglibTransferFromUnknownHost,
            severity: Severity::Critical,
            subject: flow.server_end(),
            peer: Some(flow.client_end()),
            proto: proto_name(flow.proto),
            port: Some(flow.server.port()),
            ts: end.first_us,
            flow: Some(flow.key()),
            facts: vec![
                ("bytes_to_pump", end.bytes[0].to_string()),
                ("app", end.app.as_str().to_owned()),
                (
                    "sender_kind",
                    world
                        .kind_of(client)
                        .map(|k| k.as_str())
                        .unwrap_or("unknown")
                        .to_owned(),
                ),
            ],
            sentence: format!(
                "{} pushed {} bytes to pump {} on tcp/{}: only the pump server may send \
                 drug libraries or firmware",
                who(world, client),
                end.bytes[0],
                who(world, server),
                flow.server.port()
            ),
            action: "Take the pump out of service, reload the drug library and firmware \
                from the pump server, and verify their signatures; find the sender.",
        });
    }
}

pub(crate) fn proto_name(proto: u8) -> &'static str {
    match proto {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        58 => "icmpv6",
        _ => "ip",
    }
}
