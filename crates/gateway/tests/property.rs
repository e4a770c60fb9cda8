//! Properties of the gateway's decision core over random drug libraries, random orders,
//! random bytes and random mutations of orders:
//!
//! - a forwarded order names a library drug, its unit converts exactly to the entry's,
//!   and its dose in the entry's unit is within the hard limits;
//! - an order above the hard maximum is blocked with an RRG^O16 whose MSA-1 is `AR`;
//! - `decide` agrees with an independent reading of the library rules on every order;
//! - no bytes make it panic, and no mutation of an over-limit order that still reads (to
//!   a lenient reader) as an RGV^O15 with an over-limit dose is forwarded.
//!
//! Messages are written as text with `\r` segment ends, shaped like `pumpguard-sim`'s.

use proptest::prelude::*;
use proptest::test_runner::Config;
use pumpguard_druglib::{DrugLibrary, Entry};
use pumpguard_gateway::decide::{Decision, FindingKind, ReplyContext, decide};
use pumpguard_gateway::units;
use pumpguard_hl7::pcd::{OrderAck, Transaction};
use pumpguard_hl7::{Message, Segment, parse_messages};

const CTX: ReplyContext<'static> = ReplyContext {
    time: "20261129013000+0000",
    control_id: "GW-REPLY",
};

/// The units drawn for libraries and orders: every spelling `units` knows, in several
/// dimensions, and one it does not (`mmol/h`, compared literally).
const UNITS: &[&str] = &[
    "g/h",
    "mg/h",
    "ug/h",
    "mcg/h",
    "ng/h",
    "mg/min",
    "ug/min",
    "mg/hr",
    "ug/kg/min",
    "mcg/kg/min",
    "ng/kg/min",
    "mg/kg/min",
    "ug/kg/h",
    "mg/kg/h",
    "mL/h",
    "L/h",
    "mL/min",
    "mL/hr",
    "U/h",
    "units/h",
    "U/min",
    "U/kg/h",
    "[iU]/h",
    "IU/min",
    "mg",
    "mL",
    "mmol/h",
];

/// `cases` cases (or `PROPTEST_CASES` when set, for a longer run), and no regression
/// files written next to the tests.
fn config(cases: u32) -> Config {
    let base = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            base.cases
        } else {
            cases
        },
        failure_persistence: None,
        ..base
    }
}

/// One library entry: unit index and up to four ordered limits, each maybe absent.
fn entry_strategy() -> impl Strategy<Value = (usize, [f64; 4], [bool; 4], bool)> {
    (
        0..UNITS.len(),
        prop::array::uniform4(0.0f64..5_000.0),
        prop::array::uniform4(any::<bool>()),
        any::<bool>(),
    )
}

fn library_strategy() -> impl Strategy<Value = DrugLibrary> {
    prop::collection::vec(entry_strategy(), 1..6).prop_map(|entries| {
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(i, (unit, mut limits, present, coded))| {
                limits.sort_by(f64::total_cmp);
                let at = |k: usize| present[k].then_some(limits[k]);
                Entry {
                    drug: format!("Drug{i}"),
                    code: coded.then(|| format!("C{i}")),
                    dose_unit: UNITS[unit].to_string(),
                    hard_min: at(0),
                    soft_min: at(1),
                    soft_max: at(2),
                    hard_max: at(3),
                    concentration: None,
                    bolus_max: None,
                    bolus_unit: None,
                }
            })
            .collect();
        DrugLibrary {
            name: "Random Ward".into(),
            version: "1.0".into(),
            care_area: "ICU".into(),
            entries,
        }
    })
}

/// How an order names its drug.
#[derive(Debug, Clone, Copy)]
enum Naming {
    CodeAndName,
    CodeOnly,
    NameOnly,
    /// The name in lower case.
    NameLowerCase,
    /// A drug the library does not have.
    Unknown,
    /// A library code with another library drug's name.
    Crossed,
}

/// How an order writes RXG-16.
#[derive(Debug, Clone, Copy)]
enum UnitForm {
    /// `u^u^UCUM`.
    Ucum,
    /// `u` alone.
    Plain,
    /// `3475^u^UCUM`: the IHE example's numeric code.
    NumericCode,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    entry: usize,
    naming: Naming,
    unit: usize,
    /// Draw the unit among those that convert to the entry's (else among all).
    convertible: bool,
    unit_form: UnitForm,
    /// How the dose is picked: 0 at a limit, 1 near one, 2 anywhere.
    how: u8,
    limit: usize,
    scale: f64,
    raw: f64,
}

