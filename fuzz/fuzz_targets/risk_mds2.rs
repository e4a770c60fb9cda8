//! MDS2 forms: any bytes read as CSV into a form or a placed one-line error, never a
//! panic; every answer read is of a known capability. ZIP (XLSX) input is skipped:
//! calamine 0.35 panics on some damaged workbooks, which `read` catches
//! (`catch_unwind`) but libFuzzer's panic hook reports as a crash; the risk crate's
//! tests feed the XLSX path truncated and altered workbooks instead.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn capabilities() -> &'static BTreeSet<String> {
    static CAPS: OnceLock<BTreeSet<String>> = OnceLock::new();
    CAPS.get_or_init(|| {
        let bank = pumpguard_risk::Bank::builtin().expect("the built-in bank loads");
        pumpguard_risk::mds2::capabilities(&bank)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        return;
    }
    match pumpguard_risk::mds2::read("fuzz.xlsx", data, capabilities()) {
        Ok(form) => {
            for a in &form.answers {
                assert!(capabilities().contains(&a.capability), "{}", a.id);
                let _ = a.is_gap();
            }
        }
        Err(e) => assert!(!e.place.is_empty() && !e.message.contains('\n'), "{e}"),
    }
});
