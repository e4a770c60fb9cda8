//! MDS2 forms: a synthetic form laid out like the HN 1-2019 spreadsheet (no real form is
//! at hand), written as XLSX with `rust_xlsxwriter` and as comma and semicolon CSV, read
//! back; the errors, each naming the file and the place; a form without a header row;
//! and a loop over truncated and pseudo-random inputs that must never panic.

use std::collections::BTreeSet;

use pumpguard_risk::Bank;
use pumpguard_risk::mds2::{self, Mds2Answer, Mds2Error, Mds2Form, Mds2Value};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

fn caps() -> BTreeSet<String> {
    mds2::capabilities(&Bank::builtin().expect("the built-in bank loads"))
}

/// A cell of the synthetic form.
#[derive(Debug, Clone)]
enum C {
    T(String),
    N(f64),
    /// A date cell in XLSX, `yyyy-mm-dd` text in CSV.
    D(u16, u8, u8),
}

fn t(s: &str) -> C {
    C::T(s.to_owned())
}

/// A question of the synthetic form: id, text, answer cell, note, NIST citation, and
/// the answer the reader should see.
struct Q {
    id: &'static str,
    text: &'static str,
    answer: &'static str,
    note: &'static str,
    nist: &'static str,
    value: Option<Mds2Value>,
}

/// Below the header row: section headings (`Err`) and questions (`Ok`).
fn body() -> Vec<Result<Q, &'static str>> {
    use Mds2Value::{No, NotApplicable, SeeNote, Yes};
    let q = |id, text, answer, note, nist, value| {
        Ok(Q {
            id,
            text,
            answer,
            note,
            nist,
            value,
        })
    };
    vec![
        Err("MANAGEMENT OF PERSONALLY IDENTIFIABLE INFORMATION"),
        q(
            "MPII-1",
            "Can this device display, transmit, store, or modify personally identifiable information (e.g. electronic Protected Health Information (ePHI))?",
            "Yes",
            "",
            "AR-2",
            Some(Yes),
        ),
        q(
            "MPII-2",
            "Does the device maintain personally identifiable information?",
            "See Note",
            "Patient ID and infusion history, until the pump is docked",
            "AR-2",
            Some(SeeNote),
        ),
        Err("NODE AUTHENTICATION (NAUT)"),
        q(
            "NAUT-1",
            "Does the device provide/support any means of node authentication that assures both the sender and the recipient of data are known to each other?",
            "No",
            "",
            "SC-23",
            Some(No),
        ),
        q(
            "NAUT-2",
            "Are network access control mechanisms supported (E.g., does the device have an internal firewall, or use a network connection white list)?",
            "N/A",
            "No listening services; the pump only connects out",
            "SC-7",
            Some(NotApplicable),
        ),
        q(
            "NAUT-2.1",
            "Is the firewall ruleset documented and available for review?",
            "",
            "",
            "",
            None,
        ),
        Err("AUTHORIZATION (AUTH)"),
        q(
            "AUTH-1",
            "Does the device prevent access to unauthorized users through user login requirements or other mechanism?",
            "Yes",
            "",
            "AC-3",
            Some(Yes),
        ),
        q(
            "AUTH-2",
            "Are the user accounts role-based?",
            "No",
            "One shared clinician PIN; a separate biomed PIN",
            "AC-2",
            Some(No),
        ),
        Err("AUDIT CONTROLS (AUDT)"),
        q(
            "AUDT-1",
            "Can the medical device create additional audit logs or reports beyond standard operating system logs?",
            "Yes",
            "",
            "AU-1",
            Some(Yes),
        ),
        q(
            "AUDT-1.1",
            "Does the audit log record a USER ID?",
            "No",
            "",
            "AU-3",
            Some(No),
        ),
        Err("MALWARE DETECTION/PROTECTION (MLDP)"),
        q(
            "MLDP-1",
            "Is the device capable of hosting executable software?",
            " yes ",
            "",
            "",
            Some(Yes),
        ),
        q(
            "MLDP-2",
            "Does the device support the use of anti-malware software (or other anti-malware mechanism)?",
            "n/a",
            "Embedded RTOS; no third-party software can be installed",
            "SI-3",
            Some(NotApplicable),
        ),
        Err("REMOTE SERVICE (RMOT)"),
        q(
            "RMOT-1",
            "Does the device permit remote service connections for device analysis or repair?",
            "Yes",
            "Vendor VPN, opened by the customer",
            "AC-17",
            Some(Yes),
        ),
        Err("SOFTWARE BILL OF MATERIALS (SBOM)"),
        q(
            "SBOM-1",
            "Is the SBOM for this product available?",
            "See Note",
            "On request, under NDA; \"CycloneDX 1.5\"",
            "CM-8",
            Some(SeeNote),
        ),
        Err("TRANSMISSION CONFIDENTIALITY (TXCF)"),
        q(
            "TXCF-1",
            "Can personally identifiable information be transmitted only via a point-to-point dedicated cable?",
            "No",
            "",
            "SC-8",
            Some(No),
        ),
        q(
            "TXCF-2",
            "Is personally identifiable information encrypted prior to transmission via a network or removable media?",
            "Yes",
            "TLS 1.2, AES-256-GCM",
            "SC-8",
            Some(Yes),
        ),
        Err("TRANSMISSION INTEGRITY (TXIG)"),
        q(
            "TXIG-1",
            "Does the device support any mechanism (e.g., digital signatures) intended to ensure data is not modified during transmission?",
            "No",
            "",
            "SC-8",
            Some(No),
        ),
    ]
}

