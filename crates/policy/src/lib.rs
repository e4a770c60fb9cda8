//! Segmentation policy: zones and the conduits allowed between them (`model`), every
//! flow evaluated against them (`eval`) and the denied ones grouped into violations
//! (`check`), a least-privilege policy proposed from observed traffic (`learn`), what
//! changes between two policies (`diff`), and the policy compiled for nftables, MUD and
//! Cisco IOS (`compile`). No I/O: callers hand over the file's text, the inventory and
//! the flows.

pub mod check;
pub mod compile;
pub mod diff;
pub mod eval;
pub mod learn;
pub mod model;

pub use eval::{Verdict, Zoning};
pub use model::{Conduit, DefaultAction, Policy, PolicyError, Service, Zone};
