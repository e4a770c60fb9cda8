// Proves: MacAddr parsing never panics on any UTF-8 text, and every accepted address round-trips through its Display form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_model::MacAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mac) = s.parse::<MacAddr>() {
        let text = mac.to_string();
        let back: MacAddr = text
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} (from {s:?}) does not re-parse: {e}"));
        assert_eq!(back, mac, "round trip of {s:?} via {text:?}");
    }
});
