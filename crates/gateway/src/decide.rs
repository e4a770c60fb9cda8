//! The verdict on one MLLP message: forward, forward with an alert, block with a
//! reply, or pass through (messages that are not infusion orders).
//!
//! [`decide`] reads the bytes of one MLLP block and checks every give (RXG segment) of an
//! IHE PCD-03 RGV^O15 order against a [`DrugLibrary`]:
//!
//! | the order | decision | reply MSA-1 |
//! |---|---|---|
//! | within the soft limits | [`Decision::Forward`], no finding | — |
//! | outside soft, within hard limits | [`Decision::Forward`] with an `OverSoft`/`UnderSoft` finding: the soft override is the clinician's, at the pump | — |
//! | outside the hard limits | [`Decision::Block`] | `AR` |
//! | drug not in the library (or its RXG-4 code and name name two library drugs) | [`Decision::Block`] | `AR` |
//! | unit not exactly convertible to the entry's `dose_unit` ([`crate::units`]) | [`Decision::Block`] | `AR` |
//! | malformed: RGV-like MSH-9 that is not exactly `RGV^O15`, no RXG, empty RXG-4, RXG-15 or RXG-16 missing, RXG-15 not an HL7 NM, negative or out of range, RXG-16 naming two different units, more than one message in the block | [`Decision::Block`] | `AE` |
//! | bytes that are not HL7 v2 at all (no MSH) | [`Decision::Block`] with an empty reply: the proxy closes the connection | — |
//! | any other well-formed single message | [`Decision::PassThrough`] | — |
//!
//! The gateway fails closed: whatever it cannot read as an order it may not forward as one.
//! It never changes an order: the proxy forwards the exact bytes or nothing.
//!
//! # Replies
//!
//! A block is answered with RRG^O16 ([`pcd::application_ack`]) carrying one ERR segment:
//! ERR-3 from HL7 table 0357, ERR-4 `E`, ERR-5 our own code and text
//! ([`FindingKind::code`], [`FindingKind::text`]) and ERR-8 (user message) the finding's
//! sentence. Table 0357 describes *message* errors; the codes chosen are:
//!
//! - `101 Required field missing` — a malformed order missing RXG, RXG-4, RXG-15 or RXG-16;
//! - `102 Data type error` — RXG-15 that is not an NM (sign, digits, one decimal point),
//!   is negative, or overflows;
//! - `100 Segment sequence error` — a second message (MSH) in the same MLLP block;
//! - `200 Unsupported message type` — MSH-9 that looks like an order (`RGV`, or
//!   structure `RGV_O15`, in any case or padding) but is not exactly `RGV^O15`;
//! - `103 Table value not found` — unknown drug (RXG-4 looked up in the drug-library
//!   table and not found) and unit mismatch (RXG-16 is not among the units that
//!   convert exactly to the entry's unit);
//! - `207 Application internal error` — hard-limit violations, and an RXG-16 whose two
//!   triplets disagree. The table has no code for a value outside a clinical range (nor
//!   for a business rule); HL7 defines 207 as the catch-all "not explicitly covered by
//!   other codes" (v2.7+ renamed it "Application error"), and the IHE PCD Technical
//!   Framework's own RRG^O16 example rejects an order on drug-library grounds with 207
//!   and the specific reason in ERR-5. 101–104 would misstate a well-formed field as
//!   missing, mistyped or too long. ERR-5 carries the precise reason (`PG-HARD-MAX`…).
//!
//! [`FindingKind::ihe_piv_code`] gives the IHE PCD "PIV error code" (9005, 9009, 9010…)
//! that corresponds to each finding, for a proxy or a log that wants it.
//!
//! # Left out
//!
//! Bolus limits (`Entry::bolus_max`/`bolus_unit`) are not checked: a PCD-03 RGV^O15 order
//! carries no bolus amount this module reads (RXG-15 is the continuous rate). Conversions
//! through the patient's weight (OBX MDC_ATTR_PT_WEIGHT) or the concentration
//! (RXG-17/18, RXG-23/24) are not made: such orders are unit mismatches and are blocked.

use std::fmt::Write as _;

use pumpguard_druglib::{DrugLibrary, Entry, Verdict};
use pumpguard_hl7::escape::escape;
use pumpguard_hl7::pcd::{self, ApplicationCode, InfusionOrder, ReplyHeader, Transaction};
use pumpguard_hl7::{Charset, Delimiters, Message, Segment, Value, parse_messages};

use crate::units;

/// What the proxy does with one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Forward the message unchanged; `finding` is set for an order outside soft limits
    /// (alert, still forwarded).
    Forward { finding: Option<Finding> },
    /// Do not forward; answer the sender with `reply` (an HL7 message, no MLLP framing).
    /// `reply` is empty when the bytes are not HL7 v2 (no MSH to answer): the proxy then
    /// closes the connection instead of answering.
    Block { reply: String, finding: Finding },
    /// Not an infusion order: pass through unchanged.
    PassThrough,
}

/// Why an order was flagged or blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// Above the soft maximum, within the hard limits: forwarded with an alert.
    OverSoft,
    /// Below the soft minimum, within the hard limits: forwarded with an alert.
    UnderSoft,
    /// Above the hard maximum: blocked.
    OverHard,
    /// Below the hard minimum: blocked.
    UnderHard,
    /// The drug is not in the library: blocked.
    UnknownDrug,
    /// The order's unit does not convert exactly to the library's: blocked.
    UnitMismatch,
    /// The message claims to be an order but cannot be checked: blocked.
    Malformed,
}

impl FindingKind {
    /// True for the kinds that block the order.
    pub fn blocks(self) -> bool {
        !matches!(self, FindingKind::OverSoft | FindingKind::UnderSoft)
    }

