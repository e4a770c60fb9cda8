//! Each format is read back by a tool this crate did not write: the workbook by Python's
//! openpyxl, the HTML page by headless Chromium (a screenshot and the DOM it built), the
//! Markdown by a pipe-table parser that counts cells the way GFM splits them, and the
//! JSON by serde back into the assessment it came from.
//!
//! The artifacts (workbook, page, screenshots) stay under the target's temporary
//! directory, `report/`, for a person to look at.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use pumpguard_report::{Format, render};
use pumpguard_risk::evidence::{Citation, Evidence};
use pumpguard_risk::{
    Answer, Assessment, Bank, EvidenceAnswer, FindingInput, HumanAnswer, Level, assess, merge,
};

const XSS: &str = "<script>alert(1)</script>";
const MDS2_REFERENCE: &str = "ACME Infuse 3 / NAUT-1";

fn at() -> Timestamp {
    "2026-12-05T08:00:00Z".parse().expect("a fixed time")
}

fn human(answer: Answer, note: Option<&str>) -> HumanAnswer {
    HumanAnswer {
        answer,
        note: note.map(str::to_owned),
        actor: "biomed.lead".into(),
        answered: at(),
    }
}

/// A mix of answers: some yes, some partial, some no, one not applicable, SEG-05 from
/// evidence (a cleartext management flow), the rest unanswered; and one MDS2 gap.
fn assessment() -> Assessment {
    let bank = Bank::builtin().expect("the built-in bank loads");
    let answers = BTreeMap::from([
        ("INV-01".to_owned(), human(Answer::Yes, None)),
        (
            "INV-02".to_owned(),
            human(Answer::Yes, Some("CMDB reconciled monthly")),
        ),
        ("CRED-01".to_owned(), human(Answer::Partial, None)),
        ("PWD-01".to_owned(), human(Answer::Partial, None)),
        ("SEG-01".to_owned(), human(Answer::No, Some(XSS))),
        (
            "ENC-01".to_owned(),
            human(
                Answer::No,
                Some("PSK on the pump SSID | shared with the\nbiomed laptops"),
            ),
        ),
        ("LOG-01".to_owned(), human(Answer::Yes, None)),
        ("BAK-01".to_owned(), human(Answer::Yes, None)),
        ("IR-01".to_owned(), human(Answer::No, None)),
        ("PHYS-01".to_owned(), human(Answer::Na, None)),
    ]);
    let evidence = vec![EvidenceAnswer {
        question_id: "SEG-05".into(),
        answer: Answer::No,
        evidence: Evidence {
            rule: "cleartext_management_on_pumps".into(),
            summary: "1 pump answers Telnet on the pump segment".into(),
            citations: vec![Citation {
                kind: "flow".into(),
                id: "tcp 10.20.0.15 23 10.20.9.4 51514".into(),
                detail: "telnet 10.20.9.4:51514 → 10.20.0.15:23 (tcp), 42 packets".into(),
            }],
        },
    }];
    let answered = merge(&bank, &answers, &evidence);
    let outside = vec![FindingInput {
        source: "mds2".into(),
        reference: MDS2_REFERENCE.into(),
        title: "Pump cannot encrypt data at rest (MDS2 NAUT-1: no)".into(),
        detail: "The manufacturer's MDS2 form says the pump stores ePHI unencrypted.".into(),
        risk_level: Level::High,
        controls: vec![
            "PR.DS-01".into(),
            "164.312(a)(2)(iv)".into(),
            "SC-28".into(),
        ],
        remediation: "Limit the ePHI kept on the pump; wipe pumps before they leave.".into(),
    }];
    assess(
        &bank,
        "St. Example Hospital — infusion pumps, Q4 2026",
        at(),
        answered,
        outside,
    )
}

/// Where this test's artifacts go: `$CARGO_TARGET_TMPDIR/report/`.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&dir).expect("create the artifact directory");
    dir
}

/// Runs `cmd`, killing it after `limit`. Its output is read as it comes, so a child
/// writing more than a pipe holds does not block.
fn run(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                p.read_to_end(&mut buf).expect("read the child's output");
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().expect("kill the child");
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn text(a: &Assessment, format: Format) -> String {
    String::from_utf8(render(a, format).expect("renders")).expect("UTF-8")
}

// --- XLSX ------------------------------------------------------------------------

const OPENPYXL: &str = r#"
import json, sys
import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "tables": {}}
for name in wb.sheetnames[1:]:
    ws = wb[name]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    out["tables"][name] = {
        "header": rows[0],
        "rows": rows[1:],
        "bold_header": all(c.font.b for c in ws[1]),
        "freeze": ws.freeze_panes,
        "autofilter": ws.auto_filter.ref,
    }
