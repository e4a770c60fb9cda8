//! Drug libraries: per care area, each drug's dose unit and its soft and hard limits —
//! what an infusion order (IHE PCD-03 RGV^O15) is checked against. A library is a YAML
//! (or JSON, a subset of YAML) file:
//!
//! ```yaml
//! name: ICU Adult
//! version: 2026.11.1
//! care_area: ICU
//! entries:
//!   - drug: Dopamine
//!     code: "1234"
//!     dose_unit: ug/kg/min
//!     soft_min: 2
//!     soft_max: 20
//!     hard_min: 1
//!     hard_max: 25
//! ```
//!
//! Loading validates the limits (hard ⊇ soft, non-negative) and that codes and names are
//! unique; an error names the file, line and column. Signed libraries (Ed25519 in a
//! COSE_Sign1 envelope) are [`signed`]'s.

pub mod signed;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A drug library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugLibrary {
    pub name: String,
    pub version: String,
    pub care_area: String,
    pub entries: Vec<Entry>,
}

/// One drug's limits. Limits are in `dose_unit`; any may be absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub drug: String,
    /// The local formulary code orders carry (RXG-4 identifier).
    #[serde(default)]
    pub code: Option<String>,
    /// UCUM, e.g. `ug/kg/min`, `mL/h`.
    pub dose_unit: String,
    #[serde(default)]
    pub soft_min: Option<f64>,
    #[serde(default)]
    pub soft_max: Option<f64>,
    #[serde(default)]
    pub hard_min: Option<f64>,
    #[serde(default)]
    pub hard_max: Option<f64>,
    /// Concentration as printed on the library (e.g. `400 mg/250 mL`), informative.
    #[serde(default)]
    pub concentration: Option<String>,
    /// Largest bolus, in `bolus_unit`.
    #[serde(default)]
    pub bolus_max: Option<f64>,
    #[serde(default)]
    pub bolus_unit: Option<String>,
}

/// Why a library did not load.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{file}: {why}")]
    Read { file: String, why: String },
    #[error("{file}:{line}:{column}: {why}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        why: String,
    },
    #[error("{file}: entry {index} ({drug}): {why}")]
    Invalid {
        file: String,
        index: usize,
        drug: String,
        why: String,
    },
}

/// An order's rate against the library.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    Within(&'a Entry),
    /// Outside the soft limits: allowed with a clinician's confirmation.
    OverSoft {
        entry: &'a Entry,
        limit: f64,
    },
    UnderSoft {
        entry: &'a Entry,
        limit: f64,
    },
    /// Outside the hard limits: a pump must refuse it.
    OverHard {
        entry: &'a Entry,
        limit: f64,
    },
    UnderHard {
        entry: &'a Entry,
        limit: f64,
    },
    /// The drug is in the library but the order uses another unit.
    UnitMismatch {
        entry: &'a Entry,
    },
    /// The drug is not in the library.
    UnknownDrug,
}

