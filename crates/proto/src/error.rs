//! The one error type of the datagram parsers.

/// Why a datagram (or a message cut out of a stream) could not be dissected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The input ends before the structure it announces.
    #[error("{0}: truncated")]
    Truncated(&'static str),
    /// The bytes are not this protocol, or break one of its rules.
    #[error("{what}: {why}")]
    Malformed { what: &'static str, why: String },
}

impl ProtoError {
    pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> ProtoError {
        ProtoError::Malformed {
            what,
            why: why.into(),
        }
    }
}
