// Queries and transactions, written once for both backends. This file is `include!`d
// by `backend.rs` into one module per backend, each of which first defines `Db` (the
// sqlx database type) and `DIALECT`; everything below is then type-checked for that
// backend. (sqlx's generic bounds over `Database` would say the same at great length.)

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;

use futures_util::TryStreamExt;
use pumpguard_audit::{Break, Entry, Head, Sealed, Sealer, Verifier, write_export};
use pumpguard_model::{Asset, AssetKind, AssetPatch, Lifecycle, Source, time};
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
/// trip; fewer, larger (`UNNEST`) statements took a 100,000-asset import from 10.6 s
/// to 3.5 s when sqlx 0.9.0 left Nagle on (each statement's last segment waited ~40 ms
/// for the server's delayed ACK; 0.9.1 sets TCP_NODELAY again).
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
        Chainer::at(head, time::now(), actor)
    }

    /// Entries stamped `when` (a change that records its own time uses the same one).
    fn at(head: Head, when: pumpguard_model::time::Timestamp, actor: &str) -> Self {
        Chainer {
            sealer: Sealer::new(head, when, actor),
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

/// The WHERE conditions (`$N` placeholders) and their binds of an asset query.
fn asset_conditions(f: &AssetFilter, search: &crate::AssetSearch) -> (Vec<String>, Vec<String>) {
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
    for (col, v) in [("vendor", &search.vendor), ("model", &search.model)] {
        if let Some(v) = v {
            binds.push(v.to_lowercase());
            conds.push(format!("LOWER({col}) = ${}", binds.len()));
        }
    }
    if let Some(text) = search.text.as_deref().filter(|t| !t.is_empty()) {
        // A substring, its LIKE wildcards taken literally.
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        binds.push(format!("%{escaped}%"));
        let n = binds.len();
        let any: Vec<String> = [
            "asset_id", "vendor", "model", "firmware", "serial", "mac", "ips", "hostname",
            "location", "zone",
        ]
        .iter()
        .map(|col| format!("LOWER({col}) LIKE ${n} ESCAPE '\\'"))
        .collect();
        conds.push(format!("({})", any.join(" OR ")));
    }
    (conds, binds)
}

/// How many assets match (the filter's limit and offset aside).
pub(crate) async fn count_assets(
    pool: &Pool<Db>,
    f: &AssetFilter,
    search: &crate::AssetSearch,
) -> Result<u64> {
    let (conds, binds) = asset_conditions(f, search);
    let mut sql = "SELECT COUNT(*) FROM assets".to_owned();
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_one(pool).await?.max(0) as u64)
}

/// The distinct zones and vendors of the inventory, sorted (for filter choices).
pub(crate) async fn asset_facets(pool: &Pool<Db>) -> Result<(Vec<String>, Vec<String>)> {
    let zones: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT zone FROM assets WHERE zone IS NOT NULL ORDER BY zone")
            .fetch_all(pool)
            .await?;
    let vendors: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT vendor FROM assets WHERE vendor IS NOT NULL ORDER BY vendor",
    )
    .fetch_all(pool)
    .await?;
    Ok((zones, vendors))
}

pub(crate) async fn list_assets(
    pool: &Pool<Db>,
    f: &AssetFilter,
    search: &crate::AssetSearch,
) -> Result<Vec<Asset>> {
    let (conds, binds) = asset_conditions(f, search);
    let mut inner = format!("SELECT {ASSET_COLUMNS} FROM assets");
    finish_select(&mut inner, &conds, "asset_id", f.limit, f.offset);
    // The rows come back as one JSON array the database builds: sqlx's SQLite driver
    // hands every row over from its worker thread on its own, about 25 µs a row (2.9 s
    // for 100,000 assets); one aggregated row takes a tenth of that, on both backends.
    let (agg, array) = match DIALECT {
        crate::Dialect::Sqlite => ("json_group_array", "json_array"),
        crate::Dialect::Postgres => ("json_agg", "json_build_array"),
    };
    let sql = format!(
        "SELECT CAST({agg}({array}({ASSET_COLUMNS}) ORDER BY asset_id) AS TEXT) FROM ({inner}) AS a"
    );
    let mut q = sqlx::query_scalar::<_, Option<String>>(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let Some(json) = q.fetch_one(pool).await? else {
        return Ok(Vec::new()); // PostgreSQL's json_agg of no rows
    };
    let rows: Vec<AssetRow> = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
        table: "assets",
        why: format!("the listing does not read back: {e}"),
    })?;
    rows.into_iter().map(asset_from_row).collect()
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
        return Ok(LifecycleChange {
            from,
            asset: after,
            revoked: Vec::new(),
        });
    }
    upsert_assets(&mut tx, &[&after]).await?;
    let now = time::now();
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        "asset.lifecycle",
        format!("asset:{id}"),
        json!({ "from": before.lifecycle, "to": after.lifecycle, "reason": reason }),
    );
    // A retired device keeps no valid certificate: a pump that left the hospital (sold,
    // stolen, scrapped) must not get back on the network with its old one.
    let mut revoked = Vec::new();
    if after.lifecycle == Lifecycle::Retired {
        let serials: Vec<(String,)> = sqlx::query_as(
            "SELECT serial FROM pki_certificates WHERE common_name = $1 AND revoked IS NULL \
             ORDER BY serial",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for (serial,) in serials {
            sqlx::query("UPDATE pki_certificates SET revoked = $1, reason = $2 WHERE serial = $3")
                .bind(time::to_micros(now))
                .bind(RETIRED_REASON)
                .bind(serial.as_str())
                .execute(&mut *tx)
                .await?;
            chain.record(
                "pki.revoke",
                format!("certificate:{serial}"),
                json!({"common_name": id, "reason": RETIRED_REASON, "cause": "asset retired"}),
            );
            revoked.push(serial);
        }
    }
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(LifecycleChange {
        from,
        asset: after,
        revoked,
    })
}

/// The RFC 5280 reason a retired asset's certificates are revoked with.
const RETIRED_REASON: &str = "cessation-of-operation";

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

/// Entries matching `f`, newest first.
pub(crate) async fn audit_entries(pool: &Pool<Db>, f: &crate::AuditFilter) -> Result<Vec<Entry>> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<&str> = Vec::new();
    for (col, v) in [
        ("object", &f.object),
        ("actor", &f.actor),
        ("action", &f.action),
    ] {
        if let Some(v) = v {
            binds.push(v);
            conds.push(format!("{col} = ${}", binds.len()));
        }
    }
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log");
    finish_select(&mut sql, &conds, "seq DESC", f.limit, f.offset);
    let mut q = sqlx::query_as::<_, EntryRow>(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b.to_owned());
    }
    q.fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            entry_from_row(r).map_err(|(seq, why)| StoreError::Corrupt {
                table: "audit_log",
                why: format!("seq {seq}: {why}"),
            })
        })
        .collect()
}

/// Walks the whole chain in one snapshot, optionally writing it out as an export.
/// Returns the stored head and whether the chain is intact. Generic over the writer so
/// that a walk without one (`audit_verify`) is a `Send` future a server can hold.
pub(crate) async fn audit_walk<W: Write + ?Sized>(
    pool: &Pool<Db>,
    out: Option<&mut W>,
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

/// A flow to write and its key: borrowed from the batch unless merged with another.
type FlowRow<'a> = (String, std::borrow::Cow<'a, pumpguard_model::FlowRecord>);

/// A flow's protocol and endpoints, the lower endpoint first.
type FiveTuple<'a> = (&'a str, (IpAddr, u16), (IpAddr, u16));

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
    detections: &[pumpguard_model::Detection],
) -> Result<crate::SenseSummary> {
    crate::alerts::check_detections(detections)?;
    let (mut tx, head) = begin_write(pool).await?;
    let mut chain = Chainer::new(head, actor);
    let summary = record_sense_in(&mut tx, &mut chain, origin, sightings, flows, detections).await?;
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(summary)
}

/// `record_sense` inside the caller's write transaction, chaining onto `chain` (the
/// detections already checked).
async fn record_sense_in(
    tx: &mut Tx,
    chain: &mut Chainer,
    origin: &str,
    sightings: &[pumpguard_model::Sighting],
    flows: &[pumpguard_model::FlowRecord],
    detections: &[pumpguard_model::Detection],
) -> Result<crate::SenseSummary> {
    use crate::sensing::{discovered_id, identity_changed, merge};

    let macs: Vec<String> = sightings
        .iter()
        .filter_map(|s| s.mac.map(|m| m.to_string()))
        .collect();
    let by_mac = load_assets_by_mac(tx, &macs).await?;
    // The stored assets the sightings not found by MAC would merge into, read at once
    // (one query per sighting cost a round trip each: 100,000 new pumps took 20 s).
    let wanted: Vec<String> = sightings
        .iter()
        .filter(|s| s.mac.is_none_or(|m| !by_mac.contains_key(&m.to_string())))
        .filter_map(|s| discovered_id(s).map(|id| id.as_str().to_owned()))
        .collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let by_id = load_assets(tx, &wanted).await?;
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
                None => by_id.get(id.as_str()).cloned(),
            };
            if stored.is_none()
                && s.mac.is_none()
                && let Some(ip) = s.ips.first()
            {
                stored = load_asset_by_ip(tx, *ip).await?;
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

    let mut summary = crate::SenseSummary::default();
    let mut writes: Vec<&Asset> = Vec::new();
    let mut alerts: Vec<pumpguard_model::Alert> = Vec::new();
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
                        let seen: Vec<&pumpguard_model::Evidence> = evidence
                            .values()
                            .filter(|r| r.asset_id == *id)
                            .map(|r| &r.e)
                            .collect();
                        alerts.extend(crate::alerts::class_change(b, after, &seen));
                    }
                }
            }
        }
        writes.push(after);
    }
    upsert_assets(tx, &writes).await?;

    let rows: Vec<EvidenceRow> = evidence.into_values().collect();
    summary.evidence = rows.len() as u64;
    upsert_evidence(tx, &rows).await?;

    // One row per key; a flow is copied only when another of the batch adds to it.
    // Rows are matched by their 5-tuple (lower endpoint first, as in `flow_key`), so
    // each key's text is written once.
    let mut at: HashMap<FiveTuple<'_>, usize> = HashMap::with_capacity(flows.len());
    let mut flow_rows: Vec<FlowRow<'_>> = Vec::with_capacity(flows.len());
    for f in flows {
        let (a, b) = ((f.client_ip, f.client_port), (f.server_ip, f.server_port));
        let tuple = if a <= b { (f.proto.as_str(), a, b) } else { (f.proto.as_str(), b, a) };
        match at.entry(tuple) {
            std::collections::hash_map::Entry::Occupied(o) => {
                if let Some((_, row)) = flow_rows.get_mut(*o.get()) {
                    add_flow(row.to_mut(), f);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                flow_rows.push((f.key(), std::borrow::Cow::Borrowed(f)));
                v.insert(flow_rows.len() - 1);
            }
        }
    }
    summary.flows = flow_rows.len() as u64;
    // Written in time order (then by key). The rows stay where they are: a row is a key
    // and a whole record, and moving them (to sort, then to take them out in order) was
    // a third of this function's time.
    let mut ordered: Vec<&FlowRow<'_>> = flow_rows.iter().collect();
    ordered.sort_unstable_by(|a, b| a.1.first_seen.cmp(&b.1.first_seen).then_with(|| a.0.cmp(&b.0)));
    upsert_flows(tx, &ordered).await?;

    // Detections, tied to assets as this batch leaves them (else as stored).
    let ends: Vec<Option<&pumpguard_model::Endpoint>> = detections
        .iter()
        .flat_map(|d| [Some(&d.subject), d.peer.as_ref()])
        .collect();
    let tied = tie_endpoints(tx, &current, &ends).await?;
    for (d, ends) in detections.iter().zip(tied.chunks(2)) {
        let subject = ends.first().cloned().flatten();
        let peer = ends.get(1).cloned().flatten().map(|(id, _)| id);
        alerts.push(crate::alerts::from_detection(d, subject, peer));
    }
    write_alerts(tx, chain, origin, alerts, &mut summary).await?;

    if summary.assets_created > 0 || summary.assets_updated > 0 || summary.alerts_raised > 0 {
        chain.record(
            "sense.batch",
            format!("sense:{origin}"),
            json!({
                "origin": origin,
                "assets_created": summary.assets_created,
                "assets_updated": summary.assets_updated,
                "alerts_raised": summary.alerts_raised,
                "alerts_updated": summary.alerts_updated,
            }),
        );
    }
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

/// Every (client, server) address pair the flows show, once.
pub(crate) async fn flow_peers(pool: &Pool<Db>) -> Result<Vec<(IpAddr, IpAddr)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT client_ip, server_ip FROM flows ORDER BY client_ip, server_ip",
    )
    .fetch_all(pool)
    .await?;
    let ip = |t: &str| {
        t.parse::<IpAddr>().map_err(|e| StoreError::Corrupt {
            table: "flows",
            why: format!("address '{t}': {e}"),
        })
    };
    rows.iter().map(|(c, s)| Ok((ip(c)?, ip(s)?))).collect()
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

