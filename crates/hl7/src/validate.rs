//! Structure and IHE PCD profile checks (`pumpguard hl7 validate`).
//!
//! Structure: the MSH fields every message needs, segment ids, date/time syntax, the
//! character set. Profile: per PCD transaction, the segments and fields the IHE PCD
//! Technical Framework (Rev. 9, vol. 2) requires, MSH-21 profile ids, MDC coding where
//! the profile wants it, and MDC codes that disagree with their reference id. Stray
//! spaces inside coded and identifier components are flagged too: receivers compare
//! these values byte for byte.

use std::collections::HashSet;
use std::fmt;

use crate::mdc;
use crate::message::{Message, Segment, line_col, parse_messages};
use crate::pcd::Transaction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Probably wrong, but a receiver can still act on the message.
    Warning,
    /// Breaks a rule of HL7 v2 or of the PCD profile.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based index of the message in the input.
    pub message: usize,
    /// 1-based line of the segment concerned in the input.
    pub line: usize,
    /// Terser path (or segment id) concerned.
    pub path: String,
    pub severity: Severity,
    pub text: String,
}

/// Checks every message in `input`. A buffer that is not HL7 at some point yields one
/// error there and no further messages.
pub fn validate(input: &[u8]) -> Vec<Problem> {
    let mut v = Validator::default();
    v.check(input);
    v.problems
}

/// Validates the messages of one conversation, possibly spread over several buffers (the
/// frames of an MLLP stream): acks are matched against the messages before them, and
/// message numbers run on across buffers.
#[derive(Debug, Default)]
pub struct Validator {
    seen_ids: HashSet<String>,
    any_request: bool,
    messages: usize,
    pub problems: Vec<Problem>,
}

impl Validator {
    /// Checks the messages of `input`; their problems' lines are relative to `input`.
    pub fn check(&mut self, input: &[u8]) {
        for parsed in parse_messages(input) {
            self.messages += 1;
            match parsed {
                Ok(m) => {
                    let mut ctx = Ctx {
                        input,
                        message: &m,
                        index: self.messages,
                        problems: &mut self.problems,
                    };
                    check_message(&mut ctx);
                    let t = Transaction::of(&m);
                    if matches!(
                        t,
                        Transaction::OrderAccept
                            | Transaction::OrderApplicationAck
                            | Transaction::DeviceDataAck
                            | Transaction::Ack
                    ) {
                        check_ack_reference(&mut ctx, &self.seen_ids, self.any_request);
                    } else {
                        self.any_request = true;
                    }
                    self.seen_ids.insert(m.control_id().into_owned());
                }
                Err(e) => self.problems.push(Problem {
                    message: self.messages,
                    line: e.line_col(input).0,
                    path: "MSH".into(),
                    severity: Severity::Error,
                    text: e.kind.to_string(),
                }),
            }
        }
    }

    /// Messages seen so far.
    pub fn messages(&self) -> usize {
        self.messages
    }
}

struct Ctx<'c, 'a> {
    input: &'c [u8],
    message: &'c Message<'a>,
    index: usize,
    problems: &'c mut Vec<Problem>,
}

impl<'a> Ctx<'_, 'a> {
    fn report(
        &mut self,
        segment_index: usize,
        path: impl Into<String>,
        severity: Severity,
        text: impl Into<String>,
    ) {
        let line = line_col(self.input, self.message.segment_offset(segment_index)).0;
        self.problems.push(Problem {
            message: self.index,
            line,
            path: path.into(),
            severity,
            text: text.into(),
        });
    }

    fn get(&self, path: &str) -> String {
        path.parse()
            .map(|p| self.message.get(&p).into_owned())
            .unwrap_or_default()
    }

    /// Index and segment of the first segment with this id.
    fn first(&self, id: &str) -> Option<(usize, Segment<'a>)> {
        self.message
            .segments()
            .enumerate()
            .find(|(_, s)| s.id() == id)
    }
}

