//! HL7 v2 for pumpguard: the messages infusion pumps, pump servers and the EHR exchange
//! (IHE PCD-01/03/04/10), read straight from the bytes on the wire or in a file.
//!
//! This crate owns the HL7 v2 encoding rules: delimiters declared in MSH-1/MSH-2,
//! segment terminators, repetitions, components, subcomponents, escape sequences and
//! the MSH-18 character set ([`message`], [`escape`], [`charset`]); HAPI-style terser
//! paths ([`terser`]). It does no I/O and never panics on input.
//!
//! Parsing is zero-copy: a [`Message`] is a list of segment slices into the caller's
//! buffer, and fields are found on demand. We wrote our own parser rather than use
//! `hl7-parser` because the sensor parses every message on the wire and a value is
//! usually read from a handful of fields only; see `bench/hl7.sh` for the measurement.

pub mod charset;
pub mod escape;
pub mod mdc;
pub mod message;
pub mod mllp;
pub mod pcd;
pub mod terser;
pub mod validate;

pub use charset::Charset;
pub use message::{
    Delimiters, Field, Fields, Message, Messages, ParseError, Segment, Value, parse_messages,
};
pub use terser::{Path, PathError};
