//! The clinical content of the ward's HL7 traffic: invented patients and infusions, and
//! the IHE PCD messages about them, shaped like the IHE PCD Technical Framework's
//! examples (Rev. 9, vol. 2, appendix E/M): PCD-01 device data (ORU^R01) and PCD-10
//! infusion events (ORU^R42) from the pump server to the EHR, PCD-03 orders (RGV^O15)
//! from the EHR/BCMA to the pump server, PCD-04 alarms (ORU^R40) to the alarm manager.
//! Replies (ACK^R01, ACK^O15, RRG^O16) are built with `pumpguard-hl7`, as a real
//! receiver would answer the bytes it got.
//!
//! Patients are invented: names from short lists of common names, record numbers from
//! the seed. Drug codes are a hospital's local formulary ids, as in the TF examples.

use pumpguard_hl7::Message;
use pumpguard_hl7::pcd::{self, ApplicationCode, ErrorSpec, ReplyHeader};

use crate::rng::Rng;

/// A unit of rate, with its UCUM string and MDC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub ucum: &'static str,
    pub mdc: u32,
    pub mdc_ref: &'static str,
}

pub const UG_PER_KG_PER_MIN: Unit = Unit {
    ucum: "ug/kg/min",
    mdc: 265_619,
    mdc_ref: "MDC_DIM_MICRO_G_PER_KG_PER_MIN",
};
pub const ML_PER_HOUR: Unit = Unit {
    ucum: "mL/h",
    mdc: 265_266,
    mdc_ref: "MDC_DIM_MILLI_L_PER_HR",
};

/// A drug of the ward's library with its dose-rate limits.
#[derive(Debug, Clone, Copy)]
pub struct Drug {
    /// Local formulary id, sent in RXG-4-1.
    pub code: &'static str,
    pub name: &'static str,
    pub unit: Unit,
    /// The range orders usually fall in.
    pub usual: (f64, f64),
    /// The drug library's hard maximum: a pump must refuse more.
    pub hard_max: f64,
}

/// The ICU library the simulated EHR orders from.
pub const DRUGS: [Drug; 5] = [
    Drug {
        code: "1234",
        name: "Dopamine",
        unit: UG_PER_KG_PER_MIN,
        usual: (2.0, 20.0),
        hard_max: 25.0,
    },
    Drug {
        code: "2345",
        name: "Dobutamine",
        unit: UG_PER_KG_PER_MIN,
        usual: (2.5, 20.0),
        hard_max: 40.0,
    },
    Drug {
        code: "3456",
        name: "Propofol",
        unit: UG_PER_KG_PER_MIN,
        usual: (5.0, 50.0),
        hard_max: 80.0,
    },
    Drug {
        code: "4567",
        name: "Norepinephrine",
        unit: UG_PER_KG_PER_MIN,
        usual: (0.05, 0.5),
        hard_max: 3.0,
    },
    Drug {
        code: "5678",
        name: "Normal Saline",
        unit: ML_PER_HOUR,
        usual: (25.0, 250.0),
        hard_max: 999.0,
    },
];

/// The ward's drug library as the YAML drug-library format `pumpguard sense
/// --drug-library` reads: the usual range as soft limits, the hard maximum.
pub fn library_yaml() -> String {
    let mut out = String::from(
        "# The simulated ward's ICU drug library (pumpguard sim).\n\
         name: ICU Adult (simulated)\nversion: 2026.11.1\ncare_area: ICU\nentries:\n",
    );
    for d in DRUGS {
        out.push_str(&format!(
            "  - drug: {}\n    code: \"{}\"\n    dose_unit: {}\n    soft_min: {}\n    soft_max: {}\n    hard_max: {}\n",
            d.name, d.code, d.unit.ucum, d.usual.0, d.usual.1, d.hard_max
        ));
    }
    out
}