fn check_message(ctx: &mut Ctx<'_, '_>) {
    for (path, what) in [
        ("MSH-9-1", "message code"),
        ("MSH-9-2", "trigger event"),
        ("MSH-10", "message control id"),
        ("MSH-11", "processing id"),
        ("MSH-12", "version id"),
    ] {
        if ctx.get(path).is_empty() {
            ctx.report(0, path, Severity::Error, format!("the {what} is required"));
        }
    }
    let time = ctx.get("MSH-7");
    if time.is_empty() {
        ctx.report(
            0,
            "MSH-7",
            Severity::Error,
            "the message date/time is required",
        );
    } else if !is_dtm(&time) {
        ctx.report(
            0,
            "MSH-7",
            Severity::Error,
            format!("{time:?} is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])"),
        );
    }
    if ctx.message.charset() == crate::Charset::Unsupported {
        let cs = ctx.get("MSH-18");
        ctx.report(
            0,
            "MSH-18",
            Severity::Warning,
            format!("character set {cs:?} is not supported; read as UTF-8"),
        );
    }
    let language_system = ctx.get("MSH-19-3");
    if !language_system.is_empty()
        && !matches!(
            language_system.as_str(),
            "ISO639" | "ISO 639" | "HL70296" | "ISO639-1"
        )
    {
        ctx.report(
            0,
            "MSH-19-3",
            Severity::Warning,
            format!("language coding system {language_system:?} is not ISO639"),
        );
    }
    let segments: Vec<_> = ctx.message.segments().collect();
    for (i, seg) in segments.iter().enumerate() {
        let id = seg.id();
        if id.len() != 3
            || !id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            ctx.report(
                i,
                id,
                Severity::Error,
                format!("segment id {id:?} is not three upper-case letters or digits"),
            );
            continue;
        }
        check_whitespace(ctx, i, seg);
        check_mdc_codes(ctx, i, seg);
    }
    let t = Transaction::of(ctx.message);
    if let Some(pcd) = t.pcd() {
        check_profile(ctx, t, pcd);
    }
}

/// Fields whose components are codes or identifiers, by segment.
fn coded_fields(id: &str) -> &'static [usize] {
    match id {
        "MSH" => &[3, 4, 5, 6, 9, 21],
        "PID" => &[3],
        "OBR" => &[2, 3, 4],
        "OBX" => &[3, 6, 18],
        "RXG" => &[4, 7, 16, 18, 24],
        "RXR" => &[1, 3, 4],
        "ERR" => &[3, 5],
        "MSA" => &[1, 2],
        _ => &[],
    }
}

fn check_whitespace(ctx: &mut Ctx<'_, '_>, index: usize, seg: &Segment<'_>) {
    let id = seg.id();
    let occurrence = ctx
        .message
        .segments()
        .take(index + 1)
        .filter(|s| s.id() == id)
        .count();
    for &f in coded_fields(id) {
        let field = seg.field(f);
        for r in 1..=field.count() {
            let rep = field.repetition(r);
            for c in 1..=rep.count() {
                let text = rep.component(c).text();
                if text.trim() != text {
                    let seg_ref = if occurrence > 1 {
                        format!("{id}({occurrence})")
                    } else {
                        id.to_string()
                    };
                    let rep_ref = if r > 1 {
                        format!("({r})")
                    } else {
                        String::new()
                    };
                    ctx.report(
                        index,
                        format!("{seg_ref}-{f}{rep_ref}-{c}"),
                        Severity::Warning,
                        format!("stray space in {text:?}"),
                    );
                }
            }
        }
    }
}

/// An `NNN^MDC_…^MDC` whose code and reference id disagree with the nomenclature.
fn check_mdc_codes(ctx: &mut Ctx<'_, '_>, index: usize, seg: &Segment<'_>) {
    let id = seg.id();
    let fields: &[usize] = match id {
        "OBX" => &[3, 5, 6],
        "OBR" => &[4],
        "RXG" => &[7, 16, 18, 24],
        _ => return,
    };
    for &f in fields {
        let v = seg.field(f);
        for triplet in [1, 4] {
            let (code, name, system) = (
                v.component(triplet).text(),
                v.component(triplet + 1).text(),
                v.component(triplet + 2).text(),
            );
            if system != "MDC" {
                continue;
            }
            let Some(term) = mdc::by_reference_id(name.trim()) else {
                continue;
            };
            if code.trim() != term.code.to_string() {
                ctx.report(
                    index,
                    format!("{id}-{f}-{triplet}"),
                    Severity::Warning,
                    format!(
                        "MDC code {code} does not match {} ({})",
                        term.reference_id, term.code
                    ),
                );
            }
        }
    }
}

struct ProfileRules {
    /// Accepted MSH-21 profile ids.
    profile_ids: &'static [&'static str],
    version: &'static str,
    segments: &'static [&'static str],
}

fn rules(t: Transaction) -> ProfileRules {
    match t {
        Transaction::DeviceData => ProfileRules {
            profile_ids: &["IHE_PCD_001", "PCD_DEC_001", "IHE PCD ORU-R01 2006"],
            version: "2.6",
            segments: &["OBR", "OBX"],
        },
        Transaction::InfusionOrder => ProfileRules {
            profile_ids: &["IHE_PCD_PIV_001"],
            version: "2.6",
            segments: &["PID", "ORC", "RXG", "RXR"],
        },
        Transaction::OrderAccept | Transaction::OrderApplicationAck => ProfileRules {
            profile_ids: &["IHE_PCD_PIV_001"],
            version: "2.6",
            segments: &["MSA"],
        },
        Transaction::Alarm => ProfileRules {
            profile_ids: &["IHE_PCD_ACM_001"],
            version: "2.6",
            segments: &["PID", "OBR", "OBX"],
        },
        Transaction::InfusionEvent => ProfileRules {
            profile_ids: &["IHE_PCD_010"],
            version: "2.6",
            segments: &["PID", "OBR", "OBX"],
        },
        Transaction::DeviceDataAck => ProfileRules {
            profile_ids: &[],
            version: "2.6",
            segments: &["MSA"],
        },
        Transaction::Ack | Transaction::Other => ProfileRules {
            profile_ids: &[],
            version: "",
            segments: &[],
        },
    }
}

