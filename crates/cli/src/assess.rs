//! `pumpguard assess …` and `pumpguard report`: the question bank, people's answers,
//! evidence gathered from the store, the risk register, MDS2 forms and the report. The
//! rules, the register and the report's content belong to `pumpguard-risk`; the
//! documents to `pumpguard-report`; this module reads the store and the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pumpguard_model::{AlertStatus, AssetKind, Lifecycle, Severity, time};
use pumpguard_risk::answers::HumanAnswer;
use pumpguard_risk::assessment::FindingInput;
use pumpguard_risk::evidence::{AuditFacts, CertificateFacts, OpenVulnerability, VulnFacts};
use pumpguard_risk::mds2::Mds2Value;
use pumpguard_risk::{Answer, Answered, Bank, EvidenceAnswer, Facts, Level};
use pumpguard_store::{
    AlertFilter, AnswerRecord, AssetFilter, AuditVerdict, EvidenceRecord, FlowFilter, Mds2Record,
    Store,
};
use pumpguard_vuln::matcher::FindingStatus;
use serde::Deserialize;

use crate::args::{AssessCmd, Context, ListFormat, Mds2Cmd, ReportArgs, ReportFormat, ShowFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};

/// A CVSS base score from which an open finding counts as critical.
const CRITICAL_SCORE: f64 = 9.0;

fn bank() -> Result<Bank, Fail> {
    // The bank is compiled in; a failure here is a defect of the build, not of the input.
    Bank::builtin().map_err(|e| Fail::runtime(format!("the built-in question bank: {e}")))
}

pub async fn run(ctx: &Context, cmd: AssessCmd) -> Result<(), Fail> {
    let bank = bank()?;
    match cmd {
        AssessCmd::Questions { format } => questions(&bank, list_format(format)),
        AssessCmd::Answer { id, value, note } => answer(ctx, &bank, &id, &value, note).await,
        AssessCmd::Evidence { format } => {
            let store = Store::open(&ctx.db).await?;
            let gathered = gather(ctx, &store, &bank).await?;
            print_evidence(&gathered.evidence, list_format(format))
        }
        AssessCmd::Run { answers, format } => {
            let store = Store::open(&ctx.db).await?;
            let (answered, _) = answered(ctx, &store, &bank, answers.as_deref()).await?;
            let register =
                pumpguard_risk::register(&bank, &pumpguard_risk::answers::answer_map(&answered));
            let format = format.unwrap_or(match list_format(None) {
                ListFormat::Table => ShowFormat::Table,
                _ => ShowFormat::Json,
            });
            write_to(None, |w| match format {
                ShowFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &register)?;
                    w.write_all(b"\n")
                }
                ShowFormat::Table => w.write_all(register_table(&register).as_bytes()),
            })
        }
        AssessCmd::Mds2(Mds2Cmd::Import { file, model }) => {
            mds2_import(ctx, &bank, &file, &model).await
        }
        AssessCmd::Mds2(Mds2Cmd::List {
            model,
            gaps,
            format,
        }) => {
            let store = Store::open(&ctx.db).await?;
            let mut rows = store.list_mds2(model.as_deref()).await?;
            if gaps {
                rows.retain(|r| r.gap);
            }
            print_mds2(&rows, list_format(format))
        }
    }
}

/// `pumpguard report`: the assessment drawn up and rendered to one file.
pub async fn report(ctx: &Context, args: &ReportArgs) -> Result<(), Fail> {
    let bank = bank()?;
    let store = Store::open(&ctx.db).await?;
    let (answered, gathered) = answered(ctx, &store, &bank, args.answers.as_deref()).await?;
    let outside = outside_findings(&store, &gathered.open_critical).await?;
    let assessment = pumpguard_risk::assess(&bank, &args.title, time::now(), answered, outside);
    let format = match args.format {
        ReportFormat::Html => pumpguard_report::Format::Html,
        ReportFormat::Xlsx => pumpguard_report::Format::Xlsx,
        ReportFormat::Json => pumpguard_report::Format::Json,
        ReportFormat::Md => pumpguard_report::Format::Markdown,
    };
    let bytes = pumpguard_report::render(&assessment, format)
        .map_err(|e| Fail::runtime(format!("{}: {e}", args.out.display())))?;
    write_to(Some(&args.out), |w| w.write_all(&bytes))
}

