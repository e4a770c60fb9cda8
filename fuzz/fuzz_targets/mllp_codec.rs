// Proves: MLLP splitting never panics, and the streaming tokio codec, fed the same bytes
// in arbitrary reads, yields exactly the blocks the whole-buffer splitter finds.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pumpguard_hl7::mllp::{self, Block, MllpCodec};
use tokio_util::codec::Decoder;

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else { return };
    let step = usize::from(step % 16) + 1;
    let whole: Vec<Block<Vec<u8>>> = mllp::frames(data)
        .map_while(Result::ok)
        .map(|(_, b)| match b {
            Block::Message(m) => Block::Message(m.to_vec()),
            Block::CommitAck => Block::CommitAck,
            Block::CommitNak => Block::CommitNak,
        })
        .collect();
    let mut codec = MllpCodec::new(usize::MAX / 2);
    let mut buf = BytesMut::new();
    let mut streamed = Vec::new();
    let mut failed = false;
    for chunk in data.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(b)) => streamed.push(b),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
    }
    if !failed {
        while let Ok(Some(b)) = codec.decode_eof(&mut buf) {
            streamed.push(b);
        }
    }
    let streamed: Vec<Block<Vec<u8>>> = streamed
        .into_iter()
        .map(|b| match b {
            Block::Message(m) => Block::Message(m.to_vec()),
            Block::CommitAck => Block::CommitAck,
            Block::CommitNak => Block::CommitNak,
        })
        .collect();
    assert_eq!(whole, streamed, "step {step}");
});
