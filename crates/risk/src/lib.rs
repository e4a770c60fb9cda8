//! Risk assessment for the infusion-pump ecosystem: the control catalogues (NIST CSF 2.0
//! and the 1.1 crosswalk, the HIPAA Security Rule, SP 800-53 r5, IEC TR 80001-2-2), the
//! question bank that cites them, the SP 800-30 threat events, the evidence rules that
//! pre-answer questions from pumpguard's data, the answers (people over evidence, both
//! kept), the risk register, the assessment a report renders, and MDS2 forms read into
//! capability gaps. The catalogues and the bank are data files in `data/`, embedded at
//! build time and cross-checked when loaded. No I/O.

pub mod answers;
pub mod assessment;
pub mod bank;
pub mod evidence;
pub mod level;
pub mod mds2;
pub mod register;

pub use answers::{AnswerSource, Answered, HumanAnswer, merge};
pub use assessment::{Assessment, FindingInput, assess};
pub use bank::{Bank, BankError, Question, Threat};
pub use evidence::{EvidenceAnswer, Facts, evaluate};
pub use level::Level;
pub use mds2::{Mds2Answer, Mds2Error, Mds2Form, Mds2Value};
pub use register::{Answer, Register, register};
