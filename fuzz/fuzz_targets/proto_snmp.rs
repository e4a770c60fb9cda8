// Proves: SNMP decoding (v1, v2c, v3) never panics on any bytes, and the classifier's rule
// only accepts messages that decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::snmp;

fuzz_target!(|data: &[u8]| {
    let parsed = snmp::parse(data);
    if snmp::looks_like(data) {
        assert!(parsed.is_ok());
    }
});
