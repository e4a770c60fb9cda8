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
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE asset_id = ANY($1)");
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
