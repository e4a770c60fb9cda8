//! The risk assessment drawn from the store: evidence, answers, register, and the
//! findings from outside the questionnaire.

use std::collections::{BTreeMap, BTreeSet};

use pumpguard_model::{AlertStatus, AssetKind, Lifecycle, Severity, time};
use pumpguard_risk::answers::HumanAnswer;
use pumpguard_risk::assessment::FindingInput;
use pumpguard_risk::evidence::{AuditFacts, CertificateFacts, OpenVulnerability, VulnFacts};
use pumpguard_risk::{Answer, Answered, Assessment, Bank, EvidenceAnswer, Facts, Level, Register};
use pumpguard_store::{AlertFilter, AssetFilter, AuditVerdict, EvidenceRecord, FlowFilter, Store};
use pumpguard_vuln::matcher::{Finding, FindingStatus};
use pumpguard_vuln::names::VendorAliases;

use crate::AnalysisError;

/// A CVSS base score from which an open finding counts as critical.
pub const CRITICAL_SCORE: f64 = 9.0;

/// What the evidence rules found, and the open critical vulnerabilities behind them.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub evidence: Vec<EvidenceAnswer>,
    pub open_critical: Vec<OpenVulnerability>,
}

/// Runs the evidence rules over the store and keeps what they found, audited as `actor`
/// (a question whose answer and evidence did not change writes nothing).
///
/// `findings`: the fleet's vulnerability findings when the caller has them at hand (a
/// cache); `None` matches the fleet now with the built-in vendor aliases. Either way
/// they count only once a vulnerability document was imported.
pub async fn gather(
    store: &Store,
    actor: &str,
    bank: &Bank,
    findings: Option<&[Finding]>,
) -> Result<Gathered, AnalysisError> {
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
    drop((advisories, sboms));
    let vulns = if documents == 0 {
        None
    } else {
        let matched;
        let findings = match findings {
            Some(f) => f,
            None => {
                matched = crate::fleet_findings(store, &VendorAliases::default())
                    .await?
                    .0;
                &matched[..]
            }
        };
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
                    .map_err(|err| AnalysisError::Internal(format!("evidence: {err}")))?,
                evaluated: now,
            })
        })
        .collect::<Result<_, AnalysisError>>()?;
    store.save_evidence(actor, &records).await?;
    Ok(Gathered {
        evidence,
        open_critical: vulns.map(|v| v.open_critical).unwrap_or_default(),
    })
}

/// People's answers as stored (`pumpguard assess answer`, the API), by question id.
pub async fn stored_answers(store: &Store) -> Result<BTreeMap<String, HumanAnswer>, AnalysisError> {
    let mut out = BTreeMap::new();
    for r in store.list_answers().await? {
        let answer = r.answer.parse::<Answer>().map_err(|e| {
            AnalysisError::Internal(format!("stored answer to {}: {e}", r.question_id))
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
    Ok(out)
}

/// Every question at the answer it stands at: people's answers over the evidence
/// ([`gather`], kept as `actor`). `answers`: people's answers to use instead of the
/// stored ones (an answers file, already checked against the bank); `None`: the stored
/// ones.
pub async fn answered(
    store: &Store,
    actor: &str,
    bank: &Bank,
    answers: Option<BTreeMap<String, HumanAnswer>>,
    findings: Option<&[Finding]>,
) -> Result<(Vec<Answered>, Gathered), AnalysisError> {
    let human = match answers {
        Some(a) => a,
        None => stored_answers(store).await?,
    };
    let gathered = gather(store, actor, bank, findings).await?;
    let answered = pumpguard_risk::merge(bank, &human, &gathered.evidence);
    Ok((answered, gathered))
}

/// The SP 800-30 risk register (`pumpguard assess run`): [`answered`], then each
/// threat's likelihood lowered by the answers.
pub async fn risk_register(
    store: &Store,
    actor: &str,
    bank: &Bank,
    answers: Option<BTreeMap<String, HumanAnswer>>,
    findings: Option<&[Finding]>,
) -> Result<Register, AnalysisError> {
    let (answered, _) = answered(store, actor, bank, answers, findings).await?;
    Ok(pumpguard_risk::register(
        bank,
        &pumpguard_risk::answers::answer_map(&answered),
    ))
}

/// The assessment `pumpguard report` renders, generated now: [`answered`] (the evidence
/// kept as `actor`; `extra_answers` instead of the stored answers when given), the
/// register, and [`outside_findings`]. Matches the fleet now for the evidence; see
/// [`assessment_with`] to hand over findings already matched.
pub async fn assessment(
    store: &Store,
    actor: &str,
    bank: &Bank,
    title: &str,
    extra_answers: Option<BTreeMap<String, HumanAnswer>>,
) -> Result<Assessment, AnalysisError> {
    assessment_with(store, actor, bank, title, extra_answers, None).await
}

/// [`assessment`] with the fleet's findings when the caller has them (`None`: match now).
pub async fn assessment_with(
    store: &Store,
    actor: &str,
    bank: &Bank,
    title: &str,
    extra_answers: Option<BTreeMap<String, HumanAnswer>>,
    findings: Option<&[Finding]>,
) -> Result<Assessment, AnalysisError> {
    let (answered, gathered) = answered(store, actor, bank, extra_answers, findings).await?;
    let outside = outside_findings(store, &gathered.open_critical).await?;
    Ok(pumpguard_risk::assess(
        bank,
        title,
        time::now(),
        answered,
        outside,
    ))
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
pub async fn outside_findings(
    store: &Store,
    open_critical: &[OpenVulnerability],
) -> Result<Vec<FindingInput>, AnalysisError> {
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