const FAMILY: [&str; 12] = [
    "Smith", "Garcia", "Nguyen", "Johnson", "Okafor", "Kowalski", "Brown", "Haddad", "Lopez",
    "Tanaka", "Miller", "Singh",
];
const GIVEN: [&str; 12] = [
    "Maria", "James", "Aisha", "Robert", "Mei", "David", "Fatima", "John", "Elena", "Kwame",
    "Sarah", "Luis",
];

/// An invented patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Medical record number (PID-3-1).
    pub mrn: String,
    pub family: &'static str,
    pub given: &'static str,
    /// YYYYMMDD.
    pub birth: String,
    pub sex: &'static str,
}

impl Patient {
    pub fn invent(rng: &mut Rng) -> Patient {
        let pick = |rng: &mut Rng, list: &[&'static str; 12]| {
            list[usize::try_from(rng.below(12)).unwrap_or(0)]
        };
        Patient {
            mrn: format!("HO{:07}", rng.below(10_000_000)),
            family: pick(rng, &FAMILY),
            given: pick(rng, &GIVEN),
            birth: format!(
                "{}{:02}{:02}",
                rng.range(1935, 2005),
                rng.range(1, 13),
                rng.range(1, 29)
            ),
            sex: if rng.below(2) == 0 { "F" } else { "M" },
        }
    }
}

/// An infusion running on one pump.
#[derive(Debug, Clone)]
pub struct Infusion {
    pub patient: Patient,
    pub drug: &'static Drug,
    /// Programmed rate in the drug's unit.
    pub rate: f64,
    /// Volume to be infused, mL.
    pub vtbi_ml: f64,
    /// Placer order number (ORC-2).
    pub order: String,
    /// The pump's EUI-64 (16 hex digits).
    pub pump: String,
}

impl Infusion {
    pub fn invent(rng: &mut Rng, pump_mac: [u8; 6]) -> Infusion {
        let drug = &DRUGS[usize::try_from(rng.below(DRUGS.len() as u64)).unwrap_or(0)];
        let (lo, hi) = drug.usual;
        // Rates as clinicians enter them: one decimal (two below 1).
        let raw = lo + (hi - lo) * (rng.below(1_000) as f64 / 1_000.0);
        let rate = if raw < 1.0 {
            (raw * 100.0).round() / 100.0
        } else {
            (raw * 10.0).round() / 10.0
        };
        Infusion {
            patient: Patient::invent(rng),
            drug,
            rate,
            vtbi_ml: [50.0, 100.0, 250.0, 500.0][usize::try_from(rng.below(4)).unwrap_or(0)],
            order: format!("{:08}", rng.below(100_000_000)),
            pump: eui64(pump_mac),
        }
    }

    /// Volume delivered after `minutes` at this rate (mL/h rates only; dose rates assume
    /// the 1.6 mg/mL, 80 kg case of the TF example).
    pub fn delivered_ml(&self, minutes: f64) -> f64 {
        let ml_per_h = if self.drug.unit == ML_PER_HOUR {
            self.rate
        } else {
            self.rate * 80.0 * 60.0 / 1_600.0
        };
        (ml_per_h * minutes / 60.0).min(self.vtbi_ml)
    }
}

/// The EUI-64 a MAC-48 maps to (FF-FE inserted after the OUI), as PCD messages name devices.
pub fn eui64(mac: [u8; 6]) -> String {
    let b = [mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]];
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// An HL7 application: name, facility and EUI-64 for MSH-3/4 (or MSH-5/6).
#[derive(Debug, Clone)]
pub struct App {
    pub name: &'static str,
    pub facility: &'static str,
    pub eui64: String,
}

impl App {
    fn hd(&self) -> String {
        format!("{}^{}^EUI-64", self.name, self.eui64)
    }
}

/// HL7 DTM of epoch nanoseconds, UTC.
pub fn dtm(ns: u64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| t.strftime("%Y%m%d%H%M%S+0000").to_string())
        .unwrap_or_else(|_| "19700101000000+0000".into())
}

fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.')
        .map_or_else(|| s.to_string(), |t| format!("{t}.0"))
}

struct Header<'a> {
    kind: &'a str,
    control_id: &'a str,
    time: &'a str,
    from: &'a App,
    to: &'a App,
    /// MSH-15 / MSH-16.
    acks: (&'a str, &'a str),
    profile: &'a str,
    oid: &'a str,
}

fn msh(h: &Header<'_>) -> String {
    format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||{}|{}|P|2.6|||{}|{}||UNICODE UTF-8|en^English^ISO639||{}^IHE PCD^{}^ISO\r",
        h.from.hd(),
        h.from.facility,
        h.to.hd(),
        h.to.facility,
        h.time,
        h.kind,
        h.control_id,
        h.acks.0,
        h.acks.1,
        h.profile,
        h.oid
    )
}

/// PID with the record number only (what device data needs), or with name and birth
/// date too (what an order carries, and what leaks PHI on an open network).
fn pid(p: &Patient, full: bool) -> String {
    if full {
        format!(
            "PID|||{}^^^HOSP^MR||{}^{}^^^^^L||{}|{}\r",
            p.mrn, p.family, p.given, p.birth, p.sex
        )
    } else {
        format!("PID|||{}^^^HOSP^MR\r", p.mrn)
    }
}

/// PCD-03: an infusion order from the EHR/BCMA to the pump server. MSH-16 is ER: the pump
/// server answers with ACK^O15 and sends RRG^O16 only when it refuses the order.
pub fn order(control_id: &str, ns: u64, inf: &Infusion, ehr: &App, server: &App) -> String {
    let time = dtm(ns);
    let d = inf.drug;
    let mut s = msh(&Header {
        kind: "RGV^O15^RGV_O15",
        control_id,
        time: &time,
        from: ehr,
        to: server,
        acks: ("AL", "ER"),
        profile: "IHE_PCD_PIV_001",
        oid: "1.3.6.1.4.1.19376.1.6.1.3.1",
    });
    s += &pid(&inf.patient, true);
    s += &format!("ORC|NW|{}|||||||{time}\r", inf.order);
    s += &format!(
        "RXG|1|||{}^{}|{}||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||{}|{}^{}^MDC^{}^{}^UCUM\r",
        d.code,
        d.name,
        number(inf.vtbi_ml),
        number(inf.rate),
        d.unit.mdc,
        d.unit.mdc_ref,
        d.unit.ucum,
        d.unit.ucum
    );
    s += "RXR|IV^Intravenous^HL70162||IVP^IV Pump^HL70164|IV^Infuse^HL70165\r";
    s += &format!(
        "OBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.0.0.0|||||||X|||||||{}^^{}^EUI-64\r",
        inf.pump, inf.pump
    );
    s += "OBX|2|NM|68063^MDC_ATTR_PT_WEIGHT^MDC|1.0.0.1|80.0|263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM|||||R\r";
    s
}

