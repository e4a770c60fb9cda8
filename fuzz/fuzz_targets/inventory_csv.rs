// Proves: read_csv never panics on arbitrary bytes, and every row it accepts applies as a new imported asset without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_model::Source;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = pumpguard_inventory::read_csv(data) {
        for row in &rows {
            let _ = row.patch.apply(None, Source::Imported);
        }
    }
});
