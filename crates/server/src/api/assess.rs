//! `/api/v1/assessment`: the risk assessment's question bank, people's answers beside
//! the evidence rules' (as last evaluated), answering (as `pumpguard assess answer`,
//! audited `assess.answer`), and the SP 800-30 risk register (as `pumpguard assess
//! run`: the evidence rules run over the store first, their changed answers kept and
//! audited `assess.evidence` as the caller).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::{Path, State};
use pumpguard_risk::{Answer, Bank};
use pumpguard_store::AnswerRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assets::{Body, PageQuery, Params, paging, text};
use super::{ApiError, ErrorBody, Page};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(questions))
        .routes(routes!(answers))
        .routes(routes!(answer))
        .routes(routes!(risks))
}

/// The built-in question bank, read once.
pub(crate) fn bank() -> Result<&'static Bank, ApiError> {
    static BANK: OnceLock<Result<Bank, String>> = OnceLock::new();
    BANK.get_or_init(|| Bank::builtin().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ApiError::internal(format!("the built-in question bank: {e}")))
}

/// An analysis failure as an API error.
pub(crate) fn analysis_error(e: pumpguard_analysis::AnalysisError) -> ApiError {
    match e {
        pumpguard_analysis::AnalysisError::Store(e) => e.into(),
        e => ApiError::internal(e),
    }
}

/// A threat event a question's "yes" mitigates, and by how much.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Mitigation)]
pub(crate) struct MitigationDoc {
    /// The threat event's id.
    pub threat: String,
    /// How many likelihood levels a "yes" takes off.
    pub reduction: usize,
}

/// One question of the bank, with the controls it cites.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Question)]
pub(crate) struct QuestionDoc {
    pub id: String,
    pub topic: String,
    pub text: String,
    pub help: String,
    /// NIST CSF 2.0 subcategories.
    pub csf: Vec<String>,
    /// HIPAA Security Rule citations.
    pub hipaa: Vec<String>,
    /// NIST SP 800-53 r5 controls.
    pub sp800_53: Vec<String>,
    /// IEC TR 80001-2-2 capabilities.
    pub iec_80001: Vec<String>,
    pub mitigates: Vec<MitigationDoc>,
    /// The evidence rule that can pre-answer it.
    pub evidence: Option<String>,
}

/// The questionnaire, in the bank's order.
#[utoipa::path(
    get,
    path = "/api/v1/assessment/questions",
    tag = "assessment",
    params(PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of questions", body = Page<QuestionDoc>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn questions(
    _who: Allowed<need::Read>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<pumpguard_risk::Question>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    Ok(Json(paging.page(bank()?.questions.clone())?))
}

/// A person's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HumanAnswer {
    /// yes, partial, no, na or unknown.
    pub answer: String,
    pub note: Option<String>,
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub answered: pumpguard_model::time::Timestamp,
}

/// An evidence rule's answer, as last evaluated.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceAnswer {
    pub rule: String,
    /// yes, partial, no, na or unknown.
    pub answer: String,
    /// The rule's summary and citations.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    /// When the answer or its evidence last changed.
    #[schema(value_type = String, format = DateTime)]
    pub evaluated: pumpguard_model::time::Timestamp,
}

/// One question's answers: a person's and the evidence's. A person's answer stands over
/// the evidence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuestionAnswers {
    pub question_id: String,
    /// The answer that stands: the person's, else the evidence's, else unknown.
    pub answer: String,
    /// person, evidence or none.
    pub source: String,
    pub human: Option<HumanAnswer>,
    pub evidence: Option<EvidenceAnswer>,
}