fn check_profile(ctx: &mut Ctx<'_, '_>, t: Transaction, pcd: &str) {
    let r = rules(t);
    let version = ctx.get("MSH-12");
    if !version.is_empty() && version != r.version {
        ctx.report(
            0,
            "MSH-12",
            Severity::Error,
            format!("{pcd} is specified on HL7 v{}, not v{version}", r.version),
        );
    }
    let msh21 = ctx.message.msh().field(21);
    let profiled = !r.profile_ids.is_empty();
    let declared: Vec<String> = (1..=msh21.count())
        .map(|i| msh21.repetition(i).component(1).text().trim().to_string())
        .collect();
    if profiled && !declared.iter().any(|d| r.profile_ids.contains(&d.as_str())) {
        ctx.report(
            0,
            "MSH-21",
            Severity::Error,
            format!(
                "{pcd} requires MSH-21 to name its profile ({})",
                r.profile_ids.join(" or ")
            ),
        );
    }
    for seg in r.segments {
        if ctx.first(seg).is_none() {
            ctx.report(
                0,
                *seg,
                Severity::Error,
                format!("{pcd} requires a {seg} segment"),
            );
        }
    }
    match t {
        Transaction::InfusionOrder => check_order(ctx),
        Transaction::OrderAccept | Transaction::OrderApplicationAck => check_order_ack(ctx, t),
        Transaction::DeviceData | Transaction::Alarm | Transaction::InfusionEvent => {
            check_observations(ctx, pcd)
        }
        Transaction::DeviceDataAck | Transaction::Ack | Transaction::Other => {}
    }
}

fn check_order(ctx: &mut Ctx<'_, '_>) {
    if ctx.get("MSH-15") != "AL" {
        ctx.report(
            0,
            "MSH-15",
            Severity::Error,
            "PCD-03 orders require MSH-15 = AL (always send an accept ack)",
        );
    }
    if let Some((i, rxg)) = ctx.first("RXG") {
        if rxg.field(4).component(1).text().is_empty() {
            ctx.report(
                i,
                "RXG-4",
                Severity::Error,
                "the give code (drug) is required",
            );
        }
        let rate = rxg.field(15).text();
        let volume = rxg.field(5).text();
        if rate.is_empty() && volume.is_empty() {
            ctx.report(
                i,
                "RXG-15",
                Severity::Error,
                "an order needs a rate (RXG-15) or a volume (RXG-5)",
            );
        }
        if !rate.is_empty() && rxg.field(16).component(1).text().is_empty() {
            ctx.report(i, "RXG-16", Severity::Error, "the rate needs its units");
        }
        for (f, what) in [(5, "volume"), (15, "rate"), (17, "strength")] {
            let v = rxg.field(f).text();
            if !v.is_empty() && v.trim().parse::<f64>().is_err() {
                ctx.report(
                    i,
                    format!("RXG-{f}"),
                    Severity::Error,
                    format!("the {what} {v:?} is not a number"),
                );
            }
        }
    }
    if let Some((i, rxr)) = ctx.first("RXR") {
        if rxr.field(1).component(1).text().is_empty() {
            ctx.report(i, "RXR-1", Severity::Error, "the route is required");
        }
        if rxr.field(4).component(1).text().is_empty() {
            ctx.report(
                i,
                "RXR-4",
                Severity::Warning,
                "the administration method is missing (CP-PCD-159: RXR|IV||IVP|IV)",
            );
        }
    }
    let has_pump = ctx
        .message
        .segments()
        .any(|s| s.id() == "OBX" && !s.field(18).is_empty());
    if !has_pump {
        ctx.report(
            0,
            "OBX-18",
            Severity::Error,
            "no OBX-18 names the pump the order is for",
        );
    }
}

