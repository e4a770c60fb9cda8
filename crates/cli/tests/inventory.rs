//! `pumpguard assets …` end to end, on SQLite and on PostgreSQL.

mod common;

use common::*;

const INVENTORY: &str = "\
asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality
PUMP-0001,infusion_pump,B. Braun,\"Infusomat Space, LVP\",686E,BB-1,00-12-21-AA-00-01,10.20.0.11,ICU-3 bed 1,pumps,life_sustaining
PUMP-0002,infusion_pump,Baxter,Sigma Spectrum,8.00.01,BX-2,58:42:E4:00:00:02,10.20.0.12,ICU-3 bed 2,pumps,
SRV-01,pump_server,Baxter,Spectrum IQ,2.1,,5842.e400.0f01,10.30.0.5;10.30.1.5,DC-1,pump_servers,high
WS-07,workstation,Dell,OptiPlex,,,001A2B3C4D5E,10.40.0.7,Biomed shop,biomed,
";

#[test]
fn import_list_show_export_retire_on_each_backend() {
    let dbs = rt().block_on(TestDb::all(
        "import_list_show_export_retire_on_each_backend",
    ));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("dir");
        let csv = write(dir.path(), "inventory.csv", INVENTORY);
        let out = ok(db, &["assets", "import", &csv]);
        assert!(stderr(&out).contains("4 created"), "{}", stderr(&out));

        let list = stdout_json(&ok(db, &["assets", "list", "--format", "json"]));
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), 4);
        let p1 = &list[0];
        assert_eq!(p1["asset_id"], "PUMP-0001");
        assert_eq!(p1["model"], "Infusomat Space, LVP");
        assert_eq!(p1["mac"], "00:12:21:aa:00:01");
        assert_eq!(p1["ip"], "10.20.0.11");
        assert_eq!(p1["criticality"], "life_sustaining");
        assert_eq!(p1["source"], "imported");
        let srv = &list[2];
        assert_eq!(srv["mac"], "58:42:e4:00:0f:01");
        assert_eq!(srv["ips"], serde_json::json!(["10.30.0.5", "10.30.1.5"]));
        assert_eq!(
            list[1]["criticality"], "high",
            "a pump's default criticality"
        );
        assert_eq!(list[3]["criticality"], "medium", "a workstation's default");

        let pumps = stdout_json(&ok(
            db,
            &[
                "assets",
                "list",
                "--format",
                "json",
                "--kind",
                "infusion_pump",
            ],
        ));
        assert_eq!(pumps.as_array().expect("array").len(), 2);
        let table = ok(db, &["assets", "list", "--format", "table"]);
        assert!(String::from_utf8_lossy(&table.stdout).contains("4 asset(s)"));

        // CSV list output parses back with Python's csv module.
        let csv_out = ok(db, &["assets", "list", "--format", "csv"]).stdout;
        let py = std::process::Command::new("python3")
            .args([
                "-c",
                "import csv,sys,json; print(json.dumps(list(csv.DictReader(sys.stdin))))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().expect("stdin").write_all(&csv_out)?;
                c.wait_with_output()
            })
            .expect("python3");
        let rows: serde_json::Value = serde_json::from_slice(&py.stdout).expect("python json");
        assert_eq!(rows[0]["model"], "Infusomat Space, LVP");
        assert_eq!(rows[2]["ip"], "10.30.0.5;10.30.1.5");

        let show = stdout_json(&ok(db, &["assets", "show", "SRV-01", "--format", "json"]));
        assert_eq!(show["asset"]["model"], "Spectrum IQ");
        assert_eq!(show["history"][0]["action"], "asset.create");
        let missing = run(db, &["assets", "show", "NOPE"]);
        assert_eq!(missing.status.code(), Some(2));
        assert!(stderr(&missing).starts_with("error: asset 'NOPE' not found"));

        ok(
            db,
            &[
                "assets",
                "retire",
                "PUMP-0002",
                "--reason",
                "reported stolen",
            ],
        );
        let show = stdout_json(&ok(
            db,
            &["assets", "show", "PUMP-0002", "--format", "json"],
        ));
        assert_eq!(show["asset"]["lifecycle"], "retired");
        assert_eq!(show["history"][1]["detail"]["reason"], "reported stolen");
        let revive = run(db, &["assets", "lifecycle", "PUMP-0002", "in_service"]);
        assert_eq!(revive.status.code(), Some(2), "{}", stderr(&revive));
        ok(
            db,
            &[
                "assets",
                "lifecycle",
                "PUMP-0001",
                "quarantined",
                "--reason",
                "beaconing to the internet",
            ],
        );

        // An export re-imports unchanged; JSON export matches the list.
        let exported = dir.path().join("export.csv");
        ok(
            db,
            &[
                "assets",
                "export",
                "--format",
                "csv",
                "--out",
                exported.to_str().expect("utf8"),
            ],
        );
        let out = ok(db, &["assets", "import", exported.to_str().expect("utf8")]);
        assert!(
            stderr(&out).contains("0 created, 0 updated, 4 unchanged"),
            "{}",
            stderr(&out)
        );
        let json = stdout_json(&ok(db, &["assets", "export", "--format", "json"]));
        assert_eq!(json.as_array().expect("array").len(), 4);
        assert_eq!(json[0]["lifecycle"], "quarantined");

        // Re-import with a change updates by asset_id.
        let changed = INVENTORY.replace("2.1,,", "2.2,,");
        let csv2 = write(dir.path(), "inventory2.csv", &changed);
        let out = ok(db, &["assets", "import", &csv2]);
        assert!(stderr(&out).contains("1 updated"), "{}", stderr(&out));
        let show = stdout_json(&ok(db, &["assets", "show", "SRV-01", "--format", "json"]));
        assert_eq!(show["asset"]["firmware"], "2.2");
        assert_eq!(
            show["history"][1]["detail"]["changes"]["firmware"]["from"],
            "2.1"
        );

        assert_eq!(count_rows(db, "assets"), 4);
        ok(db, &["audit", "verify"]);
    }
}

