//! Property: however concurrent imports, lifecycle changes and refused imports
//! interleave, the audit chain stays intact and records exactly the changes made.

use proptest::prelude::*;
use pumpguard_model::{AssetKind, AssetPatch, Criticality, Lifecycle};
use pumpguard_store::{AssetFilter, AuditVerdict, Store};
use pumpguard_testkit::TestDb;

#[derive(Debug, Clone)]
enum Op {
    /// Import of (asset number, criticality) rows.
    Import(Vec<(u8, u8)>),
    /// An import with a duplicate id: must be refused whole.
    BadImport(u8),
    Lifecycle(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0u8..24, 0u8..4), 1..12).prop_map(Op::Import),
        1 => (0u8..24).prop_map(Op::BadImport),
        2 => (0u8..24, 0u8..4).prop_map(|(a, l)| Op::Lifecycle(a, l)),
    ]
}

fn patch(n: u8, crit: u8) -> AssetPatch {
    AssetPatch {
        kind: Some(AssetKind::InfusionPump),
        criticality: Some(Criticality::ALL[crit as usize % 4]),
        ..AssetPatch::new(format!("PUMP-{n:02}").parse().expect("id"))
    }
}

/// Runs one client's ops; returns how many audit entries its successful ops wrote.
async fn client(store: Store, name: String, ops: Vec<Op>) -> u64 {
    let mut written = 0;
    for op in ops {
        match op {
            Op::Import(rows) => {
                let mut seen = std::collections::HashSet::new();
                let patches: Vec<_> = rows
                    .into_iter()
                    .filter(|(n, _)| seen.insert(*n))
                    .map(|(n, c)| patch(n, c))
                    .collect();
                let s = store
                    .import_assets(&name, "prop.csv", &patches)
                    .await
                    .expect("import");
                written += s.created + s.updated + 1;
            }
            Op::BadImport(n) => {
                let patches = vec![patch(n, 0), patch(n, 1)];
                assert!(
                    store
                        .import_assets(&name, "bad.csv", &patches)
                        .await
                        .is_err()
                );
            }
            Op::Lifecycle(n, l) => {
                let id = format!("PUMP-{n:02}");
                let to = Lifecycle::ALL[l as usize % 4];
                if let Ok(change) = store.set_lifecycle(&name, &id, to, Some("prop")).await {
                    written += u64::from(change.changed());
                }
            }
        }
    }
    written
}

async fn run(db: &TestDb, clients: Vec<Vec<Op>>) -> Result<(), TestCaseError> {
    let mut tasks = Vec::new();
    for (i, ops) in clients.into_iter().enumerate() {
        let store = Store::open(&db.url).await.expect("open");
        tasks.push(tokio::spawn(client(store, format!("client-{i}"), ops)));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await.expect("client task");
    }
    let store = Store::open(&db.url).await.expect("open");
    match store.audit_verify().await.expect("verify") {
        AuditVerdict::Intact(s) => {
            prop_assert_eq!(s.entries, written, "entries in the chain vs changes made");
        }
        AuditVerdict::Broken(b) => prop_assert!(false, "chain broken: {b}"),
    }
    let mut out = Vec::new();
    store.audit_export(&mut out).await.expect("export");
    prop_assert!(pumpguard_audit::read_export(out.as_slice()).is_ok());
    let assets = store
        .list_assets(&AssetFilter::default())
        .await
        .expect("list");
    prop_assert!(assets.len() <= 24);
    store.close().await;
    Ok(())
}

fn clients() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..8), 2..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_sqlite_writers_keep_the_chain(clients in clients()) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let db = TestDb::sqlite();
            run(&db, clients).await
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_postgres_writers_keep_the_chain(clients in clients()) {
        let Some(url) = pumpguard_testkit::pg_url("concurrent_postgres_writers_keep_the_chain") else {
            return Ok(());
        };
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let db = TestDb::postgres(&url).await;
            run(&db, clients).await
        })?;
    }
}
