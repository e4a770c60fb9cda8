//! HL7 v2 on TCP, MLLP-framed or bare: one [`Hl7Summary`] per message — who sends what
//! to whom, the IHE PCD transaction, whether it carries patient data (PHI), the devices
//! it names, and for infusion orders the drug and rate a pump is told to run.
//!
//! Parsing is `pumpguard-hl7`'s (zero-copy, never panics); this module only frames
//! the stream and summarises. [`MllpStream`] frames each direction with at most
//! [`MAX_FRAME`] bytes buffered; bare HL7 (a stream starting `MSH|`) has no end marker,
//! so a bare message is cut at the next `MSH` segment or when the peer answers it.

use pumpguard_hl7::Message;
use pumpguard_hl7::mllp::{CR, END, START};
use pumpguard_hl7::pcd::{InfusionOrder, Transaction};

use crate::Side;
use crate::text::{printable, printable_max};

/// Largest MLLP frame (or bare message) buffered; bigger ones are skipped.
pub const MAX_FRAME: usize = 1 << 20;
/// A direction keeps at most this much buffer between messages.
const KEPT_BUFFER: usize = 64 * 1024;

/// What one HL7 message says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hl7Summary {
    /// Sent by the server side of the connection (the one that accepted it).
    pub from_server: bool,
    /// Carried in an MLLP block (else bare HL7 on TCP).
    pub framed: bool,
    /// MSH-9.1, e.g. `ORU`.
    pub message_code: String,
    /// MSH-9.2, e.g. `R01`.
    pub trigger_event: String,
    /// MSH-9.3, e.g. `ORU_R01`.
    pub structure: String,
    /// MSH-10.
    pub control_id: String,
    /// MSH-12.
    pub version: String,
    /// MSH-3..MSH-6 as written, components included (`PUMPSRV^0123456789ABCDEF^EUI-64`).
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    /// The IHE PCD transaction (`PCD-01`, `PCD-03`, `PCD-04`, `PCD-10`).
    pub pcd: Option<&'static str>,
    /// `pumpguard_hl7::pcd::Transaction` as text (`DeviceData`, `InfusionOrder`…).
    pub transaction: &'static str,
    /// Patient-identifying data present (see `phi_segments`).
    pub phi: bool,
    /// Segments carrying patient data: PID with a name, id or birth date; NK1, PD1,
    /// PV1, GT1, IN1, MRG with any field.
    pub phi_segments: Vec<String>,
    /// PID-3 holds an identifier.
    pub patient_id_present: bool,
    /// Direct identifiers present (`PID-5` name, `PID-7` birth date, `PID-11` address,
    /// `PID-13`/`PID-14` phones, `PID-19` SSN, `NK1-2`/`NK1-4` next of kin), in order.
    pub direct_identifiers: Vec<String>,
    /// Device identifiers (EUI-64 where given) from OBX-18 and PRT-10/PRT-16.
    pub device_ids: Vec<String>,
    /// For RGV^O15: what the pump is told to infuse.
    pub order: Option<OrderSummary>,
    /// The drug library a device reports (an OBX `MDC_PUMP_DRUG_LIBRARY_VERSION`, as in
    /// the PCD-10 infusion events of ORU^R42).
    pub library: Option<LibrarySummary>,
    /// MSA-1 for acknowledgements (ACK, RRG…).
    pub ack_code: Option<String>,
    /// Segment ids in order.
    pub segments: Vec<std::borrow::Cow<'static, str>>,
    /// Why the message did not parse (then only `framed` and this are set).
    pub error: Option<String>,
}

/// The programming of a PCD-03 infusion order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OrderSummary {
    pub drug_code: String,
    pub drug_text: String,
    pub rate: Option<String>,
    pub rate_value: Option<f64>,
    pub rate_units: Option<String>,
    pub volume: Option<String>,
    pub volume_units: Option<String>,
    pub pump: Option<String>,
}

/// A drug-library version a message reports, and the device it is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LibrarySummary {
    /// OBX-5 of the first `184517^MDC_PUMP_DRUG_LIBRARY_VERSION` observation, as written.
    pub version: String,
    /// OBX-5 of `184516^MDC_PUMP_DRUG_LIBRARY_CARE_AREA`, when the message gives one.
    pub care_area: Option<String>,
    /// The device (EUI-64 where given): the version observation's own OBX-18, else the
    /// first OBX-18 of the message (in IHE PCD messages, the pump's MDS). `None` when
    /// the message names no device: the sender reports its own library.
    pub device: Option<String>,
}

