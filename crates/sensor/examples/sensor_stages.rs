//! Where the sensor's time goes on one capture, read into memory first so the disk is
//! not measured: `cargo run --release -p pumpguard-sensor --example sensor_stages --
//! FILE [ROUNDS]`. Times (best of ROUNDS) the reader alone, reader + decoder + flow
//! table, and the whole sensor (dissection, identity, detection) with its final batch,
//! and prints what each stage adds. The store is not included: `pumpguard sense
//! --format json` reports its `store_seconds`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::time::Instant;

use pumpguard_sensor::{Sensor, SensorConfig};
use pumpguard_wire::{Data, Decoder, FlowConfig, FlowTable, PcapReader};

/// The allocator `pumpguard` itself uses, so that the stages cost what they cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: sensor_stages FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    let reader = || {
        PcapReader::new(&bytes[..]).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        })
    };
    let best = |f: &mut dyn FnMut() -> u64| {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..rounds.max(1) {
            let t = Instant::now();
            n = f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        (best, n)
    };
    let (read, frames) = best(&mut || {
        let mut r = reader();
        let mut n = 0u64;
        while let Ok(Some(f)) = r.next_frame() {
            black_box(f.data);
            n += 1;
        }
        n
    });
    let (wire, flows) = best(&mut || {
        let mut r = reader();
        let mut decoder = Decoder::new();
        let mut table: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut flows = 0u64;
        while let Ok(Some(frame)) = r.next_frame() {
            decoder.decode(&frame, |pkt| {
                table.expire(pkt.ts_us);
                table.process(pkt, |_, _, d| {
                    if let Data::Bytes(b) = d {
                        black_box(b);
                    }
                });
            });
            table.take_ended(|_, _| flows += 1);
        }
        table.drain();
        table.take_ended(|_, _| flows += 1);
        flows
    });
    let (whole, records) = best(&mut || {
        let mut r = reader();
        let mut sensor = Sensor::new(SensorConfig::default());
        while let Ok(Some(frame)) = r.next_frame() {
            sensor.frame(&frame);
        }
        sensor.finish();
        let b = sensor.take_batch(true);
        (b.flows.len() + b.sightings.len()) as u64
    });
    println!("{path}: {frames} frames, {flows} flows, {records} flow and sighting records");
    println!(
        "read {read:.3} s | +decode+flows {:.3} s | +dissect+identity+detect {:.3} s | whole {whole:.3} s = {:.0} frames/s",
        wire - read,
        whole - wire,
        frames as f64 / whole
    );
}
