// Proves: read_export never panics on arbitrary bytes, whatever the lines, JSON, chain or trailer look like.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pumpguard_audit::read_export(data);
});
