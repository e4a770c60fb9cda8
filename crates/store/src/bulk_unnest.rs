// Bulk writes as `UNNEST` of one array per column (PostgreSQL). `include!`d into the
// PostgreSQL backend module after `ops.rs`. A multi-row `VALUES` list of 500 rows × 16
// binds made the server plan an 8,000-parameter statement per chunk (100,000 assets
// took 11 s); 16 array parameters plan once and run as a set.

/// Inserts entries; the caller moves the head (see [`append`]).
async fn insert_entries(tx: &mut Tx, entries: &[Sealed]) -> Result<()> {
    for chunk in entries.chunks(CHUNK) {
        let col = |f: fn(&Sealed) -> &str| {
            chunk
                .iter()
                .map(|e| f(e).to_owned())
                .collect::<Vec<String>>()
        };
        sqlx::query(
            "INSERT INTO audit_log (seq, time, actor, action, object, detail, prev_hash, hash) \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(chunk.iter().map(|e| e.seq as i64).collect::<Vec<i64>>())
        .bind(
            chunk
                .iter()
                .map(|e| time::to_micros(e.time))
                .collect::<Vec<i64>>(),
        )
        .bind(col(|e| &e.actor))
        .bind(col(|e| &e.action))
        .bind(col(|e| &e.object))
        .bind(col(|e| &e.detail))
        .bind(col(|e| &e.prev_hash))
        .bind(col(|e| &e.hash))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Creates or replaces assets by asset_id.
async fn upsert_assets(tx: &mut Tx, assets: &[&Asset]) -> Result<()> {
    for chunk in assets.chunks(CHUNK) {
        let text = |f: fn(&Asset) -> String| chunk.iter().map(|a| f(a)).collect::<Vec<String>>();
        let opt = |f: fn(&Asset) -> Option<String>| {
            chunk.iter().map(|a| f(a)).collect::<Vec<Option<String>>>()
        };
        let micros =
            |f: fn(&Asset) -> Option<i64>| chunk.iter().map(|a| f(a)).collect::<Vec<Option<i64>>>();
        let sql = format!(
            "INSERT INTO assets ({ASSET_COLUMNS}) SELECT * FROM UNNEST($1::text[], $2::text[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], \
             $16::text[]) ON CONFLICT (asset_id) DO UPDATE SET {ASSET_UPSERT_SET}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(text(|a| a.asset_id.to_string()))
            .bind(text(|a| a.kind.as_str().to_owned()))
            .bind(opt(|a| a.vendor.clone()))
            .bind(opt(|a| a.model.clone()))
            .bind(opt(|a| a.firmware.clone()))
            .bind(opt(|a| a.serial.clone()))
            .bind(opt(|a| a.mac.map(|m| m.to_string())))
            .bind(text(|a| {
                serde_json::to_string(&a.ips).unwrap_or_else(|_| "[]".into())
            }))
            .bind(opt(|a| a.hostname.clone()))
            .bind(opt(|a| a.location.clone()))
            .bind(opt(|a| a.zone.clone()))
            .bind(text(|a| a.criticality.as_str().to_owned()))
            .bind(text(|a| a.lifecycle.as_str().to_owned()))
            .bind(micros(|a| a.first_seen.map(time::to_micros)))
            .bind(micros(|a| a.last_seen.map(time::to_micros)))
            .bind(text(|a| a.source.as_str().to_owned()))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The stored assets among `ids`, by id.
async fn load_assets(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Asset>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id IN (SELECT unnest($1::text[]))");
        let ids: Vec<String> = chunk.iter().map(|id| id.to_string()).collect();
        let rows = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&mut **tx)
            .await?;
        for row in rows {
            let a = asset_from_row(row)?;
            out.insert(a.asset_id.as_str().to_owned(), a);
        }
    }
    Ok(out)
}

/// Adds flow counters by 5-tuple (rows unique by key within the call).
async fn upsert_flows(tx: &mut Tx, flows: &[&FlowRow<'_>]) -> Result<()> {
    let set = flow_upsert_set();
    for chunk in flows.chunks(CHUNK) {
        let text = |f: &dyn Fn(&FlowRow<'_>) -> String| {
            chunk.iter().map(|r| f(r)).collect::<Vec<String>>()
        };
        let opt = |f: &dyn Fn(&FlowRow<'_>) -> Option<String>| {
            chunk.iter().map(|r| f(r)).collect::<Vec<Option<String>>>()
        };
        let int = |f: &dyn Fn(&FlowRow<'_>) -> i64| {
            chunk.iter().map(|r| f(r)).collect::<Vec<i64>>()
        };
        let sql = format!(
            "INSERT INTO flows ({FLOW_COLUMNS}) SELECT * FROM UNNEST($1::text[], $2::text[], \
             $3::text[], $4::int[], $5::text[], $6::int[], $7::text[], $8::text[], $9::int[], \
             $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], \
             $15::bigint[], $16::bigint[], $17::bigint[], $18::text[]) \
             ON CONFLICT (flow_key) DO UPDATE SET {set}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(text(&|(k, _)| k.clone()))
            .bind(text(&|(_, f)| f.proto.clone()))
            .bind(text(&|(_, f)| pumpguard_model::ip_text(f.client_ip)))
            .bind(
                chunk
                    .iter()
                    .map(|(_, f)| i32::from(f.client_port))
                    .collect::<Vec<i32>>(),
            )
            .bind(text(&|(_, f)| pumpguard_model::ip_text(f.server_ip)))
            .bind(
                chunk
                    .iter()
                    .map(|(_, f)| i32::from(f.server_port))
                    .collect::<Vec<i32>>(),
            )
            .bind(opt(&|(_, f)| f.client_mac.map(|m| m.to_string())))
            .bind(opt(&|(_, f)| f.server_mac.map(|m| m.to_string())))
            .bind(
                chunk
                    .iter()
                    .map(|(_, f)| f.vlan.map(i32::from))
                    .collect::<Vec<Option<i32>>>(),
            )
            .bind(text(&|(_, f)| f.app.clone()))
            .bind(int(&|(_, f)| f.packets_to_server as i64))
            .bind(int(&|(_, f)| f.packets_to_client as i64))
            .bind(int(&|(_, f)| f.bytes_to_server as i64))
            .bind(int(&|(_, f)| f.bytes_to_client as i64))
            .bind(int(&|(_, f)| time::to_micros(f.first_seen)))
            .bind(int(&|(_, f)| time::to_micros(f.last_seen)))
            .bind(int(&|(_, f)| f.sessions as i64))
            .bind(text(&|(_, f)| f.tcp_state.clone()))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Adds evidence rows (unique by key within the call).
async fn upsert_evidence(tx: &mut Tx, rows: &[EvidenceRow]) -> Result<()> {
    let set = evidence_upsert_set();
    for chunk in rows.chunks(CHUNK) {
        let text =
            |f: &dyn Fn(&EvidenceRow) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        let int = |f: &dyn Fn(&EvidenceRow) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
        let sql = format!(
            "INSERT INTO observations (asset_id, field, value, source, confidence, first_seen, \
             last_seen, count) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], \
             $4::text[], $5::int[], $6::bigint[], $7::bigint[], $8::bigint[]) \
             ON CONFLICT (asset_id, field, value, source) DO UPDATE SET {set}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(text(&|r| r.asset_id.clone()))
            .bind(text(&|r| r.e.field.as_str().to_owned()))
            .bind(text(&|r| r.e.value.clone()))
            .bind(text(&|r| r.e.source.clone()))
            .bind(
                chunk
                    .iter()
                    .map(|r| i32::from(r.e.confidence))
                    .collect::<Vec<i32>>(),
            )
            .bind(int(&|r| time::to_micros(r.e.first_seen)))
            .bind(int(&|r| time::to_micros(r.e.last_seen)))
            .bind(int(&|r| r.e.count as i64))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Inserts alerts or replaces them by dedup key; returns each key's alert id.
async fn upsert_alerts(tx: &mut Tx, rows: &[AlertWrite]) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let text = |f: &dyn Fn(&AlertWrite) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        let opt = |f: &dyn Fn(&AlertWrite) -> Option<String>| {
            chunk.iter().map(f).collect::<Vec<Option<String>>>()
        };
        let int = |f: &dyn Fn(&AlertWrite) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
        let sql = format!(
            "INSERT INTO alerts ({ALERT_WRITE_COLUMNS}) SELECT * FROM UNNEST($1::text[], \
             $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::text[], $11::text[], $12::int[], $13::bigint[], $14::bigint[], \
             $15::bigint[], $16::text[], $17::text[]) ON CONFLICT (dedup_key) \
             DO UPDATE SET {ALERT_UPSERT_SET} RETURNING dedup_key, alert_id"
        );
        let found = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql))
            .bind(text(&|r| r.key.clone()))
            .bind(text(&|r| r.alert.kind.as_str().to_owned()))
            .bind(text(&|r| r.alert.severity.as_str().to_owned()))
            .bind(text(&|r| r.alert.status.as_str().to_owned()))
            .bind(opt(&|r| r.alert.asset_id.clone()))
            .bind(opt(&|r| r.alert.peer_asset_id.clone()))
            .bind(opt(&|r| r.alert.subject.ip.map(|ip| ip.to_string())))
            .bind(opt(&|r| r.alert.subject.mac.map(|m| m.to_string())))
            .bind(opt(&|r| {
                r.alert
                    .peer
                    .as_ref()
                    .and_then(|p| p.ip)
                    .map(|ip| ip.to_string())
            }))
            .bind(opt(&|r| {
                r.alert
                    .peer
                    .as_ref()
                    .and_then(|p| p.mac)
                    .map(|m| m.to_string())
            }))
            .bind(text(&|r| r.alert.proto.clone()))
            .bind(
                chunk
                    .iter()
                    .map(|r| r.alert.port.map(i32::from))
                    .collect::<Vec<Option<i32>>>(),
            )
            .bind(int(&|r| time::to_micros(r.alert.first_seen)))
            .bind(int(&|r| time::to_micros(r.alert.last_seen)))
            .bind(int(&|r| i64::try_from(r.alert.count).unwrap_or(i64::MAX)))
            .bind(text(&|r| r.evidence.clone()))
            .bind(text(&|r| r.alert.action.clone()))
            .fetch_all(&mut **tx)
            .await?;
        ids.extend(found);
    }
    Ok(ids)
}

/// Stored assets with any of these MACs, by MAC (the first by id when several share one).
/// One array parameter joined as a set: an `IN` list of thousands of binds cost
/// PostgreSQL 125 ms a statement to plan (bench/scale.sh), and `= ANY($1)`, once its
/// prepared plan was made on a near-empty table, a sequential scan comparing each row
/// with every element (seconds a statement at 100,000 assets); a semi-join stays linear
/// whichever plan it gets.
async fn load_assets_by_mac(tx: &mut Tx, macs: &[String]) -> Result<HashMap<String, Asset>> {
    let mut out: HashMap<String, Asset> = HashMap::with_capacity(macs.len());
    for chunk in macs.chunks(CHUNK) {
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE mac IN (SELECT unnest($1::text[])) ORDER BY asset_id"
        );
        let rows = sqlx::query_as::<_, AssetRow>(AssertSqlSafe(sql))
            .bind(chunk.to_vec())
            .fetch_all(&mut **tx)
            .await?;
        for row in rows {
            let a = asset_from_row(row)?;
            if let Some(m) = a.mac {
                out.entry(m.to_string()).or_insert(a);
            }
        }
    }
    Ok(out)
}