    /// Our application error code (ERR-5-1 of a reply).
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::OverSoft => "PG-SOFT-MAX",
            FindingKind::UnderSoft => "PG-SOFT-MIN",
            FindingKind::OverHard => "PG-HARD-MAX",
            FindingKind::UnderHard => "PG-HARD-MIN",
            FindingKind::UnknownDrug => "PG-UNKNOWN-DRUG",
            FindingKind::UnitMismatch => "PG-UNIT",
            FindingKind::Malformed => "PG-MALFORMED",
        }
    }

    /// The text that goes with [`FindingKind::code`] (ERR-5-2).
    pub fn text(self) -> &'static str {
        match self {
            FindingKind::OverSoft => "Dose above the drug library soft maximum",
            FindingKind::UnderSoft => "Dose below the drug library soft minimum",
            FindingKind::OverHard => "Dose above the drug library hard maximum",
            FindingKind::UnderHard => "Dose below the drug library hard minimum",
            FindingKind::UnknownDrug => "Drug not in the drug library",
            FindingKind::UnitMismatch => "Dose unit does not convert to the drug library unit",
            FindingKind::Malformed => "Infusion order cannot be read",
        }
    }

    /// The IHE PCD PIV error code (IHE wiki "PumpErrorCodes") closest to this finding:
    /// 9005 parameter outside allowable range, 9010 unable to match medication to drug
    /// library, 9009 dose/rate units do not match drug library, 9004 invalid program
    /// parameter.
    pub fn ihe_piv_code(self) -> &'static str {
        match self {
            FindingKind::OverSoft
            | FindingKind::UnderSoft
            | FindingKind::OverHard
            | FindingKind::UnderHard => "9005",
            FindingKind::UnknownDrug => "9010",
            FindingKind::UnitMismatch => "9009",
            FindingKind::Malformed => "9004",
        }
    }
}

/// What the gateway found in an order, for the reply, the alert and the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    /// MSH-10 of the order (`""` when unreadable).
    pub order_control_id: String,
    /// MSH-3.
    pub sender: String,
    /// RXG-4 identifier and text as readable text, e.g. `Dopamine (1234)`.
    pub drug: String,
    /// The rate as ordered (RXG-15), when it is a number.
    pub value: Option<f64>,
    /// The unit as ordered (RXG-16).
    pub unit: Option<String>,
    /// The library limit crossed, in `library_unit`.
    pub limit: Option<f64>,
    pub library_unit: Option<String>,
    /// The pump id (OBX-18) if the order names it.
    pub pump: Option<String>,
    /// One line a person can read, e.g. `order 123: Dopamine 60 ug/kg/min is above the
    /// hard maximum 25 ug/kg/min of 'ICU Adult' 2026.11.1`.
    pub sentence: String,
}

/// What a reply's header needs besides the order.
#[derive(Debug, Clone, Copy)]
pub struct ReplyContext<'a> {
    /// HL7 DTM for MSH-7.
    pub time: &'a str,
    /// MSH-10 of the reply.
    pub control_id: &'a str,
}

/// The verdict on one MLLP block's payload (`message`, without framing). Never panics.
pub fn decide(library: &DrugLibrary, message: &[u8], reply: ReplyContext<'_>) -> Decision {
    let mut all = parse_messages(message);
    let first = match all.next() {
        Some(Ok(m)) => m,
        Some(Err(e)) => return unreadable(&format!("not an HL7 v2 message ({e})")),
        None => return unreadable("empty block, not an HL7 v2 message"),
    };
    let header = ReplyHeader {
        time: reply.time,
        control_id: reply.control_id,
    };
    let check = Check {
        library,
        message: &first,
        header,
        control_id: clean(&first.control_id(), 64),
        sender: clean(&first.msh().field(3).text(), 64),
        pump: None,
        gives: 0,
    };
    if all.next().is_some() {
        // A second message hidden behind the first would reach the pump server unchecked.
        return check.block_malformed(
            ("100", "Segment sequence error"),
            "the MLLP block holds more than one message (a second MSH)",
        );
    }
    if Transaction::of(&first) != Transaction::InfusionOrder {
        let (code, _, structure) = first.message_type();
        let looks_like_order = code.trim().eq_ignore_ascii_case("RGV")
            || structure.trim().eq_ignore_ascii_case("RGV_O15");
        if looks_like_order {
            let (c, e, s) = first.message_type();
            return check.block_malformed(
                ("200", "Unsupported message type"),
                &format!(
                    "MSH-9 '{}' is not exactly RGV^O15",
                    clean(&format!("{c}^{e}^{s}"), 64)
                ),
            );
        }
        return Decision::PassThrough;
    }
    match InfusionOrder::from_message(&first) {
        Ok(order) => check.order(&order),
        Err(e) => check.block_malformed(
            ("101", "Required field missing"),
            &format!("{}: {}", e.path, e.reason),
        ),
    }
}

/// Bytes with no MSH: nothing to reply to.
fn unreadable(why: &str) -> Decision {
    Decision::Block {
        reply: String::new(),
        finding: Finding {
            kind: FindingKind::Malformed,
            order_control_id: String::new(),
            sender: String::new(),
            drug: String::new(),
            value: None,
            unit: None,
            limit: None,
            library_unit: None,
            pump: None,
            sentence: clean(&format!("{why}; the connection is closed"), 240),
        },
    }
}

/// An HL7 table 0357 code and its text (ERR-3).
type Hl7Error = (&'static str, &'static str);

const TABLE_VALUE_NOT_FOUND: Hl7Error = ("103", "Table value not found");
const APPLICATION_ERROR: Hl7Error = ("207", "Application internal error");
const REQUIRED_FIELD_MISSING: Hl7Error = ("101", "Required field missing");
const DATA_TYPE_ERROR: Hl7Error = ("102", "Data type error");

/// A give that must not be forwarded.
struct Blocked {
    finding: Box<Finding>,
    hl7: Hl7Error,
}

/// One message being checked, and what every finding about it repeats.
struct Check<'a, 'm> {
    library: &'a DrugLibrary,
    message: &'a Message<'m>,
    header: ReplyHeader<'a>,
    control_id: String,
    sender: String,
    pump: Option<String>,
    /// Number of RXG segments (the sentence names the give when there are several).
    gives: usize,
}