/// PCD-01: the pump server reports a pump's current delivery to the EHR.
pub fn device_data(
    control_id: &str,
    ns: u64,
    inf: &Infusion,
    minutes: f64,
    server: &App,
    ehr: &App,
    with_phi: bool,
) -> String {
    let time = dtm(ns);
    let mut s = msh(&Header {
        kind: "ORU^R01^ORU_R01",
        control_id,
        time: &time,
        from: server,
        to: ehr,
        acks: ("NE", "AL"),
        profile: "IHE_PCD_001",
        oid: "1.3.6.1.4.1.19376.1.6.1.1.1",
    });
    s += &pid(&inf.patient, with_phi);
    s += &format!(
        "OBR|1|{}^{}^{}^EUI-64|{}^{}^{}^EUI-64|69985^MDC_DEV_PUMP_INFUS_MDS^MDC|||{time}\r",
        control_id, server.name, server.eui64, control_id, server.name, server.eui64
    );
    let obx = |n: u32, vt: &str, code: &str, sub: &str, value: &str, units: &str, eq: &str| {
        format!("OBX|{n}|{vt}|{code}|{sub}|{value}|{units}|||||R|||{time}||||{eq}\r")
    };
    let eq = format!("{}^^{}^EUI-64", inf.pump, inf.pump);
    let ml = "263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM";
    let rate_unit = format!(
        "{}^{}^MDC^{}^{}^UCUM",
        inf.drug.unit.mdc, inf.drug.unit.mdc_ref, inf.drug.unit.ucum, inf.drug.unit.ucum
    );
    let delivered = inf.delivered_ml(minutes);
    s += &format!("OBX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||{time}||||{eq}\r");
    s += &obx(
        2,
        "ST",
        "184514^MDC_DRUG_NAME_LABEL^MDC",
        "1.1.1.1",
        inf.drug.name,
        "",
        &eq,
    );
    let (rate_code, sub) = if inf.drug.unit == ML_PER_HOUR {
        ("157784^MDC_FLOW_FLUID_PUMP^MDC", "1.1.1.2")
    } else {
        ("157924^MDC_RATE_DOSE^MDC", "1.1.1.2")
    };
    s += &obx(3, "NM", rate_code, sub, &number(inf.rate), &rate_unit, &eq);
    s += &obx(
        4,
        "NM",
        "157884^MDC_VOL_FLUID_TBI^MDC",
        "1.1.1.3",
        &number(inf.vtbi_ml),
        ml,
        &eq,
    );
    s += &obx(
        5,
        "NM",
        "157993^MDC_VOL_FLUID_DELIV_TOTAL^MDC",
        "1.1.1.4",
        &number(delivered),
        ml,
        &eq,
    );
    s += &obx(
        6,
        "NM",
        "157872^MDC_VOL_FLUID_TBI_REMAIN^MDC",
        "1.1.1.5",
        &number(inf.vtbi_ml - delivered),
        ml,
        &eq,
    );
    s
}

/// PCD-10: an infusion event (delivery started) from the pump server to the EHR.
pub fn delivery_started(
    control_id: &str,
    ns: u64,
    inf: &Infusion,
    library: &str,
    server: &App,
    ehr: &App,
) -> String {
    let time = dtm(ns);
    let mut s = msh(&Header {
        kind: "ORU^R42^ORU_R01",
        control_id,
        time: &time,
        from: server,
        to: ehr,
        acks: ("NE", "AL"),
        profile: "IHE_PCD_010",
        oid: "1.3.6.1.4.1.19376.1.6.4.10",
    });
    s += &pid(&inf.patient, false);
    s += &format!(
        "OBR|1|{}^PCD-03|{control_id}^{}^{}^EUI-64|{}^{}|||{time}\r",
        inf.order, server.name, server.eui64, inf.drug.code, inf.drug.name
    );
    let eq = format!("{}^^{}^EUI-64", inf.pump, inf.pump);
    s += &format!("OBX|1||70049^MDC_DEV_PUMP_INFUS_LVP_MDS^MDC|1.0.0.0|||||||X|||||||{eq}\r");
    s += &format!("OBX|2|ST|184517^MDC_PUMP_DRUG_LIBRARY_VERSION^MDC|1.0.0.1|{library}||||||R\r");
    s += "OBX|3|CWE|68487^MDC_ATTR_EVT_COND^MDC|1.0.0.2|197288^MDC_EVT_PUMP_DELIV_START^MDC||||||R\r";
    s += &format!(
        "OBX|4|ST|184514^MDC_DRUG_NAME_LABEL^MDC|1.1.2.1|{}||||||R\r",
        inf.drug.name
    );
    let u = inf.drug.unit;
    let code = if u == ML_PER_HOUR {
        "157784^MDC_FLOW_FLUID_PUMP^MDC"
    } else {
        "157924^MDC_RATE_DOSE^MDC"
    };
    s += &format!(
        "OBX|5|NM|{code}|1.1.2.2|{}|{}^{}^MDC^{}^{}^UCUM|||||R\r",
        number(inf.rate),
        u.mdc,
        u.mdc_ref,
        u.ucum,
        u.ucum
    );
    s += &format!(
        "OBX|6|NM|157884^MDC_VOL_FLUID_TBI^MDC|1.1.2.3|{}|263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM|||||R\r",
        number(inf.vtbi_ml)
    );
    s
}

