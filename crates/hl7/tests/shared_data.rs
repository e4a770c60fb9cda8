//! The HL7 files in `../shared/data/hl7` (IHE PCD Technical Framework examples, Open
//! eHealth IPF test messages, MLLP framings): every one parses, the typed views read what
//! the folder's README says the messages carry, and the validator reports the published
//! defects the README lists, and nothing on the messages it calls valid.

use std::path::PathBuf;

use pumpguard_hl7::mllp::{self, Block};
use pumpguard_hl7::pcd::{Alarm, DeviceData, InfusionEvent, InfusionOrder, OrderAck, Transaction};
use pumpguard_hl7::validate::{Severity, Validator};
use pumpguard_hl7::{Message, parse_messages};

fn dir() -> PathBuf {
    pumpguard_testkit::shared_data().join("hl7")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn one(rel: &str) -> Vec<u8> {
    read(rel)
}

/// The message payloads of a file: MLLP frames, or the file itself.
fn payloads(data: &[u8]) -> Vec<Vec<u8>> {
    if mllp::is_framed(data) {
        mllp::frames(data)
            .map(|f| f.expect("frame"))
            .filter_map(|(_, b)| match b {
                Block::Message(m) => Some(m.to_vec()),
                _ => None,
            })
            .collect()
    } else {
        vec![data.to_vec()]
    }
}

/// The HL7 text of the WS* SOAP examples (segment ends written `&#xD;`).
fn soap_message(xml: &str) -> Vec<u8> {
    let start = xml.find("MSH|").expect("an HL7 message in the SOAP body");
    let end = start + xml[start..].find('<').expect("end of element");
    xml[start..end]
        .replace("&#xD;", "\r")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .into_bytes()
}

#[test]
fn every_file_parses() {
    let mut messages = 0;
    for sub in ["ihe-pcd-tf-rev9", "oehf-ipf", "mllp"] {
        for entry in std::fs::read_dir(dir().join(sub)).expect("dir") {
            let path = entry.expect("entry").path();
            let data = std::fs::read(&path).expect("read");
            let name = path.display().to_string();
            let payloads = match path.extension().and_then(|e| e.to_str()) {
                Some("xml") => vec![soap_message(&String::from_utf8(data).expect("utf-8"))],
                Some("bin") => {
                    let blocks: Vec<_> = mllp::frames(&data).map(|f| f.expect("frame").1).collect();
                    assert_eq!(blocks.len(), 1, "{name}");
                    assert!(
                        matches!(blocks[0], Block::CommitAck | Block::CommitNak),
                        "{name}"
                    );
                    continue;
                }
                _ => payloads(&data),
            };
            for p in payloads {
                for m in parse_messages(&p) {
                    let m = m.unwrap_or_else(|e| panic!("{name}: {e}"));
                    // Every non-blank line of the payload is one segment of a message.
                    assert!(m.segment_count() >= 2, "{name}");
                    assert!(!m.message_type().0.is_empty(), "{name}");
                    messages += 1;
                }
                let lines = p
                    .split(|&b| b == b'\r' || b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
                let segments: usize = parse_messages(&p)
                    .map(|m| m.expect("parsed").segment_count())
                    .sum();
                assert_eq!(lines, segments, "{name}");
            }
        }
    }
    // 11 TF messages, 2 in SOAP envelopes, 5 from IPF, 4 single MLLP frames, 4 in the stream.
    assert_eq!(messages, 11 + 2 + 5 + 4 + 4);
}

#[test]
fn order_views_read_what_the_tf_examples_say() {
    // README: "dopamine 10 ug/kg/min, 400 mg/250 mL, VTBI 250 mL, weight 85 kg, pump A0001".
    let data = one("ihe-pcd-tf-rev9/pcd03_ex1_dopamine_rgv_o15.hl7");
    let m = Message::parse(&data).expect("parses");
    assert_eq!(Transaction::of(&m), Transaction::InfusionOrder);
    let o = InfusionOrder::from_message(&m).expect("order");
    assert_eq!(o.drug.text, "Dopamine");
    let rate = o.rate.expect("rate");
    assert_eq!(
        (rate.value, rate.unit.ucum(), rate.unit.mdc()),
        (Some(10.0), "ug/kg/min", Some(265619))
    );
    let strength = o.strength.expect("strength");
    assert_eq!((strength.value, strength.unit.ucum()), (Some(400.0), "mg"));
    let sv = o.strength_volume.expect("strength volume");
    assert_eq!((sv.value, sv.unit.ucum()), (Some(250.0), "mL"));
    assert_eq!(o.volume.expect("vtbi").value, Some(250.0));
    assert_eq!(o.weight.expect("weight").value, Some(85.0));
    assert_eq!(o.pump.expect("pump").best(), "A0001");
    assert_eq!(o.patient.expect("patient").id, "98765");

    // "normal saline, 500 mL at 13.3 mL/h"
    let data = one("ihe-pcd-tf-rev9/pcd03_ex2_normal_saline_rgv_o15.hl7");
    let o = InfusionOrder::from_message(&Message::parse(&data).expect("parses")).expect("order");
    assert_eq!(o.drug.text, "Normal Saline");
    assert_eq!(o.volume.expect("vtbi").value, Some(500.0));
    let rate = o.rate.expect("rate");
    assert_eq!((rate.value, rate.unit.ucum()), (Some(13.3), "mL/h"));

    // "application reject: MSA|AR, ERR 207 / 9010"
    let data = one("ihe-pcd-tf-rev9/pcd03_app_reject_rrg_o16.hl7");
    let a = OrderAck::from_message(&Message::parse(&data).expect("parses")).expect("ack");
    assert_eq!(a.code, "AR");
    assert!(!a.accepted());
    assert_eq!(a.errors[0].code.code, "207");
    assert_eq!(a.errors[0].application_error.code, "9010");
    assert_eq!(
        a.errors[0].application_error.text,
        "Unable to match medication to drug library"
    );
    let data = one("ihe-pcd-tf-rev9/pcd03_ex1_accept_ack_o15.hl7");
    let a = OrderAck::from_message(&Message::parse(&data).expect("parses")).expect("ack");
    assert!(a.accepted());
    assert_eq!(a.acknowledges, "1");
}

#[test]
fn alarm_event_and_device_data_views() {
    for (file, phase, state) in [
        (
            "ihe-pcd-tf-rev9/pcd04_acm_pump_occlusion_start_bbraun_oru_r40.hl7",
            "start",
            "active",
        ),
        (
            "ihe-pcd-tf-rev9/pcd04_acm_pump_occlusion_end_bbraun_oru_r40.hl7",
            "end",
            "inactive",
        ),
    ] {
        let data = one(file);
        let a = Alarm::from_message(&Message::parse(&data).expect("parses")).expect("alarm");
        assert_eq!(a.event.text, "MDC_EVT_FLUID_LINE_OCCL", "{file}");
        assert_eq!(a.event.mdc(), Some(196940));
        assert_eq!(
            (a.phase.as_str(), a.state.as_str()),
            (phase, state),
            "{file}"
        );
        assert_eq!(a.source.text, "MDC_DEV_PUMP_INFUS_MDS");
        assert_eq!(a.device.expect("device").universal_id_type, "EUI-64");
    }
    let data = one("ihe-pcd-tf-rev9/pcd10_ipec_delivery_start_oru_r42.hl7");
    let e = InfusionEvent::from_message(&Message::parse(&data).expect("parses")).expect("event");
    assert_eq!(e.event.text, "MDC_EVT_PUMP_DELIV_START");
    assert_eq!(e.drug_name, "Dopamine");
    let rate = e.rate.expect("rate");
    assert_eq!((rate.value, rate.unit.ucum()), (Some(15.4), "mL/h"));
    assert_eq!(e.dose_rate.expect("dose rate").value, Some(5.0));
    assert_eq!(e.volume_to_infuse.expect("vtbi").value, Some(250.0));
    assert_eq!(e.library_version, "DL1");
    assert_eq!(e.care_area, "Crit Care");
    assert_eq!(e.order, "AB12345");
    assert_eq!(e.device.expect("device").universal_id, "0012210000000000");

    let data = one("ihe-pcd-tf-rev9/pcd01_episodic_nibp_acme_oru_r01.hl7");
    let d = DeviceData::from_message(&Message::parse(&data).expect("parses")).expect("device data");
    assert!(
        d.observations
            .iter()
            .any(|o| o.identifier.mdc() == Some(150021))
    );
    assert!(d.observations.iter().all(|o| !o.sub_id.is_empty()));
}

/// (file, expected problems as (path, severity)); every problem must be expected.
const EXPECTED: &[(&str, &[(&str, Severity)])] = {
    use Severity::{Error, Warning};
    const PIV_HEADER: [(&str, Severity); 2] = [("MSH-12", Error), ("MSH-19-3", Warning)];
    &[
        ("ihe-pcd-tf-rev9/pcd01_episodic_nibp_acme_oru_r01.hl7", &[]),
        (
            "ihe-pcd-tf-rev9/pcd01_physio_monitor_philips_oru_r01.hl7",
            &[],
        ),
        (
            "ihe-pcd-tf-rev9/pcd03_ex1_dopamine_rgv_o15.hl7",
            &[
                PIV_HEADER[0],
                PIV_HEADER[1],
                ("RXG-7-6", Warning),
                ("RXR-4", Warning),
            ],
        ),
        (
            "ihe-pcd-tf-rev9/pcd03_ex1_accept_ack_o15.hl7",
            &[PIV_HEADER[0], PIV_HEADER[1]],
        ),
        (
            "ihe-pcd-tf-rev9/pcd03_ex2_normal_saline_rgv_o15.hl7",
            &[
                PIV_HEADER[0],
                PIV_HEADER[1],
                ("RXG-7-6", Warning),
                ("RXR-4", Warning),
            ],
        ),
        (
            "ihe-pcd-tf-rev9/pcd03_ex2_accept_ack_o15.hl7",
            &[PIV_HEADER[0], PIV_HEADER[1], ("MSA-2", Error)],
        ),
        (
            "ihe-pcd-tf-rev9/pcd03_app_reject_rrg_o16.hl7",
            &[
                PIV_HEADER[0],
                PIV_HEADER[1],
                ("MSH-7", Error),
                ("ERR-3-2", Warning),
                ("MSH-15", Error),
            ],
        ),
        // The B. Braun and Mindray inactivation-state OBX lacks ^MDC and, one field
        // short, puts its result status in OBX-10.
        (
            "ihe-pcd-tf-rev9/pcd04_acm_pump_occlusion_start_bbraun_oru_r40.hl7",
            &[
                ("MSH-5-2", Warning),
                ("OBX(5)-3", Warning),
                ("OBX(5)-11", Error),
            ],
        ),
        (
            "ihe-pcd-tf-rev9/pcd04_acm_pump_occlusion_end_bbraun_oru_r40.hl7",
            &[("OBX(5)-3", Warning), ("OBX(5)-11", Error)],
        ),
        (
            "ihe-pcd-tf-rev9/pcd04_acm_spo2_low_mindray_oru_r40.hl7",
            &[
                ("OBR-2-4", Warning),
                ("OBR-3-4", Warning),
                ("OBX(5)-3", Warning),
                ("OBX(5)-11", Error),
            ],
        ),
        (
            "ihe-pcd-tf-rev9/pcd10_ipec_delivery_start_oru_r42.hl7",
            &[("MSH-21-3", Warning)],
        ),
        ("oehf-ipf/valid-pcd01-request.hl7v2", &[]),
        ("oehf-ipf/valid-pcd01-response2.hl7v2", &[]),
        ("oehf-ipf/pcd01-response.hl7", &[]),
        // "IPF treats the second one as invalid for PCD-01."
        ("oehf-ipf/pcd01-response-invalid.hl7", &[("MSH-12", Error)]),
        // Not in the README: the "Maximum" message writes five MDC codes with a stray
        // digit (1500202 for MDC_PRESS_BLD_NONINV 150020…) and ISO659.
        (
            "oehf-ipf/valid-pcd01-MaximumRequest2.hl7",
            &[
                ("MSH-19-3", Warning),
                ("OBX-3-1", Warning),
                ("OBX-3-1", Warning),
                ("OBX-3-1", Warning),
                ("OBX-3-1", Warning),
                ("OBX-3-1", Warning),
            ],
        ),
    ]
};

#[test]
fn validator_reports_the_published_defects_and_nothing_else() {
    for (file, expected) in EXPECTED {
        let mut v = Validator::default();
        for p in payloads(&read(file)) {
            v.check(&p);
        }
        let mut got: Vec<(String, Severity)> = v
            .problems
            .iter()
            .map(|p| (p.path.clone(), p.severity))
            .collect();
        let mut want: Vec<(String, Severity)> =
            expected.iter().map(|(p, s)| (p.to_string(), *s)).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}: {:#?}", v.problems);
    }
}

#[test]
fn validator_follows_a_conversation_across_mllp_frames() {
    // README: "MSA-2 is 102, while the order's control id is 2".
    let mut v = Validator::default();
    for p in payloads(&read("mllp/stream_pcd03_order_ack_order_reject.mllp")) {
        v.check(&p);
    }
    assert_eq!(v.messages(), 4);
    let stray = v
        .problems
        .iter()
        .find(|p| p.path == "MSA-2")
        .expect("MSA-2 reported");
    assert_eq!((stray.message, stray.severity), (4, Severity::Warning));
    assert!(stray.text.contains("\"102\""), "{}", stray.text);
}

#[test]
fn mdc_table_agrees_with_the_tf_examples() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir().join("ihe-pcd-tf-rev9")).expect("dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("utf-8");
        for token in text.split(['|', '\r', '~', '&', '<', '>']) {
            let parts: Vec<&str> = token.split('^').collect();
            for w in parts.windows(2) {
                if let (Ok(code), true) = (w[0].parse::<u32>(), w[1].starts_with("MDC_")) {
                    let term = pumpguard_hl7::mdc::by_reference_id(w[1])
                        .unwrap_or_else(|| panic!("{} missing", w[1]));
                    assert_eq!(term.code, code, "{}", w[1]);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