impl DrugLibrary {
    /// Reads and validates a library file.
    pub fn load(path: &Path) -> Result<DrugLibrary, LibraryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LibraryError::Read {
            file: file.clone(),
            why: e.to_string(),
        })?;
        DrugLibrary::parse(&text, &file)
    }

    /// Parses and validates library text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<DrugLibrary, LibraryError> {
        let lib: DrugLibrary = serde_norway::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            LibraryError::Syntax {
                file: file.to_owned(),
                line,
                column,
                why: e.to_string(),
            }
        })?;
        lib.validate(file)?;
        Ok(lib)
    }

    fn validate(&self, file: &str) -> Result<(), LibraryError> {
        for (i, e) in self.entries.iter().enumerate() {
            let bad = |why: String| LibraryError::Invalid {
                file: file.to_owned(),
                index: i + 1,
                drug: e.drug.clone(),
                why,
            };
            if e.drug.trim().is_empty() {
                return Err(bad("empty drug name".into()));
            }
            if e.dose_unit.trim().is_empty() {
                return Err(bad("empty dose_unit".into()));
            }
            let limits = [
                ("hard_min", e.hard_min),
                ("soft_min", e.soft_min),
                ("soft_max", e.soft_max),
                ("hard_max", e.hard_max),
            ];
            for (name, v) in limits {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(bad(format!("{name} {v} is not a non-negative number")));
                }
            }
            // Each present limit is at most every later present one.
            let present: Vec<(&str, f64)> = limits
                .iter()
                .filter_map(|(n, v)| v.map(|v| (*n, v)))
                .collect();
            for (k, (a, va)) in present.iter().enumerate() {
                if let Some((b, vb)) = present[k + 1..].iter().find(|(_, vb)| va > vb) {
                    return Err(bad(format!("{a} {va} is above {b} {vb}")));
                }
            }
            let dup = self.entries[..i].iter().find(|o| {
                o.drug.eq_ignore_ascii_case(&e.drug) || (o.code.is_some() && o.code == e.code)
            });
            if let Some(o) = dup {
                return Err(bad(format!("same drug or code as '{}'", o.drug)));
            }
        }
        Ok(())
    }

    /// The entry an order names: by code (RXG-4 identifier) first, then by drug name
    /// (case-insensitive).
    pub fn find(&self, code: &str, text: &str) -> Option<&Entry> {
        let code = code.trim();
        let text = text.trim();
        (!code.is_empty())
            .then(|| {
                self.entries
                    .iter()
                    .find(|e| e.code.as_deref().is_some_and(|c| c == code))
            })
            .flatten()
            .or_else(|| {
                (!text.is_empty())
                    .then(|| {
                        self.entries
                            .iter()
                            .find(|e| e.drug.eq_ignore_ascii_case(text))
                    })
                    .flatten()
            })
    }

    /// Checks an ordered rate (`value` in `unit`, UCUM) against the library.
    pub fn check(&self, code: &str, text: &str, value: f64, unit: &str) -> Verdict<'_> {
        let Some(entry) = self.find(code, text) else {
            return Verdict::UnknownDrug;
        };
        if !entry.dose_unit.trim().eq_ignore_ascii_case(unit.trim()) {
            return Verdict::UnitMismatch { entry };
        }
        if let Some(limit) = entry.hard_max.filter(|l| value > *l) {
            return Verdict::OverHard { entry, limit };
        }
        if let Some(limit) = entry.hard_min.filter(|l| value < *l) {
            return Verdict::UnderHard { entry, limit };
        }
        if let Some(limit) = entry.soft_max.filter(|l| value > *l) {
            return Verdict::OverSoft { entry, limit };
        }
        if let Some(limit) = entry.soft_min.filter(|l| value < *l) {
            return Verdict::UnderSoft { entry, limit };
        }
        Verdict::Within(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICU: &str = "name: ICU Adult\nversion: 2026.11.1\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_min: 2\n    soft_max: 20\n    hard_min: 1\n    hard_max: 25\n  - drug: Normal Saline\n    dose_unit: mL/h\n    hard_max: 999\n";

    #[test]
    fn orders_are_checked_by_code_then_name() {
        let lib = DrugLibrary::parse(ICU, "icu.yaml").expect("parse");
        assert!(
            matches!(lib.check("1234", "", 60.0, "ug/kg/min"), Verdict::OverHard { limit, .. } if limit == 25.0)
        );
        assert!(matches!(
            lib.check("", "dopamine", 22.0, "ug/kg/min"),
            Verdict::OverSoft { .. }
        ));
        assert!(matches!(
            lib.check("1234", "", 0.5, "ug/kg/min"),
            Verdict::UnderHard { .. }
        ));
        assert!(matches!(
            lib.check("1234", "", 10.0, "ug/kg/min"),
            Verdict::Within(_)
        ));
        assert!(matches!(
            lib.check("1234", "", 10.0, "mL/h"),
            Verdict::UnitMismatch { .. }
        ));
        assert!(matches!(
            lib.check("9", "Heparin", 1.0, "mL/h"),
            Verdict::UnknownDrug
        ));
        assert!(matches!(
            lib.check("", "Normal Saline", 1000.0, "mL/h"),
            Verdict::OverHard { .. }
        ));
    }

    #[test]
    fn bad_libraries_name_the_place() {
        let e = DrugLibrary::parse("name: x\nversion: 1\ncare_area: ICU\nentries:\n  - drug: A\n    dose_unit: mL/h\n    hard_max: [1\n", "lib.yaml")
            .expect_err("syntax");
        assert!(e.to_string().starts_with("lib.yaml:"), "{e}");
        let e = DrugLibrary::parse(&ICU.replace("hard_max: 25", "hard_max: 15"), "lib.yaml")
            .expect_err("limits");
        assert_eq!(
            e.to_string(),
            "lib.yaml: entry 1 (Dopamine): soft_max 20 is above hard_max 15"
        );
        let e = DrugLibrary::parse(&ICU.replace("soft_min: 2", "sotf_min: 2"), "lib.yaml")
            .expect_err("unknown field");
        assert!(e.to_string().contains("sotf_min"), "{e}");
        let e = DrugLibrary::parse(&ICU.replace("Normal Saline", "DOPAMINE"), "lib.yaml")
            .expect_err("duplicate");
        assert!(e.to_string().contains("same drug"), "{e}");
    }
}
