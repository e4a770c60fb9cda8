//! Vulnerability intelligence end to end, on the real CISA pump advisories and NVD records
//! of `../shared/data`: `vuln import` counts what the files hold (checked here by reading
//! them with serde_json), is idempotent and audited, reads the whole CISA corpus, and a bad
//! file stores nothing and is named; `vuln match` of a hand-written inventory says what
//! the advisories say (each expectation is first checked against the file it rests on),
//! positives and negatives; `vuln triage` decides per model and firmware, audited; and
//! `vuln export-vex` writes CSAF that the OASIS schema (python `jsonschema`) and our own
//! validator accept and that re-imports, CycloneDX that the 1.5 schema accepts, and
//! OpenVEX that reads back with the statuses `match` gave.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use pumpguard_model::{VexStatus, VulnImport};
use serde_json::Value;

const ACTOR: &str = "test:vuln";

fn pumpguard(db: &Path) -> Command {
    let mut c = Command::cargo_bin("pumpguard").expect("binary");
    c.env_remove("PUMPGUARD_DB")
        .env_remove("PUMPGUARD_VENDOR_ALIASES")
        .env("PUMPGUARD_ACTOR", ACTOR)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()));
    c
}

fn run(db: &Path, args: &[&str]) -> Output {
    pumpguard(db).args(args).output().expect("runs")
}

fn ok(db: &Path, args: &[&str]) -> Output {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "pumpguard {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    serde_json::from_slice(&ok(db, args).stdout).expect("stdout is JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A bad-input failure: exit 2 and one line `error: …` on stderr, returned.
fn input_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err.trim_end().to_owned()
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn data() -> PathBuf {
    pumpguard_testkit::shared_data()
}

fn icsma_dir() -> PathBuf {
    data().join("csaf").join("cisa-icsma")
}

fn nvd_dir() -> PathBuf {
    data().join("nvd").join("cve")
}

fn icsma(name: &str) -> PathBuf {
    icsma_dir().join(name)
}

/// The `.json` files of a directory (not recursive), sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

/// Every file under a directory, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.expect("entry").path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ---------------------------------------------------------------------------------------
// What the files say, read here without pumpguard.

/// CSAF product ids to (product_name branch, version branch) of the product tree.
fn csaf_products(doc: &Value) -> BTreeMap<String, (String, String)> {
    fn walk(branches: &Value, name: &str, out: &mut BTreeMap<String, (String, String)>) {
        for b in branches.as_array().into_iter().flatten() {
            let here = b["name"].as_str().unwrap_or_default();
            let name = if b["category"] == "product_name" {
                here
            } else {
                name
            };
            if let Some(id) = b["product"]["product_id"].as_str() {
                out.insert(id.to_owned(), (name.to_owned(), here.to_owned()));
            }
            walk(&b["branches"], name, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&doc["product_tree"]["branches"], "", &mut out);
    out
}

/// The (product name, version) pairs a CISA advisory lists as known_affected by `cve`.
fn csaf_affected(file: &str, cve: &str) -> BTreeSet<(String, String)> {
    let doc = read_json(&icsma(file));
    let products = csaf_products(&doc);
    let v = doc["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities")
        .iter()
        .find(|v| v["cve"] == cve)
        .unwrap_or_else(|| panic!("{file} does not name {cve}"));
    v["product_status"]["known_affected"]
        .as_array()
        .expect("known_affected")
        .iter()
        .map(|id| products[id.as_str().expect("id")].clone())
        .collect()
}

/// The CVEs of a CISA advisory.
fn csaf_cves(file: &str) -> BTreeSet<String> {
    read_json(&icsma(file))["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities")
        .iter()
        .map(|v| v["cve"].as_str().expect("cve").to_owned())
        .collect()
}

/// The vulnerable CPE criteria of an NVD record.
fn nvd_vulnerable_criteria(cve: &str) -> Vec<String> {
    let rec = read_json(&nvd_dir().join(format!("{cve}.json")));
    let mut out = Vec::new();
    for c in rec["configurations"].as_array().expect("configurations") {
        for n in c["nodes"].as_array().expect("nodes") {
            for m in n["cpeMatch"].as_array().expect("cpeMatch") {
                if m["vulnerable"] == true {
                    out.push(m["criteria"].as_str().expect("criteria").to_owned());
                }
            }
        }
    }
    out
}

/// Documents, vulnerabilities and CVEs a set of CSAF and NVD files hold.
#[derive(Debug, Default)]
struct Counted {
    documents: u64,
    vulnerabilities: u64,
    cves: BTreeSet<String>,
}

fn count(files: &[PathBuf]) -> Counted {
    let mut c = Counted::default();
    for f in files {
        let doc = read_json(f);
        if doc["document"]["csaf_version"].is_string() {
            c.documents += 1;
            for v in doc["vulnerabilities"].as_array().into_iter().flatten() {
                c.vulnerabilities += 1;
                c.cves.insert(v["cve"].as_str().expect("cve").to_owned());
            }
        } else if let Some(page) = doc["vulnerabilities"].as_array() {
            // An NVD API page: one document per record.
            for r in page {
                c.documents += 1;
                c.vulnerabilities += 1;
                c.cves
                    .insert(r["cve"]["id"].as_str().expect("id").to_owned());
            }
        } else {
            // One NVD record.
            let id = doc["id"].as_str().expect("an NVD record id");
            assert!(id.starts_with("CVE-"), "{}", f.display());
            c.documents += 1;
            c.vulnerabilities += 1;
            c.cves.insert(id.to_owned());
        }
    }
    c
}

// ---------------------------------------------------------------------------------------
// The inventory.

/// Hand-written: models and firmware picked against the advisories (see `matching`).
const INVENTORY: &str = "\
asset_id,kind,vendor,model,firmware,zone,criticality
PCU-919,infusion_pump,BD,Alaris PC Unit 8015,9.19,pumps,high
PCU-919-LS,infusion_pump,BD,Alaris PC Unit 8015,9.19,pumps,life_sustaining
PCU-920,infusion_pump,BD,Alaris PC Unit 8015,9.20,pumps,high
PCU-933,infusion_pump,BD,Alaris PC Unit 8015,9.33,pumps,high
PCU-9331,infusion_pump,BD,Alaris PC Unit 8015,9.33.1,pumps,high
PCU-934,infusion_pump,BD,Alaris PC Unit 8015,9.34,pumps,high
PCU-NOFW,infusion_pump,BD,Alaris PC Unit 8015,,pumps,high
PCU-BECTON,infusion_pump,Becton Dickinson,Alaris PC Unit 8015,9.19,pumps,high
PCU-CAREFUSION,infusion_pump,CareFusion,Alaris PC Unit 8015,9.19,pumps,high
MF-15,infusion_pump,Smiths Medical,Medfusion 4000,1.5,pumps,high
MF-17,infusion_pump,Smiths Medical,Medfusion 4000,1.7,pumps,high
SC-L81,infusion_pump,B. Braun,SpaceCom,L81,pumps,high
SC-L82,infusion_pump,B. Braun,SpaceCom,L82,pumps,high
AG-D25,infusion_pump,Fresenius Kabi,Agilia Connect WiFi module,D25,pumps,high
AG-D26,infusion_pump,Fresenius Kabi,Agilia Connect WiFi module,D26,pumps,high
MR-1,infusion_pump,Mindray,BeneFusion SP5,1.0,pumps,high
BG-NOFW,infusion_pump,BD,BodyGuard,,pumps,high
GW-113,pump_server,BD,Alaris Gateway Workstation,1.1.3,pumps,high
GW-113B10,pump_server,BD,Alaris Gateway Workstation,1.1.3 Build 10,pumps,high
GW-132,pump_server,BD,Alaris Gateway Workstation,1.3.2,pumps,high
";

/// The inventory's (vendor, model, firmware) by asset id.
fn inventory() -> BTreeMap<String, (String, String, Option<String>)> {
    INVENTORY
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let fw = (!f[4].is_empty()).then(|| f[4].to_owned());
            (f[0].to_owned(), (f[2].to_owned(), f[3].to_owned(), fw))
        })
        .collect()
}

/// A database with the pump advisories, the NVD records and the inventory.
fn fleet(dir: &Path) -> PathBuf {
    let db = dir.join("vuln.db");
    ok(
        &db,
        &[
            "vuln",
            "import",
            "--format",
            "json",
            path_str(&icsma_dir()),
            path_str(&nvd_dir()),
        ],
    );
    let csv = dir.join("inventory.csv");
    std::fs::write(&csv, INVENTORY).expect("write");
    ok(&db, &["assets", "import", path_str(&csv)]);
    db
}

type Findings = BTreeMap<(String, String), Value>;

/// `vuln match --format json`, by (asset, CVE); each pair once.
fn findings(db: &Path) -> Findings {
    let list = ok_json(db, &["vuln", "match", "--format", "json"]);
    let mut out = Findings::new();
    for f in list.as_array().expect("a list") {
        let key = (
            f["asset_id"].as_str().expect("asset_id").to_owned(),
            f["cve"].as_str().expect("cve").to_owned(),
        );
        assert!(
            out.insert(key.clone(), f.clone()).is_none(),
            "{key:?} twice"
        );
    }
    out
}

fn finding<'f>(all: &'f Findings, asset: &str, cve: &str) -> &'f Value {
    all.get(&(asset.to_owned(), cve.to_owned()))
        .unwrap_or_else(|| {
            panic!(
                "no finding for {asset} {cve}; {asset} has {:?}",
                cves(all, asset)
            )
        })
}

