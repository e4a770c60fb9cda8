//! The infusion-order gateway (IHE PCD-03): it sits between the order sender (EHR,
//! interface engine) and the pump server on MLLP, checks each RGV^O15 order against a
//! signed drug library and passes it or blocks it with an HL7 reply that says why. It
//! never creates or changes an order. `decide` is the verdict on one message (`units`
//! converts doses exactly where the library's unit differs); `proxy` carries MLLP
//! between the two ends.

pub mod decide;
pub mod proxy;
pub mod units;
