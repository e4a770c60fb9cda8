//! Vulnerability intelligence on both backends: documents imported, re-imported
//! unchanged (nothing written, nothing audited) and changed (replaced, audited); one
//! listing per CVE across sources with KEV and EPSS attached; a refused item leaves
//! nothing behind; triage decisions checked, replaced and audited with what they
//! replaced.

use pumpguard_model::{
    Advisory, Component, CvssScore, EpssScore, KevEntry, Product, ProductStatus, Sbom,
    TriageDecision, VexStatus, VulnFormat, VulnImport, Vulnerability,
};
use pumpguard_store::{AuditVerdict, Store, StoreError, VulnImportSummary};
use pumpguard_testkit::TestDb;

fn score(version: &str, vector: &str, score: f64, severity: &str) -> CvssScore {
    CvssScore {
        version: version.into(),
        vector: vector.into(),
        score,
        severity: Some(severity.into()),
        source: None,
        product_ids: vec![],
    }
}

fn vuln(cve: &str, scores: Vec<CvssScore>) -> Vulnerability {
    Vulnerability {
        id: cve.into(),
        cve: Some(cve.into()),
        title: Some(format!("{cve} title")),
        description: None,
        cwes: vec!["CWE-306".into()],
        scores,
        statuses: vec![ProductStatus {
            product_id: "CSAFPID-0001".into(),
            status: VexStatus::Affected,
            justification: None,
            statement: None,
        }],
        remediations: vec![],
        configurations: vec![],
        published: None,
    }
}

fn advisory(id: &str, format: VulnFormat, vulns: Vec<Vulnerability>) -> Advisory {
    Advisory {
        id: id.into(),
        format,
        publisher: Some("CISA".into()),
        title: Some(format!("{id} title")),
        revision: Some("1".into()),
        published: Some("2020-06-18T00:00:00Z".parse().expect("time")),
        updated: None,
        url: None,
        products: vec![Product {
            product_id: "CSAFPID-0001".into(),
            vendor: Some("Becton, Dickinson and Company (BD)".into()),
            name: "Alaris PC Unit".into(),
            version: Some("9.13 | 9.19 | 9.33 | 12.1".into()),
            version_is_range: false,
            full_name: None,
            cpe: None,
            purl: None,
            relationship: None,
        }],
        vulnerabilities: vulns,
    }
}