fn cves(all: &Findings, asset: &str) -> BTreeSet<String> {
    all.keys()
        .filter(|(a, _)| a == asset)
        .map(|(_, c)| c.clone())
        .collect()
}

fn assert_affected(all: &Findings, asset: &str, cve: &str, advisory: &str, confidence: &str) {
    let f = finding(all, asset, cve);
    assert_eq!(f["status"], "affected", "{asset} {cve}: {f}");
    assert_eq!(f["advisory"], advisory, "{asset} {cve}: {f}");
    assert_eq!(f["confidence"], confidence, "{asset} {cve}: {f}");
    assert!(
        f["priority"]["value"].as_f64().expect("priority") > 0.0,
        "{f}"
    );
}

fn assert_no_finding(all: &Findings, asset: &str, cve: &str) {
    assert!(
        !all.contains_key(&(asset.to_owned(), cve.to_owned())),
        "{asset} {cve}: {}",
        all[&(asset.to_owned(), cve.to_owned())]
    );
}

// ---------------------------------------------------------------------------------------

#[test]
fn pump_advisories_and_nvd_records_import_counted_idempotent_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vuln.db");
    let mut files = json_files(&icsma_dir());
    assert_eq!(files.len(), 18, "the 18 CISA pump advisories");
    let nvd = json_files(&nvd_dir());
    assert_eq!(nvd.len(), 7, "the 7 NVD records");
    files.extend(nvd);
    let want = count(&files);

    let (csaf_dir, nvd_dir) = (icsma_dir(), nvd_dir());
    let args = [
        "vuln",
        "import",
        "--format",
        "json",
        path_str(&csaf_dir),
        path_str(&nvd_dir),
    ];
    let first = ok_json(&db, &args);
    // Directories are walked for .json (and .csv): the .sha512 files are not read.
    assert_eq!(first["files"], files.len(), "{first}");
    let s = &first["summary"];
    assert_eq!(s["documents_new"], want.documents, "{first}");
    assert_eq!(s["documents_updated"], 0, "{first}");
    assert_eq!(s["documents_unchanged"], 0, "{first}");
    assert_eq!(s["vulnerabilities"], want.vulnerabilities, "{first}");
    assert_eq!(s["kev_entries"], 0, "{first}");
    assert_eq!(s["epss_scores"], 0, "{first}");

    // One entry per CVE.
    let list = ok_json(&db, &["vuln", "list", "--format", "json"]);
    let listed: BTreeSet<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["cve"].as_str().expect("cve").to_owned())
        .collect();
    assert_eq!(listed, want.cves);
    assert_eq!(list.as_array().map(Vec::len), Some(want.cves.len()));

    let again = ok_json(&db, &args);
    let s = &again["summary"];
    assert_eq!(s["documents_new"], 0, "{again}");
    assert_eq!(s["documents_updated"], 0, "{again}");
    assert_eq!(s["documents_unchanged"], want.documents, "{again}");
    assert_eq!(s["vulnerabilities"], want.vulnerabilities, "{again}");

    // One audit entry per stored document; the unchanged re-import adds none.
    let out = ok(&db, &["audit", "verify"]);
    assert!(
        stderr(&out).contains(&format!("intact: {} entries", want.documents)),
        "{}",
        stderr(&out)
    );
    let export = ok(&db, &["audit", "export"]);
    let imports = String::from_utf8(export.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|e| e["action"] == "vuln.import")
        .inspect(|e| assert_eq!(e["actor"], ACTOR, "{e}"))
        .count() as u64;
    assert_eq!(imports, want.documents);
}