/// The header row is row 10 of the form.
const HEADER_ROW: usize = 10;

/// The form's rows, each a list of cells (`None` empty).
fn form_rows() -> Vec<Vec<Option<C>>> {
    let mut rows: Vec<Vec<Option<C>>> = vec![
        vec![Some(t(
            "Manufacturer Disclosure Statement for Medical Device Security -- MDS2",
        ))],
        // An empty cell between label and value.
        vec![
            Some(t("Manufacturer Name")),
            None,
            Some(t("Acme Infusion Systems")),
        ],
        vec![
            Some(t("Device Description")),
            Some(t("Large-volume infusion pump")),
        ],
        // The model looks like a question id: identification rows are not questions.
        vec![Some(t("Device Model")), Some(t("AIS-5000"))],
        vec![Some(t("Document ID")), Some(t("MDS2-AIS5000-2019-r3"))],
        vec![
            Some(t("Manufacturer Contact Information")),
            Some(t("psirt@acme.example, +1 555 0100")),
        ],
        vec![
            Some(t(
                "Intended use of device in network-connected environment:",
            )),
            Some(t(
                "Infusion; drug library updates and event logs over Wi-Fi",
            )),
        ],
        vec![Some(t("Document Release Date")), Some(C::D(2019, 6, 1))],
        vec![],
        [
            "Question ID",
            "Question",
            "Answer",
            "#",
            "Note",
            "IEC TR 80001-2-2:2012",
            "NIST SP 800-53 Rev. 4",
        ]
        .iter()
        .map(|h| Some(t(h)))
        .collect(),
    ];
    assert_eq!(rows.len(), HEADER_ROW);
    let mut number = 0.0;
    for line in body() {
        match line {
            Err(heading) => rows.push(vec![Some(t(heading))]),
            Ok(q) => {
                number += 1.0;
                let text = |s: &str| (!s.is_empty()).then(|| t(s));
                let capability = q.id.split('-').next().expect("prefix");
                rows.push(vec![
                    Some(t(q.id)),
                    Some(t(q.text)),
                    text(q.answer),
                    Some(C::N(number)),
                    text(q.note),
                    Some(t(&format!("Section 5, {capability}"))),
                    text(q.nist),
                ]);
            }
        }
    }
    rows
}

/// What reading the form should give.
fn expected() -> Mds2Form {
    let answers = body()
        .into_iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let q = line.ok()?;
            Some(Mds2Answer {
                id: q.id.to_owned(),
                capability: q.id.split('-').next().expect("prefix").to_owned(),
                question: q.text.to_owned(),
                answer: q.value?,
                note: (!q.note.is_empty()).then(|| q.note.to_owned()),
                row: HEADER_ROW + i + 1,
            })
        })
        .collect();
    Mds2Form {
        manufacturer: Some("Acme Infusion Systems".to_owned()),
        model: Some("AIS-5000".to_owned()),
        document_id: Some("MDS2-AIS5000-2019-r3".to_owned()),
        release_date: Some("2019-06-01".to_owned()),
        answers,
    }
}

