//! Typed views of the IHE Patient Care Device messages around an infusion pump, and
//! builders for the acknowledgements a pump server (IOC) sends back.
//!
//! | transaction | message | view |
//! |---|---|---|
//! | PCD-01 device data | ORU^R01 | [`DeviceData`] |
//! | PCD-03 infusion order | RGV^O15 | [`InfusionOrder`] |
//! | PCD-03 accept / application ack | ACK^O15, RRG^O16 | [`OrderAck`] |
//! | PCD-04 alarm | ORU^R40 | [`Alarm`] |
//! | PCD-10 infusion event | ORU^R42 | [`InfusionEvent`] |
//!
//! Views copy the few values they hold, so they outlive the buffer. A view fails only
//! when what defines it is missing (an order without RXG, an ack without MSA); profile
//! conformance is [`crate::validate`]'s job.

use std::fmt::Write as _;

use crate::escape::escape;
use crate::message::{Message, Segment, Value};

/// Which PCD transaction a message belongs to, from MSH-9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// ORU^R01: PCD-01 device data.
    DeviceData,
    /// RGV^O15: PCD-03 infusion order.
    InfusionOrder,
    /// ACK^O15: PCD-03 accept acknowledgement.
    OrderAccept,
    /// RRG^O16: PCD-03 application acknowledgement.
    OrderApplicationAck,
    /// ACK^R01: the acknowledgement of PCD-01 device data.
    DeviceDataAck,
    /// ORU^R40: PCD-04 alarm.
    Alarm,
    /// ORU^R42: PCD-10 infusion event.
    InfusionEvent,
    /// Any other ACK (e.g. ACK^R01 answering PCD-01).
    Ack,
    Other,
}

impl Transaction {
    pub fn of(message: &Message<'_>) -> Transaction {
        let (code, event, _) = message.message_type();
        Transaction::from_type(&code, &event)
    }

    /// The transaction of a message whose MSH-9 has this code and trigger event.
    pub fn from_type(code: &str, event: &str) -> Transaction {
        match (code, event) {
            ("ORU", "R01") => Transaction::DeviceData,
            ("RGV", "O15") => Transaction::InfusionOrder,
            ("ACK", "O15") => Transaction::OrderAccept,
            ("ACK", "R01") => Transaction::DeviceDataAck,
            ("RRG", "O16") => Transaction::OrderApplicationAck,
            ("ORU", "R40") => Transaction::Alarm,
            ("ORU", "R42") => Transaction::InfusionEvent,
            ("ACK", _) => Transaction::Ack,
            _ => Transaction::Other,
        }
    }

    /// The IHE name: `PCD-01`, `PCD-03`… (`None` for other messages).
    pub fn pcd(self) -> Option<&'static str> {
        match self {
            Transaction::DeviceData | Transaction::DeviceDataAck => Some("PCD-01"),
            Transaction::InfusionOrder
            | Transaction::OrderAccept
            | Transaction::OrderApplicationAck => Some("PCD-03"),
            Transaction::Alarm => Some("PCD-04"),
            Transaction::InfusionEvent => Some("PCD-10"),
            Transaction::Ack | Transaction::Other => None,
        }
    }

    /// The variant's name as written (`DeviceData`, `InfusionOrder`…): what `Debug`
    /// prints, without formatting.
    pub fn name(self) -> &'static str {
        match self {
            Transaction::DeviceData => "DeviceData",
            Transaction::InfusionOrder => "InfusionOrder",
            Transaction::OrderAccept => "OrderAccept",
            Transaction::OrderApplicationAck => "OrderApplicationAck",
            Transaction::DeviceDataAck => "DeviceDataAck",
            Transaction::Alarm => "Alarm",
            Transaction::InfusionEvent => "InfusionEvent",
            Transaction::Ack => "Ack",
            Transaction::Other => "Other",
        }
    }
}

/// Why a message has no view of the asked kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ViewError {
    /// Terser path of what is missing or wrong.
    pub path: String,
    pub reason: String,
}

