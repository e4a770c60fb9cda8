//! The catalogues, question bank and threat events, loaded from `data/` and checked
//! against one another: every citation a question makes names an entry of its
//! catalogue, every threat it mitigates exists.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::level::Level;

/// A data file that does not load: which file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}: {message}")]
pub struct BankError {
    pub file: String,
    pub place: String,
    pub message: String,
}

impl BankError {
    fn new(file: &str, place: impl Into<String>, message: impl Into<String>) -> BankError {
        BankError {
            file: file.to_owned(),
            place: place.into(),
            message: message.into(),
        }
    }
}

/// A CSF 2.0 function, category or subcategory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsfEntry {
    pub id: String,
    pub function: String,
    #[serde(default)]
    pub category: String,
    pub title: String,
}

/// A HIPAA Security Rule standard or implementation specification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HipaaEntry {
    pub citation: String,
    pub safeguard: String,
    pub standard: String,
    #[serde(default)]
    pub specification: String,
    /// `standard`, `required` or `addressable`.
    pub kind: String,
    /// The standard as 45 CFR numbers it (`164.308(a)(1)`).
    pub cfr_standard: String,
}

/// How much a "yes" lowers a threat's likelihood, in levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mitigation {
    pub threat: String,
    pub reduction: usize,
}

/// One question of the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub topic: String,
    pub text: String,
    pub help: String,
    pub csf: Vec<String>,
    pub hipaa: Vec<String>,
    pub sp800_53: Vec<String>,
    #[serde(default)]
    pub iec_80001: Vec<String>,
    pub mitigates: Vec<Mitigation>,
    /// The evidence rule that can pre-answer it, if any.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// What a threat event does when it succeeds, per concern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub patient_safety: Level,
    pub ephi: Level,
    pub availability: Level,
}

/// An SP 800-30 threat event of the ecosystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threat {
    pub id: String,
    pub name: String,
    pub description: String,
    pub source: String,
    /// Its likelihood with no control in place.
    pub base_likelihood: Level,
    pub impact: Impact,
    /// Which of SP 1800-8's three risks it feeds (`dose_change`, `ephi_breach`,
    /// `disrupted_care`).
    pub sp1800_8_risk: Vec<String>,
}

/// Everything the assessment reads, checked.
#[derive(Debug, Clone)]
pub struct Bank {
    pub csf: BTreeMap<String, CsfEntry>,
    /// CSF 1.1 subcategory → the CSF 2.0 subcategories it became.
    pub csf11_to_20: BTreeMap<String, Vec<String>>,
    pub hipaa: BTreeMap<String, HipaaEntry>,
    pub sp800_53: BTreeMap<String, String>,
    pub iec_80001: BTreeMap<String, String>,
    pub questions: Vec<Question>,
    pub threats: Vec<Threat>,
}

/// The data files shipped, by name.
pub const BUILTIN: [(&str, &str); 7] = [
    ("csf-2.0.csv", include_str!("../data/csf-2.0.csv")),
    (
        "csf-1.1-to-2.0.csv",
        include_str!("../data/csf-1.1-to-2.0.csv"),
    ),
    ("hipaa.csv", include_str!("../data/hipaa.csv")),
    ("sp800-53.csv", include_str!("../data/sp800-53.csv")),
    (
        "iec-80001-2-2.csv",
        include_str!("../data/iec-80001-2-2.csv"),
    ),
    ("questions.yaml", include_str!("../data/questions.yaml")),
    ("threats.yaml", include_str!("../data/threats.yaml")),
];

/// The files a bank is read from, by name.
struct Files<'a>(&'a [(&'a str, &'a str)]);

impl Files<'_> {
    fn get(&self, name: &str) -> Result<&str, BankError> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
            .ok_or_else(|| BankError::new(name, "/", "missing"))
    }

    fn rows<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Vec<T>, BankError> {
        rows(name, self.get(name)?)
    }

    fn yaml<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, BankError> {
        yaml(name, self.get(name)?)
    }
}

fn rows<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>, BankError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| BankError::new(name, format!("line {}", i + 2), e.to_string())))
        .collect()
}

fn yaml<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, BankError> {
    serde_norway::from_str(text).map_err(|e| {
        let place = e
            .location()
            .map_or("/".to_owned(), |l| format!("line {}", l.line()));
        BankError::new(name, place, e.to_string())
    })
}

