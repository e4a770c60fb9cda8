//! The README's first command must keep working: it imports examples/ward.csv.

mod common;

use common::*;

#[test]
fn the_readme_example_inventory_imports_and_lists() {
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
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    assert!(
        readme.contains("assets import examples/ward.csv"),
        "README no longer shows the example"
    );
    assert!(
        readme.contains("cargo nextest run --workspace"),
        "README no longer shows the test command"
    );
}
