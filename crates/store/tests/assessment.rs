//! The assessment's records on both backends: a person's answer replaced and audited
//! with what it replaced; evidence written only when it changes; an MDS2 form replacing
//! the model's earlier one, audited with its gaps.

use pumpguard_model::time::Timestamp;
use pumpguard_store::{AnswerRecord, AuditVerdict, EvidenceRecord, Mds2Record, Store};
use pumpguard_testkit::TestDb;
use serde_json::json;

fn t(s: &str) -> Timestamp {
    s.parse().expect("time")
}

fn entries(store_verdict: AuditVerdict) -> u64 {
    match store_verdict {
        AuditVerdict::Intact(s) => s.entries,
        AuditVerdict::Broken(b) => panic!("chain broken: {b}"),
    }
}

fn mds2(model: &str, id: &str, answer: &str) -> Mds2Record {
    Mds2Record {
        model: model.into(),
        question_id: id.into(),
        capability: id.split('-').next().unwrap_or_default().into(),
        answer: answer.into(),
        gap: answer == "no",
        question: format!("{id}?"),
        note: None,
        source: "form.xlsx".into(),
        document_id: Some("DOC-42".into()),
        imported: t("2026-12-05T08:00:00Z"),
    }
}

#[tokio::test]
async fn answers_evidence_and_mds2_are_kept_and_audited_on_each_backend() {
    for db in TestDb::all("answers_evidence_and_mds2_are_kept_and_audited_on_each_backend").await {
        let store = Store::open(&db.url).await.expect("open");
        let name = store.backend_name();
        let mut a = AnswerRecord {
            question_id: "SEG-05".into(),
            answer: "no".into(),
            note: None,
            answered: t("2026-12-05T08:00:00Z"),
            actor: "alice".into(),
        };
        assert_eq!(store.set_answer(&a).await.expect("first"), None, "{name}");
        a.answer = "yes".into();
        a.note = Some("Telnet disabled".into());
        a.actor = "bob".into();
        assert_eq!(
            store.set_answer(&a).await.expect("second").as_deref(),
            Some("no"),
            "{name}"
        );
        assert_eq!(store.list_answers().await.expect("list"), vec![a.clone()]);
        let history = store
            .audit_for_object("question:SEG-05")
            .await
            .expect("history");
        assert_eq!(history.len(), 2, "{name}");
        assert_eq!(history[1].action, "assess.answer");
        assert_eq!(history[1].actor, "bob");
        assert_eq!(history[1].detail["before"], "no");
        assert_eq!(history[1].detail["note"], "Telnet disabled");

        let ev = |answer: &str, summary: &str| EvidenceRecord {
            question_id: "SEG-05".into(),
            rule: "cleartext_management_on_pumps".into(),
            answer: answer.into(),
            evidence: json!({"rule": "cleartext_management_on_pumps", "summary": summary, "citations": []}),
            evaluated: t("2026-12-05T09:00:00Z"),
        };
        let audit_before = entries(store.audit_verify().await.expect("verify"));
        let first = [ev("no", "telnet seen")];
        assert_eq!(store.save_evidence("cli", &first).await.expect("save"), 1);
        assert_eq!(
            store.save_evidence("cli", &first).await.expect("again"),
            0,
            "{name}: unchanged evidence writes nothing"
        );
        assert_eq!(
            entries(store.audit_verify().await.expect("verify")),
            audit_before + 1,
            "{name}"
        );
        let changed = [ev("unknown", "none seen")];
        assert_eq!(store.save_evidence("cli", &changed).await.expect("save"), 1);
        let stored = store.list_evidence().await.expect("list");
        assert_eq!(stored, changed.to_vec(), "{name}");
        let history = store
            .audit_for_object("question:SEG-05")
            .await
            .expect("history");
        let last = history.last().expect("entries");
        assert_eq!(last.action, "assess.evidence");
        assert_eq!(last.detail["before"], "no");
        assert_eq!(last.detail["summary"], "none seen");

        let model = "Plum 360";
        let form = [
            mds2(model, "NAUT-1", "no"),
            mds2(model, "TXCF-1", "yes"),
            mds2(model, "AUTH-1", "no"),
        ];
        let s = store
            .import_mds2("alice", model, &form)
            .await
            .expect("mds2");
        assert_eq!(s.gaps, vec!["NAUT-1", "AUTH-1"], "{name}");
        assert_eq!(s.replaced, 0);
        let s = store
            .import_mds2("alice", model, &form[1..])
            .await
            .expect("replace");
        assert_eq!((s.answers, s.replaced), (2, 3), "{name}");
        store
            .import_mds2("alice", "Other", &[mds2("Other", "PAUT-1", "no")])
            .await
            .expect("other model");
        let plum = store.list_mds2(Some(model)).await.expect("list");
        assert_eq!(
            plum.iter()
                .map(|r| r.question_id.as_str())
                .collect::<Vec<_>>(),
            ["AUTH-1", "TXCF-1"],
            "{name}"
        );
        assert_eq!(store.list_mds2(None).await.expect("all").len(), 3);
        let err = store
            .import_mds2("alice", model, &[mds2("Other", "PAUT-1", "no")])
            .await
            .expect_err("rows of another model");
        assert!(err.is_bad_input(), "{name}: {err}");
        let history = store
            .audit_for_object("model:Plum 360")
            .await
            .expect("history");
        assert_eq!(history.len(), 2, "{name}");
        assert_eq!(history[0].action, "assess.mds2");
        assert_eq!(history[0].detail["gaps"], json!(["NAUT-1", "AUTH-1"]));
        assert_eq!(history[1].detail["replaced"], 3);
        entries(store.audit_verify().await.expect("verify"));
        store.close().await;
    }
}