fn questions(bank: &Bank, format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &bank.questions)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "id",
                "topic",
                "text",
                "csf",
                "hipaa",
                "sp800_53",
                "iec_80001",
                "evidence",
            ])?;
            for q in &bank.questions {
                c.write_record([
                    q.id.as_str(),
                    &q.topic,
                    &q.text,
                    &q.csf.join(" "),
                    &q.hipaa.join(" "),
                    &q.sp800_53.join(" "),
                    &q.iec_80001.join(" "),
                    q.evidence.as_deref().unwrap_or(""),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["id", "topic", "question", "csf", "hipaa", "evidence"]);
            for q in &bank.questions {
                t.add_row([
                    q.id.clone(),
                    q.topic.clone(),
                    q.text.clone(),
                    q.csf.join(" "),
                    q.hipaa.join(" "),
                    q.evidence.clone().unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}\n{} questions", bank.questions.len())
        }
    })
}

async fn answer(
    ctx: &Context,
    bank: &Bank,
    id: &str,
    value: &str,
    note: Option<String>,
) -> Result<(), Fail> {
    let q = bank.question(id).ok_or_else(|| {
        Fail::input(format!(
            "unknown question '{id}' (`pumpguard assess questions` lists them)"
        ))
    })?;
    let answer: Answer = value.parse().map_err(Fail::input)?;
    let store = Store::open(&ctx.db).await?;
    let before = store
        .set_answer(&AnswerRecord {
            question_id: q.id.clone(),
            answer: answer.as_str().to_owned(),
            note: note.filter(|n| !n.trim().is_empty()),
            answered: time::now(),
            actor: ctx.actor.clone(),
        })
        .await?;
    say(&match before {
        Some(b) => format!("{}: {b} → {answer}", q.id),
        None => format!("{}: {answer}", q.id),
    });
    Ok(())
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// What the evidence rules found, and the open critical vulnerabilities behind them.
struct Gathered {
    evidence: Vec<EvidenceAnswer>,
    open_critical: Vec<OpenVulnerability>,
}

/// Runs the evidence rules over the store and keeps what they found (a question whose
/// answer and evidence did not change writes nothing).
async fn gather(ctx: &Context, store: &Store, bank: &Bank) -> Result<Gathered, Fail> {
    let (asset_filter, flow_filter, alert_filter) = (
        AssetFilter::default(),
        FlowFilter::default(),
        AlertFilter::default(),
    );
    let (assets, flows, alerts, verdict, (advisories, sboms)) = tokio::try_join!(
        store.list_assets(&asset_filter),
        store.list_flows(&flow_filter),
        store.list_alerts(&alert_filter),
        store.audit_verify(),
        store.vuln_documents(),
    )?;
    let audit = match verdict {
        AuditVerdict::Intact(s) => AuditFacts {
            entries: s.entries,
            broken: None,
        },
        AuditVerdict::Broken(b) => AuditFacts {
            entries: b.seq,
            broken: Some(format!("entry {}: {}", b.seq, b.why)),
        },
    };
    let documents = advisories.len() + sboms.len();
    let vulns = if documents == 0 {
        None
    } else {
        let aliases = crate::vuln::aliases(None)?;
        let (findings, _) = crate::vuln::match_all(store, &aliases).await?;
        Some(VulnFacts {
            documents,
            open_critical: findings
                .iter()
                .filter(|f| {
                    f.status == FindingStatus::Affected
                        && (f.kev || f.score.is_some_and(|s| s >= CRITICAL_SCORE))
                })
                .map(|f| OpenVulnerability {
                    asset_id: f.asset_id.clone(),
                    cve: f.cve.to_string(),
                    score: f.score,
                    kev: f.kev,
                })
                .collect(),
        })
    };
    // Without a CA pumpguard knows nothing of the pumps' certificates (another CA may
    // issue them): the rule says unknown.
    let certificates = match store.pki_ca().await? {
        Some(_) => Some(CertificateFacts {
            pumps: pumpguard_store::pump_certificate_coverage(
                &store.pki_certificates().await?,
                &assets,
                time::now(),
            ),
        }),
        None => None,
    };
    // The drug-library ledger, once the pharmacy approved a library: with none approved
    // no report is known to be unapproved, and LIB-02 says unknown. A report's hash is
    // the approved library's SHA-256 it matches, else the version as reported (pumps
    // report versions, not hashes).
    let drug_libraries: Option<Vec<pumpguard_risk::evidence::DrugLibraryReport>> =
        if store.druglib_approved().await?.is_empty() {
            None
        } else {
            Some(
                store
                    .druglib_ledger()
                    .await?
                    .into_iter()
                    .map(|r| pumpguard_risk::evidence::DrugLibraryReport {
                        hash: r.library_sha256.unwrap_or_else(|| r.version.clone()),
                        asset_id: r.asset_id,
                        library: r.version,
                        approved: r.approved,
                    })
                    .collect(),
            )
        };
    let facts = Facts {
        assets: &assets,
        flows: &flows,
        alerts: &alerts,
        audit: Some(&audit),
        vulns: vulns.as_ref(),
        certificates: certificates.as_ref(),
        drug_libraries: drug_libraries.as_deref(),
    };
    let evidence = pumpguard_risk::evaluate(bank, &facts);
    let now = time::now();
    let records: Vec<EvidenceRecord> = evidence
        .iter()
        .map(|e| {
            Ok(EvidenceRecord {
                question_id: e.question_id.clone(),
                rule: e.evidence.rule.clone(),
                answer: e.answer.as_str().to_owned(),
                evidence: serde_json::to_value(&e.evidence)
                    .map_err(|err| Fail::runtime(format!("evidence: {err}")))?,
                evaluated: now,
            })
        })
        .collect::<Result<_, Fail>>()?;
    store.save_evidence(&ctx.actor, &records).await?;
    Ok(Gathered {
        evidence,
        open_critical: vulns.map(|v| v.open_critical).unwrap_or_default(),
    })
}

/// Every question at the answer it stands at: the file's answers (or the stored ones)
/// over the evidence.
async fn answered(
    ctx: &Context,
    store: &Store,
    bank: &Bank,
    file: Option<&Path>,
) -> Result<(Vec<Answered>, Gathered), Fail> {
    let human = match file {
        Some(f) => answers_file(bank, f, &ctx.actor)?,
        None => {
            let mut out = BTreeMap::new();
            for r in store.list_answers().await? {
                let answer = r.answer.parse::<Answer>().map_err(|e| {
                    Fail::runtime(format!("stored answer to {}: {e}", r.question_id))
                })?;
                out.insert(
                    r.question_id,
                    HumanAnswer {
                        answer,
                        note: r.note,
                        actor: r.actor,
                        answered: r.answered,
                    },
                );
            }
            out
        }
    };
    let gathered = gather(ctx, store, bank).await?;
    let answered = pumpguard_risk::merge(bank, &human, &gathered.evidence);
    Ok((answered, gathered))
}

/// One answer in an answers file: a word, or the word with a note.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileAnswer {
    Word(String),
    Full {
        answer: String,
        note: Option<String>,
    },
}

