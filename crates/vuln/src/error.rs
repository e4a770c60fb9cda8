//! What goes wrong reading a file, and where.

/// A file that could not be read: where in it (a JSON pointer such as
/// `/vulnerabilities/3/product_status`, `line N` for CSV, `line L column C` for JSON
/// syntax) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ReadError {
    pub place: String,
    pub message: String,
}

impl ReadError {
    pub fn new(place: impl Into<String>, message: impl Into<String>) -> ReadError {
        ReadError {
            place: place.into(),
            message: message.into(),
        }
    }

    /// A JSON syntax error, placed by line and column.
    pub(crate) fn json_syntax(e: &serde_json::Error) -> ReadError {
        let message = e.to_string();
        // serde_json appends " at line L column C"; the place says it already.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        ReadError::new(
            format!("line {} column {}", e.line(), e.column()),
            format!("not valid JSON: {message}"),
        )
    }
}