#[test]
fn an_invalid_mac_on_line_3_changes_nothing() {
    let dbs = rt().block_on(TestDb::all("an_invalid_mac_on_line_3_changes_nothing"));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("dir");
        let good = write(dir.path(), "good.csv", INVENTORY);
        ok(db, &["assets", "import", &good]);
        let before = ok(db, &["assets", "export", "--format", "json"]).stdout;
        let audit_before = count_rows(db, "audit_log");

        let bad = INVENTORY
            .replace("58:42:E4:00:00:02", "58:42:E4:00:00:0G")
            .replace("PUMP-0001,", "PUMP-0101,");
        let bad = write(dir.path(), "bad.csv", &bad);
        let out = run(db, &["assets", "import", &bad]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: {bad}:3: invalid MAC address")),
            "{err}"
        );

        let after = ok(db, &["assets", "export", "--format", "json"]).stdout;
        assert_eq!(before, after);
        assert_eq!(count_rows(db, "audit_log"), audit_before);
    }
}

#[test]
fn a_bad_last_row_of_10000_leaves_nothing_behind() {
    let dbs = rt().block_on(TestDb::all("a_bad_last_row_of_10000_leaves_nothing_behind"));
    for db in &dbs {
        let dir = tempfile::tempdir().expect("dir");
        ok(db, &["assets", "list", "--format", "json"]); // creates the schema
        let mut text = String::from(HEADER);
        text.push('\n');
        for i in 0..10_000u32 {
            let kind = if i == 9_999 {
                "infusion-pump"
            } else {
                "infusion_pump"
            };
            text.push_str(&format!(
                "P{i:05},{kind},Smiths Medical,Medfusion 4000,1.6.1,S{i},00:1a:01:{:02x}:{:02x}:{:02x},10.20.{}.{},ICU,pumps,high\n",
                i >> 16, (i >> 8) & 0xff, i & 0xff, i / 250, i % 250 + 1
            ));
        }
        let csv = write(dir.path(), "big.csv", &text);
        let out = run(db, &["assets", "import", &csv]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&format!("{csv}:10001: unknown kind 'infusion-pump'")),
            "{}",
            stderr(&out)
        );
        assert_eq!(count_rows(db, "assets"), 0);
        assert_eq!(count_rows(db, "audit_log"), 0);

        // A refusal found inside the transaction (duplicate id) also leaves nothing.
        let dup = text
            .replace("infusion-pump", "infusion_pump")
            .replace("P09999,", "P00007,");
        let csv = write(dir.path(), "dup.csv", &dup);
        let out = run(db, &["assets", "import", &csv]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&format!("{csv}:10001: duplicate asset_id 'P00007'")),
            "{}",
            stderr(&out)
        );
        assert_eq!(count_rows(db, "assets"), 0);
        assert_eq!(count_rows(db, "audit_log"), 0);
    }
}

#[test]
fn usage_and_environment_errors_have_their_exit_codes() {
    let db = TestDb::sqlite();
    let out = run(&db, &["assets", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&db, &["assets", "import", "/nonexistent/inventory.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: /nonexistent/inventory.csv: cannot read"));
    let out = run(&db, &["assets", "list", "--kind", "pump"]);
    assert_eq!(out.status.code(), Some(2));

    // A database that does not answer is a runtime failure, not bad input.
    let out = assert_cmd::Command::cargo_bin("pumpguard")
        .expect("binary")
        .args([
            "--db",
            "postgres://nobody@127.0.0.1:1/none",
            "assets",
            "list",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
}
