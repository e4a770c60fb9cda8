//! `pumpguard demo`: pumpguard end to end on a simulated ward, in one process. It
//! simulates a ward with every attack scenario, imports a CMMS-style inventory of most of
//! its pumps, senses the capture (with the ward's drug library and a segmentation policy,
//! learning a baseline), creates a device CA and issues certificates to two thirds of the
//! inventoried pumps (one of them expiring soon, one revoked for a compromised key),
//! imports real CISA advisories about the pump families, matches them to the inventory,
//! gathers the assessment's evidence into a report, then serves the console with an
//! `admin` user.
//!
//! Every step goes through the code of its own command (`sim`, `assets import`, `sense`,
//! `pki init`, `pki issue`, `pki revoke`, `pki check`, `vuln import`, `vuln match`,
//! `report`, `serve`), with those commands' defaults parsed from their own definitions in
//! `args.rs`. What is the demo's own is what it feeds them: the inventory it derives from
//! the simulator's truth, the pumps' keys it makes in their place (where `pki issue`
//! would take the pumps' requests), and the files in `demo/`.
//!
//! The device CA's keys are sealed with a generated passphrase, kept (mode 0600) in
//! `pumpguard-demo-ca-passphrase.txt` beside the database: the console the demo serves
//! holds the CA open (CRL signing), and `serve --tls` and EST can be tried with it. The
//! pumps the inventory leaves out get no certificate, which is the coverage gap the
//! Overview and the PKI page show (no CA enrolls what nobody inventoried).
//!
//! The inventory is imported before the capture is sensed: sensing links what it sees to
//! stored assets by MAC, while an import keys on asset ids, so the other order would
//! leave each inventoried pump twice (once discovered, once imported).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use pumpguard_model::time;
use pumpguard_model::{Alert, Asset, AssetKind, AssetPatch, Severity, Source};
use pumpguard_pki::{IssueOptions, Profile};
use pumpguard_server::authority;
use pumpguard_sim::{Config, Scenario, Truth};
use pumpguard_store::{AlertFilter, AssetFilter, Store};
use pumpguard_vuln::matcher::{Finding, FindingStatus};

use crate::args::{Context, DemoArgs, Passphrase, PkiCmd, ReportArgs, SenseArgs, ServeArgs};
use crate::fail::Fail;
use crate::output::write_to;
use crate::pki::authority_fail;

/// The demo's files, in `--dir`. The database is deleted (with its WAL and shared-memory
/// files) at the start of each run; the others are replaced.
const DB: &str = "pumpguard-demo.db";
const CAPTURE: &str = "pumpguard-demo.pcapng";
const TRUTH: &str = "pumpguard-demo.truth.json";
const INVENTORY: &str = "pumpguard-demo-inventory.csv";
const DRUG_LIBRARY: &str = "pumpguard-demo-druglib.yaml";
const POLICY: &str = "pumpguard-demo-policy.yaml";
const REPORT_JSON: &str = "pumpguard-demo-report.json";
const REPORT_HTML: &str = "pumpguard-demo-report.html";
const CA_PASSPHRASE: &str = "pumpguard-demo-ca-passphrase.txt";

/// The device CA's organization, as `pumpguard pki init --name` takes it, and its key
/// algorithm (`pki init`'s default: fast to make keys for).
const CA_NAME: &str = "Demo Hospital";
const CA_ALGORITHM: &str = "ecdsa-p256";
/// Days a pump certificate is valid (`pki issue --days`'s default), and the days of the
/// one that is about to expire (within `pki check`'s default window of 30).
const PUMP_CERT_DAYS: i64 = 825;
const EXPIRING_CERT_DAYS: i64 = 14;
/// The window `pki check` raises `certificate_expiring` alerts for by default.
const EXPIRY_CHECK_DAYS: i64 = 30;

/// The simulated ward's segmentation policy (see `demo/README.md`).
const POLICY_YAML: &str = include_str!("../demo/policy.yaml");