// ---- Alerts ----------------------------------------------------------------------

/// Column list of `alerts` as read, in [`alert_from_row`] order.
const ALERT_COLUMNS: &str = "alert_id, kind, severity, status, asset_id, peer_asset_id, \
    subject_ip, subject_mac, peer_ip, peer_mac, proto, port, first_seen, last_seen, count, \
    evidence, action";

/// Column list of `alerts` as written, in bind order.
const ALERT_WRITE_COLUMNS: &str = "dedup_key, kind, severity, status, asset_id, peer_asset_id, \
    subject_ip, subject_mac, peer_ip, peer_mac, proto, port, first_seen, last_seen, count, \
    evidence, action";

/// The `SET` list of an upsert into `alerts`: every written column but the key (the
/// caller has already folded the stored row into the one written).
const ALERT_UPSERT_SET: &str = "kind = excluded.kind, severity = excluded.severity, \
    status = excluded.status, asset_id = excluded.asset_id, \
    peer_asset_id = excluded.peer_asset_id, subject_ip = excluded.subject_ip, \
    subject_mac = excluded.subject_mac, peer_ip = excluded.peer_ip, \
    peer_mac = excluded.peer_mac, proto = excluded.proto, port = excluded.port, \
    first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
    count = excluded.count, evidence = excluded.evidence, action = excluded.action";

/// One row of `alerts` to write: its dedup key, the alert and its evidence as JSON.
struct AlertWrite {
    key: String,
    alert: pumpguard_model::Alert,
    evidence: String,
}

fn alert_from_row(r: &<Db as sqlx::Database>::Row) -> Result<pumpguard_model::Alert> {
    use sqlx::Row;
    let corrupt = |why: String| StoreError::Corrupt {
        table: "alerts",
        why,
    };
    let id = r.try_get::<i64, _>(0).map_err(|e| corrupt(e.to_string()))?;
    let bad = |what: &str, why: String| corrupt(format!("alert {id} {what}: {why}"));
    let text = |i: usize, what: &str| {
        r.try_get::<String, _>(i)
            .map_err(|e| bad(what, e.to_string()))
    };
    let opt = |i: usize, what: &str| {
        r.try_get::<Option<String>, _>(i)
            .map_err(|e| bad(what, e.to_string()))
    };
    let int = |i: usize, what: &str| r.try_get::<i64, _>(i).map_err(|e| bad(what, e.to_string()));
    let ip = |i: usize, what: &str| {
        opt(i, what)?
            .map(|s| s.parse::<std::net::IpAddr>())
            .transpose()
            .map_err(|e| bad(what, e.to_string()))
    };
    let mac = |i: usize, what: &str| {
        opt(i, what)?
            .map(|m| m.parse::<pumpguard_model::MacAddr>())
            .transpose()
            .map_err(|e| bad(what, e.to_string()))
    };
    let t = |i: usize, what: &str| {
        let us = int(i, what)?;
        time::from_micros(us).ok_or_else(|| bad(what, format!("time {us} out of range")))
    };
    let enum_err =
        |what: &'static str| move |e: pumpguard_model::ParseEnumError| bad(what, e.to_string());
    let peer = match (ip(8, "peer_ip")?, mac(9, "peer_mac")?) {
        (None, None) => None,
        (ip, mac) => Some(pumpguard_model::Endpoint { ip, mac }),
    };
    let port = r
        .try_get::<Option<i32>, _>(11)
        .map_err(|e| bad("port", e.to_string()))?
        .map(|p| u16::try_from(p).map_err(|e| bad("port", e.to_string())))
        .transpose()?;
    let count = int(14, "count")?;
    Ok(pumpguard_model::Alert {
        id,
        kind: text(1, "kind")?.parse().map_err(enum_err("kind"))?,
        severity: text(2, "severity")?.parse().map_err(enum_err("severity"))?,
        status: text(3, "status")?.parse().map_err(enum_err("status"))?,
        asset_id: opt(4, "asset_id")?,
        peer_asset_id: opt(5, "peer_asset_id")?,
        subject: pumpguard_model::Endpoint {
            ip: ip(6, "subject_ip")?,
            mac: mac(7, "subject_mac")?,
        },
        peer,
        proto: text(10, "proto")?,
        port,
        first_seen: t(12, "first_seen")?,
        last_seen: t(13, "last_seen")?,
        count: u64::try_from(count).map_err(|e| bad("count", e.to_string()))?,
        evidence: serde_json::from_str(&text(15, "evidence")?)
            .map_err(|e| bad("evidence", e.to_string()))?,
        action: text(16, "action")?,
    })
}

/// The asset each endpoint is, as its id and criticality: by MAC, then by address, each
/// first among the assets as this batch leaves them (`current`), then the stored ones.
/// A MAC that belongs to a router (kind `network`) that does not hold the endpoint's
/// address is the next hop, not the endpoint: such an endpoint goes by its address.
async fn tie_endpoints(
    tx: &mut Tx,
    current: &HashMap<String, Asset>,
    ends: &[Option<&pumpguard_model::Endpoint>],
) -> Result<Vec<Option<(String, pumpguard_model::Criticality)>>> {
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    // When several of the batch's assets share a MAC or an address, the first by id.
    let mut ids: Vec<&String> = current.keys().collect();
    ids.sort();
    let mut by_mac: HashMap<pumpguard_model::MacAddr, &Asset> = HashMap::new();
    let mut by_ip: HashMap<std::net::IpAddr, &Asset> = HashMap::new();
    for id in ids {
        let Some(a) = current.get(id) else { continue };
        if let Some(m) = a.mac {
            by_mac.entry(m).or_insert(a);
        }
        for ip in &a.ips {
            by_ip.entry(*ip).or_insert(a);
        }
    }
    let mut macs: Vec<String> = ends
        .iter()
        .flatten()
        .filter_map(|e| e.mac)
        .filter(|m| !by_mac.contains_key(m))
        .map(|m| m.to_string())
        .collect();
    macs.sort();
    macs.dedup();
    let stored_by_mac = load_assets_by_mac(tx, &macs).await?;
    // A stored asset the batch changed counts as the batch left it.
    let pick = |a: &Asset| {
        let a = current.get(a.asset_id.as_str()).unwrap_or(a);
        (a.asset_id.to_string(), a.criticality)
    };
    let mut out: Vec<Option<(String, pumpguard_model::Criticality)>> = ends
        .iter()
        .map(|end| {
            let end = (*end)?;
            end.mac
                .and_then(|m| {
                    by_mac
                        .get(&m)
                        .copied()
                        .or_else(|| stored_by_mac.get(&m.to_string()))
                })
                .map(|a| current.get(a.asset_id.as_str()).unwrap_or(a))
                // A router's MAC on an address it does not hold is routed traffic: the
                // address says who it is.
                .filter(|a| {
                    a.kind != pumpguard_model::AssetKind::Network
                        || end.ip.is_none_or(|ip| a.ips.contains(&ip))
                })
                .or_else(|| end.ip.and_then(|ip| by_ip.get(&ip).copied()))
                .map(pick)
        })
        .collect();
    // What is left is looked for among the stored assets' addresses, all at once.
    let mut ips: Vec<std::net::IpAddr> = ends
        .iter()
        .zip(&out)
        .filter(|(_, found)| found.is_none())
        .filter_map(|(end, _)| end.and_then(|e| e.ip))
        .collect();
    ips.sort();
    ips.dedup();
    let stored_by_ip = load_assets_by_ips(tx, &ips).await?;
    for (end, found) in ends.iter().zip(&mut out) {
        if found.is_none()
            && let Some(ip) = end.and_then(|e| e.ip)
        {
            *found = stored_by_ip.get(&ip).map(pick);
        }
    }
    Ok(out)
}

/// Stored assets that list any of these addresses, by address (the first by id). One
/// scan per 64 addresses: `ips` is JSON text, so each address is a `LIKE` pattern.
async fn load_assets_by_ips(
    tx: &mut Tx,
    ips: &[std::net::IpAddr],
) -> Result<HashMap<std::net::IpAddr, Asset>> {
    let mut out: HashMap<std::net::IpAddr, Asset> = HashMap::with_capacity(ips.len());
    for chunk in ips.chunks(64) {
        let conds: Vec<String> = (1..=chunk.len())
            .map(|n| format!("ips LIKE ${n}"))
            .collect();
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE {} ORDER BY asset_id",
            conds.join(" OR ")
        );
        let mut q = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql));
        for ip in chunk {
            q = q.bind(format!("%\"{ip}\"%"));
        }
        for row in q.fetch_all(&mut **tx).await? {
            let a = asset_from_row(row)?;
            for ip in a.ips.iter().filter(|ip| chunk.contains(ip)) {
                out.entry(*ip).or_insert_with(|| a.clone());
            }
        }
    }
    Ok(out)
}

