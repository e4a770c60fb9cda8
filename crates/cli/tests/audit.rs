//! `pumpguard audit …` end to end: every edit or deletion, in the database or in an
//! export, is caught and named; an untouched chain verifies, also by an independent
//! Python re-implementation of the hashing rule.

mod common;

use common::*;

const INVENTORY: &str = "\
asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality
PUMP-0001,infusion_pump,B. Braun,Infusomat Space,686E,BB-1,00:12:21:aa:00:01,10.20.0.11,ICU-3 bed 1,pumps,life_sustaining
PUMP-0002,infusion_pump,Baxter,Sigma Spectrum,8.00.01,BX-2,58:42:e4:00:00:02,10.20.0.12,ICU-3 bed 2,pumps,high
SRV-01,pump_server,Baxter,Spectrum IQ,2.1,,58:42:e4:00:0f:01,10.30.0.5,DC-1,pump_servers,high
";

/// A store with a 6-entry chain: 3 creates, the import, a retire, a quarantine.
fn populated(db: &TestDb, dir: &std::path::Path) {
    let csv = write(dir, "inventory.csv", INVENTORY);
    ok(db, &["assets", "import", &csv]);
    ok(
        db,
        &["assets", "retire", "PUMP-0002", "--reason", "end of life"],
    );
    ok(db, &["assets", "lifecycle", "PUMP-0001", "quarantined"]);
}

fn fresh(db: &TestDb) -> TestDb {
    if db.is_postgres() {
        rt().block_on(TestDb::postgres(
            &pumpguard_testkit::pg_url("audit").expect("pg"),
        ))
    } else {
        TestDb::sqlite()
    }
}

#[test]
fn database_tampering_fails_verify_and_names_the_record() {
    let dbs = rt().block_on(TestDb::all(
        "database_tampering_fails_verify_and_names_the_record",
    ));
    for db in &dbs {
        let cases: &[(&str, u64)] = &[
            (
                "UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 5",
                5,
            ),
            (
                "UPDATE audit_log SET object = 'asset:PUMP-0003' WHERE seq = 1",
                1,
            ),
            (
                "UPDATE audit_log SET action = 'asset.update' WHERE seq = 2",
                2,
            ),
            (
                "UPDATE audit_log SET detail = replace(detail, 'end of life', 'sold') WHERE seq = 5",
                5,
            ),
            ("UPDATE audit_log SET hash = prev_hash WHERE seq = 3", 3),
            ("DELETE FROM audit_log WHERE seq = 2", 2),
            ("DELETE FROM audit_log WHERE seq = 6", 6),
        ];
        for (sql, seq) in cases {
            let t = fresh(db);
            let dir = tempfile::tempdir().expect("dir");
            populated(&t, dir.path());
            let out = ok(&t, &["audit", "verify"]);
            assert!(
                stderr(&out).contains("intact: 6 entries"),
                "{}",
                stderr(&out)
            );
            rt().block_on(t.execute(sql));
            let out = run(&t, &["audit", "verify"]);
            assert_eq!(out.status.code(), Some(1), "{sql}");
            let err = stderr(&out);
            assert!(
                err.starts_with(&format!("error: audit chain broken at seq {seq}:")),
                "{sql}: {err}"
            );
            assert_eq!(err.lines().count(), 1);
        }
    }
}

#[test]
fn export_edits_and_deletions_fail_verify_file_and_name_the_record() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("dir");
    populated(&db, dir.path());
    let export = dir.path().join("audit.jsonl");
    let export_s = export.to_str().expect("utf8").to_owned();
    ok(
        &db,
        &["audit", "export", "--format", "jsonl", "--out", &export_s],
    );
    let text = std::fs::read_to_string(&export).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "6 entries and the head trailer");
    let out = ok(&db, &["audit", "verify", "--file", &export_s]);
    assert!(stderr(&out).contains("intact: 6 entries"));

    let tampered = dir.path().join("tampered.jsonl");
    let t = tampered.to_str().expect("utf8");
    let check = |body: String, seq: Option<u64>, what: &str| {
        std::fs::write(&tampered, body).expect("write");
        let out = run(&db, &["audit", "verify", "--file", t]);
        assert_eq!(out.status.code(), Some(1), "{what} passed");
        let err = stderr(&out);
        assert!(err.starts_with(&format!("error: {t}:")), "{what}: {err}");
        if let Some(seq) = seq {
            assert!(err.contains(&format!("seq {seq}:")), "{what}: {err}");
        }
    };
    for (i, line) in lines.iter().enumerate().take(6) {
        let seq = i as u64 + 1;
        // Edit: change one character inside the actor, object and time fields.
        for (from, to) in [
            ("test:e2e", "test:e2f"),
            ("\"object\":\"", "\"object\":\"x"),
            (":00", ":01"),
        ] {
            if !line.contains(from) {
                continue;
            }
            let mut edited = lines.clone();
            let new = line.replacen(from, to, 1);
            edited[i] = &new;
            check(
                edited.join("\n"),
                Some(seq),
                &format!("edit {from} in line {}", i + 1),
            );
        }
        // Deletion of the line.
        let mut deleted = lines.clone();
        deleted.remove(i);
        check(
            deleted.join("\n"),
            Some(seq),
            &format!("delete line {}", i + 1),
        );
    }
    // Losing the trailer, or appending a forged entry after it.
    check(lines[..6].join("\n"), None, "no trailer");
    check(
        format!("{}\n{}", text, lines[0]),
        None,
        "content after trailer",
    );
}

#[test]
fn an_independent_python_hash_check_agrees_with_the_export() {
    let dbs = rt().block_on(TestDb::all(
        "an_independent_python_hash_check_agrees_with_the_export",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("dir");
        populated(db, dir.path());
        let export = dir.path().join("audit.jsonl");
        ok(
            db,
            &["audit", "export", "--out", export.to_str().expect("utf8")],
        );
        // RFC 8785 for our values (strings, integers, null, objects) is Python's json
        // with sorted keys, no spaces and raw UTF-8.
        let script = r#"
import hashlib, json, sys
prev = "0" * 64
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if "audit_head" in e:
        assert e["audit_head"] == {"seq": n, "hash": prev}, e
        break
    h = e.pop("hash")
    assert e["prev_hash"] == prev and e["seq"] == n + 1, (e["seq"], n)
    body = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == h, e["seq"]
    prev, n = h, n + 1
print(n)
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script, export.to_str().expect("utf8")])
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "6");
    }
}
