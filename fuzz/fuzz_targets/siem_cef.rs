//! CEF lines: any text parses or is refused, never a panic; what parses converts to an
//! alert or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data)
        && let Ok(record) = pumpguard_siem::parse_cef(line)
    {
        let _ = record.to_alert();
    }
});