/// Stored alerts by dedup key.
async fn load_alerts_by_key(
    tx: &mut Tx,
    keys: &[String],
) -> Result<HashMap<String, pumpguard_model::Alert>> {
    use sqlx::Row;
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "SELECT {ALERT_COLUMNS}, dedup_key FROM alerts WHERE dedup_key IN {}",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(k.as_str());
        }
        for row in q.fetch_all(&mut **tx).await? {
            let key: String = row.try_get(17)?;
            out.insert(key, alert_from_row(&row)?);
        }
    }
    Ok(out)
}

/// The `flow_id`s of stored flows, by flow key.
async fn load_flow_ids(tx: &mut Tx, keys: &[String]) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "SELECT flow_key, flow_id FROM flows WHERE flow_key IN {}",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(k.as_str());
        }
        out.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

/// Raises alerts already tied to assets (not from the wire), in one transaction.
pub(crate) async fn raise_alerts(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    alerts: Vec<pumpguard_model::Alert>,
) -> Result<crate::SenseSummary> {
    record_events(pool, actor, origin, &[], alerts).await
}

/// Writes a batch's alerts: one per dedup key, added to the stored alert of that key if
/// there is one. A new alert is audited as `alert.raise`; a resolved one that recurs is
/// opened again (`alert.reopen`); a recurrence of an open or acknowledged alert writes
/// no audit entry.
async fn write_alerts(
    tx: &mut Tx,
    chain: &mut Chainer,
    origin: &str,
    alerts: Vec<pumpguard_model::Alert>,
    summary: &mut crate::SenseSummary,
) -> Result<()> {
    use crate::alerts::{add_recurrence, dedup_key, end_key};
    use pumpguard_model::AlertStatus;

    let mut order: Vec<String> = Vec::new();
    let mut batch: HashMap<String, pumpguard_model::Alert> = HashMap::new();
    for a in alerts {
        let key = dedup_key(&a);
        match batch.get_mut(&key) {
            Some(into) => add_recurrence(into, &a),
            None => {
                order.push(key.clone());
                batch.insert(key, a);
            }
        }
    }
    if order.is_empty() {
        return Ok(());
    }
    let stored = load_alerts_by_key(tx, &order).await?;
    let mut rows: Vec<AlertWrite> = Vec::with_capacity(order.len());
    for key in order {
        let Some(new) = batch.remove(&key) else {
            continue;
        };
        let alert = match stored.get(&key) {
            Some(old) => {
                summary.alerts_updated += 1;
                let mut a = old.clone();
                add_recurrence(&mut a, &new);
                if a.status == AlertStatus::Resolved {
                    a.status = AlertStatus::Open;
                }
                a
            }
            None => {
                summary.alerts_raised += 1;
                new
            }
        };
        rows.push(AlertWrite {
            key,
            alert,
            evidence: String::new(),
        });
    }
    let mut flow_keys: Vec<String> = rows
        .iter()
        .flat_map(|r| r.alert.evidence.flows.iter().cloned())
        .collect();
    flow_keys.sort();
    flow_keys.dedup();
    let flow_ids = load_flow_ids(tx, &flow_keys).await?;
    for r in &mut rows {
        let e = &mut r.alert.evidence;
        e.flow_ids = e
            .flows
            .iter()
            .filter_map(|k| flow_ids.get(k).copied())
            .collect();
        r.evidence = serde_json::to_string(e)
            .map_err(|e| StoreError::Invalid(format!("alert evidence: {e}")))?;
    }
    let ids = upsert_alerts(tx, &rows).await?;
    for r in &rows {
        let a = &r.alert;
        let Some(id) = ids.get(&r.key) else {
            return Err(StoreError::Invalid(format!(
                "alert '{}' was not written",
                r.key
            )));
        };
        summary.alert_ids.push(*id);
        let object = format!("alert:{id}");
        match stored.get(&r.key) {
            None => {
                let peer = end_key(a.peer_asset_id.as_deref(), a.peer.as_ref());
                chain.record(
                    "alert.raise",
                    object,
                    json!({
                        "kind": a.kind,
                        "severity": a.severity,
                        "asset_id": a.asset_id,
                        "peer": (!peer.is_empty()).then_some(peer),
                        "sentence": a.evidence.sentence,
                        "origin": origin,
                    }),
                );
            }
            Some(old) if old.status == AlertStatus::Resolved => {
                chain.record(
                    "alert.reopen",
                    object,
                    json!({
                        "from": old.status,
                        "to": a.status,
                        "reason": "recurred",
                        "origin": origin,
                    }),
                );
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) async fn list_alerts(
    pool: &Pool<Db>,
    f: &crate::AlertFilter,
) -> Result<Vec<pumpguard_model::Alert>> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    // Numbers come from typed values and are written into the text; strings are bound.
    if let Some(t) = f.since {
        conds.push(format!("last_seen >= {}", time::to_micros(t)));
    }
    if let Some(s) = f.min_severity {
        conds.push(format!(
            "severity_rank >= {}",
            crate::alerts::severity_rank(s)
        ));
    }
    if let Some(s) = f.status {
        binds.push(s.as_str().to_owned());
        conds.push(format!("status = ${}", binds.len()));
    }
    if let Some(k) = f.kind {
        binds.push(k.as_str().to_owned());
        conds.push(format!("kind = ${}", binds.len()));
    }
    if let Some(id) = &f.asset_id {
        binds.push(id.clone());
        let n = binds.len();
        conds.push(format!("(asset_id = ${n} OR peer_asset_id = ${n})"));
    }
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts");
    finish_select(
        &mut sql,
        &conds,
        "severity_rank DESC, last_seen DESC, alert_id",
        f.limit,
        f.offset,
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let mut rows = q.fetch(pool);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(alert_from_row(&row)?);
    }
    Ok(out)
}

pub(crate) async fn get_alert(pool: &Pool<Db>, id: i64) -> Result<Option<pumpguard_model::Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(alert_from_row).transpose()
}

pub(crate) async fn set_alert_status(
    pool: &Pool<Db>,
    actor: &str,
    id: i64,
    to: pumpguard_model::AlertStatus,
    note: Option<&str>,
) -> Result<pumpguard_model::Alert> {
    let (mut tx, head) = begin_write(pool).await?;
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(before) = row.as_ref().map(alert_from_row).transpose()? else {
        return Err(StoreError::NotFound(format!("alert {id}")));
    };
    if before.status == to {
        return Ok(before);
    }
    sqlx::query("UPDATE alerts SET status = $1 WHERE alert_id = $2")
        .bind(to.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::new(head, actor);
    let mut detail = json!({ "from": before.status, "to": to });
    if let Some(note) = note {
        detail["note"] = json!(note);
    }
    chain.record(
        crate::alerts::status_action(to),
        format!("alert:{id}"),
        detail,
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(pumpguard_model::Alert {
        status: to,
        ..before
    })
}

// ---- Baselines -------------------------------------------------------------------

pub(crate) async fn save_baseline(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    b: &pumpguard_model::Baseline,
) -> Result<i64> {
    use crate::baselines::{check, counts, learn_detail};

    check(b)?;
    let (devices, models) = counts(b)?;
    let body =
        serde_json::to_string(b).map_err(|e| StoreError::Invalid(format!("baseline: {e}")))?;
    let (mut tx, head) = begin_write(pool).await?;
    let now = time::now();
    let (version,): (i64,) = sqlx::query_as(
        "INSERT INTO baselines (created, learned_from, learned_until, devices, models, origin, \
         body) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING version",
    )
    .bind(time::to_micros(now))
    .bind(time::to_micros(b.learned_from))
    .bind(time::to_micros(b.learned_until))
    .bind(devices)
    .bind(models)
    .bind(origin.to_owned())
    .bind(body)
    .fetch_one(&mut *tx)
    .await?;
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        "baseline.learn",
        format!("baseline:{version}"),
        learn_detail(b, origin),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(version)
}

/// One version with its body: `version`, or the newest when `None`.
pub(crate) async fn load_baseline(
    pool: &Pool<Db>,
    version: Option<i64>,
) -> Result<Option<(pumpguard_model::BaselineInfo, pumpguard_model::Baseline)>> {
    use crate::baselines::{INFO_COLUMNS, body_from_text, info_from_row};

    let filter = match version {
        Some(_) => "WHERE version = $1",
        None => "ORDER BY version DESC LIMIT 1",
    };
    let sql = format!("SELECT {INFO_COLUMNS}, body FROM baselines {filter}");
    let mut q = sqlx::query_as::<
        _,
        (
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            String,
            String,
        ),
    >(AssertSqlSafe(sql));
    if let Some(v) = version {
        q = q.bind(v);
    }
    let Some(r) = q.fetch_optional(pool).await? else {
        return Ok(None);
    };
    let body = body_from_text(r.0, &r.7)?;
    let info = info_from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6))?;
    Ok(Some((info, body)))
}

pub(crate) async fn list_baselines(pool: &Pool<Db>) -> Result<Vec<pumpguard_model::BaselineInfo>> {
    use crate::baselines::{INFO_COLUMNS, InfoRow, info_from_row};

    let sql = format!("SELECT {INFO_COLUMNS} FROM baselines ORDER BY version DESC");
    let rows = sqlx::query_as::<_, InfoRow>(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(info_from_row).collect()
}

// ---- Vulnerability intelligence ------------------------------------------------------

/// Rows per multi-row statement for the vulnerability tables (at most 9 columns: under
/// SQLite's 32,766 and PostgreSQL's 65,535 bind limits).
const VULN_CHUNK: usize = 1_000;

/// Whether an upserted document was new, changed or the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocumentChange {
    New,
    Updated,
    Unchanged,
}

impl DocumentChange {
    fn as_str(self) -> &'static str {
        match self {
            DocumentChange::New => "new",
            DocumentChange::Updated => "updated",
            DocumentChange::Unchanged => "unchanged",
        }
    }
}

