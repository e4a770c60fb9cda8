// Proves: the whole sensor (reader, decoder, flows, dissectors, identity, live
// snapshots) never panics on any bytes as a capture file, and what it reports is
// consistent: no flow has more packets than frames were read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_sensor::{Learn, Sensor, SensorConfig};
use pumpguard_wire::PcapReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = PcapReader::new(data) else {
        return;
    };
    let mut sensor = Sensor::new(SensorConfig {
        max_flows: 16,
        learn: Learn::FirstMinutes(1),
        ..SensorConfig::default()
    });
    let mut frames = 0u64;
    let mut records = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        sensor.frame(&frame);
        frames += 1;
        if frames % 7 == 0 {
            sensor.snapshot_live();
            records.extend(sensor.take_batch(false).flows);
        }
    }
    sensor.finish();
    let batch = sensor.take_batch(true);
    records.extend(batch.flows);
    for f in &records {
        assert!(f.packets_to_server + f.packets_to_client <= frames);
    }
});