#[test]
fn the_whole_cisa_corpus_imports() {
    // The corpus holds CISA's two ROLIE feed files (`{"feed": …}`) beside the year
    // folders of advisories. `vuln import` of the corpus folder itself fails on the first
    // feed file ("not a CSAF 2.0 … document"), so the folders that hold advisories are
    // given instead.
    let corpus = data().join("csaf").join("cisa-corpus");
    let mut files = Vec::new();
    walk(&corpus, &mut files);
    let mut feeds = Vec::new();
    let mut advisories = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let doc = read_json(f);
        if doc["feed"].is_object() {
            feeds.push(f.clone());
        } else {
            assert_eq!(doc["document"]["csaf_version"], "2.0", "{}", f.display());
            advisories.push(f.clone());
        }
    }
    assert_eq!(feeds.len(), 2, "{feeds:?}");
    assert!(advisories.len() > 2000, "{}", advisories.len());
    let folders: BTreeSet<PathBuf> = advisories
        .iter()
        .map(|f| f.parent().expect("parent").to_owned())
        .collect();
    for feed in &feeds {
        assert!(
            !folders.contains(feed.parent().expect("parent")),
            "{}",
            feed.display()
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("corpus.db");
    let mut args = vec!["vuln", "import", "--format", "json"];
    args.extend(folders.iter().map(|f| path_str(f)));
    let started = std::time::Instant::now();
    let out = ok_json(&db, &args);
    let took = started.elapsed();
    eprintln!(
        "imported {} CISA advisories in {:.2} s (debug build)",
        advisories.len(),
        took.as_secs_f64()
    );
    assert_eq!(out["files"], advisories.len(), "{out}");
    assert_eq!(out["summary"]["documents_new"], advisories.len(), "{out}");
    assert_eq!(out["summary"]["documents_updated"], 0, "{out}");
    assert_eq!(out["summary"]["documents_unchanged"], 0, "{out}");
}

#[test]
fn a_bad_file_among_good_ones_stores_nothing_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    for name in ["icsma-17-017-02.json", "icsma-22-335-01.json"] {
        std::fs::copy(icsma(name), input.join(name)).expect("copy");
    }
    let whole = std::fs::read(icsma("icsma-20-170-06.json")).expect("read");
    let truncated = input.join("icsma-20-170-06-truncated.json");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("write");
    let db = dir.path().join("vuln.db");

    let out = run(
        &db,
        &[
            "vuln",
            "import",
            path_str(&input),
            path_str(&icsma("icsma-23-194-01.json")),
        ],
    );
    let err = input_error(&out);
    assert!(err.contains(path_str(&truncated)), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    assert!(err.contains("line "), "{err}");
    let list = ok_json(&db, &["vuln", "list", "--format", "json"]);
    assert_eq!(list, serde_json::json!([]), "nothing stored");

    // A KEV catalog whose second entry has no cveID: named with its place.
    let kev = dir.path().join("kev.json");
    std::fs::write(
        &kev,
        r#"{"title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2024.01.01", "count": 2,
            "vulnerabilities": [
              {"cveID": "CVE-2019-10959", "vendorProject": "BD", "product": "Alaris",
               "dateAdded": "2024-01-01"},
              {"vendorProject": "BD", "product": "Alaris", "dateAdded": "2024-01-01"}
            ]}"#,
    )
    .expect("write");
    let out = run(
        &db,
        &[
            "vuln",
            "import",
            path_str(&icsma("icsma-19-164-01.json")),
            path_str(&kev),
        ],
    );
    let err = input_error(&out);
    assert!(err.contains(path_str(&kev)), "{err}");
    assert!(err.contains("/vulnerabilities/1/cveID"), "{err}");
    let list = ok_json(&db, &["vuln", "list", "--format", "json"]);
    assert_eq!(list, serde_json::json!([]), "nothing stored");
}

