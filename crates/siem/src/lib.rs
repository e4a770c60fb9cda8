//! Alert export to SIEMs: each stored [`Alert`](pumpguard_model::Alert) as an ArcSight CEF
//! line ([`cef`], read back by [`parse_cef`]) or an Elastic Common Schema document
//! ([`ecs`]), and CEF inside RFC 5424 syslog ([`rfc5424`]) sent by a [`SyslogSink`].
//!
//! This crate formats and sends; it does not choose which alerts to export, nor read them
//! from the store (the binary does both).
//!
//! - `cef`: CEF:0 lines and our parser of the same grammar.
//! - `ecs`: ECS documents, one JSON object per line.
//! - `syslog`: RFC 5424 messages with the CEF line as MSG.
//! - `sink`: [`SyslogSink`], sending them over UDP, TCP or TLS to a URL.

mod cef;
mod ecs;
mod sink;
mod syslog;

pub use cef::{
    CefError, CefRecord, DEVICE_PRODUCT, DEVICE_VENDOR, DEVICE_VERSION, cef, parse_cef,
    severity_number,
};
pub use ecs::{ECS_VERSION, ecs};
pub use sink::{SinkError, SinkOptions, SyslogSink};
pub use syslog::{Facility, FacilityError, rfc5424, syslog_severity};

#[cfg(test)]
mod test_alerts;
