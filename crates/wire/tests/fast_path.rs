//! The decoder's fast path (Ethernet, one optional 802.1Q tag, whole IPv4, TCP or UDP,
//! read by hand) against etherparse's general path: every frame of the shared
//! third-party captures, and 200 damaged copies of each (bits flipped and lengths
//! overwritten in the headers, frames cut short), must decode to the same packets and
//! the same counters either way. Deterministic (SplitMix64 with a fixed seed).

mod common;

use common::{Rng, shared_captures};
use pumpguard_wire::{Decoder, Frame, LinkType, PcapReader};

/// Every packet `decode` (or `decode_general`) passes on for `frames`, as text, and the
/// decoder's counters.
fn decoded(frames: &[Vec<u8>], general: bool) -> (Vec<String>, String) {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    for (i, data) in frames.iter().enumerate() {
        let frame = Frame {
            ts_us: i as i64,
            link: LinkType::Ethernet,
            data,
            wire_len: data.len() as u32 + (i % 3) as u32,
            interface: 0,
        };
        let mut push = |d: &pumpguard_wire::Decoded<'_>| out.push(format!("{d:?}"));
        if general {
            decoder.decode_general(&frame, &mut push);
        } else {
            decoder.decode(&frame, &mut push);
        }
    }
    (out, format!("{:?}", decoder.stats()))
}

fn damaged(rng: &mut Rng, frame: &[u8]) -> Vec<u8> {
    let mut v = frame.to_vec();
    if v.is_empty() {
        return v;
    }
    match rng.below(4) {
        // A bit in the first 64 bytes (Ethernet, VLAN, IP and transport headers).
        0 | 1 => {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(v.len().min(64));
                v[at] ^= 1 << rng.below(8);
            }
        }
        // A 16-bit field set to an extreme (total length, UDP length, offsets).
        2 => {
            let at = rng.below(v.len().min(60));
            let value: [u8; 2] = match rng.below(4) {
                0 => [0xff, 0xff],
                1 => [0, 0],
                2 => [0, 20],
                _ => (rng.next() as u16).to_be_bytes(),
            };
            for (i, b) in value.into_iter().enumerate() {
                if let Some(x) = v.get_mut(at + i) {
                    *x = b;
                }
            }
        }
        // Cut short anywhere.
        _ => v.truncate(rng.below(v.len())),
    }
    v
}

#[test]
fn fast_and_general_paths_decode_every_frame_alike() {
    let captures = shared_captures();
    assert!(!captures.is_empty(), "no shared captures found");
    let mut rng = Rng(0x5eed_fa57);
    let (mut frames_seen, mut ethernet_ipv4, mut tagged) = (0usize, 0usize, 0usize);
    for path in &captures {
        let bytes = std::fs::read(path).unwrap();
        let Ok(mut reader) = PcapReader::new(&bytes[..]) else {
            continue;
        };
        let mut frames = Vec::new();
        while let Ok(Some(f)) = reader.next_frame() {
            // Every frame as if it were Ethernet: other link types become damaged input.
            frames.push(f.data.to_vec());
        }
        frames_seen += frames.len();
        let (fast, fast_stats) = decoded(&frames, false);
        let (general, general_stats) = decoded(&frames, true);
        assert_eq!(fast, general, "{}", path.display());
        assert_eq!(fast_stats, general_stats, "{}", path.display());
        ethernet_ipv4 += fast
            .iter()
            .filter(|d| d.contains("ether_type: Some(2048)"))
            .count();
        tagged += fast
            .iter()
            .filter(|d| d.contains("ether_type: Some(2048)") && !d.contains("vlans: [None"))
            .count();
        for round in 0..200 {
            let mutated: Vec<Vec<u8>> = frames
                .iter()
                .take(64)
                .map(|f| damaged(&mut rng, f))
                .collect();
            let (fast, fast_stats) = decoded(&mutated, false);
            let (general, general_stats) = decoded(&mutated, true);
            assert_eq!(fast, general, "{} round {round}", path.display());
            assert_eq!(
                fast_stats,
                general_stats,
                "{} round {round}",
                path.display()
            );
        }
    }
    // The comparison means something only if the fast path's frames were there.
    assert!(frames_seen > 2_000, "{frames_seen} frames");
    assert!(ethernet_ipv4 > 1_000, "{ethernet_ipv4} IPv4 packets");
    assert!(tagged > 0, "no 802.1Q-tagged IPv4 packet");
}
