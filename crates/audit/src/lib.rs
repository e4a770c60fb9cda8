//! The audit trail: an append-only chain of entries, each carrying the SHA-256 of its
//! own canonical JSON (RFC 8785) together with the previous entry's hash, so that editing,
//! deleting or reordering any entry breaks the chain at that entry (HIPAA 164.312(b)).
//!
//! This crate owns the entry format, the hashing rule, chain verification and the JSON
//! Lines export. It does not store anything: the store appends entries in the same
//! transaction as the change they record, and feeds them back here to verify.

pub mod canonical;
mod chain;
mod export;

pub use chain::{Break, Entry, GENESIS_HASH, Head, Sealed, Sealer, Summary, Verifier};
pub use export::{ExportError, read_export, write_export};