fn order_strategy() -> impl Strategy<Value = OrderSpec> {
    (
        0usize..8,
        prop_oneof![
            4 => Just(Naming::CodeAndName),
            2 => Just(Naming::CodeOnly),
            2 => Just(Naming::NameOnly),
            1 => Just(Naming::NameLowerCase),
            1 => Just(Naming::Unknown),
            1 => Just(Naming::Crossed),
        ],
        (0..UNITS.len(), any::<bool>()),
        prop_oneof![
            Just(UnitForm::Ucum),
            Just(UnitForm::Plain),
            Just(UnitForm::NumericCode)
        ],
        0u8..3,
        0usize..4,
        0.5f64..1.5,
        0.0f64..20_000.0,
    )
        .prop_map(
            |(entry, naming, (unit, convertible), unit_form, how, limit, scale, raw)| OrderSpec {
                entry,
                naming,
                unit,
                convertible,
                unit_form,
                how,
                limit,
                scale,
                raw,
            },
        )
}

/// An order shaped like `pumpguard_sim::clinical::order`.
fn order_text(id: &str, drug: &str, rate: &str, unit: &str) -> String {
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

/// An order as text, with the RXG-4 it carries, the value and unit as ordered.
struct Built {
    text: String,
    code: String,
    name: String,
    value: f64,
    unit: &'static str,
}

fn build(lib: &DrugLibrary, spec: &OrderSpec) -> Built {
    let n = lib.entries.len();
    let entry = &lib.entries[spec.entry % n];
    let other = &lib.entries[(spec.entry + 1) % n];
    let code = entry.code.clone().unwrap_or_default();
    let (code, name) = match spec.naming {
        Naming::CodeAndName => (code, entry.drug.clone()),
        Naming::CodeOnly => (code, String::new()),
        Naming::NameOnly => (String::new(), entry.drug.clone()),
        Naming::NameLowerCase => (String::new(), entry.drug.to_lowercase()),
        Naming::Unknown => ("X999".into(), "Unobtainium".into()),
        Naming::Crossed => (code, other.drug.clone()),
    };
    // An entry without a code, named by code only: name it (an empty RXG-4 is malformed).
    let name = if code.is_empty() && name.is_empty() {
        entry.drug.clone()
    } else {
        name
    };
    let convertible: Vec<&'static str> = UNITS
        .iter()
        .copied()
        .filter(|u| units::convert(1.0, u, &entry.dose_unit).is_some() || *u == entry.dose_unit)
        .collect();
    let unit = if spec.convertible && !convertible.is_empty() {
        convertible[spec.unit % convertible.len()]
    } else {
        UNITS[spec.unit]
    };
    // A dose at, near or away from one of the entry's limits, in the order's unit.
    let limits = [
        entry.hard_min,
        entry.soft_min,
        entry.soft_max,
        entry.hard_max,
    ];
    let target = limits[spec.limit].map(|l| match spec.how {
        0 => l,
        1 => l * spec.scale,
        _ => spec.raw,
    });
    let value = target
        .and_then(|t| units::convert(t, &entry.dose_unit, unit))
        .filter(|v| v.is_finite())
        .unwrap_or(spec.raw);
    // Display writes no exponent: the text is an HL7 NM and parses back to `value`.
    let rate = format!("{value}");
    let rxg16 = match spec.unit_form {
        UnitForm::Ucum => format!("{unit}^{unit}^UCUM"),
        UnitForm::Plain => unit.to_string(),
        UnitForm::NumericCode => format!("3475^{unit}^UCUM"),
    };
    let drug = format!("{code}^{name}");
    Built {
        text: order_text("ORD1", &drug, &rate, &rxg16),
        code,
        name,
        value,
        unit,
    }
}

/// The library rules, read independently of `decide`: the entry (by code, else by
/// name; a code and a name finding two entries is no entry), the dose in its unit (exact
/// conversion, or literal equality of units neither side converts), and the verdict.
fn expected(lib: &DrugLibrary, b: &Built) -> Option<FindingKind> {
    let by_code = lib.find(&b.code, "");
    let by_name = lib.find("", &b.name);
    let entry = match (by_code, by_name) {
        (Some(a), Some(c)) if !std::ptr::eq(a, c) => return Some(FindingKind::UnknownDrug),
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) => return Some(FindingKind::UnknownDrug),
    };
    let converted = units::convert(b.value, b.unit, &entry.dose_unit).or_else(|| {
        (!units::is_known(b.unit)
            && !units::is_known(&entry.dose_unit)
            && b.unit.eq_ignore_ascii_case(&entry.dose_unit))
        .then_some(b.value)
    });
    let Some(v) = converted else {
        return Some(FindingKind::UnitMismatch);
    };
    if entry.hard_max.is_some_and(|l| v > l) {
        Some(FindingKind::OverHard)
    } else if entry.hard_min.is_some_and(|l| v < l) {
        Some(FindingKind::UnderHard)
    } else if entry.soft_max.is_some_and(|l| v > l) {
        Some(FindingKind::OverSoft)
    } else if entry.soft_min.is_some_and(|l| v < l) {
        Some(FindingKind::UnderSoft)
    } else {
        None
    }
}

