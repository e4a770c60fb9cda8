//! Every shared third-party capture, read by us and by Wireshark's tools:
//! - frame counts equal `capinfos -c`;
//! - the distinct TCP and UDP 5-tuples of our flows (ended and drained, de-duplicated by
//!   `FlowKey`) equal the endpoint pairs of `tshark -q -z conv,tcp -z conv,udp` (its rows
//!   de-duplicated by endpoints too, since tshark splits a reused 5-tuple into rows);
//! - per 5-tuple, packets (both directions summed) equal tshark's "Total Frames", and our
//!   frame (wire) bytes equal its "Total Bytes". tshark prints bytes exactly only below
//!   10 kB ("9431 bytes"); above, it rounds to a unit ("19 kB"), so there we check our
//!   bytes round to the same number of that unit (± 1).
//!
//! Skips, saying why, when tshark or capinfos is missing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

use common::{Run, run_reader, shared_captures};
use pumpguard_wire::{FlowConfig, FlowKey, PcapReader};

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    frames: u64,
    /// Exact bytes, or (value, unit multiplier) when tshark rounded.
    bytes: u64,
    rounded_unit: Option<u64>,
}

fn endpoint(s: &str) -> SocketAddr {
    let (ip, port) = s.rsplit_once(':').expect("addr:port");
    SocketAddr::new(
        ip.parse::<IpAddr>().expect("tshark address"),
        port.parse().expect("port"),
    )
}

fn unit(u: &str) -> u64 {
    match u {
        "bytes" => 1,
        "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => panic!("unknown tshark unit {other}"),
    }
}

/// tshark's conversations, per normalised key, rows for the same key summed.
fn tshark_conversations(file: &Path) -> BTreeMap<(u8, SocketAddr, SocketAddr), Totals> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-q", "-z", "conv,tcp", "-z", "conv,udp"])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed on {}", file.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut proto = 0u8;
    let mut conv = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            proto = 6;
        } else if line.starts_with("UDP Conversations") {
            proto = 17;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.get(1) != Some(&"<->") {
            continue;
        }
        // a <-> b  framesL bytesL unit  framesR bytesR unit  frames bytes unit  start dur
        assert!(t.len() >= 12, "unexpected tshark row: {line}");
        let key = FlowKey::new(proto, endpoint(t[0]), endpoint(t[2]));
        let frames: u64 = t[9].parse().expect("frames");
        let bytes: u64 = t[10].parse().expect("bytes");
        let u = unit(t[11]);
        let e: &mut Totals = conv.entry((proto, key.lo, key.hi)).or_default();
        e.frames += frames;
        if u == 1 && e.rounded_unit.is_none() {
            e.bytes += bytes;
        } else {
            e.bytes += bytes * u;
            e.rounded_unit = Some(u.max(e.rounded_unit.unwrap_or(1)));
        }
    }
    conv
}

fn ours(run: &Run) -> BTreeMap<(u8, SocketAddr, SocketAddr), Totals> {
    let mut conv = BTreeMap::new();
    for (id, f) in &run.flows {
        if f.key.proto != 6 && f.key.proto != 17 {
            continue;
        }
        let e: &mut Totals = conv.entry((f.key.proto, f.key.lo, f.key.hi)).or_default();
        e.frames += f.packets[0] + f.packets[1];
        e.bytes += run.frame_bytes.get(id).copied().unwrap_or(0);
    }
    conv
}

fn capinfos_frames(file: &Path) -> u64 {
    let out = Command::new("capinfos")
        .args(["-c", "-M"])
        .arg(file)
        .output()
        .expect("run capinfos");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Number of packets:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("capinfos said: {text}"))
}

#[test]
fn shared_captures_match_tshark() {
    if !tool("tshark") || !tool("capinfos") {
        eprintln!("skipping: tshark/capinfos not installed (apt-get install tshark)");
        return;
    }
    let files = shared_captures();
    assert!(files.len() >= 30, "only {} shared captures", files.len());
    let mut problems = Vec::new();
    let (mut flows_checked, mut frames_checked) = (0, 0);
    for file in &files {
        let name = file.display();
        let mut reader = PcapReader::open(file).expect("open capture");
        let mut run = Run::default();
        run_reader(&mut reader, FlowConfig::default(), &mut run);
        if let Some(e) = &run.error {
            problems.push(format!("{name}: reader error {e}"));
        }
        let want_frames = capinfos_frames(file);
        if run.frames != want_frames {
            problems.push(format!(
                "{name}: {} frames, capinfos {want_frames}",
                run.frames
            ));
        }
        frames_checked += run.frames;
        let theirs = tshark_conversations(file);
        let mine = ours(&run);
        let their_keys: BTreeSet<_> = theirs.keys().collect();
        let my_keys: BTreeSet<_> = mine.keys().collect();
        for k in their_keys.difference(&my_keys) {
            problems.push(format!("{name}: tshark has {k:?}, we do not"));
        }
        for k in my_keys.difference(&their_keys) {
            problems.push(format!("{name}: we have {k:?}, tshark does not"));
        }
        for (k, t) in &theirs {
            let Some(m) = mine.get(k) else { continue };
            flows_checked += 1;
            if m.frames != t.frames {
                problems.push(format!(
                    "{name}: {k:?}: {} packets, tshark {}",
                    m.frames, t.frames
                ));
            }
            let bytes_ok = match t.rounded_unit {
                None => m.bytes == t.bytes,
                Some(u) => (m.bytes / u).abs_diff(t.bytes / u) <= 1,
            };
            if !bytes_ok {
                problems.push(format!(
                    "{name}: {k:?}: {} frame bytes, tshark {} (unit {:?})",
                    m.bytes, t.bytes, t.rounded_unit
                ));
            }
        }
    }
    eprintln!(
        "{} captures, {frames_checked} frames, {flows_checked} TCP/UDP 5-tuples compared",
        files.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(flows_checked > 100, "only {flows_checked} flows compared");
}
