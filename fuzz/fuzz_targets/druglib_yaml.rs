//! Drug-library YAML: any text loads or is refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(lib) = pumpguard_druglib::DrugLibrary::parse(text, "fuzz.yaml")
    {
        for e in &lib.entries {
            let _ = lib.check(e.code.as_deref().unwrap_or(""), &e.drug, 1.0, &e.dose_unit);
        }
    }
});