/// MSA-1 and MSA-2 of a reply, which must parse as RRG^O16 with one ERR.
fn read_reply(reply: &str) -> (String, String) {
    let m = Message::parse(reply.as_bytes()).expect("reply parses");
    assert_eq!(Transaction::of(&m), Transaction::OrderApplicationAck);
    let ack = OrderAck::from_message(&m).expect("reply is an ack");
    assert_eq!(ack.errors.len(), 1);
    (ack.code, ack.acknowledges)
}

proptest! {
    #![proptest_config(config(3_000))]

    #[test]
    fn orders_follow_the_library(lib in library_strategy(), spec in order_strategy()) {
        let b = build(&lib, &spec);
        let decision = decide(&lib, b.text.as_bytes(), CTX);
        let want = expected(&lib, &b);
        match &decision {
            Decision::Forward { finding } => {
                // The drug is in the library, the unit converts, the dose is within the
                // hard limits.
                let entry = lib.find(&b.code, &b.name).expect("forwarded drug is in the library");
                let v = units::convert(b.value, b.unit, &entry.dose_unit)
                    .or_else(|| b.unit.eq_ignore_ascii_case(&entry.dose_unit).then_some(b.value))
                    .expect("forwarded unit converts");
                prop_assert!(entry.hard_max.is_none_or(|l| v <= l), "{v} > {:?}", entry.hard_max);
                prop_assert!(entry.hard_min.is_none_or(|l| v >= l), "{v} < {:?}", entry.hard_min);
                prop_assert_eq!(finding.as_ref().map(|f| f.kind), want);
            }
            Decision::Block { reply, finding } => {
                prop_assert_eq!(Some(finding.kind), want);
                prop_assert!(finding.kind.blocks());
                let (msa1, msa2) = read_reply(reply);
                prop_assert_eq!(msa1.as_str(), "AR");
                prop_assert_eq!(msa2.as_str(), "ORD1");
            }
            Decision::PassThrough => prop_assert!(false, "an order passed through"),
        }
        if want == Some(FindingKind::OverHard) {
            prop_assert!(matches!(decision, Decision::Block { .. }), "not blocked");
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let lib = fixed_library();
        match decide(&lib, &bytes, CTX) {
            Decision::Forward { .. } => {
                let m = Message::parse(&bytes).expect("forwarded bytes are HL7");
                prop_assert_eq!(Transaction::of(&m), Transaction::InfusionOrder);
            }
            Decision::Block { reply, .. } if !reply.is_empty() => {
                let m = Message::parse(reply.as_bytes()).expect("reply parses");
                prop_assert!(OrderAck::from_message(&m).is_ok());
            }
            _ => {}
        }
    }

    #[test]
    fn random_headers_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..400),
        sep in prop::sample::select(b"|#!$%*+,-./:;=?@_".to_vec()),
    ) {
        // `MSH` and a delimiter, then anything: past the parser's first check.
        let mut bytes = vec![b'M', b'S', b'H', sep];
        bytes.extend_from_slice(&tail);
        let _ = decide(&fixed_library(), &bytes, CTX);
    }
}

/// Dopamine 1–25 ug/kg/min (soft 2–20), Heparin up to 2000 U/h.
fn fixed_library() -> DrugLibrary {
    DrugLibrary::parse(
        "name: ICU Adult\nversion: 2026.11.1\ncare_area: ICU\nentries:\n  - drug: Dopamine\n    code: \"1234\"\n    dose_unit: ug/kg/min\n    soft_min: 2\n    soft_max: 20\n    hard_min: 1\n    hard_max: 25\n  - drug: Heparin\n    code: \"7777\"\n    dose_unit: U/h\n    soft_max: 1500\n    hard_max: 2000\n",
        "icu.yaml",
    )
    .expect("library")
}

/// One edit of a message's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// Copy the segment holding this position (not MSH) to the end.
    DuplicateSegment(usize),
}