/// What one RXG says, as far as it could be read.
#[derive(Default)]
struct Give {
    number: usize,
    /// RXG-4-1 and RXG-4-2 as sent, for the library lookup.
    raw_code: String,
    raw_text: String,
    /// The same, [`clean`]ed for findings.
    code: String,
    text: String,
    value: Option<f64>,
    unit: Option<String>,
}

impl Give {
    /// `Dopamine (1234)`, `Dopamine` or `1234`.
    fn drug(&self) -> String {
        match (self.text.is_empty(), self.code.is_empty()) {
            (false, false) => format!("{} ({})", self.text, self.code),
            (false, true) => self.text.clone(),
            _ => self.code.clone(),
        }
    }

    /// The name for a sentence: the text, else the code.
    fn name(&self) -> &str {
        if self.text.is_empty() {
            &self.code
        } else {
            &self.text
        }
    }

    /// `60 ug/kg/min`.
    fn dose(&self) -> String {
        let v = self.value.map(num).unwrap_or_default();
        match &self.unit {
            Some(u) => format!("{v} {u}"),
            None => v,
        }
    }
}

impl Check<'_, '_> {
    fn order(mut self, order: &InfusionOrder) -> Decision {
        self.pump = order
            .pump
            .as_ref()
            .map(|p| clean(p.best(), 64))
            .filter(|p| !p.is_empty());
        let rxgs: Vec<Segment<'_>> = self
            .message
            .segments()
            .filter(|s| s.id() == "RXG")
            .collect();
        self.gives = rxgs.len();
        let mut alert = None;
        for (i, rxg) in rxgs.iter().enumerate() {
            match self.give(rxg, i + 1) {
                Ok(None) => {}
                Ok(Some(f)) => {
                    alert.get_or_insert(f);
                }
                Err(b) => return self.block(b),
            }
        }
        Decision::Forward { finding: alert }
    }

    /// `order 123`, `order 123 (give 2)`.
    fn who(&self, give: usize) -> String {
        let id = if self.control_id.is_empty() {
            "order without MSH-10".to_string()
        } else {
            format!("order {}", self.control_id)
        };
        if self.gives > 1 {
            format!("{id} (give {give})")
        } else {
            id
        }
    }

    fn library_label(&self) -> String {
        format!(
            "'{}' {}",
            clean(&self.library.name, 64),
            clean(&self.library.version, 32)
        )
    }

    fn finding(&self, kind: FindingKind, give: &Give, sentence: String) -> Finding {
        Finding {
            kind,
            order_control_id: self.control_id.clone(),
            sender: self.sender.clone(),
            drug: give.drug(),
            value: give.value,
            unit: give.unit.clone(),
            limit: None,
            library_unit: None,
            pump: self.pump.clone(),
            sentence,
        }
    }

    fn malformed(&self, give: &Give, hl7: Hl7Error, why: &str) -> Blocked {
        let sentence = format!("{}: {why}", self.who(give.number));
        Blocked {
            finding: Box::new(self.finding(FindingKind::Malformed, give, sentence)),
            hl7,
        }
    }

    /// One RXG: `Ok(None)` within limits, `Ok(Some)` outside soft limits, `Err` blocked.
    fn give(&self, rxg: &Segment<'_>, number: usize) -> Result<Option<Finding>, Blocked> {
        let drug = rxg.field(4);
        let (raw_code, raw_text) = (drug.component(1).text(), drug.component(2).text());
        let mut give = Give {
            number,
            code: clean(&raw_code, 64),
            text: clean(&raw_text, 64),
            raw_code: raw_code.into_owned(),
            raw_text: raw_text.into_owned(),
            ..Give::default()
        };
        if give.raw_code.trim().is_empty() && give.raw_text.trim().is_empty() {
            return Err(self.malformed(&give, REQUIRED_FIELD_MISSING, "RXG-4 (the drug) is empty"));
        }
        let unit = read_unit(rxg.field(16));
        give.unit = unit.shown.clone();
        let rate = rxg.field(15);
        let raw = String::from_utf8_lossy(rate.raw());
        if raw.trim().is_empty() {
            return Err(self.malformed(
                &give,
                REQUIRED_FIELD_MISSING,
                &format!("{} has no rate (RXG-15 is empty)", give.name()),
            ));
        }
        let Some(value) = parse_nm(&raw) else {
            return Err(self.malformed(
                &give,
                DATA_TYPE_ERROR,
                &format!(
                    "{} rate RXG-15 '{}' is not a number",
                    give.name(),
                    clean(&raw, 32)
                ),
            ));
        };
        give.value = Some(value);
        if value < 0.0 {
            return Err(self.malformed(
                &give,
                DATA_TYPE_ERROR,
                &format!("{} rate {} is negative", give.name(), give.dose()),
            ));
        }
        let checked = match unit.read {
            UnitRead::Missing => {
                return Err(self.malformed(
                    &give,
                    REQUIRED_FIELD_MISSING,
                    &format!(
                        "{} {} has no unit (RXG-16 is empty)",
                        give.name(),
                        num(value)
                    ),
                ));
            }
            UnitRead::Conflict(a, b) => {
                return Err(self.malformed(
                    &give,
                    APPLICATION_ERROR,
                    &format!("RXG-16 names two different units, '{a}' and '{b}'"),
                ));
            }
            UnitRead::Known(u) => Some(u),
            UnitRead::Unknown => None,
        };
        let entry = self.entry(&give)?;
        let shown = give.unit.clone().unwrap_or_default();
        let converted = checked
            .as_deref()
            .and_then(|u| units::convert(value, u, &entry.dose_unit))
            .or_else(|| {
                // Units this module does not know compare literally, as the library's
                // own check does (e.g. `mmol/h` against `mmol/h`).
                (checked.is_none()
                    && !units::is_known(&entry.dose_unit)
                    && shown.trim().eq_ignore_ascii_case(entry.dose_unit.trim()))
                .then_some(value)
            });
        let library_unit = clean(&entry.dose_unit, 32);
        let Some(converted) = converted else {
            let why = if checked.is_none() {
                format!("'{shown}' is not a unit the gateway converts")
            } else {
                "different dimensions: a conversion would need the patient's weight, the \
                 concentration, or is not meaningful"
                    .to_string()
            };
            let sentence = format!(
                "{}: {} {} does not convert exactly to {library_unit}, the unit of '{}' in {} ({why})",
                self.who(number),
                give.name(),
                give.dose(),
                clean(&entry.drug, 64),
                self.library_label(),
            );
            let mut f = self.finding(FindingKind::UnitMismatch, &give, sentence);
            f.library_unit = Some(library_unit);
            return Err(Blocked {
                finding: Box::new(f),
                hl7: TABLE_VALUE_NOT_FOUND,
            });
        };
        if !converted.is_finite() {
            return Err(self.malformed(
                &give,
                DATA_TYPE_ERROR,
                &format!(
                    "{} {} is out of range in {library_unit}",
                    give.name(),
                    give.dose()
                ),
            ));
        }
        let verdict =
            self.library
                .check(&give.raw_code, &give.raw_text, converted, &entry.dose_unit);
        let (kind, limit, bound) = match verdict {
            Verdict::Within(_) => return Ok(None),
            Verdict::OverSoft { limit, .. } => {
                (FindingKind::OverSoft, limit, "above the soft maximum")
            }
            Verdict::UnderSoft { limit, .. } => {
                (FindingKind::UnderSoft, limit, "below the soft minimum")
            }
            Verdict::OverHard { limit, .. } => {
                (FindingKind::OverHard, limit, "above the hard maximum")
            }
            Verdict::UnderHard { limit, .. } => {
                (FindingKind::UnderHard, limit, "below the hard minimum")
            }
            // `entry` was found with the same code and text, and `converted` is in its
            // unit: these do not happen, and block if they ever do.
            Verdict::UnitMismatch { .. } | Verdict::UnknownDrug => {
                return Err(self.malformed(
                    &give,
                    APPLICATION_ERROR,
                    "the drug library check disagrees with the gateway's lookup",
                ));
            }
        };
        let in_library_unit = if shown == library_unit {
            String::new()
        } else {
            format!(" (= {} {library_unit})", num(converted))
        };
        let sentence = format!(
            "{}: {} {}{in_library_unit} is {bound} {} {library_unit} of {}",
            self.who(number),
            give.name(),
            give.dose(),
            num(limit),
            self.library_label(),
        );
        let mut f = self.finding(kind, &give, sentence);
        f.limit = Some(limit);
        f.library_unit = Some(library_unit);
        if kind.blocks() {
            Err(Blocked {
                finding: Box::new(f),
                hl7: APPLICATION_ERROR,
            })
        } else {
            Ok(Some(f))
        }
    }