/// An XLSX like the real form: a cover sheet without questions, then the form on a
/// sheet named "MDS2", one column in from the left.
fn xlsx(rows: &[Vec<Option<C>>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let cover = workbook.add_worksheet();
    cover.set_name("Cover").expect("sheet name");
    cover
        .write_string(0, 0, "MDS2 for the AIS-5000 infusion pump")
        .expect("cell");
    cover
        .write_string(2, 0, "Answer every question Yes, No, N/A or See Note.")
        .expect("cell");
    cover.write_string(3, 0, "Revision").expect("cell");
    cover.write_number(3, 1, 3).expect("cell");

    let date = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = workbook.add_worksheet();
    sheet.set_name("MDS2").expect("sheet name");
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).expect("row");
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c + 1).expect("column");
            match cell {
                None => {}
                Some(C::T(s)) => {
                    sheet.write_string(r, c, s).expect("cell");
                }
                Some(C::N(n)) => {
                    sheet.write_number(r, c, *n).expect("cell");
                }
                Some(C::D(y, m, d)) => {
                    let dt = ExcelDateTime::from_ymd(*y, *m, *d).expect("date");
                    sheet
                        .write_datetime_with_format(r, c, &dt, &date)
                        .expect("cell");
                }
            }
        }
    }
    workbook.save_to_buffer().expect("XLSX")
}

/// The same rows as CSV.
fn csv_text(rows: &[Vec<Option<C>>], delimiter: u8, crlf: bool) -> String {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .terminator(if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(Vec::new());
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                None => String::new(),
                Some(C::T(s)) => s.clone(),
                Some(C::N(n)) => n.to_string(),
                Some(C::D(y, m, d)) => format!("{y:04}-{m:02}-{d:02}"),
            })
            .collect();
        // Keep at least one field so that empty rows stay rows.
        if cells.is_empty() {
            writer.write_record([""]).expect("record");
        } else {
            writer.write_record(&cells).expect("record");
        }
    }
    String::from_utf8(writer.into_inner().expect("flush")).expect("UTF-8")
}

fn read_ok(name: &str, bytes: &[u8]) -> Mds2Form {
    match mds2::read(name, bytes, &caps()) {
        Ok(form) => form,
        Err(e) => panic!("{name} should read: {e}"),
    }
}

fn read_err(name: &str, bytes: &[u8]) -> Mds2Error {
    match mds2::read(name, bytes, &caps()) {
        Ok(form) => panic!("{name} should not read, got {form:?}"),
        Err(e) => e,
    }
}

/// The form's rows with question `id`'s answer cell replaced.
fn with_answer(id: &str, answer: &str) -> Vec<Vec<Option<C>>> {
    let mut rows = form_rows();
    let row = rows
        .iter_mut()
        .find(|r| matches!(r.first(), Some(Some(C::T(s))) if s == id))
        .expect("question row");
    row[2] = Some(t(answer));
    rows
}

fn ids(form: &Mds2Form) -> Vec<&str> {
    form.answers.iter().map(|a| a.id.as_str()).collect()
}