/// Real CISA ICS Medical Advisories about the simulated pump families (CSAF 2.0, public
/// domain; provenance in `demo/README.md`).
const ADVISORIES: [(&str, &[u8]); 7] = [
    (
        "icsma-20-170-04.json",
        include_bytes!("../demo/icsma-20-170-04.json"),
    ),
    (
        "icsma-22-251-01.json",
        include_bytes!("../demo/icsma-22-251-01.json"),
    ),
    (
        "icsma-23-194-01.json",
        include_bytes!("../demo/icsma-23-194-01.json"),
    ),
    (
        "icsma-20-296-02.json",
        include_bytes!("../demo/icsma-20-296-02.json"),
    ),
    (
        "icsma-21-294-01.json",
        include_bytes!("../demo/icsma-21-294-01.json"),
    ),
    (
        "icsma-17-250-02a.json",
        include_bytes!("../demo/icsma-17-250-02a.json"),
    ),
    (
        "icsma-21-355-01.json",
        include_bytes!("../demo/icsma-21-355-01.json"),
    ),
];

/// The console user the demo creates.
const ADMIN: &str = "admin";

#[allow(clippy::print_stderr)]
fn progress(line: &str) {
    eprintln!("{line}");
}

/// A line of what the demo prepared, on standard output. A reader that has gone away
/// (one that read as far as the console's address, a `| head`) does not stop the demo
/// from serving: that line is lost, nothing else.
fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// One step of the preparation: announced, then timed.
struct Step {
    started: Instant,
}

impl Step {
    fn start(line: &str) -> Step {
        progress(line);
        Step {
            started: Instant::now(),
        }
    }

    fn done(self, detail: &str) {
        progress(&format!(
            "  {detail} ({:.2} s)",
            self.started.elapsed().as_secs_f64()
        ));
    }
}

