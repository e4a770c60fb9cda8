//! Floods and connection storms: many new flows in one second towards one service
//! (a SYN flood leaves half-open flows, a storm completes them; UDP floods are flows
//! of one datagram each from many ports or sources).

use std::net::SocketAddr;

use foldhash::HashMap;
use pumpguard_model::{AlertKind, AssetKind, Severity};

use crate::reach::proto_name;
use crate::{DetectConfig, Finding, Findings, FlowEnd, World, who};

/// Services tracked at most.
const MAX_SERVICES: usize = 65_536;

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    /// The second (since the epoch) being counted.
    second: i64,
    flows: u32,
    /// Of those, flows the server never answered (TCP: never completed the handshake).
    unanswered: u32,
    /// Flows counted past the threshold in this second (already alerted).
    alerted: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Floods {
    windows: HashMap<(u8, SocketAddr), Window>,
}

impl Floods {
    pub(crate) fn flow_end(
        &mut self,
        f: &mut Findings,
        config: &DetectConfig,
        end: &FlowEnd,
        world: &dyn World,
    ) {
        let flow = &end.flow;
        if !matches!(flow.proto, 6 | 17) {
            return;
        }
        let key = (flow.proto, flow.server);
        if self.windows.len() >= MAX_SERVICES && !self.windows.contains_key(&key) {
            // Forget every window but the busy ones: a sweep over many services
            // must not grow the map.
            self.windows
                .retain(|_, w| w.flows >= config.flood_flows_per_second / 2);
            if self.windows.len() >= MAX_SERVICES {
                return;
            }
        }
        let second = end.first_us.div_euclid(1_000_000);
        let w = self.windows.entry(key).or_default();
        if w.second != second {
            *w = Window {
                second,
                ..Window::default()
            };
        }
        w.flows += 1;
        if !end.established && (flow.proto == 6 || end.packets[1] == 0) {
            w.unanswered += 1;
        }
        if w.flows < config.flood_flows_per_second {
            return;
        }
        let w = *w;
        let server = flow.server.ip();
        let kind = world.kind_of(server);
        let severity = match kind {
            Some(AssetKind::PumpServer | AssetKind::InfusionPump | AssetKind::AlarmManager) => {
                Severity::High
            }
            _ => Severity::Medium,
        };
        let what = if flow.proto == 17 {
            "UDP flood"
        } else if w.unanswered * 2 > w.flows {
            "SYN flood"
        } else {
            "connection storm"
        };
        if w.alerted && !w.flows.is_multiple_of(config.flood_flows_per_second) {
            return;
        }
        if let Some(x) = self.windows.get_mut(&key) {
            x.alerted = true;
        }
        f.raise(Finding {
            kind: AlertKind::Dos,
            severity,
            subject: flow.server_end(),
            // Floods come from spoofed or many sources: the peer is the service only.
            peer: None,
            proto: proto_name(flow.proto),
            port: Some(flow.server.port()),
            ts: end.first_us,
            flow: Some(flow.key()),
            facts: vec![
                ("attack", what.to_owned()),
                ("flows_in_one_second", w.flows.to_string()),
                ("unanswered", w.unanswered.to_string()),
                ("example_source", flow.client.ip().to_string()),
            ],
            sentence: format!(
                "{what} against {} {} on {}/{}: {} new flows in one second ({} unanswered)",
                kind.map(|k| k.as_str()).unwrap_or("host"),
                who(world, server),
                proto_name(flow.proto),
                flow.server.port(),
                w.flows,
                w.unanswered
            ),
            action: "Find the source port on the switch and block it; rate-limit new \
                connections to pump servers at the firewall (SYN cookies, conduit limits).",
        });
    }
}