#[test]
fn xlsx_form_reads_identification_answers_and_gaps() {
    let form = read_ok("acme-mds2.xlsx", &xlsx(&form_rows()));
    assert_eq!(form.manufacturer.as_deref(), Some("Acme Infusion Systems"));
    assert_eq!(form.model.as_deref(), Some("AIS-5000"));
    assert_eq!(form.document_id.as_deref(), Some("MDS2-AIS5000-2019-r3"));
    assert_eq!(form.release_date.as_deref(), Some("2019-06-01"));
    assert_eq!(
        ids(&form),
        [
            "MPII-1", "MPII-2", "NAUT-1", "NAUT-2", "AUTH-1", "AUTH-2", "AUDT-1", "AUDT-1.1",
            "MLDP-1", "MLDP-2", "RMOT-1", "SBOM-1", "TXCF-1", "TXCF-2", "TXIG-1"
        ],
        "NAUT-2.1 is unanswered, headings and the cover sheet are not questions"
    );
    let naut1 = form.answer("NAUT-1").expect("NAUT-1");
    assert_eq!(naut1.row, 15);
    assert_eq!(naut1.capability, "NAUT");
    assert_eq!(naut1.answer, Mds2Value::No);
    assert_eq!(naut1.note, None);
    assert!(
        naut1
            .question
            .starts_with("Does the device provide/support")
    );
    let sbom = form.answer("SBOM-1").expect("SBOM-1");
    assert_eq!(
        (sbom.row, sbom.answer, sbom.note.as_deref()),
        (
            30,
            Mds2Value::SeeNote,
            Some("On request, under NDA; \"CycloneDX 1.5\"")
        )
    );
    assert_eq!(
        form.answer("MLDP-1").expect("MLDP-1").answer,
        Mds2Value::Yes
    );
    assert_eq!(form, expected());
    let gaps: Vec<&str> = form.gaps().map(|a| a.id.as_str()).collect();
    assert_eq!(gaps, ["NAUT-1", "AUTH-2", "AUDT-1.1", "TXCF-1", "TXIG-1"]);
}

#[test]
fn csv_form_reads_like_the_xlsx() {
    let text = csv_text(&form_rows(), b',', false);
    assert!(text.contains("\"psirt@acme.example, +1 555 0100\""));
    assert_eq!(read_ok("acme-mds2.csv", text.as_bytes()), expected());
}

#[test]
fn semicolon_csv_with_bom_and_crlf_reads_like_the_xlsx() {
    let text = csv_text(&form_rows(), b';', true);
    // The title line has no delimiter: the next line decides.
    assert!(text.starts_with(
        "Manufacturer Disclosure Statement for Medical Device Security -- MDS2\r\nManufacturer Name;;"
    ));
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    let form = read_ok("acme-mds2.csv", &bytes);
    assert_eq!(form, expected());
    assert_eq!(
        read_ok("acme-mds2.xlsx", &xlsx(&form_rows())),
        form,
        "XLSX and CSV agree"
    );
}

#[test]
fn form_without_header_row_reads_left_to_right() {
    let text = "\
MDS2 summary sheet,,,,
Manufacturer Name,Acme Infusion Systems,,,
Device Model,,AIS-5000,,
NAUT-1,Does the device authenticate nodes?,No,SC-23,
,,,,
AUTH-1,Can the device prevent access to unauthorized users?,Yes,AC-3,
,,PAUT-1,Does the device support person authentication?,Y
TXCF-2,3,Is PII encrypted before it is transmitted?,See Note,TLS 1.2 only
ALOF-1,Can the device be configured to force reauthorization?,,AC-12,
,,AC-3,SC-8,
MPII-1,Does the device store PII?,n,,
";
    let form = read_ok("summary.csv", text.as_bytes());
    assert_eq!(form.manufacturer.as_deref(), Some("Acme Infusion Systems"));
    assert_eq!(form.model.as_deref(), Some("AIS-5000"));
    assert_eq!(form.document_id, None);
    let got: Vec<(&str, Mds2Value, &str, usize)> = form
        .answers
        .iter()
        .map(|a| (a.id.as_str(), a.answer, a.question.as_str(), a.row))
        .collect();
    assert_eq!(
        got,
        [
            (
                "NAUT-1",
                Mds2Value::No,
                "Does the device authenticate nodes?",
                4
            ),
            (
                "AUTH-1",
                Mds2Value::Yes,
                "Can the device prevent access to unauthorized users?",
                6
            ),
            (
                "PAUT-1",
                Mds2Value::Yes,
                "Does the device support person authentication?",
                7
            ),
            (
                "TXCF-2",
                Mds2Value::SeeNote,
                "Is PII encrypted before it is transmitted?",
                8
            ),
            ("MPII-1", Mds2Value::No, "Does the device store PII?", 11),
        ]
    );
    assert!(form.answers.iter().all(|a| a.note.is_none()));
    // MPII-1's "No" says the device stores no PII: a description, not a missing
    // capability.
    let gaps: Vec<&str> = form.gaps().map(|a| a.id.as_str()).collect();
    assert_eq!(gaps, ["NAUT-1"]);
}