    /// The library entry of a give: by code, else by name. A code and a name that find
    /// two different entries are refused (the pump server might match either).
    fn entry(&self, give: &Give) -> Result<&Entry, Blocked> {
        let by_code = self.library.find(&give.raw_code, "");
        let by_name = self.library.find("", &give.raw_text);
        let unknown = |sentence: String| Blocked {
            finding: Box::new(self.finding(FindingKind::UnknownDrug, give, sentence)),
            hl7: TABLE_VALUE_NOT_FOUND,
        };
        match (by_code, by_name) {
            (Some(a), Some(b)) if !std::ptr::eq(a, b) => Err(unknown(format!(
                "{}: RXG-4 code {} is '{}' but the name '{}' is '{}' in the drug library {}",
                self.who(give.number),
                give.code,
                clean(&a.drug, 64),
                give.text,
                clean(&b.drug, 64),
                self.library_label()
            ))),
            (Some(e), _) | (None, Some(e)) => Ok(e),
            (None, None) => Err(unknown(format!(
                "{}: {} is not in the drug library {}",
                self.who(give.number),
                give.drug(),
                self.library_label()
            ))),
        }
    }

    fn block_malformed(&self, hl7: Hl7Error, why: &str) -> Decision {
        let give = Give::default();
        let sentence = format!("{}: {why}", self.who(0));
        self.block(Blocked {
            finding: Box::new(self.finding(FindingKind::Malformed, &give, sentence)),
            hl7,
        })
    }

    /// RRG^O16 with MSA-1 AR (AE for malformed orders) and one ERR.
    fn block(&self, blocked: Blocked) -> Decision {
        let Blocked { finding, hl7 } = blocked;
        let finding = *finding;
        let code = if finding.kind == FindingKind::Malformed {
            ApplicationCode::Error
        } else {
            ApplicationCode::Reject
        };
        let mut reply = pcd::application_ack(self.message, code, &[], self.header);
        push_err(
            &mut reply,
            self.message,
            hl7,
            finding.kind,
            &finding.sentence,
        );
        Decision::Block { reply, finding }
    }
}

/// Appends `ERR|||<0357 code>^<text>^HL70357|E|<our code>^<our text>|||<sentence>` to a
/// reply built for `message` (its delimiters, escaped as it declares).
fn push_err(
    reply: &mut String,
    message: &Message<'_>,
    hl7: Hl7Error,
    kind: FindingKind,
    sentence: &str,
) {
    let d = message.delimiters();
    let fs = char::from(d.field);
    let cs = char::from(d.component);
    let ascii_only = message.charset() != Charset::Utf8;
    let t = |s: &str| field_text(s, d, ascii_only);
    if !reply.ends_with('\r') {
        reply.push('\r');
    }
    let _ = write!(
        reply,
        "ERR{fs}{fs}{fs}{}{cs}{}{cs}HL70357{fs}E{fs}{}{cs}{}{fs}{fs}{fs}{}\r",
        t(hl7.0),
        t(hl7.1),
        t(kind.code()),
        t(kind.text()),
        t(sentence)
    );
}

/// `text` ready for a field of a message with delimiters `d`: delimiters escaped (or,
/// when MSH-2 declares no escape character, replaced by spaces); non-ASCII characters
/// replaced by `?` unless the message is UTF-8.
fn field_text(text: &str, d: &Delimiters, ascii_only: bool) -> String {
    let text: String = if ascii_only {
        text.chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect()
    } else {
        text.to_string()
    };
    if d.escape.is_some() {
        return escape(&text, d).into_owned();
    }
    let special = |c: char| {
        u8::try_from(c).is_ok_and(|b| {
            b == d.field
                || b == d.component
                || Some(b) == d.repetition
                || Some(b) == d.subcomponent
                || Some(b) == d.truncation
                || b == b'\r'
                || b == b'\n'
        })
    };
    text.chars()
        .map(|c| if special(c) { ' ' } else { c })
        .collect()
}

