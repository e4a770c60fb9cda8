#!/usr/bin/env bash
# Scale-out (issue 13): a hospital system of ASSETS (default 100,000) pumps across SITES
# (default 20) sites, each a sensor publishing through pumpguard's real publisher
# (crates/fleet/examples/fleet_load.rs: per pump a sighting with four pieces of evidence
# and a flow) to NATS JetStream (a nats-server of the bench's own, JetStream on disk),
# one central `pumpguard sensor-ingest` writing a fresh PostgreSQL database, and
# `pumpguard serve` on the same database answering a console-like load (bench/
# api_probe.py: API_RATE requests/s for the assets page with a viewer's token).
#
# Two phases: a burst (every site sends ROUNDS rounds at once: the ingester runs flat
# out, and the observations/s from the first send to the last commit is its capacity;
# the API is probed meanwhile), then a sustained load (a round per site every INTERVAL
# seconds, PACED rounds: ASSETS * 5 / INTERVAL observations/s offered) after which the
# sensors' lag (send to commit of their newest message) is read. Also the ingester's
# and server's peak RSS, and, for scale, psql's COPY of the burst's rows into bare
# tables (PostgreSQL's floor) and the ingest's ratio to it. Goals: >= 50,000
# observations/s, the ingester <= 200 MB RSS, API p99 <= 50 ms while ingesting.
set -euo pipefail
SITES=${SITES:-20}
ASSETS=${ASSETS:-100000}
ROUNDS=${ROUNDS:-3}
PACED=${PACED:-4}
INTERVAL=${INTERVAL:-10}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/scale
rm -rf "$OUT"
mkdir -p "$OUT/spool" "$OUT/js"
cd "$ROOT"
cargo build --release -q -p pumpguard
cargo build --release -q -p pumpguard-fleet --example fleet_load
BIN=$ROOT/target/release/pumpguard
LOAD=$ROOT/target/release/examples/fleet_load
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
NPORT=$(free_port)
printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s", max_file_store: 8G }\nmax_payload: 1MB\n' "$NPORT" "$OUT/js" > "$OUT/nats.conf"
nats-server -c "$OUT/nats.conf" -l "$OUT/nats.log" &
PIDS+=($!)
NATS=nats://127.0.0.1:$NPORT
for _ in $(seq 100); do grep -q "Server is ready" "$OUT/nats.log" 2>/dev/null && break; sleep 0.1; done

psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS pumpguard_scale' -c 'CREATE DATABASE pumpguard_scale'
DB=$PG/pumpguard_scale
echo "scale-bench-password" > "$OUT/pw"
for i in $(seq 0 $((SITES - 1))); do
  "$BIN" --db "$DB" sensors add "$(printf 'site-%02d' "$i")" --password-file "$OUT/pw" 2>/dev/null
done
"$BIN" --db "$DB" users add bench --role viewer --password-file "$OUT/pw" >/dev/null 2>&1
# The stream and the consumer exist before the sites send.
"$BIN" --db "$DB" sensor-ingest --from "$NATS" --exit-when-idle 1 >/dev/null 2>&1

SPORT=$(free_port)
"$BIN" --db "$DB" serve --listen "127.0.0.1:$SPORT" 2>"$OUT/serve.log" &
SERVER=$!
PIDS+=($SERVER)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$SPORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$SPORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"scale-bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Peak RSS of a process, sampled every 100 ms until it exits.
peak() { # pid file
  local max=0 rss
  while kill -0 "$1" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$max" ] && max=$rss
    echo "$max" > "$2"
    sleep 0.1
  done
}

/usr/bin/time -f '%M' -o "$OUT/ingest.maxrss" \
  "$BIN" --db "$DB" sensor-ingest --from "$NATS" --exit-when-idle "$((INTERVAL + 5))" --format json > "$OUT/ingest.json" 2> "$OUT/ingest.log" &
INGEST=$!
PIDS+=($INGEST)
peak "$SERVER" "$OUT/serve.peak" &
PIDS+=($!)
URL="http://127.0.0.1:$SPORT/api/v1/assets?limit=100"
# Burst: every site sends its rounds back to back; the ingester runs flat out (its
# capacity) while a console-like load (API_RATE requests/s) reads the assets page.
python3 bench/api_probe.py "$URL" "$TOKEN" "${API_RATE:-100}" "${PROBE_SECONDS:-20}" > "$OUT/probe.json" &
PROBE=$!
BURST_OBS=$(( ASSETS / SITES * SITES * 5 * ROUNDS ))
T0=$(date +%s.%N)
"$LOAD" "$NATS" "$SITES" "$ASSETS" "$ROUNDS" "$OUT/spool" > "$OUT/burst.json"
until [ "$(psql -tA "$DB" -c 'SELECT coalesce(sum(observations), 0) FROM sensors')" -ge "$BURST_OBS" ]; do sleep 0.2; done
T1=$(date +%s.%N)
wait "$PROBE"
# Sustained: then each site starts a round every INTERVAL seconds (a steady offered
# load of ASSETS * 5 / INTERVAL observations/s), PACED rounds; the lag is read after.
"$LOAD" "$NATS" "$SITES" "$ASSETS" "$PACED" "$OUT/spool" "$INTERVAL" "$ROUNDS" > "$OUT/paced.json"
wait "$INGEST"
ASSETS_STORED=$(psql -tA "$DB" -c 'SELECT count(*) FROM assets')
psql -tA "$DB" -c "SELECT max(lag_us) / 1000, min(messages), max(messages) FROM sensors" > "$OUT/lag.txt"
psql -tA "$DB" -c "SELECT count(*) FROM flows" > "$OUT/flows.txt"

