//! `pumpguard hl7 get` and `hl7 validate` against the third-party HL7 files in
//! `../shared/data/hl7` and against python `hl7` (the oracle, run here) on those files
//! and on generated messages full of escapes, repetitions and segments.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

fn shared_hl7() -> PathBuf {
    pumpguard_testkit::shared_data().join("hl7")
}

fn oracle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/hl7_oracle.py")
}

/// Every HL7 file of the shared folder (plain and MLLP-framed).
fn shared_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["ihe-pcd-tf-rev9", "oehf-ipf", "mllp"] {
        for e in std::fs::read_dir(shared_hl7().join(dir)).expect("shared hl7 folder") {
            let p = e.expect("entry").path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if matches!(ext, "hl7" | "hl7v2" | "mllp") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 20,
        "expected the shared HL7 files, found {}",
        out.len()
    );
    out
}

fn python(args: &[&str]) -> String {
    let out = Process::new("python3")
        .arg(oracle())
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "oracle {args:?} failed (is python `hl7` installed? .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn pumpguard(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("pumpguard")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs")
}

/// Our values and python-hl7's for the same paths, message by message.
fn compare(file: &Path, paths: &[String]) -> usize {
    let f = file.to_str().expect("utf-8 path");
    let mut args = vec!["hl7", "get", f];
    args.extend(paths.iter().map(String::as_str));
    let ours = pumpguard(&args);
    assert!(
        ours.status.success(),
        "{f}: {}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let ours = String::from_utf8(ours.stdout).expect("utf-8");
    let mut oargs = vec!["get", f];
    oargs.extend(paths.iter().map(String::as_str));
    let theirs = python(&oargs);
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert_eq!(ours.len(), theirs.len(), "{f}: message count");
    for (m, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        for (i, (a, b)) in o.split('\t').zip(t.split('\t')).enumerate() {
            assert_eq!(a, b, "{f}: message {} path {}", m + 1, paths[i]);
        }
        assert_eq!(o.split('\t').count(), paths.len());
    }
    ours.len() * paths.len()
}

#[test]
fn terser_reads_equal_python_hl7_on_the_shared_files() {
    let mut compared = 0;
    for file in shared_files() {
        let paths: Vec<String> = python(&["paths", file.to_str().expect("utf-8")])
            .lines()
            .map(str::to_string)
            .collect();
        assert!(paths.len() > 10, "{}", file.display());
        compared += compare(&file, &paths);
    }
    eprintln!("{compared} values equal python-hl7's");
    assert!(compared > 10_000);
}

/// SplitMix64, so the generated messages are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).expect("small")
    }
}

/// A random leaf value: letters, digits and the escape sequences both sides resolve.
fn leaf(rng: &mut Rng, esc: char) -> String {
    const ESCAPES: [&str; 9] = ["F", "S", "T", "R", "E", "X41", "X7C", "X0D", "X2A5A"];
    let mut s = String::new();
    for _ in 0..rng.below(4) {
        match rng.below(6) {
            0 => s.push_str(&format!(
                "{esc}{}{esc}",
                ESCAPES[rng.below(ESCAPES.len() as u64)]
            )),
            1 => s.push_str(&rng.below(1000).to_string()),
            _ => s.push(char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_"[rng.below(55)],
            )),
        }
    }
    s
}

fn generate(rng: &mut Rng, messages: usize) -> String {
    const DELIMS: [[char; 5]; 3] = [
        ['|', '^', '~', '\\', '&'],
        ['#', '*', '!', '/', '%'],
        ['|', '^', '~', '\\', '&'],
    ];
    const IDS: [&str; 7] = ["PID", "OBX", "OBR", "ORC", "RXG", "NTE", "ZP1"];
    let mut out = String::new();
    for n in 0..messages {
        let [fs, cs, rs, es, ss] = DELIMS[rng.below(3)];
        out.push_str(&format!("MSH{fs}{cs}{rs}{es}{ss}{fs}APP{fs}FAC{fs}{fs}{fs}20261129{fs}{fs}ORU{cs}R01{fs}{n}{fs}P{fs}2.6\r"));
        for _ in 0..1 + rng.below(12) {
            out.push_str(IDS[rng.below(IDS.len() as u64)]);
            // At least one field: python-hl7 does not recognise the id of a segment
            // without any (`OBR` alone), though it is a valid, empty segment.
            for _ in 0..1 + rng.below(11) {
                out.push(fs);
                let reps = 1 + rng.below(3) * rng.below(2);
                for r in 0..reps {
                    if r > 0 {
                        out.push(rs);
                    }
                    let comps = 1 + rng.below(4) * rng.below(2);
                    for c in 0..comps {
                        if c > 0 {
                            out.push(cs);
                        }
                        let subs = 1 + rng.below(3) * rng.below(2);
                        for s in 0..subs {
                            if s > 0 {
                                out.push(ss);
                            }
                            out.push_str(&leaf(rng, es));
                        }
                    }
                }
            }
            out.push('\r');
        }
    }
    out
}

