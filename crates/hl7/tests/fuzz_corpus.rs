//! Replays the cargo-fuzz corpora (`fuzz/corpus/hl7_message`, `fuzz/corpus/mllp_codec`)
//! on stable Rust with the fuzz targets' properties: nothing panics, indexed field reads
//! equal scanned ones, replies parse, and the streaming MLLP codec agrees with the
//! whole-buffer splitter.

use bytes::BytesMut;
use pumpguard_hl7::mllp::{self, Block, MllpCodec};
use pumpguard_hl7::pcd::{self, Alarm, DeviceData, InfusionEvent, InfusionOrder, OrderAck};
use pumpguard_hl7::{Message, parse_messages, validate};
use tokio_util::codec::Decoder;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/../../fuzz/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(inputs.len() > 20, "{dir} has only {} inputs", inputs.len());
    inputs
}

#[test]
fn hl7_corpus() {
    for data in corpus("hl7_message") {
        for m in parse_messages(&data) {
            let Ok(m) = m else { break };
            for seg in m.segments() {
                let fields = seg.fields();
                let any = (1..=seg.field_count()).any(|f| !seg.field(f).is_empty());
                assert_eq!(seg.has_data(), any, "{:?}", seg.raw());
                for f in 0..=seg.field_count() + 1 {
                    let field = seg.field(f);
                    assert_eq!(fields.get(f).raw(), field.raw(), "{f} of {:?}", seg.raw());
                    for r in 1..=field.count() + 1 {
                        let rep = field.repetition(r);
                        for c in 1..=rep.count() + 1 {
                            let _ = rep.component(c).text();
                        }
                    }
                }
            }
            let _ = (
                DeviceData::from_message(&m),
                InfusionOrder::from_message(&m),
                OrderAck::from_message(&m),
            );
            let _ = (Alarm::from_message(&m), InfusionEvent::from_message(&m));
            let id = m.control_id();
            if id.is_ascii() {
                let header = pcd::ReplyHeader {
                    time: "20261129000000",
                    control_id: "R1",
                };
                let ack = pcd::accept_ack(&m, pcd::AcceptCode::Accept, header);
                let parsed = Message::parse(ack.as_bytes()).expect("reply parses");
                assert_eq!(parsed.get(&"MSA-2".parse().expect("path")), id);
            }
        }
        let _ = validate::validate(&data);
    }
}

fn owned(b: Block<impl AsRef<[u8]>>) -> Block<Vec<u8>> {
    match b {
        Block::Message(m) => Block::Message(m.as_ref().to_vec()),
        Block::CommitAck => Block::CommitAck,
        Block::CommitNak => Block::CommitNak,
    }
}

#[test]
fn mllp_corpus() {
    for input in corpus("mllp_codec") {
        let Some((&step, data)) = input.split_first() else {
            continue;
        };
        let step = usize::from(step % 16) + 1;
        let whole: Vec<_> = mllp::frames(data)
            .map_while(Result::ok)
            .map(|(_, b)| owned(b))
            .collect();
        let mut codec = MllpCodec::new(usize::MAX / 2);
        let mut buf = BytesMut::new();
        let mut streamed = Vec::new();
        for chunk in data.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Ok(Some(b)) = codec.decode(&mut buf) {
                streamed.push(owned(b));
            }
        }
        while let Ok(Some(b)) = codec.decode_eof(&mut buf) {
            streamed.push(owned(b));
        }
        assert_eq!(whole, streamed);
    }
}
