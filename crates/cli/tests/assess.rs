//! `pumpguard assess …` and `pumpguard report` end to end: the bank as JSON, answers
//! checked and audited, a fixed answer set pinned to its register (golden file), a
//! sensed capture with Telnet into a pump pre-answering the insecure-services question
//! with "no" citing the flow tshark sees, MDS2 forms turned into capability gaps, and
//! the report in every format (the XLSX read back by openpyxl).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::*;
use serde_json::Value;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn questions_list_the_bank_with_its_controls() {
    let db = TestDb::sqlite();
    let qs = stdout_json(&ok(&db, &["assess", "questions", "--format", "json"]));
    let qs = qs.as_array().expect("array");
    assert!(qs.len() >= 40, "{} questions", qs.len());
    for q in qs {
        for field in ["id", "text", "csf", "hipaa", "sp800_53", "mitigates"] {
            assert!(!q[field].is_null(), "{field} missing in {q}");
        }
        assert!(!q["csf"].as_array().expect("csf").is_empty(), "{q}");
    }
    let seg05 = qs.iter().find(|q| q["id"] == "SEG-05").expect("SEG-05");
    assert_eq!(seg05["evidence"], "cleartext_management_on_pumps");
}

#[test]
fn answers_are_checked_stored_and_audited() {
    let db = TestDb::sqlite();
    let out = ok(
        &db,
        &[
            "assess",
            "answer",
            "SEG-05",
            "no",
            "--note",
            "Telnet open on 3 pumps",
        ],
    );
    assert!(stderr(&out).contains("SEG-05: no"), "{}", stderr(&out));
    let out = ok(
        &db,
        &["assess", "answer", "SEG-05", "Yes", "--note", "disabled"],
    );
    assert!(
        stderr(&out).contains("SEG-05: no → yes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count_rows(&db, "assessment_answers"), 1);

    let bad = run(&db, &["assess", "answer", "SEG-99", "yes"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown question 'SEG-99'"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&db, &["assess", "answer", "SEG-05", "maybe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("'maybe' is not an answer"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(stderr(&bad).lines().count(), 1);

    // The person's yes stands; the evidence (nothing sensed: unknown) is kept beside it.
    let reg = stdout_json(&ok(&db, &["assess", "run", "--format", "json"]));
    let access = reg["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .find(|r| r["threat"] == "unauthorized_pump_access")
        .expect("threat");
    let c = access["contributing"]
        .as_array()
        .expect("contributing")
        .iter()
        .find(|c| c["question"] == "SEG-05")
        .expect("SEG-05 lowers it");
    assert_eq!(c["answer"], "yes");
    ok(&db, &["audit", "verify"]);
}

#[test]
fn a_fixed_answer_set_gives_its_golden_register() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite();
    let answers = golden("assess-answers.yaml");
    let out = ok(
        &db,
        &[
            "assess",
            "run",
            "--answers",
            answers.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    );
    let got = stdout_json(&out);
    let path = golden("assess-register.json");
    if std::env::var_os("PUMPGUARD_BLESS").is_some() {
        std::fs::write(&path, &out.stdout).expect("bless");
    }
    let want: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("golden file")).expect("JSON");
    assert_eq!(got, want, "the register for {} changed", answers.display());
    // The three SP 1800-8 risks are all there, on the five-level scale.
    for risk in ["dose_change", "ephi_breach", "disrupted_care"] {
        let level = got["sp1800_8"][risk].as_str().expect(risk);
        assert!(
            ["very_low", "low", "moderate", "high", "very_high"].contains(&level),
            "{risk}: {level}"
        );
    }

    // The same answers as JSON give the same register (on a fresh database: the first
    // run's audit entries let the evidence answer LOG-03, which the file leaves open).
    let yaml: Value =
        serde_norway::from_str(&std::fs::read_to_string(&answers).expect("read")).expect("YAML");
    let json_file = write(dir.path(), "answers.json", &yaml.to_string());
    let fresh = TestDb::sqlite();
    let again = stdout_json(&ok(
        &fresh,
        &["assess", "run", "--answers", &json_file, "--format", "json"],
    ));
    assert_eq!(again, want);

    // A bad answers file names the file and the line, and writes nothing.
    let bad = write(dir.path(), "bad.yaml", "SEG-05: yes\nSEG-01: perhaps\n");
    let out = run(&db, &["assess", "run", "--answers", &bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml: line 2: SEG-01: 'perhaps' is not an answer"),
        "{err}"
    );
    let bad = write(dir.path(), "bad.json", "{\"NOPE-1\": \"yes\"}");
    let out = run(&db, &["assess", "run", "--answers", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.json: line 1: unknown question 'NOPE-1'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count_rows(&db, "assessment_answers"), 0);
}

/// tshark's view of the capture: (client, server) of every Telnet conversation.
fn tshark_telnet(pcap: &Path) -> Vec<(String, String)> {
    let out = Std::new("tshark")
        .args([
            "-r",
            pcap.to_str().expect("utf-8"),
            "-Y",
            "telnet && tcp.dstport == 23",
        ])
        .args(["-T", "fields", "-e", "ip.src", "-e", "ip.dst"])
        .output()
        .expect("tshark is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pairs: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

#[test]
fn telnet_into_a_pump_is_an_evidence_backed_no() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("ward.pcapng");
    let truth = sim(
        &pcap,
        &[
            "--pumps",
            "8",
            "--minutes",
            "3",
            "--seed",
            "5",
            "--scenario",
            "telnet_to_pump",
        ],
    );
    let scenario = &truth["scenarios"][0];
    let attacker = scenario["attacker"]["ip"].as_str().expect("attacker ip");
    let pump = scenario["target"]["ip"].as_str().expect("pump ip");
    assert_eq!(
        tshark_telnet(&pcap),
        [(attacker.to_owned(), pump.to_owned())],
        "tshark sees the Telnet the truth says"
    );

    let db = TestDb::sqlite();
    ok(
        &db,
        &[
            "sense",
            "--pcap",
            pcap.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    );
    let evidence = stdout_json(&ok(&db, &["assess", "evidence", "--format", "json"]));
    let entries = evidence.as_array().expect("array");
    let seg05 = entries
        .iter()
        .find(|e| e["question_id"] == "SEG-05")
        .expect("SEG-05 has a rule");
    assert_eq!(seg05["answer"], "no", "{seg05}");
    let cites = seg05["evidence"]["citations"]
        .as_array()
        .expect("citations");
    let telnet = cites
        .iter()
        .find(|c| c["kind"] == "flow")
        .expect("a flow is cited");
    let key = telnet["id"].as_str().expect("flow key");
    assert!(
        key.contains(attacker) && key.contains(pump) && key.contains(" 23"),
        "{key}"
    );
    assert!(
        telnet["detail"]
            .as_str()
            .expect("detail")
            .starts_with("telnet "),
        "{telnet}"
    );
    // The cited flow is one `flows list` shows.
    let flows = stdout_json(&ok(
        &db,
        &["flows", "list", "--app", "telnet", "--format", "json"],
    ));
    assert!(
        flows
            .as_array()
            .expect("flows")
            .iter()
            .any(|f| f["client_ip"] == attacker && f["server_ip"] == pump),
        "{flows}"
    );
    // The alert the detector raised is cited too.
    assert!(cites.iter().any(|c| c["kind"] == "alert"), "{cites:?}");
    // The audit chain verifies: LOG-03 is answered from it.
    let log03 = entries
        .iter()
        .find(|e| e["question_id"] == "LOG-03")
        .expect("LOG-03");
    assert_eq!(log03["answer"], "yes", "{log03}");
    // Rules without data say unknown, not yes.
    let cred = entries
        .iter()
        .find(|e| e["question_id"] == "CRED-01")
        .expect("CRED-01");
    assert_eq!(cred["answer"], "unknown");
    // The evidence is stored and its changes audited; evaluating again changes nothing.
    assert_eq!(count_rows(&db, "assessment_evidence"), entries.len() as u64);
    let before = count_rows(&db, "audit_log");
    ok(&db, &["assess", "evidence", "--format", "json"]);
    assert_eq!(count_rows(&db, "audit_log"), before);

    // The register names the evidence answer among those behind the risk.
    let reg = stdout_json(&ok(&db, &["assess", "run", "--format", "json"]));
    let access = reg["risks"]
        .as_array()
        .expect("risks")
        .iter()
        .find(|r| r["threat"] == "unauthorized_pump_access")
        .expect("threat");
    assert!(
        access["contributing"]
            .as_array()
            .expect("contributing")
            .iter()
            .any(|c| c["question"] == "SEG-05" && c["answer"] == "no"),
        "{access}"
    );
}

const MDS2_CSV: &str = "\
Manufacturer Disclosure Statement for Medical Device Security -- MDS2
Manufacturer Name,,Example Infusion Co.
Device Model,,Example Pump 9000
Document ID,,EX-MDS2-0001

Question ID,Question,Answer,Note
MPII-1,Can this device display transmit store or modify personally identifiable information?,Yes,
MPII-2,Does the device maintain personally identifiable information?,No,Nothing kept after an infusion ends
NAUT-1,Can the device be configured to authenticate communication partners/nodes?,No,Shared key only
AUTH-1,Does the device support and enforce unique IDs and passwords for all users and roles?,No,
TXCF-1,Can personally identifiable information be transmitted only via a point-to-point dedicated cable?,N/A,
TXCF-2,Is personally identifiable information encrypted prior to transmission via a network or removable media?,Yes,
";

#[test]
fn mds2_no_answers_become_the_models_capability_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite();
    let form = write(dir.path(), "mds2.csv", MDS2_CSV);
    let out = ok(
        &db,
        &[
            "assess",
            "mds2",
            "import",
            &form,
            "--model",
            "Example Pump 9000",
        ],
    );
    let said = stderr(&out);
    // MPII-2's "No" describes the device (it keeps no personal data): no gap.
    assert!(
        said.contains("6 answers, 2 capability gap(s): NAUT-1, AUTH-1"),
        "{said}"
    );
    let gaps = stdout_json(&ok(
        &db,
        &["assess", "mds2", "list", "--gaps", "--format", "json"],
    ));
    let ids: Vec<&str> = gaps
        .as_array()
        .expect("array")
        .iter()
        .map(|g| g["question_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["AUTH-1", "NAUT-1"]);
    assert_eq!(gaps[1]["note"], "Shared key only");

    // A bad form names the file and the row, and stores nothing.
    let bad = write(
        dir.path(),
        "bad.csv",
        &MDS2_CSV.replace("AUTH-1,Does", "ZZZZ-1,Does"),
    );
    let out = run(&db, &["assess", "mds2", "import", &bad, "--model", "Other"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.csv") && err.contains("ZZZZ-1"), "{err}");
    assert_eq!(count_rows(&db, "mds2_answers"), 6);

    // The gaps of a model in service are findings of the report.
    let report = dir.path().join("r.json");
    ok(
        &db,
        &[
            "report",
            "--format",
            "json",
            "--out",
            report.to_str().expect("utf-8"),
        ],
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("JSON");
    let mds2: Vec<&Value> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["source"] == "mds2")
        .collect();
    assert_eq!(mds2.len(), 2, "{mds2:?}");
    assert!(
        mds2.iter()
            .any(|f| f["reference"] == "Example Pump 9000 / NAUT-1")
    );
}

#[test]
fn the_report_is_written_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::sqlite();
    ok(
        &db,
        &["assess", "answer", "SEG-01", "no", "--note", "flat network"],
    );
    ok(&db, &["assess", "answer", "ENC-01", "partial"]);
    for format in ["html", "md", "json", "xlsx"] {
        let out = dir.path().join(format!("report.{format}"));
        ok(
            &db,
            &[
                "report",
                "--format",
                format,
                "--out",
                out.to_str().expect("utf-8"),
            ],
        );
        assert!(
            std::fs::metadata(&out).expect(format).len() > 1000,
            "{format}"
        );
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    assert!(html.contains("SEG-01") && html.contains("flat network"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("md");
    assert!(
        md.contains("POA&M") || md.contains("Plan of action"),
        "no POA&M section"
    );

    // openpyxl reads the workbook: the seven sheets, and one POA&M row per finding.
    let json: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).expect("json"))
            .expect("JSON");
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
poam = list(wb["POA&M"].iter_rows(values_only=True))
print(json.dumps({"sheets": wb.sheetnames, "poam_rows": len(poam) - 1, "poam_header": list(poam[0])}))
"#;
    let out = Std::new("python3")
        .args(["-c", script])
        .arg(dir.path().join("report.xlsx"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        seen["sheets"],
        serde_json::json!([
            "Summary",
            "Risk register",
            "Questionnaire",
            "CSF coverage",
            "HIPAA coverage",
            "Findings",
            "POA&M"
        ])
    );
    assert_eq!(
        seen["poam_rows"].as_u64(),
        Some(json["poam"].as_array().expect("poam").len() as u64)
    );
    assert_eq!(seen["poam_header"][0], "ID");
    // A report to a directory that does not exist fails whole: exit 2, no file.
    let out = run(
        &db,
        &[
            "report",
            "--format",
            "html",
            "--out",
            "/nonexistent/dir/r.html",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
