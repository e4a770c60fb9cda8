//! Risk assessment for the infusion-pump ecosystem: the control catalogues (NIST CSF 2.0
//! and the 1.1 crosswalk, the HIPAA Security Rule, SP 800-53 r5, IEC TR 80001-2-2), the
//! question bank that cites them, the SP 800-30 threat events, and (as they land) the
//! evidence rules and the risk register. The catalogues and the bank are data files in
//! `data/`, embedded at build time and cross-checked when loaded. No I/O.

pub mod bank;
pub mod level;
pub mod register;

pub use bank::{Bank, BankError, Question, Threat};
pub use level::Level;
pub use register::{Answer, Register, register};
