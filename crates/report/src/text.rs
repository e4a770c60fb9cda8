//! The words every format shows for the assessment's values, so the four documents say
//! the same thing the same way.

use pumpguard_risk::Level;
use pumpguard_risk::answers::{AnswerSource, Answered};
use pumpguard_risk::assessment::{Assessment, Coverage, Summary};
use pumpguard_risk::register::{Answer, RiskEntry};

/// The level as people read it: "Very low" … "Very high".
pub(crate) fn level(l: Level) -> &'static str {
    match l {
        Level::VeryLow => "Very low",
        Level::Low => "Low",
        Level::Moderate => "Moderate",
        Level::High => "High",
        Level::VeryHigh => "Very high",
    }
}

/// Levels from the worst down, the order a summary lists them in.
pub(crate) const LEVELS_WORST_FIRST: [Level; 5] = [
    Level::VeryHigh,
    Level::High,
    Level::Moderate,
    Level::Low,
    Level::VeryLow,
];

pub(crate) fn answer(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "yes",
        Answer::Partial => "partial",
        Answer::No => "no",
        Answer::Na => "n/a",
        Answer::Unknown => "unknown",
    }
}

/// A CSS-class-safe name of the answer.
pub(crate) fn answer_key(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "yes",
        Answer::Partial => "partial",
        Answer::No => "no",
        Answer::Na => "na",
        Answer::Unknown => "unknown",
    }
}

pub(crate) fn source(s: AnswerSource) -> &'static str {
    match s {
        AnswerSource::Human => "human",
        AnswerSource::Evidence => "evidence",
        AnswerSource::None => "none",
    }
}

/// SP 1800-8's three risks, in the guide's order, with their names.
const SP1800_8: [(&str, &str); 3] = [
    ("dose_change", "Change to drug doses"),
    ("ephi_breach", "ePHI breach"),
    ("disrupted_care", "Disrupted care"),
];

pub(crate) fn sp1800_8_name(key: &str) -> &str {
    SP1800_8
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, name)| name)
}

/// SP 1800-8's risks with their level: the three in the guide's order, then any other
/// the register names.
pub(crate) fn sp1800_8(s: &Summary) -> Vec<(&str, Level)> {
    let known = SP1800_8
        .iter()
        .filter_map(|(k, name)| s.sp1800_8.get(*k).map(|l| (*name, *l)));
    let others = s
        .sp1800_8
        .iter()
        .filter(|(k, _)| !SP1800_8.iter().any(|(known, _)| known == k))
        .map(|(k, l)| (k.as_str(), *l));
    known.chain(others).collect()
}

/// The concerns a risk is assessed for, with their names.
/// The findings table's columns in HTML and Markdown.
pub(crate) const FINDING_COLUMNS: [(&str, bool); 8] = [
    ("ID", false),
    ("Source", false),
    ("Reference", false),
    ("Title", false),
    ("Detail", false),
    ("Risk level", false),
    ("Controls", false),
    ("Remediation", false),
];

/// The POA&M's columns, in the order every format writes them (with whether the
/// column holds numbers, which HTML and Markdown right-align: none does).
pub(crate) const POAM_COLUMNS: [(&str, bool); 10] = [
    ("ID", false),
    ("Finding", false),
    ("Weakness", false),
    ("Controls", false),
    ("Risk level", false),
    ("Remediation", false),
    ("Milestone", false),
    ("Scheduled completion", false),
    ("Responsible", false),
    ("Status", false),
];

pub(crate) const CONCERNS: [(&str, &str); 3] = [
    ("patient_safety", "Patient safety"),
    ("ephi", "ePHI"),
    ("availability", "Availability"),
];

/// The risk's level for a concern of [`CONCERNS`], if the register gives it.
pub(crate) fn concern(r: &RiskEntry, key: &str) -> Option<Level> {
    r.by_concern.get(key).copied()
}

/// The SP 1800-8 risks an event feeds, by name.
pub(crate) fn feeds(r: &RiskEntry) -> Vec<&str> {
    r.sp1800_8_risk.iter().map(|k| sp1800_8_name(k)).collect()
}

/// `SEG-05 no`, one per question mitigating the event.
pub(crate) fn contributing(r: &RiskEntry) -> Vec<String> {
    r.contributing
        .iter()
        .map(|c| format!("{} {}", c.question, answer(c.answer)))
        .collect()
}

/// A coverage score as a percentage, or `n/a` when no question applies.
pub(crate) fn score(s: Option<f64>) -> String {
    s.map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}%"))
}

/// The generation time, RFC 3339 in UTC, to the second (the JSON keeps it whole).
pub(crate) fn generated(a: &Assessment) -> String {
    a.generated.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The person's note, if any.
pub(crate) fn note(q: &Answered) -> Option<&str> {
    q.human
        .as_ref()
        .and_then(|h| h.note.as_deref())
        .filter(|n| !n.trim().is_empty())
}

/// Who answered, for a person's answer.
pub(crate) fn actor(q: &Answered) -> Option<&str> {
    q.human
        .as_ref()
        .map(|h| h.actor.as_str())
        .filter(|a| !a.is_empty())
}

/// The evidence rule's citations as `kind id — detail`.
pub(crate) fn citations(q: &Answered) -> Vec<String> {
    q.evidence
        .iter()
        .flat_map(|e| &e.evidence.citations)
        .map(|c| {
            if c.detail.is_empty() {
                format!("{} {}", c.kind, c.id)
            } else {
                format!("{} {} — {}", c.kind, c.id, c.detail)
            }
        })
        .collect()
}

/// The summary's answer counts, labelled, in the scale's order.
pub(crate) fn answer_counts(s: &Summary) -> [(&'static str, usize); 5] {
    let c = &s.answers;
    [
        ("Yes", c.yes),
        ("Partial", c.partial),
        ("No", c.no),
        ("N/A", c.na),
        ("Unknown", c.unknown),
    ]
}

/// Threat events per level, worst first, every level listed.
pub(crate) fn risks_by_level(s: &Summary) -> [(Level, usize); 5] {
    LEVELS_WORST_FIRST.map(|l| (l, s.risks_by_level.get(&l).copied().unwrap_or(0)))
}

/// Whether coverage rows have a key apart from their name (CSF functions: `GV`,
/// Govern); HIPAA safeguards do not, and show one column.
pub(crate) fn keyed(rows: &[Coverage]) -> bool {
    rows.iter().any(|c| c.key != c.name)
}

/// Codes joined for a cell.
pub(crate) fn list(items: &[String]) -> String {
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_as_words() {
        assert_eq!(level(Level::VeryLow), "Very low");
        assert_eq!(level(Level::VeryHigh), "Very high");
        assert_eq!(score(None), "n/a");
        assert_eq!(score(Some(62.5)), "62.5%");
        assert_eq!(score(Some(100.0)), "100.0%");
        assert_eq!(sp1800_8_name("ephi_breach"), "ePHI breach");
        assert_eq!(sp1800_8_name("other"), "other");
    }
}