out["poam_header"] = out["tables"]["POA&M"]["header"]
out["poam_rows"] = len(out["tables"]["POA&M"]["rows"])
out["register_row"] = out["tables"]["Risk register"]["rows"][0]
summary = wb["Summary"]
out["summary"] = [[c.value for c in r] for r in summary.iter_rows()]
print(json.dumps(out))
"#;

fn column(table: &serde_json::Value, name: &str) -> Vec<serde_json::Value> {
    let header = table["header"].as_array().expect("header");
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[i].clone())
        .collect()
}

#[test]
fn xlsx_reads_back_in_openpyxl() {
    let a = assessment();
    let bytes = render(&a, Format::Xlsx).expect("renders");
    assert!(bytes.starts_with(b"PK\x03\x04"), "a zip file");
    let path = artifacts().join("assessment.xlsx");
    std::fs::write(&path, &bytes).expect("write the workbook");

    let out = run(
        Command::new("python3").arg("-c").arg(OPENPYXL).arg(&path),
        Duration::from_secs(120),
        "python3 with openpyxl",
    );
    assert!(
        out.status.success(),
        "openpyxl could not read the workbook (is pip `openpyxl` installed? .ci/run installs \
         it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");

    assert_eq!(
        got["sheets"],
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
        got["poam_header"],
        serde_json::json!([
            "ID",
            "Finding",
            "Weakness",
            "Controls",
            "Risk level",
            "Remediation",
            "Milestone",
            "Scheduled completion",
            "Responsible",
            "Status"
        ])
    );
    assert_eq!(got["poam_rows"], a.poam.len());
    assert!(!a.poam.is_empty());

    // Every table sheet: bold header, frozen below it, filtered over the whole table.
    for (name, table) in got["tables"].as_object().expect("tables") {
        assert_eq!(table["bold_header"], true, "{name}");
        assert_eq!(table["freeze"], "A2", "{name}");
        let filter = table["autofilter"].as_str().expect("an autofilter");
        let rows = table["rows"].as_array().expect("rows").len();
        assert!(filter.starts_with("A1:"), "{name}: {filter}");
        assert!(
            filter.ends_with(&format!("{}", rows + 1)),
            "{name}: {filter}"
        );
    }

    // The register's first row is the assessment's worst threat event.
    let top = &a.register.risks[0];
    let row = got["register_row"].as_array().expect("a register row");
    assert_eq!(row[0], top.threat.as_str());
    assert_eq!(row[1], top.name.as_str());
    let risk = column(&got["tables"]["Risk register"], "Risk level");
    assert_eq!(risk[0], level_name(top.risk_level));
    let contributing = column(&got["tables"]["Risk register"], "Contributing questions");
    assert_eq!(risk.len(), a.register.risks.len());
    assert!(
        contributing
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.contains("SEG-05 no"))),
        "{contributing:?}"
    );

    // The finding SEG-05's evidence made, and the MDS2 gap, are in the Findings sheet.
    let findings = &got["tables"]["Findings"];
    let refs = column(findings, "Reference");
    assert!(refs.contains(&serde_json::json!("SEG-05")), "{refs:?}");
    assert!(
        refs.contains(&serde_json::json!(MDS2_REFERENCE)),
        "{refs:?}"
    );
    assert_eq!(refs.len(), a.findings.len());

    // Scores are numbers (or n/a where nothing applies), as the assessment has them.
    let scores = column(&got["tables"]["CSF coverage"], "Score (%)");
    for (cell, c) in scores.iter().zip(&a.csf_coverage) {
        match c.score {
            Some(s) => assert_eq!(cell.as_f64(), Some(s), "{}", c.key),
            None => assert_eq!(cell, "n/a", "{}", c.key),
        }
    }
    let answers = column(&got["tables"]["Questionnaire"], "Answer");
    assert_eq!(answers.len(), a.questions.len());
    assert!(
        got["summary"]
            .as_array()
            .expect("summary rows")
            .iter()
            .any(|r| r[0] == "Generated (UTC)" && r[1] == "2026-12-05T08:00:00Z")
    );
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::VeryLow => "Very low",
        Level::Low => "Low",
        Level::Moderate => "Moderate",
        Level::High => "High",
        Level::VeryHigh => "Very high",
    }
}