pub async fn run(ctx: &Context, args: &DemoArgs) -> Result<(), Fail> {
    let started = Instant::now();
    let password = match &args.admin_password {
        Some(p) => {
            pumpguard_server::api::auth::valid_password(p)
                .map_err(|e| Fail::input(format!("--admin-password: {e}")))?;
            p.clone()
        }
        None => pumpguard_server::passwords::generate(),
    };
    if !args.no_serve {
        // Fail before minutes of work, not after: the console's address must be free.
        std::net::TcpListener::bind(args.listen).map_err(|e| {
            Fail::runtime(format!(
                "cannot listen on {}: {e} (choose another address with --listen)",
                args.listen
            ))
        })?;
    }
    let dir = args.dir.as_path();
    fresh_start(dir)?;
    let demo = Context {
        db: format!("sqlite://{}", dir.join(DB).display()),
        actor: ctx.actor.clone(),
    };

    let step = Step::start(&format!(
        "simulating {} pumps for {} minutes with {} attack scenarios…",
        args.pumps,
        args.minutes,
        Scenario::ALL.len()
    ));
    let truth = simulate(args, dir)?;
    step.done(&format!(
        "{} packets, {} flows, {} devices in {}",
        truth.packets,
        truth.flows,
        truth.devices.len(),
        dir.join(CAPTURE).display()
    ));

    let step = Step::start("importing the example inventory…");
    let store = Store::open(&demo.db).await?;
    let (imported, inventory_file) = import_inventory(&demo, &store, &truth, dir).await?;
    step.done(&format!(
        "{imported} of {} pumps from {} (the others only the sensor will find)",
        truth.pumps,
        inventory_file.display()
    ));

    let step = Step::start(
        "sensing the capture (drug library, segmentation policy, learning a baseline)…",
    );
    let policy = dir.join(POLICY);
    write_to(Some(&policy), |w| w.write_all(POLICY_YAML.as_bytes()))?;
    let sense: SenseArgs = parse_args(
        "sense",
        [
            OsString::from("--pcap"),
            dir.join(CAPTURE).into(),
            "--drug-library".into(),
            dir.join(DRUG_LIBRARY).into(),
            "--policy".into(),
            policy.into(),
            "--learn".into(),
            "--format".into(),
            "table".into(),
        ],
    )?;
    crate::sense::run(&demo, &sense).await?;
    step.done("sensed");

    let step = Step::start(&format!(
        "creating the device CA '{CA_NAME}' and issuing pump certificates…"
    ));
    let pki = device_ca(&demo, &store, dir).await?;
    step.done(&format!(
        "device CA: {} pump certificates ({} expiring, {} revoked)",
        pki.certificates, pki.expiring, pki.revoked
    ));

    let step = Step::start(&format!(
        "importing {} CISA pump advisories and matching them…",
        ADVISORIES.len()
    ));
    let vulns = import_advisories(&demo, &store).await?;
    let aliases = crate::vuln::aliases(None)?;
    let (findings, assets) = crate::vuln::match_all(&store, &aliases).await?;
    step.done(&format!(
        "{} vulnerabilities; {} findings",
        vulns.vulnerabilities,
        findings.len()
    ));

    let step = Step::start("assessing the risk with evidence…");
    let report_html = dir.join(REPORT_HTML);
    let assessment = assess(&demo, dir, &report_html).await?;
    step.done(&format!("report in {}", report_html.display()));

    let alerts = store.list_alerts(&AlertFilter::default()).await?;
    create_admin(&store, &demo.actor, &password).await?;
    store.close().await;

    say(&format!(
        "pumpguard demo: a simulated ward, ready in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    for line in summary(imported, &assets, &findings, &alerts, &assessment, &pki) {
        say(&format!("  {line}"));
    }
    say(&format!("  report:      {}", report_html.display()));
    say(&format!(
        "  CA key:      sealed with the passphrase in {}",
        pki.passphrase_file.display()
    ));
    say(&format!("console: http://{}/", args.listen));
    say(&format!("user: {ADMIN}"));
    say(&format!("password: {password}"));
    say(&format!("db: {}", demo.db));
    say(&format!(
        "(try: pumpguard --db {} alerts list)",
        shell_word(&demo.db)
    ));
    say(&format!(
        "(and HTTPS with EST: PUMPGUARD_CA_PASSPHRASE=$(cat {}) pumpguard --db {} serve --tls)",
        shell_word(&pki.passphrase_file.display().to_string()),
        shell_word(&demo.db)
    ));
    if args.no_serve {
        return Ok(());
    }
    let serve: ServeArgs = parse_args(
        "serve",
        [
            OsString::from("--listen"),
            args.listen.to_string().into(),
            "--policy".into(),
            dir.join(POLICY).into(),
            "--passphrase-file".into(),
            pki.passphrase_file.into(),
        ],
    )?;
    crate::serve::run(&demo, &serve).await
}

/// What the demo prepared, in a few lines: the pumps, the alerts by severity, the pumps
/// with vulnerabilities, the pumps with a certificate, the highest risk.
fn summary(
    imported: usize,
    assets: &[Asset],
    findings: &[Finding],
    alerts: &[Alert],
    assessment: &pumpguard_report::Assessment,
    pki: &DeviceCa,
) -> Vec<String> {
    let pumps: BTreeSet<&str> = assets
        .iter()
        .filter(|a| a.kind == AssetKind::InfusionPump)
        .map(|a| a.asset_id.as_str())
        .collect();
    let pumps = &pumps;
    let on_pumps = |status: FindingStatus| {
        findings
            .iter()
            .filter(move |f| f.status == status && pumps.contains(f.asset_id.as_str()))
    };
    let affected: BTreeSet<&str> = on_pumps(FindingStatus::Affected)
        .map(|f| f.asset_id.as_str())
        .collect();
    let review = on_pumps(FindingStatus::NeedsReview)
        .map(|f| f.asset_id.as_str())
        .filter(|a| !affected.contains(a))
        .collect::<BTreeSet<_>>()
        .len();
    let cves: BTreeSet<&str> = on_pumps(FindingStatus::Affected).map(|f| &*f.cve).collect();
    let advisories: BTreeSet<&str> = on_pumps(FindingStatus::Affected)
        .map(|f| &*f.advisory)
        .collect();
    let mut by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for a in alerts {
        *by_severity.entry(a.severity).or_default() += 1;
    }
    let severities: Vec<String> = by_severity
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let kinds: BTreeSet<_> = alerts.iter().map(|a| a.kind).collect();
    let discovered = assets
        .iter()
        .filter(|a| a.kind == AssetKind::InfusionPump && a.source == Source::Discovered)
        .count();
    let risks: Vec<String> = assessment
        .summary
        .risks_by_level
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(level, n)| format!("{n} {}", level.as_str()))
        .collect();
    vec![
        format!(
            "pumps:       {} ({imported} from the inventory, {discovered} found only on the wire); {} assets in all",
            pumps.len(),
            assets.len()
        ),
        format!(
            "alerts:      {} of {} kinds: {}",
            alerts.len(),
            kinds.len(),
            severities.join(", ")
        ),
        format!(
            "vulnerable:  {} of {} pumps affected by {} CVEs from {} CISA advisories; {review} more to review",
            affected.len(),
            pumps.len(),
            cves.len(),
            advisories.len()
        ),
        format!(
            "pki:         {} of {} pumps hold a valid certificate of the device CA '{CA_NAME}' ({} expiring); {} revoked",
            pki.certificates - pki.revoked,
            pumps.len(),
            pki.expiring,
            pki.revoked
        ),
        format!(
            "risk:        highest {} (threat events: {})",
            assessment.summary.highest_risk.as_str(),
            risks.join(", ")
        ),
    ]
}