async fn upsert_document(
    tx: &mut Tx,
    row: &crate::vuln::DocumentRow<'_>,
    source: &str,
    now: i64,
) -> Result<DocumentChange> {
    let before: Option<(String,)> =
        sqlx::query_as("SELECT body FROM vuln_documents WHERE kind = $1 AND id = $2")
            .bind(row.kind)
            .bind(row.id)
            .fetch_optional(&mut **tx)
            .await?;
    let change = match before {
        None => DocumentChange::New,
        Some((body,)) if body == row.body => return Ok(DocumentChange::Unchanged),
        Some(_) => DocumentChange::Updated,
    };
    sqlx::query(
        "INSERT INTO vuln_documents (id, kind, format, title, publisher, revision, published, \
         updated, source, imported, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (kind, id) DO UPDATE SET format = excluded.format, \
         title = excluded.title, publisher = excluded.publisher, revision = excluded.revision, \
         published = excluded.published, updated = excluded.updated, source = excluded.source, \
         imported = excluded.imported, body = excluded.body",
    )
    .bind(row.id)
    .bind(row.kind)
    .bind(row.format)
    .bind(row.title)
    .bind(row.publisher)
    .bind(row.revision)
    .bind(row.published)
    .bind(row.updated)
    .bind(source)
    .bind(now)
    .bind(row.body.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(change)
}

/// Replaces the index rows of one advisory.
async fn replace_vuln_entries(tx: &mut Tx, a: &pumpguard_model::Advisory) -> Result<()> {
    use crate::vuln::headline_score;

    sqlx::query("DELETE FROM vuln_entries WHERE document_id = $1")
        .bind(a.id.as_str())
        .execute(&mut **tx)
        .await?;
    for chunk in a.vulnerabilities.chunks(VULN_CHUNK) {
        let sql = format!(
            "INSERT INTO vuln_entries (document_id, vuln_id, cve, title, score, severity, vector) \
             VALUES {} ON CONFLICT (document_id, vuln_id) DO NOTHING",
            crate::rows::values_placeholders(DIALECT, chunk.len(), 7)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in chunk {
            let h = headline_score(&v.scores);
            q = q
                .bind(a.id.as_str())
                .bind(v.id.as_str())
                .bind(v.cve.as_deref())
                .bind(v.title.as_deref())
                .bind(h.map(|s| s.score))
                .bind(h.and_then(|s| s.severity.as_deref()))
                .bind(h.map(|s| s.vector.as_str()));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_kev(tx: &mut Tx, entries: &[&pumpguard_model::KevEntry], now: i64) -> Result<()> {
    for chunk in entries.chunks(VULN_CHUNK) {
        let sql = format!(
            "INSERT INTO vuln_kev (cve, vendor, product, name, date_added, due_date, \
             required_action, known_ransomware, imported) VALUES {} ON CONFLICT (cve) DO UPDATE \
             SET vendor = excluded.vendor, product = excluded.product, name = excluded.name, \
             date_added = excluded.date_added, due_date = excluded.due_date, \
             required_action = excluded.required_action, \
             known_ransomware = excluded.known_ransomware, imported = excluded.imported",
            crate::rows::values_placeholders(DIALECT, chunk.len(), 9)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q
                .bind(k.cve.as_str())
                .bind(k.vendor.as_str())
                .bind(k.product.as_str())
                .bind(k.name.as_deref())
                .bind(k.date_added.as_str())
                .bind(k.due_date.as_deref())
                .bind(k.required_action.as_deref())
                .bind(k.known_ransomware.as_deref())
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn upsert_epss(tx: &mut Tx, scores: &[&pumpguard_model::EpssScore], now: i64) -> Result<()> {
    for chunk in scores.chunks(VULN_CHUNK) {
        let sql = format!(
            "INSERT INTO vuln_epss (cve, epss, percentile, score_date, imported) VALUES {} \
             ON CONFLICT (cve) DO UPDATE SET epss = excluded.epss, \
             percentile = excluded.percentile, score_date = excluded.score_date, \
             imported = excluded.imported",
            crate::rows::values_placeholders(DIALECT, chunk.len(), 5)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for s in chunk {
            q = q
                .bind(s.cve.as_str())
                .bind(s.epss)
                .bind(s.percentile)
                .bind(s.date.as_deref())
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) async fn import_vuln(
    pool: &Pool<Db>,
    actor: &str,
    items: &[(String, pumpguard_model::VulnImport)],
) -> Result<crate::vuln::VulnImportSummary> {
    use pumpguard_model::VulnImport;

    use crate::vuln::{VulnImportSummary, advisory_row, sbom_row};

    let rejected = |index: usize| {
        move |e: StoreError| StoreError::Rejected {
            index,
            why: e.to_string(),
        }
    };
    let (mut tx, head) = begin_write(pool).await?;
    let now = time::now();
    let now_us = time::to_micros(now);
    let mut chain = Chainer::at(head, now, actor);
    let mut summary = VulnImportSummary::default();
    let mut count = |change: DocumentChange| match change {
        DocumentChange::New => summary.documents_new += 1,
        DocumentChange::Updated => summary.documents_updated += 1,
        DocumentChange::Unchanged => summary.documents_unchanged += 1,
    };
    let mut vulnerabilities = 0u64;
    let mut kev_entries = 0u64;
    let mut epss_scores = 0u64;
    for (index, (source, item)) in items.iter().enumerate() {
        match item {
            VulnImport::Advisory(a) => {
                let row = advisory_row(a).map_err(rejected(index))?;
                let change = upsert_document(&mut tx, &row, source, now_us).await?;
                count(change);
                vulnerabilities += a.vulnerabilities.len() as u64;
                if change != DocumentChange::Unchanged {
                    replace_vuln_entries(&mut tx, a).await?;
                    chain.record(
                        "vuln.import",
                        format!("advisory:{}", a.id),
                        json!({
                            "change": change.as_str(),
                            "format": a.format.as_str(),
                            "source": source,
                            "revision": a.revision,
                            "products": a.products.len(),
                            "vulnerabilities": a.vulnerabilities.len(),
                        }),
                    );
                }
            }
            VulnImport::Sbom(s) => {
                let row = sbom_row(s).map_err(rejected(index))?;
                let change = upsert_document(&mut tx, &row, source, now_us).await?;
                count(change);
                if change != DocumentChange::Unchanged {
                    chain.record(
                        "vuln.import",
                        format!("sbom:{}", s.id),
                        json!({
                            "change": change.as_str(),
                            "format": s.format.as_str(),
                            "source": source,
                            "components": s.components.len(),
                        }),
                    );
                }
            }
            VulnImport::Kev(entries) => {
                // One row per CVE (the last wins): PostgreSQL refuses to update a row
                // twice in one statement.
                let by_cve: std::collections::BTreeMap<&str, &pumpguard_model::KevEntry> =
                    entries.iter().map(|k| (k.cve.as_str(), k)).collect();
                let rows: Vec<_> = by_cve.into_values().collect();
                upsert_kev(&mut tx, &rows, now_us).await?;
                kev_entries += rows.len() as u64;
                chain.record(
                    "vuln.import",
                    "kev".to_owned(),
                    json!({"format": "kev", "source": source, "entries": rows.len()}),
                );
            }
            VulnImport::Epss(scores) => {
                let by_cve: std::collections::BTreeMap<&str, &pumpguard_model::EpssScore> =
                    scores.iter().map(|s| (s.cve.as_str(), s)).collect();
                let rows: Vec<_> = by_cve.into_values().collect();
                upsert_epss(&mut tx, &rows, now_us).await?;
                epss_scores += rows.len() as u64;
                chain.record(
                    "vuln.import",
                    "epss".to_owned(),
                    json!({
                        "format": "epss",
                        "source": source,
                        "scores": rows.len(),
                        "date": rows.first().and_then(|s| s.date.clone()),
                    }),
                );
            }
        }
    }
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    summary.vulnerabilities = vulnerabilities;
    summary.kev_entries = kev_entries;
    summary.epss_scores = epss_scores;
    Ok(summary)
}

pub(crate) async fn vuln_documents(
    pool: &Pool<Db>,
) -> Result<(Vec<pumpguard_model::Advisory>, Vec<pumpguard_model::Sbom>)> {
    use crate::vuln::corrupt;

    let mut rows = sqlx::query_as::<_, (String, String, String)>(
        "SELECT id, kind, body FROM vuln_documents ORDER BY id",
    )
    .fetch(pool);
    let (mut advisories, mut sboms) = (Vec::new(), Vec::new());
    while let Some((id, kind, body)) = rows.try_next().await? {
        let bad = |e: serde_json::Error| corrupt("vuln_documents", format!("{kind} {id}: {e}"));
        match kind.as_str() {
            "advisory" => advisories.push(serde_json::from_str(&body).map_err(bad)?),
            "sbom" => sboms.push(serde_json::from_str(&body).map_err(bad)?),
            other => {
                return Err(corrupt(
                    "vuln_documents",
                    format!("{id}: unknown kind '{other}'"),
                ));
            }
        }
    }
    Ok((advisories, sboms))
}

pub(crate) async fn vuln_signals(
    pool: &Pool<Db>,
) -> Result<(
    Vec<pumpguard_model::KevEntry>,
    Vec<pumpguard_model::EpssScore>,
)> {
    type KevRow = (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let kev: Vec<KevRow> = sqlx::query_as(
        "SELECT cve, vendor, product, name, date_added, due_date, required_action, \
         known_ransomware FROM vuln_kev WHERE cve IN (SELECT cve FROM vuln_entries) ORDER BY cve",
    )
    .fetch_all(pool)
    .await?;
    let epss: Vec<(String, f64, f64, Option<String>)> = sqlx::query_as(
        "SELECT cve, epss, percentile, score_date FROM vuln_epss \
         WHERE cve IN (SELECT cve FROM vuln_entries) ORDER BY cve",
    )
    .fetch_all(pool)
    .await?;
    Ok((
        kev.into_iter()
            .map(|r| pumpguard_model::KevEntry {
                cve: r.0,
                vendor: r.1,
                product: r.2,
                name: r.3,
                date_added: r.4,
                due_date: r.5,
                required_action: r.6,
                known_ransomware: r.7,
            })
            .collect(),
        epss.into_iter()
            .map(|r| pumpguard_model::EpssScore {
                cve: r.0,
                epss: r.1,
                percentile: r.2,
                date: r.3,
            })
            .collect(),
    ))
}

pub(crate) async fn list_vulns(pool: &Pool<Db>) -> Result<Vec<pumpguard_model::VulnListing>> {
    use pumpguard_model::{SourcedScore, VulnListing};

    type EntryRow = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT document_id, vuln_id, cve, title, score, severity, vector FROM vuln_entries \
         ORDER BY document_id, vuln_id",
    )
    .fetch_all(pool)
    .await?;
    let (kev, epss) = vuln_signals(pool).await?;
    let mut kev: HashMap<String, pumpguard_model::KevEntry> =
        kev.into_iter().map(|k| (k.cve.clone(), k)).collect();
    let mut epss: HashMap<String, pumpguard_model::EpssScore> =
        epss.into_iter().map(|e| (e.cve.clone(), e)).collect();
    let mut by_key: std::collections::BTreeMap<String, VulnListing> = Default::default();
    for (document, vuln_id, cve, title, score, severity, vector) in rows {
        let key = cve.unwrap_or(vuln_id);
        let l = by_key.entry(key.clone()).or_insert_with(|| VulnListing {
            cve: key,
            title: None,
            score: None,
            severity: None,
            scores: Vec::new(),
            sources: Vec::new(),
            kev: None,
            epss: None,
        });
        if l.title.is_none() {
            l.title = title;
        }
        if score.is_some() && score > l.score {
            l.score = score;
            l.severity = severity.clone();
        }
        l.scores.push(SourcedScore {
            source: document.clone(),
            score,
            severity,
            vector,
        });
        l.sources.push(document);
    }
    let mut out: Vec<VulnListing> = by_key
        .into_values()
        .map(|mut l| {
            l.kev = kev.remove(&l.cve);
            l.epss = epss.remove(&l.cve);
            l
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .unwrap_or(-1.0)
            .total_cmp(&a.score.unwrap_or(-1.0))
            .then_with(|| a.cve.cmp(&b.cve))
    });
    Ok(out)
}

pub(crate) async fn set_triage(
    pool: &Pool<Db>,
    actor: &str,
    d: &pumpguard_model::TriageDecision,
) -> Result<()> {
    use crate::vuln::{triage_detail, triage_object};

    let firmware = d.firmware.as_deref().unwrap_or("");
    let (mut tx, head) = begin_write(pool).await?;
    let before: Option<(String,)> = sqlx::query_as(
        "SELECT status FROM vuln_triage WHERE model = $1 AND firmware = $2 AND cve = $3",
    )
    .bind(d.model.as_str())
    .bind(firmware)
    .bind(d.cve.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let now = time::now();
    sqlx::query(
        "INSERT INTO vuln_triage (model, firmware, cve, status, justification, statement, \
         decided, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (model, firmware, cve) DO UPDATE SET status = excluded.status, \
         justification = excluded.justification, statement = excluded.statement, \
         decided = excluded.decided, actor = excluded.actor",
    )
    .bind(d.model.as_str())
    .bind(firmware)
    .bind(d.cve.as_str())
    .bind(d.status.as_str())
    .bind(d.justification.as_deref())
    .bind(d.statement.as_deref())
    .bind(time::to_micros(now))
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        "vuln.triage",
        triage_object(d),
        triage_detail(d, before.as_ref().map(|b| b.0.as_str())),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn list_triage(pool: &Pool<Db>) -> Result<Vec<pumpguard_model::TriageDecision>> {
    use crate::vuln::corrupt;

    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT model, firmware, cve, status, justification, statement, decided, actor \
         FROM vuln_triage ORDER BY model, firmware, cve",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(pumpguard_model::TriageDecision {
                status: r
                    .3
                    .parse()
                    .map_err(|e: String| corrupt("vuln_triage", format!("{}: {e}", r.2)))?,
                decided: time::from_micros(r.6).ok_or_else(|| {
                    corrupt("vuln_triage", format!("{}: time {} out of range", r.2, r.6))
                })?,
                model: r.0,
                firmware: (!r.1.is_empty()).then_some(r.1),
                cve: r.2,
                justification: r.4,
                statement: r.5,
                actor: r.7,
            })
        })
        .collect()
}

pub(crate) async fn set_answer(
    pool: &Pool<Db>,
    r: &crate::assessment::AnswerRecord,
) -> Result<Option<String>> {
    use crate::assessment::answer_object;

    let (mut tx, head) = begin_write(pool).await?;
    let before: Option<(String,)> =
        sqlx::query_as("SELECT answer FROM assessment_answers WHERE question_id = $1")
            .bind(r.question_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO assessment_answers (question_id, answer, note, answered, actor) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (question_id) DO UPDATE SET \
         answer = excluded.answer, note = excluded.note, answered = excluded.answered, \
         actor = excluded.actor",
    )
    .bind(r.question_id.as_str())
    .bind(r.answer.as_str())
    .bind(r.note.as_deref())
    .bind(time::to_micros(r.answered))
    .bind(r.actor.as_str())
    .execute(&mut *tx)
    .await?;
    let before = before.map(|b| b.0);
    let mut chain = Chainer::at(head, r.answered, &r.actor);
    chain.record(
        "assess.answer",
        answer_object(&r.question_id),
        json!({"answer": r.answer, "note": r.note, "before": before}),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(before)
}

pub(crate) async fn list_answers(pool: &Pool<Db>) -> Result<Vec<crate::assessment::AnswerRecord>> {
    use crate::assessment::corrupt;

    let rows: Vec<(String, String, Option<String>, i64, String)> = sqlx::query_as(
        "SELECT question_id, answer, note, answered, actor FROM assessment_answers \
         ORDER BY question_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(question_id, answer, note, answered, actor)| {
            Ok(crate::assessment::AnswerRecord {
                answered: time::from_micros(answered).ok_or_else(|| {
                    corrupt(
                        "assessment_answers",
                        format!("{question_id}: time {answered}"),
                    )
                })?,
                question_id,
                answer,
                note,
                actor,
            })
        })
        .collect()
}

pub(crate) async fn save_evidence(
    pool: &Pool<Db>,
    actor: &str,
    records: &[crate::assessment::EvidenceRecord],
) -> Result<usize> {
    use crate::assessment::answer_object;

    let (mut tx, head) = begin_write(pool).await?;
    let stored: Vec<(String, String, String)> =
        sqlx::query_as("SELECT question_id, answer, evidence FROM assessment_evidence")
            .fetch_all(&mut *tx)
            .await?;
    let stored: HashMap<String, (String, Value)> = stored
        .into_iter()
        .map(|(q, a, e)| (q, (a, serde_json::from_str(&e).unwrap_or(Value::Null))))
        .collect();
    let mut chain = Chainer::new(head, actor);
    let mut changed = 0;
    for r in records {
        let before = stored.get(&r.question_id);
        if before.is_some_and(|(a, e)| *a == r.answer && *e == r.evidence) {
            continue;
        }
        let evidence = serde_json::to_string(&r.evidence)
            .map_err(|e| StoreError::Invalid(format!("evidence for {}: {e}", r.question_id)))?;
        sqlx::query(
            "INSERT INTO assessment_evidence (question_id, rule, answer, evidence, evaluated) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (question_id) DO UPDATE SET \
             rule = excluded.rule, answer = excluded.answer, evidence = excluded.evidence, \
             evaluated = excluded.evaluated",
        )
        .bind(r.question_id.as_str())
        .bind(r.rule.as_str())
        .bind(r.answer.as_str())
        .bind(evidence)
        .bind(time::to_micros(r.evaluated))
        .execute(&mut *tx)
        .await?;
        chain.record(
            "assess.evidence",
            answer_object(&r.question_id),
            json!({
                "rule": r.rule,
                "answer": r.answer,
                "before": before.map(|b| b.0.as_str()),
                "summary": r.evidence.get("summary"),
            }),
        );
        changed += 1;
    }
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(changed)
}

pub(crate) async fn list_evidence(
    pool: &Pool<Db>,
) -> Result<Vec<crate::assessment::EvidenceRecord>> {
    use crate::assessment::corrupt;

    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT question_id, rule, answer, evidence, evaluated FROM assessment_evidence \
         ORDER BY question_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(question_id, rule, answer, evidence, evaluated)| {
            Ok(crate::assessment::EvidenceRecord {
                evidence: serde_json::from_str(&evidence)
                    .map_err(|e| corrupt("assessment_evidence", format!("{question_id}: {e}")))?,
                evaluated: time::from_micros(evaluated).ok_or_else(|| {
                    corrupt(
                        "assessment_evidence",
                        format!("{question_id}: time {evaluated}"),
                    )
                })?,
                question_id,
                rule,
                answer,
            })
        })
        .collect()
}

pub(crate) async fn import_mds2(
    pool: &Pool<Db>,
    actor: &str,
    model: &str,
    records: &[crate::assessment::Mds2Record],
) -> Result<crate::assessment::Mds2ImportSummary> {
    let (mut tx, head) = begin_write(pool).await?;
    let replaced = sqlx::query("DELETE FROM mds2_answers WHERE model = $1")
        .bind(model)
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    let now = time::now();
    for r in records {
        sqlx::query(
            "INSERT INTO mds2_answers (model, question_id, capability, answer, gap, question, \
             note, source, document_id, imported) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(model)
        .bind(r.question_id.as_str())
        .bind(r.capability.as_str())
        .bind(r.answer.as_str())
        .bind(r.gap)
        .bind(r.question.as_str())
        .bind(r.note.as_deref())
        .bind(r.source.as_str())
        .bind(r.document_id.as_deref())
        .bind(time::to_micros(now))
        .execute(&mut *tx)
        .await?;
    }
    let gaps: Vec<String> = records
        .iter()
        .filter(|r| r.gap)
        .map(|r| r.question_id.clone())
        .collect();
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        "assess.mds2",
        format!("model:{model}"),
        json!({
            "source": records.first().map(|r| r.source.as_str()),
            "document_id": records.first().and_then(|r| r.document_id.as_deref()),
            "answers": records.len(),
            "gaps": gaps,
            "replaced": replaced,
        }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(crate::assessment::Mds2ImportSummary {
        model: model.to_owned(),
        answers: records.len(),
        gaps,
        replaced,
    })
}

pub(crate) async fn list_mds2(
    pool: &Pool<Db>,
    model: Option<&str>,
) -> Result<Vec<crate::assessment::Mds2Record>> {
    use crate::assessment::corrupt;

    type Row = (
        String,
        String,
        String,
        String,
        bool,
        String,
        Option<String>,
        String,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT model, question_id, capability, answer, gap, question, note, source, \
         document_id, imported FROM mds2_answers WHERE ($1 IS NULL OR model = $1) \
         ORDER BY model, question_id",
    )
    .bind(model)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(crate::assessment::Mds2Record {
                imported: time::from_micros(r.9).ok_or_else(|| {
                    corrupt("mds2_answers", format!("{} {}: time {}", r.0, r.1, r.9))
                })?,
                model: r.0,
                question_id: r.1,
                capability: r.2,
                answer: r.3,
                gap: r.4,
                question: r.5,
                note: r.6,
                source: r.7,
                document_id: r.8,
            })
        })
        .collect()
}

pub(crate) async fn pki_init(
    pool: &Pool<Db>,
    actor: &str,
    ca: &crate::pki::CaRecord,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let exists: Option<(String,)> = sqlx::query_as("SELECT name FROM pki_ca WHERE id = 1")
        .fetch_optional(&mut *tx)
        .await?;
    if let Some((name,)) = exists {
        return Err(StoreError::Invalid(format!(
            "a CA exists already ('{name}'); a second would orphan every certificate of the first"
        )));
    }
    sqlx::query(
        "INSERT INTO pki_ca (id, name, algorithm, root_cert, root_key, issuing_cert, \
         issuing_key, created, crl_number) VALUES (1, $1, $2, $3, $4, $5, $6, $7, 0)",
    )
    .bind(ca.name.as_str())
    .bind(ca.algorithm.as_str())
    .bind(ca.root_cert.as_str())
    .bind(ca.root_key.as_str())
    .bind(ca.issuing_cert.as_str())
    .bind(ca.issuing_key.as_str())
    .bind(time::to_micros(ca.created))
    .execute(&mut *tx)
    .await?;
    let mut chain = Chainer::at(head, ca.created, actor);
    chain.record(
        "pki.init",
        "ca".into(),
        json!({"name": ca.name, "algorithm": ca.algorithm}),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn pki_ca(pool: &Pool<Db>) -> Result<Option<crate::pki::CaRecord>> {
    type Row = (String, String, String, String, String, String, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT name, algorithm, root_cert, root_key, issuing_cert, issuing_key, created, \
         crl_number FROM pki_ca WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(crate::pki::CaRecord {
            created: time::from_micros(r.6)
                .ok_or_else(|| crate::pki::corrupt("pki_ca", format!("time {}", r.6)))?,
            name: r.0,
            algorithm: r.1,
            root_cert: r.2,
            root_key: r.3,
            issuing_cert: r.4,
            issuing_key: r.5,
            crl_number: r.7,
        })
    })
    .transpose()
}

pub(crate) async fn pki_record_issued(
    pool: &Pool<Db>,
    actor: &str,
    c: &crate::pki::CertRecord,
) -> Result<Option<Asset>> {
    let (mut tx, head) = begin_write(pool).await?;
    let mut chain = Chainer::at(head, c.issued, actor);
    let mut provisioned = None;
    if c.profile == "pump" {
        let mut stored = load_assets(&mut tx, &[c.common_name.as_str()]).await?;
        match stored.remove(c.common_name.as_str()) {
            Some(a) if a.lifecycle == Lifecycle::Retired => {
                return Err(StoreError::Invalid(format!(
                    "asset '{}' is retired: a retired asset gets no certificate",
                    c.common_name
                )));
            }
            Some(_) => {}
            None => {
                let id: pumpguard_model::AssetId = c.common_name.parse().map_err(|e| {
                    StoreError::Invalid(format!("the certificate's common name: {e}"))
                })?;
                let mut asset = Asset::new(id, AssetKind::InfusionPump, Source::Imported);
                asset.lifecycle = Lifecycle::Procured;
                upsert_assets(&mut tx, &[&asset]).await?;
                chain.record_canonical(
                    "asset.create",
                    format!("asset:{}", c.common_name),
                    create_detail(&asset, "pki.issue"),
                );
                provisioned = Some(asset);
            }
        }
    }
    sqlx::query(
        "INSERT INTO pki_certificates (serial, common_name, profile, not_before, not_after, \
         pem, issued) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.serial.as_str())
    .bind(c.common_name.as_str())
    .bind(c.profile.as_str())
    .bind(time::to_micros(c.not_before))
    .bind(time::to_micros(c.not_after))
    .bind(c.pem.as_str())
    .bind(time::to_micros(c.issued))
    .execute(&mut *tx)
    .await?;
    chain.record(
        "pki.issue",
        format!("certificate:{}", c.serial),
        json!({
            "common_name": c.common_name,
            "profile": c.profile,
            "not_after": time::rfc3339(c.not_after),
        }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(provisioned)
}

type CertRow = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

const CERT_COLUMNS: &str =
    "serial, common_name, profile, not_before, not_after, pem, issued, revoked, reason";

fn cert_from_row(r: CertRow) -> Result<crate::pki::CertRecord> {
    let at = |us: i64| {
        time::from_micros(us)
            .ok_or_else(|| crate::pki::corrupt("pki_certificates", format!("{}: time {us}", r.0)))
    };
    Ok(crate::pki::CertRecord {
        not_before: at(r.3)?,
        not_after: at(r.4)?,
        issued: at(r.6)?,
        revoked: r.7.map(at).transpose()?,
        serial: r.0.clone(),
        common_name: r.1,
        profile: r.2,
        pem: r.5,
        reason: r.8,
    })
}

pub(crate) async fn pki_certificates(pool: &Pool<Db>) -> Result<Vec<crate::pki::CertRecord>> {
    let rows: Vec<CertRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM pki_certificates ORDER BY issued DESC, serial"
    )))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(cert_from_row).collect()
}

pub(crate) async fn pki_revoke(
    pool: &Pool<Db>,
    actor: &str,
    serial: &str,
    reason: &str,
    when: pumpguard_model::time::Timestamp,
) -> Result<crate::pki::CertRecord> {
    let (mut tx, head) = begin_write(pool).await?;
    let row: Option<CertRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM pki_certificates WHERE serial = $1"
    )))
    .bind(serial)
    .fetch_optional(&mut *tx)
    .await?;
    let mut cert =
        cert_from_row(row.ok_or_else(|| StoreError::NotFound(format!("certificate {serial}")))?)?;
    if let Some(at) = cert.revoked {
        return Err(StoreError::Invalid(format!(
            "certificate {serial} was revoked already, at {}",
            time::rfc3339(at)
        )));
    }
    sqlx::query("UPDATE pki_certificates SET revoked = $1, reason = $2 WHERE serial = $3")
        .bind(time::to_micros(when))
        .bind(reason)
        .bind(serial)
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::at(head, when, actor);
    chain.record(
        "pki.revoke",
        format!("certificate:{serial}"),
        json!({"common_name": cert.common_name, "reason": reason}),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    cert.revoked = Some(when);
    cert.reason = Some(reason.to_owned());
    Ok(cert)
}

pub(crate) async fn pki_next_crl(
    pool: &Pool<Db>,
    actor: &str,
) -> Result<(i64, Vec<crate::pki::RevokedRecord>)> {
    let (mut tx, head) = begin_write(pool).await?;
    let number: Option<(i64,)> = sqlx::query_as("SELECT crl_number FROM pki_ca WHERE id = 1")
        .fetch_optional(&mut *tx)
        .await?;
    let number = number
        .ok_or_else(|| StoreError::Invalid("no CA yet: run `pumpguard pki init` first".into()))?
        .0
        + 1;
    sqlx::query("UPDATE pki_ca SET crl_number = $1 WHERE id = 1")
        .bind(number)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(String, i64, Option<String>)> = sqlx::query_as(
        "SELECT serial, revoked, reason FROM pki_certificates WHERE revoked IS NOT NULL \
         ORDER BY serial",
    )
    .fetch_all(&mut *tx)
    .await?;
    let revoked = rows
        .into_iter()
        .map(|(serial, at, reason)| {
            Ok(crate::pki::RevokedRecord {
                revoked: time::from_micros(at).ok_or_else(|| {
                    crate::pki::corrupt("pki_certificates", format!("{serial}: time {at}"))
                })?,
                serial,
                reason: reason.unwrap_or_else(|| "unspecified".into()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "pki.crl",
        "ca".into(),
        json!({"crl_number": number, "revoked": revoked.len()}),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok((number, revoked))
}

pub(crate) async fn est_user_put(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    password_hash: &str,
) -> Result<bool> {
    let (mut tx, head) = begin_write(pool).await?;
    let now = time::now();
    let existed: Option<(String,)> = sqlx::query_as("SELECT name FROM est_users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO est_users (name, password_hash, created) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
    )
    .bind(name)
    .bind(password_hash)
    .bind(time::to_micros(now))
    .execute(&mut *tx)
    .await?;
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        if existed.is_some() {
            "pki.est_user_password"
        } else {
            "pki.est_user_add"
        },
        format!("est_user:{name}"),
        json!({}),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(existed.is_none())
}

pub(crate) async fn est_user_remove(pool: &Pool<Db>, actor: &str, name: &str) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let gone = sqlx::query("DELETE FROM est_users WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(StoreError::NotFound(format!("EST user '{name}'")));
    }
    let mut chain = Chainer::new(head, actor);
    chain.record("pki.est_user_remove", format!("est_user:{name}"), json!({}));
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn est_users(pool: &Pool<Db>) -> Result<Vec<(String, String, i64)>> {
    Ok(
        sqlx::query_as("SELECT name, password_hash, created FROM est_users ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

pub(crate) async fn pki_server_key_put(
    pool: &Pool<Db>,
    serial: &str,
    names: &str,
    sealed_key: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO pki_server_keys (serial, names, key) VALUES ($1, $2, $3)")
        .bind(serial)
        .bind(names)
        .bind(sealed_key)
        .execute(pool)
        .await?;
    Ok(())
}

pub(crate) async fn pki_server_keys(
    pool: &Pool<Db>,
) -> Result<Vec<(crate::pki::CertRecord, String, String)>> {
    let cols = CERT_COLUMNS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    type Row = (
        String,
        String,
        String,
        i64,
        i64,
        String,
        i64,
        Option<i64>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {cols}, k.names, k.key FROM pki_server_keys k \
             JOIN pki_certificates c ON c.serial = k.serial ORDER BY c.not_after DESC"
    )))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let cert = cert_from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8))?;
            Ok((cert, r.9, r.10))
        })
        .collect()
}

pub(crate) async fn pki_certificate(
    pool: &Pool<Db>,
    serial: &str,
) -> Result<Option<crate::pki::CertRecord>> {
    let row: Option<CertRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CERT_COLUMNS} FROM pki_certificates WHERE serial = $1"
    )))
    .bind(serial)
    .fetch_optional(pool)
    .await?;
    row.map(cert_from_row).transpose()
}

/// Audit entries and alerts from outside the wire (the gateway's blocks), one
/// transaction.
pub(crate) async fn record_events(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    records: &[crate::AuditRecord],
    alerts: Vec<pumpguard_model::Alert>,
) -> Result<crate::SenseSummary> {
    let (mut tx, head) = begin_write(pool).await?;
    let mut chain = Chainer::new(head, actor);
    for r in records {
        chain.record(&r.action, r.object.clone(), r.detail.clone());
    }
    let mut summary = crate::SenseSummary::default();
    write_alerts(&mut tx, &mut chain, origin, alerts, &mut summary).await?;
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(summary)
}

// ---- Drug-library ledger ---------------------------------------------------------

/// Column list of `druglib_approved`, in [`approved_from_row`] order.
const APPROVED_COLUMNS: &str = "name, version, care_area, sha256, key_id, approved, approved_by";

type ApprovedRow = (String, String, String, String, String, i64, String);

fn approved_from_row(r: ApprovedRow) -> Result<crate::druglib::ApprovedLibrary> {
    Ok(crate::druglib::ApprovedLibrary {
        approved: time::from_micros(r.5).ok_or_else(|| {
            crate::pki::corrupt("druglib_approved", format!("{}: time {}", r.3, r.5))
        })?,
        name: r.0,
        version: r.1,
        care_area: r.2,
        sha256: r.3,
        key_id: r.4,
        approved_by: r.6,
    })
}

async fn load_approved(tx: &mut Tx) -> Result<Vec<crate::druglib::ApprovedLibrary>> {
    let rows: Vec<ApprovedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPROVED_COLUMNS} FROM druglib_approved ORDER BY approved, sha256"
    )))
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(approved_from_row).collect()
}

pub(crate) async fn druglib_approve(
    pool: &Pool<Db>,
    actor: &str,
    lib: &crate::druglib::LibraryApproval,
) -> Result<(crate::druglib::ApprovedLibrary, bool)> {
    let (mut tx, head) = begin_write(pool).await?;
    let stored: Option<ApprovedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPROVED_COLUMNS} FROM druglib_approved WHERE sha256 = $1"
    )))
    .bind(lib.sha256.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = stored {
        tx.rollback().await?;
        return Ok((approved_from_row(row)?, false));
    }
    let now = time::now();
    sqlx::query(
        "INSERT INTO druglib_approved (sha256, name, version, care_area, key_id, approved, \
         approved_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(lib.sha256.as_str())
    .bind(lib.name.as_str())
    .bind(lib.version.as_str())
    .bind(lib.care_area.as_str())
    .bind(lib.key_id.as_str())
    .bind(time::to_micros(now))
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    let mut chain = Chainer::at(head, now, actor);
    chain.record(
        "druglib.approve",
        format!("druglib:{}", lib.sha256),
        json!({
            "name": lib.name,
            "version": lib.version,
            "care_area": lib.care_area,
            "key_id": lib.key_id,
        }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok((
        crate::druglib::ApprovedLibrary {
            name: lib.name.clone(),
            version: lib.version.clone(),
            care_area: lib.care_area.clone(),
            sha256: lib.sha256.clone(),
            key_id: lib.key_id.clone(),
            approved: now,
            approved_by: actor.to_owned(),
        },
        true,
    ))
}

pub(crate) async fn druglib_approved(
    pool: &Pool<Db>,
) -> Result<Vec<crate::druglib::ApprovedLibrary>> {
    let rows: Vec<ApprovedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {APPROVED_COLUMNS} FROM druglib_approved ORDER BY approved, sha256"
    )))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(approved_from_row).collect()
}

