//! The answer each question stands at: a person's answer overrides the evidence rule's,
//! and both are kept side by side so a reader sees where they disagree.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::bank::Bank;
use crate::evidence::{Evidence, EvidenceAnswer};
use crate::register::Answer;

/// An answer a person gave (on the command line, in a file, in the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanAnswer {
    pub answer: Answer,
    pub note: Option<String>,
    pub actor: String,
    pub answered: Timestamp,
}

/// Where a question's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    Human,
    Evidence,
    /// Neither: the question counts as unknown.
    None,
}

/// The evidence rule's answer, kept beside a person's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAnswer {
    pub answer: Answer,
    pub evidence: Evidence,
}

/// One question and the answer it stands at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    pub question_id: String,
    pub answer: Answer,
    pub source: AnswerSource,
    pub human: Option<HumanAnswer>,
    pub evidence: Option<RuleAnswer>,
}

impl Answered {
    /// Whether a person's answer and the evidence disagree (an unknown rule never does).
    pub fn disputed(&self) -> bool {
        match (&self.human, &self.evidence) {
            (Some(h), Some(e)) => e.answer != Answer::Unknown && h.answer != e.answer,
            _ => false,
        }
    }
}

/// Every question of the bank, in its order, at the answer it stands at: the person's
/// if there is one, else the evidence's unless that is `unknown`, else unknown.
pub fn merge(
    bank: &Bank,
    human: &BTreeMap<String, HumanAnswer>,
    evidence: &[EvidenceAnswer],
) -> Vec<Answered> {
    let by_question: BTreeMap<&str, &EvidenceAnswer> = evidence
        .iter()
        .map(|e| (e.question_id.as_str(), e))
        .collect();
    bank.questions
        .iter()
        .map(|q| {
            let human = human.get(&q.id).cloned();
            let evidence = by_question.get(q.id.as_str()).map(|e| RuleAnswer {
                answer: e.answer,
                evidence: e.evidence.clone(),
            });
            let (answer, source) = match (&human, &evidence) {
                (Some(h), _) => (h.answer, AnswerSource::Human),
                (None, Some(e)) if e.answer != Answer::Unknown => {
                    (e.answer, AnswerSource::Evidence)
                }
                _ => (Answer::Unknown, AnswerSource::None),
            };
            Answered {
                question_id: q.id.clone(),
                answer,
                source,
                human,
                evidence,
            }
        })
        .collect()
}

/// The answers as the register reads them.
pub fn answer_map(answered: &[Answered]) -> BTreeMap<String, Answer> {
    answered
        .iter()
        .map(|a| (a.question_id.clone(), a.answer))
        .collect()
}
