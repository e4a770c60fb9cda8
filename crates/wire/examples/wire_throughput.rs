//! Throughput of reader + decoder + flow table on one capture, in memory so the disk is
//! not measured: `cargo run --release -p pumpguard-wire --example wire_throughput --
//! FILE [ROUNDS]`. Each round reads the whole file, decodes every frame, accounts and
//! reassembles every IP packet (touching each delivered byte), expires by capture time
//! and drains at the end. Prints packets/s and MB/s of capture.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use pumpguard_wire::{Data, Decoder, FlowConfig, FlowTable, PcapReader};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: wire_throughput FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(0);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    // Small captures are repeated until about 200 MB went through.
    let rounds = if rounds > 0 {
        rounds
    } else {
        (200_000_000 / bytes.len().max(1)).clamp(1, 100_000) as u32
    };
    let (mut frames, mut packets, mut flows, mut data_bytes, mut checksum) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let start = Instant::now();
    for _ in 0..rounds {
        let mut reader = match PcapReader::new(&bytes[..]) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let mut decoder = Decoder::new();
        let mut table: FlowTable<()> = FlowTable::new(FlowConfig::default());
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("{path}: {e} (keeping what was read)");
                    break;
                }
            };
            frames += 1;
            decoder.decode(&frame, |pkt| {
                packets += 1;
                table.expire(pkt.ts_us);
                table.process(pkt, |_, _, d| {
                    if let Data::Bytes(b) = d {
                        data_bytes += b.len() as u64;
                        checksum = checksum.wrapping_add(b.first().copied().unwrap_or(0).into());
                    }
                });
            });
            table.take_ended(|_, _| flows += 1);
        }
        table.drain();
        table.take_ended(|_, _| flows += 1);
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = bytes.len() as f64 * f64::from(rounds) / 1e6;
    println!(
        "{path}: {rounds} rounds, {frames} frames, {packets} packets, {flows} flows, {data_bytes} stream bytes (check {checksum})"
    );
    println!(
        "{:.0} packets/s, {:.1} MB/s, {:.3} s",
        packets as f64 / secs,
        mb / secs,
        secs
    );
}