#[test]
fn csv_rows_are_the_lines_they_start_on() {
    let text = "Question ID,Answer,Note\r\n\r\n\nNAUT-1,See Note,\"Certificates, \"\"pinned\"\"\r\nper site\"\nAUTH-1,No\rTXCF-1,  N  ,";
    let form = read_ok("lines.csv", text.as_bytes());
    let got: Vec<(&str, usize, Option<&str>)> = form
        .answers
        .iter()
        .map(|a| (a.id.as_str(), a.row, a.note.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("NAUT-1", 4, Some("Certificates, \"pinned\"\nper site")),
            ("AUTH-1", 6, None),
            ("TXCF-1", 7, None),
        ]
    );
}

#[test]
fn numbered_identification_rows_are_not_questions() {
    // The 2019 form numbers its identification rows DOC-1 … DOC-7, with free text in
    // the answer column.
    let text = "\
Question ID,Question,\"Yes, No, N/A, or See Note\",Note
DOC-1,Manufacturer Name,Acme Infusion Systems,
DOC-2,Device Description,Large-volume infusion pump,
DOC-3,Device Model,AIS-5000,
DOC-4,Document ID,MDS2-AIS5000-2019-r3,
DOC-5,Manufacturer Contact Information,psirt@acme.example,
DOC-6,Intended use of device in network-connected environment:,Infusion at the bedside,
DOC-7,Document Release Date,2019-06-01,
DOC-8,Coordinated Vulnerability Disclosure: Does the manufacturer have a vulnerability disclosure program for this device?,Yes,https://acme.example/psirt
";
    let form = read_ok("doc.csv", text.as_bytes());
    assert_eq!(form.manufacturer.as_deref(), Some("Acme Infusion Systems"));
    assert_eq!(form.model.as_deref(), Some("AIS-5000"));
    assert_eq!(form.document_id.as_deref(), Some("MDS2-AIS5000-2019-r3"));
    assert_eq!(form.release_date.as_deref(), Some("2019-06-01"));
    assert_eq!(ids(&form), ["DOC-8"]);
    let doc8 = &form.answers[0];
    assert_eq!(doc8.row, 9);
    assert_eq!(doc8.note.as_deref(), Some("https://acme.example/psirt"));
    assert_eq!(doc8.answer, Mds2Value::Yes);
}

#[test]
fn unknown_capability_is_an_error_naming_file_and_row() {
    let mut rows = form_rows();
    rows[14][0] = Some(t("XYZW-1"));
    let e = read_err("acme-mds2.xlsx", &xlsx(&rows));
    assert_eq!(e.file, "acme-mds2.xlsx");
    assert_eq!(e.place, "sheet 'MDS2', row 15");
    assert!(
        e.message.starts_with(
            "'XYZW-1' is not an MDS2 question: XYZW is not an IEC TR 80001-2-2 capability (ALOF, AUDT, AUTH, CNFS, CONN, CSUP, DIDT, DOC,"
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("acme-mds2.xlsx: sheet 'MDS2', row 15: 'XYZW-1'"),
        "{e}"
    );

    let e = read_err("acme-mds2.csv", csv_text(&rows, b',', false).as_bytes());
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("acme-mds2.csv", "line 15")
    );
    assert!(
        e.message.starts_with("'XYZW-1' is not an MDS2 question"),
        "{e}"
    );

    // Without a header row too, when the row is answered.
    let e = read_err("h.csv", b"title\nXYZW-1,Is it?,Yes\n");
    assert_eq!(e.place, "line 2");
    assert!(
        e.message.starts_with("'XYZW-1' is not an MDS2 question"),
        "{e}"
    );
}

#[test]
fn capabilities_are_handed_in() {
    let only_naut: BTreeSet<String> = ["NAUT".to_owned()].into();
    let text = "Question ID,Answer\nNAUT-1,Yes\nAUTH-1,No\n";
    let e = mds2::read("f.csv", text.as_bytes(), &only_naut).expect_err("AUTH unknown");
    assert_eq!(
        e.to_string(),
        "f.csv: line 3: 'AUTH-1' is not an MDS2 question: AUTH is not an IEC TR 80001-2-2 capability (NAUT)"
    );
    let form =
        mds2::read("f.csv", b"Question ID,Answer\nNAUT-1,Yes\n", &only_naut).expect("NAUT known");
    assert_eq!(ids(&form), ["NAUT-1"]);
}