fn missing(path: &str, reason: &str) -> ViewError {
    ViewError {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

/// A coded element (CE/CWE): identifier, text and coding system, with the alternate triplet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coded {
    pub code: String,
    pub text: String,
    pub system: String,
    pub alt_code: String,
    pub alt_text: String,
    pub alt_system: String,
}

impl Coded {
    fn from_value(v: Value<'_>) -> Coded {
        let c = |i| v.component(i).text().into_owned();
        Coded {
            code: c(1),
            text: c(2),
            system: c(3),
            alt_code: c(4),
            alt_text: c(5),
            alt_system: c(6),
        }
    }

    /// The MDC context-free code, from the primary or the alternate triplet.
    pub fn mdc(&self) -> Option<u32> {
        [
            (&self.code, &self.system),
            (&self.alt_code, &self.alt_system),
        ]
        .into_iter()
        .find(|(_, s)| s.as_str() == "MDC")
        .and_then(|(c, _)| c.parse().ok())
    }

    /// The UCUM unit string, from whichever triplet is UCUM (the PCD examples use both
    /// orders), else the primary text.
    pub fn ucum(&self) -> &str {
        if self.system == "UCUM" {
            &self.text
        } else if self.alt_system == "UCUM" {
            &self.alt_text
        } else {
            &self.text
        }
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty() && self.text.is_empty()
    }
}

/// An entity identifier (EI), e.g. a device's EUI-64 in OBX-18.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityId {
    pub id: String,
    pub namespace: String,
    pub universal_id: String,
    pub universal_id_type: String,
}

impl EntityId {
    fn from_value(v: Value<'_>) -> EntityId {
        let c = |i| v.component(i).text().into_owned();
        EntityId {
            id: c(1),
            namespace: c(2),
            universal_id: c(3),
            universal_id_type: c(4),
        }
    }

    /// The most specific identifier present: the universal id (EUI-64) if any, else the
    /// entity id.
    pub fn best(&self) -> &str {
        if self.universal_id.is_empty() {
            &self.id
        } else {
            &self.universal_id
        }
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty() && self.universal_id.is_empty()
    }
}

/// A number with its unit. `value` is `None` when the text is not a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantity {
    pub text: String,
    pub value: Option<f64>,
    pub unit: Coded,
}

impl Quantity {
    fn from(amount: Value<'_>, unit: Value<'_>) -> Option<Quantity> {
        let text = amount.text().trim().to_string();
        if text.is_empty() {
            return None;
        }
        Some(Quantity {
            value: text.parse().ok(),
            text,
            unit: Coded::from_value(unit),
        })
    }
}

/// The patient of PID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    /// PID-3-1 of the first repetition.
    pub id: String,
    /// PID-3-4, the assigning authority.
    pub authority: String,
    pub family_name: String,
    pub given_name: String,
    /// PID-7, as written.
    pub birth: String,
    pub sex: String,
}

impl Patient {
    fn from_message(m: &Message<'_>) -> Option<Patient> {
        let pid = m.segment("PID", 1)?;
        let t = |f: usize, c: usize| pid.field(f).component(c).text().into_owned();
        Some(Patient {
            id: t(3, 1),
            authority: t(3, 4),
            family_name: t(5, 1),
            given_name: t(5, 2),
            birth: t(7, 1),
            sex: t(8, 1),
        })
    }
}

/// One OBX.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub set_id: String,
    pub value_type: String,
    pub identifier: Coded,
    /// OBX-4: the MDS.VMD.channel.metric containment path in PCD messages.
    pub sub_id: String,
    /// OBX-5 as text (first component).
    pub value: String,
    /// OBX-5 read as a coded element (for CWE values).
    pub coded_value: Coded,
    pub units: Coded,
    pub status: String,
    pub time: String,
    /// OBX-18, every repetition.
    pub equipment: Vec<EntityId>,
}