/// Another command's arguments, parsed by its own definition so that its defaults stay
/// in one place (`args.rs`).
fn parse_args<T: clap::Args + clap::FromArgMatches>(
    name: &'static str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<T, Fail> {
    let command = T::augment_args(clap::Command::new(name).no_binary_name(true));
    let matches = command
        .try_get_matches_from(args)
        .map_err(|e| Fail::runtime(format!("demo: `{name}` arguments: {e}")))?;
    T::from_arg_matches(&matches)
        .map_err(|e| Fail::runtime(format!("demo: `{name}` arguments: {e}")))
}

/// Makes `dir` if needed and deletes the demo's old database there.
fn fresh_start(dir: &Path) -> Result<(), Fail> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Fail::input(format!("{}: cannot create: {e}", dir.display())))?;
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("{DB}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Fail::runtime(format!(
                    "{}: cannot delete the last demo's database: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// The capture, its truth and the ward's drug library, as `pumpguard sim` writes them.
fn simulate(args: &DemoArgs, dir: &Path) -> Result<Truth, Fail> {
    let config = Config {
        pumps: args.pumps,
        seed: args.seed,
        minutes: args.minutes,
        scenarios: Scenario::ALL.to_vec(),
        tcp_anomaly_permille: 5,
    };
    let mut truth = None;
    write_to(Some(&dir.join(CAPTURE)), |w| {
        truth = Some(pumpguard_sim::simulate(&config, w)?);
        Ok(())
    })?;
    let truth = truth.ok_or_else(|| Fail::runtime("simulation produced no truth"))?;
    write_to(Some(&dir.join(TRUTH)), |w| {
        serde_json::to_writer_pretty(&mut *w, &truth)?;
        w.write_all(b"\n")
    })?;
    write_to(Some(&dir.join(DRUG_LIBRARY)), |w| {
        w.write_all(pumpguard_sim::clinical::library_yaml().as_bytes())
    })?;
    Ok(truth)
}

/// The firmware the CMMS records for the `nth` inventoried pump of a family, where it
/// is not what the simulator's pumps report. The simulated firmware falls in no affected
/// range for two families, so the CMMS (whose word an import is) carries real affected
/// versions for every other pump of them: Medfusion 4000 pumps not yet updated from 1.6
/// to 1.6.1 (ICSMA-17-250-02A), and SpaceCom modules on software U61 (ICSMA-20-296-02:
/// `<= U61`).
fn cmms_firmware(family: &str, nth: usize) -> Option<&'static str> {
    match family {
        "medfusion" if nth.is_multiple_of(2) => Some("1.6"),
        "spacecom" if nth.is_multiple_of(2) => Some("U61"),
        _ => None,
    }
}

/// The CMMS's inventory of the ward as CSV (the columns of `examples/ward.csv`): four
/// pumps in five (every fifth is missing, for the sensor alone to find), named as their
/// manufacturers name them, in the ICU (life-sustaining) or on a medical-surgical unit.
fn inventory_csv(truth: &Truth) -> Result<(Vec<u8>, usize), Fail> {
    let fail = |e: &dyn std::fmt::Display| Fail::runtime(format!("{INVENTORY}: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "asset_id",
        "kind",
        "vendor",
        "model",
        "firmware",
        "serial",
        "mac",
        "ip",
        "location",
        "zone",
        "criticality",
    ])
    .map_err(|e| fail(&e))?;
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rows = 0;
    let pumps = truth
        .devices
        .iter()
        .filter(|d| d.kind == AssetKind::InfusionPump.as_str() && d.mac.is_some());
    for (n, d) in pumps.enumerate() {
        if n % 5 == 4 {
            continue;
        }
        let family = d.family.unwrap_or("");
        let nth = per_family.entry(family).or_default();
        let firmware = cmms_firmware(family, *nth).or(d.firmware).unwrap_or("");
        *nth += 1;
        // The sensor names the simulated models the same way.
        let model = d.model.unwrap_or("").trim_end_matches(" (simulated)");
        let (location, criticality) = if n % 3 == 0 {
            (format!("ICU bed {}", n / 3 + 1), "life_sustaining")
        } else {
            (format!("Med-Surg bed {}", n - n / 3), "high")
        };
        let asset_id = format!("PUMP-{:04}", n + 1);
        w.write_record([
            asset_id.as_str(),
            "infusion_pump",
            d.vendor.unwrap_or(""),
            model,
            firmware,
            d.serial.as_deref().unwrap_or(""),
            d.mac.as_deref().unwrap_or(""),
            d.ip.as_str(),
            location.as_str(),
            "pumps",
            criticality,
        ])
        .map_err(|e| fail(&e))?;
        rows += 1;
    }
    let bytes = w.into_inner().map_err(|e| fail(&e))?;
    Ok((bytes, rows))
}