/// How RXG-16 reads.
enum UnitRead {
    /// Empty.
    Missing,
    /// A unit [`units`] knows (the first of the triplets' units).
    Known(String),
    /// Only units [`units`] does not know.
    Unknown,
    /// Two triplets (or a UCUM code and its text) naming different known units.
    Conflict(String, String),
}

struct OrderedUnit {
    /// The unit as ordered, for findings: the UCUM text, else a known unit, else the
    /// first non-empty component.
    shown: Option<String>,
    read: UnitRead,
}

/// Reads RXG-16 (CWE): MDC triplets give the UCUM unit their reference id names
/// ([`units::from_mdc`]), other triplets (UCUM, local, none) their text and code. Every
/// one of these that is a known unit must be the same unit (a numeric UCUM code, as in
/// the IHE examples' `3475^ug/kg/min^UCUM`, is not a unit and is ignored).
fn read_unit(field: Value<'_>) -> OrderedUnit {
    let c = |i: usize| clean(&field.component(i).text(), 32);
    let parts: Vec<String> = (1..=6).map(c).collect();
    let mut candidates: Vec<String> = Vec::new();
    for t in [0, 3] {
        let (code, text, system) = (&parts[t], &parts[t + 1], parts[t + 2].trim());
        if system.eq_ignore_ascii_case("MDC") {
            candidates.extend(units::from_mdc(text));
        } else {
            candidates.extend([text.clone(), code.clone()]);
        }
    }
    candidates.retain(|s| !s.trim().is_empty());
    let known: Vec<&String> = candidates.iter().filter(|u| units::is_known(u)).collect();
    let shown = ucum_text(&parts)
        .or_else(|| known.first().map(|s| (*s).clone()))
        .or_else(|| parts.iter().find(|p| !p.trim().is_empty()).cloned());
    let read = match known.first() {
        None if shown.is_none() => UnitRead::Missing,
        None => UnitRead::Unknown,
        Some(first) => match known
            .iter()
            .find(|u| units::convert(1.0, u, first) != Some(1.0))
        {
            Some(other) => UnitRead::Conflict((*first).clone(), (*other).clone()),
            None => UnitRead::Known((*first).clone()),
        },
    };
    OrderedUnit { shown, read }
}

/// The UCUM text of a CWE's components, as `Coded::ucum` picks it.
fn ucum_text(parts: &[String]) -> Option<String> {
    [(2, 1), (5, 4)]
        .into_iter()
        .find(|&(sys, _)| parts[sys].trim().eq_ignore_ascii_case("UCUM"))
        .map(|(_, text)| parts[text].clone())
        .filter(|s| !s.trim().is_empty())
}