// --- HTML ------------------------------------------------------------------------

/// The values of every `attr="…"` in the page.
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!("{attr}=");
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&needle) {
        let start = from + i + needle.len();
        let rest = &html[start..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest.split([' ', '>']).next().unwrap_or(""),
        };
        out.push(value);
        from = start;
    }
    out
}

#[test]
fn html_is_self_contained_and_escaped() {
    let a = assessment();
    let html = text(&a, Format::Html);
    assert!(html.starts_with("<!doctype html>\n"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("@media print"));
    assert!(html.contains("break-before: page"));
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<script"),
        "no script, not even escaped input"
    );
    assert!(!lower.contains("<link"), "no external stylesheet");
    assert!(!lower.contains("@import") && !lower.contains("url("));
    for attr in ["src", "href", "srcset", "action"] {
        for v in attribute_values(&html, attr) {
            let v = v.trim().to_ascii_lowercase();
            assert!(
                !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                "{attr}={v}"
            );
            assert!(v.starts_with('#'), "only links within the page: {attr}={v}");
        }
    }
    // The note with markup is shown as text.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains(XSS));
    // Tables have captions and column headers.
    assert_eq!(
        html.matches("<table").count(),
        html.matches("<caption>").count()
    );
    assert!(html.contains("<th scope=\"col\">Threat event</th>"));
    // Levels are words on a badge, not colour alone.
    assert!(html.contains(&format!(
        "<span class=\"badge lvl-{}\">{}</span>",
        a.summary.highest_risk.as_str(),
        level_name(a.summary.highest_risk)
    )));
    for id in a.poam.iter().map(|p| &p.id) {
        assert!(html.contains(id.as_str()), "{id}");
    }
}

/// Headless Chromium, or a failure that says CI installs it.
fn chromium() -> &'static str {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "chromium is not installed (looked for `chromium` on PATH): CI installs the `chromium` \
         apt package in .ci/run; here run `apt-get install chromium`"
    );
    "chromium"
}

fn headless(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn screenshot(html: &Path, png: &Path, size: &str, profile: &Path) {
    let _ = std::fs::remove_file(png);
    let out = run(
        headless(profile)
            .arg(format!("--window-size={size}"))
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", html.display())),
        Duration::from_secs(180),
        "chromium --screenshot",
    );
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        bytes.len() > 20 * 1024,
        "{} is {} bytes: a blank page?",
        png.display(),
        bytes.len()
    );
}

#[test]
fn html_renders_in_headless_chromium() {
    let a = assessment();
    let dir = artifacts();
    let html = dir.join("assessment.html");
    std::fs::write(&html, render(&a, Format::Html).expect("renders")).expect("write the page");

    // A desktop screen, and a tablet held upright.
    screenshot(
        &html,
        &dir.join("assessment.png"),
        "1280,2000",
        &dir.join("chromium-desktop"),
    );
    screenshot(
        &html,
        &dir.join("assessment-tablet.png"),
        "820,1180",
        &dir.join("chromium-tablet"),
    );

    let out = run(
        headless(&dir.join("chromium-dom"))
            .arg("--dump-dom")
            .arg(format!("file://{}", html.display())),
        Duration::from_secs(180),
        "chromium --dump-dom",
    );
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<h2 id=\"h-register\">Risk register</h2>"),
        "the register heading in the DOM"
    );
    assert!(dom.contains(a.poam[0].id.as_str()), "a POA&M id in the DOM");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.to_ascii_lowercase().contains("<script"));

    // Keep the page and its screenshots, not Chromium's profiles.
    for profile in ["chromium-desktop", "chromium-tablet", "chromium-dom"] {
        let _ = std::fs::remove_dir_all(dir.join(profile));
    }
}

// --- Markdown --------------------------------------------------------------------

/// A table row's cells, split on the pipes GFM splits on (not `\|`).
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = line.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '|' => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    // A row starts and ends with a pipe: drop the empty ends.
    assert!(
        cells.first().is_some_and(|c| c.is_empty()) && cells.last().is_some_and(String::is_empty),
        "{line}"
    );
    cells[1..cells.len() - 1]
        .iter()
        .map(|c| c.trim().to_owned())
        .collect()
}

