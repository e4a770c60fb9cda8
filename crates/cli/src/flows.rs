//! `pumpguard flows …`

use std::io;

use pumpguard_model::FlowRecord;
use pumpguard_store::{FlowFilter, Store};

use crate::args::{Context, FlowsCmd, ListFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

pub async fn run(ctx: &Context, cmd: FlowsCmd) -> Result<(), Fail> {
    match cmd {
        FlowsCmd::List {
            format,
            ip,
            app,
            proto,
            limit,
            offset,
        } => {
            let store = Store::open(&ctx.db).await?;
            let filter = FlowFilter {
                ip,
                app,
                proto,
                limit,
                offset,
            };
            let flows = store.list_flows(&filter).await?;
            write_to(None, |w| match list_format(format) {
                ListFormat::Table => w.write_all(flows_table(&flows).as_bytes()),
                ListFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &flows).map_err(io::Error::other)?;
                    w.write_all(b"\n")
                }
                ListFormat::Csv => write_csv(w, &flows),
            })
        }
    }
}

fn flows_table(flows: &[FlowRecord]) -> String {
    let mut t = table();
    t.set_header([
        "proto",
        "client",
        "server",
        "app",
        "packets",
        "bytes",
        "sessions",
        "first_seen",
        "last_seen",
    ]);
    for f in flows {
        t.add_row([
            f.proto.clone(),
            endpoint(f.client_ip, f.client_port),
            endpoint(f.server_ip, f.server_port),
            f.app.clone(),
            format!("{}/{}", f.packets_to_server, f.packets_to_client),
            format!("{}/{}", f.bytes_to_server, f.bytes_to_client),
            f.sessions.to_string(),
            pumpguard_model::time::rfc3339(f.first_seen),
            pumpguard_model::time::rfc3339(f.last_seen),
        ]);
    }
    format!("{t}\n")
}

fn endpoint(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V4(_) => format!("{ip}:{port}"),
        std::net::IpAddr::V6(_) => format!("[{ip}]:{port}"),
    }
}

fn write_csv(w: &mut dyn io::Write, flows: &[FlowRecord]) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "proto",
        "client_ip",
        "client_port",
        "server_ip",
        "server_port",
        "client_mac",
        "server_mac",
        "vlan",
        "app",
        "packets_to_server",
        "packets_to_client",
        "bytes_to_server",
        "bytes_to_client",
        "first_seen",
        "last_seen",
        "sessions",
        "tcp_state",
    ])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for f in flows {
        out.write_record([
            f.proto.clone(),
            f.client_ip.to_string(),
            f.client_port.to_string(),
            f.server_ip.to_string(),
            f.server_port.to_string(),
            opt(f.client_mac.map(|m| m.to_string())),
            opt(f.server_mac.map(|m| m.to_string())),
            opt(f.vlan.map(|v| v.to_string())),
            f.app.clone(),
            f.packets_to_server.to_string(),
            f.packets_to_client.to_string(),
            f.bytes_to_server.to_string(),
            f.bytes_to_client.to_string(),
            pumpguard_model::time::rfc3339(f.first_seen),
            pumpguard_model::time::rfc3339(f.last_seen),
            f.sessions.to_string(),
            f.tcp_state.clone(),
        ])?;
    }
    out.flush()
}