impl Observation {
    fn from_segment(s: Segment<'_>) -> Observation {
        let t = |f: usize| s.field(f).text().into_owned();
        let eq = s.field(18);
        Observation {
            set_id: t(1),
            value_type: t(2),
            identifier: Coded::from_value(s.field(3)),
            sub_id: t(4),
            value: t(5),
            coded_value: Coded::from_value(s.field(5)),
            units: Coded::from_value(s.field(6)),
            status: t(11),
            time: t(14),
            equipment: (1..=eq.count())
                .map(|r| EntityId::from_value(eq.repetition(r)))
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// This observation's value as a quantity with its units.
    pub fn quantity(&self) -> Option<Quantity> {
        let text = self.value.trim();
        (!text.is_empty()).then(|| Quantity {
            text: text.to_string(),
            value: text.parse().ok(),
            unit: self.units.clone(),
        })
    }
}

fn observations(m: &Message<'_>) -> Vec<Observation> {
    m.segments()
        .filter(|s| s.id() == "OBX")
        .map(Observation::from_segment)
        .collect()
}

fn find(obs: &[Observation], mdc: u32) -> Option<&Observation> {
    obs.iter().find(|o| o.identifier.mdc() == Some(mdc))
}

/// The first device identifier any OBX-18 carries.
fn first_device(obs: &[Observation]) -> Option<EntityId> {
    obs.iter().flat_map(|o| o.equipment.first()).next().cloned()
}

fn expect(m: &Message<'_>, want: Transaction) -> Result<(), ViewError> {
    let got = Transaction::of(m);
    if got == want {
        Ok(())
    } else {
        let (c, e, _) = m.message_type();
        Err(missing(
            "MSH-9",
            &format!("message type {c}^{e} is not a {want:?}"),
        ))
    }
}

/// PCD-01: observations reported by a device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceData {
    pub control_id: String,
    pub patient: Option<Patient>,
    pub observations: Vec<Observation>,
}

impl DeviceData {
    pub fn from_message(m: &Message<'_>) -> Result<DeviceData, ViewError> {
        expect(m, Transaction::DeviceData)?;
        Ok(DeviceData {
            control_id: m.control_id().into_owned(),
            patient: Patient::from_message(m),
            observations: observations(m),
        })
    }
}

/// PCD-03: an infusion order as the EHR/BCMA (IOP) sends it to the pump server (IOC).
#[derive(Debug, Clone, PartialEq)]
pub struct InfusionOrder {
    pub control_id: String,
    /// MSH-3, the sending application.
    pub sender: String,
    pub patient: Option<Patient>,
    /// ORC-1.
    pub order_control: String,
    /// ORC-2, the placer order number.
    pub placer_order: String,
    /// RXG-4: drug code and name.
    pub drug: Coded,
    /// RXG-5 with RXG-7: the volume to be infused.
    pub volume: Option<Quantity>,
    /// RXG-15 with RXG-16: the dose rate or infusion rate to program.
    pub rate: Option<Quantity>,
    /// RXG-17 with RXG-18: drug amount in the container.
    pub strength: Option<Quantity>,
    /// RXG-23 with RXG-24: the volume that amount is dissolved in.
    pub strength_volume: Option<Quantity>,
    /// RXR-1.
    pub route: Coded,
    /// The pump the order is for (OBX-18, usually on the MDC_DEV_PUMP_INFUS_VMD OBX).
    pub pump: Option<EntityId>,
    /// MDC_ATTR_PT_WEIGHT, when sent.
    pub weight: Option<Quantity>,
}

impl InfusionOrder {
    pub fn from_message(m: &Message<'_>) -> Result<InfusionOrder, ViewError> {
        expect(m, Transaction::InfusionOrder)?;
        let rxg = m
            .segment("RXG", 1)
            .ok_or_else(|| missing("RXG", "an infusion order needs an RXG segment"))?;
        let drug = Coded::from_value(rxg.field(4));
        if drug.is_empty() {
            return Err(missing("RXG-4", "the give code (drug) is empty"));
        }
        let orc = m.segment("ORC", 1);
        let orc_t = |f: usize| {
            orc.map(|s| s.field(f).text().into_owned())
                .unwrap_or_default()
        };
        let obs = observations(m);
        let pump = find(&obs, 69986)
            .and_then(|o| o.equipment.first().cloned())
            .or_else(|| first_device(&obs));
        Ok(InfusionOrder {
            control_id: m.control_id().into_owned(),
            sender: m.msh().field(3).text().into_owned(),
            patient: Patient::from_message(m),
            order_control: orc_t(1),
            placer_order: orc_t(2),
            drug,
            volume: Quantity::from(rxg.field(5), rxg.field(7)),
            rate: Quantity::from(rxg.field(15), rxg.field(16)),
            strength: Quantity::from(rxg.field(17), rxg.field(18)),
            strength_volume: Quantity::from(rxg.field(23), rxg.field(24)),
            route: m
                .segment("RXR", 1)
                .map(|s| Coded::from_value(s.field(1)))
                .unwrap_or_default(),
            pump,
            weight: find(&obs, 68063).and_then(Observation::quantity),
        })
    }
}

/// One ERR segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckError {
    /// ERR-3, HL7 error code (table 0357).
    pub code: Coded,
    /// ERR-4: E, W, I or F.
    pub severity: String,
    /// ERR-5, application error code.
    pub application_error: Coded,
    /// ERR-8, user message.
    pub user_message: String,
}