# PostgreSQL's own floor for the same rows: COPY of the evidence and flow rows.
python3 - "$OUT" "$SITES" "$ASSETS" "$ROUNDS" <<'PY'
import sys
out, sites, assets, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per = assets // sites
with open(f"{out}/evidence.csv", "w") as ev, open(f"{out}/flows.csv", "w") as fl:
    for r in range(rounds):
        for s in range(sites):
            for i in range(per):
                a = f"mac-00:1a:01:{s:02x}:{i >> 8:02x}:{i & 255:02x}"
                for field, value, source in (("ip", f"10.{s}.{i >> 8}.{i & 255}", "dhcp.ack"), ("hostname", f"PUMP-{s:02}-{i:05}", "dhcp.option12"), ("vendor", "Smiths Medical", "oui"), ("kind", "infusion_pump", "dhcp.fingerprint")):
                    ev.write(f"{a},{field},{value},{source},90,1,1,1\n")
                fl.write(f"tcp 10.{s}.{i >> 8}.{i & 255} {40000 + r} 10.200.{s}.1 443,tcp,12,10,2400,5100\n")
PY
psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS pumpguard_scale_copy' -c 'CREATE DATABASE pumpguard_scale_copy'
psql -q "$PG/pumpguard_scale_copy" -c 'CREATE TABLE e (asset_id text, field text, value text, source text, confidence int, first_seen bigint, last_seen bigint, count bigint)' \
  -c 'CREATE TABLE f (flow_key text, proto text, a bigint, b bigint, c bigint, d bigint)'
START=$(date +%s.%N)
psql -q "$PG/pumpguard_scale_copy" -c "\\copy e FROM '$OUT/evidence.csv' CSV" -c "\\copy f FROM '$OUT/flows.csv' CSV"
END=$(date +%s.%N)
psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS pumpguard_scale_copy'

python3 - "$OUT" "$START" "$END" "$ASSETS_STORED" "$ROUNDS" "$PACED" "$INTERVAL" "$ASSETS" "$T0" "$T1" <<'PY'
import json, sys
out, start, end, stored = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rounds, paced, interval, assets = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
burst = json.load(open(f"{out}/burst.json"))
sustained = json.load(open(f"{out}/paced.json"))
ing = json.load(open(f"{out}/ingest.json"))
probe = json.load(open(f"{out}/probe.json"))
lag, lo, hi = open(f"{out}/lag.txt").read().strip().split("|")
flows = int(open(f"{out}/flows.txt").read())
rss_ingest = int(open(f"{out}/ingest.maxrss").read().split()[-1]) / 1024
rss_serve = int(open(f"{out}/serve.peak").read()) / 1024
# The burst's observations over the time the ingester took for them: the capacity.
burst_obs = burst["observations"]
paced_seconds = paced * interval
total = burst_obs + sustained["observations"]
t0, t1 = float(sys.argv[9]), float(sys.argv[10])
print(f"burst: {burst['messages']} messages, {burst_obs:,} observations published in {burst['seconds']:.1f} s ({burst['spooled']} spooled)")
print(f"sustained: {sustained['messages']} messages, {sustained['observations']:,} observations over {sustained['seconds']:.1f} s, offered {assets * 5 / interval:,.0f} observations/s")
print(f"ingested: {ing['applied']} messages ({ing['duplicates']} duplicates, {ing['rejected']} rejected), {ing['observations']:,} of {total:,} observations; {ing['transactions']} transactions, {ing['store_seconds']:.1f} s in the store")
print(f"assets in the central store: {stored:,}; flows: {flows:,}; messages per sensor {lo}-{hi}")
print(f"sustained ingest: the newest message of each sensor was committed at most {lag} ms after it was sent")
print(f"peak RSS: ingester {rss_ingest:.0f} MB, server {rss_serve:.0f} MB")
print(f"API during the burst ({probe['requests']} requests at a steady rate): p50 {probe['p50_ms']:.2f} ms, p99 {probe['p99_ms']:.2f} ms, max {probe['max_ms']:.1f} ms, failures {probe['failures']}")
capacity = burst_obs / (t1 - t0)
copy_rate = burst_obs / (end - start)
print(f"burst ingest: {burst_obs:,} observations from the first send to the last commit in {t1 - t0:.1f} s: {capacity:,.0f} observations/s")
print(f"PostgreSQL COPY of the same evidence and flow rows: {copy_rate:,.0f} rows/s; ingest / COPY = {capacity / copy_rate:.3f}")
PY
