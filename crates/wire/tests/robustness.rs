//! 10,000 damaged variants of the shared third-party captures (truncated, bit-flipped,
//! bytes overwritten, blocks spliced) run through reader, decoder and flow table: nothing
//! may panic, and the flow table must stay within its bounds. Deterministic (SplitMix64
//! with a fixed seed), so a failure names the variant that reproduces it.

mod common;

use common::{Rng, Run, run_bytes, shared_captures};
use pumpguard_wire::FlowConfig;

const VARIANTS: usize = 10_000;

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut v = original.to_vec();
    let ops = 1 + rng.below(4);
    for _ in 0..ops {
        if v.is_empty() {
            break;
        }
        match rng.below(5) {
            // Truncate anywhere (most often inside the last records).
            0 => {
                let at = if rng.below(2) == 0 {
                    v.len().saturating_sub(rng.below(200))
                } else {
                    rng.below(v.len())
                };
                v.truncate(at);
            }
            // Flip a few bits; the header area is hit more often.
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let at = if rng.below(3) == 0 {
                        rng.below(v.len().min(64))
                    } else {
                        rng.below(v.len())
                    };
                    v[at] ^= 1 << rng.below(8);
                }
            }
            // Overwrite a 4-byte field with an extreme value (lengths, counts).
            2 => {
                let at = rng.below(v.len());
                let value: [u8; 4] = match rng.below(4) {
                    0 => [0xff; 4],
                    1 => [0; 4],
                    2 => [0x7f, 0xff, 0xff, 0xff],
                    _ => (rng.next() as u32).to_le_bytes(),
                };
                for (i, b) in value.into_iter().enumerate() {
                    if let Some(x) = v.get_mut(at + i) {
                        *x = b;
                    }
                }
            }
            // Duplicate a chunk in place (repeated records, overlapping segments).
            3 => {
                let from = rng.below(v.len());
                let len = rng.below(512).min(v.len() - from);
                let chunk: Vec<u8> = v[from..from + len].to_vec();
                let to = rng.below(v.len());
                v.splice(to..to, chunk);
            }
            // Remove a chunk.
            _ => {
                let from = rng.below(v.len());
                let len = rng.below(256).min(v.len() - from);
                v.drain(from..from + len);
            }
        }
    }
    v
}

#[test]
fn damaged_shared_captures_never_panic() {
    let files: Vec<Vec<u8>> = shared_captures()
        .iter()
        .map(|p| std::fs::read(p).expect("read capture"))
        .collect();
    assert!(files.len() >= 30);
    let config = FlowConfig {
        max_flows: 64,
        max_stream_buffer: 4096,
        max_buffered_total: 64 * 1024,
        ..FlowConfig::default()
    };
    let mut rng = Rng(0x005E_ED0F_F1EE);
    let (mut errors, mut frames, mut malformed) = (0u64, 0u64, 0u64);
    for variant in 0..VARIANTS {
        let original = &files[variant % files.len()];
        let bytes = mutate(&mut rng, original);
        let r: Run = std::panic::catch_unwind(|| run_bytes(&bytes, config))
            .unwrap_or_else(|_| panic!("variant {variant} panicked"));
        errors += u64::from(r.error.is_some());
        frames += r.frames;
        malformed += r.decode.malformed;
        assert_eq!(r.flow_stats.live, 0);
        assert_eq!(r.flow_stats.buffered_bytes, 0, "variant {variant}");
    }
    eprintln!(
        "{VARIANTS} variants: {frames} frames, {errors} read errors, {malformed} malformed frames"
    );
    assert!(errors > 1000 && frames > 100_000);
}
