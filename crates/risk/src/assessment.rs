//! The assessment as a report reads it: the executive summary, the register, every
//! question with its answer, control coverage by CSF 2.0 function and by HIPAA
//! safeguard, the findings and their plan of action and milestones (POA&M). Renderers
//! (`pumpguard-report`) turn this one structure into HTML, Markdown, XLSX and JSON.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::answers::{AnswerSource, Answered};
use crate::bank::Bank;
use crate::level::Level;
use crate::register::{Answer, Register, register};

/// Counts per answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerCounts {
    pub yes: usize,
    pub partial: usize,
    pub no: usize,
    pub na: usize,
    pub unknown: usize,
}

impl AnswerCounts {
    fn add(&mut self, a: Answer) {
        match a {
            Answer::Yes => self.yes += 1,
            Answer::Partial => self.partial += 1,
            Answer::No => self.no += 1,
            Answer::Na => self.na += 1,
            Answer::Unknown => self.unknown += 1,
        }
    }

    /// Share of applicable questions attested, a partial counting half, in percent
    /// (one decimal); `None` when nothing applies.
    pub fn score(&self) -> Option<f64> {
        let applicable = self.yes + self.partial + self.no + self.unknown;
        (applicable > 0).then(|| {
            let got = self.yes as f64 + self.partial as f64 / 2.0;
            (1000.0 * got / applicable as f64).round() / 10.0
        })
    }
}

/// The executive summary's numbers and sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub questions: usize,
    pub answers: AnswerCounts,
    /// Answers that stand on an evidence rule, and on a person.
    pub from_evidence: usize,
    pub from_people: usize,
    /// Questions where a person's answer and the evidence disagree.
    pub disputed: usize,
    pub highest_risk: Level,
    /// Threat events per risk level (`very_high` … `very_low`).
    pub risks_by_level: BTreeMap<Level, usize>,
    /// SP 1800-8's three risks.
    pub sp1800_8: BTreeMap<String, Level>,
    pub findings: usize,
    /// Plain sentences for a reader who reads nothing else.
    pub key_points: Vec<String>,
}

/// A question with its citations and the answer it stands at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionRow {
    pub id: String,
    pub topic: String,
    pub text: String,
    pub csf: Vec<String>,
    pub hipaa: Vec<String>,
    pub sp800_53: Vec<String>,
    pub iec_80001: Vec<String>,
    #[serde(flatten)]
    pub answered: Answered,
}

/// How far the answers attest one CSF function or HIPAA safeguard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// `GV` … `RC`, or the safeguard's name.
    pub key: String,
    pub name: String,
    /// Questions citing it.
    pub questions: usize,
    pub answers: AnswerCounts,
    /// See [`AnswerCounts::score`].
    pub score: Option<f64>,
    /// The subcategories (or citations) of it the bank's questions cite.
    pub cited: Vec<String>,
}

/// Something to fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `F-001`, in report order.
    pub id: String,
    /// `assessment`, `mds2`, `alert` or `vulnerability`.
    pub source: String,
    /// What it is about: a question id, `MODEL / NAUT-1`, an alert id, a CVE.
    pub reference: String,
    pub title: String,
    pub detail: String,
    pub risk_level: Level,
    /// CSF 2.0 subcategories, HIPAA citations and SP 800-53 controls concerned.
    pub controls: Vec<String>,
    pub remediation: String,
}

/// A finding as a finding arrives from outside the questionnaire (MDS2 gaps, alerts,
/// vulnerabilities), before it gets its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingInput {
    pub source: String,
    pub reference: String,
    pub title: String,
    pub detail: String,
    pub risk_level: Level,
    pub controls: Vec<String>,
    pub remediation: String,
}

/// One line of the plan of action and milestones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoamItem {
    /// `POAM-001`.
    pub id: String,
    /// The finding it plans for.
    pub finding: String,
    pub weakness: String,
    pub controls: Vec<String>,
    pub risk_level: Level,
    pub remediation: String,
    pub milestone: String,
    /// `YYYY-MM-DD`: 30 days for a very high risk, 90 high, 180 moderate, 365 else.
    pub scheduled_completion: String,
    /// Left for the hospital to fill in.
    pub responsible: String,
    pub status: String,
}

/// The whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub title: String,
    pub generated: Timestamp,
    pub summary: Summary,
    pub register: Register,
    pub questions: Vec<QuestionRow>,
    pub csf_coverage: Vec<Coverage>,
    pub hipaa_coverage: Vec<Coverage>,
    pub findings: Vec<Finding>,
    pub poam: Vec<PoamItem>,
}

