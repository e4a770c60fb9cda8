//! Clinical messages: patient identifiers in cleartext HL7 (ePHI theft); infusion
//! orders (IHE PCD-03, RGV^O15) from a host that does not send them — a new address
//! for a known sending application (spoofed MSH-3), or a host that is no EHR; and,
//! given a drug library, orders outside its hard limits (changed doses).

use std::net::IpAddr;
use std::sync::Arc;

use foldhash::HashMap;
use pumpguard_druglib::{DrugLibrary, Verdict};
use pumpguard_model::{AlertKind, AssetKind, Severity};
use pumpguard_proto::hl7::Hl7Summary;

use crate::{EventCtx, Finding, Findings, World, is_pump, who};

/// Sending applications remembered, each with up to [`MAX_SOURCES`] addresses.
const MAX_APPS: usize = 1_024;
const MAX_SOURCES: usize = 8;

/// Which addresses each HL7 sending application (MSH-3) sent orders from.
#[derive(Debug, Default)]
pub(crate) struct Clinical {
    order_sources: HashMap<String, Vec<IpAddr>>,
    /// The library orders are checked against, when the sensor was given one.
    pub(crate) library: Option<Arc<DrugLibrary>>,
}

impl Clinical {
    pub(crate) fn hl7(
        &mut self,
        f: &mut Findings,
        ctx: &EventCtx,
        h: &Hl7Summary,
        world: &dyn World,
    ) {
        let (from, to, from_end, to_end) = if h.from_server {
            (
                ctx.flow.server.ip(),
                ctx.flow.client.ip(),
                ctx.flow.server_end(),
                ctx.flow.client_end(),
            )
        } else {
            (
                ctx.flow.client.ip(),
                ctx.flow.server.ip(),
                ctx.flow.client_end(),
                ctx.flow.server_end(),
            )
        };
        let message = format!("{}^{}", h.message_code, h.trigger_event);
        if !h.direct_identifiers.is_empty() {
            // Over the pumps' wireless segment it is a disclosure; between data-centre
            // systems (EHR → pump server) a finding to fix, not an incident.
            let wireless = is_pump(world, from) || is_pump(world, to);
            f.raise(Finding {
                kind: AlertKind::CleartextHl7Phi,
                severity: if wireless {
                    Severity::High
                } else {
                    Severity::Low
                },
                subject: from_end.clone(),
                peer: Some(to_end.clone()),
                proto: "hl7",
                port: Some(ctx.flow.server.port()),
                ts: ctx.ts,
                flow: Some(ctx.flow.key()),
                facts: vec![
                    ("hl7.message_type", message.clone()),
                    ("hl7.sending_application", h.sending_application.clone()),
                    ("hl7.identifiers", h.direct_identifiers.join(",")),
                ],
                sentence: format!(
                    "{} sent {message} with patient identifiers ({}) to {} in cleartext",
                    who(world, from),
                    h.direct_identifiers.join(", "),
                    who(world, to)
                ),
                action: "Send HL7 over TLS (MLLP/TLS or a VPN) and strip identifiers the \
                    receiver does not need; assess whether this is a reportable disclosure.",
            });
        }
        if (h.message_code.as_str(), h.trigger_event.as_str()) != ("RGV", "O15") {
            return;
        }
        if let (Some(lib), Some(o)) = (&self.library, &h.order)
            && let (Some(value), Some(unit)) = (o.rate_value, o.rate_units.as_deref())
        {
            let (limit, above) = match lib.check(&o.drug_code, &o.drug_text, value, unit) {
                Verdict::OverHard { limit, .. } => (Some(limit), true),
                Verdict::UnderHard { limit, .. } => (Some(limit), false),
                _ => (None, false),
            };
            if let Some(limit) = limit {
                let side = if above { "maximum" } else { "minimum" };
                f.raise(Finding {
                    kind: AlertKind::Pcd03OverHardLimit,
                    severity: Severity::Critical,
                    subject: to_end.clone(),
                    peer: Some(from_end.clone()),
                    proto: "hl7",
                    port: Some(ctx.flow.server.port()),
                    ts: ctx.ts,
                    flow: Some(ctx.flow.key()),
                    facts: vec![
                        ("order.drug", o.drug_text.clone()),
                        ("order.code", o.drug_code.clone()),
                        ("order.rate", format!("{value} {unit}")),
                        (
                            if above { "library.hard_max" } else { "library.hard_min" },
                            limit.to_string(),
                        ),
                        ("library", format!("{} {}", lib.name, lib.version)),
                        ("hl7.control_id", h.control_id.clone()),
                        ("pump", o.pump.clone().unwrap_or_default()),
                    ],
                    sentence: format!(
                        "{} ordered {} at {value} {unit} on {}: beyond the hard {side} of {limit} in drug library {} {}",
                        who(world, from),
                        o.drug_text,
                        who(world, to),
                        lib.name,
                        lib.version
                    ),
                    action: "Stop and verify the infusion with the prescriber now; find out how the order was made, and block orders beyond hard limits before the pump server (pumpguard gateway).",
                });
            }
        }
        let app = h.sending_application.clone();
        let kind = world.kind_of(from);
        let sources = self.order_sources.get(&app);
        let known_app = sources.is_some_and(|s| !s.is_empty());
        let new_source = sources.is_some_and(|s| !s.contains(&from));
        let not_ehr = matches!(
            kind,
            Some(AssetKind::InfusionPump | AssetKind::Workstation | AssetKind::Network)
        );
        if new_source || not_ehr {
            let mut facts = vec![
                ("hl7.message_type", message),
                ("hl7.sending_application", app.clone()),
                ("hl7.control_id", h.control_id.clone()),
                (
                    "sender_kind",
                    kind.map(|k| k.as_str()).unwrap_or("unknown").into(),
                ),
            ];
            if let Some(s) = sources {
                facts.push((
                    "usual_sources",
                    s.iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                ));
            }
            if let Some(o) = &h.order {
                facts.push(("order.drug", o.drug_text.clone()));
                if let Some(r) = &o.rate {
                    facts.push(("order.rate", r.clone()));
                }
            }
            let usual = match sources {
                Some(s) if known_app => format!(
                    "; {app} sends orders from {}",
                    s.iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => String::new(),
            };
            f.raise(Finding {
                kind: AlertKind::Pcd03UnexpectedSource,
                severity: Severity::Critical,
                subject: to_end,
                peer: Some(from_end),
                proto: "hl7",
                port: Some(ctx.flow.server.port()),
                ts: ctx.ts,
                flow: Some(ctx.flow.key()),
                facts,
                sentence: format!(
                    "{} sent an infusion order as {app} to {}{usual}",
                    who(world, from),
                    who(world, to)
                ),
                action: "Verify the order with the prescriber before the infusion runs; \
                    make the pump server accept orders only from the EHR's address over \
                    mutually authenticated TLS (pumpguard gateway).",
            });
            // An unexpected source does not become a usual one.
            return;
        }
        if self.order_sources.len() < MAX_APPS || sources.is_some() {
            let list = self.order_sources.entry(app).or_default();
            if !list.contains(&from) && list.len() < MAX_SOURCES {
                list.push(from);
            }
        }
    }
}