/// Rows per statement of ledger writes (9 binds each).
const LEDGER_CHUNK: usize = 500;

/// One `druglib_reports` row to add.
struct LedgerWrite {
    asset_id: String,
    /// `asset_id` is an inventory asset's (else the pump's address, MAC or device id).
    tied: bool,
    version: String,
    care_area: Option<String>,
    device: Option<String>,
    reporter: Option<String>,
    first_seen: i64,
    last_seen: i64,
    count: i64,
}

pub(crate) async fn record_druglib_reports(
    pool: &Pool<Db>,
    actor: &str,
    origin: &str,
    reports: &[crate::druglib::LibraryReport],
) -> Result<crate::druglib::DruglibSummary> {
    let (mut tx, head) = begin_write(pool).await?;
    let mut chain = Chainer::new(head, actor);
    let summary = record_druglib_in(&mut tx, &mut chain, origin, reports).await?;
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(summary)
}

/// `record_druglib_reports` inside the caller's write transaction.
async fn record_druglib_in(
    tx: &mut Tx,
    chain: &mut Chainer,
    origin: &str,
    reports: &[crate::druglib::LibraryReport],
) -> Result<crate::druglib::DruglibSummary> {
    use crate::druglib::{approved_match, unknown_version_alert};
    let (min, max) = match DIALECT {
        crate::Dialect::Sqlite => ("MIN", "MAX"),
        crate::Dialect::Postgres => ("LEAST", "GREATEST"),
    };

    let ends: Vec<Option<&pumpguard_model::Endpoint>> = reports
        .iter()
        .flat_map(|r| {
            let pump = (r.pump.ip.is_some() || r.pump.mac.is_some()).then_some(&r.pump);
            [pump, Some(&r.reporter)]
        })
        .collect();
    let tied = tie_endpoints(tx, &HashMap::new(), &ends).await?;
    let fallback = |e: &pumpguard_model::Endpoint| {
        Some(crate::alerts::end_key(None, Some(e))).filter(|k| !k.is_empty())
    };

    // One row per (pump, version): reports of one pump under two of its ends add up.
    let mut order: Vec<(String, String)> = Vec::new();
    let mut rows: HashMap<(String, String), LedgerWrite> = HashMap::new();
    // Each report's pump (asset id and criticality, when tied) and reporter.
    type Ends = (
        Option<(String, pumpguard_model::Criticality)>,
        Option<String>,
    );
    let mut subjects: Vec<Ends> = Vec::with_capacity(reports.len());
    for (r, ends) in reports.iter().zip(tied.chunks(2)) {
        let subject = ends.first().cloned().flatten();
        let reporter = ends
            .get(1)
            .cloned()
            .flatten()
            .map(|(id, _)| id)
            .or_else(|| fallback(&r.reporter));
        let asset_id = subject
            .as_ref()
            .map(|(id, _)| id.clone())
            .or_else(|| fallback(&r.pump))
            .or_else(|| r.device.clone())
            .unwrap_or_default();
        subjects.push((subject, reporter.clone()));
        let key = (asset_id.clone(), r.version.trim().to_owned());
        let first = time::to_micros(r.first_seen);
        let last = time::to_micros(r.last_seen);
        let count = i64::try_from(r.count).unwrap_or(i64::MAX);
        match rows.get_mut(&key) {
            Some(w) => {
                w.tied |= subjects.last().is_some_and(|(s, _)| s.is_some());
                w.first_seen = w.first_seen.min(first);
                if last >= w.last_seen {
                    w.last_seen = last;
                    w.reporter = reporter.or(w.reporter.take());
                }
                w.count = w.count.saturating_add(count);
                if r.care_area.is_some() {
                    w.care_area.clone_from(&r.care_area);
                }
                if w.device.is_none() {
                    w.device.clone_from(&r.device);
                }
            }
            None => {
                order.push(key.clone());
                rows.insert(
                    key,
                    LedgerWrite {
                        tied: subjects.last().is_some_and(|(s, _)| s.is_some()),
                        asset_id,
                        version: r.version.trim().to_owned(),
                        care_area: r.care_area.clone(),
                        device: r.device.clone(),
                        reporter,
                        first_seen: first,
                        last_seen: last,
                        count,
                    },
                );
            }
        }
    }

    // Which (pump, version) pairs the ledger holds already.
    let mut ids: Vec<&str> = order.iter().map(|(a, _)| a.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut known: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for chunk in ids.chunks(LEDGER_CHUNK) {
        let sql = format!(
            "SELECT asset_id, version FROM druglib_reports WHERE asset_id IN {}",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        known.extend(q.fetch_all(&mut **tx).await?);
    }

    let writes: Vec<&LedgerWrite> = order.iter().filter_map(|k| rows.get(k)).collect();
    let set = format!(
        "care_area = COALESCE(excluded.care_area, druglib_reports.care_area), \
         device = COALESCE(excluded.device, druglib_reports.device), \
         reporter = CASE WHEN excluded.last_seen >= druglib_reports.last_seen \
             THEN COALESCE(excluded.reporter, druglib_reports.reporter) \
             ELSE COALESCE(druglib_reports.reporter, excluded.reporter) END, \
         first_seen = {min}(druglib_reports.first_seen, excluded.first_seen), \
         last_seen = {max}(druglib_reports.last_seen, excluded.last_seen), \
         count = druglib_reports.count + excluded.count"
    );
    for chunk in writes.chunks(LEDGER_CHUNK) {
        let sql = format!(
            "INSERT INTO druglib_reports (asset_id, version, care_area, device, reporter, \
             first_seen, last_seen, count) VALUES {} \
             ON CONFLICT (asset_id, version) DO UPDATE SET {set}",
            crate::rows::values_placeholders(DIALECT, chunk.len(), 8)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for w in chunk {
            q = q
                .bind(w.asset_id.as_str())
                .bind(w.version.as_str())
                .bind(w.care_area.clone())
                .bind(w.device.clone())
                .bind(w.reporter.clone())
                .bind(w.first_seen)
                .bind(w.last_seen)
                .bind(w.count);
        }
        q.execute(&mut **tx).await?;
    }

    let approved = load_approved(tx).await?;
    let mut summary = crate::druglib::DruglibSummary {
        reports: writes.len() as u64,
        ..Default::default()
    };
    for w in &writes {
        if known.contains(&(w.asset_id.clone(), w.version.clone())) {
            continue;
        }
        summary.new_versions += 1;
        let lib = approved_match(&w.version, &approved);
        let object = if w.tied {
            format!("asset:{}", w.asset_id)
        } else {
            format!("druglib_report:{}", w.asset_id)
        };
        chain.record(
            "druglib.report",
            object,
            json!({
                "version": w.version,
                "care_area": w.care_area,
                "reporter": w.reporter,
                // Unknown while no library is approved.
                "approved": (!approved.is_empty()).then_some(lib.is_some()),
                "library_sha256": lib.map(|l| l.sha256.as_str()),
                "origin": origin,
            }),
        );
    }

    // With no approved library nothing is known to be unapproved: no alert.
    let mut alerts: Vec<pumpguard_model::Alert> = Vec::new();
    if !approved.is_empty() {
        for (r, (subject, reporter)) in reports.iter().zip(subjects) {
            if approved_match(&r.version, &approved).is_some() {
                continue;
            }
            if subject.is_none() && r.pump.ip.is_none() && r.pump.mac.is_none() {
                // Named only by a device identifier: no end to hang an alert on.
                continue;
            }
            alerts.push(unknown_version_alert(
                r,
                subject,
                reporter.as_deref(),
                &approved,
            ));
        }
    }
    let mut sensed = crate::SenseSummary::default();
    write_alerts(tx, chain, origin, alerts, &mut sensed).await?;
    summary.alerts_raised = sensed.alerts_raised;
    summary.alerts_updated = sensed.alerts_updated;
    summary.alert_ids = sensed.alert_ids;
    Ok(summary)
}

pub(crate) async fn druglib_ledger(
    pool: &Pool<Db>,
) -> Result<(
    Vec<crate::druglib::ApprovedLibrary>,
    Vec<crate::druglib::LedgerRow>,
)> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i64,
        i64,
    );
    let mut tx = pool.begin_with(DIALECT.begin_read()).await?;
    let approved = load_approved(&mut tx).await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT asset_id, version, care_area, device, reporter, first_seen, last_seen, count \
         FROM druglib_reports ORDER BY asset_id, version",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let at = |us: i64| {
                time::from_micros(us).ok_or_else(|| {
                    crate::pki::corrupt("druglib_reports", format!("{} {}: time {us}", r.0, r.1))
                })
            };
            Ok(crate::druglib::LedgerRow {
                first_seen: at(r.5)?,
                last_seen: at(r.6)?,
                count: u64::try_from(r.7).unwrap_or(0),
                asset_id: r.0,
                version: r.1,
                care_area: r.2,
                device: r.3,
                reporter: r.4,
                approved: false,
                library_sha256: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((approved, rows))
}

pub(crate) async fn pki_revoked_serials(pool: &Pool<Db>) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT serial FROM pki_certificates WHERE revoked IS NOT NULL ORDER BY serial",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

pub(crate) async fn est_user(pool: &Pool<Db>, name: &str) -> Result<Option<(String, String, i64)>> {
    Ok(
        sqlx::query_as("SELECT name, password_hash, created FROM est_users WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?,
    )
}

// ---- Users, tokens and sessions ---------------------------------------------------

const USER_COLUMNS: &str = "name, password_hash, role, created";
const TOKEN_COLUMNS: &str =
    "id, secret_hash, username, kind, label, csrf, created, expires, revoked";

pub(crate) async fn user_add(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    password_hash: &str,
    role: &str,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let existed: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if existed.is_some() {
        return Err(StoreError::Invalid(format!("user '{name}' exists")));
    }
    sqlx::query("INSERT INTO users (name, password_hash, role, created) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(password_hash)
        .bind(role)
        .bind(time::to_micros(time::now()))
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::new(head, actor);
    chain.record("user.add", format!("user:{name}"), json!({ "role": role }));
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

/// The user's current role, inside a write transaction; not found is refused.
async fn user_role_in(tx: &mut Tx, name: &str) -> Result<String> {
    let row: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|(r,)| r)
        .ok_or_else(|| StoreError::NotFound(format!("user '{name}'")))
}

pub(crate) async fn user_set_role(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    role: &str,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let old = user_role_in(&mut tx, name).await?;
    if old == role {
        return Ok(());
    }
    sqlx::query("UPDATE users SET role = $1 WHERE name = $2")
        .bind(role)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "user.role",
        format!("user:{name}"),
        json!({ "role": { "from": old, "to": role } }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn user_set_password(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    password_hash: &str,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    user_role_in(&mut tx, name).await?;
    let now = time::to_micros(time::now());
    sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let revoked =
        sqlx::query("UPDATE user_tokens SET revoked = $1 WHERE username = $2 AND revoked IS NULL")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "user.password",
        format!("user:{name}"),
        json!({ "tokens_revoked": revoked }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn user_remove(pool: &Pool<Db>, actor: &str, name: &str) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let role = user_role_in(&mut tx, name).await?;
    sqlx::query("DELETE FROM user_tokens WHERE username = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM users WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "user.remove",
        format!("user:{name}"),
        json!({ "role": role }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn users(pool: &Pool<Db>) -> Result<Vec<crate::users::UserRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name"
    )))
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn user(pool: &Pool<Db>, name: &str) -> Result<Option<crate::users::UserRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

pub(crate) async fn token_issue(
    pool: &Pool<Db>,
    actor: &str,
    t: &crate::users::TokenRecord,
    detail: Value,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    user_role_in(&mut tx, &t.username).await?;
    sqlx::query(
        "INSERT INTO user_tokens (id, secret_hash, username, kind, label, csrf, created, expires) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&t.id)
    .bind(&t.secret_hash)
    .bind(&t.username)
    .bind(&t.kind)
    .bind(&t.label)
    .bind(&t.csrf)
    .bind(time::to_micros(t.created))
    .bind(time::to_micros(t.expires))
    .execute(&mut *tx)
    .await?;
    let mut detail = detail;
    if let Value::Object(map) = &mut detail {
        map.insert("token".into(), json!(t.id));
        map.insert("kind".into(), json!(t.kind));
        map.insert("expires".into(), json!(time::rfc3339(t.expires)));
    }
    let mut chain = Chainer::new(head, actor);
    chain.record("auth.login", format!("user:{}", t.username), detail);
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn token_lookup(
    pool: &Pool<Db>,
    secret_hash: &str,
) -> Result<Option<(crate::users::TokenRow, crate::users::UserRow)>> {
    let row: Option<crate::users::TokenUserRow> = sqlx::query_as(
        "SELECT t.id, t.secret_hash, t.username, t.kind, t.label, t.csrf, t.created, \
             t.expires, t.revoked, u.name, u.password_hash, u.role, u.created \
             FROM user_tokens t JOIN users u ON u.name = t.username \
             WHERE t.secret_hash = $1 AND t.revoked IS NULL",
    )
    .bind(secret_hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        (
            (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8),
            (r.9, r.10, r.11, r.12),
        )
    }))
}

pub(crate) async fn tokens(pool: &Pool<Db>, username: &str) -> Result<Vec<crate::users::TokenRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TOKEN_COLUMNS} FROM user_tokens WHERE username = $1 ORDER BY created DESC, id DESC"
    )))
    .bind(username)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn token_revoke(
    pool: &Pool<Db>,
    actor: &str,
    id: &str,
) -> Result<crate::users::TokenRow> {
    let (mut tx, head) = begin_write(pool).await?;
    let row: Option<crate::users::TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {TOKEN_COLUMNS} FROM user_tokens WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut row) = row else {
        return Err(StoreError::NotFound(format!("token '{id}'")));
    };
    if row.8.is_some() {
        return Err(StoreError::Invalid(format!(
            "token '{id}' is already revoked"
        )));
    }
    let now = time::to_micros(time::now());
    sqlx::query("UPDATE user_tokens SET revoked = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    row.8 = Some(now);
    let mut chain = Chainer::new(head, actor);
    chain.record(
        "auth.revoke",
        format!("user:{}", row.2),
        json!({ "token": id, "kind": row.3 }),
    );
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(row)
}

// ---- Counts for monitoring ----------------------------------------------------------

pub(crate) async fn counts(pool: &Pool<Db>) -> Result<crate::users::Counts> {
    let assets: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM assets GROUP BY kind ORDER BY kind")
            .fetch_all(pool)
            .await?;
    let (flows, packets, bytes): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), \
         CAST(COALESCE(SUM(packets_to_server + packets_to_client), 0) AS BIGINT), \
         CAST(COALESCE(SUM(bytes_to_server + bytes_to_client), 0) AS BIGINT) FROM flows",
    )
    .fetch_one(pool)
    .await?;
    let alerts: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT severity, status, COUNT(*) FROM alerts GROUP BY severity, status \
         ORDER BY severity, status",
    )
    .fetch_all(pool)
    .await?;
    let (audit_entries,): (i64,) = sqlx::query_as("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok(crate::users::Counts {
        assets,
        flows,
        packets,
        bytes,
        alerts,
        audit_entries,
    })
}

