//! The README's first command is the demo (`tests/demo.rs` and `tests/console_e2e.rs`
//! run it); the steps it shows by hand must keep working: simulate a ward, sense the
//! capture, list the inventory the sensor built.

mod common;

use common::*;

#[test]
fn the_readme_first_command_simulates_senses_and_lists() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let first = readme
        .lines()
        .find(|l| l.starts_with("cargo run"))
        .expect("README's first command");
    assert_eq!(first, "cargo run --release -p pumpguard -- demo");
    let by_hand = readme
        .lines()
        .find(|l| l.starts_with("pumpguard sim"))
        .expect("README's steps by hand");
    for step in [
        "sim --out ward.pcapng --scenario all",
        "sense --pcap ward.pcapng",
        "assets list",
    ] {
        assert!(
            by_hand.contains(step),
            "README's steps by hand lost `{step}`: {by_hand}"
        );
    }
    assert!(
        readme.contains("cargo nextest run --workspace --features pumpguard/live"),
        "README no longer shows the test command"
    );

    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("ward.pcapng");
    let pcap = pcap.to_str().expect("utf-8 path");
    ok(&db, &["sim", "--out", pcap, "--scenario", "all"]);
    ok(&db, &["sense", "--pcap", pcap]);
    let list = stdout_json(&ok(
        &db,
        &[
            "assets",
            "list",
            "--format",
            "json",
            "--kind",
            "infusion_pump",
        ],
    ));
    // 20 pumps by default; one MAC is cloned by a scenario's Raspberry Pi.
    let pumps = list.as_array().expect("array").len();
    assert!((19..=20).contains(&pumps), "{pumps} pumps");
}

/// The example inventory still imports (the CSV format's reference).
#[test]
fn the_example_inventory_imports_and_lists() {
    let db = TestDb::sqlite();
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ward.csv");
    let out = ok(&db, &["assets", "import", csv]);
    assert!(stderr(&out).contains("11 created"), "{}", stderr(&out));
    let list = stdout_json(&ok(
        &db,
        &[
            "assets",
            "list",
            "--format",
            "json",
            "--kind",
            "infusion_pump",
        ],
    ));
    assert_eq!(list.as_array().expect("array").len(), 6);
}
