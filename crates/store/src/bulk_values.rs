// Bulk writes as multi-row `VALUES` lists (SQLite). `include!`d into the SQLite backend
// module after `ops.rs`; `bulk_unnest.rs` is the PostgreSQL counterpart.

/// Inserts entries; the caller moves the head (see [`append`]).
async fn insert_entries(tx: &mut Tx, entries: &[Sealed]) -> Result<()> {
    for chunk in entries.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO audit_log ({ENTRY_COLUMNS}) VALUES {}",
            crate::rows::values_placeholders(DIALECT, chunk.len(), crate::rows::ENTRY_COLUMN_COUNT)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.seq as i64)
                .bind(time::to_micros(e.time))
                .bind(e.actor.as_str())
                .bind(e.action.as_str())
                .bind(e.object.as_str())
                .bind(e.detail.as_str())
                .bind(e.prev_hash.as_str())
                .bind(e.hash.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Creates or replaces assets by asset_id.
async fn upsert_assets(tx: &mut Tx, assets: &[&Asset]) -> Result<()> {
    for chunk in assets.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO assets ({ASSET_COLUMNS}) VALUES {} ON CONFLICT (asset_id) DO UPDATE SET {ASSET_UPSERT_SET}",
            crate::rows::values_placeholders(DIALECT, chunk.len(), crate::rows::ASSET_COLUMN_COUNT)
        );
        let ips: Vec<String> = chunk
            .iter()
            .map(|a| serde_json::to_string(&a.ips).unwrap_or_else(|_| "[]".into()))
            .collect();
        let macs: Vec<Option<String>> =
            chunk.iter().map(|a| a.mac.map(|m| m.to_string())).collect();
        // Binds borrow the assets: no copy of each text before sqlx copies it.
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((a, ips), mac) in chunk.iter().zip(&ips).zip(&macs) {
            q = q
                .bind(a.asset_id.as_str())
                .bind(a.kind.as_str())
                .bind(a.vendor.as_deref())
                .bind(a.model.as_deref())
                .bind(a.firmware.as_deref())
                .bind(a.serial.as_deref())
                .bind(mac.as_deref())
                .bind(ips.as_str())
                .bind(a.hostname.as_deref())
                .bind(a.location.as_deref())
                .bind(a.zone.as_deref())
                .bind(a.criticality.as_str())
                .bind(a.lifecycle.as_str())
                .bind(a.first_seen.map(time::to_micros))
                .bind(a.last_seen.map(time::to_micros))
                .bind(a.source.as_str());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The stored assets among `ids`, by id.
async fn load_assets(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Asset>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id IN {}",
            crate::rows::values_placeholders(DIALECT, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(&mut **tx).await? {
            let a = asset_from_row(row)?;
            out.insert(a.asset_id.as_str().to_owned(), a);
        }
    }
    Ok(out)
}

const FLOW_COLUMN_COUNT: usize = 18;

/// Adds flow counters by 5-tuple (rows unique by key within the call).
async fn upsert_flows(tx: &mut Tx, flows: &[&FlowRow<'_>]) -> Result<()> {
    let set = flow_upsert_set();
    // As many rows as SQLite's 32,766 binds allow: each statement journals the index
    // pages it touches afresh, so fewer, larger statements copy fewer pages.
    for chunk in flows.chunks(32_766 / FLOW_COLUMN_COUNT) {
        let sql = format!(
            "INSERT INTO flows ({FLOW_COLUMNS}) VALUES {} ON CONFLICT (flow_key) DO UPDATE SET {set}",
            crate::rows::values_placeholders(DIALECT, chunk.len(), FLOW_COLUMN_COUNT)
        );
        // The argument list is sized once: grown by doubling, its copies and fresh pages
        // were a third of the time spent building it.
        let mut args = sqlx::sqlite::SqliteArguments::default();
        sqlx::Arguments::reserve(&mut args, chunk.len() * FLOW_COLUMN_COUNT, 0);
        for (key, f) in chunk {
            bind_flow(&mut args, key, f).map_err(sqlx::Error::Encode)?;
        }
        sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One `flows` row's arguments, in `FLOW_COLUMNS` order.
fn bind_flow(
    args: &mut sqlx::sqlite::SqliteArguments,
    key: &str,
    f: &pumpguard_model::FlowRecord,
) -> std::result::Result<(), sqlx::error::BoxDynError> {
    use sqlx::Arguments;
    args.add(key)?;
    args.add(f.proto.as_str())?;
    args.add(pumpguard_model::ip_text(f.client_ip))?;
    args.add(i32::from(f.client_port))?;
    args.add(pumpguard_model::ip_text(f.server_ip))?;
    args.add(i32::from(f.server_port))?;
    args.add(f.client_mac.map(|m| m.to_string()))?;
    args.add(f.server_mac.map(|m| m.to_string()))?;
    args.add(f.vlan.map(i32::from))?;
    args.add(f.app.as_str())?;
    args.add(f.packets_to_server as i64)?;
    args.add(f.packets_to_client as i64)?;
    args.add(f.bytes_to_server as i64)?;
    args.add(f.bytes_to_client as i64)?;
    args.add(time::to_micros(f.first_seen))?;
    args.add(time::to_micros(f.last_seen))?;
    args.add(f.sessions as i64)?;
    args.add(f.tcp_state.as_str())
}

/// Adds evidence rows (unique by key within the call).
async fn upsert_evidence(tx: &mut Tx, rows: &[EvidenceRow]) -> Result<()> {
    let set = evidence_upsert_set();
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO observations (asset_id, field, value, source, confidence, first_seen, \
             last_seen, count) VALUES {} ON CONFLICT (asset_id, field, value, source) DO UPDATE SET {set}",
            crate::rows::values_placeholders(DIALECT, chunk.len(), 8)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.asset_id.as_str())
                .bind(r.e.field.as_str())
                .bind(r.e.value.as_str())
                .bind(r.e.source.as_str())
                .bind(i64::from(r.e.confidence))
                .bind(time::to_micros(r.e.first_seen))
                .bind(time::to_micros(r.e.last_seen))
                .bind(r.e.count as i64);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

const ALERT_WRITE_COLUMN_COUNT: usize = 17;

/// Inserts alerts or replaces them by dedup key; returns each key's alert id.
async fn upsert_alerts(tx: &mut Tx, rows: &[AlertWrite]) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO alerts ({ALERT_WRITE_COLUMNS}) VALUES {} ON CONFLICT (dedup_key) \
             DO UPDATE SET {ALERT_UPSERT_SET} RETURNING dedup_key, alert_id",
            crate::rows::values_placeholders(DIALECT, chunk.len(), ALERT_WRITE_COLUMN_COUNT)
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
        for r in chunk {
            let a = &r.alert;
            let peer = a.peer.as_ref();
            q = q
                .bind(r.key.as_str())
                .bind(a.kind.as_str())
                .bind(a.severity.as_str())
                .bind(a.status.as_str())
                .bind(a.asset_id.as_deref())
                .bind(a.peer_asset_id.as_deref())
                .bind(a.subject.ip.map(|ip| ip.to_string()))
                .bind(a.subject.mac.map(|m| m.to_string()))
                .bind(peer.and_then(|p| p.ip).map(|ip| ip.to_string()))
                .bind(peer.and_then(|p| p.mac).map(|m| m.to_string()))
                .bind(a.proto.as_str())
                .bind(a.port.map(i32::from))
                .bind(time::to_micros(a.first_seen))
                .bind(time::to_micros(a.last_seen))
                .bind(i64::try_from(a.count).unwrap_or(i64::MAX))
                .bind(r.evidence.as_str())
                .bind(a.action.as_str());
        }
        ids.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(ids)
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