fn check_order_ack(ctx: &mut Ctx<'_, '_>, t: Transaction) {
    let Some((i, msa)) = ctx.first("MSA") else {
        return;
    };
    let code = msa.field(1).text();
    let allowed: &[&str] = if t == Transaction::OrderAccept {
        &["CA", "CE", "CR"]
    } else {
        &["AA", "AE", "AR"]
    };
    if !allowed.contains(&code.as_ref()) {
        ctx.report(
            i,
            "MSA-1",
            Severity::Error,
            format!(
                "acknowledgement code {code:?} is not one of {}",
                allowed.join(", ")
            ),
        );
    }
    if msa.field(2).text().is_empty() {
        ctx.report(
            i,
            "MSA-2",
            Severity::Error,
            "the control id of the acknowledged message is required",
        );
    }
    if t == Transaction::OrderApplicationAck {
        if ctx.get("MSH-15") != "AL" {
            ctx.report(0, "MSH-15", Severity::Error, "RRG^O16 requires MSH-15 = AL");
        }
        let rejected = matches!(code.as_ref(), "AE" | "AR");
        if rejected && ctx.first("ERR").is_none() {
            ctx.report(
                i,
                "ERR",
                Severity::Warning,
                "a rejection should say why in an ERR segment",
            );
        }
    }
}

/// An ack whose MSA-2 names no message earlier in the same input (checked only when the
/// input holds requests, i.e. is a conversation rather than a lone ack).
fn check_ack_reference(ctx: &mut Ctx<'_, '_>, seen: &HashSet<String>, any_request: bool) {
    let Some((i, msa)) = ctx.first("MSA") else {
        return;
    };
    let acked = msa.field(2).text();
    if any_request && !acked.is_empty() && !seen.contains(acked.as_ref()) {
        ctx.report(
            i,
            "MSA-2",
            Severity::Warning,
            format!("acknowledges control id {acked:?}, which no earlier message has"),
        );
    }
}

fn check_observations(ctx: &mut Ctx<'_, '_>, pcd: &str) {
    let message = ctx.message;
    let obx: Vec<(usize, Segment<'_>)> = message
        .segments()
        .enumerate()
        .filter(|(_, s)| s.id() == "OBX")
        .collect();
    for (n, (i, s)) in obx.iter().enumerate() {
        let at = |f: usize| {
            if n == 0 {
                format!("OBX-{f}")
            } else {
                format!("OBX({})-{f}", n + 1)
            }
        };
        let id = s.field(3);
        if id.component(1).text().is_empty() {
            ctx.report(
                *i,
                at(3),
                Severity::Error,
                "the observation identifier is required",
            );
        } else if id.component(3).text() != "MDC" && id.component(6).text() != "MDC" {
            ctx.report(
                *i,
                at(3),
                Severity::Warning,
                format!("{pcd} observations are identified with MDC codes (OBX-3-3 = MDC)"),
            );
        }
        if s.field(4).text().is_empty() {
            ctx.report(
                *i,
                at(4),
                Severity::Error,
                format!("{pcd} requires the containment path in OBX-4 (observation sub-id)"),
            );
        }
        if s.field(11).text().is_empty() {
            ctx.report(
                *i,
                at(11),
                Severity::Error,
                "the observation result status is required",
            );
        }
        let value_type = s.field(2).text();
        if value_type == "NM" {
            let v = s.field(5).text();
            if !v.is_empty() && v.trim().parse::<f64>().is_err() {
                ctx.report(
                    *i,
                    at(5),
                    Severity::Error,
                    format!("numeric value {v:?} is not a number"),
                );
            }
        }
    }
    for seg in ["OBR"] {
        for (i, s) in ctx
            .message
            .segments()
            .enumerate()
            .filter(|(_, s)| s.id() == seg)
            .collect::<Vec<_>>()
        {
            for f in [2, 3] {
                let t = s.field(f).component(4).text();
                if t.eq_ignore_ascii_case("EUI64") {
                    ctx.report(
                        i,
                        format!("{seg}-{f}-4"),
                        Severity::Warning,
                        "universal id type \"EUI64\" should be \"EUI-64\"",
                    );
                }
            }
        }
    }
}

/// HL7 DTM: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`.
pub fn is_dtm(s: &str) -> bool {
    let (body, zone) = match s.find(['+', '-']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (body, None),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14)
        && all_digits(digits)
        && fraction
            .is_none_or(|f| digits.len() == 14 && (1..=4).contains(&f.len()) && all_digits(f))
        && zone.is_none_or(|z| z.len() == 4 && all_digits(z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtm() {
        for ok in [
            "2026",
            "202611",
            "20261129013000",
            "20261129013000.1234",
            "20080101123456-0600",
            "20261129+0000",
        ] {
            assert!(is_dtm(ok), "{ok}");
        }
        for bad in [
            "",
            "26",
            "20080101123456- 0600",
            "2026112901300",
            "20261129.5",
            "20261129013000.",
            "2026-11-29",
        ] {
            assert!(!is_dtm(bad), "{bad}");
        }
    }
}