/// `--cyclonedx-schemas`: a BOM that breaks the official schema of its version is refused
/// with its place, and stores nothing; without the option the same BOM is read (the fault
/// does not change what it means).
#[test]
fn cyclonedx_boms_are_checked_against_the_official_schemas_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("vuln.db");
    let spec = data().join("sbom").join("cyclonedx-spec-tests");
    let schemas = spec.join("schema");
    let bad = spec.join("1.6").join("invalid-hash-alg-1.6.json");
    let good = spec.join("1.6").join("valid-bom-1.6.json");
    let advisory = icsma("icsma-20-170-06.json");

    let out = run(
        &db,
        &[
            "vuln",
            "import",
            "--cyclonedx-schemas",
            path_str(&schemas),
            path_str(&advisory),
            path_str(&good),
            path_str(&bad),
        ],
    );
    let err = input_error(&out);
    assert!(err.contains(path_str(&bad)), "{err}");
    assert!(err.contains("/components/0/hashes/0/alg"), "{err}");
    assert!(err.contains("CycloneDX 1.6 schema"), "{err}");

    // Nothing was stored: the good files are all new now (the schemas from the env).
    let summary: Value = serde_json::from_slice(
        &pumpguard(&db)
            .env("PUMPGUARD_CYCLONEDX_SCHEMAS", &schemas)
            .args(["vuln", "import", "--format", "json"])
            .arg(&advisory)
            .arg(&good)
            .output()
            .expect("runs")
            .stdout,
    )
    .expect("JSON summary");
    assert_eq!(summary["summary"]["documents_new"], 2, "{summary}");

    // Lenient without the schemas (the test BOM shares its serial number with the valid
    // one, so it replaces it).
    let summary = ok_json(&db, &["vuln", "import", "--format", "json", path_str(&bad)]);
    assert_eq!(
        read_json(&bad)["serialNumber"],
        read_json(&good)["serialNumber"]
    );
    assert_eq!(summary["summary"]["documents_updated"], 1, "{summary}");

    // A directory without a BOM schema is refused, named.
    let empty = dir.path().join("no-schemas");
    std::fs::create_dir(&empty).expect("mkdir");
    let out = run(
        &db,
        &[
            "vuln",
            "import",
            "--cyclonedx-schemas",
            path_str(&empty),
            path_str(&good),
        ],
    );
    let err = input_error(&out);
    assert!(err.contains(path_str(&empty)), "{err}");
    assert!(err.contains("bom-X.Y.schema.json"), "{err}");
}