/// Reads `{ID: answer}` or `{ID: {answer, note}}` from JSON or YAML, every id and
/// answer checked against the bank.
fn answers_file(
    bank: &Bank,
    path: &Path,
    actor: &str,
) -> Result<BTreeMap<String, HumanAnswer>, Fail> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let parsed: BTreeMap<String, FileAnswer> = if is_json {
        serde_json::from_str(&text).map_err(|e| {
            Fail::input(format!(
                "{name}: line {} column {}: expected {{\"ID\": \"answer\"}} or {{\"ID\": {{\"answer\": …, \"note\": …}}}}: {e}",
                e.line(),
                e.column()
            ))
        })?
    } else {
        serde_norway::from_str(&text).map_err(|e| {
            let place = e
                .location()
                .map_or_else(String::new, |l| format!("line {}: ", l.line()));
            Fail::input(format!(
                "{name}: {place}expected ID: answer or ID: {{answer, note}}: {e}"
            ))
        })?
    };
    // The line a key is on, for errors about its value.
    let line_of = |key: &str| {
        text.lines()
            .position(|l| {
                let bare = l.trim_start();
                l.contains(&format!("\"{key}\""))
                    || l.contains(&format!("'{key}'"))
                    || bare
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or_else(String::new, |i| format!("line {}: ", i + 1))
    };
    let answered = time::now();
    let mut out = BTreeMap::new();
    for (id, a) in parsed {
        if bank.question(&id).is_none() {
            return Err(Fail::input(format!(
                "{name}: {}unknown question '{id}' (`pumpguard assess questions` lists them)",
                line_of(&id)
            )));
        }
        let (word, note) = match a {
            FileAnswer::Word(w) => (w, None),
            FileAnswer::Full { answer, note } => (answer, note),
        };
        let answer = word
            .parse::<Answer>()
            .map_err(|e| Fail::input(format!("{name}: {}{id}: {e}", line_of(&id))))?;
        out.insert(
            id,
            HumanAnswer {
                answer,
                note,
                actor: actor.to_owned(),
                answered,
            },
        );
    }
    Ok(out)
}

fn print_evidence(evidence: &[EvidenceAnswer], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, evidence)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(["question_id", "answer", "rule", "summary", "citations"])?;
            for e in evidence {
                let cites: Vec<String> = e
                    .evidence
                    .citations
                    .iter()
                    .map(|c| format!("{} {}", c.kind, c.id))
                    .collect();
                c.write_record([
                    e.question_id.as_str(),
                    e.answer.as_str(),
                    &e.evidence.rule,
                    &e.evidence.summary,
                    &cites.join("; "),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["question", "answer", "evidence", "cites"]);
            for e in evidence {
                let cites: Vec<String> = e
                    .evidence
                    .citations
                    .iter()
                    .take(3)
                    .map(|c| format!("{} {}", c.kind, c.id))
                    .collect();
                t.add_row([
                    e.question_id.clone(),
                    e.answer.to_string(),
                    e.evidence.summary.clone(),
                    cites.join("\n"),
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}

fn level_word(l: Level) -> String {
    l.as_str().replace('_', " ")
}

fn register_table(r: &pumpguard_risk::Register) -> String {
    let mut t = table();
    t.set_header([
        "threat event",
        "likelihood",
        "impact",
        "risk",
        "patient safety / ePHI / availability",
        "answers that lower it",
    ]);
    for e in &r.risks {
        let lowering: Vec<String> = e
            .contributing
            .iter()
            .filter(|c| matches!(c.answer, Answer::Yes | Answer::Partial))
            .map(|c| format!("{} {}", c.question, c.answer))
            .collect();
        let concern = |k: &str| {
            e.by_concern
                .get(k)
                .map_or_else(String::new, |l| level_word(*l))
        };
        t.add_row([
            e.name.clone(),
            format!(
                "{} (base {})",
                level_word(e.likelihood),
                level_word(e.base_likelihood)
            ),
            level_word(e.impact),
            level_word(e.risk_level),
            format!(
                "{} / {} / {}",
                concern("patient_safety"),
                concern("ephi"),
                concern("availability")
            ),
            if lowering.is_empty() {
                "none".into()
            } else {
                lowering.join(", ")
            },
        ]);
    }
    let sp: Vec<String> = r
        .sp1800_8
        .iter()
        .map(|(k, l)| format!("{k}: {}", level_word(*l)))
        .collect();
    format!("{t}\nSP 1800-8 risks: {}\n", sp.join(", "))
}

async fn mds2_import(ctx: &Context, bank: &Bank, file: &Path, model: &str) -> Result<(), Fail> {
    let name = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    let capabilities: BTreeSet<String> = bank.iec_80001.keys().cloned().collect();
    // The reader turns a panic of the spreadsheet library into an error; silence the
    // default hook meanwhile so that the error stays the one line the user sees.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let form = pumpguard_risk::mds2::read(&name, &bytes, &capabilities);
    std::panic::set_hook(hook);
    let form = form.map_err(|e| Fail::input(e.to_string()))?;
    let imported = time::now();
    let records: Vec<Mds2Record> = form
        .answers
        .iter()
        .map(|a| Mds2Record {
            model: model.to_owned(),
            question_id: a.id.clone(),
            capability: a.capability.clone(),
            answer: mds2_word(a.answer).to_owned(),
            gap: a.is_gap(),
            question: a.question.clone(),
            note: a.note.clone(),
            source: name.clone(),
            document_id: form.document_id.clone(),
            imported,
        })
        .collect();
    let store = Store::open(&ctx.db).await?;
    let summary = store.import_mds2(&ctx.actor, model, &records).await?;
    let form_model = form
        .model
        .as_deref()
        .map(|m| format!(" (the form names '{m}')"))
        .unwrap_or_default();
    say(&format!(
        "{model}{form_model}: {} answers, {} capability gap(s){}",
        summary.answers,
        summary.gaps.len(),
        if summary.gaps.is_empty() {
            String::new()
        } else {
            format!(": {}", summary.gaps.join(", "))
        }
    ));
    Ok(())
}

/// How the store keeps an MDS2 answer.
fn mds2_word(v: Mds2Value) -> &'static str {
    match v {
        Mds2Value::Yes => "yes",
        Mds2Value::No => "no",
        Mds2Value::NotApplicable => "not_applicable",
        Mds2Value::SeeNote => "see_note",
    }
}

fn print_mds2(rows: &[Mds2Record], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, rows)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "model",
                "question_id",
                "capability",
                "answer",
                "question",
                "note",
                "source",
            ])?;
            for r in rows {
                c.write_record([
                    r.model.as_str(),
                    &r.question_id,
                    &r.capability,
                    &r.answer,
                    &r.question,
                    r.note.as_deref().unwrap_or(""),
                    &r.source,
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["model", "id", "answer", "question", "note"]);
            for r in rows {
                t.add_row([
                    r.model.clone(),
                    r.question_id.clone(),
                    r.answer.clone(),
                    r.question.clone(),
                    r.note.clone().unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}

fn severity_level(s: Severity) -> Level {
    match s {
        Severity::Critical => Level::VeryHigh,
        Severity::High => Level::High,
        Severity::Medium => Level::Moderate,
        Severity::Low => Level::Low,
        Severity::Info => Level::VeryLow,
    }
}

/// Findings from outside the questionnaire: MDS2 capability gaps of the models, open
/// alerts of high severity (one per kind), open critical vulnerabilities (one per CVE).
async fn outside_findings(
    store: &Store,
    open_critical: &[OpenVulnerability],
) -> Result<Vec<FindingInput>, Fail> {
    let high = AlertFilter {
        min_severity: Some(Severity::High),
        ..AlertFilter::default()
    };
    let all = AssetFilter::default();
    let (mds2, alerts, assets) = tokio::try_join!(
        store.list_mds2(None),
        store.list_alerts(&high),
        store.list_assets(&all),
    )?;
    let in_service: BTreeSet<&str> = assets
        .iter()
        .filter(|a| a.kind == AssetKind::InfusionPump && a.lifecycle != Lifecycle::Retired)
        .filter_map(|a| a.model.as_deref())
        .collect();
    let mut out = Vec::new();
    for r in mds2.iter().filter(|r| r.gap) {
        let used = in_service.contains(r.model.as_str());
        out.push(FindingInput {
            source: "mds2".into(),
            reference: format!("{} / {}", r.model, r.question_id),
            title: format!("{}: the manufacturer answers No to {}: {}", r.model, r.question_id, r.question),
            detail: match (&r.note, used) {
                (Some(n), true) => format!("{n} (the model is in service)"),
                (Some(n), false) => n.clone(),
                (None, true) => "The model is in service.".into(),
                (None, false) => "No pump of this model is in the inventory.".into(),
            },
            risk_level: if used { Level::Moderate } else { Level::Low },
            controls: vec![r.capability.clone()],
            remediation: "Ask the manufacturer for a fix or a roadmap; compensate with network controls (segmentation, monitoring) meanwhile.".into(),
        });
    }
    let mut by_kind: BTreeMap<&str, Vec<&pumpguard_model::Alert>> = BTreeMap::new();
    for a in alerts.iter().filter(|a| a.status != AlertStatus::Resolved) {
        by_kind.entry(a.kind.as_str()).or_default().push(a);
    }
    for (kind, list) in by_kind {
        let worst = list
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::High);
        let ids: Vec<String> = list.iter().map(|a| a.id.to_string()).collect();
        out.push(FindingInput {
            source: "alert".into(),
            reference: format!("alerts {}", ids.join(", ")),
            title: format!("{kind}: {} open alert(s)", list.len()),
            detail: list[0].evidence.sentence.clone(),
            risk_level: severity_level(worst),
            controls: vec!["DE.AE-02".into(), "RS.AN-03".into()],
            remediation: list[0].action.clone(),
        });
    }
    let mut by_cve: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in open_critical {
        by_cve.entry(&v.cve).or_default().push(&v.asset_id);
    }
    for (cve, assets) in by_cve {
        out.push(FindingInput {
            source: "vulnerability".into(),
            reference: cve.to_owned(),
            title: format!("{cve}: critical or known exploited, open on {} asset(s)", assets.len()),
            detail: format!("Assets: {}", assets.join(", ")),
            risk_level: Level::VeryHigh,
            controls: vec!["ID.RA-01".into(), "PR.PS-02".into(), "164.308(a)(1)(ii)(B)".into()],
            remediation: "Apply the manufacturer's fix or mitigation; triage with `pumpguard vuln triage` when it does not apply.".into(),
        });
    }
    Ok(out)
}