/// ACK^O15 or RRG^O16 answering a PCD-03 order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAck {
    pub control_id: String,
    /// MSA-1: CA/CR/CE (accept) or AA/AE/AR (application).
    pub code: String,
    /// MSA-2: control id of the order acknowledged.
    pub acknowledges: String,
    pub errors: Vec<AckError>,
}

impl OrderAck {
    pub fn from_message(m: &Message<'_>) -> Result<OrderAck, ViewError> {
        if !matches!(
            Transaction::of(m),
            Transaction::OrderAccept
                | Transaction::OrderApplicationAck
                | Transaction::DeviceDataAck
                | Transaction::Ack
        ) {
            expect(m, Transaction::OrderAccept)?;
        }
        let msa = m
            .segment("MSA", 1)
            .ok_or_else(|| missing("MSA", "an acknowledgement needs an MSA segment"))?;
        let errors = m
            .segments()
            .filter(|s| s.id() == "ERR")
            .map(|s| AckError {
                code: Coded::from_value(s.field(3)),
                severity: s.field(4).text().into_owned(),
                application_error: Coded::from_value(s.field(5)),
                user_message: s.field(8).text().into_owned(),
            })
            .collect();
        Ok(OrderAck {
            control_id: m.control_id().into_owned(),
            code: msa.field(1).text().into_owned(),
            acknowledges: msa.field(2).text().into_owned(),
            errors,
        })
    }

    /// True for CA and AA.
    pub fn accepted(&self) -> bool {
        matches!(self.code.as_str(), "CA" | "AA")
    }
}

/// PCD-04: an alarm reported through the alarm manager.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub control_id: String,
    pub patient: Option<Patient>,
    /// OBR-2-1, the alert's unique id.
    pub alert_id: String,
    /// The alarm condition: OBX-5 of the MDC_EVT_ALARM observation.
    pub event: Coded,
    /// MDC_ATTR_ALERT_SOURCE.
    pub source: Coded,
    /// MDC_ATTR_EVENT_PHASE: start, continue, end…
    pub phase: String,
    /// MDC_ATTR_ALARM_STATE: active, inactive…
    pub state: String,
    pub inactivation_state: String,
    /// OBX-18 of the alarm observation.
    pub device: Option<EntityId>,
    /// OBR-7.
    pub time: String,
}

impl Alarm {
    pub fn from_message(m: &Message<'_>) -> Result<Alarm, ViewError> {
        expect(m, Transaction::Alarm)?;
        let obs = observations(m);
        let alarm =
            find(&obs, 196616).ok_or_else(|| missing("OBX-3", "no MDC_EVT_ALARM observation"))?;
        // The inactivation-state OBX sometimes lacks its coding system (see the IHE
        // examples), so it is matched by code alone.
        let by_code = |code: &str| obs.iter().find(|o| o.identifier.code == code);
        let text = |code| by_code(code).map(|o| o.value.clone()).unwrap_or_default();
        let obr = m.segment("OBR", 1);
        Ok(Alarm {
            control_id: m.control_id().into_owned(),
            patient: Patient::from_message(m),
            alert_id: obr
                .map(|s| s.field(2).text().into_owned())
                .unwrap_or_default(),
            event: alarm.coded_value.clone(),
            source: by_code("68480")
                .map(|o| o.coded_value.clone())
                .unwrap_or_default(),
            phase: text("68481"),
            state: text("68482"),
            inactivation_state: text("68483"),
            device: alarm
                .equipment
                .first()
                .cloned()
                .or_else(|| first_device(&obs)),
            time: obr
                .map(|s| s.field(7).text().into_owned())
                .unwrap_or_default(),
        })
    }
}

