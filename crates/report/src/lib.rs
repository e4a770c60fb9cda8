//! Assessment reports: one [`Assessment`] (built by `pumpguard_risk::assess`) rendered
//! as a document a hospital security officer reads, in HTML, Markdown, XLSX or JSON.
//!
//! This crate has one job: turn an assessment into a document's bytes. It does no I/O
//! (the caller writes the bytes where it wants them), reads no database and decides
//! nothing about risk: every number and level comes from the assessment as given.
//!
//! Every format carries the same content in the same order: the title, generation time
//! and executive summary; the risk register; control coverage by CSF 2.0 function and
//! by HIPAA safeguard; the questionnaire with every answer, note, evidence and
//! citation; the findings; and the plan of action and milestones (POA&M).

mod html;
mod markdown;
mod text;
mod xlsx;

use std::fmt;
use std::str::FromStr;

pub use pumpguard_risk::Assessment;

/// A document format [`render`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One self-contained HTML page (inline style, no script), printable.
    Html,
    /// GitHub-flavoured Markdown with pipe tables.
    Markdown,
    /// An Excel workbook, one sheet per section.
    Xlsx,
    /// The assessment itself as pretty-printed JSON.
    Json,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Html, Format::Markdown, Format::Xlsx, Format::Json];

    /// The name [`FromStr`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The media type of the document.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ReportError;

    /// `html`, `md` or `markdown`, `xlsx`, `json` (any case).
    fn from_str(s: &str) -> Result<Format, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "html" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            "xlsx" => Ok(Format::Xlsx),
            "json" => Ok(Format::Json),
            _ => Err(ReportError::UnknownFormat(s.to_owned())),
        }
    }
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown report format '{0}' (expected html, md, xlsx or json)")]
    UnknownFormat(String),
    #[error("writing the JSON report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing the XLSX report: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Renders `a` as a document in `format`: UTF-8 text for HTML, Markdown and JSON (each
/// ending in a newline), a zipped workbook for XLSX.
pub fn render(a: &Assessment, format: Format) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Html => Ok(html::render(a).into_bytes()),
        Format::Markdown => Ok(markdown::render(a).into_bytes()),
        Format::Xlsx => xlsx::render(a),
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(a)?;
            out.push(b'\n');
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().expect("own name"), f);
        }
        assert_eq!(
            "markdown".parse::<Format>().expect("alias"),
            Format::Markdown
        );
        assert_eq!(" HTML ".parse::<Format>().expect("any case"), Format::Html);
        let err = "pdf".parse::<Format>().expect_err("not a format");
        assert!(err.to_string().contains("'pdf'"), "{err}");
    }
}