const TOKENS: &[&[u8]] = &[
    b"|",
    b"^",
    b"~",
    b"\\",
    b"&",
    b"\r",
    b"\n",
    b"MSH|^~\\&|",
    b"RXG|",
    b"\\F\\",
    b"0",
    b".",
    b"-",
    b"e3",
    b" ",
    b"mg",
    b"ug",
    b"/h",
    b"/kg",
    b"RGV^O15",
    b"1234",
];

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        (any::<usize>(), prop::sample::select(TOKENS))
            .prop_map(|(p, t)| Edit::Insert(p, t.to_vec())),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(p, t)| Edit::Insert(p, t)),
        (any::<usize>(), 1usize..8).prop_map(|(p, n)| Edit::Delete(p, n)),
        any::<usize>().prop_map(Edit::DuplicateSegment),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match edit {
        Edit::Set(p, b) if len > 0 => bytes[p % len] = *b,
        Edit::Insert(p, t) => {
            let at = p % (len + 1);
            bytes.splice(at..at, t.iter().copied());
        }
        Edit::Delete(p, n) if len > 0 => {
            let at = p % len;
            bytes.drain(at..(at + n).min(len));
        }
        Edit::DuplicateSegment(p) if len > 0 => {
            let at = p % len;
            let start = bytes[..at]
                .iter()
                .rposition(|&b| b == b'\r')
                .map_or(0, |i| i + 1);
            let end = bytes[at..]
                .iter()
                .position(|&b| b == b'\r')
                .map_or(len, |i| at + i);
            if bytes[start..].starts_with(b"MSH") {
                // A second message is refused whole; mutate the order instead.
                return;
            }
            let mut segment = bytes[start..end].to_vec();
            segment.push(b'\r');
            bytes.extend_from_slice(&segment);
        }
        _ => {}
    }
}

/// Whether a lenient reader could take `bytes` for an RGV^O15 with a dose above the hard
/// maximum: some RXG whose code or name finds an entry, whose RXG-15 parses as any f64
/// (exponents, `inf`, signs…) and some component of whose RXG-16 converts to the entry's
/// unit, giving more than the hard maximum.
fn reads_as_over_limit(lib: &DrugLibrary, bytes: &[u8]) -> bool {
    // Every message of the block: a second one could hide behind the first.
    parse_messages(bytes)
        .map_while(Result::ok)
        .filter(|m| Transaction::of(m) == Transaction::InfusionOrder)
        .any(|m| {
            m.segments()
                .filter(|s| s.id() == "RXG")
                .any(|rxg| over_limit(lib, &rxg))
        })
}

fn over_limit(lib: &DrugLibrary, rxg: &Segment<'_>) -> bool {
    let drug = rxg.field(4);
    let (code, name) = (drug.component(1).text(), drug.component(2).text());
    let entries = [lib.find(&code, ""), lib.find("", &name)];
    let Ok(value) = rxg.field(15).text().trim().parse::<f64>() else {
        return false;
    };
    let unit = rxg.field(16);
    entries.into_iter().flatten().any(|e| {
        (1..=6).any(|c| {
            let u = unit.component(c).text();
            let converted = units::convert(value, &u, &e.dose_unit).or_else(|| {
                units::from_mdc(&u).and_then(|u| units::convert(value, &u, &e.dose_unit))
            });
            converted.is_some_and(|v| e.hard_max.is_some_and(|l| v > l || v.is_nan()))
        })
    })
}

proptest! {
    #![proptest_config(config(4_000))]

    #[test]
    fn mutated_over_limit_orders_are_never_forwarded(
        (rate, unit) in prop::sample::select(vec![
            ("60", "ug/kg/min^ug/kg/min^UCUM"),
            ("25.5", "265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM"),
            ("1000", "3475^mcg/kg/min^UCUM"),
            ("0.03", "mg/kg/min^mg/kg/min^UCUM"),
            ("1.6", "mg/kg/h"),
        ]),
        edits in prop::collection::vec(edit_strategy(), 1..8),
    ) {
        let lib = fixed_library();
        let mut bytes = order_text("ORD9", "1234^Dopamine", rate, unit).into_bytes();
        // The unmutated order is over the hard maximum of 25 ug/kg/min.
        prop_assert!(reads_as_over_limit(&lib, &bytes));
        prop_assert!(
            matches!(decide(&lib, &bytes, CTX), Decision::Block { .. }),
            "not blocked"
        );
        for e in &edits {
            apply(&mut bytes, e);
        }
        let decision = decide(&lib, &bytes, CTX);
        if reads_as_over_limit(&lib, &bytes) {
            prop_assert!(
                !matches!(decision, Decision::Forward { .. }),
                "forwarded: {:?}\n{:?}",
                String::from_utf8_lossy(&bytes),
                decision
            );
        }
        if let Decision::Block { reply, .. } = &decision
            && !reply.is_empty()
        {
            let m = Message::parse(reply.as_bytes());
            prop_assert!(m.is_ok(), "reply does not parse: {reply:?}");
        }
    }
}
