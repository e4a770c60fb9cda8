//! Risk assessment: the question bank grouped by topic, each question with the answer it
//! stands at, the evidence rule's answer and what it found, and a form to answer it; the
//! SP 800-30 risk register; and the report (`pumpguard report`) to download as HTML,
//! XLSX, JSON or Markdown.
//!
//! Visiting the questionnaire, the register or a report runs the evidence rules over the
//! store, as `pumpguard assess` does: their answers are kept (audited `assess.evidence`
//! as the visitor) only when they changed. The overview reads the kept ones instead.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use pumpguard_model::time;
use pumpguard_risk::{Answer, AnswerSource, Bank, EvidenceAnswer, Level, Register};
use pumpguard_store::AnswerRecord;
use serde::Deserialize;

use super::{
    Console, DoneQuery, Fail, Layout, Opt, PageResult, back_with_done, render, see_other, when,
};
use crate::AppState;
use crate::auth::{Permission, need};

/// The built-in question bank, loaded once.
static BANK: LazyLock<Result<Bank, String>> =
    LazyLock::new(|| Bank::builtin().map_err(|e| format!("the built-in question bank: {e}")));

pub(crate) fn bank() -> Result<&'static Bank, Fail> {
    BANK.as_ref().map_err(|e| Fail::internal(e.clone()))
}

/// A level's words and colour class.
pub(crate) fn level_view(l: Level) -> (String, &'static str) {
    let class = match l {
        Level::VeryHigh => "critical",
        Level::High => "high",
        Level::Moderate => "medium",
        Level::Low => "low",
        Level::VeryLow => "info",
    };
    (l.as_str().replace('_', " "), class)
}

/// What SP 1800-8 calls its three risks.
pub(crate) fn sp_risk_name(key: &str) -> String {
    match key {
        "dose_change" => "Unauthorised change of an infusion (dose)".into(),
        "ephi_breach" => "Breach of ePHI".into(),
        "disrupted_care" => "Disrupted care (availability)".into(),
        other => other.replace('_', " "),
    }
}

/// The register from people's answers and the evidence kept by the last run of the
/// rules (run now if they never ran): what the overview shows without re-running them.
pub(crate) async fn kept_register(state: &Arc<AppState>, actor: &str) -> Result<Register, Fail> {
    let bank = bank()?;
    let (human, kept) = tokio::try_join!(
        async { Ok::<_, Fail>(pumpguard_analysis::stored_answers(&state.store).await?) },
        async { Ok(state.store.list_evidence().await?) },
    )?;
    let converted: Option<Vec<EvidenceAnswer>> = kept
        .iter()
        .map(|r| {
            Some(EvidenceAnswer {
                question_id: r.question_id.clone(),
                answer: r.answer.parse().ok()?,
                evidence: serde_json::from_value(r.evidence.clone()).ok()?,
            })
        })
        .collect();
    let evidence = match converted {
        Some(e) if !e.is_empty() => e,
        _ => {
            pumpguard_analysis::gather(&state.store, actor, bank, None)
                .await?
                .evidence
        }
    };
    let answered = pumpguard_risk::merge(bank, &human, &evidence);
    Ok(pumpguard_risk::register(
        bank,
        &pumpguard_risk::answers::answer_map(&answered),
    ))
}

struct Citation {
    kind: String,
    id: String,
    detail: String,
}

struct QuestionView {
    id: String,
    anchor: String,
    text: String,
    help: String,
    answer: &'static str,
    source: &'static str,
    human: Option<String>,
    note: String,
    evidence_answer: Option<&'static str>,
    evidence_summary: String,
    citations: Vec<Citation>,
    more_citations: usize,
    disputed: bool,
    options: Vec<Opt>,
    controls: String,
}

struct Topic {
    name: String,
    id: String,
    questions: Vec<QuestionView>,
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    l: Layout,
    topics: Vec<Topic>,
    can_answer: bool,
    by_people: usize,
    by_evidence: usize,
    unknown: usize,
    disputed: usize,
    total: usize,
}

/// Citations a question shows.
const SHOWN_CITATIONS: usize = 5;