/// An HL7 NM: optional sign, digits with at most one decimal point, at least one digit.
/// Escape sequences, exponents, `inf`/`NaN`, repetitions and components are refused, so
/// that the gateway never reads a smaller number than a lenient pump server could.
fn parse_nm(raw: &str) -> Option<f64> {
    let s = raw.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A number for a sentence: 10 significant digits at most, no float noise (`60`, not
/// `60.00000000000001`).
fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let rounded: f64 = format!("{v:.9e}").parse().unwrap_or(v);
    let a = rounded.abs();
    if a != 0.0 && !(1e-6..1e12).contains(&a) {
        format!("{rounded:e}")
    } else {
        rounded.to_string()
    }
}

/// Text from the order made safe for a one-line log and an HL7 field: control characters
/// become spaces, and it is cut at `max` characters.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.trim().chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use pumpguard_hl7::pcd::OrderAck;

    use super::*;

    const ICU: &str = "name: ICU Adult\nversion: 2026.11.1\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_min: 2\n    soft_max: 20\n    hard_min: 1\n    hard_max: 25\n  - drug: Heparin\n    code: \"7777\"\n    dose_unit: U/h\n    soft_max: 1500\n    hard_max: 2000\n  - drug: Fentanyl\n    code: \"8888\"\n    dose_unit: ug/h\n    soft_max: 200\n    hard_max: 300\n  - drug: Normal Saline\n    code: \"5678\"\n    dose_unit: mL/h\n    hard_max: 999\n  - drug: Potassium\n    dose_unit: mmol/h\n    hard_max: 20\n";

    const CTX: ReplyContext<'static> = ReplyContext {
        time: "20261129013000+0000",
        control_id: "GW1",
    };

    fn library() -> DrugLibrary {
        DrugLibrary::parse(ICU, "icu.yaml").expect("library")
    }

    /// A PCD-03 order shaped like `pumpguard-sim`'s, with RXG-4 `drug`, RXG-15 `rate`
    /// and RXG-16 `unit` (a whole CWE).
    fn order(id: &str, drug: &str, rate: &str, unit: &str) -> String {
        format!(
            "MSH|^~\\&|EHR_BCMA^0200000040FFFE10^EUI-64|HOSP|PUMPSRV^0200000030FFFE11^EUI-64|PHARM|20261129010000+0000||RGV^O15^RGV_O15|{id}|P|2.6|||AL|ER||UNICODE UTF-8|en^English^ISO639||IHE_PCD_PIV_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.3.1^ISO\r\
             PID|||HO0000001^^^HOSP^MR||Smith^Maria^^^^^L||19600101|F\r\
             ORC|NW|00000042|||||||20261129010000+0000\r\
             RXG|1|||{drug}|250||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||{rate}|{unit}\r\
             RXR|IV^Intravenous^HL70162||IVP^IV Pump^HL70164|IV^Infuse^HL70165\r\
             OBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.0.0.0|||||||X|||||||9CC8AEFFFE000101^^9CC8AEFFFE000101^EUI-64\r\
             OBX|2|NM|68063^MDC_ATTR_PT_WEIGHT^MDC|1.0.0.1|80.0|263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM|||||R\r"
        )
    }

    const UG_KG_MIN: &str = "265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM";

    fn run(msg: &str) -> Decision {
        decide(&library(), msg.as_bytes(), CTX)
    }

    fn forwarded(d: &Decision) -> Option<&Option<Finding>> {
        match d {
            Decision::Forward { finding } => Some(finding),
            _ => None,
        }
    }

    /// The reply of a block, read back: (MSA-1, MSA-2, ERR).
    fn reply(d: &Decision) -> (FindingKind, OrderAck) {
        let Decision::Block { reply, finding } = d else {
            panic!("not blocked: {d:?}");
        };
        let m = Message::parse(reply.as_bytes()).expect("reply parses");
        assert_eq!(Transaction::of(&m), Transaction::OrderApplicationAck);
        assert_eq!(m.control_id(), "GW1");
        let ack = OrderAck::from_message(&m).expect("ack");
        assert_eq!(ack.errors.len(), 1, "{reply}");
        let err = &ack.errors[0];
        assert_eq!(err.severity, "E");
        assert_eq!(err.code.system, "HL70357");
        assert_eq!(err.application_error.code, finding.kind.code());
        assert_eq!(err.user_message, finding.sentence);
        (finding.kind, ack)
    }

    #[test]
    fn within_soft_limits_is_forwarded() {
        let d = run(&order("1", "1234^Dopamine", "10", UG_KG_MIN));
        assert_eq!(d, Decision::Forward { finding: None });
        // Exactly on the limits is within them.
        for rate in ["2", "20"] {
            let d = run(&order("1", "1234^Dopamine", rate, UG_KG_MIN));
            assert_eq!(d, Decision::Forward { finding: None }, "{rate}");
        }
    }

    #[test]
    fn over_soft_is_forwarded_with_an_alert() {
        let d = run(&order("7", "1234^Dopamine", "22", UG_KG_MIN));
        let f = forwarded(&d).and_then(Option::as_ref).expect("alert");
        assert_eq!(f.kind, FindingKind::OverSoft);
        assert_eq!((f.value, f.limit), (Some(22.0), Some(20.0)));
        assert_eq!(f.unit.as_deref(), Some("ug/kg/min"));
        assert_eq!(f.library_unit.as_deref(), Some("ug/kg/min"));
        assert_eq!(f.drug, "Dopamine (1234)");
        assert_eq!(f.order_control_id, "7");
        assert_eq!(f.sender, "EHR_BCMA");
        assert_eq!(f.pump.as_deref(), Some("9CC8AEFFFE000101"));
        assert_eq!(
            f.sentence,
            "order 7: Dopamine 22 ug/kg/min is above the soft maximum 20 ug/kg/min of 'ICU Adult' 2026.11.1"
        );
    }

    #[test]
    fn under_soft_is_forwarded_with_an_alert() {
        let d = run(&order("8", "1234^Dopamine", "1.5", UG_KG_MIN));
        let f = forwarded(&d).and_then(Option::as_ref).expect("alert");
        assert_eq!((f.kind, f.limit), (FindingKind::UnderSoft, Some(2.0)));
    }

    #[test]
    fn over_hard_is_rejected() {
        let d = run(&order("123", "1234^Dopamine", "60", UG_KG_MIN));
        let (kind, ack) = reply(&d);
        assert_eq!(kind, FindingKind::OverHard);
        assert_eq!(
            (ack.code.as_str(), ack.acknowledges.as_str()),
            ("AR", "123")
        );
        assert_eq!(ack.errors[0].code.code, "207");
        assert_eq!(ack.errors[0].application_error.code, "PG-HARD-MAX");
        assert_eq!(
            ack.errors[0].user_message,
            "order 123: Dopamine 60 ug/kg/min is above the hard maximum 25 ug/kg/min of 'ICU Adult' 2026.11.1"
        );
        let Decision::Block { finding, .. } = d else {
            unreachable!()
        };
        assert_eq!((finding.value, finding.limit), (Some(60.0), Some(25.0)));
    }

    #[test]
    fn under_hard_is_rejected() {
        let (kind, ack) = reply(&run(&order("9", "1234^Dopamine", "0.5", UG_KG_MIN)));
        assert_eq!((kind, ack.code.as_str()), (FindingKind::UnderHard, "AR"));
        assert_eq!(ack.errors[0].application_error.code, "PG-HARD-MIN");
    }

    #[test]
    fn unknown_drug_is_rejected() {
        let (kind, ack) = reply(&run(&order(
            "10",
            "9999^Vasopressin",
            "1",
            "U/min^U/min^UCUM",
        )));
        assert_eq!((kind, ack.code.as_str()), (FindingKind::UnknownDrug, "AR"));
        assert_eq!(ack.acknowledges, "10");
        assert_eq!(ack.errors[0].code.code, "103");
        assert_eq!(
            ack.errors[0].user_message,
            "order 10: Vasopressin (9999) is not in the drug library 'ICU Adult' 2026.11.1"
        );
        // By name when the code is unknown to the library.
        let d = run(&order("11", "^dopamine", "10", UG_KG_MIN));
        assert_eq!(d, Decision::Forward { finding: None });
        // A code and a name that designate two library drugs.
        let (kind, _) = reply(&run(&order("12", "8888^Dopamine", "10", UG_KG_MIN)));
        assert_eq!(kind, FindingKind::UnknownDrug);
    }

    #[test]
    fn unit_mismatch_is_rejected() {
        // mL/h against ug/kg/min needs the concentration and the weight.
        let (kind, ack) = reply(&run(&order("13", "1234^Dopamine", "10", "mL/h^mL/h^UCUM")));
        assert_eq!((kind, ack.code.as_str()), (FindingKind::UnitMismatch, "AR"));
        assert_eq!(ack.errors[0].code.code, "103");
        assert!(
            ack.errors[0].user_message.contains("weight"),
            "{:?}",
            ack.errors[0]
        );
        // ug/kg/min against ug/h needs the weight.
        let (kind, _) = reply(&run(&order("14", "8888^Fentanyl", "1", UG_KG_MIN)));
        assert_eq!(kind, FindingKind::UnitMismatch);
        // Units and international units are not the same.
        let (kind, _) = reply(&run(&order(
            "15",
            "7777^Heparin",
            "1000",
            "[iU]/h^[iU]/h^UCUM",
        )));
        assert_eq!(kind, FindingKind::UnitMismatch);
        // A unit nobody knows.
        let (kind, _) = reply(&run(&order(
            "16",
            "7777^Heparin",
            "1000",
            "furlongs/fortnight",
        )));
        assert_eq!(kind, FindingKind::UnitMismatch);
    }

    #[test]
    fn exact_conversions_are_checked_in_the_library_unit() {
        // 0.06 mg/kg/min = 60 ug/kg/min: above the hard maximum 25.
        let d = run(&order(
            "20",
            "1234^Dopamine",
            "0.06",
            "mg/kg/min^mg/kg/min^UCUM",
        ));
        let (kind, ack) = reply(&d);
        assert_eq!(kind, FindingKind::OverHard);
        assert_eq!(
            ack.errors[0].user_message,
            "order 20: Dopamine 0.06 mg/kg/min (= 60 ug/kg/min) is above the hard maximum 25 ug/kg/min of 'ICU Adult' 2026.11.1"
        );
        // 0.6 mg/kg/h = 10 ug/kg/min: within.
        let d = run(&order("21", "1234^Dopamine", "0.6", "mg/kg/h^mg/kg/h^UCUM"));
        assert_eq!(d, Decision::Forward { finding: None });
        // 0.25 mg/h = 250 ug/h: above the soft maximum 200 ug/h.
        let d = run(&order("22", "8888^Fentanyl", "0.25", "mg/h^mg/h^UCUM"));
        let f = forwarded(&d).and_then(Option::as_ref).expect("alert");
        assert_eq!(
            (f.kind, f.value, f.limit),
            (FindingKind::OverSoft, Some(0.25), Some(200.0))
        );
        // mcg/hr is ug/h.
        let d = run(&order("23", "8888^Fentanyl", "400", "mcg/hr"));
        assert_eq!(reply(&d).0, FindingKind::OverHard);
        // Heparin in units/h against U/h.
        let d = run(&order("24", "7777^Heparin", "1000", "units/h"));
        assert_eq!(d, Decision::Forward { finding: None });
        // A unit the gateway does not know compares literally.
        let d = run(&order("25", "^Potassium", "10", "mmol/h^mmol/h^UCUM"));
        assert_eq!(d, Decision::Forward { finding: None });
        let d = run(&order("26", "^Potassium", "30", "mmol/h^mmol/h^UCUM"));
        assert_eq!(reply(&d).0, FindingKind::OverHard);
    }

    #[test]
    fn units_from_mdc_and_their_conflicts() {
        // MDC only.
        let d = run(&order(
            "30",
            "1234^Dopamine",
            "60",
            "265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC",
        ));
        assert_eq!(reply(&d).0, FindingKind::OverHard);
        // The IHE PCD example's shape: a UCUM triplet whose code is not a unit.
        let d = run(&order(
            "31",
            "1234^Dopamine",
            "10",
            "3475^ug/kg/min^UCUM^265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC",
        ));
        assert_eq!(d, Decision::Forward { finding: None });
        // UCUM says ug, MDC says mg: the pump server may read either.
        let d = run(&order(
            "32",
            "1234^Dopamine",
            "10",
            "263890^MDC_DIM_MILLI_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM",
        ));
        let (kind, ack) = reply(&d);
        assert_eq!((kind, ack.code.as_str()), (FindingKind::Malformed, "AE"));
    }

    #[test]
    fn malformed_orders_are_errors() {
        let cases = [
            (order("40", "1234^Dopamine", "", UG_KG_MIN), "101"),
            (order("41", "1234^Dopamine", "10", ""), "101"),
            (order("42", "1234^Dopamine", "ten", UG_KG_MIN), "102"),
            (order("43", "1234^Dopamine", "-5", UG_KG_MIN), "102"),
            (order("44", "1234^Dopamine", "NaN", UG_KG_MIN), "102"),
            (order("45", "1234^Dopamine", "inf", UG_KG_MIN), "102"),
            (order("46", "1234^Dopamine", "1e3", UG_KG_MIN), "102"),
            (order("47", "1234^Dopamine", "10~60", UG_KG_MIN), "102"),
            (order("48", "1234^Dopamine", "1\\X30\\", UG_KG_MIN), "102"),
            (order("49", "", "10", UG_KG_MIN), "101"),
            (
                order("50", "1234^Dopamine", &"9".repeat(400), UG_KG_MIN),
                "102",
            ),
            (
                order("51", "1234^Dopamine", "10", UG_KG_MIN).replace("RGV^O15^RGV_O15", "rgv^o15"),
                "200",
            ),
            (
                order("52", "1234^Dopamine", "10", UG_KG_MIN)
                    .replace("RGV^O15^RGV_O15", "RGV^O15 ^RGV_O15"),
                "200",
            ),
        ];
        for (msg, hl7) in cases {
            let d = run(&msg);
            let (kind, ack) = reply(&d);
            assert_eq!(
                (kind, ack.code.as_str()),
                (FindingKind::Malformed, "AE"),
                "{msg}"
            );
            assert_eq!(ack.errors[0].code.code, hl7, "{:?}", ack.errors[0]);
            assert!(!ack.acknowledges.is_empty());
        }
        // No RXG at all.
        let msg = order("53", "1234^Dopamine", "10", UG_KG_MIN).replace("RXG|", "NTE|");
        let (kind, ack) = reply(&run(&msg));
        assert_eq!(
            (kind, ack.errors[0].code.code.as_str()),
            (FindingKind::Malformed, "101")
        );
    }

    #[test]
    fn every_give_is_checked() {
        let ok = order("60", "1234^Dopamine", "10", UG_KG_MIN);
        let second = "RXG|2|||1234^Dopamine|250||mL^mL^UCUM||||||||60|ug/kg/min^ug/kg/min^UCUM\r";
        let msg = ok.replacen("RXR|", &format!("{second}RXR|"), 1);
        let (kind, ack) = reply(&run(&msg));
        assert_eq!(kind, FindingKind::OverHard);
        assert!(
            ack.errors[0]
                .user_message
                .starts_with("order 60 (give 2): ")
        );
    }

    #[test]
    fn two_messages_in_one_block_are_refused() {
        let a = order("70", "1234^Dopamine", "10", UG_KG_MIN);
        let b = order("71", "1234^Dopamine", "60", UG_KG_MIN);
        let (kind, ack) = reply(&run(&format!("{a}{b}")));
        assert_eq!(
            (kind, ack.code.as_str(), ack.acknowledges.as_str()),
            (FindingKind::Malformed, "AE", "70")
        );
        assert_eq!(ack.errors[0].code.code, "100");
    }

    #[test]
    fn other_messages_pass_through_and_garbage_is_blocked() {
        let oru = "MSH|^~\\&|PUMPSRV|PHARM|EHR|HOSP|20261129||ORU^R01^ORU_R01|5|P|2.6\rPID|||1\r";
        assert_eq!(run(oru), Decision::PassThrough);
        let ack = "MSH|^~\\&|PUMPSRV|PHARM|EHR|HOSP|20261129||ACK^O15^ACK|6|P|2.6\rMSA|CA|1\r";
        assert_eq!(run(ack), Decision::PassThrough);
        for junk in [&b""[..], b"hello", b"PID|1\r", b"MSH|", b"\x00\xff\xfe"] {
            let d = decide(&library(), junk, CTX);
            let Decision::Block { reply, finding } = d else {
                panic!("{junk:?}: {d:?}");
            };
            assert!(reply.is_empty());
            assert_eq!(finding.kind, FindingKind::Malformed);
            assert!(!finding.sentence.is_empty());
        }
    }

    #[test]
    fn replies_use_the_order_delimiters_and_escape_the_sentence() {
        // `#` as field separator; the drug name holds a `#`, escaped as `\F\`.
        let msg = order("80", "1234^DopaFSmine", "60", UG_KG_MIN)
            .replace('|', "#")
            .replace("DopaFSmine", "Dopa\\F\\mine");
        let d = run(&msg);
        let (kind, ack) = reply(&d);
        assert_eq!(kind, FindingKind::OverHard);
        assert!(ack.errors[0].user_message.contains("Dopa#mine"), "{ack:?}");
        let Decision::Block { reply, .. } = d else {
            unreachable!()
        };
        assert!(reply.starts_with("MSH#^~\\&#"), "{reply}");
        assert!(reply.contains("Dopa\\F\\mine"), "{reply}");
    }

    #[test]
    fn control_characters_never_reach_the_sentence() {
        let d = run(&order("81", "9999^Evil\\X0A\\drug", "1", "mL/h"));
        let Decision::Block { finding, .. } = d else {
            panic!("{d:?}");
        };
        assert!(
            !finding.sentence.chars().any(char::is_control),
            "{}",
            finding.sentence
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(60.000_000_000_000_01), "60");
        assert_eq!(num(0.06), "0.06");
        assert_eq!(num(3.6), "3.6");
        assert_eq!(num(1e-9), "1e-9");
        assert_eq!(num(2e15), "2e15");
        assert_eq!(parse_nm(" 10.5 "), Some(10.5));
        assert_eq!(parse_nm("+.5"), Some(0.5));
        for bad in ["", ".", "-", "1.2.3", "1e2", "0x10", "inf", "1,5", "5 mg"] {
            assert_eq!(parse_nm(bad), None, "{bad}");
        }
    }

    #[test]
    fn simulated_orders_pass_the_simulated_library() {
        use pumpguard_sim::clinical::{self, App, Infusion};
        use pumpguard_sim::rng::Rng;
        let lib = DrugLibrary::parse(&clinical::library_yaml(), "sim.yaml").expect("sim library");
        let app = |name, mac| App {
            name,
            facility: "HOSP",
            eui64: clinical::eui64(mac),
        };
        let (ehr, server) = (
            app("EHR_BCMA", [2, 0, 0, 0, 0x40, 0x10]),
            app("PUMPSRV", [2, 0, 0, 0, 0x30, 0x11]),
        );
        let mut rng = Rng::new(11);
        for i in 0..=250u8 {
            let inf = Infusion::invent(&mut rng, [0x9c, 0xc8, 0xae, 0, 1, i]);
            let msg = clinical::order(
                &format!("C{i}"),
                1_793_606_400_000_000_000,
                &inf,
                &ehr,
                &server,
            );
            let d = decide(&lib, msg.as_bytes(), CTX);
            assert_eq!(d, Decision::Forward { finding: None }, "{msg}");
        }
    }

    #[test]
    fn ihe_examples_against_the_simulated_library() {
        let lib = DrugLibrary::parse(&pumpguard_sim::clinical::library_yaml(), "sim.yaml")
            .expect("sim library");
        let dir = pumpguard_testkit::shared_data().join("hl7/ihe-pcd-tf-rev9");
        let read = |file: &str| std::fs::read(dir.join(file)).expect("example");
        // 10 ug/kg/min of dopamine (UCUM text with an MDC alternate).
        let d = decide(&lib, &read("pcd03_ex1_dopamine_rgv_o15.hl7"), CTX);
        assert_eq!(d, Decision::Forward { finding: None });
        // 13.3 mL/h of saline: below the simulated ward's soft minimum of 25 mL/h.
        let d = decide(&lib, &read("pcd03_ex2_normal_saline_rgv_o15.hl7"), CTX);
        let f = forwarded(&d).and_then(Option::as_ref).expect("alert");
        assert_eq!(
            f.sentence,
            "order 2: Normal Saline 13.3 mL/h is below the soft minimum 25 mL/h of 'ICU Adult (simulated)' 2026.11.1"
        );
        let d = decide(&lib, &read("pcd03_ex1_accept_ack_o15.hl7"), CTX);
        assert_eq!(d, Decision::PassThrough);
    }
}