#[test]
fn matching_says_what_the_advisories_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet(dir.path());
    let all = findings(&db);

    // Every finding carries what the matcher decided and why.
    for ((asset, cve), f) in &all {
        for field in ["advisory", "status", "confidence", "reason"] {
            assert!(f[field].is_string(), "{asset} {cve}: {field}: {f}");
        }
        assert!(f["also"].is_array(), "{f}");
        let p = &f["priority"];
        let product = p["cvss"].as_f64().unwrap()
            * p["kev"].as_f64().unwrap()
            * p["epss"].as_f64().unwrap()
            * p["exposure"].as_f64().unwrap()
            * p["criticality"].as_f64().unwrap();
        let urgent = f["status"] == "affected" || f["status"] == "needs_review";
        let want = if urgent {
            (product * 100.0).round() / 100.0
        } else {
            0.0
        };
        assert_eq!(p["value"].as_f64(), Some(want), "{asset} {cve}: {p}");
    }

    // BD Alaris PC Unit: ICSMA-20-170-06 lists firmware 9.13 | 9.19 | 9.33 | 12.1 for
    // CVE-2019-11479 (and no other document names that CVE).
    let listed = csaf_affected("icsma-20-170-06.json", "CVE-2019-11479");
    assert_eq!(
        listed,
        [(
            "Alaris PC Unit".to_owned(),
            "9.13 | 9.19 | 9.33 | 12.1".to_owned()
        )]
        .into()
    );
    assert_affected(&all, "PCU-919", "CVE-2019-11479", "ICSMA-20-170-06", "high");
    assert_affected(&all, "PCU-933", "CVE-2019-11479", "ICSMA-20-170-06", "high");
    assert!(
        finding(&all, "PCU-919", "CVE-2019-11479")["reason"]
            .as_str()
            .unwrap()
            .contains("9.19"),
        "the reason says the firmware"
    );
    assert_no_finding(&all, "PCU-920", "CVE-2019-11479");
    assert_no_finding(&all, "PCU-934", "CVE-2019-11479");
    // Criticality weighs: life-sustaining 1.5, high 1.25; exposure 1.0 in a zone.
    let (high, ls) = (
        &finding(&all, "PCU-919", "CVE-2019-11479")["priority"],
        &finding(&all, "PCU-919-LS", "CVE-2019-11479")["priority"],
    );
    assert_eq!(high["criticality"], 1.25);
    assert_eq!(ls["criticality"], 1.5);
    assert_eq!(high["exposure"], 1.0);
    assert!(ls["value"].as_f64() > high["value"].as_f64());

    // ICSMA-17-017-02 (CVE-2016-9355): 9.7, <= 9.33 and <= 9.5. 9.34 and 9.33.1 are
    // above 9.33 and above 9.5 (34 > 5) and are not 9.7.
    let listed = csaf_affected("icsma-17-017-02.json", "CVE-2016-9355");
    let versions: BTreeSet<&str> = listed.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(versions, ["9.7", "<= 9.33", "<= 9.5"].into());
    assert!(listed.iter().all(|(n, _)| n == "Alaris 8015 PC unit"));
    assert_affected(&all, "PCU-933", "CVE-2016-9355", "ICSMA-17-017-02", "high");
    assert_affected(&all, "PCU-919", "CVE-2016-9355", "ICSMA-17-017-02", "high");
    assert_no_finding(&all, "PCU-934", "CVE-2016-9355");
    assert_no_finding(&all, "PCU-9331", "CVE-2016-9355");
    // CVE-2020-25165: ICSMA-20-317-01 and NVD both say <= 9.33.1.
    assert!(
        csaf_affected("icsma-20-317-01.json", "CVE-2020-25165").contains(&(
            "Alaris PC Unit Model 8015".to_owned(),
            "<= 9.33.1".to_owned()
        ))
    );
    assert!(
        nvd_vulnerable_criteria("CVE-2020-25165")
            .iter()
            .any(|c| c.contains(":alaris_8015_pcu_firmware:"))
    );
    let f = finding(&all, "PCU-9331", "CVE-2020-25165");
    assert_eq!(f["status"], "affected", "{f}");
    let sources: BTreeSet<&str> = std::iter::once(&f["advisory"])
        .chain(f["also"].as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sources, ["CVE-2020-25165", "ICSMA-20-317-01"].into(), "{f}");
    assert_no_finding(&all, "PCU-934", "CVE-2020-25165");

    // Vendor aliases: the same Alaris written "Becton Dickinson" or "CareFusion" matches
    // what "BD" matches.
    let decided = |asset: &str| -> BTreeSet<(String, String, String, String)> {
        all.iter()
            .filter(|((a, _), _)| a == asset)
            .map(|((_, cve), f)| {
                (
                    cve.clone(),
                    f["status"].as_str().unwrap().to_owned(),
                    f["advisory"].as_str().unwrap().to_owned(),
                    f["confidence"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let bd = decided("PCU-919");
    assert!(bd.len() > 5, "{bd:?}");
    assert_eq!(decided("PCU-BECTON"), bd);
    assert_eq!(decided("PCU-CAREFUSION"), bd);

    // An Alaris of unknown firmware: every CVE that any firmware of the model has is
    // there, needs_review (nothing undecidable is dropped) and still urgent.
    let mut any_firmware = BTreeSet::new();
    for a in ["PCU-919", "PCU-920", "PCU-933", "PCU-9331", "PCU-934"] {
        any_firmware.extend(cves(&all, a));
    }
    assert_eq!(cves(&all, "PCU-NOFW"), any_firmware);
    for cve in &any_firmware {
        let f = finding(&all, "PCU-NOFW", cve);
        assert_eq!(f["status"], "needs_review", "{f}");
        assert_eq!(f["confidence"], "low", "{f}");
        assert!(f["priority"]["value"].as_f64().unwrap() > 0.0, "{f}");
    }

    // Smiths Medical Medfusion 4000: firmware 1.1, 1.5 and 1.6 exactly (ICSMA-17-250-02A
    // and NVD CVE-2017-12725 alike).
    let listed = csaf_affected("icsma-17-250-02a.json", "CVE-2017-12718");
    let versions: BTreeSet<&str> = listed.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(versions, ["1.1", "1.5", "1.6"].into());
    let nvd = nvd_vulnerable_criteria("CVE-2017-12725");
    assert!(nvd.iter().any(|c| c.contains(":1.5:")), "{nvd:?}");
    assert!(!nvd.iter().any(|c| c.contains(":1.7:")), "{nvd:?}");
    assert_affected(&all, "MF-15", "CVE-2017-12718", "ICSMA-17-250-02A", "high");
    assert_affected(&all, "MF-15", "CVE-2017-12725", "CVE-2017-12725", "high");
    assert_eq!(
        cves(&all, "MF-17"),
        BTreeSet::new(),
        "1.7 is in no advisory"
    );

    // B. Braun SpaceCom: ICSMA-20-296-02 says "<= U61 |<= L81" (U: US, L: global).
    assert!(
        csaf_affected("icsma-20-296-02.json", "CVE-2020-25150")
            .contains(&("SpaceCom".to_owned(), "<= U61 |<= L81".to_owned()))
    );
    assert_affected(&all, "SC-L81", "CVE-2020-25150", "ICSMA-20-296-02", "high");
    assert_no_finding(&all, "SC-L82", "CVE-2020-25150");

    // Fresenius Kabi Agilia Connect WiFi module <= D25: all 13 CVEs of ICSMA-21-355-01.
    let agilia = csaf_cves("icsma-21-355-01.json");
    assert_eq!(agilia.len(), 13);
    for cve in &agilia {
        assert!(
            csaf_affected("icsma-21-355-01.json", cve).contains(&(
                "Agilia Connect WiFi module of the pumps".to_owned(),
                "<= D25".to_owned()
            )),
            "{cve}"
        );
        assert_affected(&all, "AG-D25", cve, "ICSMA-21-355-01", "high");
        assert_no_finding(&all, "AG-D26", cve);
    }

    // An unrelated vendor and model: nothing.
    assert_eq!(cves(&all, "MR-1"), BTreeSet::new());

    // BD BodyGuard, all versions (ICSMA-22-335-01): affected whatever the firmware, but
    // only medium sure when the firmware is unknown.
    assert!(
        csaf_affected("icsma-22-335-01.json", "CVE-2022-43557")
            .contains(&("BodyGuard Pumps".to_owned(), "vers:all/*".to_owned()))
    );
    assert_affected(
        &all,
        "BG-NOFW",
        "CVE-2022-43557",
        "ICSMA-22-335-01",
        "medium",
    );

    // BD Alaris Gateway Workstation: NVD lists firmware 1.1.3 (builds 10 and 11), 1.2,
    // 1.3.0 and 1.3.1 for CVE-2019-10959, not 1.3.2 (the fixed release).
    let nvd = nvd_vulnerable_criteria("CVE-2019-10959");
    let gw: Vec<&String> = nvd
        .iter()
        .filter(|c| c.contains(":alaris_gateway_workstation_firmware:"))
        .collect();
    assert!(gw.iter().any(|c| c.contains(":1.1.3:")), "{gw:?}");
    assert!(!gw.iter().any(|c| c.contains(":1.3.2:")), "{gw:?}");
    assert!(gw.iter().any(|c| c.contains(":1.1.3:10:")), "{gw:?}");
    let f = finding(&all, "GW-113B10", "CVE-2019-10959");
    assert_affected(
        &all,
        "GW-113B10",
        "CVE-2019-10959",
        "CVE-2019-10959",
        "high",
    );
    assert!(f["reason"].as_str().unwrap().starts_with("NVD "), "{f}");
    // NVD names builds (`1.1.3:10`, `1.1.3:11`): a 1.1.3 of unknown build is for a person.
    let f = finding(&all, "GW-113", "CVE-2019-10959");
    assert_eq!(f["status"], "needs_review", "{f}");
    // ICSMA-19-164-01 lists the workstation's own firmware by build, without 1.3.2; its
    // "Alaris Gateway Workstation Alaris GS 2.3.6 and below" (and GH, CC, TIVA) are the
    // pumps used with it, whose versions are not the workstation's.
    let listed = csaf_affected("icsma-19-164-01.json", "CVE-2019-10959");
    let own: BTreeSet<&str> = listed
        .iter()
        .filter(|(n, _)| n == "Alaris Gateway Workstation")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(own.contains("1.1.3 Build 10"), "{own:?}");
    assert!(!own.iter().any(|v| v.starts_with("1.3.2")), "{own:?}");
    assert!(listed.contains(&(
        "Alaris Gateway Workstation Alaris GS".to_owned(),
        "2.3.6 and  below".to_owned()
    )));
    assert_eq!(cves(&all, "GW-132"), BTreeSet::new(), "1.3.2 is fixed");
    // 1.1.3 without its build cannot be placed against "1.1.3 Build 10" and "1.1.3 MR
    // Build 11" (CVE-2019-10962 has no NVD record here).
    let f = finding(&all, "GW-113", "CVE-2019-10962");
    assert_eq!(f["status"], "needs_review", "{f}");

    // The filters of `vuln match`.
    let only = ok_json(
        &db,
        &[
            "vuln",
            "match",
            "--format",
            "json",
            "--asset",
            "PCU-919",
            "--cve",
            "cve-2019-11479",
            "--status",
            "affected",
        ],
    );
    assert_eq!(only.as_array().map(Vec::len), Some(1), "{only}");
    assert_eq!(only[0], *finding(&all, "PCU-919", "CVE-2019-11479"));
    let out = run(&db, &["vuln", "match", "--status", "vulnerable"]);
    let err = input_error(&out);
    assert!(
        err.contains("'vulnerable' is not a finding status"),
        "{err}"
    );
}

/// `vuln triage` of the Alaris 9.19 for CVE-2019-11479 (not in the execute path).
fn triage_alaris(db: &Path) -> Output {
    ok(
        db,
        &[
            "vuln",
            "triage",
            "--model",
            "Alaris PC Unit 8015",
            "--firmware",
            "9.19",
            "--cve",
            "CVE-2019-11479",
            "--status",
            "not_affected",
            "--justification",
            "vulnerable_code_not_in_execute_path",
        ],
    )
}

const TRIAGED: [&str; 4] = ["PCU-919", "PCU-919-LS", "PCU-BECTON", "PCU-CAREFUSION"];

#[test]
fn triage_decides_for_every_unit_of_the_model_and_firmware_and_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fleet(dir.path());
    let before = findings(&db);
    for a in TRIAGED {
        assert_eq!(finding(&before, a, "CVE-2019-11479")["status"], "affected");
    }

    // not_affected needs a reason; refused, nothing changes.
    let out = run(
        &db,
        &[
            "vuln",
            "triage",
            "--model",
            "Alaris PC Unit 8015",
            "--firmware",
            "9.19",
            "--cve",
            "CVE-2019-11479",
            "--status",
            "not_affected",
        ],
    );
    let err = input_error(&out);
    assert!(err.contains("--justification"), "{err}");
    assert_eq!(findings(&db), before);

    let out = triage_alaris(&db);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("applies to 4 asset(s)"), "{said}");

    let after = findings(&db);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "triage changes decisions, not which pairs exist"
    );
    for (key, f) in &after {
        let triaged = key.1 == "CVE-2019-11479" && TRIAGED.contains(&key.0.as_str());
        if !triaged {
            assert_eq!(f, &before[key], "{key:?} unchanged");
            continue;
        }
        assert_eq!(f["status"], "not_affected", "{f}");
        assert_eq!(
            f["justification"], "vulnerable_code_not_in_execute_path",
            "{f}"
        );
        assert_eq!(f["confidence"], "high", "{f}");
        assert_eq!(f["priority"]["value"], 0.0, "{f}");
        let reason = f["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(&format!("triaged not_affected by {ACTOR}")),
            "{reason}"
        );
        assert!(
            reason.contains("ICSMA-20-170-06"),
            "the reason keeps what came before"
        );
    }
    // Other firmware of the same model keeps its finding.
    assert_eq!(
        finding(&after, "PCU-933", "CVE-2019-11479")["status"],
        "affected"
    );

    // The decision is in the audit trail, which stays intact.
    let export = ok(&db, &["audit", "export"]);
    let entries: Vec<Value> = String::from_utf8(export.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|e: &Value| e["action"] == "vuln.triage")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e["actor"], ACTOR);
    assert_eq!(
        e["object"],
        "triage:Alaris PC Unit 8015|9.19|CVE-2019-11479"
    );
    assert_eq!(e["detail"]["status"], "not_affected");
    assert_eq!(
        e["detail"]["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(e["detail"]["firmware"], "9.19");
    ok(&db, &["audit", "verify"]);
}

// ---------------------------------------------------------------------------------------
// Schema validation with python `jsonschema`.

const VALIDATE_PY: &str = r#"
import json, sys
try:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT7
except ImportError as e:
    print(f"python3 jsonschema is missing ({e}): pip install jsonschema", file=sys.stderr)
    sys.exit(3)

schema_file, doc_file, *refs = sys.argv[1:]
schema = json.load(open(schema_file))
resources = []
for pair in refs:
    url, path = pair.split("=", 1)
    contents = json.load(open(path))
    spec = DRAFT4 if "draft-04" in contents.get("$schema", "") else DRAFT7
    resources.append((url, Resource.from_contents(contents, default_specification=spec)))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, registry=Registry().with_resources(resources),
                format_checker=cls.FORMAT_CHECKER)
errors = list(validator.iter_errors(json.load(open(doc_file))))
for e in errors[:20]:
    print("/".join(map(str, e.absolute_path)) or "(root)", e.message[:300])
print(f"{len(errors)} error(s)")
sys.exit(1 if errors else 0)
"#;

/// Which schema, and the local files for the URLs its `$ref`s name.
struct Schema {
    file: PathBuf,
    refs: Vec<(&'static str, PathBuf)>,
}

fn csaf_schema() -> Schema {
    let root = data().join("csaf").join("oasis-csaf-2.0");
    let first = root.join("referenced_schema").join("first");
    Schema {
        file: root.join("json_schema").join("csaf_json_schema.json"),
        refs: vec![
            (
                "https://www.first.org/cvss/cvss-v2.0.json",
                first.join("cvss-v2.0.json"),
            ),
            (
                "https://www.first.org/cvss/cvss-v3.0.json",
                first.join("cvss-v3.0.json"),
            ),
            (
                "https://www.first.org/cvss/cvss-v3.1.json",
                first.join("cvss-v3.1.json"),
            ),
        ],
    }
}

fn cyclonedx_schema() -> Schema {
    let dir = data()
        .join("sbom")
        .join("cyclonedx-spec-tests")
        .join("schema");
    Schema {
        file: dir.join("bom-1.5.schema.json"),
        refs: vec![
            (
                "http://cyclonedx.org/schema/spdx.schema.json",
                dir.join("spdx.schema.json"),
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                dir.join("jsf-0.82.schema.json"),
            ),
        ],
    }
}

/// Whether `doc` is valid against the schema, with python's report.
fn schema_valid(work: &Path, schema: &Schema, doc: &Path) -> (bool, String) {
    let script = work.join("validate.py");
    std::fs::write(&script, VALIDATE_PY).expect("write");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg(&schema.file).arg(doc);
    for (url, file) in &schema.refs {
        assert!(file.is_file(), "{}", file.display());
        cmd.arg(format!("{url}={}", file.display()));
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to validate against the schemas: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => (true, report),
        // Invalid, as jsonschema reported it (not a traceback: an unresolvable $ref).
        Some(1) if report.contains(" error(s)") => (false, report),
        Some(3) => panic!("python3 jsonschema is missing (CI installs it: .ci/run): {report}"),
        other => panic!("the schema validator failed ({other:?}): {report}"),
    }
}

fn edited(work: &Path, doc: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v = read_json(doc);
    edit(&mut v);
    let out = work.join(name);
    std::fs::write(&out, serde_json::to_vec_pretty(&v).expect("JSON")).expect("write");
    out
}

#[test]
fn exported_vex_is_valid_csaf_cyclonedx_and_openvex_and_says_what_match_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let db = fleet(work);
    triage_alaris(&db);
    // A clearing statement without justification (an impact statement instead).
    ok(
        &db,
        &[
            "vuln",
            "triage",
            "--model",
            "Medfusion 4000",
            "--firmware",
            "1.5",
            "--cve",
            "CVE-2017-12718",
            "--status",
            "not_affected",
            "--statement",
            "The pump's FTP server is disabled in this configuration",
        ],
    );
    let all = findings(&db);
    assert_eq!(
        finding(&all, "MF-15", "CVE-2017-12718")["status"],
        "not_affected"
    );
    let inventory = inventory();
    // What each (vendor, model, firmware) and CVE should say in VEX: needs_review has no
    // VEX word and is under_investigation.
    let mut expected: BTreeMap<(String, String, Option<String>, String), VexStatus> =
        BTreeMap::new();
    for ((asset, cve), f) in &all {
        let status = match f["status"].as_str().unwrap() {
            "affected" => VexStatus::Affected,
            "not_affected" => VexStatus::NotAffected,
            "fixed" => VexStatus::Fixed,
            "needs_review" | "under_investigation" => VexStatus::UnderInvestigation,
            other => panic!("status {other}"),
        };
        let (vendor, model, fw) = inventory[asset].clone();
        let prev = expected.insert((vendor, model, fw, cve.clone()), status);
        assert!(prev.is_none_or(|p| p == status), "{asset} {cve}");
    }

    // CSAF: the OASIS schema (with FIRST's CVSS schemas from the shared folder) and our
    // own validator accept it.
    let schema = csaf_schema();
    let real = icsma("icsma-20-170-06.json");
    let (valid, report) = schema_valid(work, &schema, &real);
    assert!(valid, "a real advisory with CVSS 3 scores: {report}");
    let bad_cvss = edited(work, &real, "bad-cvss.json", |v| {
        v["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = "SEVERE".into();
    });
    let (valid, report) = schema_valid(work, &schema, &bad_cvss);
    assert!(!valid, "FIRST's CVSS schema is applied: {report}");

    let csaf = work.join("vex.csaf.json");
    ok(
        &db,
        &[
            "vuln",
            "export-vex",
            "--format",
            "csaf",
            "--out",
            path_str(&csaf),
        ],
    );
    let (valid, report) = schema_valid(work, &schema, &csaf);
    assert!(valid, "{report}");
    let broken = edited(work, &csaf, "broken.csaf.json", |v| {
        v["document"]
            .as_object_mut()
            .expect("document")
            .remove("publisher");
    });
    let (valid, report) = schema_valid(work, &schema, &broken);
    assert!(!valid, "{report}");
    let bytes = std::fs::read(&csaf).expect("read");
    let problems = pumpguard_vuln::validate::validate_csaf(&bytes).expect("CSAF");
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.severity == pumpguard_vuln::validate::Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let doc = read_json(&csaf);
    assert_eq!(doc["document"]["category"], "csaf_vex");
    // The triaged firmware is known_not_affected, flagged with its justification.
    let products = csaf_products(&doc);
    let v = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cve"] == "CVE-2019-11479")
        .expect("CVE-2019-11479");
    let names = |bucket: &str| -> BTreeSet<(String, String)> {
        v["product_status"][bucket]
            .as_array()
            .into_iter()
            .flatten()
            .map(|id| products[id.as_str().unwrap()].clone())
            .collect()
    };
    assert_eq!(
        names("known_not_affected"),
        [("Alaris PC Unit 8015".to_owned(), "9.19".to_owned())].into()
    );
    assert!(
        names("known_affected").contains(&("Alaris PC Unit 8015".to_owned(), "9.33".to_owned()))
    );
    assert_eq!(
        v["flags"][0]["label"], "vulnerable_code_not_in_execute_path",
        "{v}"
    );

    // CycloneDX 1.5: its schema (with the SPDX and JSF schemas it refers to) accepts it.
    let cdx = work.join("vex.cdx.json");
    ok(
        &db,
        &[
            "vuln",
            "export-vex",
            "--format",
            "cyclonedx",
            "--out",
            path_str(&cdx),
        ],
    );
    let schema = cyclonedx_schema();
    let (valid, report) = schema_valid(work, &schema, &cdx);
    assert!(valid, "{report}");
    let broken = edited(work, &cdx, "broken.cdx.json", |v| {
        v["components"][0]["vendor"] = "BD".into();
    });
    let (valid, report) = schema_valid(work, &schema, &broken);
    assert!(!valid, "{report}");
    assert_eq!(read_json(&cdx)["specVersion"], "1.5");

    // OpenVEX reads back into statuses equal to what match said.
    let openvex = work.join("vex.openvex.json");
    ok(
        &db,
        &[
            "vuln",
            "export-vex",
            "--format",
            "openvex",
            "--out",
            path_str(&openvex),
        ],
    );
    let bytes = std::fs::read(&openvex).expect("read");
    let read = pumpguard_vuln::read(&bytes, path_str(&openvex)).expect("reads back");
    let [VulnImport::Advisory(adv)] = read.as_slice() else {
        panic!("one advisory: {read:?}")
    };
    let mut got = BTreeMap::new();
    for v in &adv.vulnerabilities {
        for s in &v.statuses {
            let p = adv
                .products
                .iter()
                .find(|p| p.product_id == s.product_id)
                .expect("the product of a statement");
            let key = (
                p.vendor.clone().expect("vendor"),
                p.name.clone(),
                p.version.clone(),
                v.cve.clone().expect("a CVE"),
            );
            assert!(got.insert(key.clone(), s.status).is_none(), "{key:?} twice");
            if key.1 == "Alaris PC Unit 8015"
                && key.2.as_deref() == Some("9.19")
                && key.3 == "CVE-2019-11479"
            {
                assert_eq!(
                    s.justification.as_deref(),
                    Some("vulnerable_code_not_in_execute_path")
                );
            }
        }
    }
    assert_eq!(got, expected);
    let alaris = |fw: &str| {
        (
            "BD".to_owned(),
            "Alaris PC Unit 8015".to_owned(),
            Some(fw.to_owned()),
            "CVE-2019-11479".to_owned(),
        )
    };
    assert_eq!(got[&alaris("9.19")], VexStatus::NotAffected);
    assert_eq!(got[&alaris("9.33")], VexStatus::Affected);

    // The CSAF VEX re-imports, and the matcher, hearing its own verdicts, keeps them.
    let again = ok_json(
        &db,
        &["vuln", "import", "--format", "json", path_str(&csaf)],
    );
    assert_eq!(again["summary"]["documents_new"], 1, "{again}");
    assert_eq!(
        again["summary"]["vulnerabilities"],
        doc["vulnerabilities"].as_array().unwrap().len(),
        "{again}"
    );
    let after = findings(&db);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        all.keys().collect::<Vec<_>>()
    );
    for (key, f) in &after {
        assert_eq!(f["status"], all[key]["status"], "{key:?}: {f}");
    }
    ok(&db, &["audit", "verify"]);
}