/// Longest library version or care area kept.
const MAX_LIBRARY_TEXT: usize = 128;

const PHI_SEGMENTS: [&str; 7] = ["PID", "NK1", "PD1", "PV1", "GT1", "IN1", "MRG"];

/// True when `data` starts like HL7 on TCP: an MLLP start block followed by `MSH`, or
/// bare `MSH|`. Leading whitespace is allowed.
pub fn looks_like(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let d = data.get(start..).unwrap_or(&[]);
    d.starts_with(&[START, b'M', b'S', b'H']) || d.starts_with(b"MSH|")
}

/// Whether `data` could still become [`looks_like`] with more bytes.
pub fn may_become(data: &[u8]) -> bool {
    let d = data.trim_ascii_start();
    let framed: &[u8] = &[START, b'M', b'S', b'H'];
    framed.starts_with(d) || b"MSH|".starts_with(d) || looks_like(data)
}

/// Summarises one HL7 message.
pub fn summarise(raw: &[u8], framed: bool, from_server: bool) -> Hl7Summary {
    let mut s = Hl7Summary {
        from_server,
        framed,
        message_code: String::new(),
        trigger_event: String::new(),
        structure: String::new(),
        control_id: String::new(),
        version: String::new(),
        sending_application: String::new(),
        sending_facility: String::new(),
        receiving_application: String::new(),
        receiving_facility: String::new(),
        pcd: None,
        transaction: "",
        phi: false,
        phi_segments: Vec::new(),
        patient_id_present: false,
        direct_identifiers: Vec::new(),
        device_ids: Vec::new(),
        order: None,
        library: None,
        ack_code: None,
        segments: Vec::new(),
        error: None,
    };
    let m = match Message::parse(raw) {
        Ok(m) => m,
        Err(e) => {
            // A frame may hold several messages back to back: summarise the first.
            match pumpguard_hl7::parse_messages(raw).next() {
                Some(Ok(m)) => m,
                _ => {
                    s.error = Some(e.to_string());
                    return s;
                }
            }
        }
    };
    // What `Message::message_type`, `control_id` and `version` read, from one scan.
    let msh = m.msh().fields();
    let kind = msh.get(9);
    s.message_code = kind.component(1).text().into_owned();
    s.trigger_event = kind.component(2).text().into_owned();
    s.structure = kind.component(3).text().into_owned();
    s.control_id = msh.get(10).text().into_owned();
    s.version = msh.get(12).component(1).text().into_owned();
    let whole = |n: usize| printable(msh.get(n).repetition(1).raw());
    s.sending_application = whole(3);
    s.sending_facility = whole(4);
    s.receiving_application = whole(5);
    s.receiving_facility = whole(6);
    let t = Transaction::from_type(&s.message_code, &s.trigger_event);
    s.pcd = t.pcd();
    s.transaction = t.name();
    let mut first_device: Option<String> = None;
    let mut care_area: Option<String> = None;
    let escape = m.delimiters().escape;
    for seg in m.segments() {
        let id = seg.id();
        if s.segments.len() < 256 {
            s.segments.push(segment_name(id));
        }
        // Each field below is read from one scan of the segment.
        let fields = seg.fields();
        let identifiers: &[usize] = match id {
            "PID" => &[5, 7, 11, 13, 14, 19],
            "NK1" => &[2, 4],
            _ => &[],
        };
        for &n in identifiers {
            if !fields.get(n).is_empty() && s.direct_identifiers.len() < 16 {
                let name = format!("{id}-{n}");
                if !s.direct_identifiers.contains(&name) {
                    s.direct_identifiers.push(name);
                }
            }
        }
        if PHI_SEGMENTS.contains(&id) {
            let present = if id == "PID" {
                let pid3 = !fields.get(3).is_empty();
                s.patient_id_present |= pid3;
                pid3 || !fields.get(5).is_empty() || !fields.get(7).is_empty()
            } else {
                seg.has_data()
            };
            if present && !s.phi_segments.iter().any(|p| p == id) {
                s.phi_segments.push(id.to_string());
            }
        }
        let device_fields: &[usize] = match id {
            "OBX" => &[18],
            "PRT" => &[10, 16],
            _ => &[],
        };
        for &f in device_fields {
            let field = fields.get(f);
            if field.is_empty() {
                continue;
            }
            for r in 1..=field.count().min(16) {
                let device = equipment_id(field.repetition(r));
                if device.is_empty() {
                    continue;
                }
                if id == "OBX" && first_device.is_none() {
                    first_device = Some(device.to_string());
                }
                if s.device_ids.len() < 64 && !s.device_ids.iter().any(|d| *d == *device) {
                    s.device_ids.push(device.into_owned());
                }
            }
        }
        if id == "OBX" {
            library_observation(&fields, escape, &mut s.library, &mut care_area);
        }
        if id == "MSA" && s.ack_code.is_none() {
            s.ack_code = Some(fields.get(1).text().into_owned());
        }
    }
    s.phi = !s.phi_segments.is_empty();
    if let Some(lib) = &mut s.library {
        lib.care_area = care_area;
        if lib.device.is_none() {
            lib.device = first_device;
        }
    }
    if t == Transaction::InfusionOrder
        && let Ok(o) = InfusionOrder::from_message(&m)
    {
        s.order = Some(OrderSummary {
            drug_code: o.drug.code.clone(),
            drug_text: o.drug.text.clone(),
            rate: o.rate.as_ref().map(|q| q.text.clone()),
            rate_value: o.rate.as_ref().and_then(|q| q.value),
            rate_units: o.rate.as_ref().map(|q| q.unit.ucum().to_string()),
            volume: o.volume.as_ref().map(|q| q.text.clone()),
            volume_units: o.volume.as_ref().map(|q| q.unit.ucum().to_string()),
            pump: o.pump.as_ref().map(|p| p.best().to_string()),
        });
    }
    s
}