/// Every pipe table: its rows' cells, header and delimiter row first.
fn tables(md: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut cur: Vec<Vec<String>> = Vec::new();
    for line in md.lines() {
        if line.starts_with('|') {
            cur.push(cells(line));
        } else if !cur.is_empty() {
            tables.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        tables.push(cur);
    }
    tables
}

const HEADINGS: [&str; 9] = [
    "## Executive summary",
    "## Risk register",
    "## Control coverage",
    "### By CSF 2.0 function",
    "### By HIPAA safeguard",
    "## Questionnaire",
    "## Findings",
    "## Plan of action and milestones (POA&M)",
    "### SP 1800-8 risks",
];

#[test]
fn markdown_tables_are_rectangular() {
    let a = assessment();
    let md = text(&a, Format::Markdown);
    std::fs::write(artifacts().join("assessment.md"), &md).expect("write the Markdown");
    assert!(md.starts_with(&format!("# {}\n", a.title)));
    assert!(md.ends_with('\n') && !md.ends_with("\n\n"));
    let lines: Vec<&str> = md.lines().collect();
    for h in HEADINGS {
        assert!(lines.contains(&h), "heading {h}");
    }
    let order: Vec<usize> = HEADINGS[..8]
        .iter()
        .map(|h| lines.iter().position(|l| l == h).expect("heading"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "sections in order");

    let tables = tables(&md);
    // Summary (3), register, coverage (2), questionnaire, findings, POA&M.
    assert_eq!(tables.len(), 9);
    for t in &tables {
        let width = t[0].len();
        assert!(
            t[1].iter()
                .all(|c| c == "---" || c == "---:" || c == ":---" || c == ":---:"),
            "delimiter row {:?}",
            t[1]
        );
        for row in t {
            assert_eq!(row.len(), width, "{:?} in table {:?}", row, t[0]);
        }
    }
    let rows_of = |first: &str| {
        tables
            .iter()
            .find(|t| t[0][0] == first && t[0].len() > 3)
            .map_or(0, |t| t.len() - 2)
    };
    assert_eq!(rows_of("Threat event"), a.register.risks.len());
    assert_eq!(rows_of("ID"), a.questions.len());
    let poam = tables.last().expect("POA&M table");
    assert_eq!(poam[0][0], "ID");
    assert_eq!(poam[0][1], "Finding");
    assert_eq!(poam.len() - 2, a.poam.len());

    // The note with a pipe and a line break stays in its cell; markup stays text.
    assert!(md.contains("PSK on the pump SSID \\| shared with the<br>biomed laptops"));
    assert!(md.contains("&lt;script>alert(1)&lt;/script>"));
    assert!(md.contains("SEG-05 no"));
    assert!(md.contains("2026-12-05T08:00:00Z"));
}

// --- JSON ------------------------------------------------------------------------

#[test]
fn json_reads_back_as_the_same_assessment() {
    let a = assessment();
    let bytes = render(&a, Format::Json).expect("renders");
    assert!(bytes.ends_with(b"}\n"));
    let back: Assessment = serde_json::from_slice(&bytes).expect("an assessment");
    assert_eq!(back, a);
}

// --- An assessment with nothing to fix ---------------------------------------------

#[test]
fn every_format_renders_an_assessment_without_findings() {
    let bank = Bank::builtin().expect("the built-in bank loads");
    let answers: BTreeMap<String, HumanAnswer> = bank
        .questions
        .iter()
        .map(|q| (q.id.clone(), human(Answer::Yes, None)))
        .collect();
    let a = assess(
        &bank,
        "All yes",
        at(),
        merge(&bank, &answers, &[]),
        Vec::new(),
    );
    assert!(a.findings.is_empty() && a.poam.is_empty());
    let html = text(&a, Format::Html);
    assert!(html.contains("<p>No findings.</p>"));
    let md = text(&a, Format::Markdown);
    assert!(md.contains("No findings."));
    for t in tables(&md) {
        assert!(t.iter().all(|r| r.len() == t[0].len()));
    }
    let xlsx = render(&a, Format::Xlsx).expect("renders");
    assert!(xlsx.starts_with(b"PK\x03\x04"));
    let back: Assessment =
        serde_json::from_slice(&render(&a, Format::Json).expect("renders")).expect("JSON");
    assert_eq!(back, a);
}