/// PCD-10: an infusion event (delivery started, paused, completed…).
#[derive(Debug, Clone, PartialEq)]
pub struct InfusionEvent {
    pub control_id: String,
    pub patient: Option<Patient>,
    /// OBR-2-1: the order (PCD-03 placer id) this event belongs to.
    pub order: String,
    /// MDC_ATTR_EVT_COND, e.g. MDC_EVT_PUMP_DELIV_START.
    pub event: Coded,
    pub drug_name: String,
    /// MDC_FLOW_FLUID_PUMP.
    pub rate: Option<Quantity>,
    /// MDC_RATE_DOSE.
    pub dose_rate: Option<Quantity>,
    /// MDC_VOL_FLUID_TBI.
    pub volume_to_infuse: Option<Quantity>,
    /// MDC_VOL_FLUID_DELIV_TOTAL.
    pub volume_delivered: Option<Quantity>,
    pub library_version: String,
    pub care_area: String,
    pub device: Option<EntityId>,
}

impl InfusionEvent {
    pub fn from_message(m: &Message<'_>) -> Result<InfusionEvent, ViewError> {
        expect(m, Transaction::InfusionEvent)?;
        let obs = observations(m);
        let event = find(&obs, 68487)
            .ok_or_else(|| missing("OBX-3", "no MDC_ATTR_EVT_COND observation"))?;
        let text = |code| {
            find(&obs, code)
                .map(|o| o.value.clone())
                .unwrap_or_default()
        };
        let qty = |code| find(&obs, code).and_then(Observation::quantity);
        Ok(InfusionEvent {
            control_id: m.control_id().into_owned(),
            patient: Patient::from_message(m),
            order: m
                .segment("OBR", 1)
                .map(|s| s.field(2).text().into_owned())
                .unwrap_or_default(),
            event: event.coded_value.clone(),
            drug_name: text(184514),
            rate: qty(157784).or_else(|| qty(158014)),
            dose_rate: qty(157924),
            volume_to_infuse: qty(157884),
            volume_delivered: qty(157993),
            library_version: text(184517),
            care_area: text(184516),
            device: first_device(&obs),
        })
    }
}

/// Accept acknowledgement codes (MSA-1 of ACK^O15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptCode {
    /// CA: commit accept.
    Accept,
    /// CE: commit error.
    Error,
    /// CR: commit reject.
    Reject,
}

/// Application acknowledgement codes (MSA-1 of RRG^O16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationCode {
    /// AA: application accept.
    Accept,
    /// AE: application error.
    Error,
    /// AR: application reject.
    Reject,
}

/// An error to report in an ERR segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSpec {
    /// HL7 table 0357 code and text, e.g. `207`, `Application internal error`.
    pub hl7_code: String,
    pub hl7_text: String,
    /// `E`, `W`, `I` or `F`.
    pub severity: char,
    /// Application error code and text, e.g. `9010`, `Unable to match medication…`.
    pub app_code: String,
    pub app_text: String,
}

/// What a reply's header needs besides the order itself.
#[derive(Debug, Clone, Copy)]
pub struct ReplyHeader<'s> {
    /// MSH-7, an HL7 DTM such as `20261129013000+0000`.
    pub time: &'s str,
    /// MSH-10 of the reply.
    pub control_id: &'s str,
}

/// ACK^O15 for `order`, as the pump server sends it on the same connection.
pub fn accept_ack(order: &Message<'_>, code: AcceptCode, header: ReplyHeader<'_>) -> String {
    let code = match code {
        AcceptCode::Accept => "CA",
        AcceptCode::Error => "CE",
        AcceptCode::Reject => "CR",
    };
    reply(order, ["ACK", "O15", "ACK"], false, code, &[], header)
}

