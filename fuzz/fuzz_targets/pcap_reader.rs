// Proves: PcapReader never panics on any bytes as a pcap or pcapng file, stops after an
// error, and every frame it returns is decodable (and accounted) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_wire::{Decoder, FlowConfig, FlowTable, PcapReader};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = PcapReader::new(data) else {
        return;
    };
    let mut decoder = Decoder::new();
    let config = FlowConfig {
        max_flows: 8,
        max_stream_buffer: 512,
        max_buffered_total: 2048,
        ..FlowConfig::default()
    };
    let mut table: FlowTable<()> = FlowTable::new(config);
    let mut frames = 0usize;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                assert!(frame.data.len() <= data.len());
                decoder.decode(&frame, |pkt| {
                    table.expire(pkt.ts_us);
                    table.process(pkt, |_, _, _| {});
                });
                table.take_ended(|_, _| {});
            }
            Ok(None) => break,
            Err(e) => {
                // One line, and the reader is done after it.
                assert!(!e.to_string().contains('\n'));
                assert!(matches!(reader.next_frame(), Ok(None)));
                break;
            }
        }
        assert!(frames <= data.len());
    }
    assert!(reader.bytes_read() <= data.len() as u64);
});
