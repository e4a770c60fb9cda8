// Queries and transactions, written once for both backends. This file is `include!`d
// by `backend.rs` into one module per backend, each of which first defines `Db` (the
// sqlx database type) and `DIALECT`; everything below is then type-checked for that
// backend. (sqlx's generic bounds over `Database` would say the same at great length.)

use std::collections::HashMap;
use std::io::Write;

use futures_util::TryStreamExt;
use pumpguard_audit::{Break, Entry, Head, Sealed, Sealer, Verifier, write_export};
use pumpguard_model::{Asset, AssetPatch, Lifecycle, Source, time};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Pool, Transaction};

use crate::rows::{
    ASSET_COLUMNS, ASSET_UPSERT_SET, AssetRow, ENTRY_COLUMNS, EntryRow, asset_from_row,
    create_detail, entry_from_row,
};
use crate::{AssetFilter, AuditVerdict, ImportSummary, LifecycleChange, Result, StoreError};

type Tx = Transaction<'static, Db>;

/// Rows per bulk statement, and per pipelined import batch. SQLite: 500 × 16 binds
/// stays under its 32,766 limit. PostgreSQL: each statement costs a network round
/// trip, and sqlx does not set TCP_NODELAY, so a statement whose last segment waits
/// on the server's delayed ACK stalls ~40 ms; fewer, larger (`UNNEST`) statements
/// took a 100,000-asset import from 10.6 s to 3.5 s.
const CHUNK: usize = match DIALECT {
    crate::Dialect::Sqlite => 500,
    crate::Dialect::Postgres => 20_000,
};

/// Opens a write transaction and reads (on PostgreSQL: locks) the audit head.
async fn begin_write(pool: &Pool<Db>) -> Result<(Tx, Head)> {
    let mut tx = pool.begin_with(DIALECT.begin_write()).await?;
    let (seq, hash): (i64, String) = sqlx::query_as(DIALECT.lock_audit_head())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "audit_head",
            why: "the audit head row is missing".into(),
        })?;
    Ok((
        tx,
        Head {
            seq: seq as u64,
            hash,
        },
    ))
}