/// A segment's id as kept in a summary: the segments of IHE PCD and ADT messages
/// without an allocation each, others copied.
fn segment_name(id: &str) -> std::borrow::Cow<'static, str> {
    const KNOWN: [&str; 24] = [
        "MSH", "PID", "PV1", "OBR", "OBX", "ORC", "RXG", "RXR", "TQ1", "TQ2", "MSA", "ERR", "NTE",
        "PRT", "EVN", "NK1", "PD1", "AL1", "SFT", "RXE", "RXC", "ROL", "MRG", "PV2",
    ];
    match KNOWN.iter().find(|k| **k == id) {
        Some(k) => std::borrow::Cow::Borrowed(k),
        None => std::borrow::Cow::Owned(id.to_owned()),
    }
}

/// An equipment instance identifier (EI, in OBX-18 and PRT-10/16): the universal id
/// (an EUI-64 in IHE PCD) when given, else the entity identifier; trimmed.
fn equipment_id(ei: pumpguard_hl7::Value<'_>) -> std::borrow::Cow<'_, str> {
    fn trimmed(c: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
        match c {
            std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(b.trim()),
            std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(o.trim().to_owned()),
        }
    }
    let universal = trimmed(ei.component(3).text());
    if universal.is_empty() {
        trimmed(ei.component(1).text())
    } else {
        universal
    }
}

/// Reads an OBX that reports a drug library's version (184517) or care area (184516),
/// by its MDC code in either triplet of OBX-3.
fn library_observation(
    seg: &pumpguard_hl7::Fields<'_>,
    escape: Option<u8>,
    library: &mut Option<LibrarySummary>,
    care_area: &mut Option<String>,
) {
    let obx3 = seg.get(3);
    // Most OBX are not these two: a code that parses as either holds "18451" in its
    // text, and without escape sequences the text is the raw bytes (the character sets
    // read are ASCII-compatible). Decoding every OBX-3 was a fifth of the summary.
    let raw = obx3.raw();
    if escape.is_none_or(|e| !raw.contains(&e)) && memchr::memmem::find(raw, b"18451").is_none() {
        return;
    }
    let mdc = |code: usize, system: usize| {
        (obx3.component(system).text().trim() == "MDC")
            .then(|| obx3.component(code).text().trim().parse::<u32>().ok())
            .flatten()
    };
    let Some(code) = mdc(1, 3).or_else(|| mdc(4, 6)) else {
        return;
    };
    let value = || {
        let v = printable_max(seg.get(5).component(1).text().as_bytes(), MAX_LIBRARY_TEXT);
        (!v.is_empty()).then_some(v)
    };
    match code {
        184517 if library.is_none() => {
            if let Some(version) = value() {
                let device = equipment_id(seg.get(18).repetition(1));
                *library = Some(LibrarySummary {
                    version,
                    care_area: None,
                    device: (!device.is_empty()).then(|| device.into_owned()),
                });
            }
        }
        184516 if care_area.is_none() => *care_area = value(),
        _ => {}
    }
}

#[derive(Debug, Default)]
struct Direction {
    /// Inside an MLLP block (framed) or a bare message.
    in_message: bool,
    /// Bare HL7 (no MLLP) on this direction.
    bare: bool,
    /// The current frame or bare message was too large and is being skipped.
    skipping: bool,
    buf: Vec<u8>,
}

/// Frames and summarises both directions of an HL7 connection.
#[derive(Debug, Default)]
pub struct MllpStream {
    dirs: [Direction; 2],
}

impl MllpStream {
    pub fn new() -> MllpStream {
        MllpStream::default()
    }

    pub fn on_data(&mut self, side: Side, data: &[u8], out: &mut Vec<Hl7Summary>) {
        // Bare HL7 has no end marker: a message is complete when the peer answers it.
        if let Some(peer) = self.dirs.get_mut(side.peer().index())
            && peer.bare
            && !peer.skipping
            && !peer.buf.is_empty()
            && !data.is_empty()
        {
            out.push(summarise(
                &std::mem::take(&mut peer.buf),
                false,
                side == Side::Client,
            ));
        }
        let Some(dir) = self.dirs.get_mut(side.index()) else {
            return;
        };
        if !dir.in_message && !dir.bare && dir.buf.is_empty() {
            let first = data.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'M') {
                dir.bare = true;
            }
        }
        let from_server = side == Side::Server;
        if dir.bare {
            dir.feed_bare(data, from_server, out);
        } else {
            dir.feed_framed(data, from_server, out);
        }
    }

    /// A hole in `side`'s stream: the partial message is dropped; framed streams
    /// resynchronise on the next start block, bare ones on the next `MSH` segment.
    pub fn on_gap(&mut self, side: Side) {
        if let Some(dir) = self.dirs.get_mut(side.index()) {
            dir.buf = Vec::new();
            dir.in_message = false;
            dir.skipping = dir.bare;
        }
    }
}

