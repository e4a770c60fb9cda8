// Proves: the DNS/mDNS parser never panics on any bytes and keeps at most MAX_RECORDS
// questions and records; the classifier's header check agrees with the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::dns;

fuzz_target!(|data: &[u8]| {
    for mdns in [false, true] {
        if let Ok(d) = dns::parse_with(data, mdns) {
            let n = d.questions.len() + d.answers.len() + d.authorities.len() + d.additionals.len();
            assert!(n <= dns::MAX_RECORDS);
            assert_eq!(d.mdns, mdns);
        }
    }
    if dns::looks_like(data) {
        assert!(dns::parse(data).is_ok());
    }
});