#[test]
fn bad_answer_word_is_an_error_naming_file_and_row() {
    let rows = with_answer("NAUT-1", "Maybe");
    let e = read_err("acme-mds2.xlsx", &xlsx(&rows));
    assert_eq!(
        e.to_string(),
        "acme-mds2.xlsx: sheet 'MDS2', row 15: answer 'Maybe' to NAUT-1 is not Yes, No, N/A or See Note"
    );
    let e = read_err("acme-mds2.csv", csv_text(&rows, b';', false).as_bytes());
    assert_eq!(
        e.to_string(),
        "acme-mds2.csv: line 15: answer 'Maybe' to NAUT-1 is not Yes, No, N/A or See Note"
    );
}

#[test]
fn conflicting_duplicate_is_an_error_and_a_repeat_is_not() {
    let mut rows = form_rows();
    let last = rows.len() + 1;
    rows.push(vec![
        Some(t("NAUT-1")),
        Some(t("Node authentication, again")),
        Some(t("Yes")),
    ]);
    let e = read_err("acme-mds2.xlsx", &xlsx(&rows));
    assert_eq!(e.file, "acme-mds2.xlsx");
    assert_eq!(e.place, format!("sheet 'MDS2', row {last}"));
    assert_eq!(
        e.message,
        "NAUT-1 answered Yes here but No at sheet 'MDS2', row 15"
    );
    let e = read_err("acme-mds2.csv", csv_text(&rows, b',', false).as_bytes());
    assert_eq!(e.place, format!("line {last}"));
    assert_eq!(e.message, "NAUT-1 answered Yes here but No at line 15");

    // The same answer twice is kept once, where it was first given.
    let mut rows = form_rows();
    rows.push(vec![Some(t("NAUT-1")), Some(t("Again")), Some(t("no"))]);
    assert_eq!(read_ok("acme-mds2.xlsx", &xlsx(&rows)), expected());
}

#[test]
fn no_questions_is_an_error() {
    let text =
        "Manufacturer Name,Acme\nQuestion ID,Question,Answer\nNODE AUTHENTICATION (NAUT),,\n";
    let e = read_err("empty-form.csv", text.as_bytes());
    assert_eq!(
        e.to_string(),
        "empty-form.csv: lines 1-3: no MDS2 question ids (like NAUT-1) found"
    );
    let e = read_err("nothing.csv", b"");
    assert_eq!(
        e.to_string(),
        "nothing.csv: empty file: no MDS2 question ids (like NAUT-1) found"
    );

    // A workbook of the cover sheet and a form with its questions cut off.
    let rows: Vec<_> = form_rows().into_iter().take(HEADER_ROW + 1).collect();
    let e = read_err("cut.xlsx", &xlsx(&rows));
    assert_eq!(e.file, "cut.xlsx");
    assert_eq!(e.place, "sheets 'Cover', 'MDS2'");
    assert_eq!(e.message, "no MDS2 question ids (like NAUT-1) found");

    // Ids present but none answered: the form reads, with no answers.
    let form = read_ok("blank.csv", b"Question ID,Answer\nNAUT-1,\nAUTH-1,\n");
    assert!(form.answers.is_empty());
}

#[test]
fn unreadable_input_is_an_error() {
    let mut junk = b"PK\x03\x04".to_vec();
    junk.extend(
        b"\x14\x00this is not a zip archive at all"
            .iter()
            .cycle()
            .take(300),
    );
    let e = read_err("junk.xlsx", &junk);
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("junk.xlsx", "workbook")
    );
    assert!(e.message.starts_with("not a readable workbook: "), "{e}");

    let e = read_err("latin1.csv", b"Question ID,Answer\nNAUT-1,Oui \xe9\n");
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("latin1.csv", "line 2")
    );
    assert!(e.message.contains("not UTF-8"), "{e}");
}