#[test]
fn terser_reads_equal_python_hl7_on_generated_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0x5eed);
    let mut compared = 0;
    for round in 0..4 {
        let file = dir.path().join(format!("gen{round}.hl7"));
        std::fs::write(&file, generate(&mut rng, 25)).expect("write");
        let paths: Vec<String> = python(&["paths", file.to_str().expect("utf-8")])
            .lines()
            .map(str::to_string)
            .collect();
        // Also every form of the same paths: without trailing -1 components.
        let mut all = paths.clone();
        all.extend(
            paths
                .iter()
                .filter_map(|p| p.strip_suffix("-1-1").map(str::to_string)),
        );
        all.sort();
        all.dedup();
        for chunk in all.chunks(2_000) {
            compared += compare(&file, chunk);
        }
    }
    eprintln!("{compared} generated values equal python-hl7's");
    assert!(compared > 100_000);
}

#[test]
fn get_reads_mllp_streams_and_stdin() {
    let stream = shared_hl7().join("mllp/stream_pcd03_order_ack_order_reject.mllp");
    let out = pumpguard(&[
        "hl7",
        "get",
        stream.to_str().expect("utf-8"),
        "MSH-9",
        "MSH-10",
        "MSA-1",
        "RXG-4-2",
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "RGV\t1\t\tDopamine\nACK\t1\tCA\t\nRGV\t2\t\tNormal Saline\nRRG\t102\tAR\t\n"
    );
    let text =
        std::fs::read(shared_hl7().join("oehf-ipf/valid-pcd01-request.hl7v2")).expect("read");
    let out = Command::cargo_bin("pumpguard")
        .expect("binary")
        .args(["hl7", "get", "-", "MSH-9-2", "OBX(2)-3-2"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.starts_with("R01\tMDC_"), "{line}");
}

#[test]
fn bad_input_is_one_line_naming_file_and_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.hl7");
    std::fs::write(&bad, "MSH|^~\\&|A\rPID|1\r\rEVN|x\nMSH|^^|B\r").expect("write");
    let out = pumpguard(&["hl7", "get", bad.to_str().expect("utf-8"), "MSH-3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: {}:5:5: MSH-2", bad.display())),
        "{err}"
    );
    let out = pumpguard(&["hl7", "get", bad.to_str().expect("utf-8"), "PID-0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("indexes start at 1"));
    let junk = dir.path().join("junk.hl7");
    std::fs::write(&junk, "hello\r").expect("write");
    let out = pumpguard(&["hl7", "get", junk.to_str().expect("utf-8"), "MSH-3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("junk.hl7:1:1: expected a message to start with 'MSH'")
    );
}

#[test]
fn validate_prints_one_line_per_problem_and_fails_on_errors() {
    let reject = shared_hl7().join("ihe-pcd-tf-rev9/pcd03_app_reject_rrg_o16.hl7");
    let f = reject.to_str().expect("utf-8");
    let out = pumpguard(&["hl7", "validate", f]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{f}:1: message 1: MSH-7: error: \"20080101123456- 0600\""
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{f}:3: message 1: ERR-3-2: warning: stray space")),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: 3 error(s) found"));

    // The stream's fourth frame acknowledges control id 102, which no order has.
    let stream = shared_hl7().join("mllp/stream_pcd03_order_ack_order_reject.mllp");
    let out = pumpguard(&[
        "hl7",
        "validate",
        "--format",
        "json",
        stream.to_str().expect("utf-8"),
    ]);
    let problems: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let msa = problems
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["path"] == "MSA-2")
        .expect("MSA-2 reported");
    assert_eq!(
        (msa["message"].as_u64(), msa["severity"].as_str()),
        (Some(4), Some("warning"))
    );

    // A clean PCD-01 from the TF validates with no output and exit 0.
    let clean = shared_hl7().join("ihe-pcd-tf-rev9/pcd01_episodic_nibp_acme_oru_r01.hl7");
    let out = pumpguard(&["hl7", "validate", clean.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
}