/// PCD-04: an occlusion alarm from the pump server to the alarm manager.
pub fn occlusion_alarm(
    control_id: &str,
    ns: u64,
    inf: &Infusion,
    server: &App,
    manager: &App,
) -> String {
    let time = dtm(ns);
    let mut s = msh(&Header {
        kind: "ORU^R40^ORU_R40",
        control_id,
        time: &time,
        from: server,
        to: manager,
        acks: ("AL", "NE"),
        profile: "IHE_PCD_ACM_001",
        oid: "1.3.6.1.4.1.19376.1.6.4.4.1",
    });
    s += &pid(&inf.patient, false);
    s += &format!(
        "OBR|1|{control_id}^{}^{}^EUI-64|{control_id}^{}^{}^EUI-64|196616^MDC_EVT_ALARM^MDC|||{time}\r",
        server.name, server.eui64, server.name, server.eui64
    );
    let eq = format!("{}^^{}^EUI-64", inf.pump, inf.pump);
    s += &format!(
        "OBX|1|CWE|196616^MDC_EVT_ALARM^MDC|1.0.0.0.1|196940^MDC_EVT_FLUID_LINE_OCCL^MDC^^^^^^Occlusion|||ST|||F|||||||{eq}\r"
    );
    s += "OBX|2|CWE|68480^MDC_ATTR_ALERT_SOURCE^MDC|1.0.0.0.2|69985^MDC_DEV_PUMP_INFUS_MDS^MDC||||||F\r";
    s += "OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.0.0.0.3|start||||||F\r";
    s += "OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.0.0.0.4|active||||||F\r";
    s
}

/// The receiver's original-mode ACK (AA) of a message.
pub fn ack(message: &str, control_id: &str, ns: u64) -> String {
    reply(message, control_id, ns, |m, h| {
        pcd::original_ack(m, ApplicationCode::Accept, h)
    })
}

/// The receiver's enhanced-mode commit acknowledgement (CA), for messages whose MSH-15 is
/// AL (PCD-04 alarms).
pub fn commit_accept(message: &str, control_id: &str, ns: u64) -> String {
    reply(message, control_id, ns, |m, h| {
        pcd::commit_ack(m, pcd::AcceptCode::Accept, h)
    })
}

/// The pump server's accept acknowledgement (ACK^O15, CA) of an order.
pub fn order_accept(order: &str, control_id: &str, ns: u64) -> String {
    reply(order, control_id, ns, |m, h| {
        pcd::accept_ack(m, pcd::AcceptCode::Accept, h)
    })
}

/// The pump server's application reject (RRG^O16, AR) of an order over a hard limit.
pub fn order_reject(order: &str, control_id: &str, ns: u64, why: &str) -> String {
    let err = ErrorSpec {
        hl7_code: "207".into(),
        hl7_text: "Application internal error".into(),
        severity: 'E',
        app_code: "9011".into(),
        app_text: why.into(),
    };
    reply(order, control_id, ns, |m, h| {
        pcd::application_ack(m, ApplicationCode::Reject, std::slice::from_ref(&err), h)
    })
}

