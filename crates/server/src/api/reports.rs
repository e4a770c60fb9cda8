//! `/api/v1/reports`: the risk assessment as `pumpguard report` writes it (HTML, JSON,
//! Markdown or XLSX), drawn up now. Drawing it up runs the evidence rules over the store
//! and keeps their changed answers, audited `assess.evidence` as the caller.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::assess::{analysis_error, bank};
use super::assets::{Params, text};
use super::{ApiError, ErrorBody};
use crate::AppState;
use crate::auth::{Allowed, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(assessment_report))
}

/// The title `pumpguard report` uses by default.
const DEFAULT_TITLE: &str = "Infusion pump ecosystem risk assessment";

/// Query of `GET /api/v1/reports/assessment`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    /// html (the default), json, md or xlsx.
    pub format: Option<String>,
    /// The report's title.
    pub title: Option<String>,
}

/// A report format: how to render it, its media type and file extension.
fn format(
    name: Option<&str>,
) -> Result<(pumpguard_report::Format, &'static str, &'static str), ApiError> {
    use pumpguard_report::Format;
    Ok(match name.unwrap_or("html") {
        "html" => (Format::Html, "text/html; charset=utf-8", "html"),
        "json" => (Format::Json, "application/json", "json"),
        "md" | "markdown" => (Format::Markdown, "text/markdown; charset=utf-8", "md"),
        "xlsx" => (
            Format::Xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        other => {
            return Err(ApiError::bad_request(format!(
                "format: '{other}' is not html, json, md or xlsx"
            )));
        }
    })
}

/// The risk assessment report (summary, SP 800-30 register, questionnaire, CSF and
/// HIPAA coverage, findings, POA&M): the bytes `pumpguard report --format …` writes, as
/// an attachment.
#[utoipa::path(
    get,
    path = "/api/v1/reports/assessment",
    tag = "reports",
    params(ReportQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The report", content(
            (String = "text/html"),
            (Object = "application/json"),
            (String = "text/markdown"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "A bad format", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
async fn assessment_report(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Read>,
    Params(q): Params<ReportQuery>,
) -> Result<Response, ApiError> {
    let (format, media_type, extension) = format(text(&q.format).as_deref())?;
    let title = text(&q.title).unwrap_or_else(|| DEFAULT_TITLE.to_owned());
    let fleet = crate::cache::findings(&state).await?;
    let assessment = pumpguard_analysis::assessment_with(
        &state.store,
        &who.actor(),
        bank()?,
        &title,
        None,
        Some(&fleet.findings),
    )
    .await
    .map_err(analysis_error)?;
    let bytes = tokio::task::spawn_blocking(move || pumpguard_report::render(&assessment, format))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let day = pumpguard_model::time::now()
        .strftime("%Y-%m-%d")
        .to_string();
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"pumpguard-assessment-{day}.{extension}\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