impl Direction {
    /// Empties the buffer, keeping a small one's memory for the next message.
    fn release(&mut self) {
        if self.buf.capacity() > KEPT_BUFFER {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.buf.len().saturating_add(bytes.len()) > MAX_FRAME {
            self.skipping = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn feed_framed(&mut self, mut data: &[u8], from_server: bool, out: &mut Vec<Hl7Summary>) {
        while !data.is_empty() {
            if !self.in_message {
                let Some(s) = memchr::memchr(START, data) else {
                    return;
                };
                data = data.get(s + 1..).unwrap_or(&[]);
                self.in_message = true;
                self.skipping = false;
                self.buf.clear();
                continue;
            }
            match memchr::memchr2(END, START, data) {
                Some(k) => {
                    let (body, rest) = data.split_at(k);
                    if rest.first() == Some(&START) {
                        // A new block before this one ended: drop the partial one.
                        self.in_message = false;
                        self.buf.clear();
                        data = rest;
                        continue;
                    }
                    // A block wholly inside this segment (the usual case) is read where
                    // it is; one that spans segments from what was gathered.
                    let whole = self.buf.is_empty() && !self.skipping && body.len() <= MAX_FRAME;
                    if !whole {
                        self.push(body);
                    }
                    let content: &[u8] = if whole { body } else { &self.buf };
                    if !self.skipping && !is_commit_ack(content) {
                        out.push(summarise(content, true, from_server));
                    }
                    self.release();
                    self.in_message = false;
                    self.skipping = false;
                    data = rest.get(1..).unwrap_or(&[]);
                    if data.first() == Some(&CR) {
                        data = data.get(1..).unwrap_or(&[]);
                    }
                }
                None => {
                    self.push(data);
                    return;
                }
            }
        }
    }

    fn feed_bare(&mut self, data: &[u8], from_server: bool, out: &mut Vec<Hl7Summary>) {
        if self.skipping {
            // After a gap or an over-long message: wait for the next MSH segment.
            let Some(at) = memchr::memmem::find(data, b"\rMSH|")
                .or_else(|| memchr::memmem::find(data, b"\nMSH|"))
            else {
                return;
            };
            self.skipping = false;
            self.buf.clear();
            return self.feed_bare(data.get(at + 1..).unwrap_or(&[]), from_server, out);
        }
        let from = self.buf.len();
        self.push(data);
        if self.skipping {
            self.buf = Vec::new();
            return;
        }
        // Every "MSH|" at a segment start after the first begins a new message.
        let mut search_from = from.saturating_sub(4).max(1);
        loop {
            let Some(at) = next_msh(&self.buf, search_from) else {
                return;
            };
            search_from = 1;
            let rest = self.buf.split_off(at);
            let msg = std::mem::replace(&mut self.buf, rest);
            out.push(summarise(&msg, false, from_server));
        }
    }
}

fn is_commit_ack(content: &[u8]) -> bool {
    matches!(content, [0x06] | [0x15])
}

/// Offset of the next `MSH` that follows a segment terminator, at or after `from`.
fn next_msh(buf: &[u8], from: usize) -> Option<usize> {
    let hay = buf.get(from..)?;
    memchr::memmem::find_iter(hay, b"MSH")
        .map(|i| from + i)
        .find(|&i| i > 0 && matches!(buf.get(i - 1), Some(b'\r' | b'\n')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = "MSH|^~\\&|BCMA^0011223344556677^EUI-64|HOSP|PUMPSRV^0123456789ABCDEF^EUI-64||20261129||RGV^O15^RGV_O15|MSG0001|P|2.6\rPID|||12345^^^HOSP^MR||Doe^Jane\rORC|NW|ORD1\rRXG|1|||HEP25^Heparin 25000 units/250 mL^LOCAL|250||mL^mL^UCUM||||||||18|mL/h^mL/h^UCUM\rOBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|||||||||||||||^^ABCDEF0123456789^EUI-64\r";

    #[test]
    fn frame_split_across_segments() {
        let mut framed = vec![START];
        framed.extend_from_slice(ORDER.as_bytes());
        framed.extend_from_slice(&[END, CR, START, 0x06, END, CR]);
        let mut s = MllpStream::new();
        let mut out = Vec::new();
        for c in framed.chunks(17) {
            s.on_data(Side::Client, c, &mut out);
        }
        assert_eq!(out.len(), 1);
        let m = &out[0];
        assert!(m.framed && m.phi && m.patient_id_present && !m.from_server);
        assert_eq!(m.sending_application, "BCMA^0011223344556677^EUI-64");
        assert_eq!(m.receiving_application, "PUMPSRV^0123456789ABCDEF^EUI-64");
        assert_eq!(m.pcd, Some("PCD-03"));
        assert_eq!(m.device_ids, vec!["ABCDEF0123456789"]);
        assert_eq!(m.phi_segments, vec!["PID"]);
        let o = m.order.as_ref().expect("an RGV^O15 has an order");
        assert_eq!(
            (o.drug_code.as_str(), o.drug_text.as_str()),
            ("HEP25", "Heparin 25000 units/250 mL")
        );
        assert_eq!((o.rate.as_deref(), o.rate_value), (Some("18"), Some(18.0)));
        assert_eq!(o.rate_units.as_deref(), Some("mL/h"));
        assert_eq!(o.pump.as_deref(), Some("ABCDEF0123456789"));
    }

    #[test]
    fn frames_read_in_place_or_gathered_summarise_alike() {
        // Three blocks (one a commit ACK, one cut off by a new start block) cut at every
        // offset: frames inside one segment are read in place, the rest gathered.
        let mut stream = vec![START];
        stream.extend_from_slice(ORDER.as_bytes());
        stream.extend_from_slice(&[END, CR, START, 0x06, END, CR, START]);
        stream.extend_from_slice(b"MSH|^~\\&|TORN");
        stream.push(START);
        stream.extend_from_slice(ORDER.replace("MSG0001", "MSG0002").as_bytes());
        stream.extend_from_slice(&[END, CR]);
        let read = |cuts: &[usize]| {
            let mut s = MllpStream::new();
            let mut out = Vec::new();
            let mut from = 0;
            for &at in cuts.iter().chain([&stream.len()]) {
                s.on_data(Side::Client, &stream[from..at], &mut out);
                from = at;
            }
            out.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>()
        };
        let whole = read(&[]);
        assert_eq!(whole.len(), 2);
        assert!(whole[1].contains("MSG0002"));
        for at in 0..=stream.len() {
            assert_eq!(read(&[at]), whole, "cut at {at}");
        }
    }

    #[test]
    fn bare_messages_and_gap() {
        let two = format!("{ORDER}{}", ORDER.replace("MSG0001", "MSG0002"));
        let mut s = MllpStream::new();
        let mut out = Vec::new();
        s.on_data(Side::Client, two.as_bytes(), &mut out);
        assert_eq!(out.len(), 1);
        s.on_data(Side::Server, b"MSH|^~\\&|PUMPSRV|", &mut out);
        assert_eq!(out.len(), 2, "the peer's answer completes the bare message");
        assert!(!out[1].framed);
        assert_eq!(out[1].control_id, "MSG0002");
    }

    #[test]
    fn infusion_event_reports_the_library_and_the_pump() {
        let event = "MSH|^~\\&|PUMPSRV^0050561EFFFE000C^EUI-64|PHARM|EHR|HOSP|20261102080000||ORU^R42^ORU_R01|S1|P|2.6\r\
            OBX|1||70049^MDC_DEV_PUMP_INFUS_LVP_MDS^MDC|1.0.0.0|||||||X|||||||5842E4FFFE713001^^5842E4FFFE713001^EUI-64\r\
            OBX|2|ST|184517^MDC_PUMP_DRUG_LIBRARY_VERSION^MDC|1.0.0.1|ICU-2026.11.1||||||R\r\
            OBX|3|ST|184516^MDC_PUMP_DRUG_LIBRARY_CARE_AREA^MDC|1.0.0.2|ICU||||||R\r";
        let s = summarise(event.as_bytes(), true, false);
        assert_eq!(
            s.library,
            Some(LibrarySummary {
                version: "ICU-2026.11.1".into(),
                care_area: Some("ICU".into()),
                device: Some("5842E4FFFE713001".into()),
            })
        );
        // Its own OBX-18 wins; a message without one names no device.
        let own = event.replace(
            "1.0.0.1|ICU-2026.11.1||||||R",
            "1.0.0.1|ICU-2026.11.1||||||R|||||||^^0011223344556677^EUI-64",
        );
        let s = summarise(own.as_bytes(), true, false);
        assert_eq!(
            s.library.and_then(|l| l.device).as_deref(),
            Some("0011223344556677")
        );
        let bare = "MSH|^~\\&|PUMP|W|EHR|H|20261102||ORU^R01^ORU_R01|S2|P|2.6\r\
            OBX|1|ST|XX^local^L^184517^MDC_PUMP_DRUG_LIBRARY_VERSION^MDC||  DL-7  \r";
        let lib = summarise(bare.as_bytes(), false, false)
            .library
            .expect("library");
        assert_eq!((lib.version.as_str(), lib.device), ("DL-7", None));
        assert_eq!(summarise(ORDER.as_bytes(), true, false).library, None);
    }

    #[test]
    fn library_codes_are_read_as_numbers_whatever_their_spelling() {
        // The codes as `u32` reads them (a sign, leading zeros, padding) and through an
        // escape sequence (`\X31\` is "1"): every spelling the raw-byte shortcut in
        // `library_observation` must not skip.
        for code in ["184517", "+184517", "00184517", " 184517 ", "\\X31\\84517"] {
            let m = format!(
                "MSH|^~\\&|PUMP|W|EHR|H|20261102||ORU^R01^ORU_R01|S3|P|2.6\r\
                 OBX|1|ST|{code}^MDC_PUMP_DRUG_LIBRARY_VERSION^MDC||DL-9\r"
            );
            let lib = summarise(m.as_bytes(), false, false).library;
            assert_eq!(lib.map(|l| l.version).as_deref(), Some("DL-9"), "{code}");
        }
        for other in ["184518", "18451", "1845170", "\\X31\\84518"] {
            let m = format!(
                "MSH|^~\\&|PUMP|W|EHR|H|20261102||ORU^R01^ORU_R01|S4|P|2.6\r\
                 OBX|1|ST|{other}^X^MDC||DL-9\r"
            );
            assert_eq!(
                summarise(m.as_bytes(), false, false).library,
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn gap_mid_frame_resynchronises() {
        let mut s = MllpStream::new();
        let mut out = Vec::new();
        let mut framed = vec![START];
        framed.extend_from_slice(ORDER.as_bytes());
        framed.extend_from_slice(&[END, CR]);
        s.on_data(Side::Server, &framed[..50], &mut out);
        s.on_gap(Side::Server);
        s.on_data(Side::Server, &framed[80..], &mut out);
        assert!(out.is_empty(), "the torn frame is dropped");
        s.on_data(Side::Server, &framed, &mut out);
        assert_eq!(out.len(), 1);
    }
}
