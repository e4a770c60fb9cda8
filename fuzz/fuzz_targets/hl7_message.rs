// Proves: the HL7 parser, terser reads, the indexed field reads (equal to scanned ones), typed PCD views and the validator never panic on
// any bytes; a reply built for a parsed message parses and acknowledges its control id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_hl7::pcd::{self, Alarm, DeviceData, InfusionEvent, InfusionOrder, OrderAck};
use pumpguard_hl7::{Path, parse_messages, validate};

fuzz_target!(|data: &[u8]| {
    for m in parse_messages(data) {
        let Ok(m) = m else { break };
        for seg in m.segments() {
            let fields = seg.fields();
            let any = (1..=seg.field_count()).any(|f| !seg.field(f).is_empty());
            assert_eq!(seg.has_data(), any, "has_data of {:?}", seg.raw());
            for f in 0..=seg.field_count() + 1 {
                let field = seg.field(f);
                let indexed = fields.get(f);
                assert_eq!(indexed.raw(), field.raw(), "field {f} of {:?}", seg.raw());
                assert_eq!(indexed.text(), field.text(), "field {f} of {:?}", seg.raw());
                let _ = field.text();
                let _ = field.repetition(2).component(2).subcomponent(2).text();
                let _ = (field.count(), field.repetition(1).count(), field.component(1).count());
            }
        }
        let _ = DeviceData::from_message(&m);
        let _ = InfusionOrder::from_message(&m);
        let _ = OrderAck::from_message(&m);
        let _ = Alarm::from_message(&m);
        let _ = InfusionEvent::from_message(&m);
        let id = m.control_id();
        if id.is_ascii() {
            let header = pcd::ReplyHeader { time: "20261129000000", control_id: "R1" };
            let ack = pcd::accept_ack(&m, pcd::AcceptCode::Accept, header);
            let parsed = pumpguard_hl7::Message::parse(ack.as_bytes())
                .unwrap_or_else(|e| panic!("reply {ack:?} does not parse: {e}"));
            let msa2: Path = "MSA-2".parse().unwrap();
            assert_eq!(parsed.get(&msa2), id, "reply {ack:?}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Path>();
    }
    let _ = validate::validate(data);
});