/// GET `/assessment`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let bank = bank()?;
    let (answered, _) =
        pumpguard_analysis::answered(&state.store, &who.actor(), bank, None, None).await?;
    let by_id: BTreeMap<&str, &pumpguard_risk::Answered> = answered
        .iter()
        .map(|a| (a.question_id.as_str(), a))
        .collect();
    let mut topics: Vec<Topic> = Vec::new();
    for question in &bank.questions {
        let Some(a) = by_id.get(question.id.as_str()) else {
            continue;
        };
        let human_answer = a.human.as_ref().map(|h| h.answer);
        let selected = human_answer.unwrap_or(a.answer);
        let view = QuestionView {
            anchor: format!("q-{}", super::seg(&question.id)),
            id: question.id.clone(),
            text: question.text.clone(),
            help: question.help.clone(),
            answer: a.answer.as_str(),
            source: match a.source {
                AnswerSource::Human => "a person",
                AnswerSource::Evidence => "the evidence",
                AnswerSource::None => "nobody yet",
            },
            human: a.human.as_ref().map(|h| {
                format!(
                    "{} by {} on {}",
                    h.answer.as_str(),
                    h.actor,
                    when(h.answered)
                )
            }),
            note: a
                .human
                .as_ref()
                .and_then(|h| h.note.clone())
                .unwrap_or_default(),
            evidence_answer: a.evidence.as_ref().map(|e| e.answer.as_str()),
            evidence_summary: a
                .evidence
                .as_ref()
                .map(|e| e.evidence.summary.clone())
                .unwrap_or_default(),
            citations: a
                .evidence
                .as_ref()
                .map(|e| {
                    e.evidence
                        .citations
                        .iter()
                        .take(SHOWN_CITATIONS)
                        .map(|c| Citation {
                            kind: c.kind.clone(),
                            id: c.id.clone(),
                            detail: c.detail.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            more_citations: a.evidence.as_ref().map_or(0, |e| {
                e.evidence.citations.len().saturating_sub(SHOWN_CITATIONS)
            }),
            disputed: a.disputed(),
            options: [
                Answer::Yes,
                Answer::Partial,
                Answer::No,
                Answer::Na,
                Answer::Unknown,
            ]
            .iter()
            .map(|w| {
                let label = match w {
                    Answer::Na => "not applicable",
                    other => other.as_str(),
                };
                Opt::new(w.as_str(), label, *w == selected)
            })
            .collect(),
            controls: question
                .csf
                .iter()
                .chain(&question.hipaa)
                .chain(&question.sp800_53)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        };
        match topics.iter_mut().find(|t| t.name == question.topic) {
            Some(t) => t.questions.push(view),
            None => {
                let n = topics.len();
                topics.push(Topic {
                    name: question.topic.clone(),
                    id: format!("topic-{n}"),
                    questions: vec![view],
                });
            }
        }
    }
    let count = |s: AnswerSource| answered.iter().filter(|a| a.source == s).count();
    let page = AssessmentPage {
        l: Layout::new(&who, "assessment", "Risk assessment").done(q.done.as_deref()),
        topics,
        can_answer: who.can(Permission::Assess),
        by_people: count(AnswerSource::Human),
        by_evidence: count(AnswerSource::Evidence),
        unknown: count(AnswerSource::None),
        disputed: answered.iter().filter(|a| a.disputed()).count(),
        total: answered.len(),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct AnswerForm {
    question: String,
    answer: String,
    #[serde(default)]
    note: String,
}

/// POST `/assessment/answer`.
pub(super) async fn answer(
    State(state): State<Arc<AppState>>,
    who: Console<need::Assess>,
    Form(f): Form<AnswerForm>,
) -> PageResult {
    let bank = bank()?;
    let question = bank
        .question(f.question.trim())
        .ok_or_else(|| Fail::bad(format!("unknown question '{}'", f.question)))?;
    let answer: Answer = f.answer.parse().map_err(Fail::bad)?;
    let note = f.note.trim();
    if note.chars().count() > 4000 {
        return Err(Fail::bad("The note is longer than 4000 characters."));
    }
    state
        .store
        .set_answer(&AnswerRecord {
            question_id: question.id.clone(),
            answer: answer.as_str().to_owned(),
            note: (!note.is_empty()).then(|| note.to_owned()),
            answered: time::now(),
            actor: who.actor(),
        })
        .await?;
    let to = back_with_done("/assessment", "/assessment", "answered");
    Ok(see_other(&format!("{to}#q-{}", super::seg(&question.id))))
}

struct Contribution {
    question: String,
    answer: &'static str,
}

struct RiskRow {
    threat: String,
    name: String,
    base: (String, &'static str),
    likelihood: (String, &'static str),
    impact: (String, &'static str),
    risk: (String, &'static str),
    safety: (String, &'static str),
    ephi: (String, &'static str),
    availability: (String, &'static str),
    lowering: Vec<Contribution>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    l: Layout,
    risks: Vec<RiskRow>,
    sp: Vec<(String, String, &'static str)>,
    chart: String,
}

/// The register's rows and SP 1800-8's risks, for the register page and the overview.
pub(crate) fn sp_rows(r: &Register) -> Vec<(String, String, &'static str)> {
    r.sp1800_8
        .iter()
        .map(|(k, l)| {
            let (word, class) = level_view(*l);
            (sp_risk_name(k), word, class)
        })
        .collect()
}

/// GET `/assessment/register`.
pub(super) async fn register(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    let bank = bank()?;
    let r = pumpguard_analysis::risk_register(&state.store, &who.actor(), bank, None, None).await?;
    let concern = |e: &pumpguard_risk::register::RiskEntry, k: &str| {
        e.by_concern
            .get(k)
            .map_or_else(|| ("—".to_owned(), "info"), |l| level_view(*l))
    };
    let risks = r
        .risks
        .iter()
        .map(|e| RiskRow {
            threat: e.threat.clone(),
            name: e.name.clone(),
            base: level_view(e.base_likelihood),
            likelihood: level_view(e.likelihood),
            impact: level_view(e.impact),
            risk: level_view(e.risk_level),
            safety: concern(e, "patient_safety"),
            ephi: concern(e, "ephi"),
            availability: concern(e, "availability"),
            lowering: e
                .contributing
                .iter()
                .filter(|c| matches!(c.answer, Answer::Yes | Answer::Partial))
                .map(|c| Contribution {
                    question: c.question.clone(),
                    answer: c.answer.as_str(),
                })
                .collect(),
        })
        .collect();
    let mut by_level: BTreeMap<Level, u64> = BTreeMap::new();
    for e in &r.risks {
        *by_level.entry(e.risk_level).or_default() += 1;
    }
    let data: Vec<super::charts::Datum> = Level::ALL
        .iter()
        .rev()
        .map(|l| {
            let (word, class) = level_view(*l);
            super::charts::Datum::new(word, by_level.get(l).copied().unwrap_or(0), class)
        })
        .collect();
    let page = RegisterPage {
        l: Layout::new(&who, "assessment", "Risk register"),
        chart: super::charts::bars("risk-levels", "Threat events by risk level", &data),
        sp: sp_rows(&r),
        risks,
    };
    Ok(render(&page))
}

/// The report in `format`, as a download.
async fn report(
    state: &Arc<AppState>,
    who: &Console,
    format: pumpguard_report::Format,
) -> PageResult {
    let bank = bank()?;
    let assessment = pumpguard_analysis::assessment(
        &state.store,
        &who.actor(),
        bank,
        "Infusion pump ecosystem risk assessment",
        None,
    )
    .await?;
    let bytes = pumpguard_report::render(&assessment, format)
        .map_err(|e| Fail::internal(format!("the report: {e}")))?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    let day = assessment.generated.strftime("%Y-%m-%d").to_string();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"pumpguard-assessment-{day}.{}\"",
        format.extension()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // The HTML report is self-contained with its own inline style and no script: opened
    // from here it gets a CSP of its own that allows exactly that.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox",
        ),
    );
    Ok(r)
}

pub(super) async fn report_html(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    report(&state, &who, pumpguard_report::Format::Html).await
}

pub(super) async fn report_xlsx(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    report(&state, &who, pumpguard_report::Format::Xlsx).await
}

pub(super) async fn report_json(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    report(&state, &who, pumpguard_report::Format::Json).await
}

pub(super) async fn report_md(State(state): State<Arc<AppState>>, who: Console) -> PageResult {
    report(&state, &who, pumpguard_report::Format::Markdown).await
}
