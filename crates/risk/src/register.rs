//! The SP 800-30 risk register: each threat event's likelihood, lowered by the controls
//! the answers attest, against its impact, on the five-level scale; and SP 1800-8's three
//! risks (dose change, ePHI breach, disrupted care) as the worst of the events feeding
//! them. Every level says which answers moved it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bank::{Bank, Threat};
use crate::level::Level;

/// An answer on the bank's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    Partial,
    No,
    /// Not applicable: the control has nothing to act on here.
    Na,
    Unknown,
}

impl Answer {
    /// The words of the scale, as `assess answer` takes them.
    pub const WORDS: &'static str = "yes, partial, no, na, unknown";

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::Partial => "partial",
            Answer::No => "no",
            Answer::Na => "na",
            Answer::Unknown => "unknown",
        }
    }

    /// Half-levels of the mitigation's reduction this answer earns: all of it for yes,
    /// half for partial, none otherwise (an unknown control is not assumed in place).
    fn half_levels(self, reduction: usize) -> usize {
        match self {
            Answer::Yes => 2 * reduction,
            Answer::Partial => reduction,
            Answer::No | Answer::Na | Answer::Unknown => 0,
        }
    }
}

impl std::str::FromStr for Answer {
    type Err = String;

    /// A word of the scale, in any case; `n/a` and `not applicable` are `na`.
    fn from_str(s: &str) -> Result<Answer, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "yes" => Ok(Answer::Yes),
            "partial" => Ok(Answer::Partial),
            "no" => Ok(Answer::No),
            "na" | "n/a" | "not applicable" => Ok(Answer::Na),
            "unknown" => Ok(Answer::Unknown),
            _ => Err(format!("'{s}' is not an answer ({})", Answer::WORDS)),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One answer's part in a threat's likelihood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub question: String,
    pub answer: Answer,
    /// Levels the mitigation would remove with a full yes.
    pub reduction: usize,
    /// The controls the question attests: CSF 2.0 subcategories, HIPAA citations, SP
    /// 800-53 controls.
    pub csf: Vec<String>,
    pub hipaa: Vec<String>,
    pub sp800_53: Vec<String>,
}

/// One threat event's line of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEntry {
    pub threat: String,
    pub name: String,
    pub base_likelihood: Level,
    pub likelihood: Level,
    /// The worst of the event's impacts.
    pub impact: Level,
    pub risk_level: Level,
    /// The risk per concern: patient safety, ePHI, availability.
    pub by_concern: BTreeMap<String, Level>,
    pub sp1800_8_risk: Vec<String>,
    /// Every question that mitigates the event, with its answer (unanswered: unknown).
    pub contributing: Vec<Contribution>,
}

/// The register: one entry per threat, highest risk first, and SP 1800-8's risks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    pub risks: Vec<RiskEntry>,
    /// `dose_change`, `ephi_breach`, `disrupted_care` → the worst risk feeding it.
    pub sp1800_8: BTreeMap<String, Level>,
}

/// Assesses every threat of the bank with `answers` (question id → answer; a question
/// without an answer counts as unknown).
pub fn register(bank: &Bank, answers: &BTreeMap<String, Answer>) -> Register {
    let mut risks: Vec<RiskEntry> = bank
        .threats
        .iter()
        .map(|t| entry(bank, t, answers))
        .collect();
    risks.sort_by(|a, b| {
        b.risk_level
            .cmp(&a.risk_level)
            .then(a.threat.cmp(&b.threat))
    });
    let mut sp1800_8: BTreeMap<String, Level> = BTreeMap::new();
    for r in &risks {
        for name in &r.sp1800_8_risk {
            let worst = sp1800_8.entry(name.clone()).or_insert(Level::VeryLow);
            *worst = (*worst).max(r.risk_level);
        }
    }
    Register { risks, sp1800_8 }
}

fn entry(bank: &Bank, t: &Threat, answers: &BTreeMap<String, Answer>) -> RiskEntry {
    let mut contributing = Vec::new();
    let mut half_levels = 0;
    for q in &bank.questions {
        for m in q.mitigates.iter().filter(|m| m.threat == t.id) {
            let answer = answers.get(&q.id).copied().unwrap_or(Answer::Unknown);
            half_levels += answer.half_levels(m.reduction);
            contributing.push(Contribution {
                question: q.id.clone(),
                answer,
                reduction: m.reduction,
                csf: q.csf.clone(),
                hipaa: q.hipaa.clone(),
                sp800_53: q.sp800_53.clone(),
            });
        }
    }
    let likelihood = t.base_likelihood.lowered(half_levels / 2);
    let i = &t.impact;
    let impact = i.patient_safety.max(i.ephi).max(i.availability);
    let by_concern = BTreeMap::from([
        (
            "patient_safety".to_owned(),
            Level::risk(likelihood, i.patient_safety),
        ),
        ("ephi".to_owned(), Level::risk(likelihood, i.ephi)),
        (
            "availability".to_owned(),
            Level::risk(likelihood, i.availability),
        ),
    ]);
    RiskEntry {
        threat: t.id.clone(),
        name: t.name.clone(),
        base_likelihood: t.base_likelihood,
        likelihood,
        impact,
        risk_level: Level::risk(likelihood, impact),
        by_concern,
        sp1800_8_risk: t.sp1800_8_risk.clone(),
        contributing,
    }
}