/// Every question's answers: people's, and the evidence rules' as last evaluated (by
/// `GET /api/v1/assessment/risks`, a report or `pumpguard assess`), in the bank's order.
#[utoipa::path(
    get,
    path = "/api/v1/assessment/answers",
    tag = "assessment",
    params(PageQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "A page of answers", body = Page<QuestionAnswers>),
        (status = 400, description = "A bad query value", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn answers(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::Read>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<QuestionAnswers>>, ApiError> {
    let paging = paging(&q.limit, &q.offset)?;
    let bank = bank()?;
    let (people, evidence) =
        tokio::try_join!(state.store.list_answers(), state.store.list_evidence())?;
    let mut people: BTreeMap<String, AnswerRecord> = people
        .into_iter()
        .map(|r| (r.question_id.clone(), r))
        .collect();
    let mut evidence: BTreeMap<String, pumpguard_store::EvidenceRecord> = evidence
        .into_iter()
        .map(|r| (r.question_id.clone(), r))
        .collect();
    let rows: Vec<QuestionAnswers> = bank
        .questions
        .iter()
        .map(|q| {
            let human = people.remove(&q.id).map(|r| HumanAnswer {
                answer: r.answer,
                note: r.note,
                actor: r.actor,
                answered: r.answered,
            });
            let evidence = evidence.remove(&q.id).map(|r| EvidenceAnswer {
                rule: r.rule,
                answer: r.answer,
                evidence: r.evidence,
                evaluated: r.evaluated,
            });
            let (answer, source) = match (&human, &evidence) {
                (Some(h), _) => (h.answer.clone(), "person"),
                (None, Some(e)) => (e.answer.clone(), "evidence"),
                (None, None) => (Answer::Unknown.as_str().to_owned(), "none"),
            };
            QuestionAnswers {
                question_id: q.id.clone(),
                answer,
                source: source.into(),
                human,
                evidence,
            }
        })
        .collect();
    Ok(Json(paging.page(rows)?))
}

/// A person's answer to a question.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnswerRequest {
    /// yes, partial, no, na or unknown.
    pub answer: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// What answering did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AnswerChange {
    pub question_id: String,
    pub answer: String,
    /// The person's answer before, if there was one.
    pub previous: Option<String>,
}

/// Answers a question (as `pumpguard assess answer`; audited `assess.answer`).
#[utoipa::path(
    put,
    path = "/api/v1/assessment/answers/{id}",
    tag = "assessment",
    params(("id" = String, Path, description = "The question id")),
    request_body = AnswerRequest,
    security(("bearer" = ["assess"]), ("session" = ["assess"])),
    responses(
        (status = 200, description = "Answered", body = AnswerChange),
        (status = 400, description = "Not an answer, or a bad body", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such question", body = ErrorBody),
    )
)]
async fn answer(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Assess>,
    Path(id): Path<String>,
    Body(req): Body<AnswerRequest>,
) -> Result<Json<AnswerChange>, ApiError> {
    let q = bank()?
        .question(&id)
        .ok_or_else(|| ApiError::not_found(format!("question '{id}' not found")))?;
    let answer: Answer = req
        .answer
        .parse()
        .map_err(|e| ApiError::bad_request(format!("answer: {e}")))?;
    let previous = state
        .store
        .set_answer(&AnswerRecord {
            question_id: q.id.clone(),
            answer: answer.as_str().to_owned(),
            note: text(&req.note),
            answered: pumpguard_model::time::now(),
            actor: who.actor(),
        })
        .await?;
    Ok(Json(AnswerChange {
        question_id: q.id.clone(),
        answer: answer.as_str().to_owned(),
        previous,
    }))
}

/// The SP 800-30 risk register (what `pumpguard assess run --format json` writes):
/// one entry per threat event, highest risk first, and SP 1800-8's three risks.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Register)]
pub(crate) struct RegisterDoc {
    /// Per threat event: base and lowered likelihood, impact, risk level (very_low …
    /// very_high), risk per concern, and the answers that lower it.
    #[schema(value_type = Vec<Object>)]
    pub risks: Vec<serde_json::Value>,
    /// dose_change, ephi_breach, disrupted_care → the worst risk level feeding it.
    pub sp1800_8: BTreeMap<String, String>,
}

/// The risk register at the answers that stand now (as `pumpguard assess run`). The
/// evidence rules run first; answers whose evidence changed are kept, audited
/// `assess.evidence` as the caller.
#[utoipa::path(
    get,
    path = "/api/v1/assessment/risks",
    tag = "assessment",
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The register", body = RegisterDoc),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn risks(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Read>,
) -> Result<Json<pumpguard_risk::Register>, ApiError> {
    let bank = bank()?;
    let fleet = crate::cache::findings(&state).await?;
    let register = pumpguard_analysis::risk_register(
        &state.store,
        &who.actor(),
        bank,
        None,
        Some(&fleet.findings),
    )
    .await
    .map_err(analysis_error)?;
    Ok(Json(register))
}
