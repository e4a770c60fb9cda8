//! Cleartext management into devices — Telnet, FTP, HTTP administration, SNMPv1/v2c
//! communities — and files stored on pumps over FTP: the LifeCare PCA exploit path
//! (root Telnet, anonymous FTP uploads that crash the communication module).

use pumpguard_model::{AlertKind, Severity};
use pumpguard_proto::Side;
use pumpguard_proto::ftp::Ftp;
use pumpguard_proto::http::HttpHead;
use pumpguard_proto::snmp::Snmp;
use pumpguard_proto::telnet::Telnet;

use crate::{EventCtx, Finding, Findings, World, is_pump, who};

const ACTION_PUMP: &str = "Disable Telnet/FTP/HTTP/SNMPv1-2c on the pump (vendor service \
    setting or firewall), and allow management only from the biomed network over an \
    encrypted protocol; find out who connected.";
const ACTION: &str = "Replace the cleartext management protocol with an encrypted one \
    (SSH, HTTPS, SNMPv3) or restrict it to the management network.";

/// A management session into the server side of the flow.
fn management(
    f: &mut Findings,
    ctx: &EventCtx,
    world: &dyn World,
    proto: &'static str,
    severity: Severity,
    what: &str,
    facts: Vec<(&'static str, String)>,
) {
    let server = ctx.flow.server.ip();
    let pump = is_pump(world, server);
    let (kind, severity, action) = if pump {
        (AlertKind::CleartextManagementToPump, severity, ACTION_PUMP)
    } else {
        // Not a pump: one step lower.
        let lower = match severity {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            s => s,
        };
        (AlertKind::CleartextManagement, lower, ACTION)
    };
    f.raise(Finding {
        kind,
        severity,
        subject: ctx.flow.server_end(),
        peer: Some(ctx.flow.client_end()),
        proto,
        port: Some(ctx.flow.server.port()),
        ts: ctx.ts,
        flow: Some(ctx.flow.key()),
        facts,
        sentence: format!(
            "{} {what} on {}{} in cleartext",
            who(world, ctx.flow.client.ip()),
            if pump { "pump " } else { "" },
            who(world, server),
        ),
        action,
    });
}

pub(crate) fn telnet(f: &mut Findings, ctx: &EventCtx, t: &Telnet, world: &dyn World) {
    match t {
        Telnet::ShellPrompt(p) => management(
            f,
            ctx,
            world,
            "telnet",
            Severity::High,
            "got a Telnet shell",
            vec![("telnet.shell_prompt", p.clone())],
        ),
        Telnet::LoginPrompt(p) => management(
            f,
            ctx,
            world,
            "telnet",
            Severity::High,
            "opened a Telnet login",
            vec![("telnet.login_prompt", p.clone())],
        ),
        Telnet::Username(u) => management(
            f,
            ctx,
            world,
            "telnet",
            Severity::High,
            "logged in over Telnet",
            vec![("telnet.username", u.clone())],
        ),
        _ => {}
    }
}

pub(crate) fn ftp(f: &mut Findings, ctx: &EventCtx, x: &Ftp, world: &dyn World) {
    match x {
        Ftp::LoginSucceeded { user, anonymous } => {
            let mut facts = vec![("ftp.anonymous", anonymous.to_string())];
            if let Some(u) = user {
                facts.push(("ftp.user", u.clone()));
            }
            management(
                f,
                ctx,
                world,
                "ftp",
                Severity::High,
                if *anonymous {
                    "logged in anonymously over FTP"
                } else {
                    "logged in over FTP"
                },
                facts,
            );
        }
        Ftp::Command(c) if matches!(c.verb.as_str(), "STOR" | "STOU" | "APPE") => {
            let server = ctx.flow.server.ip();
            if !is_pump(world, server) {
                return;
            }
            let file = c.argument.clone().unwrap_or_default();
            f.raise(Finding {
                kind: AlertKind::FtpUploadToPump,
                severity: Severity::Critical,
                subject: ctx.flow.server_end(),
                peer: Some(ctx.flow.client_end()),
                proto: "ftp",
                port: Some(ctx.flow.server.port()),
                ts: ctx.ts,
                flow: Some(ctx.flow.key()),
                facts: vec![("ftp.command", c.verb.clone()), ("ftp.file", file.clone())],
                sentence: format!(
                    "{} stored '{file}' on pump {} over FTP",
                    who(world, ctx.flow.client.ip()),
                    who(world, server)
                ),
                action: "Take the pump out of service and check its firmware and drug \
                    library against the vendor's; block FTP to pumps.",
            });
        }
        _ => {}
    }
}

/// Request targets that administer a device.
fn is_admin_target(target: &str) -> bool {
    let t = target.to_ascii_lowercase();
    ["admin", "config", "setup", "cgi-bin", "manage"]
        .iter()
        .any(|w| t.contains(w))
}

pub(crate) fn http(f: &mut Findings, ctx: &EventCtx, h: &HttpHead, world: &dyn World) {
    if !h.request || ctx.side != Side::Client {
        return;
    }
    let target = h.target.clone().unwrap_or_default();
    let credentials = h.authorization_scheme.is_some();
    let server = ctx.flow.server.ip();
    // Plain HTTP into a pump is its web console; elsewhere only logins and admin pages.
    if !(is_pump(world, server) || credentials || is_admin_target(&target)) {
        return;
    }
    let mut facts = vec![
        ("http.method", h.method.clone().unwrap_or_default()),
        ("http.target", target),
    ];
    if let Some(s) = &h.authorization_scheme {
        facts.push(("http.authorization", s.clone()));
    }
    management(
        f,
        ctx,
        world,
        "http",
        if credentials {
            Severity::High
        } else {
            Severity::Medium
        },
        if credentials {
            "sent credentials to a web console"
        } else {
            "used a web console"
        },
        facts,
    );
}

pub(crate) fn snmp(f: &mut Findings, ctx: &EventCtx, s: &Snmp, world: &dyn World) {
    // v1 and v2c carry a community string; v3 does not.
    let Some(community) = &s.community else {
        return;
    };
    let requests = [
        "GetRequest",
        "GetNextRequest",
        "GetBulkRequest",
        "SetRequest",
    ];
    if s.version >= 3 || ctx.side != Side::Client || !requests.contains(&s.pdu_type.as_str()) {
        return;
    }
    let set = s.pdu_type == "SetRequest";
    management(
        f,
        ctx,
        world,
        "snmp",
        // Reading with a community is weak but common (monitoring); writing is control.
        if set { Severity::High } else { Severity::Low },
        if set {
            "changed settings over SNMP with a community string"
        } else {
            "queried over SNMP with a community string"
        },
        vec![
            (
                "snmp.version",
                if s.version == 1 { "v1" } else { "v2c" }.to_owned(),
            ),
            ("snmp.pdu", s.pdu_type.clone()),
            ("snmp.community", mask(community)),
        ],
    );
}

/// A community string shown in alerts: its first character and length only (it is a
/// password).
fn mask(community: &str) -> String {
    let first: String = community.chars().take(1).collect();
    format!("{first}… ({} characters)", community.chars().count())
}