/// Appends entries (already chained from the locked head) and moves the head.
async fn append(tx: &mut Tx, entries: &[Sealed]) -> Result<()> {
    insert_entries(tx, entries).await?;
    if let Some(last) = entries.last() {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last.seq as i64)
            .bind(last.hash.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Seals entries onto the locked head and keeps them for [`append`].
struct Chainer {
    sealer: Sealer,
    entries: Vec<Sealed>,
}

impl Chainer {
    fn new(head: Head, actor: &str) -> Self {
        Chainer {
            sealer: Sealer::new(head, time::now(), actor),
            entries: Vec::new(),
        }
    }

    fn record(&mut self, action: &str, object: String, detail: Value) {
        self.entries.push(self.sealer.seal(action, object, &detail));
    }

    /// Records a detail already written as canonical JSON (see `rows::CreateDetail`).
    fn record_canonical(&mut self, action: &str, object: String, detail: String) {
        self.entries
            .push(self.sealer.seal_canonical(action, object, detail));
    }

    fn head(&self) -> Head {
        self.sealer.head().clone()
    }
}

/// The fields that differ, as `{field: {"from": old, "to": new}}`.
fn changes(before: &Asset, after: &Asset) -> Value {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (k, new) in a {
        // `ip` is derived from `ips`.
        if k == "ip" {
            continue;
        }
        let old = b.get(&k).cloned().unwrap_or(Value::Null);
        if old != new {
            out.insert(k, json!({ "from": old, "to": new }));
        }
    }
    Value::Object(out)
}

/// Applies one batch of patches: the assets to write and their sealed audit entries
/// (left in `chain.entries`); `base` is the index of the batch's first patch.
fn diff_batch(
    batch: &[AssetPatch],
    base: usize,
    stored: &HashMap<String, Asset>,
    chain: &mut Chainer,
    summary: &mut ImportSummary,
    origin: &str,
) -> Result<Vec<Asset>> {
    let mut out = Vec::with_capacity(batch.len());
    for (i, p) in batch.iter().enumerate() {
        let before = stored.get(p.asset_id.as_str());
        let after = p
            .apply(before, Source::Imported)
            .map_err(|why| StoreError::Rejected {
                index: base + i,
                why,
            })?;
        let object = format!("asset:{}", p.asset_id);
        match before {
            None => {
                summary.created += 1;
                chain.record_canonical("asset.create", object, create_detail(&after, origin));
            }
            Some(b) if *b == after => {
                summary.unchanged += 1;
                continue;
            }
            Some(b) => {
                summary.updated += 1;
                let detail = json!({ "changes": changes(b, &after), "origin": origin });
                chain.record("asset.update", object, detail);
            }
        }
        out.push(after);
    }
    Ok(out)
}

/// Writes a batch of assets and audit entries (without moving the audit head).
async fn write_batch(tx: &mut Tx, assets: &[Asset], entries: &[Sealed]) -> Result<()> {
    let refs: Vec<&Asset> = assets.iter().collect();
    upsert_assets(tx, &refs).await?;
    insert_entries(tx, entries).await
}

pub(crate) async fn import_assets(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    patches: &[AssetPatch],
) -> Result<ImportSummary> {
    // Refuse inconsistent input before touching the database.
    let mut first_of_id: HashMap<&str, usize> = HashMap::with_capacity(patches.len());
    let mut first_of_mac: HashMap<String, (usize, &str)> = HashMap::new();
    for (i, p) in patches.iter().enumerate() {
        if let Some(j) = first_of_id.insert(p.asset_id.as_str(), i) {
            return Err(StoreError::Rejected {
                index: i,
                why: format!(
                    "duplicate asset_id '{}' (first at item {})",
                    p.asset_id,
                    j + 1
                ),
            });
        }
        if let Some(Some(mac)) = p.mac {
            let key = mac.to_string();
            if let Some((j, other)) = first_of_mac.get(&key) {
                return Err(StoreError::Rejected {
                    index: i,
                    why: format!(
                        "MAC {key} is also given to asset '{other}' (item {})",
                        j + 1
                    ),
                });
            }
            first_of_mac.insert(key, (i, p.asset_id.as_str()));
        }
    }

    let (mut tx, head) = begin_write(pool).await?;
    let ids: Vec<&str> = patches.iter().map(|p| p.asset_id.as_str()).collect();
    let stored = load_assets(&mut tx, &ids).await?;
    // Three stages run at once: a blocking thread diffs and seals batch k+2, this task
    // binds batch k+1, SQLite's worker (or the PostgreSQL server) writes batch k. The
    // channel holds two batches, so memory stays bounded; a refused row ends the
    // producer, and returning drops the transaction, which rolls back.
    let (send, mut recv) = tokio::sync::mpsc::channel::<Result<(Vec<Asset>, Vec<Sealed>)>>(2);
    let owned: Vec<AssetPatch> = patches.to_vec();
    let owned_origin = origin.to_owned();
    let mut chain = Chainer::new(head, actor);
    let producer = tokio::task::spawn_blocking(move || {
        let mut summary = ImportSummary::default();
        for (k, batch) in owned.chunks(CHUNK).enumerate() {
            let result = diff_batch(
                batch,
                k * CHUNK,
                &stored,
                &mut chain,
                &mut summary,
                &owned_origin,
            )
            .map(|assets| (assets, std::mem::take(&mut chain.entries)));
            let refused = result.is_err();
            if send.blocking_send(result).is_err() || refused {
                break;
            }
        }
        (chain, summary)
    });
    while let Some(batch) = recv.recv().await {
        let (assets, entries) = batch?;
        write_batch(&mut tx, &assets, &entries).await?;
    }
    let (mut chain, mut summary) = producer
        .await
        .map_err(|e| StoreError::Invalid(format!("import worker failed: {e}")))?;
    chain.record(
        "assets.import",
        format!("import:{origin}"),
        json!({
            "origin": origin,
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
        }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    summary.audit_head = chain.head();
    Ok(summary)
}

/// Appends the `WHERE` conditions, the order and the paging to a list query.
fn finish_select(sql: &mut String, conds: &[String], order: &str, limit: Option<u64>, offset: u64) {
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(order);
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    if offset > 0 {
        if limit.is_none() && DIALECT == crate::Dialect::Sqlite {
            // SQLite accepts OFFSET only after a LIMIT.
            sql.push_str(" LIMIT -1");
        }
        sql.push_str(&format!(" OFFSET {offset}"));
    }
}

pub(crate) async fn list_assets(pool: &Pool<Db>, f: &AssetFilter) -> Result<Vec<Asset>> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let mut eq = |col: &str, v: Option<String>| {
        if let Some(v) = v {
            binds.push(v);
            conds.push(format!("{col} = ${}", binds.len()));
        }
    };
    eq("kind", f.kind.map(|k| k.as_str().to_owned()));
    eq("lifecycle", f.lifecycle.map(|k| k.as_str().to_owned()));
    eq("criticality", f.criticality.map(|k| k.as_str().to_owned()));
    eq("source", f.source.map(|k| k.as_str().to_owned()));
    eq("zone", f.zone.clone());
    eq("mac", f.mac.map(|m| m.to_string()));
    let mut sql = format!("SELECT {ASSET_COLUMNS} FROM assets");
    finish_select(&mut sql, &conds, "asset_id", f.limit, f.offset);
    let mut q = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let mut rows = q.fetch(pool);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(asset_from_row(row)?);
    }
    Ok(out)
}

pub(crate) async fn get_asset(pool: &Pool<Db>, id: &str) -> Result<Option<Asset>> {
    let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id = $1");
    let row = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
        .bind(id.to_owned())
        .fetch_optional(pool)
        .await?;
    row.map(asset_from_row).transpose()
}

pub(crate) async fn set_lifecycle(
    pool: &Pool<Db>,
    actor: &str,
    id: &str,
    to: Lifecycle,
    reason: Option<&str>,
) -> Result<LifecycleChange> {
    let (mut tx, head) = begin_write(pool).await?;
    let mut stored = load_assets(&mut tx, &[id]).await?;
    let Some(before) = stored.remove(id) else {
        return Err(StoreError::NotFound(format!("asset '{id}'")));
    };
    let mut after = before.clone();
    after.lifecycle = before
        .lifecycle
        .transition(to)
        .map_err(|e| StoreError::Invalid(format!("asset '{id}': {e}")))?;
    let from = before.lifecycle;
    if after == before {
        return Ok(LifecycleChange { from, asset: after });
    }
    upsert_assets(&mut tx, &[&after]).await?;
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "asset.lifecycle",
        format!("asset:{id}"),
        json!({ "from": before.lifecycle, "to": after.lifecycle, "reason": reason }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(LifecycleChange { from, asset: after })
}

/// Entries about one object, oldest first.
pub(crate) async fn audit_for_object(pool: &Pool<Db>, object: &str) -> Result<Vec<Entry>> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE object = $1 ORDER BY seq");
    let rows = sqlx::query_as::<_, EntryRow>(AssertSqlSafe(sql))
        .bind(object.to_owned())
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|r| {
            entry_from_row(r).map_err(|(seq, why)| StoreError::Corrupt {
                table: "audit_log",
                why: format!("seq {seq}: {why}"),
            })
        })
        .collect()
}

/// Walks the whole chain in one snapshot, optionally writing it out as an export.
/// Returns the stored head and whether the chain is intact.
pub(crate) async fn audit_walk(
    pool: &Pool<Db>,
    out: Option<&mut dyn Write>,
) -> Result<AuditVerdict> {
    let mut tx = pool.begin_with(DIALECT.begin_read()).await?;
    let anchor: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    let anchor = anchor.map(|(seq, hash)| Head {
        seq: seq as u64,
        hash,
    });
    let mut writer = out.map(write_export);
    let mut verifier = Verifier::new();
    let mut broken: Option<Break> = None;
    let mut last = Head::genesis();
    {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query_as::<_, EntryRow>(AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let raw_seq = row.0;
            let entry = match entry_from_row(row) {
                Ok(e) => e,
                Err((seq, why)) => {
                    broken.get_or_insert(Break {
                        seq: if seq == 0 { raw_seq.max(0) as u64 } else { seq },
                        why,
                    });
                    if writer.is_none() {
                        break;
                    }
                    continue;
                }
            };
            if broken.is_none()
                && let Err(b) = verifier.push(&entry)
            {
                broken = Some(b);
            }
            if let Some(w) = writer.as_mut() {
                w.entry(&entry)?;
            } else if broken.is_some() {
                break;
            }
            last = entry.head();
        }
    }
    tx.commit().await?;
    if let Some(w) = writer {
        // Without a recorded head there is nothing honest to anchor the export with.
        match &anchor {
            Some(head) => w.finish(head)?,
            None => w.finish_unanchored()?,
        };
    }
    if let Some(b) = broken {
        return Ok(AuditVerdict::Broken(b));
    }
    let Some(anchor) = anchor else {
        return Ok(AuditVerdict::Broken(Break {
            seq: last.seq + 1,
            why: "the recorded audit head is missing (deleted?)".into(),
        }));
    };
    Ok(match verifier.finish(Some(&anchor)) {
        Ok(s) => AuditVerdict::Intact(s),
        Err(b) => AuditVerdict::Broken(b),
    })
}

// ---- Passive sensing -------------------------------------------------------------

/// Column list of `flows` as written, in bind order.
const FLOW_COLUMNS: &str = "flow_key, proto, client_ip, client_port, server_ip, server_port, \
    client_mac, server_mac, vlan, app, packets_to_server, packets_to_client, bytes_to_server, \
    bytes_to_client, first_seen, last_seen, sessions, tcp_state";

/// How a second sighting of a stored 5-tuple adds to its row. The stored row keeps
/// its orientation (who the client is); counters of a batch seen the other way round
/// are swapped.
fn flow_upsert_set() -> String {
    let (min, max) = match DIALECT {
        crate::Dialect::Sqlite => ("MIN", "MAX"),
        crate::Dialect::Postgres => ("LEAST", "GREATEST"),
    };
    let same = "excluded.client_ip = flows.client_ip AND excluded.client_port = flows.client_port";
    let add = |col: &str, other: &str| {
        format!(
            "{col} = flows.{col} + CASE WHEN {same} THEN excluded.{col} ELSE excluded.{other} END"
        )
    };
    [
        add("packets_to_server", "packets_to_client"),
        add("packets_to_client", "packets_to_server"),
        add("bytes_to_server", "bytes_to_client"),
        add("bytes_to_client", "bytes_to_server"),
        format!(
            "client_mac = COALESCE(flows.client_mac, CASE WHEN {same} THEN excluded.client_mac ELSE excluded.server_mac END)"
        ),
        format!(
            "server_mac = COALESCE(flows.server_mac, CASE WHEN {same} THEN excluded.server_mac ELSE excluded.client_mac END)"
        ),
        "vlan = COALESCE(flows.vlan, excluded.vlan)".to_owned(),
        "app = CASE WHEN flows.app = 'unknown' THEN excluded.app ELSE flows.app END".to_owned(),
        format!("first_seen = {min}(flows.first_seen, excluded.first_seen)"),
        format!("last_seen = {max}(flows.last_seen, excluded.last_seen)"),
        "sessions = flows.sessions + excluded.sessions".to_owned(),
        "tcp_state = excluded.tcp_state".to_owned(),
    ]
    .join(", ")
}

/// The `SET` list of an upsert into `observations`.
fn evidence_upsert_set() -> String {
    let (min, max) = match DIALECT {
        crate::Dialect::Sqlite => ("MIN", "MAX"),
        crate::Dialect::Postgres => ("LEAST", "GREATEST"),
    };
    format!(
        "confidence = {max}(observations.confidence, excluded.confidence), \
         first_seen = {min}(observations.first_seen, excluded.first_seen), \
         last_seen = {max}(observations.last_seen, excluded.last_seen), \
         count = observations.count + excluded.count"
    )
}

/// One row of `observations` to write.
struct EvidenceRow {
    asset_id: String,
    e: pumpguard_model::Evidence,
}

/// Adds `f` into `into` (same 5-tuple), keeping `into`'s orientation.
fn add_flow(into: &mut pumpguard_model::FlowRecord, f: &pumpguard_model::FlowRecord) {
    let same = into.client_ip == f.client_ip && into.client_port == f.client_port;
    let (ps, pc, bs, bc) = if same {
        (
            f.packets_to_server,
            f.packets_to_client,
            f.bytes_to_server,
            f.bytes_to_client,
        )
    } else {
        (
            f.packets_to_client,
            f.packets_to_server,
            f.bytes_to_client,
            f.bytes_to_server,
        )
    };
    into.packets_to_server += ps;
    into.packets_to_client += pc;
    into.bytes_to_server += bs;
    into.bytes_to_client += bc;
    if into.app == "unknown" {
        into.app = f.app.clone();
    }
    into.first_seen = into.first_seen.min(f.first_seen);
    if f.last_seen >= into.last_seen {
        into.last_seen = f.last_seen;
        into.tcp_state = f.tcp_state.clone();
    }
    into.sessions += f.sessions;
}

/// Stored assets with any of these MACs, by MAC (the first by id when several share one).
async fn load_assets_by_mac(tx: &mut Tx, macs: &[String]) -> Result<HashMap<String, Asset>> {
    let mut out: HashMap<String, Asset> = HashMap::with_capacity(macs.len());
    for chunk in macs.chunks(CHUNK) {
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE mac IN {} ORDER BY asset_id",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql));
        for m in chunk {
            q = q.bind(m.clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            let a = asset_from_row(row)?;
            if let Some(m) = a.mac {
                out.entry(m.to_string()).or_insert(a);
            }
        }
    }
    Ok(out)
}

/// A stored asset that lists `ip` among its addresses (the first by id).
async fn load_asset_by_ip(tx: &mut Tx, ip: std::net::IpAddr) -> Result<Option<Asset>> {
    let sql =
        format!("SELECT {ASSET_COLUMNS} FROM assets WHERE ips LIKE $1 ORDER BY asset_id LIMIT 1");
    let row = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
        .bind(format!("%\"{ip}\"%"))
        .fetch_optional(&mut **tx)
        .await?;
    row.map(asset_from_row).transpose()
}

pub(crate) async fn record_sense(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    sightings: &[pumpguard_model::Sighting],
    flows: &[pumpguard_model::FlowRecord],
) -> Result<crate::SenseSummary> {
    use crate::sensing::{discovered_id, flow_key, identity_changed, merge};

    let (mut tx, head) = begin_write(pool).await?;
    let macs: Vec<String> = sightings
        .iter()
        .filter_map(|s| s.mac.map(|m| m.to_string()))
        .collect();
    let by_mac = load_assets_by_mac(&mut tx, &macs).await?;
    // Assets as this batch leaves them, by id: a later sighting sees earlier merges.
    let mut current: HashMap<String, Asset> = HashMap::new();
    let mut before: HashMap<String, Option<Asset>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut evidence: HashMap<(String, pumpguard_model::Field, String, String), EvidenceRow> =
        HashMap::new();
    for s in sightings {
        let mut stored: Option<Asset> = None;
        if let Some(m) = s.mac {
            stored = by_mac.get(&m.to_string()).cloned();
        }
        if stored.is_none() {
            let Some(id) = discovered_id(s) else { continue };
            stored = match current.get(id.as_str()) {
                Some(a) => Some(a.clone()),
                None => load_assets(&mut tx, &[id.as_str()])
                    .await?
                    .remove(id.as_str()),
            };
            if stored.is_none()
                && s.mac.is_none()
                && let Some(ip) = s.ips.first()
            {
                stored = load_asset_by_ip(&mut tx, *ip).await?;
            }
        }
        if let Some(a) = &stored
            && let Some(newer) = current.get(a.asset_id.as_str())
        {
            stored = Some(newer.clone());
        }
        let Some(after) = merge(stored.as_ref(), s) else {
            continue;
        };
        let id = after.asset_id.to_string();
        if !before.contains_key(&id) {
            before.insert(id.clone(), stored.clone());
            order.push(id.clone());
        }
        for e in &s.evidence {
            let key = (id.clone(), e.field, e.value.clone(), e.source.clone());
            match evidence.get_mut(&key) {
                Some(row) => {
                    row.e.count += e.count;
                    row.e.first_seen = row.e.first_seen.min(e.first_seen);
                    row.e.last_seen = row.e.last_seen.max(e.last_seen);
                    row.e.confidence = row.e.confidence.max(e.confidence);
                }
                None => {
                    evidence.insert(
                        key,
                        EvidenceRow {
                            asset_id: id.clone(),
                            e: e.clone(),
                        },
                    );
                }
            }
        }
        current.insert(id, after);
    }

    let mut chain = Chainer::new(head, actor);
    let mut summary = crate::SenseSummary::default();
    let mut writes: Vec<&Asset> = Vec::new();
    for id in &order {
        let Some(after) = current.get(id) else {
            continue;
        };
        let object = format!("asset:{id}");
        match before.get(id).and_then(|b| b.as_ref()) {
            None => {
                summary.assets_created += 1;
                chain.record_canonical("asset.discover", object, create_detail(after, origin));
            }
            Some(b) if b == after => continue,
            Some(b) => {
                if identity_changed(b, after) {
                    summary.assets_updated += 1;
                    let mut diff = changes(b, after);
                    if let Value::Object(m) = &mut diff {
                        m.remove("first_seen");
                        m.remove("last_seen");
                    }
                    chain.record(
                        "asset.observe",
                        object.clone(),
                        json!({ "changes": diff, "origin": origin }),
                    );
                    if b.kind != after.kind {
                        chain.record(
                            "asset.class_change",
                            object,
                            json!({ "from": b.kind, "to": after.kind, "origin": origin }),
                        );
                    }
                }
            }
        }
        writes.push(after);
    }
    upsert_assets(&mut tx, &writes).await?;

    let rows: Vec<EvidenceRow> = evidence.into_values().collect();
    summary.evidence = rows.len() as u64;
    upsert_evidence(&mut tx, &rows).await?;

    let mut merged: HashMap<String, pumpguard_model::FlowRecord> = HashMap::new();
    for f in flows {
        match merged.entry(flow_key(f)) {
            std::collections::hash_map::Entry::Occupied(mut o) => add_flow(o.get_mut(), f),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(f.clone());
            }
        }
    }
    summary.flows = merged.len() as u64;
    let mut flow_rows: Vec<(String, pumpguard_model::FlowRecord)> = merged.into_iter().collect();
    flow_rows.sort_by(|a, b| {
        a.1.first_seen
            .cmp(&b.1.first_seen)
            .then_with(|| a.0.cmp(&b.0))
    });
    upsert_flows(&mut tx, &flow_rows).await?;

    if summary.assets_created > 0 || summary.assets_updated > 0 {
        chain.record(
            "sense.batch",
            format!("sense:{origin}"),
            json!({
                "origin": origin,
                "assets_created": summary.assets_created,
                "assets_updated": summary.assets_updated,
            }),
        );
    }
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(summary)
}

fn flow_from_row(r: &<Db as sqlx::Database>::Row) -> Result<pumpguard_model::FlowRecord> {
    use sqlx::Row;
    let bad = |why: String| StoreError::Corrupt {
        table: "flows",
        why,
    };
    let text = |i: usize| r.try_get::<String, _>(i).map_err(|e| bad(e.to_string()));
    let int = |i: usize| r.try_get::<i64, _>(i).map_err(|e| bad(e.to_string()));
    let small = |i: usize| {
        r.try_get::<Option<i32>, _>(i)
            .map_err(|e| bad(e.to_string()))
    };
    let ip = |i: usize| {
        let s = text(i)?;
        s.parse::<std::net::IpAddr>()
            .map_err(|e| bad(format!("address '{s}': {e}")))
    };
    let mac = |i: usize| {
        r.try_get::<Option<String>, _>(i)
            .map_err(|e| bad(e.to_string()))?
            .map(|m| m.parse::<pumpguard_model::MacAddr>())
            .transpose()
            .map_err(|e| bad(format!("mac: {e}")))
    };
    let t = |i: usize| {
        let us = int(i)?;
        time::from_micros(us).ok_or_else(|| bad(format!("time {us} out of range")))
    };
    let port = |i: usize| Ok::<u16, StoreError>(small(i)?.unwrap_or(0) as u16);
    Ok(pumpguard_model::FlowRecord {
        proto: text(0)?,
        client_ip: ip(1)?,
        client_port: port(2)?,
        server_ip: ip(3)?,
        server_port: port(4)?,
        client_mac: mac(5)?,
        server_mac: mac(6)?,
        vlan: small(7)?.map(|v| v as u16),
        app: text(8)?,
        packets_to_server: int(9)? as u64,
        packets_to_client: int(10)? as u64,
        bytes_to_server: int(11)? as u64,
        bytes_to_client: int(12)? as u64,
        first_seen: t(13)?,
        last_seen: t(14)?,
        sessions: int(15)? as u64,
        tcp_state: text(16)?,
    })
}

pub(crate) async fn list_flows(
    pool: &Pool<Db>,
    f: &crate::FlowFilter,
) -> Result<Vec<pumpguard_model::FlowRecord>> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(ip) = f.ip {
        binds.push(ip.to_string());
        let n = binds.len();
        conds.push(format!("(client_ip = ${n} OR server_ip = ${n})"));
    }
    if let Some(app) = &f.app {
        binds.push(app.clone());
        conds.push(format!("app = ${}", binds.len()));
    }
    if let Some(proto) = &f.proto {
        binds.push(proto.clone());
        conds.push(format!("proto = ${}", binds.len()));
    }
    let mut sql = "SELECT proto, client_ip, client_port, server_ip, server_port, client_mac, \
        server_mac, vlan, app, packets_to_server, packets_to_client, bytes_to_server, \
        bytes_to_client, first_seen, last_seen, sessions, tcp_state FROM flows"
        .to_owned();
    finish_select(&mut sql, &conds, "first_seen, flow_key", f.limit, f.offset);
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let mut rows = q.fetch(pool);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(flow_from_row(&row)?);
    }
    Ok(out)
}

pub(crate) async fn asset_evidence(
    pool: &Pool<Db>,
    id: &str,
) -> Result<Vec<pumpguard_model::Evidence>> {
    let rows: Vec<(String, String, String, i32, i64, i64, i64)> = sqlx::query_as(
        "SELECT field, value, source, confidence, first_seen, last_seen, count \
         FROM observations WHERE asset_id = $1 ORDER BY field, confidence DESC, last_seen DESC",
    )
    .bind(id.to_owned())
    .fetch_all(pool)
    .await?;
    let bad = |why: String| StoreError::Corrupt {
        table: "observations",
        why,
    };
    rows.into_iter()
        .map(|r| {
            let t = |us: i64| {
                time::from_micros(us).ok_or_else(|| bad(format!("time {us} out of range")))
            };
            Ok(pumpguard_model::Evidence {
                field: r
                    .0
                    .parse()
                    .map_err(|e: pumpguard_model::ParseEnumError| bad(e.to_string()))?,
                value: r.1,
                source: r.2,
                confidence: r.3.clamp(0, 100) as u8,
                first_seen: t(r.4)?,
                last_seen: t(r.5)?,
                count: r.6 as u64,
            })
        })
        .collect()
}
