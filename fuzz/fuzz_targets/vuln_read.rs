//! Vulnerability intelligence files: any bytes read into imports or a placed error,
//! never a panic; every version text they hold parses and checks against a firmware.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_model::VulnImport;

fuzz_target!(|data: &[u8]| {
    if let Ok(imports) = pumpguard_vuln::read(data, "fuzz.json") {
        for i in imports {
            if let VulnImport::Advisory(a) = i {
                for p in &a.products {
                    if let Some(v) = &p.version {
                        let c = pumpguard_vuln::version::parse(v, p.version_is_range);
                        let _ = c.check(Some("9.33.1"));
                        let _ = c.check(None);
                    }
                }
            }
        }
    }
    // The version parser and the ordering on the raw text too.
    if let Ok(text) = std::str::from_utf8(data) {
        let c = pumpguard_vuln::version::parse(text, true);
        let _ = c.check(Some(text));
        let _ = c.summary();
        let mut mid = text.len() / 2;
        while !text.is_char_boundary(mid) {
            mid -= 1;
        }
        let (a, b) = text.split_at(mid);
        let _ = pumpguard_vuln::version::compare(a, b);
        let _ = pumpguard_vuln::cvss::score(text);
    }
});