/// An enhanced-mode commit acknowledgement (`ACK^<trigger>^ACK`, MSA-1 `CA`/`CE`/`CR`) for
/// any message whose MSH-15 asks for one, e.g. the alarm manager's answer to PCD-04.
pub fn commit_ack(message: &Message<'_>, code: AcceptCode, header: ReplyHeader<'_>) -> String {
    let code = match code {
        AcceptCode::Accept => "CA",
        AcceptCode::Error => "CE",
        AcceptCode::Reject => "CR",
    };
    let (_, event, _) = message.message_type();
    reply(message, ["ACK", &event, "ACK"], false, code, &[], header)
}

/// An original-mode ACK (`ACK^<trigger>^ACK`, MSA-1 `AA`/`AE`/`AR`) for any message, e.g.
/// the EHR's answer to PCD-01 device data.
pub fn original_ack(
    message: &Message<'_>,
    code: ApplicationCode,
    header: ReplyHeader<'_>,
) -> String {
    let code = match code {
        ApplicationCode::Accept => "AA",
        ApplicationCode::Error => "AE",
        ApplicationCode::Reject => "AR",
    };
    let (_, event, _) = message.message_type();
    reply(message, ["ACK", &event, "ACK"], false, code, &[], header)
}

/// RRG^O16 for `order`, with one ERR per error.
pub fn application_ack(
    order: &Message<'_>,
    code: ApplicationCode,
    errors: &[ErrorSpec],
    header: ReplyHeader<'_>,
) -> String {
    let code = match code {
        ApplicationCode::Accept => "AA",
        ApplicationCode::Error => "AE",
        ApplicationCode::Reject => "AR",
    };
    reply(order, ["RRG", "O16", "RRG_O16"], true, code, errors, header)
}

fn reply(
    order: &Message<'_>,
    kind: [&str; 3],
    app_ack: bool,
    code: &str,
    errors: &[ErrorSpec],
    h: ReplyHeader<'_>,
) -> String {
    let d = *order.delimiters();
    let msh = order.msh();
    // Header fields are copied in their escaped form: the reply uses the same delimiters.
    let raw = |f: usize| String::from_utf8_lossy(msh.field(f).raw()).into_owned();
    let fs = char::from(d.field);
    let cs = char::from(d.component);
    let esc = |s: &str| escape(s, &d).into_owned();
    let kind = kind.map(esc).join(&cs.to_string());
    let mut out = String::with_capacity(256);
    let fields = [
        d.encoding_characters(),
        raw(5),
        raw(6),
        raw(3),
        raw(4),
        esc(h.time),
        String::new(),
        kind,
        esc(h.control_id),
        raw(11),
        raw(12),
        String::new(),
        String::new(),
        if app_ack {
            "AL".to_string()
        } else {
            String::new()
        },
        if app_ack {
            "NE".to_string()
        } else {
            String::new()
        },
        String::new(),
        raw(18),
        raw(19),
        String::new(),
        raw(21),
    ];
    out.push_str("MSH");
    out.push(fs);
    out.push_str(&fields.join(&fs.to_string()));
    let trimmed = out.trim_end_matches(fs).len();
    out.truncate(trimmed);
    let _ = write!(out, "\rMSA{fs}{code}{fs}{}", esc(&order.control_id()));
    for e in errors {
        let _ = write!(
            out,
            "\rERR{fs}{fs}{fs}{}{cs}{}{cs}HL70357{fs}{}{fs}{}{cs}{}",
            esc(&e.hl7_code),
            esc(&e.hl7_text),
            e.severity,
            esc(&e.app_code),
            esc(&e.app_text)
        );
    }
    out.push('\r');
    out
}

#[cfg(test)]
mod tests {
    use super::Transaction;

    #[test]
    fn transaction_names_are_what_debug_prints() {
        for t in [
            Transaction::DeviceData,
            Transaction::InfusionOrder,
            Transaction::OrderAccept,
            Transaction::OrderApplicationAck,
            Transaction::DeviceDataAck,
            Transaction::Alarm,
            Transaction::InfusionEvent,
            Transaction::Ack,
            Transaction::Other,
        ] {
            assert_eq!(t.name(), format!("{t:?}"));
        }
    }

    use super::*;