fn items() -> Vec<(String, VulnImport)> {
    let cisa = advisory(
        "ICSMA-20-170-06",
        VulnFormat::Csaf,
        vec![
            vuln(
                "CVE-2020-12040",
                vec![score(
                    "3.0",
                    "CVSS:3.0/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L",
                    6.3,
                    "Medium",
                )],
            ),
            vuln("CVE-2020-12041", vec![]),
        ],
    );
    let nvd = advisory(
        "CVE-2020-12040",
        VulnFormat::Nvd,
        vec![vuln(
            "CVE-2020-12040",
            vec![
                score("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "High"),
                score(
                    "3.1",
                    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    9.8,
                    "Critical",
                ),
            ],
        )],
    );
    let sbom = Sbom {
        id: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79".into(),
        format: VulnFormat::CycloneDx,
        subject: Some(Component {
            reference: None,
            supplier: Some("BD".into()),
            name: "Alaris PC Unit".into(),
            version: Some("12.1".into()),
            purl: None,
            cpe: None,
        }),
        components: vec![Component {
            reference: Some("openssl".into()),
            supplier: None,
            name: "openssl".into(),
            version: Some("1.0.2k".into()),
            purl: Some("pkg:generic/openssl@1.0.2k".into()),
            cpe: None,
        }],
    };
    let kev = vec![KevEntry {
        cve: "CVE-2020-12040".into(),
        vendor: "Baxter".into(),
        product: "Sigma Spectrum".into(),
        name: None,
        date_added: "2024-01-02".into(),
        due_date: Some("2024-01-23".into()),
        required_action: Some("Apply updates".into()),
        known_ransomware: Some("Unknown".into()),
    }];
    let epss = vec![
        EpssScore {
            cve: "CVE-2020-12040".into(),
            epss: 0.01,
            percentile: 0.5,
            date: Some("2024-01-01".into()),
        },
        EpssScore {
            cve: "CVE-1999-0001".into(),
            epss: 0.2,
            percentile: 0.9,
            date: Some("2024-01-01".into()),
        },
        // A later row for the same CVE wins.
        EpssScore {
            cve: "CVE-2020-12040".into(),
            epss: 0.02,
            percentile: 0.6,
            date: Some("2024-01-01".into()),
        },
    ];
    vec![
        ("icsma-20-170-06.json".into(), VulnImport::Advisory(cisa)),
        ("CVE-2020-12040.json".into(), VulnImport::Advisory(nvd)),
        ("bom.json".into(), VulnImport::Sbom(sbom)),
        ("kev.json".into(), VulnImport::Kev(kev)),
        ("epss.csv".into(), VulnImport::Epss(epss)),
    ]
}

fn entries(v: AuditVerdict, name: &str) -> u64 {
    match v {
        AuditVerdict::Intact(s) => s.entries,
        AuditVerdict::Broken(b) => panic!("{name}: chain broken: {b}"),
    }
}

#[tokio::test]
async fn imports_are_idempotent_listed_per_cve_and_audited_on_each_backend() {
    for db in TestDb::all("imports_are_idempotent_listed_per_cve_and_audited_on_each_backend").await
    {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let items = items();
        let first = store.import_vuln("test", &items).await.expect("import");
        assert_eq!(
            first,
            VulnImportSummary {
                documents_new: 3,
                documents_updated: 0,
                documents_unchanged: 0,
                vulnerabilities: 3,
                kev_entries: 1,
                epss_scores: 2,
            },
            "{name}"
        );
        // 3 documents + KEV + EPSS.
        assert_eq!(
            entries(store.audit_verify().await.expect("verify"), name),
            5
        );

        let (advisories, sboms) = store.vuln_documents().await.expect("documents");
        assert_eq!(advisories.len(), 2, "{name}");
        let VulnImport::Advisory(cisa) = &items[0].1 else {
            unreachable!()
        };
        assert!(
            advisories.contains(cisa),
            "{name}: the body comes back as imported"
        );
        assert_eq!(sboms.len(), 1);
        assert_eq!(sboms[0].components[0].name, "openssl");

        let list = store.list_vulns().await.expect("list");
        let cves: Vec<&str> = list.iter().map(|l| l.cve.as_str()).collect();
        assert_eq!(
            cves,
            ["CVE-2020-12040", "CVE-2020-12041"],
            "{name}: highest first"
        );
        let l = &list[0];
        assert_eq!(l.score, Some(9.8), "{name}: the highest source wins");
        assert_eq!(l.severity.as_deref(), Some("Critical"));
        assert_eq!(l.sources, ["CVE-2020-12040", "ICSMA-20-170-06"], "{name}");
        assert_eq!(l.scores.len(), 2);
        assert_eq!(l.scores[1].score, Some(6.3));
        assert_eq!(
            l.kev.as_ref().map(|k| k.date_added.as_str()),
            Some("2024-01-02")
        );
        assert_eq!(
            l.epss.as_ref().map(|e| e.epss),
            Some(0.02),
            "{name}: last row wins"
        );
        assert!(list[1].kev.is_none() && list[1].epss.is_none() && list[1].score.is_none());
        let (kev, epss) = store.vuln_signals().await.expect("signals");
        assert_eq!(
            (kev.len(), epss.len()),
            (1, 1),
            "{name}: only CVEs documents name"
        );

        // The same files again: nothing changes but the KEV/EPSS refresh.
        let again = store.import_vuln("test", &items).await.expect("again");
        assert_eq!(
            (
                again.documents_new,
                again.documents_updated,
                again.documents_unchanged
            ),
            (0, 0, 3),
            "{name}"
        );
        assert_eq!(
            entries(store.audit_verify().await.expect("verify"), name),
            7
        );

        // A new revision replaces the old one and its index rows.
        let mut revised = cisa.clone();
        revised.revision = Some("2".into());
        revised.vulnerabilities.truncate(1);
        let summary = store
            .import_vuln(
                "test",
                &[(
                    "icsma-20-170-06a.json".into(),
                    VulnImport::Advisory(revised.clone()),
                )],
            )
            .await
            .expect("revision");
        assert_eq!(summary.documents_updated, 1, "{name}");
        let list = store.list_vulns().await.expect("list");
        assert_eq!(
            list.len(),
            1,
            "{name}: CVE-2020-12041 is gone with the old revision"
        );
        let history = store
            .audit_for_object("advisory:ICSMA-20-170-06")
            .await
            .expect("history");
        let changes: Vec<&str> = history
            .iter()
            .map(|e| e.detail["change"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(changes, ["new", "updated"], "{name}");
        assert_eq!(history[1].detail["source"], "icsma-20-170-06a.json");

        // A CycloneDX file's VEX shares the SBOM's serial number: both are kept.
        let vex = advisory(
            "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            VulnFormat::CycloneDx,
            vec![],
        );
        let summary = store
            .import_vuln("test", &[("bom.json".into(), VulnImport::Advisory(vex))])
            .await
            .expect("vex beside its sbom");
        assert_eq!(summary.documents_new, 1, "{name}");
        let (advisories, sboms) = store.vuln_documents().await.expect("documents");
        assert_eq!((advisories.len(), sboms.len()), (3, 1), "{name}");

        // An item that cannot be stored refuses the whole import.
        let bad = advisory(" ", VulnFormat::Csaf, vec![]);
        let err = store
            .import_vuln(
                "test",
                &[
                    (
                        "ok.json".into(),
                        VulnImport::Advisory(advisory("X-1", VulnFormat::Csaf, vec![])),
                    ),
                    ("bad.json".into(), VulnImport::Advisory(bad)),
                ],
            )
            .await
            .expect_err("no id");
        assert!(
            matches!(err, StoreError::Rejected { index: 1, .. }),
            "{name}: {err}"
        );
        let (advisories, _) = store.vuln_documents().await.expect("documents");
        assert_eq!(advisories.len(), 3, "{name}: X-1 was not kept");
        assert_eq!(
            entries(store.audit_verify().await.expect("verify"), name),
            9
        );
        store.close().await;
    }
}

#[tokio::test]
async fn triage_is_checked_replaced_and_audited_on_each_backend() {
    for db in TestDb::all("triage_is_checked_replaced_and_audited_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let mut d = TriageDecision {
            model: "BD Alaris PC Unit 8015".into(),
            firmware: Some("12.1".into()),
            cve: "CVE-2020-12040".into(),
            status: VexStatus::UnderInvestigation,
            justification: None,
            statement: None,
            decided: jiff::Timestamp::UNIX_EPOCH,
            actor: String::new(),
        };
        store.set_triage("alice", &d).await.expect("first");
        d.status = VexStatus::NotAffected;
        let err = store
            .set_triage("alice", &d)
            .await
            .expect_err("no justification");
        assert!(err.is_bad_input(), "{name}: {err}");
        d.justification = Some("vulnerable_code_not_in_execute_path".into());
        store.set_triage("bob", &d).await.expect("second");
        let mut all_firmware = d.clone();
        all_firmware.firmware = None;
        all_firmware.status = VexStatus::Affected;
        all_firmware.justification = None;
        store
            .set_triage("bob", &all_firmware)
            .await
            .expect("model-wide");

        let list = store.list_triage().await.expect("list");
        assert_eq!(list.len(), 2, "{name}");
        assert_eq!(
            list[0].firmware, None,
            "{name}: '' sorts first and reads back as None"
        );
        assert_eq!(list[1].status, VexStatus::NotAffected);
        assert_eq!(list[1].actor, "bob");
        assert_eq!(
            list[1].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        let history = store
            .audit_for_object("triage:BD Alaris PC Unit 8015|12.1|CVE-2020-12040")
            .await
            .expect("history");
        assert_eq!(history.len(), 2, "{name}");
        assert_eq!(history[0].detail["before"], serde_json::Value::Null);
        assert_eq!(history[1].detail["before"], "under_investigation");
        assert_eq!(history[1].detail["status"], "not_affected");
        assert_eq!(
            entries(store.audit_verify().await.expect("verify"), name),
            3
        );
        store.close().await;
    }
}