/// The CSF 2.0 functions in the framework's order.
const FUNCTIONS: [&str; 6] = ["GV", "ID", "PR", "DE", "RS", "RC"];
/// The HIPAA Security Rule's safeguards in the rule's order.
const SAFEGUARDS: [&str; 5] = [
    "Administrative",
    "Physical",
    "Technical",
    "Organizational",
    "Policies and Documentation",
];

/// Days to the scheduled completion of a POA&M item of this risk.
fn days_for(level: Level) -> i64 {
    match level {
        Level::VeryHigh => 30,
        Level::High => 90,
        Level::Moderate => 180,
        Level::Low | Level::VeryLow => 365,
    }
}

/// Builds the assessment from the answers (see [`crate::answers::merge`]) and the
/// findings from outside the questionnaire.
pub fn assess(
    bank: &Bank,
    title: &str,
    generated: Timestamp,
    answered: Vec<Answered>,
    outside: Vec<FindingInput>,
) -> Assessment {
    let reg = register(bank, &crate::answers::answer_map(&answered));
    let questions: Vec<QuestionRow> = answered
        .into_iter()
        .filter_map(|a| {
            let q = bank.question(&a.question_id)?;
            Some(QuestionRow {
                id: q.id.clone(),
                topic: q.topic.clone(),
                text: q.text.clone(),
                csf: q.csf.clone(),
                hipaa: q.hipaa.clone(),
                sp800_53: q.sp800_53.clone(),
                iec_80001: q.iec_80001.clone(),
                answered: a,
            })
        })
        .collect();

    let csf_coverage = FUNCTIONS
        .iter()
        .map(|f| {
            let name = bank.csf.get(*f).map_or(*f, |c| c.title.as_str());
            coverage(f, name, &questions, |q| {
                q.csf
                    .iter()
                    .filter(|id| bank.csf.get(*id).is_some_and(|c| c.function == *f))
                    .cloned()
                    .collect()
            })
        })
        .collect();
    let hipaa_coverage = SAFEGUARDS
        .iter()
        .map(|s| {
            coverage(s, s, &questions, |q| {
                q.hipaa
                    .iter()
                    .filter(|c| bank.hipaa.get(*c).is_some_and(|h| h.safeguard == *s))
                    .cloned()
                    .collect()
            })
        })
        .collect();

    // A question's weakness weighs as much as the worst risk it would lower.
    let risk_of: BTreeMap<&str, Level> = reg
        .risks
        .iter()
        .map(|r| (r.threat.as_str(), r.risk_level))
        .collect();
    let mut inputs: Vec<FindingInput> = questions
        .iter()
        .filter(|q| matches!(q.answered.answer, Answer::No | Answer::Partial))
        .map(|q| {
            let level = bank
                .question(&q.id)
                .into_iter()
                .flat_map(|b| &b.mitigates)
                .filter_map(|m| risk_of.get(m.threat.as_str()).copied())
                .max()
                .unwrap_or(Level::Low);
            let how = match q.answered.source {
                AnswerSource::Evidence => " (from evidence)",
                _ => "",
            };
            let detail = match (&q.answered.human, &q.answered.evidence) {
                (Some(h), _) if h.note.is_some() => h.note.clone().unwrap_or_default(),
                (_, Some(e)) => e.evidence.summary.clone(),
                _ => String::new(),
            };
            FindingInput {
                source: "assessment".into(),
                reference: q.id.clone(),
                title: format!(
                    "{} answered {}{how}: {}",
                    q.id,
                    answer_word(q.answered.answer),
                    q.text
                ),
                detail,
                risk_level: level,
                controls: q
                    .csf
                    .iter()
                    .chain(&q.hipaa)
                    .chain(&q.sp800_53)
                    .cloned()
                    .collect(),
                remediation: bank
                    .question(&q.id)
                    .map(|b| b.help.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    inputs.extend(outside);
    // Worst first; stable within a level (questionnaire order, then the outside order).
    inputs.sort_by_key(|f| std::cmp::Reverse(f.risk_level));

    let mut findings = Vec::with_capacity(inputs.len());
    let mut poam = Vec::with_capacity(inputs.len());
    for (i, f) in inputs.into_iter().enumerate() {
        let id = format!("F-{:03}", i + 1);
        let due = generated
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .checked_add(days_for(f.risk_level).days())
            .map(|d| d.to_string())
            .unwrap_or_default();
        poam.push(PoamItem {
            id: format!("POAM-{:03}", i + 1),
            finding: id.clone(),
            weakness: f.title.clone(),
            controls: f.controls.clone(),
            risk_level: f.risk_level,
            remediation: f.remediation.clone(),
            milestone: milestone(&f),
            scheduled_completion: due,
            responsible: String::new(),
            status: "open".into(),
        });
        findings.push(Finding {
            id,
            source: f.source,
            reference: f.reference,
            title: f.title,
            detail: f.detail,
            risk_level: f.risk_level,
            controls: f.controls,
            remediation: f.remediation,
        });
    }

    let summary = summarize(&questions, &reg, findings.len());
    Assessment {
        title: title.to_owned(),
        generated,
        summary,
        register: reg,
        questions,
        csf_coverage,
        hipaa_coverage,
        findings,
        poam,
    }
}

fn answer_word(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "yes",
        Answer::Partial => "partial",
        Answer::No => "no",
        Answer::Na => "not applicable",
        Answer::Unknown => "unknown",
    }
}

fn milestone(f: &FindingInput) -> String {
    match f.source.as_str() {
        "assessment" => format!(
            "Control in place and question {} re-answered yes, with evidence",
            f.reference
        ),
        "mds2" => format!(
            "Compensating control for {} agreed with the manufacturer and in place",
            f.reference
        ),
        "alert" => format!("Alert {} investigated and its cause removed", f.reference),
        "vulnerability" => format!("{} patched, mitigated or triaged not affected", f.reference),
        _ => "Weakness closed".into(),
    }
}

fn coverage(
    key: &str,
    name: &str,
    questions: &[QuestionRow],
    cites: impl Fn(&QuestionRow) -> Vec<String>,
) -> Coverage {
    let mut answers = AnswerCounts::default();
    let mut cited = BTreeSet::new();
    let mut n = 0;
    for q in questions {
        let ids = cites(q);
        if ids.is_empty() {
            continue;
        }
        n += 1;
        answers.add(q.answered.answer);
        cited.extend(ids);
    }
    Coverage {
        key: key.to_owned(),
        name: name.to_owned(),
        questions: n,
        score: answers.score(),
        answers,
        cited: cited.into_iter().collect(),
    }
}

fn summarize(questions: &[QuestionRow], reg: &Register, findings: usize) -> Summary {
    let mut answers = AnswerCounts::default();
    let (mut from_evidence, mut from_people, mut disputed) = (0, 0, 0);
    for q in questions {
        answers.add(q.answered.answer);
        match q.answered.source {
            AnswerSource::Evidence => from_evidence += 1,
            AnswerSource::Human => from_people += 1,
            AnswerSource::None => {}
        }
        disputed += usize::from(q.answered.disputed());
    }
    let mut risks_by_level = BTreeMap::new();
    for r in &reg.risks {
        *risks_by_level.entry(r.risk_level).or_insert(0) += 1;
    }
    let highest_risk = reg
        .risks
        .iter()
        .map(|r| r.risk_level)
        .max()
        .unwrap_or(Level::VeryLow);
    let mut key_points = vec![format!(
        "{} of {} questions answered ({} from pumpguard's evidence, {} by people); {} unknown.",
        questions.len() - answers.unknown,
        questions.len(),
        from_evidence,
        from_people,
        answers.unknown
    )];
    fn names(k: &str) -> &str {
        match k {
            "dose_change" => "a change to prescribed drug doses",
            "ephi_breach" => "a breach of ePHI",
            "disrupted_care" => "disrupted care",
            other => other,
        }
    }
    // In SP 1800-8's order, not the map's.
    for k in ["dose_change", "ephi_breach", "disrupted_care"] {
        let Some(level) = reg.sp1800_8.get(k) else {
            continue;
        };
        key_points.push(format!(
            "The risk of {} is {}.",
            names(k),
            level.as_str().replace('_', " ")
        ));
    }
    if let Some(top) = reg.risks.first() {
        key_points.push(format!(
            "Highest threat event: {} ({} risk).",
            top.name,
            top.risk_level.as_str().replace('_', " ")
        ));
    }
    if disputed > 0 {
        key_points.push(format!(
            "{disputed} answer(s) given by people contradict pumpguard's evidence: review them."
        ));
    }
    key_points.push(format!(
        "{findings} finding(s) in the plan of action and milestones."
    ));
    Summary {
        questions: questions.len(),
        answers,
        from_evidence,
        from_people,
        disputed,
        highest_risk,
        risks_by_level,
        sp1800_8: reg.sp1800_8.clone(),
        findings,
        key_points,
    }
}