/// Writes the inventory and imports it as `pumpguard assets import` does; returns the
/// rows imported and the file.
async fn import_inventory(
    ctx: &Context,
    store: &Store,
    truth: &Truth,
    dir: &Path,
) -> Result<(usize, PathBuf), Fail> {
    let (csv, rows) = inventory_csv(truth)?;
    let path = dir.join(INVENTORY);
    write_to(Some(&path), |w| w.write_all(&csv))?;
    let name = path.display().to_string();
    let patches: Vec<AssetPatch> = pumpguard_inventory::read_csv(csv.as_slice())
        .map_err(|e| Fail::runtime(format!("{name}:{e}")))?
        .into_iter()
        .map(|r| r.patch)
        .collect();
    store.import_assets(&ctx.actor, &name, &patches).await?;
    Ok((rows, path))
}

/// What [`device_ca`] made: certificates issued (each to a pump of its own), how many of
/// them expire soon and how many are revoked, and the file of the CA's passphrase.
struct DeviceCa {
    certificates: usize,
    expiring: usize,
    revoked: usize,
    passphrase_file: PathBuf,
}

/// Creates the device CA with `pumpguard pki init --name "Demo Hospital"`, its keys
/// sealed with a generated passphrase (written to `CA_PASSPHRASE`), and issues pump
/// certificates to two thirds (rounded) of the inventoried pumps, in asset id order,
/// for keys made here in the pumps' place (`pki issue` takes CSRs): recorded as
/// `pki issue` and EST record them, with the pump's MAC and serial as RFC 9039 URNs.
/// The first expires within `EXPIRING_CERT_DAYS` and `pki check`'s expiry alert is
/// raised for it; the last (of two or more) is revoked for a compromised key, as
/// `pki revoke` does. The pumps only the sensor found get none.
async fn device_ca(ctx: &Context, store: &Store, dir: &Path) -> Result<DeviceCa, Fail> {
    let secret = pumpguard_server::passwords::generate();
    let passphrase_file = dir.join(CA_PASSPHRASE);
    write_to(Some(&passphrase_file), |w| writeln!(w, "{secret}"))?;

    let init = PkiCmd::Init {
        name: CA_NAME.to_owned(),
        algorithm: CA_ALGORITHM.to_owned(),
        passphrase: Passphrase {
            passphrase_file: Some(passphrase_file.clone()),
        },
    };
    crate::pki::run(ctx, init).await?;
    // Opened as `pki issue` opens it (which checks the passphrase).
    let (ca, alg) = authority::open(store, &secret)
        .await
        .map_err(authority_fail)?;
    let at = authority::odt(time::now()).map_err(authority_fail)?;

    let mut pumps: Vec<Asset> = store
        .list_assets(&AssetFilter {
            kind: Some(AssetKind::InfusionPump),
            source: Some(Source::Imported),
            ..AssetFilter::default()
        })
        .await?;
    pumps.sort_by(|a, b| a.asset_id.as_str().cmp(b.asset_id.as_str()));
    // Two thirds, rounded to the nearest.
    pumps.truncate((2 * pumps.len() + 1) / 3);
    let last = pumps.len().saturating_sub(1);
    let mut out = DeviceCa {
        certificates: 0,
        expiring: 0,
        revoked: 0,
        passphrase_file,
    };
    for (n, pump) in pumps.iter().enumerate() {
        let expiring = n == 0;
        let opts = IssueOptions {
            profile: Profile::Pump,
            validity_days: if expiring {
                EXPIRING_CERT_DAYS
            } else {
                PUMP_CERT_DAYS
            },
            now: at,
            uris: pumpguard_pki::device_urns(
                pump.mac.map(|m| m.0),
                pump.model.as_deref(),
                pump.serial.as_deref(),
            ),
            dns_names: Vec::new(),
            crl_url: None,
        };
        // The pump's key stays "on the pump": the demo has no use for it.
        let (issued, _key) =
            pumpguard_pki::issue_with_new_key(&ca, pump.asset_id.as_str(), alg, &opts)
                .map_err(|e| authority_fail(e.into()))?;
        let cert = authority::record_of(&issued, "pump", at).map_err(authority_fail)?;
        store.pki_record_issued(&ctx.actor, &cert).await?;
        out.certificates += 1;
        if n == last && n > 0 {
            store
                .pki_revoke(&ctx.actor, &cert.serial, "key-compromise", time::now())
                .await?;
            out.revoked += 1;
        } else if expiring {
            out.expiring += 1;
        }
    }
    pumpguard_server::check_expiry(store, &ctx.actor, EXPIRY_CHECK_DAYS).await?;
    Ok(out)
}

