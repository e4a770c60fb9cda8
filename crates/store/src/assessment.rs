//! The risk assessment's records: people's answers, the evidence rules' latest answers
//! (kept beside them), and manufacturers' MDS2 answers per device model. The store
//! keeps answers as the words of the bank's scale and does not judge them (the risk
//! crate does). Each change is audited: `assess.answer` on `question:ID`,
//! `assess.evidence` on `question:ID` when a rule's answer or evidence changes,
//! `assess.mds2` on `model:MODEL`. Row decoding lives here; the SQL lives in `ops.rs`.

use pumpguard_model::time::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::{Backend, Result, Store, StoreError};

/// A person's answer to a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerRecord {
    pub question_id: String,
    /// `yes`, `partial`, `no`, `na` or `unknown`.
    pub answer: String,
    pub note: Option<String>,
    pub answered: Timestamp,
    pub actor: String,
}

/// An evidence rule's answer to a question, as last evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceRecord {
    pub question_id: String,
    pub rule: String,
    pub answer: String,
    /// The rule's summary and citations, as JSON.
    pub evidence: Value,
    /// When the answer or its evidence last changed.
    pub evaluated: Timestamp,
}

/// One answer of a manufacturer's MDS2 form for a device model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mds2Record {
    pub model: String,
    pub question_id: String,
    pub capability: String,
    /// `yes`, `no`, `not_applicable` or `see_note`.
    pub answer: String,
    /// Whether the answer says the model lacks a security capability.
    pub gap: bool,
    pub question: String,
    pub note: Option<String>,
    pub source: String,
    pub document_id: Option<String>,
    pub imported: Timestamp,
}

/// What an MDS2 import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Mds2ImportSummary {
    pub model: String,
    pub answers: usize,
    /// The model's capability gaps.
    pub gaps: Vec<String>,
    /// Answers of an earlier form for the model that this one replaced.
    pub replaced: usize,
}

pub(crate) fn answer_object(question_id: &str) -> String {
    format!("question:{question_id}")
}

pub(crate) fn corrupt(table: &'static str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        why: why.to_string(),
    }
}

pub(crate) fn check_answer(r: &AnswerRecord) -> Result<()> {
    if r.question_id.trim().is_empty() {
        return Err(StoreError::Invalid("an answer needs a question id".into()));
    }
    Ok(())
}

impl Store {
    /// Records (or replaces) a person's answer, audited `assess.answer` with the answer
    /// it replaced. Returns that earlier answer.
    pub async fn set_answer(&self, r: &AnswerRecord) -> Result<Option<String>> {
        check_answer(r)?;
        dispatch!(self, set_answer(r))
    }

    /// Every person's answer, by question id.
    pub async fn list_answers(&self) -> Result<Vec<AnswerRecord>> {
        dispatch!(self, list_answers())
    }

    /// Stores the rules' answers of one evaluation in one transaction. A question whose
    /// answer and evidence are as stored writes nothing; each other is written and
    /// audited `assess.evidence`. Returns how many changed.
    pub async fn save_evidence(&self, actor: &str, records: &[EvidenceRecord]) -> Result<usize> {
        dispatch!(self, save_evidence(actor, records))
    }

    /// The rules' answers as last stored, by question id.
    pub async fn list_evidence(&self) -> Result<Vec<EvidenceRecord>> {
        dispatch!(self, list_evidence())
    }

    /// Replaces a model's MDS2 answers with a form's, in one transaction, audited
    /// `assess.mds2` on `model:MODEL` with the form's source and gaps.
    pub async fn import_mds2(
        &self,
        actor: &str,
        model: &str,
        records: &[Mds2Record],
    ) -> Result<Mds2ImportSummary> {
        if model.trim().is_empty() {
            return Err(StoreError::Invalid(
                "an MDS2 form needs a device model".into(),
            ));
        }
        if let Some(r) = records.iter().find(|r| r.model != model) {
            return Err(StoreError::Invalid(format!(
                "MDS2 answer {} is for model '{}', not '{model}'",
                r.question_id, r.model
            )));
        }
        dispatch!(self, import_mds2(actor, model, records))
    }

    /// MDS2 answers, of one model or of all, by model and question id.
    pub async fn list_mds2(&self, model: Option<&str>) -> Result<Vec<Mds2Record>> {
        dispatch!(self, list_mds2(model))
    }
}