fn reply(
    message: &str,
    control_id: &str,
    ns: u64,
    build: impl Fn(&Message<'_>, ReplyHeader<'_>) -> String,
) -> String {
    let time = dtm(ns);
    let header = ReplyHeader {
        time: &time,
        control_id,
    };
    // The messages come from this module, so they parse; an empty reply would show in tests.
    Message::parse(message.as_bytes())
        .map(|m| build(&m, header))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use pumpguard_hl7::pcd::{
        Alarm, DeviceData, InfusionEvent, InfusionOrder, OrderAck, Transaction,
    };
    use pumpguard_hl7::validate::validate;

    use super::*;

    fn apps() -> (App, App, App) {
        let app = |name, facility, mac| App {
            name,
            facility,
            eui64: eui64(mac),
        };
        (
            app("EHR_BCMA", "HOSP", [0x02, 0, 0, 0, 0x40, 0x10]),
            app("PUMPSRV_ALARIS", "PHARM", [0x02, 0, 0, 0, 0x30, 0x11]),
            app("ALARM_MGR", "HOSP", [0x02, 0, 0, 0, 0x30, 0x20]),
        )
    }

    /// Every message this module writes passes pumpguard-hl7's PCD profile checks and
    /// reads back through the typed views.
    #[test]
    fn messages_validate_and_read_back() {
        let (ehr, server, manager) = apps();
        let mut rng = Rng::new(7);
        for i in 0..200u64 {
            let inf = Infusion::invent(&mut rng, [0x9c, 0xc8, 0xae, 0, 1, i as u8]);
            let ns = 1_793_606_400_000_000_000 + i * 1_000_000_000;
            let id = format!("C{i}");
            let o = order(&id, ns, &inf, &ehr, &server);
            let m = Message::parse(o.as_bytes()).unwrap();
            let v = InfusionOrder::from_message(&m).unwrap();
            assert_eq!(v.rate.as_ref().and_then(|r| r.value), Some(inf.rate), "{o}");
            assert_eq!(v.rate.unwrap().unit.ucum(), inf.drug.unit.ucum);
            assert_eq!(v.drug.code, inf.drug.code);
            assert_eq!(v.pump.unwrap().best(), inf.pump);
            let data = device_data(&id, ns, &inf, 30.0, &server, &ehr, i % 2 == 0);
            let event = delivery_started(&id, ns, &inf, "ICU-2026.11.1", &server, &ehr);
            let alarm = occlusion_alarm(&id, ns, &inf, &server, &manager);
            let accept = order_accept(&o, "A1", ns);
            let reject = order_reject(&o, "A2", ns, "rate above hard limit");
            let acked = ack(&data, "A3", ns);
            let committed = commit_accept(&alarm, "A4", ns);
            assert!(committed.contains("\rMSA|CA|"), "{committed}");
            for text in [
                &o, &data, &event, &alarm, &accept, &reject, &acked, &committed,
            ] {
                assert_eq!(validate(text.as_bytes()), vec![], "{text}");
            }
            let m = Message::parse(data.as_bytes()).unwrap();
            let dd = DeviceData::from_message(&m).unwrap();
            assert_eq!(dd.observations.len(), 6);
            assert_eq!(dd.patient.unwrap().family_name.is_empty(), i % 2 != 0);
            let m = Message::parse(event.as_bytes()).unwrap();
            assert_eq!(
                InfusionEvent::from_message(&m).unwrap().event.mdc(),
                Some(197_288)
            );
            let m = Message::parse(alarm.as_bytes()).unwrap();
            assert_eq!(Alarm::from_message(&m).unwrap().event.mdc(), Some(196_940));
            let m = Message::parse(reject.as_bytes()).unwrap();
            assert_eq!(Transaction::of(&m), Transaction::OrderApplicationAck);
            assert_eq!(OrderAck::from_message(&m).unwrap().acknowledges, id);
        }
    }

    #[test]
    fn eui64_and_dtm() {
        assert_eq!(
            eui64([0x00, 0x12, 0x21, 0x18, 0x39, 0x01]),
            "001221FFFE183901"
        );
        // python: datetime.utcfromtimestamp(1793606400) == 2026-11-02 08:00:00
        assert_eq!(dtm(1_793_606_400_000_000_000), "20261102080000+0000");
        assert_eq!(number(10.0), "10.0");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(13.3), "13.3");
    }
}