pub(crate) async fn sensor_add(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    nats_password_hash: &str,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let existed: Option<(String,)> = sqlx::query_as("SELECT name FROM sensors WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if existed.is_some() {
        return Err(StoreError::Invalid(format!("sensor '{name}' exists")));
    }
    sqlx::query("INSERT INTO sensors (name, created, nats_password_hash) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(time::to_micros(time::now()))
        .bind(nats_password_hash)
        .execute(&mut *tx)
        .await?;
    let mut chain = Chainer::new(head, actor);
    chain.record("sensor.add", format!("sensor:{name}"), json!({}));
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn sensor_set_password(
    pool: &Pool<Db>,
    actor: &str,
    name: &str,
    nats_password_hash: &str,
) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let done = sqlx::query("UPDATE sensors SET nats_password_hash = $2 WHERE name = $1")
        .bind(name)
        .bind(nats_password_hash)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("sensor '{name}'")));
    }
    let mut chain = Chainer::new(head, actor);
    chain.record("sensor.password", format!("sensor:{name}"), json!({}));
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn sensor_remove(pool: &Pool<Db>, actor: &str, name: &str) -> Result<()> {
    let (mut tx, head) = begin_write(pool).await?;
    let done = sqlx::query("DELETE FROM sensors WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("sensor '{name}'")));
    }
    let mut chain = Chainer::new(head, actor);
    chain.record("sensor.remove", format!("sensor:{name}"), json!({}));
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn sensors(pool: &Pool<Db>) -> Result<Vec<crate::fleet::SensorRow>> {
    let sql = format!(
        "SELECT {} FROM sensors ORDER BY name",
        crate::fleet::SENSOR_COLUMNS
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?)
}

pub(crate) async fn ingest(
    pool: &Pool<Db>,
    actor: &str,
    messages: &[crate::fleet::SensorMessage],
) -> Result<crate::fleet::IngestSummary> {
    use std::collections::HashSet;

    use crate::fleet::{IngestSummary, MESSAGE_ID_RETENTION_DAYS, SensorMessage, Verdict};

    let (mut tx, head) = begin_write(pool).await?;
    let mut chain = Chainer::new(head, actor);
    let now = time::to_micros(time::now());
    let known: HashSet<String> = sqlx::query_as::<_, (String,)>("SELECT name FROM sensors")
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(n,)| n)
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT msg_id FROM sensor_messages WHERE msg_id IN {}",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        seen.extend(q.fetch_all(&mut *tx).await?.into_iter().map(|(id,)| id));
    }

    let mut summary = IngestSummary::default();
    // The fresh messages per sensor, sensors in order of first appearance.
    let mut groups: Vec<(&str, Vec<&SensorMessage>)> = Vec::new();
    for m in messages {
        let verdict = if !known.contains(&m.sensor) {
            Verdict::Rejected(format!("unknown sensor '{}'", m.sensor))
        } else if !seen.insert(m.id.clone()) {
            Verdict::Duplicate
        } else if let Err(e) = crate::alerts::check_detections(&m.detections)
            .and_then(|()| crate::druglib::check_reports(&m.druglib))
        {
            Verdict::Rejected(e.to_string())
        } else {
            match groups.iter_mut().find(|(s, _)| *s == m.sensor) {
                Some((_, ms)) => ms.push(m),
                None => groups.push((m.sensor.as_str(), vec![m])),
            }
            Verdict::Applied
        };
        summary.verdicts.push(verdict);
    }

    for (sensor, ms) in &groups {
        let origin = format!("sensor:{sensor}");
        let sightings: Vec<_> = ms.iter().flat_map(|m| m.sightings.iter().cloned()).collect();
        let flows: Vec<_> = ms.iter().flat_map(|m| m.flows.iter().cloned()).collect();
        let detections: Vec<_> = ms
            .iter()
            .flat_map(|m| m.detections.iter().cloned())
            .collect();
        let druglib: Vec<_> = ms.iter().flat_map(|m| m.druglib.iter().cloned()).collect();
        let s = record_sense_in(&mut tx, &mut chain, &origin, &sightings, &flows, &detections)
            .await?;
        summary.sense.assets_created += s.assets_created;
        summary.sense.assets_updated += s.assets_updated;
        summary.sense.flows += s.flows;
        summary.sense.evidence += s.evidence;
        summary.sense.alerts_raised += s.alerts_raised;
        summary.sense.alerts_updated += s.alerts_updated;
        summary.sense.alert_ids.extend(s.alert_ids);
        if !druglib.is_empty() {
            let d = record_druglib_in(&mut tx, &mut chain, &origin, &druglib).await?;
            summary.druglib.reports += d.reports;
            summary.druglib.new_versions += d.new_versions;
            summary.druglib.alerts_raised += d.alerts_raised;
            summary.druglib.alerts_updated += d.alerts_updated;
            summary.druglib.alert_ids.extend(d.alert_ids);
        }
        for chunk in ms.chunks(CHUNK / 4) {
            let sql = format!(
                "INSERT INTO sensor_messages (msg_id, sensor, ingested) VALUES {}",
                crate::rows::values_placeholders(DIALECT, chunk.len(), 3)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for m in chunk {
                q = q.bind(m.id.as_str()).bind(*sensor).bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        let Some(newest) = ms.iter().max_by_key(|m| m.sent) else {
            continue;
        };
        let sent = time::to_micros(newest.sent);
        let observations: u64 = ms.iter().map(|m| m.observations()).sum();
        summary.observations += observations;
        sqlx::query(
            "UPDATE sensors SET last_contact = $2, \
             last_run = CASE WHEN last_sent IS NULL OR last_sent <= $3 THEN $4 ELSE last_run END, \
             last_sent = CASE WHEN last_sent IS NULL OR last_sent < $3 THEN $3 ELSE last_sent END, \
             lag_us = $2 - $3, messages = messages + $5, observations = observations + $6 \
             WHERE name = $1",
        )
        .bind(*sensor)
        .bind(now)
        .bind(sent)
        .bind(newest.run.as_str())
        .bind(ms.len() as i64)
        .bind(observations as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM sensor_messages WHERE ingested < $1")
        .bind(now - MESSAGE_ID_RETENTION_DAYS * 86_400_000_000)
        .execute(&mut *tx)
        .await?;
    append(&mut tx, &chain.entries).await?;
    tx.commit().await?;
    Ok(summary)
}