fn unique<'a>(
    name: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<BTreeSet<&'a str>, BankError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(BankError::new(name, id, "listed twice"));
        }
    }
    Ok(seen)
}

impl Bank {
    /// The bank shipped with pumpguard.
    pub fn builtin() -> Result<Bank, BankError> {
        Bank::load(&BUILTIN)
    }

    /// A bank from its files, `(name, text)` with the names of [`BUILTIN`].
    pub fn load(files: &[(&str, &str)]) -> Result<Bank, BankError> {
        let files = Files(files);
        let csf: Vec<CsfEntry> = files.rows("csf-2.0.csv")?;
        unique("csf-2.0.csv", csf.iter().map(|c| c.id.as_str()))?;
        let crosswalk: Vec<(String, String)> = files.rows("csf-1.1-to-2.0.csv")?;
        let hipaa: Vec<HipaaEntry> = files.rows("hipaa.csv")?;
        unique("hipaa.csv", hipaa.iter().map(|h| h.citation.as_str()))?;
        let sp800_53: Vec<(String, String, String)> = files.rows("sp800-53.csv")?;
        let iec: Vec<(String, String)> = files.rows("iec-80001-2-2.csv")?;
        let questions: Vec<Question> = files.yaml("questions.yaml")?;
        unique("questions.yaml", questions.iter().map(|q| q.id.as_str()))?;
        let threats: Vec<Threat> = files.yaml("threats.yaml")?;
        unique("threats.yaml", threats.iter().map(|t| t.id.as_str()))?;

        let bank = Bank {
            csf: csf.into_iter().map(|c| (c.id.clone(), c)).collect(),
            csf11_to_20: crosswalk
                .into_iter()
                .map(|(old, new)| {
                    let new = new.split(';').map(|s| s.trim().to_owned()).collect();
                    (old, new)
                })
                .collect(),
            hipaa: hipaa.into_iter().map(|h| (h.citation.clone(), h)).collect(),
            sp800_53: sp800_53.into_iter().map(|(id, _, t)| (id, t)).collect(),
            iec_80001: iec.into_iter().collect(),
            questions,
            threats,
        };
        bank.check()?;
        Ok(bank)
    }

    /// Every reference names something that exists.
    fn check(&self) -> Result<(), BankError> {
        let threats: BTreeSet<&str> = self.threats.iter().map(|t| t.id.as_str()).collect();
        for (old, new) in &self.csf11_to_20 {
            for id in new {
                if !self.is_csf_subcategory(id) {
                    return Err(BankError::new(
                        "csf-1.1-to-2.0.csv",
                        old,
                        format!("'{id}' is not a CSF 2.0 subcategory"),
                    ));
                }
            }
        }
        for q in &self.questions {
            let bad = |what: &str, id: &str| {
                BankError::new("questions.yaml", &q.id, format!("unknown {what} '{id}'"))
            };
            if let Some(id) = q.csf.iter().find(|id| !self.is_csf_subcategory(id)) {
                return Err(bad("CSF 2.0 subcategory", id));
            }
            if let Some(id) = q.hipaa.iter().find(|id| !self.hipaa.contains_key(*id)) {
                return Err(bad("HIPAA citation", id));
            }
            if let Some(id) = q
                .sp800_53
                .iter()
                .find(|id| !self.sp800_53.contains_key(*id))
            {
                return Err(bad("SP 800-53 control", id));
            }
            if let Some(id) = q
                .iec_80001
                .iter()
                .find(|id| !self.iec_80001.contains_key(*id))
            {
                return Err(bad("IEC 80001-2-2 capability", id));
            }
            if let Some(m) = q
                .mitigates
                .iter()
                .find(|m| !threats.contains(m.threat.as_str()))
            {
                return Err(bad("threat", &m.threat));
            }
            if let Some(rule) = q
                .evidence
                .as_deref()
                .filter(|r| !crate::evidence::RULES.contains(r))
            {
                return Err(bad("evidence rule", rule));
            }
        }
        Ok(())
    }

    /// Whether `id` is a CSF 2.0 subcategory (`PR.AA-01`), not a function or category.
    pub fn is_csf_subcategory(&self, id: &str) -> bool {
        self.csf
            .get(id)
            .is_some_and(|c| !c.category.is_empty() && c.id != c.category)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }
}