#[test]
fn bank_knows_every_mds2_section() {
    let caps = caps();
    for code in [
        "MPII", "NAUT", "ALOF", "AUDT", "AUTH", "CSUP", "IGAU", "DIDT", "DTBK", "EMRG", "MLDP",
        "PAUT", "PLOK", "RDMP", "SBOM", "SAHD", "SGUD", "STCF", "TXCF", "TXIG", "RMOT", "CONN",
        "DOC", "CNFS",
    ] {
        assert!(caps.contains(code), "{code} missing from iec-80001-2-2.csv");
    }
}

#[test]
fn values_serialize_in_snake_case_and_display_as_the_form_writes_them() {
    let yaml = |v: Mds2Value| serde_norway::to_string(&v).expect("YAML");
    assert_eq!(yaml(Mds2Value::Yes).trim(), "yes");
    assert_eq!(yaml(Mds2Value::No).trim(), "no");
    assert_eq!(yaml(Mds2Value::NotApplicable).trim(), "not_applicable");
    assert_eq!(yaml(Mds2Value::SeeNote).trim(), "see_note");
    assert_eq!(
        serde_norway::from_str::<Mds2Value>("see_note").expect("YAML"),
        Mds2Value::SeeNote
    );
    assert_eq!(Mds2Value::NotApplicable.to_string(), "N/A");
    for (word, value) in [
        ("Y", Mds2Value::Yes),
        ("  NO ", Mds2Value::No),
        ("Not  Applicable", Mds2Value::NotApplicable),
        ("NA", Mds2Value::NotApplicable),
        ("See Notes", Mds2Value::SeeNote),
        ("note", Mds2Value::SeeNote),
    ] {
        assert_eq!(Mds2Value::parse(word), Some(value), "{word}");
    }
    assert_eq!(Mds2Value::parse("Maybe"), None);
    let form = expected();
    let back: Mds2Form =
        serde_norway::from_str(&serde_norway::to_string(&form).expect("YAML")).expect("YAML");
    assert_eq!(back, form);
}

/// A small LCG (Knuth's MMIX constants): deterministic, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).expect("31 bits fit") % n
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

#[test]
fn no_input_panics() {
    let caps = caps();
    // Ok or Err, but it returns.
    let survives = |name: &str, bytes: &[u8]| {
        let _ = mds2::read(name, bytes, &caps);
    };
    let book = xlsx(&form_rows());
    for len in 0..book.len() {
        survives("cut.xlsx", &book[..len]);
    }
    let text = csv_text(&form_rows(), b',', false);
    for len in 0..=text.len() {
        survives("cut.csv", &text.as_bytes()[..len]);
    }
    let semi = csv_text(&form_rows(), b';', true);
    for len in (0..=semi.len()).step_by(7) {
        survives("cut.csv", &semi.as_bytes()[..len]);
    }

    let mut rng = Lcg(0x4d44_5332);
    // The workbook with a few bytes changed.
    for _ in 0..300 {
        let mut bytes = book.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            bytes[at] = rng.byte();
        }
        survives("mutated.xlsx", &bytes);
    }
    // Random bytes, ZIP-looking bytes, and token soup that parses as CSV.
    let tokens = [
        "NAUT-1",
        "AUDT-1.1",
        "XYZW-9",
        "DOC-1",
        "AC-3",
        "A-1",
        "NAUT-",
        "-1",
        "Yes",
        "no",
        "N/A",
        "see note",
        "Maybe",
        "Question ID",
        "ID",
        "Answer",
        "Note",
        "Question",
        "Manufacturer Name",
        "Device Model",
        "Document ID",
        "\"",
        "\"\"",
        ",",
        ";",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\u{feff}",
        "\u{a0}",
        "é",
        "1.0",
        "",
    ];
    for i in 0..3000 {
        let len = rng.below(400);
        let bytes: Vec<u8> = match i % 4 {
            0 => (0..len).map(|_| rng.byte()).collect(),
            1 => b"PK\x03\x04"
                .iter()
                .copied()
                .chain((0..len).map(|_| rng.byte()))
                .collect(),
            2 => [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
                .into_iter()
                .chain((0..len).map(|_| rng.byte()))
                .collect(),
            _ => (0..len / 4)
                .map(|_| tokens[rng.below(tokens.len())])
                .collect::<String>()
                .into_bytes(),
        };
        survives("random", &bytes);
    }
}