    const ORDER: &[u8] = b"MSH|^~\\&|IOP^1^EUI-64|IOPF|IOC^2^EUI-64|IOCF|20080101123456-0600||RGV^O15^RGV_O15|7|P|2.6|||AL|ER||ASCII|EN^English^ISO639||IHE_PCD_PIV_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.3.1^ISO\r\
PID|||98765^^^IHE^PI||Doe^John^^^^^L||19660101|M\r\
ORC|NW|12345\r\
RXG|1|||1234^Dopamine|250||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||10|3475^ug/kg/min^UCUM^265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC|400|1746^mg^UCUM\r\
RXR|IV||IVP|IV\r\
OBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC||||||||X|||||||^^A0001^PUMPVENDOR\r\
OBX|2|NM|68063^MDC_ATTR_PT_WEIGHT^MDC||85.0|kg^kg^UCUM\r";

    #[test]
    fn order_view() {
        let m = Message::parse(ORDER).unwrap();
        let o = InfusionOrder::from_message(&m).unwrap();
        assert_eq!(
            (o.drug.code.as_str(), o.drug.text.as_str()),
            ("1234", "Dopamine")
        );
        let rate = o.rate.unwrap();
        assert_eq!(
            (rate.value, rate.unit.ucum(), rate.unit.mdc()),
            (Some(10.0), "ug/kg/min", Some(265619))
        );
        assert_eq!(o.volume.unwrap().value, Some(250.0));
        assert_eq!(o.strength.unwrap().unit.ucum(), "mg");
        assert_eq!(o.pump.unwrap().best(), "A0001");
        assert_eq!(o.weight.unwrap().value, Some(85.0));
        assert_eq!(o.patient.unwrap().id, "98765");
        assert_eq!(o.route.code, "IV");
        assert!(DeviceData::from_message(&m).is_err());
    }

    #[test]
    fn replies_answer_the_order() {
        let m = Message::parse(ORDER).unwrap();
        let header = ReplyHeader {
            time: "20261129013000+0000",
            control_id: "R|1",
        };
        let ack = accept_ack(&m, AcceptCode::Accept, header);
        let a = Message::parse(ack.as_bytes()).unwrap();
        assert_eq!(Transaction::of(&a), Transaction::OrderAccept);
        assert_eq!(a.control_id(), "R|1");
        let v = OrderAck::from_message(&a).unwrap();
        assert_eq!((v.code.as_str(), v.acknowledges.as_str()), ("CA", "7"));
        assert!(v.accepted());
        let err = ErrorSpec {
            hl7_code: "207".into(),
            hl7_text: "Application internal error".into(),
            severity: 'E',
            app_code: "9010".into(),
            app_text: "Rate 30 ug/kg/min > hard max 25".into(),
        };
        let rrg = application_ack(&m, ApplicationCode::Reject, &[err], header);
        let r = Message::parse(rrg.as_bytes()).unwrap();
        assert_eq!(Transaction::of(&r), Transaction::OrderApplicationAck);
        assert_eq!(r.get(&"MSH-3-2".parse().unwrap()), "2");
        assert_eq!(r.get(&"MSH-15".parse().unwrap()), "AL");
        assert_eq!(
            r.get(&"MSH-21-3".parse().unwrap()),
            "1.3.6.1.4.1.19376.1.6.1.3.1"
        );
        let v = OrderAck::from_message(&r).unwrap();
        assert_eq!(v.code, "AR");
        let oru = Message::parse(b"MSH|^~\\&|S|F|R|F|2026||ORU^R01^ORU_R01|9|P|2.6\r").unwrap();
        let text = original_ack(&oru, ApplicationCode::Accept, header);
        let a = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(Transaction::of(&a), Transaction::DeviceDataAck);
        assert_eq!(a.get(&"MSA-2".parse().unwrap()), "9");
        let text = commit_ack(&oru, AcceptCode::Accept, header);
        let c = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(c.get(&"MSH-9-2".parse().unwrap()), "R01");
        assert_eq!(c.get(&"MSA-1".parse().unwrap()), "CA");
        assert_eq!(
            v.errors[0].application_error.text,
            "Rate 30 ug/kg/min > hard max 25"
        );
        assert!(!v.accepted());
    }
}