/// Imports the bundled advisories as `pumpguard vuln import` does, in one transaction.
async fn import_advisories(
    ctx: &Context,
    store: &Store,
) -> Result<pumpguard_store::VulnImportSummary, Fail> {
    let mut items = Vec::new();
    for (file, bytes) in ADVISORIES {
        let name = format!("bundled:{file}");
        let imports = pumpguard_vuln::read(bytes, &name)
            .map_err(|e| Fail::runtime(format!("{name}: {e}")))?;
        items.extend(imports.into_iter().map(|i| (name.clone(), i)));
    }
    Ok(store.import_vuln(&ctx.actor, &items).await?)
}

/// Gathers the evidence (stored, as `assess evidence` does) into the assessment report,
/// written as JSON and HTML; returns the assessment.
async fn assess(
    ctx: &Context,
    dir: &Path,
    html: &Path,
) -> Result<pumpguard_report::Assessment, Fail> {
    let json = dir.join(REPORT_JSON);
    let report: ReportArgs = parse_args(
        "report",
        [
            OsString::from("--format"),
            "json".into(),
            "--out".into(),
            json.clone().into(),
            "--title".into(),
            "pumpguard demo ward: infusion pump ecosystem risk assessment".into(),
        ],
    )?;
    crate::assess::report(ctx, &report).await?;
    let bytes = std::fs::read(&json)
        .map_err(|e| Fail::runtime(format!("{}: cannot read: {e}", json.display())))?;
    let assessment: pumpguard_report::Assessment = serde_json::from_slice(&bytes)
        .map_err(|e| Fail::runtime(format!("{}: {e}", json.display())))?;
    let page = pumpguard_report::render(&assessment, pumpguard_report::Format::Html)
        .map_err(|e| Fail::runtime(format!("{}: {e}", html.display())))?;
    write_to(Some(html), |w| w.write_all(&page))?;
    Ok(assessment)
}

/// Gives the console an `admin` user with this password.
async fn create_admin(store: &Store, actor: &str, password: &str) -> Result<(), Fail> {
    let hash = pumpguard_server::passwords::hash(password).map_err(Fail::runtime)?;
    store.user_add(actor, ADMIN, &hash, "admin").await?;
    Ok(())
}

/// `s` as one shell word (quoted when it needs to be).
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/:._-+=@,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_commands_arguments_keep_their_defaults() {
        let serve: ServeArgs = parse_args(
            "serve",
            [
                OsString::from("--listen"),
                "127.0.0.1:9000".into(),
                "--policy".into(),
                "p.yaml".into(),
            ],
        )
        .expect("serve args");
        assert_eq!(serve.listen, Some("127.0.0.1:9000".parse().expect("addr")));
        assert_eq!(serve.policy, Some(PathBuf::from("p.yaml")));
        assert!(!serve.tls);
        assert_eq!(serve.est_days, 825);
        let sense: SenseArgs = parse_args(
            "sense",
            [
                OsString::from("--pcap"),
                "x.pcapng".into(),
                "--learn".into(),
            ],
        )
        .expect("sense args");
        assert!(sense.learn);
        assert_eq!(sense.pcap, vec![PathBuf::from("x.pcapng")]);
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("sqlite://./a.db"), "sqlite://./a.db");
        assert_eq!(shell_word("sqlite:///tmp/a b.db"), "'sqlite:///tmp/a b.db'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_bundled_advisories_and_policy_read() {
        for (file, bytes) in ADVISORIES {
            let read = pumpguard_vuln::read(bytes, file).expect(file);
            assert!(!read.is_empty(), "{file}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let policy = dir.path().join(POLICY);
        std::fs::write(&policy, POLICY_YAML).expect("write");
        crate::policy::load(&policy).expect("the demo policy loads");
    }
}
