//! Dissection throughput: replays every flow of the shared captures (nDPI, tcpdump,
//! packetgen) through fresh `Session`s for a few seconds and prints payload megabytes
//! and flows per second. Flows are cut from the captures by the tests' own plumbing.
//!
//! `cargo run --release -p pumpguard-proto --example proto_throughput [seconds]`

#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::Item;
use pumpguard_proto::Session;

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut flows = Vec::new();
    for dir in ["ndpi", "tcpdump", "packetgen"] {
        let mut paths: Vec<_> = std::fs::read_dir(common::pcap(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            .collect();
        paths.sort();
        for p in paths {
            flows.extend(common::flows(&p));
        }
    }
    let bytes: usize = flows
        .iter()
        .flat_map(|f| &f.items)
        .map(|i| match i {
            Item::Data(_, d) => d.len(),
            Item::Gap(..) => 0,
        })
        .sum();
    let (mut rounds, mut events) = (0u64, 0usize);
    let start = Instant::now();
    let mut out = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        for f in &flows {
            let mut s = Session::new(f.transport, f.client.1, f.server.1);
            for it in &f.items {
                match it {
                    Item::Data(side, d) => s.on_data(*side, d, &mut out),
                    Item::Gap(side, n) => s.on_gap(*side, *n),
                }
            }
            events += out.len();
            out.clear();
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let total = bytes as f64 * rounds as f64;
    println!(
        "{} flows, {} payload bytes, {rounds} rounds in {secs:.1} s: {:.1} MB/s, {:.0} flows/s, {} events/round",
        flows.len(),
        bytes,
        total / secs / 1e6,
        flows.len() as f64 * rounds as f64 / secs,
        events as u64 / rounds.max(1)
    );
}
